//! Limits on the cgroup v1 hierarchies.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::fsutil::read_u64;
use crate::layout::V1_CONTROLLERS;
use crate::ops::*;
use crate::{CgroupError, Resources};

/// The container's dir in each mounted v1 controller we use.
pub(crate) struct V1Dirs {
    pub by_ctrl: BTreeMap<&'static str, PathBuf>,
}

impl V1Dirs {
    pub fn new(controllers: &BTreeMap<String, PathBuf>, rel: &Path) -> V1Dirs {
        let by_ctrl = V1_CONTROLLERS
            .iter()
            .filter_map(|c| controllers.get(*c).map(|m| (*c, m.join(rel))))
            .collect();
        V1Dirs { by_ctrl }
    }

    pub fn get(&self, ctrl: &str) -> Option<&Path> {
        self.by_ctrl.get(ctrl).map(|p| p.as_path())
    }

    /// One dir per hierarchy, co-mounted controllers deduplicated, in a stable order.
    pub fn unique(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for c in V1_CONTROLLERS {
            if let Some(p) = self.by_ctrl.get(c) {
                if !out.contains(p) {
                    out.push(p.clone());
                }
            }
        }
        out
    }
}

fn num(v: i64) -> String {
    if v < 0 {
        "-1".to_string()
    } else {
        v.to_string()
    }
}

pub(crate) fn apply(d: &V1Dirs, r: &Resources, update: bool) -> Result<Ops, CgroupError> {
    let mut ops = Ops::default();
    memory(&mut ops, d.get("memory"), r, update)?;
    cpu(&mut ops, d.get("cpu"), r)?;
    let cpuset = d.get("cpuset");
    if let Some(c) = r.cpuset_cpus.as_deref().filter(|c| !c.is_empty()) {
        ops.knob(cpuset, "cpuset.cpus", c, W_CPUSET)?;
    }
    if let Some(m) = r.cpuset_mems.as_deref().filter(|m| !m.is_empty()) {
        ops.knob(cpuset, "cpuset.mems", m, W_CPUSET)?;
    }
    if let Some(p) = r.pids_limit {
        let v = if p <= 0 {
            "max".to_string()
        } else {
            p.to_string()
        };
        ops.knob(d.get("pids"), "pids.max", &v, W_PIDS)?;
    }
    if let Some(w) = r.blkio_weight.filter(|w| *w > 0) {
        let v = w.to_string();
        let dir = d.get("blkio");
        // CFQ's knob first, then BFQ's (runc's order); neither = dockerd's warning.
        let done = match dir {
            Some(dir) => {
                crate::fsutil::write_if_exists(&dir.join("blkio.weight"), &v)?
                    || crate::fsutil::write_if_exists(&dir.join("blkio.bfq.weight"), &v)?
            }
            None => false,
        };
        if done {
            ops.log.push((PathBuf::from("blkio.weight"), v));
        } else {
            ops.warn(W_BLKIO_WEIGHT);
        }
    }
    if !r.devices.is_empty() {
        if update {
            return Err(CgroupError::Invalid(
                "device cgroup rules cannot be changed on a running container".to_string(),
            ));
        }
        // No devices controller = no device cgroup to apply (as runc on such hosts).
        if let Some(dir) = d.get("devices") {
            ops.must(dir, "devices.deny", "a")?;
            for rule in &r.devices {
                let file = if rule.allow {
                    "devices.allow"
                } else {
                    "devices.deny"
                };
                ops.must(dir, file, &rule.to_string())?;
            }
        }
    }
    Ok(ops)
}

