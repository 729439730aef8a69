//! Container cgroups through the cgroup file system (the `cgroupfs` driver, no systemd).
//!
//! CONTRACT (the engine codes against this API; implementations may add, not change):
//! - [`Layout::detect`] once at daemon start (`statfs` of `/sys/fs/cgroup`: cgroup2 → unified;
//!   tmpfs → v1 or hybrid, controllers found from `/proc/self/mountinfo`).
//! - [`Cgroup::create`] makes the container's cgroup in every hierarchy we use and applies the
//!   resources; on error nothing it made is left behind.
//! - The container's init joins by writing `0` to `cgroup.procs` in every dir of [`Cgroup::dirs`]
//!   (the runtime does it; `io.rdocker.cgroup.paths` in runtime/PROTOCOL.md).
//! - [`Cgroup::remove`] kills what is left and removes every dir (v1: in every controller).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A value the kernel or this host cannot take, worded for the user (engine → 400).
    #[error("{0}")]
    Invalid(String),
    #[error("cgroups are not available: {0}")]
    Unavailable(String),
}

/// Which hierarchies exist and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// cgroup v1 (or hybrid: v1 controllers, a cgroup2 mount we do not use for limits).
    /// controller name ("memory", "cpu", "cpuacct", "cpuset", "pids", "blkio", "devices",
    /// "freezer") → the mount point of its hierarchy (co-mounted controllers share one path).
    V1 {
        controllers: BTreeMap<String, PathBuf>,
    },
    /// cgroup v2 mounted at `root` (normally `/sys/fs/cgroup`).
    Unified { root: PathBuf },
}

impl Layout {
    /// The host's layout.
    pub fn detect() -> Result<Layout, CgroupError> {
        todo!("helper: cgroups")
    }
}

/// One device cgroup rule (`c 1:3 rwm`, `a *:* rwm`); `None` major/minor = `*`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceRule {
    pub allow: bool,
    /// 'a', 'c' or 'b'.
    pub kind: char,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    /// Some of "rwm".
    pub access: String,
}

impl DeviceRule {
    /// Parses docker's `--device-cgroup-rule` syntax: `c 1:3 rwm`, `b *:* m`, `a`.
    pub fn parse(s: &str, allow: bool) -> Result<DeviceRule, CgroupError> {
        let _ = (s, allow);
        todo!("helper: cgroups")
    }
}

/// The limits, in docker's units (`HostConfig` fields). `None` = leave as is (update) / the
/// kernel's default (create).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Resources {
    /// `--memory`, bytes.
    pub memory: Option<i64>,
    /// `--memory-swap`: memory + swap in bytes (docker's meaning); -1 = unlimited swap.
    pub memory_swap: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub oom_kill_disable: Option<bool>,
    pub cpu_shares: Option<u64>,
    pub cpu_period: Option<u64>,
    /// µs per period; `--cpus N` arrives here as N × period (period 100000 by default).
    pub cpu_quota: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    /// ≤ 0 = unlimited.
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u16>,
    /// The device allowlist, in order (empty = no device rules applied).
    pub devices: Vec<DeviceRule>,
}

/// What this host's cgroups can do (docker's `sysinfo`), for validation and warnings.
#[derive(Debug, Clone, Default)]
pub struct HostInfo {
    pub online_cpus: u32,
    /// e.g. "0-1"
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    pub memory: bool,
    pub swap: bool,
    pub memory_reservation: bool,
    pub oom_kill_disable: bool,
    pub cpu_shares: bool,
    pub cpu_cfs: bool,
    pub cpuset: bool,
    pub pids: bool,
    pub blkio_weight: bool,
    pub freezer: bool,
    pub devices: bool,
}

/// A snapshot in the units docker's stats JSON uses.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stats {
    /// ns of CPU time, total / user / kernel.
    pub cpu_total: u64,
    pub cpu_user: u64,
    pub cpu_system: u64,
    pub percpu: Vec<u64>,
    pub throttling_periods: u64,
    pub throttled_periods: u64,
    pub throttled_time: u64,
    pub memory_usage: u64,
    pub memory_max_usage: u64,
    /// The limit in force (the host's memory when unlimited).
    pub memory_limit: u64,
    pub memory_failcnt: u64,
    /// `memory.stat` as the kernel names it (v1: cache, rss, total_inactive_file, …;
    /// v2: anon, file, inactive_file, …).
    pub memory_stat: BTreeMap<String, u64>,
    pub pids_current: u64,
    /// 0 = unlimited.
    pub pids_limit: u64,
    /// (major, minor, op "read"/"write"/…, value): io_service_bytes_recursive.
    pub blkio_service_bytes: Vec<(u64, u64, String, u64)>,
    pub blkio_serviced: Vec<(u64, u64, String, u64)>,
}

/// One container's cgroup, `<hierarchy>/<rel>` in each hierarchy (rel e.g. `rdocker/<id>`).
#[derive(Debug, Clone)]
pub struct Cgroup {
    pub layout: Layout,
    pub rel: PathBuf,
}

impl Cgroup {
    pub fn new(layout: &Layout, rel: impl AsRef<Path>) -> Cgroup {
        Cgroup {
            layout: layout.clone(),
            rel: rel.as_ref().to_path_buf(),
        }
    }

    /// Every directory the container's processes must join (one per v1 hierarchy we use, or
    /// the one v2 dir).
    pub fn dirs(&self) -> Vec<PathBuf> {
        todo!("helper: cgroups")
    }

    /// Creates the cgroup(s) and applies `r`. Returns warnings in dockerd's words (e.g. "Your
    /// kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.").
    /// On error, removes what it created.
    pub fn create(&self, r: &Resources) -> Result<Vec<String>, CgroupError> {
        let _ = r;
        todo!("helper: cgroups")
    }

    /// Changes the limits of an existing cgroup (`docker update`). Only `Some` fields change.
    pub fn update(&self, r: &Resources) -> Result<Vec<String>, CgroupError> {
        let _ = r;
        todo!("helper: cgroups")
    }

    pub fn exists(&self) -> bool {
        todo!("helper: cgroups")
    }

    pub fn freeze(&self) -> Result<(), CgroupError> {
        todo!("helper: cgroups")
    }

    pub fn thaw(&self) -> Result<(), CgroupError> {
        todo!("helper: cgroups")
    }

    pub fn stats(&self) -> Result<Stats, CgroupError> {
        todo!("helper: cgroups")
    }

    /// How many processes the OOM killer killed in this cgroup (v1 `memory.oom_control`
    /// `oom_kill`, v2 `memory.events` `oom_kill`).
    pub fn oom_kills(&self) -> Result<u64, CgroupError> {
        todo!("helper: cgroups")
    }

    /// Pids (host view) of every process in the cgroup.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        todo!("helper: cgroups")
    }

    /// SIGKILLs whatever is left (thawing first), then removes every dir; a missing cgroup is
    /// not an error.
    pub fn remove(&self) -> Result<(), CgroupError> {
        todo!("helper: cgroups")
    }
}

/// The host's capabilities for validation (online cpus, cpuset, which knobs exist).
pub fn host_info(layout: &Layout) -> HostInfo {
    let _ = layout;
    todo!("helper: cgroups")
}

/// Total CPU time of the host in ns (`/proc/stat`, docker's `system_cpu_usage`).
pub fn system_cpu_usage() -> Result<u64, CgroupError> {
    todo!("helper: cgroups")
}
