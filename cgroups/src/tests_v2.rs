//! The v2 writes, against a temp tree shaped like a cgroup2 hierarchy.

use std::fs;
use std::path::Path;

use crate::ops::*;
use crate::*;

const LEAF_KNOBS: &[&str] = &[
    "memory.max",
    "memory.swap.max",
    "memory.low",
    "cpu.weight",
    "cpu.max",
    "cpuset.cpus",
    "cpuset.mems",
    "pids.max",
    "io.weight",
    "cgroup.freeze",
];

fn tree() -> (tempfile::TempDir, Layout) {
    let t = tempfile::tempdir().unwrap();
    let leaf = t.path().join("rd/c1");
    fs::create_dir_all(&leaf).unwrap();
    for dir in [t.path().to_path_buf(), t.path().join("rd")] {
        fs::write(
            dir.join("cgroup.controllers"),
            "cpuset cpu io memory hugetlb pids\n",
        )
        .unwrap();
        fs::write(dir.join("cgroup.subtree_control"), "").unwrap();
    }
    for f in LEAF_KNOBS {
        fs::write(leaf.join(f), "").unwrap();
    }
    fs::write(leaf.join("cpu.max"), "max 100000\n").unwrap();
    let l = Layout::unified_at(t.path());
    (t, l)
}

fn read(t: &Path, rel: &str) -> String {
    fs::read_to_string(t.join(rel)).unwrap()
}

#[test]
fn create_writes_every_knob() {
    let (t, l) = tree();
    let cg = Cgroup::new(&l, "rd/c1");
    let r = Resources {
        memory: Some(64 << 20),
        memory_swap: Some(128 << 20),
        memory_reservation: Some(32 << 20),
        oom_kill_disable: Some(true),
        cpu_shares: Some(512),
        cpu_period: Some(100_000),
        cpu_quota: Some(50_000),
        cpuset_cpus: Some("0-1".into()),
        cpuset_mems: Some("0".into()),
        pids_limit: Some(-1),
        blkio_weight: Some(500),
        devices: vec![],
    };
    let w = cg.create(&r).unwrap();
    assert_eq!(w, vec![W_OOM_KILL_DISABLE.to_string()]);
    let t = t.path();
    // Controllers this crate uses, in every ancestor; hugetlb stays off.
    assert_eq!(
        read(t, "cgroup.subtree_control"),
        "+cpuset +cpu +io +memory +pids"
    );
    assert_eq!(
        read(t, "rd/cgroup.subtree_control"),
        "+cpuset +cpu +io +memory +pids"
    );
    assert_eq!(read(t, "rd/c1/memory.max"), "67108864");
    // docker's memory_swap is memory + swap: v2 gets the swap part only.
    assert_eq!(read(t, "rd/c1/memory.swap.max"), "67108864");
    assert_eq!(read(t, "rd/c1/memory.low"), "33554432");
    assert_eq!(read(t, "rd/c1/cpu.weight"), "20");
    assert_eq!(read(t, "rd/c1/cpu.max"), "50000 100000");
    assert_eq!(read(t, "rd/c1/cpuset.cpus"), "0-1");
    assert_eq!(read(t, "rd/c1/cpuset.mems"), "0");
    assert_eq!(read(t, "rd/c1/pids.max"), "max");
    assert_eq!(read(t, "rd/c1/io.weight"), "default 4950");
    assert_eq!(cg.dirs(), vec![t.join("rd/c1")]);
}

#[test]
fn update_keeps_the_other_half_of_cpu_max_and_memory() {
    let (t, l) = tree();
    let cg = Cgroup::new(&l, "rd/c1");
    let t = t.path();
    fs::write(t.join("rd/c1/cpu.max"), "50000 100000\n").unwrap();
    let upd = |r: Resources| cg.update(&r).unwrap();
    upd(Resources {
        cpu_period: Some(200_000),
        ..Default::default()
    });
    assert_eq!(read(t, "rd/c1/cpu.max"), "50000 200000");
    fs::write(t.join("rd/c1/cpu.max"), "50000 200000\n").unwrap();
    upd(Resources {
        cpu_quota: Some(-1),
        ..Default::default()
    });
    assert_eq!(read(t, "rd/c1/cpu.max"), "max 200000");
    upd(Resources {
        cpu_shares: Some(2),
        ..Default::default()
    });
    assert_eq!(read(t, "rd/c1/cpu.weight"), "1");
    // Swap alone: the swap part is computed against the memory.max in force.
    fs::write(t.join("rd/c1/memory.max"), "67108864\n").unwrap();
    upd(Resources {
        memory_swap: Some(100 << 20),
        ..Default::default()
    });
    assert_eq!(read(t, "rd/c1/memory.swap.max"), (36u64 << 20).to_string());
    upd(Resources {
        memory: Some(-1),
        ..Default::default()
    });
    assert_eq!(read(t, "rd/c1/memory.max"), "max");
    assert_eq!(read(t, "rd/c1/memory.swap.max"), "max");
    let e = cg
        .update(&Resources {
            memory: Some(64 << 20),
            memory_swap: Some(32 << 20),
            ..Default::default()
        })
        .unwrap_err();
    assert!(matches!(e, CgroupError::Invalid(_)), "{e}");
}

#[test]
fn missing_knobs_warn() {
    let (t, l) = tree();
    fs::remove_file(t.path().join("rd/c1/pids.max")).unwrap();
    fs::remove_file(t.path().join("rd/c1/io.weight")).unwrap();
    let cg = Cgroup::new(&l, "rd/c1");
    let w = cg
        .create(&Resources {
            pids_limit: Some(5),
            blkio_weight: Some(100),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(w, vec![W_PIDS, W_BLKIO_WEIGHT]);
}

#[test]
fn stats_parse_v2_files() {
    let (t, l) = tree();
    let d = t.path().join("rd/c1");
    fs::write(d.join("cpu.stat"), "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 2\nthrottled_usec 7\n").unwrap();
    fs::write(d.join("memory.current"), "4096\n").unwrap();
    fs::write(d.join("memory.max"), "max\n").unwrap();
    fs::write(d.join("memory.stat"), "anon 100\nfile 200\n").unwrap();
    fs::write(
        d.join("memory.events"),
        "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
    )
    .unwrap();
    fs::write(d.join("pids.current"), "2\n").unwrap();
    fs::write(d.join("pids.max"), "max\n").unwrap();
    fs::write(
        d.join("io.stat"),
        "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n",
    )
    .unwrap();
    let cg = Cgroup::new(&l, "rd/c1");
    let s = cg.stats().unwrap();
    assert_eq!(
        (s.cpu_total, s.cpu_user, s.cpu_system),
        (1_500_000, 1_000_000, 500_000)
    );
    assert_eq!(
        (s.throttling_periods, s.throttled_periods, s.throttled_time),
        (4, 2, 7000)
    );
    assert_eq!(s.memory_usage, 4096);
    assert_eq!(s.memory_limit, crate::fsutil::mem_total());
    assert_eq!(s.memory_failcnt, 3);
    assert_eq!(s.memory_stat.get("file"), Some(&200));
    assert_eq!((s.pids_current, s.pids_limit), (2, 0));
    assert_eq!(
        s.blkio_service_bytes,
        vec![(8, 0, "read".into(), 10), (8, 0, "write".into(), 20)]
    );
    assert_eq!(
        s.blkio_serviced,
        vec![(8, 0, "read".into(), 1), (8, 0, "write".into(), 2)]
    );
    assert_eq!(cg.oom_kills().unwrap(), 1);
}
