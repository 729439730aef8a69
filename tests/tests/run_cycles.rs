//! 200 `rdocker run --rm busybox true` cycles (RDOCKER_CYCLES overrides the count) leave
//! nothing behind: mounts, shims, container processes, rdockerd fds, state and run
//! directories, volumes, cgroups, containers, and the network's veths, netns files, nftables
//! elements and IP leases (every 4th cycle publishes a port, every 4th runs on a user
//! network). Alone in its test binary so that nothing else in this process starts
//! containers meanwhile.

use std::time::{Duration, Instant};

use rdocker_tests::census::Census;
use rdocker_tests::e2e::registry_and_daemon;
use rdocker_tests::util::wait_for;
use rdocker_tests::{require_root, RegistryAuth};

#[test]
fn run_rm_cycles_leave_nothing_behind() {
    require_root!();
    let (_reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    d.cli(&["pull", "busybox"]).assert_ok();
    let tag = format!(
        "RDOCKER_CYCLE={}",
        d.dir().file_name().unwrap().to_string_lossy()
    );
    d.cli(&["network", "create", "cycles"]).assert_ok();
    let run = |i: usize| {
        let mut args = vec!["run", "--rm", "-e", &tag];
        match i % 4 {
            1 => args.extend(["-p", "127.0.0.1::80"]),
            2 => args.extend(["--network", "cycles"]),
            _ => {}
        }
        args.extend(["busybox", "true"]);
        let out = d.cli(&args);
        assert!(
            out.success() && out.stdout.is_empty(),
            "cycle {i}: {out}\ndaemon log:\n{}",
            d.log()
        );
    };
    // Whatever the daemon opens once and keeps (thread pools, caches) is opened by now.
    for i in 0..3 {
        run(i);
    }
    let before = Census::take(&d, &tag);
    // The census sees a container that is left running: shim, process, state and run dirs.
    let out = d.cli(&[
        "run",
        "-d",
        "-e",
        &tag,
        "-p",
        "127.0.0.1::80",
        "busybox",
        "sleep",
        "60",
    ]);
    out.assert_ok();
    let live = Census::take(&d, &tag);
    let seen = before.leaks(&live, 3);
    for what in [
        "shim process",
        "container process",
        "container dir",
        "run dir",
        "veth",
        "netns file",
        "nft element",
        "ip lease",
    ] {
        assert!(
            seen.iter().any(|l| l.starts_with(what)),
            "census misses the {what} of a running container: {seen:?}\n{live:#?}"
        );
    }
    eprintln!("a running container, as the census sees it: {seen:?}");
    d.cli(&["rm", "-f", out.stdout.trim()]).assert_ok();
    let n: usize = std::env::var("RDOCKER_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let start = Instant::now();
    for i in 0..n {
        run(i);
    }
    let took = start.elapsed();
    eprintln!(
        "{n} run --rm cycles in {took:.1?} ({:.1?} each)",
        took / n.max(1) as u32
    );
    // Clean-up may lag a moment behind the CLI's exit.
    let settled = wait_for(Duration::from_secs(10), || {
        let now = Census::take(&d, &tag);
        before.leaks(&now, 3).is_empty().then_some(now)
    });
    if settled.is_none() {
        let now = Census::take(&d, &tag);
        panic!(
            "after {n} cycles:\n{}\nbefore: {before:#?}\nafter: {now:#?}",
            before.leaks(&now, 3).join("\n")
        );
    }
    let ps = d.cli(&["ps", "-a", "-q"]);
    assert_eq!(ps.stdout.trim(), "", "{ps}");
    let vols = d.cli(&["volume", "ls", "-q"]);
    assert_eq!(vols.stdout.trim(), "", "{vols}");
    assert!(d.ping(), "daemon still answers");
}
