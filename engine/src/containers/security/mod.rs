//! Docker's security defaults for a container: capabilities, seccomp (compiled once per
//! profile and capability set, cached), masked and read-only paths, the device allowlist,
//! `--privileged`, user-namespace remapping, and the sealed shim executable.
//! (Issue 4; owned by the "engine security" work.)

use crate::state::DaemonInfo;

/// Daemon-wide security state, built once at start.
#[derive(Default)]
pub struct Security {}

impl Security {
    pub fn new(daemon: &DaemonInfo) -> Security {
        let _ = daemon;
        Security {}
    }

    /// The device cgroup allowlist for a container, in order: docker's defaults, `--device`
    /// nodes, `--device-cgroup-rule`s; `a *:* rwm` when privileged. The limits module applies
    /// it with the rest of the cgroup (`Resources::devices`).
    pub fn device_rules(
        &self,
        hc: &bollard_stubs::models::HostConfig,
    ) -> Vec<rdocker_cgroups::DeviceRule> {
        let _ = hc;
        Vec::new()
    }
}
