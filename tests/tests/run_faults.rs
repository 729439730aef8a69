//! Bad input to `run` and the container routes: Docker's status codes, exit codes and
//! messages (calibrated on dockerd 20.10 / docker 28), and that a refused run leaves nothing.

use std::time::Duration;

use rdocker_tests::census::Census;
use rdocker_tests::e2e::{registry_and_daemon, Checks};
use rdocker_tests::procs::pid_alive;
use rdocker_tests::util::wait_for;
use rdocker_tests::{require_root, RegistryAuth, TestDaemon, TestRegistry};

fn setup() -> (TestRegistry, TestDaemon) {
    let (reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    d.cli(&["pull", "busybox"]).assert_ok();
    (reg, d)
}

fn tmpdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("faults-")
        .tempdir_in("/tmp")
        .unwrap()
}

#[test]
fn unknown_image_and_unknown_command() {
    require_root!();
    let (_reg, d) = setup();
    let mut c = Checks::default();

    // The registry (the docker.io mirror) lacks it: auto-pull is tried, then a clear error.
    let out = d.cli(&["run", "--rm", "nosuchimage"]);
    c.check(out.code == Some(125), format!("exit 125: {out}"));
    c.check(
        out.stderr
            .contains("Unable to find image 'nosuchimage:latest' locally"),
        format!("says it pulls: {out}"),
    );
    let msg = out.stderr.to_lowercase();
    c.check(
        msg.contains("nosuchimage")
            && (msg.contains("not found") || msg.contains("does not exist")),
        format!("clear error: {out}"),
    );
    let (code, body) = d.api_json(
        "POST",
        "/containers/create",
        &serde_json::json!({"Image": "nosuchimage"}),
    );
    c.check(
        code == 404,
        format!("create answers 404 so clients pull: {code} {body}"),
    );
    c.check(
        body.contains("No such image: nosuchimage:latest"),
        format!("docker's words: {body}"),
    );

    let out = d.cli(&["run", "--rm", "busybox", "nosuch"]);
    c.check(out.code == Some(127), format!("exit 127: {out}"));
    c.check(
        out.stderr
            .contains("exec: \"nosuch\": executable file not found in $PATH"),
        format!("docker's message: {out}"),
    );
    // Found but not executable (a plain file, a directory): 126.
    for path in ["/etc/passwd", "/etc"] {
        let out = d.cli(&["run", "--rm", "busybox", path]);
        c.check(out.code == Some(126), format!("exit 126: {out}"));
    }
    let ps = d.cli(&["ps", "-a", "-q"]);
    c.check(
        ps.stdout.trim().is_empty(),
        format!("refused --rm runs leave no container: {ps}"),
    );
    c.finish();
}

#[test]
fn bad_volumes() {
    require_root!();
    let (_reg, d) = setup();
    let tmp = tmpdir();
    let mut c = Checks::default();
    let before = Census::take(&d, "RDOCKER_FAULTS=1");

    // A file where a directory is expected: refused before the process runs.
    let file = tmp.path().join("afile");
    std::fs::write(&file, "content\n").unwrap();
    let vol = format!("{}:/etc", file.display());
    let out = d.cli(&["run", "--rm", "-v", &vol, "busybox", "true"]);
    c.check(
        out.code == Some(125),
        format!("file onto a dir, exit 125: {out}"),
    );
    // Docker passes on runc's "…: not a directory … Are you trying to mount a directory onto
    // a file (or vice-versa)?"; any wording that names the source and the file/dir mismatch
    // tells the user as much.
    c.check(
        out.stderr.contains(&file.display().to_string()) && out.stderr.contains("directory"),
        format!("file onto a dir, the message names the source and the mismatch: {out}"),
    );
    // A file onto a file path that does not exist yet: an empty file is made as the target.
    let vol = format!("{}:/etc/afile", file.display());
    let out = d.cli(&["run", "--rm", "-v", &vol, "busybox", "cat", "/etc/afile"]);
    c.check(
        out.success() && out.stdout == "content\n",
        format!("file onto a new file: {out}"),
    );

    // Relative host path: docker takes it for a volume name, which it is not.
    let out = d.cli(&["run", "--rm", "-v", "rel/x:/mnt", "busybox", "true"]);
    c.check(
        out.code == Some(125),
        format!("relative path, exit 125: {out}"),
    );
    c.check(
        out.stderr.contains(
            "\"rel/x\" includes invalid characters for a local volume name, only \
             \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host \
             directory, use absolute path",
        ),
        format!("relative path, docker's message: {out}"),
    );
    let dir = tmp.path().join("d");
    for (mode, msg) in [
        ("bogus", "invalid mode: bogus"),
        ("rw,ro", "invalid mode: rw,ro"),
    ] {
        let vol = format!("{}:/mnt:{mode}", dir.display());
        let out = d.cli(&["run", "--rm", "-v", &vol, "busybox", "true"]);
        c.check(
            out.code == Some(125),
            format!("mode {mode}, exit 125: {out}"),
        );
        c.check(out.stderr.contains(msg), format!("mode {mode}: {out}"));
    }
    let vol = format!("{}:mnt", dir.display());
    let out = d.cli(&["run", "--rm", "-v", &vol, "busybox", "true"]);
    c.check(
        out.code == Some(125),
        format!("relative target, exit 125: {out}"),
    );
    c.check(
        out.stderr.contains("mount path must be absolute"),
        format!("relative target: {out}"),
    );
    // The raw API says 400 with the same message.
    let (code, body) = d.api_json(
        "POST",
        "/containers/create",
        &serde_json::json!({"Image": "busybox",
            "HostConfig": {"Binds": [format!("{}:/mnt:bogus", dir.display())]}}),
    );
    c.check(
        code == 400 && body.contains("invalid mode: bogus"),
        format!("API: 400 invalid mode: {code} {body}"),
    );

    // :ro is honoured.
    let vol = format!("{}:/mnt:ro", tmp.path().display());
    let out = d.cli(&["run", "--rm", "-v", &vol, "busybox", "touch", "/mnt/new"]);
    c.check(
        out.code == Some(1) && out.stderr.contains("Read-only file system"),
        format!(":ro: {out}"),
    );
    c.check(!tmp.path().join("new").exists(), ":ro: nothing written");

    let ps = d.cli(&["ps", "-a", "-q"]);
    c.check(
        ps.stdout.trim().is_empty(),
        format!("no container left: {ps}"),
    );
    let after = Census::take(&d, "RDOCKER_FAULTS=1");
    let leaks = before.leaks(&after, 3);
    c.check(leaks.is_empty(), format!("leaks: {leaks:?}"));
    c.finish();
}

