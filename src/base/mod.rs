//! Layer 1, the base: types and rules every other layer stands on. Imports nothing of the crate
//! outside `base/`.
//!
//! - [`domain`]: checked identifiers (`Username`, `EventId`), roles, statuses, time.
//! - [`vpath`]: the one place paths are parsed and checked (decode once, NFC, no escapes).
//! - [`error`]: the core's error enum, mapped once per door.
//! - [`photo`]: each photo's completeness, metadata and RAW preview, read while it streams.
//! - [`sniff`]: photo types by magic bytes (JPEG, PNG, HEIF, TIFF-based RAW, CR3, RAF…).
//! - [`config`]: one TOML file plus `FTPGATE_…` environment overrides.
//! - [`metrics`]: Prometheus counters and gauges for `/metrics`.

pub mod config;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod photo;
pub mod sniff;
pub mod vpath;
