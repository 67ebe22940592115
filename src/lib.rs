//! ftpgate: the FTP/FTPS ingest gateway of an event-photo platform.
//!
//! Cameras and FTP clients upload photos during an event; each one lands whole, once, in the
//! right event's storage. Two front doors share one core. The folders are layers, bottom to top;
//! a module imports only from its own folder or the folders below it:
//!
//! - [`base`]: domain types, paths, errors, photo sniffing, configuration, metrics.
//! - [`store`]: the catalog (SQLite/PostgreSQL, the only SQL) and the blob stores.
//! - [`core`]: identity, namespace, gateway (file operations), ingest, outbox.
//! - [`ops`]: operator actions (admin), reconcile, the matching SFTPGo configuration.
//! - [`doors`]: the HTTP door (SFTPGo auth hook + HTTPFs, admin API) and the embedded FTP door.
//! - [`app`]: the server that wires it all together; the CLI lives in `main.rs`.
//!
//! Each folder's `mod.rs` names its modules, one line each.

pub mod app;
pub mod base;
pub mod core;
pub mod doors;
pub mod ops;
pub mod store;
