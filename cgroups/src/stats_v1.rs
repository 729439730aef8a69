//! Stats from the v1 hierarchies.

use std::path::Path;

use crate::fsutil::{clock_ticks, keyed, mem_total, read_flat_keyed, read_opt, read_u64};
use crate::v1::V1Dirs;
use crate::{CgroupError, Stats};

pub(crate) fn stats(d: &V1Dirs) -> Result<Stats, CgroupError> {
    let mut s = Stats::default();
    if let Some(dir) = d.get("cpuacct") {
        s.cpu_total = read_u64(&dir.join("cpuacct.usage"))?.unwrap_or(0);
        s.percpu = read_opt(&dir.join("cpuacct.usage_percpu"))?
            .map(|v| {
                v.split_whitespace()
                    .filter_map(|n| n.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let st = read_flat_keyed(&dir.join("cpuacct.stat"))?;
        let ns_per_tick = 1_000_000_000 / clock_ticks();
        s.cpu_user = keyed(&st, "user") * ns_per_tick;
        s.cpu_system = keyed(&st, "system") * ns_per_tick;
    }
    if let Some(dir) = d.get("cpu") {
        let st = read_flat_keyed(&dir.join("cpu.stat"))?;
        s.throttling_periods = keyed(&st, "nr_periods");
        s.throttled_periods = keyed(&st, "nr_throttled");
        s.throttled_time = keyed(&st, "throttled_time");
    }
    if let Some(dir) = d.get("memory") {
        s.memory_usage = read_u64(&dir.join("memory.usage_in_bytes"))?.unwrap_or(0);
        s.memory_max_usage = read_u64(&dir.join("memory.max_usage_in_bytes"))?.unwrap_or(0);
        s.memory_failcnt = read_u64(&dir.join("memory.failcnt"))?.unwrap_or(0);
        let host = mem_total();
        // "Unlimited" reads as a page-rounded i64::MAX: report the host's memory instead.
        s.memory_limit = match read_u64(&dir.join("memory.limit_in_bytes"))? {
            Some(l) if host == 0 || l < host => l,
            _ => host,
        };
        s.memory_stat = read_flat_keyed(&dir.join("memory.stat"))?
            .into_iter()
            .collect();
    }
    if let Some(dir) = d.get("pids") {
        s.pids_current = read_u64(&dir.join("pids.current"))?.unwrap_or(0);
        s.pids_limit = read_u64(&dir.join("pids.max"))?.unwrap_or(0);
    }
    if let Some(dir) = d.get("blkio") {
        s.blkio_service_bytes = blkio(&dir.join("blkio.throttle.io_service_bytes_recursive"))?;
        s.blkio_serviced = blkio(&dir.join("blkio.throttle.io_serviced_recursive"))?;
    }
    Ok(s)
}

/// `8:0 Read 123` lines; the trailing `Total N` line has no device and is skipped. The op keeps
/// the kernel's spelling ("Read", "Write", "Sync", "Async", "Discard", "Total"), as docker
/// reports it on v1.
pub(crate) fn blkio(path: &Path) -> Result<Vec<(u64, u64, String, u64)>, CgroupError> {
    let Some(text) = read_opt(path)? else {
        return Ok(Vec::new());
    };
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (maj, min) = it.next()?.split_once(':')?;
            let op = it.next()?;
            let v = it.next()?.parse().ok()?;
            Some((maj.parse().ok()?, min.parse().ok()?, op.to_string(), v))
        })
        .collect())
}
