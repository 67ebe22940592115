//! Layer 2, storage: where state lives. Imports only `base/`.
//!
//! - [`catalog`]: SQLite or PostgreSQL through one code path; the only place SQL is written.
//! - [`blobs`]: immutable-key blob storage (local directory with fsync; S3/R2; memory for tests).

pub mod blobs;
pub mod catalog;
