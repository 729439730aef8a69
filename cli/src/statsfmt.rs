//! What `rdocker stats` shows, computed as docker's CLI computes it
//! (stats_helpers.go, formatter_stats.go): the API's stats JSON into a row of CPU %,
//! memory without the inactive file cache, network and block I/O, PIDs.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::format::{bytes_size, human_size_prec, trunc_id};
pub use crate::statsapi::{BlkioStats, CpuStats, MemoryStats, NetStats, StatsJson};

pub const DEFAULT_FORMAT: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

/// The Go type docker names in a template error.
pub const ROOT_TYPE: &str = "*container.statsContext";

/// docker's StatsEntry.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Entry {
    /// The name or id as the user gave it (or the id when listing).
    pub container: String,
    /// As the API has it, with its leading "/".
    pub name: String,
    pub id: String,
    pub cpu_percentage: f64,
    pub memory: f64,
    pub memory_limit: f64,
    pub memory_percentage: f64,
    pub network_rx: f64,
    pub network_tx: f64,
    pub block_read: f64,
    pub block_write: f64,
    pub pids_current: u64,
    pub is_invalid: bool,
}

/// calculateCPUPercentUnix: the container's share of the host's CPU time between the
/// two samples, scaled to the number of CPUs (100% = one CPU busy).
pub fn cpu_percent(pre: &CpuStats, cur: &CpuStats) -> f64 {
    let cpu_delta = cur.cpu_usage.total_usage.unwrap_or(0) as f64
        - pre.cpu_usage.total_usage.unwrap_or(0) as f64;
    let system_delta =
        cur.system_cpu_usage.unwrap_or(0) as f64 - pre.system_cpu_usage.unwrap_or(0) as f64;
    let mut online = f64::from(cur.online_cpus.unwrap_or(0));
    if online == 0.0 {
        online = cur.cpu_usage.percpu_usage.as_ref().map_or(0, Vec::len) as f64;
    }
    if system_delta > 0.0 && cpu_delta > 0.0 {
        cpu_delta / system_delta * online * 100.0
    } else {
        0.0
    }
}

/// calculateMemUsageUnixNoCache: usage without the inactive page cache
/// (`total_inactive_file` on cgroup v1, `inactive_file` on v2).
pub fn mem_usage_no_cache(mem: &MemoryStats) -> f64 {
    let usage = mem.usage.unwrap_or(0);
    let stat = |k: &str| mem.stats.as_ref().and_then(|s| s.get(k).copied());
    if let Some(v) = stat("total_inactive_file").filter(|v| *v < usage) {
        return (usage - v) as f64;
    }
    let v = stat("inactive_file").unwrap_or(0);
    if v < usage {
        (usage - v) as f64
    } else {
        usage as f64
    }
}

pub fn mem_percent(limit: f64, used: f64) -> f64 {
    if limit != 0.0 {
        used / limit * 100.0
    } else {
        0.0
    }
}

/// calculateBlockIO: read and write bytes summed over devices, by the op's first letter.
pub fn block_io(b: &BlkioStats) -> (u64, u64) {
    let (mut r, mut w) = (0u64, 0u64);
    for e in b.io_service_bytes_recursive.iter().flatten() {
        match e.op.bytes().next() {
            Some(b'r' | b'R') => r = r.wrapping_add(e.value),
            Some(b'w' | b'W') => w = w.wrapping_add(e.value),
            _ => {}
        }
    }
    (r, w)
}

pub fn network(n: &Option<HashMap<String, NetStats>>) -> (f64, f64) {
    n.iter().flatten().fold((0.0, 0.0), |(rx, tx), (_, s)| {
        (rx + s.rx_bytes as f64, tx + s.tx_bytes as f64)
    })
}

impl Entry {
    /// One sample of the stats stream as docker's collect() turns it into an entry.
    pub fn from_stats(container: &str, v: &StatsJson) -> Entry {
        let memory = mem_usage_no_cache(&v.memory_stats);
        let limit = v.memory_stats.limit.unwrap_or(0) as f64;
        let (rx, tx) = network(&v.networks);
        let (read, write) = block_io(&v.blkio_stats);
        Entry {
            container: container.to_string(),
            name: v.name.clone().unwrap_or_default(),
            id: v.id.clone().unwrap_or_default(),
            cpu_percentage: cpu_percent(&v.precpu_stats, &v.cpu_stats),
            memory,
            memory_limit: limit,
            memory_percentage: mem_percent(limit, memory),
            network_rx: rx,
            network_tx: tx,
            block_read: read as f64,
            block_write: write as f64,
            pids_current: v.pids_stats.current.unwrap_or(0),
            is_invalid: false,
        }
    }

