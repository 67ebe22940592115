//! ftpgate: the FTP/FTPS ingest gateway of an event-photo platform.
//!
//! Cameras and FTP clients upload photos during an event; each one lands whole, once, in the
//! right event's storage. Two front doors share one core:
//!
//! - **SFTPGo door** ([`http`]): SFTPGo speaks FTP to cameras and calls our external auth hook
//!   and the 13 HTTPFs endpoints for every file operation.
//! - **Embedded door**: `ftpgate serve` runs its own FTP/FTPS listener (added by the FTP-door
//!   work), on the same core.
//!
//! The core, one module per concern:
//! - [`vpath`]: the one place paths are parsed and checked (decode once, NFC, no escapes).
//! - [`domain`]: checked identifiers (`Username`, `EventId`), roles, statuses, time.
//! - [`identity`]: passwords (argon2id), lock-out, per-photographer HTTPFs keys, sessions.
//! - [`namespace`]: the virtual tree a photographer sees and what they may do where.
//! - [`gateway`]: every file operation (stat, list, read, mkdir, remove, rename, times, space).
//! - [`ingest`]: the upload pipeline: sniff, stream, hash, limit, durable blob, one commit.
//! - [`sniff`]: photo types by magic bytes (JPEG, PNG, HEIF, TIFF-based RAW, CR3, RAF…).
//! - [`catalog`]: SQLite or PostgreSQL through one code path: entries, quotas, audit, lock-out.
//! - [`blobs`]: immutable-key blob storage (local directory with fsync; S3/R2).
//! - [`outbox`]: upload notifications: written in the commit, delivered signed, retried.
//! - [`metrics`]: Prometheus counters and gauges for `/metrics`.
//! - [`admin`]: operator actions shared by the CLI and the admin API.
//! - [`config`]: one TOML file plus `FTPGATE_…` environment overrides.
//! - [`sftpgo_config`]: the SFTPGo settings that match this gateway.

pub mod admin;
pub mod blobs;
pub mod catalog;
pub mod config;
pub mod domain;
pub mod error;
pub mod ftp;
pub mod gateway;
pub mod http;
pub mod identity;
pub mod ingest;
pub mod metrics;
pub mod namespace;
pub mod outbox;
pub mod reconcile;
pub mod server;
pub mod sftpgo_config;
pub mod sniff;
pub mod vpath;
