//! Resource limits and security flags through a CLI (issue 4): `run` with limits,
//! `stats`, `update`, `pause`/`unpause`, `--cap-drop`, `--ulimit`, an inline seccomp
//! profile, and the refusals (CLI-side and daemon-side) with docker's texts and exit codes.
//! The same scenario runs with the rdocker CLI and with the stock docker CLI.

use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rdocker_tests::e2e::{docker_cli, registry_and_daemon, Checks};
use rdocker_tests::pty::PtySession;
use rdocker_tests::scenarios::Client;
use rdocker_tests::{require_root, CliOutput, RegistryAuth, TestDaemon, TestRegistry};

fn setup() -> (TestRegistry, TestDaemon) {
    let (reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    d.cli(&["pull", "busybox"]).assert_ok();
    (reg, d)
}

/// The one data row of `stats --no-stream <name>`, after checking the header.
fn stats_row(ck: &mut Checks, out: &CliOutput) -> String {
    let mut lines = out.stdout.lines();
    let header = lines.next().unwrap_or_default();
    let cols = [
        "CONTAINER ID",
        "NAME",
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %",
        "NET I/O",
        "BLOCK I/O",
        "PIDS",
    ];
    let words: Vec<&str> = header
        .split("   ")
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect();
    ck.check(words == cols, format!("stats header: {out}"));
    let row = lines.next().unwrap_or_default().to_string();
    ck.check(lines.next().is_none(), format!("one row: {out}"));
    row
}

/// The scenario; `prog` prefixes the CLI's own error lines ("rdocker: …").
fn limits(c: &Client) {
    let run = |a: &[&str]| (c.run)(a);
    let prog = c.prog;
    let mut ck = Checks::default();

    let out = run(&[
        "run",
        "-d",
        "--name",
        "lim",
        "--memory",
        "64m",
        "--pids-limit",
        "20",
        "busybox",
        "sleep",
        "300",
    ]);
    out.assert_ok();
    let id = out.stdout.trim().to_string();

    let out = run(&["stats", "--no-stream", "lim"]);
    ck.check(out.success(), format!("stats: {out}"));
    let row = stats_row(&mut ck, &out);
    ck.check(
        row.starts_with(&id[..12]),
        format!("row starts with the short id: {row:?}"),
    );
    ck.check(
        row.contains("   lim   "),
        format!("row has the name: {row:?}"),
    );
    ck.check(row.contains(" / 64MiB   "), format!("limit 64MiB: {row:?}"));
    ck.check(row.contains("0B / 0B"), format!("no network: {row:?}"));
    let pids: Option<u64> = row.split_whitespace().last().and_then(|p| p.parse().ok());
    ck.check(
        pids.is_some_and(|p| (1..=20).contains(&p)),
        format!("PIDS value: {row:?}"),
    );

    let out = run(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}}|{{.MemUsage}}|{{.PIDs}}|{{.Container}}",
        "lim",
    ]);
    let f: Vec<String> = out.stdout.trim().split('|').map(String::from).collect();
    ck.check(
        f.len() == 4 && f[0] == "lim" && f[1].ends_with(" / 64MiB") && f[3] == "lim",
        format!("stats --format: {out}"),
    );
    let out = run(&["stats", "--no-stream", "--format", "json", "lim"]);
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap_or_default();
    ck.check(
        v["Name"] == "lim"
            && v["ID"] == id[..12]
            && v["MemPerc"].as_str().is_some_and(|p| p.ends_with('%')),
        format!("stats --format json: {out}"),
    );
    // Without names: the running containers (here one).
    let out = run(&["stats", "--no-stream", "--format", "{{.Name}}"]);
    ck.check(
        out.success() && out.stdout == "lim\n",
        format!("stats without names: {out}"),
    );

    let out = run(&["update", "--memory", "128m", "lim"]);
    ck.check(
        out.success() && out.stdout == "lim\n",
        format!("update: {out}"),
    );
    let out = run(&["stats", "--no-stream", "--format", "{{.MemUsage}}", "lim"]);
    ck.check(
        out.stdout.trim_end().ends_with(" / 128MiB"),
        format!("stats after update: {out}"),
    );
    let out = run(&[
        "inspect",
        "-f",
        "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}",
        "lim",
    ]);
    ck.check(
        out.stdout.trim() == "134217728 20",
        format!("inspect after update: {out}"),
    );

    let out = run(&["update", "lim"]);
    ck.check(
        out.code == Some(1)
            && out.stderr.trim() == "you must provide one or more flags when using this command",
        format!("update without flags: {out}"),
    );
    let out = run(&["update", "-m", "1x", "lim"]);
    ck.check(
        out.code == Some(125)
            && out.stderr.starts_with(
                "invalid argument \"1x\" for \"-m, --memory\" flag: invalid suffix: 'x'",
            ),
        format!("update bad size: {out}"),
    );
    let out = run(&["update", "--cpus", "0.5", "lim", "nosuch"]);
    ck.check(
        out.code == Some(1)
            && out.stdout == "lim\n"
            && out.stderr.trim() == "Error response from daemon: No such container: nosuch",
        format!("update one good, one missing: {out}"),
    );

    let out = run(&["pause", "lim"]);
    ck.check(
        out.success() && out.stdout == "lim\n",
        format!("pause: {out}"),
    );
    let out = run(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    ck.check(
        out.stdout
            .lines()
            .any(|l| l.starts_with("lim ") && l.ends_with("(Paused)")),
        format!("ps shows (Paused): {out}"),
    );
    let out = run(&[
        "inspect",
        "-f",
        "{{.State.Paused}} {{.State.Status}}",
        "lim",
    ]);
    ck.check(
        out.stdout.trim() == "true paused",
        format!("inspect paused: {out}"),
    );
    let out = run(&["unpause", "lim"]);
    ck.check(
        out.success() && out.stdout == "lim\n",
        format!("unpause: {out}"),
    );
    let out = run(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    ck.check(
        out.stdout
            .lines()
            .any(|l| l.starts_with("lim ") && !l.contains("Paused")),
        format!("ps after unpause: {out}"),
    );
    let out = run(&["container", "pause", "nosuch"]);
    ck.check(
        out.code == Some(1)
            && out.stderr.trim() == "Error response from daemon: No such container: nosuch",
        format!("pause missing: {out}"),
    );
    let out = run(&["stats", "--no-stream", "nosuch"]);
    ck.check(
        out.code == Some(1)
            && out.stderr.trim() == "Error response from daemon: No such container: nosuch",
        format!("stats missing: {out}"),
    );
    run(&["rm", "-f", "lim"]).assert_ok();

    let out = run(&[
        "run",
        "--rm",
        "--cap-drop",
        "ALL",
        "busybox",
        "grep",
        "CapEff",
        "/proc/self/status",
    ]);
    ck.check(
        out.success() && out.stdout.trim_end() == "CapEff:\t0000000000000000",
        format!("--cap-drop ALL: {out}"),
    );
    let out = run(&[
        "run",
        "--rm",
        "--ulimit",
        "nofile=100:200",
        "busybox",
        "sh",
        "-c",
        "ulimit -n; ulimit -Hn",
    ]);
    ck.check(
        out.success() && out.stdout == "100\n200\n",
        format!("--ulimit: {out}"),
    );

    let out = run(&["run", "--rm", "-m", "1k", "busybox", "true"]);
    ck.check(
        out.code == Some(125)
            && out.stderr.starts_with(&format!(
                "{prog}: Error response from daemon: Minimum memory limit allowed is 6MB"
            )),
        format!("-m 1k: {out}"),
    );
    let out = run(&["run", "--rm", "--ulimit", "nofile=20:10", "busybox", "true"]);
    ck.check(
        out.code == Some(125)
            && out.stderr.starts_with("invalid argument \"nofile=20:10\" for \"--ulimit\" flag: ulimit soft limit must be less than or equal to hard limit: 20 > 10"),
        format!("--ulimit soft > hard: {out}"),
    );

    // docker's run gives a refused create the status of a failed start.
    let out = run(&[
        "run",
        "--rm",
        "--device",
        "/dev/nonexist",
        "busybox",
        "true",
    ]);
    ck.check(
        out.code == Some(127)
            && out.stderr.starts_with(&format!(
                "{prog}: Error response from daemon: error gathering device information while adding custom device \"/dev/nonexist\": no such file or directory"
            )),
        format!("missing --device: {out}"),
    );

    // A profile file is read by the CLI and sent inline: here it refuses mkdir.
    let dir = tempfile::Builder::new()
        .prefix("lim-")
        .tempdir_in("/tmp")
        .unwrap();
    let profile = dir.path().join("profile.json");
    std::fs::write(
        &profile,
        "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [\n    {\"names\": [\"mkdir\", \"mkdirat\"], \"action\": \"SCMP_ACT_ERRNO\"}\n  ]\n}\n",
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let out = run(&[
        "run",
        "--rm",
        "--security-opt",
        &opt,
        "busybox",
        "mkdir",
        "/x",
    ]);
    ck.check(
        out.code == Some(1) && out.stderr.contains("Operation not permitted"),
        format!("seccomp profile from a file: {out}"),
    );
    let out = run(&[
        "run",
        "--rm",
        "--security-opt",
        "seccomp=/nonexistent/p.json",
        "busybox",
        "true",
    ]);
    ck.check(
        out.code == Some(125)
            && out.stderr.starts_with(&format!("{prog}: opening seccomp profile (/nonexistent/p.json) failed: open /nonexistent/p.json: no such file or directory")),
        format!("missing seccomp profile: {out}"),
    );
    let out = run(&["ps", "-a", "-q"]);
    ck.check(out.stdout.trim().is_empty(), format!("nothing left: {out}"));
    ck.finish();
}

#[test]
fn rdocker_limits() {
    require_root!();
    let (_reg, d) = setup();
    limits(&Client::rdocker(&d));
}

/// Streaming `stats` on a pipe: a table every half second without terminal escapes,
/// and Ctrl-C ends it with status 0. On a terminal each frame is drawn over the last.
#[test]
fn rdocker_stats_stream() {
    require_root!();
    let (_reg, d) = setup();
    d.cli(&[
        "run", "-d", "--name", "s1", "-m", "32m", "busybox", "sleep", "300",
    ])
    .assert_ok();
    let mut child = d
        .cli_spawn(&["stats", "--format", "{{.Name}} {{.MemUsage}}"])
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // Without names, containers that start (and stop) later come (and go).
    d.cli(&["run", "-d", "--name", "s2", "busybox", "sleep", "300"])
        .assert_ok();
    std::thread::sleep(Duration::from_millis(2500));
    d.cli(&["stop", "-t", "0", "s1"]).assert_ok();
    std::thread::sleep(Duration::from_millis(2500));
    // SAFETY: kill(2) on the child we spawned and have not reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut tty = PtySession::spawn(&mut d.cli_command(&["stats", "s2"])).unwrap();
    let step = Duration::from_secs(10);
    let first = tty.expect("\x1b[J", step).map(|_| tty.screen());
    let second = tty.expect("\x1b[J", step);
    let _ = tty.type_str("\x03");
    let tty_status = tty.wait(step);
    d.cli(&["rm", "-f", "s1", "s2"]).assert_ok();

    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "Ctrl-C exits 0: {out}"
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.len() >= 6, "redrawn: {out}");
    assert!(
        lines[0].starts_with("s1 ") && lines[0].ends_with(" / 32MiB"),
        "{out}"
    );
    let both = lines
        .iter()
        .position(|l| l.starts_with("s2 "))
        .expect("s2 appears");
    assert!(
        lines[both - 1].starts_with("s1 ")
            || lines.get(both + 1).is_some_and(|l| l.starts_with("s1 ")),
        "{out}"
    );
    assert!(
        lines.last().is_some_and(|l| l.starts_with("s2 ")),
        "s1 went away: {out}"
    );
    assert!(
        lines.iter().rev().take(3).all(|l| !l.starts_with("s1 ")),
        "s1 went away: {out}"
    );
    assert!(!out.contains('\x1b'), "no escapes on a pipe: {out:?}");

    let first = first.unwrap();
    assert!(
        first.starts_with("\x1b[HCONTAINER ID   NAME"),
        "cursor home, then the table: {first:?}"
    );
    assert!(first.contains("   s2   "), "{first:?}");
    assert!(
        first.contains("PIDS\x1b[K\r\n"),
        "lines end erased: {first:?}"
    );
    assert!(second.is_ok(), "a second frame: {}", tty.screen());
    assert_eq!(
        tty_status.ok().flatten(),
        Some(0),
        "^C exits 0: {:?}",
        tty.screen()
    );
}

fn docker_or_skip() -> Option<PathBuf> {
    let d = docker_cli();
    if d.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "no docker CLI and CI is set"
        );
        eprintln!("SKIP: no docker CLI");
    }
    d
}

#[test]
fn docker_limits() {
    require_root!();
    let Some(docker) = docker_or_skip() else {
        return;
    };
    let (_reg, d) = setup();
    limits(&Client::docker(&d, &docker));
}
