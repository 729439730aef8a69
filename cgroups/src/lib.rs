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

mod create;
mod device;
mod devices_bpf;
mod fsutil;
mod host;
mod layout;
mod lifecycle;
mod ops;
mod stats_v1;
mod stats_v2;
mod v1;
mod v2;

#[cfg(test)]
mod tests_v1;
#[cfg(test)]
mod tests_v2;

use v1::V1Dirs;

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
        layout::detect()
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
        DeviceRule::parse_impl(s, allow)
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
    /// (major, minor, op, value): io_service_bytes_recursive. The op is spelled as docker
    /// reports it: v1 keeps the kernel's "Read"/"Write"/"Sync"/"Async"/"Discard"/"Total",
    /// v2 (io.stat) gives "read"/"write".
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
        match &self.layout {
            Layout::V1 { controllers } => V1Dirs::new(controllers, &self.rel).unique(),
            Layout::Unified { root } => vec![root.join(&self.rel)],
        }
    }

    /// Creates the cgroup(s) and applies `r`. Returns warnings in dockerd's words (e.g. "Your
    /// kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.").
    /// On error, removes what it created.
    pub fn create(&self, r: &Resources) -> Result<Vec<String>, CgroupError> {
        let mut made = create::Made::default();
        let res = self.create_in(r, &mut made);
        if res.is_err() {
            made.rollback();
        }
        res
    }

    fn create_in(
        &self,
        r: &Resources,
        made: &mut create::Made,
    ) -> Result<Vec<String>, CgroupError> {
        self.check_rel()?;
        match &self.layout {
            Layout::V1 { controllers } => {
                let d = V1Dirs::new(controllers, &self.rel);
                let mut seen: Vec<&Path> = Vec::new();
                for (ctrl, mount) in controllers {
                    if !d.by_ctrl.contains_key(ctrl.as_str()) || seen.contains(&mount.as_path()) {
                        continue;
                    }
                    seen.push(mount);
                    // A co-mount with cpuset needs the copy-down as well.
                    let cpuset = controllers.get("cpuset") == Some(mount);
                    create::v1_hierarchy(mount, &self.rel, cpuset, made)?;
                }
                Ok(v1::apply(&d, r, false)?.warnings)
            }
            Layout::Unified { root } => {
                create::v2_tree(root, &self.rel, made)?;
                Ok(v2::apply(&root.join(&self.rel), r, false)?.warnings)
            }
        }
    }

    /// `rel` must stay below the hierarchy roots: an absolute or `..` path would make us
    /// create, limit or remove some other cgroup.
    fn check_rel(&self) -> Result<(), CgroupError> {
        let ok = !self.rel.as_os_str().is_empty()
            && self
                .rel
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        if ok {
            Ok(())
        } else {
            Err(CgroupError::Invalid(format!(
                "invalid cgroup path {:?}: must be relative, without '..'",
                self.rel
            )))
        }
    }

    /// Changes the limits of an existing cgroup (`docker update`). Only `Some` fields change.
    pub fn update(&self, r: &Resources) -> Result<Vec<String>, CgroupError> {
        self.check_rel()?;
        if !self.exists() {
            return Err(CgroupError::Invalid(format!(
                "the cgroup {} does not exist",
                self.rel.display()
            )));
        }
        Ok(match &self.layout {
            Layout::V1 { controllers } => {
                v1::apply(&V1Dirs::new(controllers, &self.rel), r, true)?.warnings
            }
            Layout::Unified { root } => v2::apply(&root.join(&self.rel), r, true)?.warnings,
        })
    }

    pub fn exists(&self) -> bool {
        self.dirs().iter().any(|d| d.is_dir())
    }

    pub fn freeze(&self) -> Result<(), CgroupError> {
        self.set_frozen(true)
    }

    pub fn thaw(&self) -> Result<(), CgroupError> {
        self.set_frozen(false)
    }

    fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        match &self.layout {
            Layout::V1 { controllers } => {
                let d = V1Dirs::new(controllers, &self.rel);
                let dir = d.get("freezer").ok_or_else(|| {
                    CgroupError::Unavailable("the freezer controller is not mounted".to_string())
                })?;
                lifecycle::v1_set_frozen(dir, frozen)
            }
            Layout::Unified { root } => lifecycle::v2_set_frozen(&root.join(&self.rel), frozen),
        }
    }

    pub fn stats(&self) -> Result<Stats, CgroupError> {
        match &self.layout {
            Layout::V1 { controllers } => stats_v1::stats(&V1Dirs::new(controllers, &self.rel)),
            Layout::Unified { root } => stats_v2::stats(&root.join(&self.rel)),
        }
    }

    /// How many processes the OOM killer killed in this cgroup (v1 `memory.oom_control`
    /// `oom_kill`, v2 `memory.events` `oom_kill`).
    pub fn oom_kills(&self) -> Result<u64, CgroupError> {
        match &self.layout {
            Layout::V1 { controllers } => match controllers.get("memory") {
                Some(m) => lifecycle::oom_kill_count(&m.join(&self.rel).join("memory.oom_control")),
                None => Ok(0),
            },
            Layout::Unified { root } => {
                lifecycle::oom_kill_count(&root.join(&self.rel).join("memory.events"))
            }
        }
    }

    /// Pids (host view) of every process in the cgroup.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let mut out = Vec::new();
        for d in self.dirs() {
            lifecycle::pids_recursive(&d, &mut out)?;
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// SIGKILLs whatever is left (thawing first), then removes every dir; a missing cgroup is
    /// not an error.
    pub fn remove(&self) -> Result<(), CgroupError> {
        self.check_rel()?;
        if !self.exists() {
            return Ok(());
        }
        // Frozen tasks do not act on SIGKILL until thawed (v1). A cgroup without a freezer,
        // or a half-removed one, must not stop the removal: the thaw is best effort.
        let _ = self.thaw();
        if let Layout::Unified { root } = &self.layout {
            // cgroup.kill (5.14+) kills the whole subtree atomically, forks included.
            let _ = fsutil::write_if_exists(&root.join(&self.rel).join("cgroup.kill"), "1");
        }
        lifecycle::remove(&self.dirs())
    }
}

/// The host's capabilities for validation (online cpus, cpuset, which knobs exist).
pub fn host_info(layout: &Layout) -> HostInfo {
    host::host_info(layout)
}

/// Total CPU time of the host in ns (`/proc/stat`, docker's `system_cpu_usage`).
pub fn system_cpu_usage() -> Result<u64, CgroupError> {
    host::system_cpu_usage()
}
