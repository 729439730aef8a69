//! Terminals, exec into a running container, the minimal init, and the shim's death taking the
//! container with it — real kernel, real rdocker-shim binary, as root.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

#[test]
fn terminal_is_dev_pts_0_with_size_and_resize() {
    let o = Opts {
        terminal: true,
        console: Some((30, 100)),
        ..Default::default()
    }
    .annotate("io.rdocker.stdin", "true");
    let b = bundle(
        &["sh", "-c", "tty; stty size; read x; stty size; exit 4"],
        o,
    );
    let shim = create(&b).unwrap_or_else(|(v, _)| panic!("{v}"));
    let wait = shim.wait_conn();
    let mut a = shim.attach(json!({"stdin": true, "stdout": true, "stderr": true}));
    assert_eq!(shim.start(), json!({"ok": true}));
    let first = read_until(&mut a, "30 100\r\n");
    assert!(first.starts_with("/dev/pts/0\r\n"), "{first:?}");
    assert_eq!(
        shim.ctl(json!({"op": "resize", "height": 40, "width": 120})),
        json!({"ok": true})
    );
    a.write_all(b"go\n").unwrap();
    let rest = read_until(&mut a, "40 120\r\n");
    assert!(
        rest.contains("go\r\n"),
        "the terminal echoes input: {rest:?}"
    );
    assert_eq!(finish_wait(wait), 4);
    shim.reap();
    let log = std::fs::read_to_string(&b.log).unwrap();
    assert!(
        log.contains("\"log\":\"/dev/pts/0\\r\\n\",\"stream\":\"stdout\""),
        "{log}"
    );
}

#[test]
fn resize_without_terminal_is_an_error() {
    let b = bundle(&["sleep", "100"], Opts::default());
    let shim = create(&b).unwrap_or_else(|(v, _)| panic!("{v}"));
    assert!(shim.ctl(json!({"op": "resize", "height": 1, "width": 1}))["error"].is_string());
    let wait = shim.wait_conn();
    assert_eq!(
        shim.ctl(json!({"op": "kill", "signal": 9})),
        json!({"ok": true})
    );
    assert_eq!(finish_wait(wait), 137);
    assert!(
        shim.ctl_after_exit_is_gone(),
        "the ctl socket is removed once the shim is done"
    );
}

trait Gone {
    fn ctl_after_exit_is_gone(self) -> bool;
}

impl Gone for Shim {
    fn ctl_after_exit_is_gone(self) -> bool {
        let dir = self.run_dir.clone();
        self.reap();
        std::os::unix::net::UnixStream::connect(dir.join("ctl.sock")).is_err()
    }
}

#[test]
fn exec_joins_the_containers_namespaces() {
    let b = bundle(&["sleep", "100"], Opts::default());
    let shim = create(&b).unwrap_or_else(|(v, _)| panic!("{v}"));
    let wait = shim.wait_conn();
    assert_eq!(shim.start(), json!({"ok": true}));
    let process = json!({
        "args": ["sh", "-c", "hostname; ps -o pid,comm; echo $HOME; pwd; exit 5"],
        "env": ["PATH=/bin"],
        "cwd": "/tmp",
        "user": {"uid": 0, "gid": 0},
    });
    let ex = exec(&shim, &b, process, false).unwrap_or_else(|(v, _)| panic!("{v}"));
    let ewait = ex.wait_conn();
    let a = ex.attach(json!({"stdout": true, "stderr": true}));
    assert_eq!(ex.start(), json!({"ok": true}));
    let (out, err) = read_frames(a);
    assert_eq!(finish_wait(ewait), 5, "{out} {err}");
    let st = state(&ex.run_dir.join("state.json"));
    assert_eq!(st["exit_code"], 5);
    ex.reap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "ctr-test", "{out}");
    assert!(
        out.contains("    1 sleep") || out.contains(" 1 sleep"),
        "the container's init is pid 1 here: {out}"
    );
    assert!(lines.contains(&"/root") && lines.contains(&"/tmp"), "{out}");

    // An exec with stdin and a user name resolved in the container's /etc/passwd.
    let process = json!({
        "args": ["sh", "-c", "id -u; cat"],
        "env": ["PATH=/bin"],
        "cwd": "/",
        "user": {"uid": 0, "gid": 0, "username": "nobody"},
    });
    let ex = exec(&shim, &b, process, true).unwrap_or_else(|(v, _)| panic!("{v}"));
    let ewait = ex.wait_conn();
    let mut a = ex.attach(json!({"stdin": true, "stdout": true, "stdin_once": true}));
    assert_eq!(ex.start(), json!({"ok": true}));
    a.write_all(b"via exec\n").unwrap();
    a.shutdown(std::net::Shutdown::Write).unwrap();
    let (out, _) = read_frames(a);
    assert_eq!(out, "65534\nvia exec\n");
    assert_eq!(finish_wait(ewait), 0);
    ex.reap();

    // Not found inside the container.
    let process =
        json!({"args": ["nosuch"], "env": ["PATH=/bin"], "cwd": "/", "user": {"uid": 0, "gid": 0}});
    let (v, _) = exec(&shim, &b, process, false).err().expect("must fail");
    assert_eq!(v["exit_code"], 127);

    assert_eq!(
        shim.ctl(json!({"op": "kill", "signal": 9})),
        json!({"ok": true})
    );
    assert_eq!(finish_wait(wait), 137);
    shim.reap();
}