fn memory(
    ops: &mut Ops,
    dir: Option<&Path>,
    r: &Resources,
    update: bool,
) -> Result<(), CgroupError> {
    let mem = r.memory.filter(|m| *m != 0);
    let mut swap = r.memory_swap.filter(|s| *s != 0);
    let has_swap_knob = dir.is_some_and(|d| d.join("memory.memsw.limit_in_bytes").exists());
    if swap.is_some() && !has_swap_knob {
        ops.warn(W_SWAP);
        swap = None;
    }
    // Unlimited memory with swap unset means unlimited swap too (runc), or the old memsw
    // limit would refuse it.
    if mem == Some(-1) && swap.is_none() && has_swap_knob {
        swap = Some(-1);
    }
    let write_mem = |ops: &mut Ops, m: i64| -> Result<(), CgroupError> {
        match ops.knob(dir, "memory.limit_in_bytes", &num(m), W_MEMORY) {
            Err(CgroupError::Invalid(_)) if update && swap.is_none() => {
                Err(CgroupError::Invalid(E_MEMORY_ABOVE_SWAP.to_string()))
            }
            Err(e) => Err(e),
            Ok(_) => Ok(()),
        }
    };
    let write_swap = |ops: &mut Ops, s: i64| -> Result<(), CgroupError> {
        ops.knob(dir, "memory.memsw.limit_in_bytes", &num(s), W_SWAP)
            .map(|_| ())
    };
    match (mem, swap) {
        (Some(m), Some(s)) => {
            // The kernel keeps memory.limit ≤ memsw.limit at every step: when the new memsw is
            // above the current memory limit, raise memsw first; otherwise lower memory first.
            let cur = dir
                .map(|d| read_u64(&d.join("memory.limit_in_bytes")))
                .transpose()?
                .flatten()
                .unwrap_or(u64::MAX);
            if s == -1 || (s > 0 && cur < s as u64) {
                write_swap(ops, s)?;
                write_mem(ops, m)?;
            } else {
                write_mem(ops, m)?;
                write_swap(ops, s)?;
            }
        }
        (Some(m), None) => write_mem(ops, m)?,
        (None, Some(s)) if !update && s > 0 => {
            return Err(CgroupError::Invalid(
                "You should always set the Memory limit when using Memoryswap limit, see usage"
                    .to_string(),
            ));
        }
        (None, Some(s)) => write_swap(ops, s)?,
        (None, None) => {}
    }
    if let Some(res) = r.memory_reservation.filter(|v| *v != 0) {
        ops.knob(dir, "memory.soft_limit_in_bytes", &num(res), W_RESERVATION)?;
    }
    if let Some(disable) = r.oom_kill_disable {
        if disable || update {
            let v = if disable { "1" } else { "0" };
            ops.knob(dir, "memory.oom_control", v, W_OOM_KILL_DISABLE)?;
        }
    }
    Ok(())
}

fn cpu(ops: &mut Ops, dir: Option<&Path>, r: &Resources) -> Result<(), CgroupError> {
    if let Some(s) = r.cpu_shares.filter(|s| *s > 0) {
        ops.knob(dir, "cpu.shares", &s.to_string(), W_SHARES)?;
    }
    let period = r.cpu_period.filter(|p| *p > 0);
    let quota = r.cpu_quota.filter(|q| *q != 0);
    match (period, quota) {
        (Some(p), Some(q)) => {
            // A new period can be refused against the old quota (and the other way round):
            // try period first, and quota first when that fails.
            match ops.knob(dir, "cpu.cfs_period_us", &p.to_string(), W_PERIOD) {
                Ok(_) => {
                    ops.knob(dir, "cpu.cfs_quota_us", &num(q), W_QUOTA)?;
                }
                Err(CgroupError::Invalid(_)) => {
                    ops.knob(dir, "cpu.cfs_quota_us", &num(q), W_QUOTA)?;
                    ops.knob(dir, "cpu.cfs_period_us", &p.to_string(), W_PERIOD)?;
                }
                Err(e) => return Err(e),
            }
        }
        (Some(p), None) => {
            ops.knob(dir, "cpu.cfs_period_us", &p.to_string(), W_PERIOD)?;
        }
        (None, Some(q)) => {
            ops.knob(dir, "cpu.cfs_quota_us", &num(q), W_QUOTA)?;
        }
        (None, None) => {}
    }
    Ok(())
}
