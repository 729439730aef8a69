//! rdocker end-to-end test harness: real registries on 127.0.0.1 (plain, Basic, Bearer token),
//! the project's deterministic fixture images, and a daemon harness for the e2e suites.

pub mod client;
pub mod registry;
pub mod token;
pub mod util;

pub use registry::{RegistryAuth, TestRegistry};
pub mod census;
pub mod daemon;
pub mod dnsstub;
pub mod dockerd;
pub mod fixtures;
pub mod interactive;
pub mod netcensus;
pub mod netfault;
pub mod netns_host;
pub mod probe;
pub mod procs;
pub mod pty;
pub mod pyenv;
pub mod scenarios;
pub mod unixhttp;

pub use daemon::{CliOutput, TestDaemon};
pub mod e2e;
