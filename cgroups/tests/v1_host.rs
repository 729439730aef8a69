//! cgroup v1 on this host, as root: limits the kernel takes, joining, stats, freezer, OOM,
//! pids, update and removal. Each test uses its own `rdocker-test-*` tree and removes it.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use rdocker_cgroups::{Cgroup, CgroupError, Layout, Resources};

fn v1() -> (Layout, std::collections::BTreeMap<String, PathBuf>) {
    require_root();
    let l = Layout::detect().unwrap();
    let Layout::V1 { controllers } = &l else {
        panic!("this test needs a cgroup v1 host; detected {l:?}");
    };
    let c = controllers.clone();
    (l, c)
}

/// Removes the test's top-level cgroup (and the container one below it) even on panic.
struct Tree {
    top: Cgroup,
    leaf: Cgroup,
}

impl Tree {
    fn new(l: &Layout, tag: &str) -> Tree {
        let top = unique(tag);
        Tree {
            top: Cgroup::new(l, &top),
            leaf: Cgroup::new(l, format!("{top}/x")),
        }
    }

    fn assert_gone(&self, controllers: &std::collections::BTreeMap<String, PathBuf>) {
        for (c, m) in controllers {
            assert!(!m.join(&self.top.rel).exists(), "left behind in {c}");
        }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = self.leaf.remove();
        let _ = self.top.remove();
    }
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
}

#[test]
fn limits_join_stats_freeze_remove() {
    let (l, controllers) = v1();
    let t = Tree::new(&l, "v1");
    let r = Resources {
        memory: Some(64 << 20),
        memory_swap: Some(128 << 20),
        pids_limit: Some(20),
        cpu_period: Some(100_000),
        cpu_quota: Some(50_000),
        cpuset_cpus: Some("0".into()),
        devices: docker_default_devices(true),
        ..Default::default()
    };
    let warnings = t.leaf.create(&r).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let m = |c: &str| controllers[c].join(&t.leaf.rel);
    assert_eq!(read(m("memory").join("memory.limit_in_bytes")), "67108864");
    assert_eq!(
        read(m("memory").join("memory.memsw.limit_in_bytes")),
        "134217728"
    );
    assert_eq!(read(m("pids").join("pids.max")), "20");
    assert_eq!(read(m("cpu").join("cpu.cfs_quota_us")), "50000");
    assert_eq!(read(m("cpuset").join("cpuset.cpus")), "0");
    // The copy-down filled the new intermediate level too.
    assert!(!read(controllers["cpuset"].join(&t.top.rel).join("cpuset.mems")).is_empty());
    let list = read(m("devices").join("devices.list"));
    assert!(
        list.contains("c 1:3 rwm") && list.contains("c 136:* rwm"),
        "{list}"
    );
    assert!(!list.contains("a *:* rwm"), "{list}");

    let mut child = spawn(&t.leaf.dirs(), busy);
    let cg = child.cgroup_file();
    for c in [
        "memory", "cpu", "cpuacct", "cpuset", "pids", "blkio", "devices", "freezer",
    ] {
        let line = cg
            .lines()
            .find(|l| {
                l.split(':')
                    .nth(1)
                    .is_some_and(|cs| cs.split(',').any(|x| x == c))
            })
            .unwrap_or_else(|| panic!("no {c} line in\n{cg}"));
        assert!(
            line.ends_with(&format!("/{}", t.leaf.rel.display())),
            "{c}: {line}"
        );
    }
    assert_eq!(t.leaf.pids().unwrap(), vec![child.pid]);

    std::thread::sleep(Duration::from_millis(200));
    let s = t.leaf.stats().unwrap();
    assert!(s.memory_usage > 0, "{s:?}");
    assert!(s.pids_current >= 1, "{s:?}");
    assert_eq!(s.pids_limit, 20);
    assert_eq!(s.memory_limit, 64 << 20);
    assert!(s.cpu_total > 0 && !s.percpu.is_empty(), "{s:?}");
    assert!(s.memory_stat.contains_key("rss") || s.memory_stat.contains_key("anon"));

    t.leaf.freeze().unwrap();
    let (before, state) = child.cpu_ticks();
    std::thread::sleep(Duration::from_millis(300));
    let (after, _) = child.cpu_ticks();
    assert_eq!(
        before, after,
        "a frozen child made progress (state {state})"
    );
    assert_eq!(read(m("freezer").join("freezer.state")), "FROZEN");
    t.leaf.thaw().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (resumed, _) = child.cpu_ticks();
    assert!(resumed > after, "the thawed child did not resume");

    // Freeze again so that remove() has to thaw before its SIGKILL lands.
    t.leaf.freeze().unwrap();
    t.leaf.remove().unwrap();
    assert!(matches!(
        child.wait(Duration::from_secs(2)),
        Exit::Signal(libc::SIGKILL)
    ));
    for d in t.leaf.dirs() {
        assert!(!d.exists(), "{} left behind", d.display());
    }
    assert!(!t.leaf.exists());
    t.top.remove().unwrap();
    t.assert_gone(&controllers);
    // Removing what is gone is not an error.
    t.leaf.remove().unwrap();
}