#[test]
fn exec_with_a_terminal() {
    let b = bundle(&["sleep", "100"], Opts::default());
    let shim = create(&b).unwrap_or_else(|(v, _)| panic!("{v}"));
    let wait = shim.wait_conn();
    assert_eq!(shim.start(), json!({"ok": true}));
    let process = json!({
        "terminal": true,
        "consoleSize": {"height": 11, "width": 22},
        "args": ["sh", "-c", "tty; stty size"],
        "env": ["PATH=/bin"], "cwd": "/", "user": {"uid": 0, "gid": 0},
    });
    let ex = exec(&shim, &b, process, false).unwrap_or_else(|(v, _)| panic!("{v}"));
    let ewait = ex.wait_conn();
    let a = ex.attach(json!({"stdout": true}));
    assert_eq!(ex.start(), json!({"ok": true}));
    let (out, _) = read_frames(a);
    assert_eq!(out, "/dev/pts/0\r\n11 22\r\n");
    assert_eq!(finish_wait(ewait), 0);
    ex.reap();
    assert_eq!(
        shim.ctl(json!({"op": "kill", "signal": 9})),
        json!({"ok": true})
    );
    assert_eq!(finish_wait(wait), 137);
    shim.reap();
}

fn init_opts() -> Opts {
    Opts::default().annotate("io.rdocker.init", "true")
}

#[test]
fn init_reaps_orphans_and_hides_the_hosts_paths() {
    // The inner sh leaves an orphaned sleep behind; it is reparented to PID 1 and must be reaped.
    let (code, out, err, _b) = run(
        &[
            "sh",
            "-c",
            "sh -c 'sleep 0.1 &'; sleep 0.6; cat /proc/[0-9]*/stat; echo; tr '\\0' ' ' < /proc/1/cmdline; echo; exit 6",
        ],
        init_opts(),
    );
    assert_eq!(code, 6, "{err}");
    assert!(
        out.lines().any(|l| l.starts_with("1 (rdocker-init) ")),
        "{out}"
    );
    // PID 1's command line is not the shim's (which names host paths: bundle, run dir).
    let cmdline = out.lines().last().unwrap_or_default();
    assert_eq!(
        cmdline.trim_end(),
        "rdocker-init -- sh -c sh -c 'sleep 0.1 &'; sleep 0.6; cat /proc/[0-9]*/stat; echo; tr '\\0' ' ' < /proc/1/cmdline; echo; exit 6"
    );
    assert!(!out.contains("--bundle"), "{out}");
    assert!(!out.contains(") Z "), "a zombie was left: {out}");
}

#[test]
fn init_forwards_sigterm_and_reports_signal_deaths() {
    let b = bundle(
        &[
            "sh",
            "-c",
            "trap 'echo got TERM; exit 7' TERM; echo ready; while true; do sleep 0.05; done",
        ],
        init_opts(),
    );
    let shim = create(&b).unwrap_or_else(|(v, _)| panic!("{v}"));
    let wait = shim.wait_conn();
    let mut a = shim.attach(json!({"stdout": true, "stderr": true}));
    assert_eq!(shim.start(), json!({"ok": true}));
    read_until(&mut a, "ready\n");
    assert_eq!(
        shim.ctl(json!({"op": "kill", "signal": 15})),
        json!({"ok": true})
    );
    let (out, _) = read_frames(a);
    assert!(out.contains("got TERM"), "{out}");
    assert_eq!(finish_wait(wait), 7);
    shim.reap();

    let (code, _, _, _b) = run(&["sh", "-c", "kill -TERM $$; sleep 5"], init_opts());
    assert_eq!(code, 143);
}

#[test]
fn killing_the_shim_kills_the_container() {
    let b = bundle(
        &["sh", "-c", "sleep 100 & sleep 100 & sleep 100"],
        Opts::default(),
    );
    let mut shim = create(&b).unwrap_or_else(|(v, _)| panic!("{v}"));
    assert_eq!(shim.start(), json!({"ok": true}));
    let ns = std::fs::read_link(format!("/proc/{}/ns/pid", shim.pid)).unwrap();
    let members = || -> Vec<i32> {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| alive(*pid))
            .filter(|pid| {
                std::fs::read_link(format!("/proc/{pid}/ns/pid"))
                    .ok()
                    .as_ref()
                    == Some(&ns)
            })
            .collect()
    };
    let t0 = Instant::now();
    while members().len() < 3 && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(members().len() >= 3, "container processes: {:?}", members());
    shim.child.kill().unwrap();
    shim.child.wait().unwrap();
    let t0 = Instant::now();
    while !members().is_empty() && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        members(),
        Vec::<i32>::new(),
        "container processes outlived the shim"
    );
}

#[test]
fn killing_the_shim_before_start_kills_the_created_init() {
    let b = bundle(&["sleep", "100"], Opts::default());
    let mut shim = create(&b).unwrap_or_else(|(v, _)| panic!("{v}"));
    let pid = shim.pid;
    assert!(alive(pid));
    shim.child.kill().unwrap();
    shim.child.wait().unwrap();
    let t0 = Instant::now();
    while alive(pid) && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!alive(pid), "the created init outlived the shim");
}

#[test]
fn init_with_a_terminal_gives_the_process_the_foreground() {
    // ^C on the terminal reaches the process (the foreground group) once; init reports 128+2.
    let o = Opts {
        terminal: true,
        ..Default::default()
    }
    .annotate("io.rdocker.init", "true")
    .annotate("io.rdocker.stdin", "true");
    let b = bundle(&["sh", "-c", "tty; exec sleep 100"], o);
    let shim = create(&b).unwrap_or_else(|(v, _)| panic!("{v}"));
    let wait = shim.wait_conn();
    let mut a = shim.attach(json!({"stdin": true, "stdout": true}));
    assert_eq!(shim.start(), json!({"ok": true}));
    read_until(&mut a, "/dev/pts/0\r\n");
    std::thread::sleep(Duration::from_millis(100));
    a.write_all(b"\x03").unwrap();
    assert_eq!(finish_wait(wait), 130);
    shim.reap();
}
