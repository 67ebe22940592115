//! Layer 5, the doors: protocols in, core calls out. They translate and dispatch; no rule lives
//! here. Imports `ops/` and below.
//!
//! - [`http`]: the HTTP listener: SFTPGo's auth hook and HTTPFs, the admin API, health.
//! - [`ftp`]: the embedded FTP/FTPS listener (our own protocol layer on tokio + rustls).

pub mod ftp;
pub mod http;
