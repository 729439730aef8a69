//! The `rdockerd` binary: start, refuse a second instance, SIGTERM → clean exit 0.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn spawn(dir: &Path, sock: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_rdockerd"))
        .arg("-H")
        .arg(format!("unix://{}", sock.display()))
        .arg("--data-root")
        .arg(dir.join("data"))
        .arg("--exec-root")
        .arg(dir.join("exec"))
        .arg("--config-file")
        .arg("/dev/null")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rdockerd")
}

fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "rdockerd did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("rd.sock");
    let pidfile = dir.path().join("exec/rdockerd.pid");
    let mut daemon = spawn(dir.path(), &sock);
    wait_for(&pidfile);
    wait_for(&sock);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let r = rt.block_on(common::request(&sock, "GET", "/_ping", ""));
    assert_eq!((r.status.as_u16(), r.text().as_str()), (200, "OK"));
    assert_eq!(
        std::fs::read_to_string(&pidfile).unwrap().trim(),
        daemon.id().to_string()
    );

    // A second daemon on the same socket must refuse to start, and leave the first alone.
    let mut second = spawn(dir.path(), &sock);
    let status = wait_exit(&mut second);
    assert!(!status.success());
    let mut err = String::new();
    std::io::Read::read_to_string(second.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(err.contains("another rdockerd is running on"), "{err}");
    assert!(sock.exists() && pidfile.exists());

    // Another socket but the same pidfile: refused too.
    let mut third = spawn(dir.path(), &dir.path().join("other.sock"));
    assert!(!wait_exit(&mut third).success());
    let mut err = String::new();
    std::io::Read::read_to_string(third.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(err.contains("pid file found"), "{err}");
    assert!(pidfile.exists());

    // SIGHUP (systemctl reload) must not kill it.
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(daemon.id() as i32, libc::SIGHUP) };
    std::thread::sleep(Duration::from_millis(200));
    let r = rt.block_on(common::request(&sock, "GET", "/_ping", ""));
    assert_eq!(r.status, 200, "daemon died on SIGHUP");

    // SIGTERM: exit 0, socket and pidfile gone.
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
    let status = wait_exit(&mut daemon);
    assert!(status.success(), "{status:?}");
    assert!(!sock.exists(), "socket left behind");
    assert!(!pidfile.exists(), "pidfile left behind");
}

#[test]
fn stale_socket_is_replaced_and_tcp_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("rd.sock");
    // A socket file nobody listens on, as a crashed daemon leaves it.
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    let mut daemon = spawn(dir.path(), &sock);
    let pidfile = dir.path().join("exec/rdockerd.pid");
    wait_for(&pidfile);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The daemon binds after writing the pidfile: retry briefly.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if std::os::unix::net::UnixStream::connect(&sock).is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "daemon never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = rt.block_on(common::request(&sock, "GET", "/version", ""));
    assert_eq!(r.status, 200);
    unsafe { libc::kill(daemon.id() as i32, libc::SIGINT) };
    assert!(wait_exit(&mut daemon).success());

    let out = Command::new(env!("CARGO_BIN_EXE_rdockerd"))
        .args(["-H", "tcp://127.0.0.1:2375", "--config-file", "/dev/null"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("only listens on unix sockets"), "{err}");
}
