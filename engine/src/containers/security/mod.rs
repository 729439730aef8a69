//! Docker's security defaults for a container: capabilities, seccomp (compiled once per
//! profile and capability set, cached), masked and read-only paths, the device allowlist,
//! rlimits, sysctls, `--privileged`, user-namespace remapping, and the sealed shim executable.

pub mod caps;
pub mod devices;
pub mod opts;
pub mod paths;
pub mod rlimits;
pub mod sealed;
pub mod seccomp;
pub mod sysctl;
pub mod userns;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use bollard_stubs::models::HostConfig;

use super::error::ContainerError;
use crate::state::DaemonInfo;
pub use rlimits::Ulimit;
pub use seccomp::DaemonProfile;
pub use userns::Remap;

/// Docker's `/dev/shm` size when `ShmSize` is unset or ≤ 0.
pub const DEFAULT_SHM_SIZE: i64 = 64 << 20;

/// The daemon's security settings (flags and daemon.json), resolved at start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DaemonSecurity {
    pub seccomp: DaemonProfile,
    /// `--no-new-privileges`: every container's default.
    pub no_new_privileges: bool,
    pub default_ulimits: Vec<Ulimit>,
    /// `--userns-remap`, resolved to id ranges.
    pub remap: Option<Remap>,
}

/// The daemon-wide facts create-time validation needs (`validate`, called from create.rs,
/// which has no handle on the daemon's `Security`).
#[derive(Debug, Clone, Default)]
struct Policy {
    default_ulimits: Vec<Ulimit>,
    remap: bool,
}

static POLICY: RwLock<Option<Policy>> = RwLock::new(None);

/// Daemon-wide security state, built once at start.
#[derive(Default)]
pub struct Security {
    /// CapBnd of the daemon: nothing outside it can be granted.
    bounding: u64,
    daemon: DaemonSecurity,
    seccomp: Arc<seccomp::Cache>,
}

/// What one container start gets (the spec is built from it).
#[derive(Debug, Clone)]
pub struct Applied {
    pub privileged: bool,
    pub caps: u64,
    pub no_new_privileges: bool,
    /// The compiled filter; None = unconfined.
    pub seccomp: Option<Arc<Vec<u8>>>,
    pub masked: Vec<String>,
    pub readonly: Vec<String>,
    pub devices: Vec<devices::Node>,
    pub rlimits: Vec<Ulimit>,
    pub sysctls: HashMap<String, String>,
    pub shm_size: i64,
    /// The user namespace's maps; None = the host's.
    pub userns: Option<Remap>,
}

/// Go-style errno text ("no such file or directory"), as docker's messages carry it.
pub(crate) fn go_errno(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = s.split(" (os error").next().unwrap_or(&s).to_string();
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => s,
    }
}

fn invalid(msg: String) -> ContainerError {
    ContainerError::Invalid(msg)
}

/// Create-time checks of everything security-related in a `HostConfig` (400 on bad input),
/// against the running daemon's settings.
pub fn validate(hc: &HostConfig) -> Result<(), ContainerError> {
    let policy = POLICY
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_default();
    validate_with(hc, &policy.default_ulimits, policy.remap)
}

fn validate_with(hc: &HostConfig, ulimits: &[Ulimit], remap: bool) -> Result<(), ContainerError> {
    caps::validate(
        hc.cap_add.as_deref().unwrap_or_default(),
        hc.cap_drop.as_deref().unwrap_or_default(),
    )
    .map_err(invalid)?;
    let o = opts::parse(hc.security_opt.as_deref().unwrap_or_default()).map_err(invalid)?;
    if let opts::SeccompOpt::Profile(json) = &o.seccomp {
        seccomp::parse_user(json).map_err(invalid)?;
    }
    userns::validate(remap, hc).map_err(invalid)?;
    sysctl::validate(hc).map_err(invalid)?;
    rlimits::validate(hc.ulimits.as_deref().unwrap_or_default(), ulimits).map_err(invalid)?;
    devices::validate(hc).map_err(invalid)?;
    Ok(())
}

impl Security {
    pub fn new(daemon: &DaemonInfo) -> Security {
        sealed::init(&super::find_shim());
        let s = Security {
            bounding: caps::daemon_bounding(),
            daemon: daemon.security.clone(),
            seccomp: Arc::default(),
        };
        s.warm_up();
        *POLICY.write().unwrap_or_else(|p| p.into_inner()) = Some(Policy {
            default_ulimits: s.daemon.default_ulimits.clone(),
            remap: s.daemon.remap.is_some(),
        });
        s
    }

