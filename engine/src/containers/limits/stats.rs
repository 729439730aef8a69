//! `GET /containers/{id}/stats`: cgroup samples in Docker's `StatsResponse` shape. The CLI
//! computes CPU % from `cpu_stats` − `precpu_stats` and MEM USAGE from `usage` minus the
//! inactive file pages of `memory_stats.stats`, so those keys must be there.

use std::collections::HashMap;

use bollard_stubs::models::{
    ContainerBlkioStatEntry, ContainerBlkioStats, ContainerCpuStats, ContainerCpuUsage,
    ContainerMemoryStats, ContainerPidsStats, ContainerStatsResponse, ContainerStorageStats,
    ContainerThrottlingData,
};
use rdocker_cgroups::Stats;

use super::join_err;
use crate::containers::error::ContainerError;
use crate::containers::ContainerManager;
use crate::fsutil::{now_rfc3339, ZERO_TIME};

/// One reading of the container's cgroup and the host's CPU time.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub stats: Stats,
    /// Host CPU time in ns (`system_cpu_usage`).
    pub system: u64,
    /// RFC 3339 with nanoseconds.
    pub read: String,
}

/// What the answer needs beyond the samples.
#[derive(Debug, Clone)]
pub struct Meta {
    /// With the leading "/".
    pub name: String,
    pub id: String,
    pub online_cpus: u32,
    /// cgroup v1 reports max_usage, failcnt and per-cpu usage; v2 has none of them.
    pub v1: bool,
}

fn cpu_stats(s: Option<&Sample>, m: &Meta) -> ContainerCpuStats {
    let Some(s) = s else {
        return ContainerCpuStats {
            cpu_usage: Some(ContainerCpuUsage {
                total_usage: Some(0),
                usage_in_kernelmode: Some(0),
                usage_in_usermode: Some(0),
                percpu_usage: None,
            }),
            throttling_data: Some(ContainerThrottlingData {
                periods: Some(0),
                throttled_periods: Some(0),
                throttled_time: Some(0),
            }),
            system_cpu_usage: None,
            online_cpus: None,
        };
    };
    let st = &s.stats;
    ContainerCpuStats {
        cpu_usage: Some(ContainerCpuUsage {
            total_usage: Some(st.cpu_total),
            percpu_usage: (m.v1 && !st.percpu.is_empty()).then(|| st.percpu.clone()),
            usage_in_kernelmode: Some(st.cpu_system),
            usage_in_usermode: Some(st.cpu_user),
        }),
        system_cpu_usage: Some(s.system),
        online_cpus: Some(m.online_cpus),
        throttling_data: Some(ContainerThrottlingData {
            periods: Some(st.throttling_periods),
            throttled_periods: Some(st.throttled_periods),
            throttled_time: Some(st.throttled_time),
        }),
    }
}

fn blkio(v: &[(u64, u64, String, u64)]) -> Vec<ContainerBlkioStatEntry> {
    v.iter()
        .map(|(major, minor, op, value)| ContainerBlkioStatEntry {
            major: Some(*major),
            minor: Some(*minor),
            op: Some(op.clone()),
            value: Some(*value),
        })
        .collect()
}

/// Docker's JSON for a sample (`cur`) and the one before it (`pre`). `cur == None` is the
/// zero-valued answer dockerd gives for a stopped container.
pub fn response(m: &Meta, cur: Option<&Sample>, pre: Option<&Sample>) -> ContainerStatsResponse {
    let zero = || Some(ZERO_TIME.to_string());
    let mut r = ContainerStatsResponse {
        name: Some(m.name.clone()),
        id: Some(m.id.clone()),
        read: zero(),
        preread: zero(),
        num_procs: Some(0),
        storage_stats: Some(ContainerStorageStats::default()),
        pids_stats: Some(ContainerPidsStats::default()),
        blkio_stats: Some(ContainerBlkioStats::default()),
        memory_stats: Some(ContainerMemoryStats::default()),
        cpu_stats: Some(cpu_stats(None, m)),
        precpu_stats: Some(cpu_stats(None, m)),
        ..Default::default()
    };
    let Some(s) = cur else {
        return r;
    };
    let st = &s.stats;
    r.read = Some(s.read.clone());
    if let Some(p) = pre {
        r.preread = Some(p.read.clone());
        r.precpu_stats = Some(cpu_stats(Some(p), m));
    }
    r.cpu_stats = Some(cpu_stats(Some(s), m));
    r.pids_stats = Some(ContainerPidsStats {
        current: Some(st.pids_current),
        limit: (st.pids_limit > 0).then_some(st.pids_limit),
    });
    r.memory_stats = Some(ContainerMemoryStats {
        usage: Some(st.memory_usage),
        max_usage: m.v1.then_some(st.memory_max_usage),
        stats: Some(
            st.memory_stat
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect::<HashMap<_, _>>(),
        ),
        failcnt: m.v1.then_some(st.memory_failcnt),
        limit: Some(st.memory_limit),
        ..Default::default()
    });
    r.blkio_stats = Some(ContainerBlkioStats {
        io_service_bytes_recursive: Some(blkio(&st.blkio_service_bytes)),
        io_serviced_recursive: m.v1.then(|| blkio(&st.blkio_serviced)),
        ..Default::default()
    });
    r
}

