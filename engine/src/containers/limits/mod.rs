//! Resource limits: the container's cgroups (created before the shim starts, removed on exit
//! and `rm`), validation of `HostConfig` resources, stats, update, pause/unpause, OOM.
//! (Issue 4; owned by the "engine limits" work.)

/// Daemon-wide cgroup state (the host's layout), built once at start.
#[derive(Default)]
pub struct Limits {}

impl Limits {
    pub fn new() -> Limits {
        Limits {}
    }

    /// The directories of the container's cgroup (`io.rdocker.cgroup.paths`), one per v1
    /// hierarchy or the one v2 dir; empty when cgroups are unavailable.
    pub fn cgroup_dirs(&self, id: &str) -> Vec<std::path::PathBuf> {
        let _ = id;
        Vec::new()
    }
}
