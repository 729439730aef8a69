//! The container shim end to end on the real kernel (root): namespaces, exit codes, errors, logs,
//! state.json. Each test drives the real rdocker-shim binary through PROTOCOL.md.

mod common;

use common::*;
use serde_json::json;

#[test]
fn pid_1_hostname_and_only_own_processes() {
    let (code, out, err, _b) = run(
        &["sh", "-c", "echo $$; hostname; ps -o pid,comm"],
        Opts::default(),
    );
    assert_eq!(code, 0, "stderr: {err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1", "output: {out}");
    assert_eq!(lines[1], "ctr-test");
    let procs: Vec<&str> = lines[3..].to_vec();
    assert!(procs.len() <= 2, "ps sees more than the container: {out}");
    for p in procs {
        let pid: i32 = p.split_whitespace().next().unwrap().parse().unwrap();
        assert!(pid <= 3, "a pid from outside the namespace: {out}");
    }
}

#[test]
fn exit_status_is_passed_through() {
    let (code, _, _, b) = run(&["sh", "-c", "exit 3"], Opts::default());
    assert_eq!(code, 3);
    let st = state(&b.bundle.join("state.json"));
    assert_eq!(st["status"], "exited");
    assert_eq!(st["exit_code"], 3);
    assert!(st["started_at"].as_str().unwrap().ends_with('Z'));
    assert!(st["finished_at"].as_str().unwrap().ends_with('Z'));
    assert!(st["shim_pid"].as_i64().unwrap() > 0);
}

#[test]
fn kill_9_gives_137_and_state_reports_running_then_exited() {
    let b = bundle(&["sleep", "100"], Opts::default());
    let shim = create(&b).unwrap_or_else(|(v, _)| panic!("{v}"));
    assert_eq!(shim.ctl(json!({"op": "state"}))["status"], "created");
    assert_eq!(state(&b.bundle.join("state.json"))["status"], "created");
    let wait = shim.wait_conn();
    assert_eq!(shim.start(), json!({"ok": true}));
    let st = shim.ctl(json!({"op": "state"}));
    assert_eq!(st["status"], "running");
    assert_eq!(st["pid"], shim.pid);
    assert_eq!(state(&b.bundle.join("state.json"))["status"], "running");
    assert_eq!(
        shim.ctl(json!({"op": "kill", "signal": 9})),
        json!({"ok": true})
    );
    assert_eq!(finish_wait(wait), 137);
    shim.reap();
}

#[test]
fn not_found_is_127_with_dockers_message_and_nothing_left() {
    let b = bundle(&["nosuch"], Opts::default());
    let (v, mut child) = create(&b).err().expect("create must fail");
    assert_eq!(
        v,
        json!({"error": "exec: \"nosuch\": executable file not found in $PATH", "exit_code": 127})
    );
    assert!(!child.wait().unwrap().success());
    assert!(!b.run_dir.join("ctl.sock").exists());
    assert!(!b.run_dir.join("attach.sock").exists());
}

#[test]
fn directory_as_command_is_126() {
    let b = bundle(&["/etc"], Opts::default());
    let (v, mut child) = create(&b).err().expect("create must fail");
    assert_eq!(
        v,
        json!({"error": "exec: \"/etc\": is a directory", "exit_code": 126})
    );
    assert!(!child.wait().unwrap().success());
}

#[test]
fn unknown_user_fails_before_the_pid_line() {
    let o = Opts::default().annotate("io.rdocker.user", "xyz");
    let b = bundle(&["id"], o);
    let (v, mut child) = create(&b).err().expect("create must fail");
    assert_eq!(
        v,
        json!({"error": "unable to find user xyz: no matching entries in passwd file", "exit_code": 125})
    );
    assert!(!child.wait().unwrap().success());
}

