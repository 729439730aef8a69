//! The ordered knob writes of one create/update, with dockerd's warnings for missing knobs.

use std::path::{Path, PathBuf};

use crate::fsutil::{write_if_exists, write_knob};
use crate::CgroupError;

// dockerd's texts (daemon/daemon_unix.go, verifyPlatformContainerResources).
pub(crate) const W_MEMORY: &str =
    "Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.";
pub(crate) const W_SWAP: &str =
    "Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.";
pub(crate) const W_RESERVATION: &str =
    "Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. Limitation discarded.";
pub(crate) const W_OOM_KILL_DISABLE: &str =
    "Your kernel does not support OomKillDisable. OomKillDisable discarded.";
pub(crate) const W_SHARES: &str =
    "Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.";
pub(crate) const W_PERIOD: &str =
    "Your kernel does not support CPU cfs period or the cgroup is not mounted. Period discarded.";
pub(crate) const W_QUOTA: &str =
    "Your kernel does not support CPU cfs quota or the cgroup is not mounted. Quota discarded.";
pub(crate) const W_CPUSET: &str =
    "Your kernel does not support cpuset or the cgroup is not mounted. CPUset discarded.";
pub(crate) const W_PIDS: &str =
    "Your kernel does not support pids limit capabilities or the cgroup is not mounted. PIDs limit discarded.";
pub(crate) const W_BLKIO_WEIGHT: &str =
    "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.";

/// Docker's answer when a v1 memory limit would exceed the memory+swap limit in force.
pub(crate) const E_MEMORY_ABOVE_SWAP: &str =
    "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time";

#[derive(Debug, Default)]
pub(crate) struct Ops {
    /// Every write done, in order (file, value): the unit tests check order and values.
    pub log: Vec<(PathBuf, String)>,
    pub warnings: Vec<String>,
}

impl Ops {
    pub fn warn(&mut self, w: &str) {
        if !self.warnings.iter().any(|x| x == w) {
            self.warnings.push(w.to_string());
        }
    }

    /// Writes `value` to `<dir>/<file>`; a missing controller dir or knob becomes `warning`.
    pub fn knob(
        &mut self,
        dir: Option<&Path>,
        file: &str,
        value: &str,
        warning: &str,
    ) -> Result<bool, CgroupError> {
        let Some(dir) = dir else {
            self.warn(warning);
            return Ok(false);
        };
        let path = dir.join(file);
        if write_if_exists(&path, value)? {
            self.log.push((path, value.to_string()));
            Ok(true)
        } else {
            self.warn(warning);
            Ok(false)
        }
    }

    /// A write that must succeed (the knob is known to exist).
    pub fn must(&mut self, dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
        let path = dir.join(file);
        write_knob(&path, value)?;
        self.log.push((path, value.to_string()));
        Ok(())
    }
}

/// runc's shares → cpu.weight conversion (cgroup v1 2..262144 onto v2 1..10000).
pub(crate) fn shares_to_weight(shares: u64) -> u64 {
    let s = shares.clamp(2, 262_144);
    1 + ((s - 2) * 9999) / 262_142
}

/// runc's blkio weight (10..1000) → io.weight (1..10000).
pub(crate) fn blkio_to_io_weight(w: u16) -> u64 {
    let w = u64::from(w.clamp(10, 1000));
    1 + ((w - 10) * 9999) / 990
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_match_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(512), 20);
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(500), 4950);
        assert_eq!(blkio_to_io_weight(1000), 10_000);
    }
}