#[test]
fn memory_hog_is_oom_killed() {
    let (l, controllers) = v1();
    let t = Tree::new(&l, "oom");
    let r = Resources {
        memory: Some(32 << 20),
        memory_swap: Some(32 << 20),
        ..Default::default()
    };
    t.leaf.create(&r).unwrap();
    assert_eq!(t.leaf.oom_kills().unwrap(), 0);
    fn hog() -> i32 {
        let len = 256usize << 20;
        // SAFETY: a private anonymous mapping, touched page by page; raw syscalls only.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                return 3;
            }
            let b = p.cast::<u8>();
            let mut i = 0;
            while i < len {
                b.add(i).write_volatile(1);
                i += 4096;
            }
        }
        0
    }
    let mut child = spawn(&t.leaf.dirs(), hog);
    match child.wait(Duration::from_secs(20)) {
        Exit::Signal(libc::SIGKILL) => {}
        Exit::Signal(s) => panic!("hog killed by signal {s}, not SIGKILL"),
        Exit::Code(c) => panic!("hog exited {c}: the memory limit did not hold"),
    }
    assert!(t.leaf.oom_kills().unwrap() >= 1);
    // The hog reached the limit before it died (max usage is a high-water mark).
    let s = t.leaf.stats().unwrap();
    assert!(s.memory_max_usage > 16 << 20, "{s:?}");
    t.leaf.remove().unwrap();
    t.top.remove().unwrap();
    t.assert_gone(&controllers);
}

#[test]
fn pids_limit_stops_forks() {
    let (l, controllers) = v1();
    let t = Tree::new(&l, "pids");
    t.leaf
        .create(&Resources {
            pids_limit: Some(5),
            ..Default::default()
        })
        .unwrap();
    fn forker() -> i32 {
        for _ in 0..20 {
            // SAFETY: fork in a single-threaded child; grandchildren only pause.
            let p = unsafe { libc::fork() };
            if p == 0 {
                // SAFETY: pause until killed by remove().
                unsafe {
                    libc::pause();
                    libc::_exit(0);
                }
            }
            if p < 0 {
                return if errno() == libc::EAGAIN { 42 } else { 43 };
            }
        }
        1
    }
    let mut child = spawn(&t.leaf.dirs(), forker);
    match child.wait(Duration::from_secs(10)) {
        Exit::Code(42) => {}
        Exit::Code(43) => panic!("fork failed with another errno than EAGAIN"),
        Exit::Code(c) => panic!("20 forks succeeded under pids.max 5 (exit {c})"),
        Exit::Signal(s) => panic!("forker killed by {s}"),
    }
    // The 4 paused grandchildren are still in the cgroup; remove() kills them.
    assert_eq!(t.leaf.pids().unwrap().len(), 4);
    t.leaf.remove().unwrap();
    t.top.remove().unwrap();
    t.assert_gone(&controllers);
}