    /// Compiles the daemon's profile for docker's default capabilities in the background, so
    /// that the first `run` does not pay for it.
    fn warm_up(&self) {
        let (cache, profile) = (self.seccomp.clone(), self.daemon.seccomp.clone());
        let caps = self.caps(&HostConfig::default()).unwrap_or_default();
        let spawned = std::thread::Builder::new()
            .name("seccomp-warm-up".into())
            .spawn(move || {
                let opt = opts::SeccompOpt::Default;
                if let Err(e) = cache.filter(&opt, false, &profile, caps) {
                    tracing::warn!("compiling the seccomp profile: {e}");
                }
            });
        if let Err(e) = spawned {
            tracing::debug!("no seccomp warm-up thread: {e}");
        }
    }

    /// The same checks as [`validate`], against this daemon's settings.
    pub fn validate(&self, hc: &HostConfig) -> Result<(), ContainerError> {
        validate_with(
            hc,
            &self.daemon.default_ulimits,
            self.daemon.remap.is_some(),
        )
    }

    pub fn remap(&self) -> Option<&Remap> {
        self.daemon.remap.as_ref()
    }

    /// `docker info`'s `SecurityOptions`.
    pub fn info_options(&self) -> Vec<String> {
        let mut v = vec![format!(
            "name=seccomp,profile={}",
            self.daemon.seccomp.info_name()
        )];
        if self.daemon.remap.is_some() {
            v.push("name=userns".to_string());
        }
        if self.daemon.no_new_privileges {
            v.push("name=no-new-privileges".to_string());
        }
        v
    }

    /// The device cgroup allowlist for a container, in order: docker's defaults, `--device`
    /// nodes, `--device-cgroup-rule`s; `a *:* rwm` when privileged. The limits module applies
    /// it with the rest of the cgroup (`Resources::devices`).
    pub fn device_rules(&self, hc: &HostConfig) -> Vec<rdocker_cgroups::DeviceRule> {
        devices::for_container(hc).1
    }

    /// The container's capability mask (`--privileged` and add/drop, within our bounding set).
    pub fn caps(&self, hc: &HostConfig) -> Result<u64, ContainerError> {
        caps::effective(
            hc.cap_add.as_deref().unwrap_or_default(),
            hc.cap_drop.as_deref().unwrap_or_default(),
            hc.privileged.unwrap_or(false),
            self.bounding,
        )
        .map_err(invalid)
    }

    /// The container's rlimits: its own over the daemon's defaults.
    pub fn rlimits(&self, hc: &HostConfig) -> Result<Vec<Ulimit>, ContainerError> {
        rlimits::merged(
            hc.ulimits.as_deref().unwrap_or_default(),
            &self.daemon.default_ulimits,
        )
        .map_err(invalid)
    }

    /// Every capability the daemon may hand out (`exec --privileged`).
    pub fn all_caps(&self) -> u64 {
        self.bounding
    }

    pub fn no_new_privileges(&self, hc: &HostConfig) -> Result<bool, ContainerError> {
        let o = opts::parse(hc.security_opt.as_deref().unwrap_or_default()).map_err(invalid)?;
        Ok(o.no_new_privileges.unwrap_or(self.daemon.no_new_privileges))
    }

    /// Everything a start needs; `times` gets the "caps" and "seccomp_compile" durations.
    pub fn for_container(
        &self,
        hc: &HostConfig,
        times: &mut super::prepare::StepTimes,
    ) -> Result<Applied, ContainerError> {
        let privileged = hc.privileged.unwrap_or(false);
        let t = std::time::Instant::now();
        let caps = self.caps(hc)?;
        times.insert("caps", t.elapsed());
        let o = opts::parse(hc.security_opt.as_deref().unwrap_or_default()).map_err(invalid)?;
        let t = std::time::Instant::now();
        let seccomp = self
            .seccomp
            .filter(&o.seccomp, privileged, &self.daemon.seccomp, caps)
            .map_err(invalid)?;
        times.insert("seccomp_compile", t.elapsed());
        let (masked, readonly) = paths::for_container(hc, o.systempaths_unconfined);
        let userns = self
            .daemon
            .remap
            .clone()
            .filter(|_| userns::applies(true, hc));
        let rlimits = self.rlimits(hc)?;
        Ok(Applied {
            privileged,
            caps,
            no_new_privileges: o.no_new_privileges.unwrap_or(self.daemon.no_new_privileges),
            seccomp,
            masked,
            readonly,
            devices: devices::for_container(hc).0,
            rlimits,
            sysctls: sysctl::for_container(hc, userns.is_some()),
            shm_size: hc.shm_size.filter(|s| *s > 0).unwrap_or(DEFAULT_SHM_SIZE),
            userns,
        })
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
