//! Layer 6, the application: wires the layers into a running gateway. Imports everything below.
//!
//! - [`server`]: builds the core from the configuration and runs both doors until shutdown.

pub mod server;
