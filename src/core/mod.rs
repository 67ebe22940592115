//! Layer 3, the core: every rule both doors share. Imports `store/` and `base/`.
//!
//! - [`identity`]: passwords (argon2id), lock-out, per-photographer HTTPFs keys, sessions.
//! - [`namespace`]: the virtual tree a photographer sees and what they may do where.
//! - [`gateway`]: every file operation (stat, list, read, mkdir, remove, rename, times, space).
//! - [`ingest`]: the upload pipeline: sniff, stream, hash, limit, durable blob, one commit.
//! - [`outbox`]: upload notifications: written in the commit, delivered signed, retried.

pub mod gateway;
pub mod identity;
pub mod ingest;
pub mod namespace;
pub mod outbox;