#[test]
fn user_groups_home_and_cwd_created() {
    let o = Opts {
        cwd: "/work/dir".into(),
        ..Default::default()
    }
    .annotate("io.rdocker.user", "alice")
    .annotate("io.rdocker.group-add", "[\"tty\"]");
    let (code, out, err, b) = run(&["sh", "-c", "id; echo $HOME; pwd"], o);
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.is_empty(),
        "no output; log: {}",
        std::fs::read_to_string(&b.log).unwrap_or_default()
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("uid=1000(alice) gid=1000(alice) groups="),
        "{out}"
    );
    assert!(
        lines[0].contains("50(staff)") && lines[0].contains("5(tty)"),
        "{out}"
    );
    assert_eq!(lines[1], "/home/alice");
    assert_eq!(lines[2], "/work/dir");
}

#[test]
fn logs_are_json_file_lines() {
    let (code, out, err, b) = run(
        &["sh", "-c", "echo out; echo err >&2; printf partial"],
        Opts::default(),
    );
    assert_eq!(code, 0);
    assert_eq!(out, "out\npartial");
    assert_eq!(err, "err\n");
    let text = std::fs::read_to_string(&b.log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let find = |log: &str| {
        lines
            .iter()
            .find(|l| l["log"] == log)
            .unwrap_or_else(|| panic!("{log:?} not in {text}"))
    };
    assert_eq!(find("out\n")["stream"], "stdout");
    assert_eq!(find("err\n")["stream"], "stderr");
    assert_eq!(find("partial")["stream"], "stdout");
    assert!(find("out\n")["time"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn stdin_through_attach_with_stdin_once() {
    use std::io::Write;
    let o = Opts::default().annotate("io.rdocker.stdin", "true");
    let b = bundle(&["cat"], o);
    let shim = create(&b).unwrap_or_else(|(v, _)| panic!("{v}"));
    let wait = shim.wait_conn();
    let mut a =
        shim.attach(json!({"stdin": true, "stdout": true, "stderr": true, "stdin_once": true}));
    assert_eq!(shim.start(), json!({"ok": true}));
    a.write_all(b"hello\nworld\n").unwrap();
    a.shutdown(std::net::Shutdown::Write).unwrap();
    let (out, _) = read_frames(a);
    assert_eq!(out, "hello\nworld\n");
    assert_eq!(finish_wait(wait), 0);
    shim.reap();
}

#[test]
fn stdin_is_dev_null_without_the_annotation() {
    let (code, out, _, _b) = run(&["cat"], Opts::default());
    assert_eq!((code, out.as_str()), (0, ""));
}

#[test]
fn start_to_exit_timing_and_idle_rss() {
    let b = bundle(&["true"], Opts::default());
    let shim = create(&b).unwrap_or_else(|(v, _)| panic!("{v}"));
    // A ctl round trip: the shim is in its event loop (set-up done and trimmed).
    assert_eq!(shim.ctl(json!({"op": "state"}))["status"], "created");
    let rss = vm_rss_kib(shim.child.id() as i32);
    let rollup =
        std::fs::read_to_string(format!("/proc/{}/smaps_rollup", shim.child.id())).unwrap();
    let field = |name: &str| -> String {
        rollup
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_string())
            .unwrap_or_default()
    };
    let wait = shim.wait_conn();
    let t0 = std::time::Instant::now();
    assert_eq!(shim.start(), json!({"ok": true}));
    assert_eq!(finish_wait(wait), 0);
    let run_time = t0.elapsed();
    eprintln!(
        "FIGURES: spawn→pid line {:?}, start→exit (true) {:?}, idle shim VmRSS {rss} KiB \
         (Pss {} KiB, Private_Dirty {} KiB; a debug build)",
        shim.create_time,
        run_time,
        field("Pss:"),
        field("Private_Dirty:")
    );
    shim.reap();
}

#[test]
fn new_network_namespace_has_only_loopback_up() {
    let (code, out, err, _b) = run(
        &["sh", "-c", "ls /sys/class/net; cat /sys/class/net/lo/flags"],
        Opts::default(),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out, "lo\n0x9\n",
        "lo must be the only interface, and up (IFF_UP|IFF_LOOPBACK)"
    );
}

#[test]
fn execve_failure_is_reported_by_start() {
    let b = bundle(&["/bin/bad"], Opts::default());
    std::fs::hard_link(&cache().bad, b.bundle.join("rootfs/bin/bad")).unwrap();
    let shim = create(&b).unwrap_or_else(|(v, _)| panic!("{v}"));
    let wait = shim.wait_conn();
    assert_eq!(
        shim.start(),
        json!({"error": "exec: \"/bin/bad\": exec format error", "exit_code": 126})
    );
    assert_eq!(finish_wait(wait), 126);
    shim.reap();
    let st = state(&b.bundle.join("state.json"));
    assert_eq!(st["exit_code"], 126);
    assert_eq!(st["error"], "exec: \"/bin/bad\": exec format error");
}

#[test]
fn a_client_that_does_not_read_is_dropped_and_blocks_nothing() {
    // The stuck client first holds the output back (back-pressure), then is dropped after
    // STALL_LIMIT; meanwhile the shim keeps answering on ctl.sock.
    use std::io::Read;
    let b = bundle(
        &["sh", "-c", "head -c 4000000 /dev/zero; echo done"],
        Opts::default(),
    );
    let shim = create(&b).unwrap_or_else(|(v, _)| panic!("{v}"));
    let wait = shim.wait_conn();
    let mut stuck = shim.attach(json!({"stdout": true}));
    let reader = shim.attach(json!({"stdout": true}));
    assert_eq!(shim.start(), json!({"ok": true}));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(shim.ctl(json!({"op": "state"}))["status"], "running");
    let (out, _) = read_frames(reader);
    assert_eq!(out.len(), 4_000_005);
    assert!(out.ends_with("done\n"));
    assert_eq!(finish_wait(wait), 0);
    let mut got = Vec::new();
    stuck
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let _ = stuck.read_to_end(&mut got);
    assert!(
        got.len() < 3_000_000,
        "the slow client was not dropped: {} bytes",
        got.len()
    );
    shim.reap();
}

#[test]
fn capabilities_rlimits_and_no_new_privs() {
    // Docker's default 14 capabilities: 0xa80425fb.
    let caps = json!([
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE"
    ]);
    let o = Opts {
        process_extra: json!({
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1234, "soft": 1000}],
            "noNewPrivileges": true,
        }),
        ..Default::default()
    };
    let (code, out, err, _b) = run(
        &["sh", "-c", "grep -E '^(CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs)' /proc/self/status; ulimit -n; ulimit -Hn"],
        o,
    );
    assert_eq!(code, 0, "{err}");
    let expect =
        "CapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\n\
                  CapAmb:\t0000000000000000\nNoNewPrivs:\t1\n1000\n1234\n";
    assert_eq!(out, expect);
}

#[test]
fn missing_namespaces_mean_the_hosts() {
    let host_net: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let o = Opts {
        namespaces: vec!["mount", "uts"],
        ..Default::default()
    };
    let (code, out, err, _b) = run(&["sh", "-c", "echo $$; ls /sys/class/net"], o);
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    let pid: i32 = lines.next().unwrap().parse().unwrap();
    assert!(pid > 1, "--pid host: the process has a host pid, got {pid}");
    let nets: Vec<&str> = lines.collect();
    assert_eq!(
        nets.len(),
        host_net.len(),
        "--network host sees the host's interfaces: {out}"
    );
}

#[test]
fn namespaces_given_by_path_are_joined() {
    let a = bundle(&["sleep", "100"], Opts::default());
    let shim_a = create(&a).unwrap_or_else(|(v, _)| panic!("{v}"));
    assert_eq!(shim_a.start(), json!({"ok": true}));
    let net_a = std::fs::read_link(format!("/proc/{}/ns/net", shim_a.pid)).unwrap();
    let o = Opts {
        namespaces: vec!["pid", "mount", "uts", "ipc"],
        join: vec![("network", format!("/proc/{}/ns/net", shim_a.pid))],
        ..Default::default()
    };
    let (code, out, err, _b) = run(&["sh", "-c", "ls -l /proc/self/ns/net"], o);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.trim_end().ends_with(&*net_a.to_string_lossy()),
        "{out} vs {net_a:?}"
    );
    let wait = shim_a.wait_conn();
    assert_eq!(
        shim_a.ctl(json!({"op": "kill", "signal": 9})),
        json!({"ok": true})
    );
    assert_eq!(finish_wait(wait), 137);
    shim_a.reap();
}
