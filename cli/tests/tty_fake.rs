//! `rdocker run -it` on a real pseudo-terminal against the fake daemon: raw mode, the
//! window size sent after start, and the detach keys (exit 0 without waiting).

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Act, Fake, Req, Shared};

const ID: &str = "7f1c2b3a5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708";

fn routes(r: &Req, _sh: &Shared) -> Act {
    let p = r.path.as_str();
    match r.method.as_str() {
        "POST" if p.starts_with("/v1.44/containers/create") => {
            Act::Json(201, format!(r#"{{"Id":"{ID}","Warnings":[]}}"#))
        }
        "POST" if p.contains("/attach?") => Act::Hijack {
            out: b"raw tty bytes\r\n".to_vec(),
            echo: true,
        },
        "POST" if p.contains("/wait?") => Act::Wait(r#"{"StatusCode":3}"#.into()),
        "POST" if p.ends_with("/start") => Act::Json(204, String::new()),
        "POST" if p.contains("/resize?") => Act::Json(200, String::new()),
        _ => Act::Json(404, r#"{"message":"page not found"}"#.into()),
    }
}

/// A pty pair sized 33x101; the master is ours, the slave becomes rdocker's stdio.
fn openpty() -> (File, OwnedFd) {
    let (mut m, mut s) = (0, 0);
    let ws = libc::winsize {
        ws_row: 33,
        ws_col: 101,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two fds into our variables; the other pointers may be null.
    let rc = unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), &ws) };
    assert_eq!(rc, 0, "openpty");
    // SAFETY: openpty just returned these descriptors; nothing else owns them.
    unsafe { (File::from_raw_fd(m), OwnedFd::from_raw_fd(s)) }
}

fn is_raw(master: &File) -> bool {
    // SAFETY: termios is plain data; tcgetattr fills it.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: reading the terminal settings through the master.
    unsafe { libc::tcgetattr(master.as_raw_fd(), &mut t) };
    t.c_lflag & libc::ICANON == 0
}

#[test]
fn run_it_raw_mode_resize_and_detach() {
    let f = Fake::start(routes);
    let (mut master, slave) = openpty();
    assert!(!is_raw(&master));
    let mut child = Command::new(env!("CARGO_BIN_EXE_rdocker"))
        .args([
            "-H",
            f.sock.to_str().unwrap(),
            "run",
            "-it",
            "busybox",
            "sh",
        ])
        .env("RDOCKER_CONFIG", f.dir.path().join("cfg"))
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave))
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !is_raw(&master) {
        assert!(
            Instant::now() < deadline,
            "rdocker never put the terminal in raw mode"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Typed input, then ctrl-p ctrl-q: rdocker detaches and exits 0 at once, though
    // the container's wait would say 3.
    master.write_all(b"ab\x10\x11").unwrap();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "rdocker did not detach");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(0));
    // The terminal was put back.
    assert!(!is_raw(&master));
    // Nothing printed on detach but what the container sent (the fake only writes once
    // the client's stdin ended, which detaching does).
    let mut buf = [0u8; 4096];
    // SAFETY: setting O_NONBLOCK on our own master fd so the read cannot hang.
    unsafe { libc::fcntl(master.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
    let n = master.read(&mut buf).unwrap_or(0);
    let printed = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(!printed.contains("3"), "{printed:?}");
    // The keys are passed on after the input, so that the daemon sees a detach.
    let deadline = Instant::now() + Duration::from_secs(10);
    while f.shared.got_stdin.lock().unwrap().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(f.shared.got_stdin.lock().unwrap().as_slice(), b"ab\x10\x11");
    let lines = f.lines();
    assert!(
        lines.contains(&format!("POST /v1.44/containers/{ID}/resize?h=33&w=101")),
        "{lines:?}"
    );
    let body = f.req("POST /v1.44/containers/create").body;
    assert!(
        body.contains("\"Tty\":true") && body.contains("\"OpenStdin\":true"),
        "{body}"
    );
}