impl ContainerManager {
    /// One sample of the container's cgroup; `None` when it has none (not running, or no
    /// cgroups on this host).
    pub async fn stats_sample(&self, id: &str) -> Result<Option<Sample>, ContainerError> {
        let Some(cg) = self.limits.cgroup(id) else {
            return Ok(None);
        };
        tokio::task::spawn_blocking(move || {
            if !cg.exists() {
                return Ok(None);
            }
            let stats = cg.stats()?;
            let system = rdocker_cgroups::system_cpu_usage()?;
            Ok(Some(Sample {
                stats,
                system,
                read: now_rfc3339(),
            }))
        })
        .await
        .map_err(join_err)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn meta() -> Meta {
        Meta {
            name: "/x".into(),
            id: "a".repeat(64),
            online_cpus: 2,
            v1: true,
        }
    }

    fn sample(cpu: u64, system: u64) -> Sample {
        Sample {
            stats: Stats {
                cpu_total: cpu,
                cpu_user: cpu / 2,
                cpu_system: cpu / 4,
                percpu: vec![cpu / 2, cpu / 2],
                throttling_periods: 3,
                memory_usage: 10 << 20,
                memory_max_usage: 12 << 20,
                memory_limit: 64 << 20,
                memory_failcnt: 1,
                memory_stat: BTreeMap::from([("total_inactive_file".to_string(), 1 << 20)]),
                pids_current: 2,
                pids_limit: 20,
                blkio_service_bytes: vec![(8, 0, "read".into(), 4096)],
                ..Default::default()
            },
            system,
            read: "2026-11-29T21:00:00.123456789Z".into(),
        }
    }

    #[test]
    fn sample_maps_to_dockers_json() {
        let pre = sample(1_000, 10_000);
        let cur = sample(5_000, 20_000);
        let v = serde_json::to_value(response(&meta(), Some(&cur), Some(&pre))).unwrap();
        assert_eq!(v["name"], "/x");
        assert_eq!(v["num_procs"], 0);
        assert_eq!(v["cpu_stats"]["cpu_usage"]["total_usage"], 5000);
        assert_eq!(v["cpu_stats"]["cpu_usage"]["percpu_usage"][1], 2500);
        assert_eq!(v["cpu_stats"]["cpu_usage"]["usage_in_kernelmode"], 1250);
        assert_eq!(v["cpu_stats"]["system_cpu_usage"], 20000);
        assert_eq!(v["cpu_stats"]["online_cpus"], 2);
        assert_eq!(v["cpu_stats"]["throttling_data"]["periods"], 3);
        assert_eq!(v["precpu_stats"]["cpu_usage"]["total_usage"], 1000);
        assert_eq!(v["precpu_stats"]["system_cpu_usage"], 10000);
        assert_eq!(v["preread"], "2026-11-29T21:00:00.123456789Z");
        assert_eq!(v["memory_stats"]["usage"], 10 << 20);
        assert_eq!(v["memory_stats"]["max_usage"], 12 << 20);
        assert_eq!(v["memory_stats"]["limit"], 64 << 20);
        assert_eq!(v["memory_stats"]["failcnt"], 1);
        assert_eq!(v["memory_stats"]["stats"]["total_inactive_file"], 1 << 20);
        assert_eq!(
            v["pids_stats"],
            serde_json::json!({"current": 2, "limit": 20})
        );
        assert_eq!(
            v["blkio_stats"]["io_service_bytes_recursive"][0],
            serde_json::json!({"major": 8, "minor": 0, "op": "read", "value": 4096})
        );
        assert_eq!(v["storage_stats"], serde_json::json!({}));
        assert!(v.get("networks").is_none());
    }

    #[test]
    fn first_sample_and_stopped_container() {
        let cur = sample(5_000, 20_000);
        let v = serde_json::to_value(response(&meta(), Some(&cur), None)).unwrap();
        assert_eq!(v["preread"], ZERO_TIME);
        assert_eq!(v["precpu_stats"]["cpu_usage"]["total_usage"], 0);
        assert!(v["precpu_stats"].get("system_cpu_usage").is_none());

        let v = serde_json::to_value(response(&meta(), None, None)).unwrap();
        assert_eq!(v["read"], ZERO_TIME);
        assert_eq!(v["memory_stats"], serde_json::json!({}));
        assert_eq!(v["pids_stats"], serde_json::json!({}));
        assert_eq!(v["cpu_stats"]["cpu_usage"]["total_usage"], 0);
        assert_eq!(v["id"], "a".repeat(64));

        let mut m = meta();
        m.v1 = false;
        let v = serde_json::to_value(response(&m, Some(&cur), None)).unwrap();
        assert!(v["memory_stats"].get("max_usage").is_none());
        assert!(v["cpu_stats"]["cpu_usage"].get("percpu_usage").is_none());
    }
}
