//! Crashes around running containers: `kill -9` of rdockerd (containers keep running and are
//! re-adopted on restart: listed, logs continue, exec/attach/stop work; one that exited while
//! the daemon was down gets its recorded status), and `kill -9` of a shim (the container is
//! recorded as exited and nothing is left running). Networking: a running container keeps
//! its address, published port and DNS across a `kill -9` of rdockerd; one that died while the
//! daemon was down loses its veth, netns file, lease and port mapping on restart.

use std::io::Read;
use std::time::Duration;

use rdocker_tests::e2e::registry_and_daemon;
use rdocker_tests::procs::{self, pid_alive};
use rdocker_tests::util::wait_for;
use rdocker_tests::{require_root, RegistryAuth};

const TICKER: &str = "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done";

fn ticks(s: &str) -> usize {
    s.lines().filter(|l| l.starts_with("tick ")).count()
}

#[test]
fn containers_survive_daemon_kill9_and_are_readopted() {
    require_root!();
    let (_reg, mut d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    d.cli(&["pull", "busybox"]).assert_ok();
    d.cli(&["run", "-d", "--name", "tick", "busybox", "sh", "-c", TICKER])
        .assert_ok();
    d.cli(&[
        "run",
        "-d",
        "--name",
        "seven",
        "busybox",
        "sh",
        "-c",
        "sleep 2; exit 7",
    ])
    .assert_ok();
    let pid = d.container_pid("tick").expect("tick runs");
    let seven_pid = d.container_pid("seven").expect("seven runs");
    std::thread::sleep(Duration::from_millis(600));
    let before = ticks(&d.cli(&["logs", "tick"]).stdout);
    assert!(before >= 1, "the ticker logs");

    d.kill9();
    // While the daemon is gone the container runs on; "seven" exits meanwhile.
    std::thread::sleep(Duration::from_secs(3));
    assert!(pid_alive(pid), "container survived rdockerd's kill -9");
    assert!(
        !pid_alive(seven_pid),
        "seven exited while the daemon was down"
    );

    d.restart().expect("rdockerd restarts");
    let ps = d.cli(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    ps.assert_ok();
    assert!(
        ps.stdout.lines().any(|l| l.starts_with("tick Up")),
        "re-adopted and listed Up: {ps}"
    );
    assert_eq!(d.container_pid("tick"), Some(pid), "the same process");
    let v = d.inspect("seven").expect("seven is still known");
    assert_eq!(v["State"]["Status"], "exited", "{v}");
    assert_eq!(v["State"]["ExitCode"], 7, "the recorded code: {v}");

    // Logs continue: ticks written while the daemon was down (≈3 s, ≈15 ticks) and after it
    // came back, none lost.
    std::thread::sleep(Duration::from_millis(600));
    let logs = d.cli(&["logs", "tick"]).stdout;
    let after = ticks(&logs);
    assert!(
        after >= before + 8,
        "logging continued across the crash: {before} then {after}"
    );
    let numbers: Vec<usize> = logs
        .lines()
        .filter_map(|l| l.strip_prefix("tick ")?.parse().ok())
        .collect();
    assert_eq!(
        numbers,
        (0..numbers.len()).collect::<Vec<_>>(),
        "every tick logged once, in order"
    );

    let ex = d.cli(&["exec", "tick", "echo", "exec-ok"]);
    ex.assert_ok();
    assert_eq!(ex.stdout, "exec-ok\n", "{ex}");

    // attach streams the live output.
    let mut att = d.cli_spawn(&["attach", "tick"]).expect("attach spawns");
    std::thread::sleep(Duration::from_millis(1500));
    let _ = att.kill();
    let _ = att.wait();
    let mut seen = String::new();
    let _ = att.stdout.take().expect("piped").read_to_string(&mut seen);
    assert!(
        ticks(&seen) >= 2,
        "attach after re-adoption streams: {seen:?}"
    );
    assert!(
        pid_alive(pid),
        "killing the attach client does not stop the container"
    );

    let st = d.cli(&["stop", "-t", "1", "tick"]);
    st.assert_ok();
    assert!(
        wait_for(Duration::from_secs(5), || (!pid_alive(pid)).then_some(())).is_some(),
        "stop ends it"
    );
    let v = d.inspect("tick").unwrap();
    assert_eq!(v["State"]["Status"], "exited", "{v}");
    assert_eq!(
        v["State"]["ExitCode"], 137,
        "sh as PID 1 ignores SIGTERM: {v}"
    );
    assert!(procs::shims_under(d.dir()).is_empty(), "no shim left");
}

#[test]
fn shim_kill9_records_exit_and_leaves_nothing() {
    require_root!();
    let (_reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    d.cli(&["pull", "busybox"]).assert_ok();
    let out = d.cli(&["run", "-d", "--name", "victim", "busybox", "sleep", "300"]);
    out.assert_ok();
    let id = out.stdout.trim().to_string();
    let pid = d.container_pid("victim").expect("victim runs");
    let shim = procs::ppid(pid).expect("container has a parent");
    assert_eq!(
        procs::comm(shim).as_deref(),
        Some("rdocker-shim"),
        "the shim is the container's parent"
    );
    assert!(procs::kill9(shim));

    let exited = wait_for(Duration::from_secs(10), || {
        let v = d.inspect("victim")?;
        (v["State"]["Status"] == "exited").then_some(v)
    });
    let v = exited.unwrap_or_else(|| {
        panic!(
            "not recorded as exited: {:?}\ndaemon log:\n{}",
            d.inspect("victim"),
            d.log()
        )
    });
    assert_eq!(v["State"]["Running"], false, "{v}");
    assert!(
        wait_for(Duration::from_secs(5), || (!pid_alive(pid)).then_some(())).is_some(),
        "the container died with its shim"
    );
    assert!(procs::shims_under(d.dir()).is_empty(), "no shim left");
    let ps = d.cli(&["ps", "-q"]);
    assert_eq!(ps.stdout.trim(), "", "{ps}");

    // The container can be removed and its run dir is gone.
    d.cli(&["rm", "victim"]).assert_ok();
    assert!(!d.exec_root().join("containers").join(&id[..12]).exists());
    assert!(!d.data_root().join("containers").join(&id).exists());
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(&id[..12]),
        "no mount of the container on the host"
    );
    // And a new one runs fine afterwards.
    let out = d.cli(&["run", "--rm", "busybox", "echo", "again"]);
    assert_eq!(out.stdout, "again\n", "{out}");
}

fn http_body(port: u16) -> Option<String> {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out.split_once("\r\n\r\n")?.1.to_string())
}

fn wait_body(port: u16, want: &str) -> bool {
    wait_for(Duration::from_secs(10), || {
        http_body(port).filter(|b| b.contains(want)).map(|_| ())
    })
    .is_some()
}

#[test]
fn network_survives_daemon_kill9_and_dead_containers_are_swept() {
    use rdocker_tests::netcensus::{self, NetCensus};
    require_root!();
    let (_reg, mut d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    d.cli(&["pull", "busybox"]).assert_ok();
    let baseline = NetCensus::take(&d);
    d.cli(&["network", "create", "keep"]).assert_ok();
    let (p, p2) = (
        rdocker_tests::util::free_port().unwrap(),
        rdocker_tests::util::free_port().unwrap(),
    );
    let httpd = "mkdir -p /www && echo alive > /www/index.html && exec httpd -f -p 80 -h /www";
    let pub1 = format!("{p}:80");
    d.cli(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "keep",
        "-p",
        &pub1,
        "busybox",
        "sh",
        "-c",
        httpd,
    ])
    .assert_ok();
    d.cli(&[
        "run",
        "-d",
        "--name",
        "cl",
        "--network",
        "keep",
        "busybox",
        "sleep",
        "300",
    ])
    .assert_ok();
    let pub2 = format!("{p2}:80");
    let short = d.cli(&[
        "run", "-d", "--name", "short", "-p", &pub2, "busybox", "sh", "-c", "sleep 2",
    ]);
    short.assert_ok();
    let short_id = short.stdout.trim().to_string();
    assert!(
        wait_body(p, "alive"),
        "web serves before the crash\n{}",
        d.log()
    );
    let web_ip =
        d.inspect("web").unwrap()["NetworkSettings"]["Networks"]["keep"]["IPAddress"].clone();
    assert_eq!(
        netcensus::veths_owned_by(&short_id).len(),
        1,
        "short is wired"
    );

    d.kill9();
    std::thread::sleep(Duration::from_secs(3));
    // The kernel keeps forwarding while the daemon is gone.
    assert!(
        wait_body(p, "alive"),
        "published port works with rdockerd dead"
    );

    d.restart().expect("rdockerd restarts");
    assert!(
        wait_body(p, "alive"),
        "published port after restart\n{}",
        d.log()
    );
    let v = d.inspect("web").unwrap();
    assert_eq!(
        v["NetworkSettings"]["Networks"]["keep"]["IPAddress"], web_ip,
        "same address"
    );
    let out = d.cli(&["exec", "cl", "timeout", "5", "wget", "-qO-", "http://web/"]);
    assert_eq!(
        out.stdout,
        "alive\n",
        "the embedded DNS serves again: {out}\n{}",
        d.log()
    );

    // The one that died meanwhile is unwired.
    let v = d.inspect("short").unwrap();
    assert_eq!(v["State"]["Status"], "exited", "{}", v["State"]);
    let swept = wait_for(Duration::from_secs(5), || {
        netcensus::veths_owned_by(&short_id)
            .is_empty()
            .then_some(())
    });
    assert!(
        swept.is_some(),
        "veth of short remains: {:?}",
        netcensus::veths_owned_by(&short_id)
    );
    let now = NetCensus::take(&d);
    assert!(
        !now.netns
            .iter()
            .any(|f| short_id.starts_with(f.as_str()) || f.starts_with(&short_id[..12])),
        "netns file of short: {:?}",
        now.netns
    );
    assert!(
        !now.leases.iter().any(|l| l.contains(&short_id[..12])),
        "lease of short: {:?}",
        now.leases
    );
    assert!(
        !now.nft.iter().any(|e| e.contains(&p2.to_string())),
        "port {p2} of short still mapped: {:?}",
        now.nft
    );
    // Its host port is free for another container.
    d.cli(&[
        "run", "-d", "--name", "reuse", "-p", &pub2, "busybox", "sh", "-c", httpd,
    ])
    .assert_ok();
    assert!(wait_body(p2, "alive"), "port {p2} reused\n{}", d.log());

    d.cli(&["rm", "-f", "web", "cl", "short", "reuse"])
        .assert_ok();
    d.cli(&["network", "rm", "keep"]).assert_ok();
    let settled = wait_for(Duration::from_secs(5), || {
        baseline
            .leaks(&NetCensus::take(&d))
            .is_empty()
            .then_some(())
    });
    assert!(
        settled.is_some(),
        "left: {:?}",
        baseline.leaks(&NetCensus::take(&d))
    );
}
