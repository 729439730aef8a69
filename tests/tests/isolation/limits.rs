//! Limits that hold against a hostile workload, and OOM reporting.

use std::time::Duration;

use rdocker_tests::e2e::Checks;
use rdocker_tests::require_root;
use rdocker_tests::util::wait_for;

use crate::{cgroup_dirs_of, setup};

#[test]
fn pids_limit_stops_a_fork_bomb() {
    require_root!();
    let (_reg, d) = setup();
    let out = d.cli(&[
        "run",
        "-d",
        "--name",
        "bomb",
        "--pids-limit",
        "30",
        "busybox",
        "sh",
        "-c",
        "f() { f | f & }; f; sleep 300",
    ]);
    out.assert_ok();
    let id = out.stdout.trim().to_string();
    std::thread::sleep(Duration::from_secs(2));
    let mut c = Checks::default();
    if std::path::Path::new("/sys/fs/cgroup/pids").is_dir() {
        let read = |f: &str| {
            std::fs::read_to_string(format!("/sys/fs/cgroup/pids/rdocker/{id}/{f}"))
                .unwrap_or_default()
        };
        let current: u64 = read("pids.current").trim().parse().unwrap_or(999);
        c.check(current <= 30, format!("at most 30 processes: {current}"));
        c.check(
            read("pids.events").contains("max ") && !read("pids.events").contains("max 0"),
            format!("forks were refused: {}", read("pids.events")),
        );
    }
    // The host is fine: the daemon answers, and rm -f takes the whole bomb down.
    d.cli(&["ps"]).assert_ok();
    d.cli(&["rm", "-f", "bomb"]).assert_ok();
    // The cgroup can only be removed once every process of the bomb is gone.
    c.check(cgroup_dirs_of(&id).is_empty(), "no cgroup left");
    c.finish();
}

#[test]
fn memory_hog_is_oom_killed() {
    require_root!();
    let (_reg, d) = setup();
    let mut c = Checks::default();
    let out = d.cli(&[
        "run",
        "-d",
        "--name",
        "hog",
        "--memory",
        "32m",
        "busybox",
        "sh",
        "-c",
        "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done",
    ]);
    out.assert_ok();
    let id = out.stdout.trim().to_string();
    let w = d.cli_timeout(&["wait", "hog"], Duration::from_secs(60));
    c.check(w.stdout.trim() == "137", format!("OOM kill → 137: {w}"));
    let v = d.inspect("hog").expect("inspect");
    c.check(
        v["State"]["OOMKilled"] == true,
        format!("OOMKilled: {}", v["State"]),
    );
    c.check(
        v["HostConfig"]["Memory"] == 33554432,
        format!("HostConfig.Memory: {}", v["HostConfig"]["Memory"]),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    let ev = d.api(
        "GET",
        &format!("/events?since=0&until={now}&filters=%7B%22container%22%3A%5B%22hog%22%5D%7D"),
    );
    let actions: Vec<String> =
        ev.1.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["Action"].as_str().map(str::to_string))
            .collect();
    let oom = actions.iter().position(|a| a == "oom");
    let die = actions.iter().position(|a| a == "die");
    c.check(
        oom.is_some() && die.is_some() && oom < die,
        format!("an oom event before die: {actions:?}"),
    );
    // The daemon stayed responsive.
    d.cli(&["ps", "-a"]).assert_ok();
    d.cli(&["rm", "hog"]).assert_ok();
    let gone = wait_for(Duration::from_secs(5), || {
        cgroup_dirs_of(&id).is_empty().then_some(())
    });
    c.check(
        gone.is_some(),
        format!("cgroups removed: {:?}", cgroup_dirs_of(&id)),
    );
    c.finish();
}

/// The limits land in the kernel's files (v1 here), and the container sees its own cgroup.
#[test]
fn limits_reach_the_cgroup_files() {
    require_root!();
    let (_reg, d) = setup();
    let out = d.cli(&[
        "run",
        "-d",
        "--name",
        "lim",
        "--memory",
        "64m",
        "--memory-swap",
        "128m",
        "--cpus",
        "0.5",
        "--cpu-shares",
        "512",
        "--pids-limit",
        "40",
        "--cpuset-cpus",
        "0",
        "busybox",
        "sleep",
        "300",
    ]);
    out.assert_ok();
    let id = out.stdout.trim().to_string();
    let mut c = Checks::default();
    let read = |ctrl: &str, file: &str| {
        let v1 = format!("/sys/fs/cgroup/{ctrl}/rdocker/{id}/{file}");
        std::fs::read_to_string(v1)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    if std::path::Path::new("/sys/fs/cgroup/memory").is_dir() {
        c.check(
            read("memory", "memory.limit_in_bytes") == "67108864",
            "memory limit",
        );
        c.check(
            read("cpu", "cpu.cfs_quota_us") == "50000"
                && read("cpu", "cpu.cfs_period_us") == "100000",
            "--cpus 0.5 → quota 50000/100000",
        );
        c.check(read("cpu", "cpu.shares") == "512", "cpu shares");
        c.check(read("pids", "pids.max") == "40", "pids.max");
        c.check(read("cpuset", "cpuset.cpus") == "0", "cpuset");
        let pid = d.container_pid("lim").unwrap_or(0);
        let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        c.check(
            cg.lines()
                .filter(|l| l.contains(":memory:") || l.contains(":pids:"))
                .all(|l| l.ends_with(&format!("rdocker/{id}"))),
            format!("the init is in its cgroups: {cg}"),
        );
    }
    // Inside: its own limit through the cgroup mount.
    let out = d.cli(&[
        "exec",
        "lim",
        "sh",
        "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
    ]);
    c.check(
        out.stdout.trim() == "67108864",
        format!("seen inside: {out}"),
    );
    d.cli(&["rm", "-f", "lim"]).assert_ok();
    c.check(cgroup_dirs_of(&id).is_empty(), "rm -f removes the cgroups");
    c.finish();
}