    /// docker's SetErrorAndReset: no fresh sample, so nothing is shown.
    pub fn reset(&mut self) {
        let keep = Entry {
            container: std::mem::take(&mut self.container),
            name: std::mem::take(&mut self.name),
            id: std::mem::take(&mut self.id),
            is_invalid: true,
            ..Default::default()
        };
        *self = keep;
    }
}

fn percentage(v: f64) -> String {
    format!("{v:.2}%")
}

/// The placeholders of docker's statsContext, rendered for one entry.
pub fn row(e: &Entry, trunc: bool) -> Value {
    let dash = |s: String| if e.is_invalid { "--".to_string() } else { s };
    // Go's Name[1:] drops the leading "/"; by char here, so that no name can split one.
    let mut chars = e.name.chars();
    chars.next();
    let name = match chars.as_str() {
        "" => "--".to_string(),
        rest => rest.to_string(),
    };
    json!({
        "Container": e.container,
        "Name": name,
        "ID": if trunc { trunc_id(&e.id) } else { e.id.clone() },
        "CPUPerc": dash(percentage(e.cpu_percentage)),
        "MemUsage": if e.is_invalid {
            "-- / --".to_string()
        } else {
            format!("{} / {}", bytes_size(e.memory), bytes_size(e.memory_limit))
        },
        "MemPerc": dash(percentage(e.memory_percentage)),
        "NetIO": dash(format!(
            "{} / {}",
            human_size_prec(e.network_rx, 3),
            human_size_prec(e.network_tx, 3)
        )),
        "BlockIO": dash(format!(
            "{} / {}",
            human_size_prec(e.block_read, 3),
            human_size_prec(e.block_write, 3)
        )),
        "PIDs": dash(e.pids_current.to_string()),
    })
}

