//! Layer 4, operations: what an operator does, on top of the core. Imports `core/` and below.
//!
//! - [`admin`]: operator actions shared by the CLI, the admin API and the console.
//! - [`reconcile`]: compare the catalog with the blob store; rebuild the catalog from the bucket.
//! - [`sftpgo_config`]: the SFTPGo settings that match this gateway.

pub mod admin;
pub mod reconcile;
pub mod sftpgo_config;
