//! The v1 writes, against a temp tree shaped like the v1 hierarchies (plain files stand in
//! for the knobs; the kernel's own checks are exercised by tests/v1_host.rs).

use std::fs;
use std::path::{Path, PathBuf};

use crate::layout::V1_CONTROLLERS;
use crate::ops::*;
use crate::v1::{self, V1Dirs};
use crate::*;

const KNOBS: &[(&str, &[&str])] = &[
    (
        "memory",
        &[
            "memory.limit_in_bytes",
            "memory.memsw.limit_in_bytes",
            "memory.soft_limit_in_bytes",
            "memory.oom_control",
        ],
    ),
    (
        "cpu",
        &["cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us"],
    ),
    ("cpuset", &["cpuset.cpus", "cpuset.mems"]),
    ("pids", &["pids.max"]),
    ("devices", &["devices.allow", "devices.deny"]),
    ("freezer", &["freezer.state"]),
];

/// `<tmp>/<controller>` mounts; the leaf `rd/c1` exists with every knob file (empty).
fn tree() -> (tempfile::TempDir, Layout) {
    let t = tempfile::tempdir().unwrap();
    for c in V1_CONTROLLERS {
        fs::create_dir_all(t.path().join(c).join("rd/c1")).unwrap();
    }
    for (c, files) in KNOBS {
        for f in *files {
            fs::write(t.path().join(c).join("rd/c1").join(f), "").unwrap();
            fs::write(t.path().join(c).join("rd").join(f), "").unwrap();
        }
    }
    fs::write(t.path().join("cpuset/cpuset.cpus"), "0-1\n").unwrap();
    fs::write(t.path().join("cpuset/cpuset.mems"), "0\n").unwrap();
    fs::write(
        t.path().join("memory/rd/c1/memory.limit_in_bytes"),
        "9223372036854771712\n",
    )
    .unwrap();
    let l = Layout::v1_at(t.path());
    (t, l)
}

fn read(t: &Path, rel: &str) -> String {
    fs::read_to_string(t.join(rel)).unwrap()
}

fn names(log: &[(PathBuf, String)]) -> Vec<(String, String)> {
    log.iter()
        .map(|(p, v)| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            (n, v.clone())
        })
        .collect()
}

fn rule(s: &str, allow: bool) -> DeviceRule {
    DeviceRule::parse(s, allow).unwrap()
}

fn full() -> Resources {
    Resources {
        memory: Some(64 << 20),
        memory_swap: Some(128 << 20),
        memory_reservation: Some(32 << 20),
        oom_kill_disable: Some(true),
        cpu_shares: Some(512),
        cpu_period: Some(100_000),
        cpu_quota: Some(50_000),
        cpuset_cpus: Some("0".into()),
        cpuset_mems: Some("0".into()),
        pids_limit: Some(0),
        blkio_weight: Some(500),
        devices: vec![
            rule("c 1:3 rwm", true),
            rule("c *:* m", true),
            rule("b 8:0 r", false),
        ],
    }
}

#[test]
fn create_writes_every_knob() {
    let (t, l) = tree();
    let cg = Cgroup::new(&l, "rd/c1");
    let warnings = cg.create(&full()).unwrap();
    // No blkio.weight file in the tree: dockerd's warning, nothing written.
    assert_eq!(warnings, vec![W_BLKIO_WEIGHT.to_string()]);
    let t = t.path();
    assert_eq!(read(t, "memory/rd/c1/memory.limit_in_bytes"), "67108864");
    assert_eq!(
        read(t, "memory/rd/c1/memory.memsw.limit_in_bytes"),
        "134217728"
    );
    assert_eq!(
        read(t, "memory/rd/c1/memory.soft_limit_in_bytes"),
        "33554432"
    );
    assert_eq!(read(t, "memory/rd/c1/memory.oom_control"), "1");
    assert_eq!(read(t, "cpu/rd/c1/cpu.shares"), "512");
    assert_eq!(read(t, "cpu/rd/c1/cpu.cfs_period_us"), "100000");
    assert_eq!(read(t, "cpu/rd/c1/cpu.cfs_quota_us"), "50000");
    assert_eq!(read(t, "cpuset/rd/c1/cpuset.cpus"), "0");
    assert_eq!(read(t, "cpuset/rd/c1/cpuset.mems"), "0");
    // The intermediate level got the root's cpuset copied down before the leaf.
    assert_eq!(read(t, "cpuset/rd/cpuset.cpus"), "0-1");
    assert_eq!(read(t, "cpuset/rd/cpuset.mems"), "0");
    assert_eq!(read(t, "pids/rd/c1/pids.max"), "max");
    assert_eq!(read(t, "devices/rd/c1/devices.allow"), "c *:* m");
    assert_eq!(read(t, "devices/rd/c1/devices.deny"), "b 8:0 r");
    assert_eq!(cg.dirs().len(), 8);
}

