//! rdockerd: serves the Docker Engine API on unix sockets.
//!
//! The library half exists so the integration tests can build the same router the daemon serves;
//! `main.rs` only parses flags, sets up logging and the runtime, and calls [`server::run`].

pub mod config;
pub mod containers;
pub mod errors;
pub mod events;
pub mod filters;
pub mod fsutil;
pub mod hijack;
pub mod legacy_upgrade;
pub mod logs;
pub mod network;
pub mod progress;
pub mod routes;
pub mod server;
pub mod state;
pub mod timestamps;
pub mod top;
pub mod versioning;
pub mod volumes;

/// The Docker Engine API version we advertise. ≥ 1.44 so that current docker CLIs (v25+) connect
/// without downgrading, and ≤ what the routes actually implement.
pub const API_VERSION: &str = "1.47";
/// Oldest API version accepted in a `/vX.Y/` prefix (dockerd's minimum).
pub const MIN_API_VERSION: &str = "1.24";
/// Our own version, reported by `/version` and `/info`.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");
