//! Issue 3's used-by line with the rdocker CLI: interactively under a real PTY, and in the
//! non-interactive form the demo shows.

use rdocker_tests::e2e::registry_and_daemon;
use rdocker_tests::interactive::{tty_resize_detach_attach, used_by_session};
use rdocker_tests::{require_root, RegistryAuth};

fn tmpdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("used-by-")
        .tempdir_in("/tmp")
        .expect("temp dir")
}

#[test]
fn used_by_line_interactive() {
    require_root!();
    let (_reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    d.cli(&["pull", "busybox"]).assert_ok();
    let tmp = tmpdir();
    let t1 = tmp.path().join("t1");
    let vol = format!("{}:/mnt", t1.display());
    let cmd = d.cli_command(&["run", "-it", "-v", &vol, "busybox", "sh"]);
    used_by_session(&d, cmd, &t1);

    // Without --rm the container stays, exited with the shell's status.
    let ps = d.cli(&["ps", "-a"]);
    ps.assert_ok();
    assert!(ps.stdout.contains("Exited (3)"), "{ps}");
}

#[test]
fn tty_resize_detach_and_attach() {
    require_root!();
    let (_reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    d.cli(&["pull", "busybox"]).assert_ok();
    let run = d.cli_command(&["run", "-it", "--name", "tt", "busybox", "sh"]);
    let attach = d.cli_command(&["attach", "tt"]);
    tty_resize_detach_attach(&d, run, attach, "tt");
}

/// Interactive without `-t`: stdin is a pipe-like stream, the script comes from stdin.
#[test]
fn run_with_stdin_no_tty() {
    require_root!();
    let (_reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    d.cli(&["pull", "busybox"]).assert_ok();
    let mut cmd = d.cli_command(&["run", "-i", "--rm", "busybox", "sh"]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn rdocker");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(b"echo from-stdin $$\nexit 4\n")
            .expect("write stdin");
    }
    let (st, timed_out) =
        rdocker_tests::util::wait_timeout(&mut child, std::time::Duration::from_secs(60)).unwrap();
    let mut out = String::new();
    use std::io::Read;
    let _ = child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out);
    assert!(!timed_out, "run -i hung");
    assert_eq!(out, "from-stdin 1\n");
    assert_eq!(st.code(), Some(4));
}

#[test]
fn used_by_line_non_interactive() {
    require_root!();
    let (_reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    let tmp = tmpdir();
    let x = tmp.path().join("x");
    let vol = format!("{}:/mnt", x.display());

    // No pull first: run pulls a missing image itself, as docker does.
    let out = d.cli(&["run", "-v", &vol, "busybox", "sh", "-c", "echo hi > /mnt/f"]);
    out.assert_ok();
    assert!(
        out.stderr
            .contains("Unable to find image 'busybox:latest' locally"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(x.join("f")).ok().as_deref(),
        Some("hi\n"),
        "{out}"
    );

    // The demo's form: --rm leaves no container.
    std::fs::remove_file(x.join("f")).unwrap();
    let out = d.cli(&[
        "run",
        "--rm",
        "-v",
        &vol,
        "busybox",
        "sh",
        "-c",
        "echo hi > /mnt/f",
    ]);
    out.assert_ok();
    assert_eq!(out.stdout, "", "{out}");
    assert_eq!(std::fs::read_to_string(x.join("f")).unwrap(), "hi\n");
    let ps = d.cli(&["ps", "-a", "-q"]);
    ps.assert_ok();
    assert_eq!(
        ps.stdout.lines().count(),
        1,
        "only the first (non --rm) container: {ps}"
    );

    // stdout and stderr stay apart; the exit status is the container's.
    let out = d.cli(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(out.code, Some(3), "{out}");
    assert_eq!(out.stdout, "out\n", "{out}");
    assert!(out.stderr.contains("err\n"), "{out}");
    assert!(!out.stdout.contains("err"), "{out}");
}
