//! Configuration of the image store and its registry client.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The data root (e.g. `/var/lib/rdocker`), created with mode 0700.
    pub root: PathBuf,
    pub registry: RegistryConfig,
    /// Layers downloaded at once per pull (dockerd's `max-concurrent-downloads`, default 3).
    pub max_concurrent_downloads: usize,
}

#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// dockerd's `registry-mirrors`: mirrors of docker.io, e.g. `http://127.0.0.1:5000`.
    pub mirrors: Vec<String>,
    /// Ours, beyond Docker: mirrors for any registry host, tried in order before the origin.
    pub registry_mirrors: HashMap<String, Vec<String>>,
    /// `host:port` or CIDR; 127.0.0.0/8 and localhost are always insecure (plain HTTP allowed).
    pub insecure_registries: Vec<String>,
    /// Connect / first byte / stall timeout of registry requests.
    pub request_timeout: Duration,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            mirrors: Vec::new(),
            registry_mirrors: HashMap::new(),
            insecure_registries: Vec::new(),
            request_timeout: Duration::from_secs(30),
        }
    }
}