#[test]
fn write_order_and_device_lines() {
    let (t, l) = tree();
    let Layout::V1 { controllers } = &l else {
        unreachable!()
    };
    let d = V1Dirs::new(controllers, Path::new("rd/c1"));
    let ops = v1::apply(&d, &full(), false).unwrap();
    let got = names(&ops.log);
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        got,
        vec![
            // memory limit unlimited now, memsw 128M ≥ it is false: lower memory first
            s("memory.limit_in_bytes", "67108864"),
            s("memory.memsw.limit_in_bytes", "134217728"),
            s("memory.soft_limit_in_bytes", "33554432"),
            s("memory.oom_control", "1"),
            s("cpu.shares", "512"),
            s("cpu.cfs_period_us", "100000"),
            s("cpu.cfs_quota_us", "50000"),
            s("cpuset.cpus", "0"),
            s("cpuset.mems", "0"),
            s("pids.max", "max"),
            s("devices.deny", "a"),
            s("devices.allow", "c 1:3 rwm"),
            s("devices.allow", "c *:* m"),
            s("devices.deny", "b 8:0 r"),
        ]
    );
    drop(t);
}

#[test]
fn memsw_order_follows_the_kernel_rule() {
    let (t, l) = tree();
    let cg = Cgroup::new(&l, "rd/c1");
    let Layout::V1 { controllers } = &l else {
        unreachable!()
    };
    let d = V1Dirs::new(controllers, Path::new("rd/c1"));
    let lim = t.path().join("memory/rd/c1/memory.limit_in_bytes");
    let mem = |m: i64, s: i64| Resources {
        memory: Some(m),
        memory_swap: Some(s),
        ..Default::default()
    };
    // Raising (current 64M, new memsw 512M): memsw first, or memory 256M > old memsw fails.
    fs::write(&lim, "67108864\n").unwrap();
    let got = names(&v1::apply(&d, &mem(256 << 20, 512 << 20), true).unwrap().log);
    assert_eq!(got[0].0, "memory.memsw.limit_in_bytes");
    assert_eq!(got[1], ("memory.limit_in_bytes".into(), "268435456".into()));
    // Lowering (current 256M, new memsw 64M): memory first.
    fs::write(&lim, "268435456\n").unwrap();
    let got = names(&v1::apply(&d, &mem(32 << 20, 64 << 20), true).unwrap().log);
    assert_eq!(got[0], ("memory.limit_in_bytes".into(), "33554432".into()));
    assert_eq!(
        got[1],
        ("memory.memsw.limit_in_bytes".into(), "67108864".into())
    );
    // Unlimited swap: memsw first, written as -1.
    let got = names(&v1::apply(&d, &mem(32 << 20, -1), true).unwrap().log);
    assert_eq!(got[0], ("memory.memsw.limit_in_bytes".into(), "-1".into()));
    // Unlimited memory without a swap value also lifts memsw (else the kernel refuses).
    let r = Resources {
        memory: Some(-1),
        ..Default::default()
    };
    let got = names(&v1::apply(&d, &r, true).unwrap().log);
    assert_eq!(got[0], ("memory.memsw.limit_in_bytes".into(), "-1".into()));
    assert_eq!(got[1], ("memory.limit_in_bytes".into(), "-1".into()));
    // update touches only the Some fields.
    let r = Resources {
        pids_limit: Some(50),
        ..Default::default()
    };
    let w = cg.update(&r).unwrap();
    assert!(w.is_empty());
    assert_eq!(read(t.path(), "pids/rd/c1/pids.max"), "50");
    assert_eq!(read(t.path(), "cpu/rd/c1/cpu.shares"), "");
}

#[test]
fn update_refuses_device_changes() {
    let (_t, l) = tree();
    let cg = Cgroup::new(&l, "rd/c1");
    let r = Resources {
        devices: vec![rule("a", true)],
        ..Default::default()
    };
    let e = cg.update(&r).unwrap_err();
    assert!(matches!(e, CgroupError::Invalid(_)), "{e}");
    assert!(e.to_string().contains("device cgroup rules"), "{e}");
}

