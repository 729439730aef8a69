//! Stats from a v2 directory.

use std::path::Path;

use crate::fsutil::{keyed, mem_total, read_flat_keyed, read_opt, read_u64};
use crate::{CgroupError, Stats};

pub(crate) fn stats(dir: &Path) -> Result<Stats, CgroupError> {
    let mut s = Stats::default();
    let cpu = read_flat_keyed(&dir.join("cpu.stat"))?;
    s.cpu_total = keyed(&cpu, "usage_usec") * 1000;
    s.cpu_user = keyed(&cpu, "user_usec") * 1000;
    s.cpu_system = keyed(&cpu, "system_usec") * 1000;
    s.throttling_periods = keyed(&cpu, "nr_periods");
    s.throttled_periods = keyed(&cpu, "nr_throttled");
    s.throttled_time = keyed(&cpu, "throttled_usec") * 1000;

    s.memory_usage = read_u64(&dir.join("memory.current"))?.unwrap_or(0);
    s.memory_max_usage = read_u64(&dir.join("memory.peak"))?.unwrap_or(0);
    let host = mem_total();
    s.memory_limit = match read_u64(&dir.join("memory.max"))? {
        Some(l) if host == 0 || l < host => l,
        _ => host,
    };
    // v2 has no failcnt; the number of times the limit was hit is memory.events "max" (runc).
    s.memory_failcnt = keyed(&read_flat_keyed(&dir.join("memory.events"))?, "max");
    s.memory_stat = read_flat_keyed(&dir.join("memory.stat"))?
        .into_iter()
        .collect();

    s.pids_current = read_u64(&dir.join("pids.current"))?.unwrap_or(0);
    s.pids_limit = read_u64(&dir.join("pids.max"))?.unwrap_or(0);

    if let Some(io) = read_opt(&dir.join("io.stat"))? {
        for line in io.lines() {
            let mut it = line.split_whitespace();
            let Some((maj, min)) = it.next().and_then(|d| d.split_once(':')) else {
                continue;
            };
            let (Ok(maj), Ok(min)) = (maj.parse::<u64>(), min.parse::<u64>()) else {
                continue;
            };
            let kv: Vec<(String, u64)> = it
                .filter_map(|f| {
                    let (k, v) = f.split_once('=')?;
                    Some((k.to_string(), v.parse().ok()?))
                })
                .collect();
            // docker's statsV2: lower-case ops, read and write only.
            for (key, op) in [("rbytes", "read"), ("wbytes", "write")] {
                s.blkio_service_bytes
                    .push((maj, min, op.to_string(), keyed(&kv, key)));
            }
            for (key, op) in [("rios", "read"), ("wios", "write")] {
                s.blkio_serviced
                    .push((maj, min, op.to_string(), keyed(&kv, key)));
            }
        }
    }
    Ok(s)
}
