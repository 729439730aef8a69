//! Resource limits: the container's cgroups (created before the shim starts, removed on exit
//! and `rm`), validation of `HostConfig` resources, stats, update, pause/unpause, OOM.
//! (Issue 4; owned by the "engine limits" work.)

pub mod pause;
pub mod stats;
pub mod update;
pub mod validate;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bollard_stubs::models::HostConfig;
use rdocker_cgroups::{Cgroup, CgroupError, DeviceRule, HostInfo, Layout, Resources};

use super::error::ContainerError;
use super::record::Container;
use super::ContainerManager;

/// dockerd's default CFS period, the one `--cpus` is expressed in.
const CPU_PERIOD: i64 = 100_000;

/// Daemon-wide cgroup state (the host's layout), built once at start.
pub struct Limits {
    /// `None` when `/sys/fs/cgroup` is unusable: containers run unlimited, limits are refused.
    layout: Option<Layout>,
    host: HostInfo,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::new()
    }
}

impl Limits {
    pub fn new() -> Limits {
        match Layout::detect() {
            Ok(layout) => Limits {
                host: rdocker_cgroups::host_info(&layout),
                layout: Some(layout),
            },
            Err(e) => {
                tracing::warn!("cgroups unusable, containers run without resource limits: {e}");
                let n = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
                Limits {
                    layout: None,
                    host: HostInfo {
                        online_cpus: n,
                        cpuset_cpus: format!("0-{}", n.saturating_sub(1)),
                        cpuset_mems: "0".into(),
                        ..Default::default()
                    },
                }
            }
        }
    }

    pub fn host(&self) -> &HostInfo {
        &self.host
    }

    /// cgroup v1 (or hybrid): stats carry the v1-only fields.
    pub fn is_v1(&self) -> bool {
        matches!(self.layout, Some(Layout::V1 { .. }))
    }

    /// The container's cgroup, `rdocker/<full id>` in every hierarchy.
    pub fn cgroup(&self, id: &str) -> Option<Cgroup> {
        self.layout
            .as_ref()
            .map(|l| Cgroup::new(l, format!("rdocker/{id}")))
    }

    /// The directories of the container's cgroup (`io.rdocker.cgroup.paths`), one per v1
    /// hierarchy or the one v2 dir; empty when cgroups are unavailable.
    pub fn cgroup_dirs(&self, id: &str) -> Vec<PathBuf> {
        self.cgroup(id).map(|c| c.dirs()).unwrap_or_default()
    }

    /// dockerd's checks of a create (`update == false`) or update: drops what the host cannot
    /// do and returns the warnings; a bad value is a 400 and nothing is created.
    pub fn check(&self, hc: &mut HostConfig, update: bool) -> Result<Vec<String>, ContainerError> {
        if self.layout.is_none() && has_limits(hc) {
            return Err(ContainerError::Invalid(
                "resource limits cannot be applied: cgroups are not available on this host (see the daemon log)".into(),
            ));
        }
        let warnings = validate::verify(hc, &self.host, update).map_err(ContainerError::Invalid)?;
        // dockerd's adaptContainerSettings: swap defaults to twice the memory.
        if !update && hc.memory.unwrap_or(0) > 0 && hc.memory_swap.unwrap_or(0) == 0 {
            hc.memory_swap = hc.memory.map(|m| m * 2);
        }
        Ok(warnings)
    }

    /// Every limit of a container at start (the cgroup's initial state).
    pub fn resources(&self, hc: &HostConfig, devices: Vec<DeviceRule>) -> Resources {
        let mut r = self.patch(hc);
        r.devices = devices;
        r
    }