#[test]
fn missing_controllers_warn_like_dockerd() {
    let (t, _) = tree();
    let mut controllers = std::collections::BTreeMap::new();
    controllers.insert("memory".to_string(), t.path().join("memory"));
    let l = Layout::V1 { controllers };
    let cg = Cgroup::new(&l, "rd/c1");
    let r = Resources {
        pids_limit: Some(10),
        cpu_shares: Some(100),
        cpu_quota: Some(50_000),
        cpuset_cpus: Some("0".into()),
        ..Default::default()
    };
    let w = cg.create(&r).unwrap();
    assert_eq!(w, vec![W_SHARES, W_QUOTA, W_CPUSET, W_PIDS]);
    assert_eq!(cg.dirs(), vec![t.path().join("memory/rd/c1")]);
}

#[test]
fn failed_create_removes_what_it_made() {
    let t = tempfile::tempdir().unwrap();
    for c in V1_CONTROLLERS {
        fs::create_dir_all(t.path().join(c)).unwrap();
    }
    // Unreadable parent cpuset (a dir where the file belongs) makes the copy-down fail.
    fs::create_dir(t.path().join("cpuset/cpuset.cpus")).unwrap();
    let l = Layout::v1_at(t.path());
    let cg = Cgroup::new(&l, "new/c2");
    cg.create(&Resources::default()).unwrap_err();
    for c in V1_CONTROLLERS {
        assert!(!t.path().join(c).join("new").exists(), "{c} left behind");
    }
    assert!(!cg.exists());
}

#[test]
fn refuses_escaping_paths() {
    let (_t, l) = tree();
    for rel in ["../x", "/abs", "", "a/../../b"] {
        let e = Cgroup::new(&l, rel)
            .create(&Resources::default())
            .unwrap_err();
        assert!(matches!(e, CgroupError::Invalid(_)), "{rel}: {e}");
    }
}

#[test]
fn swap_without_memory_is_refused_on_create() {
    let (_t, l) = tree();
    let e = Cgroup::new(&l, "rd/c1")
        .create(&Resources {
            memory_swap: Some(64 << 20),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "You should always set the Memory limit when using Memoryswap limit, see usage"
    );
}

#[test]
fn stats_parse_v1_files() {
    let (t, l) = tree();
    let d =
        |c: &str, f: &str, v: &str| fs::write(t.path().join(c).join("rd/c1").join(f), v).unwrap();
    d("cpuacct", "cpuacct.usage", "123456789\n");
    d("cpuacct", "cpuacct.usage_percpu", "100 200 \n");
    d("cpuacct", "cpuacct.stat", "user 150\nsystem 50\n");
    d(
        "cpu",
        "cpu.stat",
        "nr_periods 10\nnr_throttled 3\nthrottled_time 999\n",
    );
    d("memory", "memory.usage_in_bytes", "8192\n");
    d("memory", "memory.max_usage_in_bytes", "16384\n");
    d("memory", "memory.failcnt", "2\n");
    d(
        "memory",
        "memory.stat",
        "cache 1\nrss 2\ntotal_inactive_file 3\n",
    );
    d(
        "memory",
        "memory.oom_control",
        "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n",
    );
    d("pids", "pids.current", "3\n");
    d("pids", "pids.max", "max\n");
    d(
        "blkio",
        "blkio.throttle.io_service_bytes_recursive",
        "8:0 Read 4096\n8:0 Write 8192\n8:0 Total 12288\nTotal 12288\n",
    );
    let cg = Cgroup::new(&l, "rd/c1");
    let s = cg.stats().unwrap();
    assert_eq!(s.cpu_total, 123_456_789);
    assert_eq!(s.percpu, vec![100, 200]);
    // USER_HZ is 100 on Linux: one tick is 10 ms.
    assert_eq!((s.cpu_user, s.cpu_system), (1_500_000_000, 500_000_000));
    assert_eq!(
        (s.throttling_periods, s.throttled_periods, s.throttled_time),
        (10, 3, 999)
    );
    assert_eq!(
        (s.memory_usage, s.memory_max_usage, s.memory_failcnt),
        (8192, 16384, 2)
    );
    // "unlimited" (the leaf's 9223372036854771712) reads as the host's memory.
    assert_eq!(s.memory_limit, crate::fsutil::mem_total());
    assert_eq!(s.memory_stat.len(), 3);
    assert_eq!((s.pids_current, s.pids_limit), (3, 0));
    assert_eq!(
        s.blkio_service_bytes,
        vec![
            (8, 0, "Read".into(), 4096),
            (8, 0, "Write".into(), 8192),
            (8, 0, "Total".into(), 12288)
        ]
    );
    assert!(s.blkio_serviced.is_empty());
    assert_eq!(cg.oom_kills().unwrap(), 4);
}
