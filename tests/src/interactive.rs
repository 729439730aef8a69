//! The line every user tries first, typed into a real terminal:
//! `run -it -v <dir>/t1:/mnt busybox sh`, then `echo $$`, `hostname`, `ps`,
//! `echo hi > /mnt/f`, `exit 3`. Shared by the rdocker CLI and stock docker CLI tests.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::pty::{PtySession, BUSYBOX_PROMPT};
use crate::TestDaemon;

const STEP: Duration = Duration::from_secs(30);

/// Runs the session with `cmd` (which must be `… run -it -v <t1>:/mnt busybox sh`) and
/// asserts everything a user would check. Panics with the terminal's content on failure.
pub fn used_by_session(d: &TestDaemon, mut cmd: Command, t1: &Path) {
    assert!(!t1.exists(), "{} must not exist beforehand", t1.display());
    let mut s = PtySession::spawn(&mut cmd).expect("spawn under a PTY");
    // A cold start may include the image pull.
    s.expect(BUSYBOX_PROMPT, Duration::from_secs(90))
        .unwrap_or_else(|e| panic!("no shell prompt: {e:#}\ndaemon log:\n{}", d.log()));

    let pid = s.shell("echo $$", BUSYBOX_PROMPT, STEP).unwrap();
    assert_eq!(pid.trim(), "1", "echo $$ in the container: {}", s.screen());

    let (code, body) = d.api("GET", "/containers/json");
    assert_eq!(code, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).expect("containers JSON");
    let id = list[0]["Id"].as_str().unwrap_or_else(|| panic!("{body}"));
    let host = s.shell("hostname", BUSYBOX_PROMPT, STEP).unwrap();
    assert_eq!(
        host.trim(),
        &id[..12],
        "hostname is the short id: {}",
        s.screen()
    );
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    assert_ne!(host.trim(), host_name.trim(), "not the host's hostname");

    let ps = s.shell("ps", BUSYBOX_PROMPT, STEP).unwrap();
    let rows: Vec<&str> = ps
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("PID"))
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(rows.len(), 2, "ps lists only sh and ps: {ps:?}");
    let pid1 = rows
        .iter()
        .find(|r| r.split_whitespace().next() == Some("1"))
        .unwrap_or_else(|| panic!("no PID 1 in {ps:?}"));
    assert!(pid1.trim_end().ends_with("sh"), "PID 1 is sh: {ps:?}");
    assert!(
        rows.iter().any(|r| r.contains("ps")),
        "ps sees itself: {ps:?}"
    );

    s.shell("echo hi > /mnt/f", BUSYBOX_PROMPT, STEP).unwrap();
    assert_eq!(
        std::fs::read_to_string(t1.join("f")).ok().as_deref(),
        Some("hi\n"),
        "the file written in /mnt is on the host in {}",
        t1.display()
    );

    s.type_str("exit 3\r").unwrap();
    let code = s.wait(STEP).unwrap();
    assert_eq!(
        code,
        Some(3),
        "the CLI exits with the container's status: {}",
        s.screen()
    );
}

/// `run -it --name <name> busybox sh` (as `cmd`): the terminal's size reaches the container
/// and follows a resize; ctrl-p ctrl-q detaches (the CLI exits 0, the container runs on);
/// `attach` (as `attach`) reconnects, and the shell's exit status is the attach's.
pub fn tty_resize_detach_attach(d: &TestDaemon, mut cmd: Command, mut attach: Command, name: &str) {
    let mut s = PtySession::spawn(&mut cmd).expect("spawn under a PTY");
    s.expect(BUSYBOX_PROMPT, Duration::from_secs(90))
        .unwrap_or_else(|e| panic!("no shell prompt: {e:#}\ndaemon log:\n{}", d.log()));
    let size = s.shell("stty size", BUSYBOX_PROMPT, STEP).unwrap();
    assert_eq!(
        size.trim(),
        "24 80",
        "the container's terminal has the client's size"
    );

    s.resize(40, 120).unwrap();
    // The resize travels CLI → daemon → shim asynchronously.
    let mut size = String::new();
    for _ in 0..50 {
        size = s.shell("stty size", BUSYBOX_PROMPT, STEP).unwrap();
        if size.trim() == "40 120" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        size.trim(),
        "40 120",
        "a resize is forwarded: {}",
        s.screen()
    );

    s.type_str("\x10\x11").unwrap();
    let code = s.wait(STEP).unwrap();
    assert_eq!(code, Some(0), "ctrl-p ctrl-q detaches: {}", s.screen());
    let v = d.inspect(name).expect("inspect");
    assert_eq!(
        v["State"]["Running"], true,
        "still running after detach: {v}"
    );

    let mut a = PtySession::spawn(&mut attach).expect("attach under a PTY");
    // Nothing is printed on attach; the shell answers what is typed.
    std::thread::sleep(Duration::from_millis(500));
    a.type_str("echo back-$((40+2))\r").unwrap();
    a.expect("back-42", STEP).unwrap();
    a.type_str("exit 5\r").unwrap();
    assert_eq!(a.wait(STEP).unwrap(), Some(5), "{}", a.screen());
    let v = d.inspect(name).expect("inspect");
    assert_eq!(v["State"]["ExitCode"], 5, "{v}");
}
