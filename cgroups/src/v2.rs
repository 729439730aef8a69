//! Limits on a cgroup v2 directory.

use std::path::Path;

use crate::fsutil::read_opt;
use crate::ops::*;
use crate::{CgroupError, Resources};

fn max_or(v: i64) -> String {
    if v < 0 {
        "max".to_string()
    } else {
        v.to_string()
    }
}

pub(crate) fn apply(dir: &Path, r: &Resources, update: bool) -> Result<Ops, CgroupError> {
    let mut ops = Ops::default();
    let d = Some(dir);
    memory(&mut ops, dir, r)?;
    if let Some(s) = r.cpu_shares.filter(|s| *s > 0) {
        ops.knob(d, "cpu.weight", &shares_to_weight(s).to_string(), W_SHARES)?;
    }
    let period = r.cpu_period.filter(|p| *p > 0);
    let quota = r.cpu_quota.filter(|q| *q != 0);
    if period.is_some() || quota.is_some() {
        // cpu.max holds both: keep the half that is not being changed.
        let cur = read_opt(&dir.join("cpu.max"))?.unwrap_or_default();
        let mut it = cur.split_whitespace();
        let cur_q = it.next().unwrap_or("max").to_string();
        let cur_p = it.next().unwrap_or("100000").to_string();
        let q = quota.map_or(cur_q, max_or);
        let p = period.map_or(cur_p, |p| p.to_string());
        let warn = if quota.is_some() { W_QUOTA } else { W_PERIOD };
        ops.knob(d, "cpu.max", &format!("{q} {p}"), warn)?;
    }
    if let Some(c) = r.cpuset_cpus.as_deref().filter(|c| !c.is_empty()) {
        ops.knob(d, "cpuset.cpus", c, W_CPUSET)?;
    }
    if let Some(m) = r.cpuset_mems.as_deref().filter(|m| !m.is_empty()) {
        ops.knob(d, "cpuset.mems", m, W_CPUSET)?;
    }
    if let Some(p) = r.pids_limit {
        let v = if p <= 0 {
            "max".to_string()
        } else {
            p.to_string()
        };
        ops.knob(d, "pids.max", &v, W_PIDS)?;
    }
    if let Some(w) = r.blkio_weight.filter(|w| *w > 0) {
        // BFQ takes the v1 scale as is; io.weight needs runc's conversion.
        if dir.join("io.bfq.weight").exists() {
            ops.must(dir, "io.bfq.weight", &w.to_string())?;
        } else {
            let v = format!("default {}", blkio_to_io_weight(w));
            ops.knob(d, "io.weight", &v, W_BLKIO_WEIGHT)?;
        }
    }
    if !r.devices.is_empty() {
        if update {
            return Err(CgroupError::Invalid(
                "device cgroup rules cannot be changed on a running container".to_string(),
            ));
        }
        crate::devices_bpf::attach(dir, &r.devices)?;
    }
    Ok(ops)
}

fn memory(ops: &mut Ops, dir: &Path, r: &Resources) -> Result<(), CgroupError> {
    let d = Some(dir);
    let mem = r.memory.filter(|m| *m != 0);
    if let Some(m) = mem {
        ops.knob(d, "memory.max", &max_or(m), W_MEMORY)?;
    }
    if let Some(s) = r.memory_swap.filter(|s| *s != 0) {
        // docker's memory_swap is memory + swap; v2 limits swap alone.
        let v = if s < 0 {
            "max".to_string()
        } else {
            let m = match mem {
                Some(m) => m,
                None => read_opt(&dir.join("memory.max"))?
                    .and_then(|v| v.trim().parse::<i64>().ok())
                    .unwrap_or(-1),
            };
            if m < 0 {
                return Err(CgroupError::Invalid(
                    "You should always set the Memory limit when using Memoryswap limit, see usage"
                        .to_string(),
                ));
            }
            if s < m {
                return Err(CgroupError::Invalid(
                    "Minimum memoryswap limit should be larger than memory limit, see usage"
                        .to_string(),
                ));
            }
            (s - m).to_string()
        };
        ops.knob(d, "memory.swap.max", &v, W_SWAP)?;
    } else if mem == Some(-1) && dir.join("memory.swap.max").exists() {
        ops.must(dir, "memory.swap.max", "max")?;
    }
    if let Some(res) = r.memory_reservation.filter(|v| *v != 0) {
        ops.knob(d, "memory.low", &max_or(res), W_RESERVATION)?;
    }
    // v2 cannot disable the OOM killer (dockerd warns the same way on v2 hosts).
    if r.oom_kill_disable == Some(true) {
        ops.warn(W_OOM_KILL_DISABLE);
    }
    Ok(())
}