#[test]
fn rm_running_start_running_and_kill() {
    require_root!();
    let (_reg, d) = setup();
    let out = d.cli(&["run", "-d", "--name", "busy", "busybox", "sleep", "300"]);
    out.assert_ok();
    let id = out.stdout.trim().to_string();
    let pid = d
        .container_pid("busy")
        .expect("running container has a pid");

    let (code, body) = d.api("DELETE", "/containers/busy");
    assert_eq!(code, 409, "{body}");
    let low = body.to_lowercase();
    assert!(
        low.contains("running") && low.contains("stop the container"),
        "{body}"
    );
    let rm = d.cli(&["rm", "busy"]);
    assert_eq!(rm.code, Some(1), "{rm}");
    assert!(rm.stderr.contains("Error response from daemon"), "{rm}");
    assert!(pid_alive(pid), "a refused rm leaves it running");

    // start of a running container: 304, and the CLI treats it as success.
    let (code, _) = d.api("POST", "/containers/busy/start");
    assert_eq!(code, 304);
    let st = d.cli(&["start", "busy"]);
    st.assert_ok();
    assert_eq!(st.stdout.trim(), "busy", "{st}");
    assert_eq!(d.container_pid("busy"), Some(pid), "still the same process");

    // kill -s: 128+N recorded.
    d.cli(&["kill", "-s", "KILL", "busy"]).assert_ok();
    let w = d.cli(&["wait", "busy"]);
    assert_eq!(w.stdout.trim(), "137", "{w}");
    assert!(
        wait_for(Duration::from_secs(5), || (!pid_alive(pid)).then_some(())).is_some(),
        "the process is gone"
    );
    let v = d.inspect(&id).expect("inspect by id");
    assert_eq!(v["State"]["Status"], "exited", "{v}");
    assert_eq!(v["State"]["ExitCode"], 137, "{v}");
    assert_eq!(v["State"]["Running"], false, "{v}");
    let rm = d.cli(&["rm", "busy"]);
    rm.assert_ok();
    assert_eq!(d.inspect(&id), None);

    // rm -f of a running one.
    d.cli(&["run", "-d", "--name", "busy2", "busybox", "sleep", "300"])
        .assert_ok();
    let pid = d.container_pid("busy2").unwrap();
    d.cli(&["rm", "-f", "busy2"]).assert_ok();
    assert!(
        wait_for(Duration::from_secs(5), || (!pid_alive(pid)).then_some(())).is_some(),
        "rm -f kills the process"
    );
    // A name in use: 409; `run` exits 125, `create` 1 (as docker's CLI does).
    d.cli(&["create", "--name", "dup", "busybox"]).assert_ok();
    let conflict = "Conflict. The container name \"/dup\" is already in use";
    let out = d.cli(&["run", "--name", "dup", "busybox", "true"]);
    assert_eq!(out.code, Some(125), "{out}");
    assert!(out.stderr.contains(conflict), "{out}");
    let out = d.cli(&["create", "--name", "dup", "busybox"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(out.stderr.contains(conflict), "{out}");
    let (code, body) = d.api_json(
        "POST",
        "/containers/create?name=dup",
        &serde_json::json!({"Image": "busybox"}),
    );
    assert_eq!(code, 409, "{body}");
}

#[test]
fn process_that_exits_at_once() {
    require_root!();
    let (_reg, d) = setup();
    // Output of a process that exits before anyone could look is still delivered and logged.
    for i in 0..10 {
        let word = format!("fast-{i}");
        let out = d.cli(&["run", "--rm", "busybox", "echo", &word]);
        out.assert_ok();
        assert_eq!(out.stdout, format!("{word}\n"), "{out}");
    }
    let out = d.cli(&[
        "run",
        "-d",
        "--name",
        "quick",
        "busybox",
        "sh",
        "-c",
        "echo bye; exit 2",
    ]);
    out.assert_ok();
    let w = d.cli(&["wait", "quick"]);
    assert_eq!(w.stdout.trim(), "2", "{w}");
    let logs = d.cli(&["logs", "quick"]);
    assert_eq!(logs.stdout, "bye\n", "{logs}");
    let ps = d.cli(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert!(
        ps.stdout.lines().any(|l| l.starts_with("quick Exited (2)")),
        "{ps}"
    );
    // It can be started again, and exits again.
    d.cli(&["start", "quick"]).assert_ok();
    let w = d.cli(&["wait", "quick"]);
    assert_eq!(w.stdout.trim(), "2", "{w}");
    let logs = d.cli(&["logs", "quick"]);
    assert_eq!(logs.stdout, "bye\nbye\n", "{logs}");
    d.cli(&["rm", "quick"]).assert_ok();
}