    /// The limits `hc` sets (an update's fields), in the cgroup crate's terms.
    pub fn patch(&self, hc: &HostConfig) -> Resources {
        let pos = |v: Option<i64>| v.filter(|v| *v > 0);
        let (cpu_period, cpu_quota) = match hc.nano_cpus.filter(|n| *n > 0) {
            Some(n) => (
                Some(CPU_PERIOD as u64),
                Some(n * CPU_PERIOD / 1_000_000_000),
            ),
            None => (
                pos(hc.cpu_period).map(|p| p as u64),
                hc.cpu_quota.filter(|q| *q != 0),
            ),
        };
        Resources {
            memory: pos(hc.memory),
            memory_swap: hc
                .memory_swap
                .filter(|s| *s != 0 && self.host.swap)
                .map(|s| s.max(-1)),
            memory_reservation: pos(hc.memory_reservation),
            oom_kill_disable: hc.oom_kill_disable.filter(|_| self.host.oom_kill_disable),
            cpu_shares: pos(hc.cpu_shares).map(|s| s as u64),
            cpu_period,
            cpu_quota,
            cpuset_cpus: hc.cpuset_cpus.clone().filter(|s| !s.is_empty()),
            cpuset_mems: hc.cpuset_mems.clone().filter(|s| !s.is_empty()),
            pids_limit: hc.pids_limit,
            blkio_weight: hc.blkio_weight.filter(|w| *w > 0 && self.host.blkio_weight),
            devices: Vec::new(),
        }
    }
}

/// Whether `hc` asks for any cgroup limit.
fn has_limits(hc: &HostConfig) -> bool {
    let set = |v: Option<i64>| v.is_some_and(|v| v > 0);
    set(hc.memory)
        || set(hc.memory_swap)
        || set(hc.memory_reservation)
        || set(hc.nano_cpus)
        || set(hc.cpu_shares)
        || set(hc.cpu_period)
        || set(hc.cpu_quota)
        || set(hc.pids_limit)
        || hc.cpuset_cpus.as_deref().is_some_and(|s| !s.is_empty())
        || hc.cpuset_mems.as_deref().is_some_and(|s| !s.is_empty())
        || hc.blkio_weight.is_some_and(|w| w > 0)
        || hc.oom_kill_disable == Some(true)
}

impl From<CgroupError> for ContainerError {
    fn from(e: CgroupError) -> ContainerError {
        match e {
            CgroupError::Io { op, path, source } => ContainerError::Io {
                op,
                path: path.display().to_string(),
                source,
            },
            CgroupError::Invalid(m) | CgroupError::Unavailable(m) => ContainerError::Invalid(m),
        }
    }
}

fn join_err(e: tokio::task::JoinError) -> ContainerError {
    ContainerError::Shim(format!("internal error: {e}"))
}

impl ContainerManager {
    /// Makes the container's cgroup with its limits (before the shim starts); a stale one from
    /// a crashed run goes first. Returns the time it took.
    pub(crate) async fn cgroup_create(&self, c: &Container) -> Result<Duration, ContainerError> {
        let Some(cg) = self.limits.cgroup(&c.id) else {
            return Ok(Duration::ZERO);
        };
        let r = self
            .limits
            .resources(&c.host_config, self.security.device_rules(&c.host_config));
        tokio::task::spawn_blocking(move || {
            let t0 = Instant::now();
            if cg.exists() {
                cg.remove()?;
            }
            for w in cg.create(&r)? {
                tracing::debug!("container {}: {w}", c_short(&cg));
            }
            Ok(t0.elapsed())
        })
        .await
        .map_err(join_err)?
    }

    /// Removes the container's cgroup (killing what is left in it); errors are logged.
    pub(crate) async fn cgroup_remove(&self, id: &str) {
        let Some(cg) = self.limits.cgroup(id) else {
            return;
        };
        let done = tokio::task::spawn_blocking(move || cg.remove()).await;
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("removing the cgroup of {id}: {e}"),
            Err(e) => tracing::warn!("removing the cgroup of {id}: {e}"),
        }
    }

    /// How many processes the OOM killer took in the container's cgroup (0 when unknown).
    pub(crate) async fn cgroup_oom_kills(&self, id: &str) -> u64 {
        let Some(cg) = self.limits.cgroup(id) else {
            return 0;
        };
        match tokio::task::spawn_blocking(move || cg.oom_kills()).await {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                tracing::debug!("oom count of {id}: {e}");
                0
            }
            Err(_) => 0,
        }
    }
}

/// The short id from the cgroup's rel path, for log lines.
fn c_short(cg: &Cgroup) -> String {
    let s = cg.rel.display().to_string();
    s.rsplit('/')
        .next()
        .map(|id| id[..12.min(id.len())].to_string())
        .unwrap_or(s)
}