#[test]
fn update_on_the_real_kernel() {
    let (l, controllers) = v1();
    let t = Tree::new(&l, "upd");
    t.leaf
        .create(&Resources {
            memory: Some(64 << 20),
            memory_swap: Some(128 << 20),
            ..Default::default()
        })
        .unwrap();
    let mem = controllers["memory"].join(&t.leaf.rel);
    let upd = |m: i64, s: i64| {
        t.leaf.update(&Resources {
            memory: Some(m),
            memory_swap: Some(s),
            ..Default::default()
        })
    };
    // Raising past the old memsw only works with memsw written first.
    upd(256 << 20, 512 << 20).unwrap();
    assert_eq!(read(mem.join("memory.limit_in_bytes")), "268435456");
    assert_eq!(read(mem.join("memory.memsw.limit_in_bytes")), "536870912");
    // Lowering below the old memory limit only works with memory written first.
    upd(16 << 20, 32 << 20).unwrap();
    assert_eq!(read(mem.join("memory.limit_in_bytes")), "16777216");
    assert_eq!(read(mem.join("memory.memsw.limit_in_bytes")), "33554432");
    // Memory alone above the memsw in force: docker's message.
    let e = t
        .leaf
        .update(&Resources {
            memory: Some(64 << 20),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"
    );
    // A value the kernel refuses names the knob and the value.
    let e = t
        .leaf
        .update(&Resources {
            cpuset_cpus: Some("7".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert!(matches!(e, CgroupError::Invalid(_)), "{e:?}");
    assert!(
        e.to_string().contains("cpuset.cpus") && e.to_string().contains("\"7\""),
        "{e}"
    );
    t.leaf
        .update(&Resources {
            cpu_shares: Some(512),
            pids_limit: Some(-1),
            oom_kill_disable: Some(true),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        read(controllers["cpu"].join(&t.leaf.rel).join("cpu.shares")),
        "512"
    );
    assert_eq!(
        read(controllers["pids"].join(&t.leaf.rel).join("pids.max")),
        "max"
    );
    assert!(read(mem.join("memory.oom_control")).contains("oom_kill_disable 1"));
    t.leaf.remove().unwrap();
    t.top.remove().unwrap();
    t.assert_gone(&controllers);
}

#[test]
fn refused_create_leaves_nothing() {
    let (l, controllers) = v1();
    let t = Tree::new(&l, "bad");
    // cpus this 2-core host lacks: the kernel refuses the cpuset after the memory limit and
    // the new dirs were made, so the rollback is what is tested.
    let e = t
        .leaf
        .create(&Resources {
            memory: Some(64 << 20),
            cpuset_cpus: Some("0-63".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert!(matches!(e, CgroupError::Invalid(_)), "{e:?}");
    t.assert_gone(&controllers);
}

#[test]
fn create_time_with_docker_defaults() {
    let (l, _) = v1();
    let r = Resources {
        memory: Some(256 << 20),
        pids_limit: Some(100),
        devices: docker_default_devices(true),
        ..Default::default()
    };
    let top = unique("perf");
    let measure = |what: &str, r: &Resources| {
        let mut create = Vec::new();
        let mut remove = Vec::new();
        for i in 0..30 {
            let cg = Cgroup::new(&l, format!("{top}/c{i}"));
            let start = Instant::now();
            cg.create(r).unwrap();
            create.push(start.elapsed());
            let start = Instant::now();
            cg.remove().unwrap();
            remove.push(start.elapsed());
        }
        let first = create[0];
        create.sort();
        remove.sort();
        println!(
            "v1 create() {what}: first {first:?}, median {:?}, min {:?}, max {:?}; \
             remove() median {:?} (30 runs)",
            create[15], create[0], create[29], remove[15]
        );
    };
    measure("with docker's default devices + memory + pids", &r);
    measure(
        "without limits (mkdir + cpuset copy-down only)",
        &Resources::default(),
    );
    Cgroup::new(&l, &top).remove().unwrap();
}
