//! What the host's cgroups offer, and the host's CPU time.

use std::path::Path;

use crate::fsutil::{clock_ticks, read_opt};
use crate::{CgroupError, HostInfo, Layout};

fn online_cpus() -> u32 {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_getaffinity fills at most
    // size_of::<cpu_set_t>() bytes of it.
    let n = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
            libc::CPU_COUNT(&set) as u32
        } else {
            0
        }
    };
    if n > 0 {
        return n;
    }
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .map(|s| count_cpu_list(s.trim()))
        .unwrap_or(1)
}

/// Number of cpus in a list such as "0-3,6".
fn count_cpu_list(s: &str) -> u32 {
    s.split(',')
        .filter_map(|part| match part.split_once('-') {
            Some((a, b)) => Some(b.parse::<u32>().ok()? + 1 - a.parse::<u32>().ok()?),
            None => part.parse::<u32>().ok().map(|_| 1),
        })
        .sum()
}

fn trimmed(p: &Path) -> String {
    read_opt(p)
        .ok()
        .flatten()
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

pub(crate) fn host_info(layout: &Layout) -> HostInfo {
    let mut h = HostInfo {
        online_cpus: online_cpus(),
        ..Default::default()
    };
    match layout {
        Layout::V1 { controllers } => {
            let at = |ctrl: &str, file: &str| {
                controllers.get(ctrl).is_some_and(|m| m.join(file).exists())
            };
            h.memory = at("memory", "memory.limit_in_bytes");
            h.swap = at("memory", "memory.memsw.limit_in_bytes");
            h.memory_reservation = at("memory", "memory.soft_limit_in_bytes");
            h.oom_kill_disable = at("memory", "memory.oom_control");
            h.cpu_shares = at("cpu", "cpu.shares");
            h.cpu_cfs = at("cpu", "cpu.cfs_quota_us");
            h.pids = controllers.contains_key("pids");
            h.blkio_weight = at("blkio", "blkio.weight") || at("blkio", "blkio.bfq.weight");
            h.freezer = controllers.contains_key("freezer");
            h.devices = controllers.contains_key("devices");
            if let Some(m) = controllers.get("cpuset") {
                h.cpuset = true;
                h.cpuset_cpus = trimmed(&m.join("cpuset.cpus"));
                h.cpuset_mems = trimmed(&m.join("cpuset.mems"));
            }
        }
        Layout::Unified { root } => {
            let ctrls = trimmed(&root.join("cgroup.controllers"));
            let has = |c: &str| ctrls.split_whitespace().any(|x| x == c);
            h.memory = has("memory");
            h.swap = has("memory");
            h.memory_reservation = has("memory");
            h.oom_kill_disable = false;
            h.cpu_shares = has("cpu");
            h.cpu_cfs = has("cpu");
            h.pids = has("pids");
            h.blkio_weight = has("io");
            // cgroup.freeze and BPF device programs are part of every v2 cgroup.
            h.freezer = true;
            h.devices = true;
            if has("cpuset") {
                h.cpuset = true;
                h.cpuset_cpus = trimmed(&root.join("cpuset.cpus.effective"));
                h.cpuset_mems = trimmed(&root.join("cpuset.mems.effective"));
            }
        }
    }
    if h.cpuset_cpus.is_empty() {
        h.cpuset_cpus = trimmed(Path::new("/sys/devices/system/cpu/online"));
    }
    h
}

/// docker's getSystemCPUUsage: user+nice+system+idle+iowait+irq+softirq of the "cpu " line.
pub(crate) fn system_cpu_usage() -> Result<u64, CgroupError> {
    let path = Path::new("/proc/stat");
    let text = std::fs::read_to_string(path).map_err(|e| crate::fsutil::io_err("read", path, e))?;
    parse_proc_stat(&text, clock_ticks())
}

pub(crate) fn parse_proc_stat(text: &str, ticks: u64) -> Result<u64, CgroupError> {
    let line = text
        .lines()
        .find(|l| l.starts_with("cpu "))
        .ok_or_else(|| CgroupError::Unavailable("/proc/stat has no \"cpu \" line".to_string()))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(7)
        .map(|f| f.parse::<u64>())
        .collect::<Result<_, _>>()
        .map_err(|e| CgroupError::Unavailable(format!("bad /proc/stat cpu line: {e}")))?;
    if fields.len() < 7 {
        return Err(CgroupError::Unavailable(
            "bad /proc/stat cpu line: fewer than 7 fields".to_string(),
        ));
    }
    let total: u64 = fields.iter().sum();
    Ok(total * (1_000_000_000 / ticks.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(count_cpu_list("0-1"), 2);
        assert_eq!(count_cpu_list("0-3,6"), 5);
        assert_eq!(count_cpu_list("0"), 1);
    }

    #[test]
    fn proc_stat() {
        let t = "cpu  10 1 5 100 2 0 3 7 0 0\ncpu0 1 1 1 1 1 1 1\n";
        assert_eq!(parse_proc_stat(t, 100).unwrap(), 121 * 10_000_000);
        assert!(parse_proc_stat("cpu0 1 2\n", 100).is_err());
        assert!(system_cpu_usage().unwrap() > 0);
    }

    #[test]
    fn this_host() {
        let h = host_info(&Layout::detect().unwrap());
        assert!(h.online_cpus >= 1);
        assert!(!h.cpuset_cpus.is_empty(), "{h:?}");
    }
}