pub fn header() -> Value {
    json!({
        "Container": "CONTAINER", "Name": "NAME", "ID": "CONTAINER ID", "CPUPerc": "CPU %",
        "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
        "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::format_rows;
    use crate::statsapi::{BlkioEntry, CpuUsage};

    /// The example response of the Engine API's ContainerStats (api/swagger.yaml),
    /// cgroup v1 flavour, trimmed to the fields the CLI reads plus a few it ignores.
    const SWAGGER_EXAMPLE: &str = r#"{
      "read": "2015-01-08T22:57:31.547920715Z",
      "pids_stats": {"current": 3},
      "networks": {
        "eth0": {"rx_bytes": 5338, "rx_dropped": 0, "rx_errors": 0, "rx_packets": 36,
                 "tx_bytes": 648, "tx_dropped": 0, "tx_errors": 0, "tx_packets": 8},
        "eth5": {"rx_bytes": 4641, "rx_dropped": 0, "rx_errors": 0, "rx_packets": 26,
                 "tx_bytes": 690, "tx_dropped": 0, "tx_errors": 0, "tx_packets": 9}
      },
      "memory_stats": {
        "stats": {"total_pgmajfault": 0, "cache": 0, "mapped_file": 0,
                  "total_inactive_file": 0, "pgpgout": 414, "rss": 6537216,
                  "total_mapped_file": 0, "writeback": 0, "unevictable": 0,
                  "pgpgin": 477, "total_unevictable": 0, "pgmajfault": 0,
                  "total_rss": 6537216, "total_rss_huge": 6291456,
                  "total_writeback": 0, "total_inactive_anon": 0,
                  "rss_huge": 6291456, "hierarchical_memory_limit": 67108864,
                  "total_pgfault": 964, "total_active_file": 0,
                  "active_anon": 6537216, "total_active_anon": 6537216,
                  "total_pgpgout": 414, "total_cache": 0, "inactive_anon": 0,
                  "active_file": 0, "pgfault": 964, "inactive_file": 0,
                  "total_pgpgin": 477},
        "max_usage": 6651904,
        "usage": 6537216,
        "failcnt": 0,
        "limit": 67108864
      },
      "blkio_stats": {},
      "cpu_stats": {
        "cpu_usage": {"percpu_usage": [8646879, 24472255, 36438778, 30657443],
                      "usage_in_usermode": 50000000, "total_usage": 100215355,
                      "usage_in_kernelmode": 30000000},
        "system_cpu_usage": 739306590000000,
        "online_cpus": 4,
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}
      },
      "precpu_stats": {
        "cpu_usage": {"percpu_usage": [8646879, 24350896, 36438778, 30657443],
                      "usage_in_usermode": 50000000, "total_usage": 100093996,
                      "usage_in_kernelmode": 30000000},
        "system_cpu_usage": 9492140000000,
        "online_cpus": 4,
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}
      }
    }"#;

    fn docker_entries() -> Vec<Entry> {
        // The two entries of docker/cli's TestContainerStatsContextWrite.
        vec![
            Entry {
                container: "container1".into(),
                id: "abcdef".into(),
                name: "/foo".into(),
                cpu_percentage: 20.0,
                memory: 20.0,
                memory_limit: 20.0,
                memory_percentage: 20.0,
                network_rx: 20.0,
                network_tx: 20.0,
                block_read: 20.0,
                block_write: 20.0,
                pids_current: 2,
                is_invalid: false,
            },
            Entry {
                container: "container2".into(),
                cpu_percentage: 30.0,
                memory: 30.0,
                memory_limit: 30.0,
                memory_percentage: 30.0,
                network_rx: 30.0,
                network_tx: 30.0,
                block_read: 30.0,
                block_write: 30.0,
                pids_current: 3,
                is_invalid: true,
                ..Default::default()
            },
        ]
    }

    fn write(format: &str, entries: &[Entry], trunc: bool) -> String {
        let rows: Vec<Value> = entries.iter().map(|e| row(e, trunc)).collect();
        format_rows(format, &header(), &rows, ROOT_TYPE).unwrap()
    }

    #[test]
    fn docker_formatter_cases() {
        let e = docker_entries();
        assert_eq!(
            write("table {{.MemUsage}}", &e, false),
            "MEM USAGE / LIMIT\n20B / 20B\n-- / --\n"
        );
        assert_eq!(
            write("{{.Container}}  {{.ID}}  {{.Name}}", &e, false),
            "container1  abcdef  foo\ncontainer2    --\n"
        );
        assert_eq!(
            write("{{.Container}}  {{.CPUPerc}}", &e, false),
            "container1  20.00%\ncontainer2  --\n"
        );
        assert_eq!(write("{{.Container}}", &[], false), "");
        assert_eq!(write("table {{.Container}}", &[], false), "CONTAINER\n");
        assert_eq!(
            write("table {{.Container}}\t{{.CPUPerc}}", &[], false),
            "CONTAINER   CPU %\n"
        );
        let long = Entry {
            id: "b95a83497c9161c9b444e3d70e1a9dfba0c1840d41720e146a95a08ebf938afc".into(),
            ..Default::default()
        };
        assert_eq!(
            write("{{.ID}}", std::slice::from_ref(&long), false),
            format!("{}\n", long.id)
        );
        assert_eq!(write("{{.ID}}", &[long], true), "b95a83497c91\n");
    }

    #[test]
    fn docker_context_values() {
        let v = |e: Entry| row(&e, false);
        let cases = [
            (
                Entry {
                    network_rx: 0.31,
                    network_tx: 12.3,
                    ..Default::default()
                },
                "NetIO",
                "0.31B / 12.3B",
            ),
            (
                Entry {
                    block_read: 0.1,
                    block_write: 2.3,
                    ..Default::default()
                },
                "BlockIO",
                "0.1B / 2.3B",
            ),
            (
                Entry {
                    memory_percentage: 10.2,
                    ..Default::default()
                },
                "MemPerc",
                "10.20%",
            ),
            (
                Entry {
                    memory: 24.0,
                    memory_limit: 30.0,
                    ..Default::default()
                },
                "MemUsage",
                "24B / 30B",
            ),
            (
                Entry {
                    cpu_percentage: 5.5,
                    ..Default::default()
                },
                "CPUPerc",
                "5.50%",
            ),
            (
                Entry {
                    pids_current: 10,
                    is_invalid: true,
                    ..Default::default()
                },
                "PIDs",
                "--",
            ),
        ];
        for (e, k, want) in cases {
            assert_eq!(v(e)[k], want, "{k}");
        }
    }

    #[test]
    fn swagger_example_row() {
        let s: StatsJson = serde_json::from_str(SWAGGER_EXAMPLE).unwrap();
        let mut e = Entry::from_stats("c", &s);
        e.name = "/boring_feynman".into();
        e.id = "ede54ee1afda366ab42f824e8a5ffd195155d853ceaec74a927f249ea270c743".into();
        // (100215355-100093996) / (739306590000000-9492140000000) * 4 * 100
        let want = 121359.0 / 729814450000000.0 * 400.0;
        assert!((e.cpu_percentage - want).abs() < 1e-15);
        let r = row(&e, true);
        assert_eq!(r["CPUPerc"], "0.00%");
        assert_eq!(r["MemUsage"], "6.234MiB / 64MiB");
        assert_eq!(r["MemPerc"], "9.74%");
        assert_eq!(r["NetIO"], "9.98kB / 1.34kB");
        assert_eq!(r["BlockIO"], "0B / 0B");
        assert_eq!(r["PIDs"], "3");
        assert_eq!(r["Name"], "boring_feynman");
        assert_eq!(r["ID"], "ede54ee1afda");
        let table = write(DEFAULT_FORMAT, &[e], true);
        assert_eq!(
            table,
            "CONTAINER ID   NAME             CPU %     MEM USAGE / LIMIT   MEM %     NET I/O           BLOCK I/O   PIDS\n\
             ede54ee1afda   boring_feynman   0.00%     6.234MiB / 64MiB    9.74%     9.98kB / 1.34kB   0B / 0B     3\n"
        );
    }

    #[test]
    fn calculations() {
        // docker/cli's stats_helpers_test.go cases.
        let mem = MemoryStats {
            usage: Some(500),
            stats: Some(HashMap::from([("total_inactive_file".into(), 400)])),
            ..Default::default()
        };
        assert_eq!(mem_usage_no_cache(&mem), 100.0);
        let v2 = MemoryStats {
            usage: Some(500),
            stats: Some(HashMap::from([("inactive_file".into(), 100)])),
            ..Default::default()
        };
        assert_eq!(mem_usage_no_cache(&v2), 400.0);
        let above = MemoryStats {
            usage: Some(50),
            stats: Some(HashMap::from([("inactive_file".into(), 100)])),
            ..Default::default()
        };
        assert_eq!(mem_usage_no_cache(&above), 50.0);
        assert_eq!(mem_percent(100.0, 70.0), 70.0);
        assert_eq!(mem_percent(0.0, 70.0), 0.0);
        let entries = [
            ("read", 1234),
            ("read", 4567),
            ("Read", 6),
            ("Read", 8),
            ("write", 123),
            ("write", 456),
            ("Write", 6),
            ("Write", 8),
            ("", 456),
        ];
        let b = BlkioStats {
            io_service_bytes_recursive: Some(
                entries
                    .iter()
                    .map(|(op, value)| BlkioEntry {
                        op: op.to_string(),
                        value: *value,
                    })
                    .collect(),
            ),
        };
        assert_eq!(block_io(&b), (5815, 593));
        // Without online_cpus, the per-CPU list gives the CPU count.
        let pre = CpuStats {
            cpu_usage: CpuUsage {
                total_usage: Some(1_000),
                percpu_usage: None,
            },
            system_cpu_usage: Some(10_000),
            online_cpus: None,
        };
        let cur = CpuStats {
            cpu_usage: CpuUsage {
                total_usage: Some(2_000),
                percpu_usage: Some(vec![0, 0]),
            },
            system_cpu_usage: Some(20_000),
            online_cpus: None,
        };
        assert_eq!(cpu_percent(&pre, &cur), 20.0);
        assert_eq!(cpu_percent(&cur, &pre), 0.0);
    }

    #[test]
    fn stopped_container_stats_are_empty() {
        let s: StatsJson = serde_json::from_str(
            r#"{"read":"0001-01-01T00:00:00Z","name":"/x","id":"abc","pids_stats":{},
                "blkio_stats":{"io_service_bytes_recursive":null},"cpu_stats":{"cpu_usage":{"total_usage":0},"throttling_data":{}},
                "precpu_stats":{"cpu_usage":{"total_usage":0},"throttling_data":{}},"memory_stats":{}}"#,
        )
        .unwrap();
        let r = row(&Entry::from_stats("x", &s), true);
        assert_eq!(r["MemUsage"], "0B / 0B");
        assert_eq!(r["CPUPerc"], "0.00%");
        let mut e = Entry::from_stats("x", &s);
        e.reset();
        let r = row(&e, true);
        assert_eq!(r["MemUsage"], "-- / --");
        assert_eq!(r["Name"], "x");
    }
}
