//! Scenarios a user plays with a Docker-compatible CLI, shared by the stock docker CLI suite
//! and the rdocker CLI suite: the same commands, the same expected output and exit codes
//! (Docker's, calibrated on dockerd 20.10 with the docker 28 CLI).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::daemon::run;
use crate::pty::{PtySession, BUSYBOX_PROMPT};
use crate::{CliOutput, TestDaemon};

/// Runs the CLI with these arguments to completion.
pub type RunFn<'a> = Box<dyn Fn(&[&str]) -> CliOutput + 'a>;
/// Builds the CLI command with these arguments, unstarted.
pub type CommandFn<'a> = Box<dyn Fn(&[&str]) -> Command + 'a>;

/// A CLI bound to one daemon.
pub struct Client<'a> {
    /// The program's name, as it prefixes its error lines ("docker: Error response …").
    pub prog: &'static str,
    pub run: RunFn<'a>,
    pub command: CommandFn<'a>,
}

impl<'a> Client<'a> {
    pub fn rdocker(d: &'a TestDaemon) -> Client<'a> {
        Client {
            prog: "rdocker",
            run: Box::new(move |a| d.cli(a)),
            command: Box::new(move |a| d.cli_command(a)),
        }
    }

    pub fn docker(d: &'a TestDaemon, docker: &'a Path) -> Client<'a> {
        Client {
            prog: "docker",
            run: Box::new(move |a| d.docker(docker, a)),
            command: Box::new(move |a| d.docker_command(docker, a)),
        }
    }
}

fn tmpdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("scen-")
        .tempdir_in("/tmp")
        .expect("temp dir")
}

/// `run -d`, then `exec -it <c> sh` under a PTY: not PID 1, the container's hostname and
/// processes, the exec's exit status.
pub fn exec_it(c: &Client) {
    let id = (c.run)(&["run", "-d", "--name", "box", "busybox", "sleep", "300"]);
    id.assert_ok();
    let id = id.stdout.trim().to_string();
    assert_eq!(id.len(), 64, "run -d prints the full id: {id:?}");

    let mut s = PtySession::spawn(&mut (c.command)(&["exec", "-it", "box", "sh"])).unwrap();
    s.expect(BUSYBOX_PROMPT, Duration::from_secs(30)).unwrap();
    let step = Duration::from_secs(20);
    let pid = s.shell("echo $$", BUSYBOX_PROMPT, step).unwrap();
    let pid: u32 = pid
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}", s.screen()));
    assert!(pid > 1, "the exec is not PID 1: {}", s.screen());
    let host = s.shell("hostname", BUSYBOX_PROMPT, step).unwrap();
    assert_eq!(host.trim(), &id[..12], "{}", s.screen());
    let ps = s.shell("ps", BUSYBOX_PROMPT, step).unwrap();
    assert!(
        ps.lines()
            .any(|l| l.split_whitespace().next() == Some("1") && l.contains("sleep")),
        "PID 1 is the container's sleep: {ps:?}"
    );
    s.type_str("exit 7\r").unwrap();
    assert_eq!(s.wait(step).unwrap(), Some(7), "{}", s.screen());

    (c.run)(&["rm", "-f", "box"]).assert_ok();
}

/// `run --rm -v`, exit codes, `run -d`, `ps`, `logs -f`, `exec`, `inspect`, `stop`, `rm`,
/// `images`, `rmi`.
pub fn lifecycle(c: &Client) {
    let dk = |args: &[&str]| (c.run)(args);

    // --rm and -v: output, the file on the host, nothing left.
    let tmp = tmpdir();
    let x = tmp.path().join("x");
    let vol = format!("{}:/mnt", x.display());
    let out = dk(&[
        "run",
        "--rm",
        "-v",
        &vol,
        "busybox",
        "sh",
        "-c",
        "echo hi > /mnt/f; echo done",
    ]);
    out.assert_ok();
    assert_eq!(out.stdout, "done\n", "{out}");
    assert_eq!(std::fs::read_to_string(x.join("f")).unwrap(), "hi\n");
    let ps = dk(&["ps", "-a", "-q"]);
    assert_eq!(ps.stdout.trim(), "", "--rm removed it: {ps}");

    let out = dk(&["run", "--rm", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(out.code, Some(3), "{out}");

    // -d, ps, logs -f
    let out = dk(&[
        "run",
        "-d",
        "--name",
        "web",
        "busybox",
        "sh",
        "-c",
        "echo one; sleep 1; echo two; sleep 100",
    ]);
    out.assert_ok();
    let id = out.stdout.trim().to_string();
    assert_eq!(id.len(), 64, "{out}");
    let ps = dk(&["ps"]);
    ps.assert_ok();
    let header = ps.stdout.lines().next().unwrap_or_default();
    for col in [
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ] {
        assert!(header.contains(col), "{ps}");
    }
    let row = ps
        .stdout
        .lines()
        .find(|l| l.starts_with(&id[..12]))
        .unwrap_or_else(|| panic!("{ps}"));
    assert!(
        row.contains("busybox") && row.contains(" Up ") && row.trim_end().ends_with("web"),
        "{ps}"
    );
    assert!(row.contains("\"sh -c 'echo one; sl…\""), "{ps}");
    let f = dk(&["ps", "--format", "{{.Names}} {{.Image}} {{.Status}}"]);
    assert!(f.stdout.starts_with("web busybox Up "), "{f}");

    // logs -f follows: "two" comes a second after "one"; the command keeps following.
    let logs = run(
        &mut (c.command)(&["logs", "-f", "web"]),
        Duration::from_secs(4),
    );
    assert!(logs.timed_out, "logs -f keeps following: {logs}");
    assert_eq!(logs.stdout, "one\ntwo\n", "{logs}");
    let logs = dk(&["logs", "web"]);
    assert_eq!(logs.stdout, "one\ntwo\n", "{logs}");

    let ex = dk(&["exec", "web", "sh", "-c", "echo hi; exit 4"]);
    assert_eq!(ex.code, Some(4), "{ex}");
    assert_eq!(ex.stdout, "hi\n", "{ex}");

    let insp = dk(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.Running}} {{.Config.Hostname}} {{.Name}}",
        "web",
    ]);
    insp.assert_ok();
    assert_eq!(
        insp.stdout.trim(),
        format!("running true {} /web", &id[..12]),
        "{insp}"
    );

    let stop = dk(&["stop", "-t", "1", "web"]);
    stop.assert_ok();
    assert_eq!(stop.stdout.trim(), "web", "{stop}");
    let st = dk(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert!(
        st.stdout.lines().any(|l| l.starts_with("web Exited (137)")),
        "sh as PID 1 ignores SIGTERM, so stop kills after 1 s: {st}"
    );
    let insp = dk(&["inspect", "-f", "{{.State.ExitCode}}", "web"]);
    assert_eq!(insp.stdout.trim(), "137", "{insp}");

    let rm = dk(&["rm", "web"]);
    rm.assert_ok();
    assert_eq!(rm.stdout.trim(), "web", "{rm}");
    let rm = dk(&["rm", "web"]);
    assert_eq!(rm.code, Some(1), "{rm}");
    assert!(rm.stderr.contains("No such container: web"), "{rm}");

    let images = dk(&["images"]);
    assert!(
        images.stdout.lines().any(|l| l.starts_with("busybox ")),
        "{images}"
    );
    let rmi = dk(&["rmi", "busybox"]);
    rmi.assert_ok();
    assert!(rmi.stdout.contains("Untagged: busybox:latest"), "{rmi}");
    assert!(rmi.stdout.contains("Deleted: sha256:"), "{rmi}");
    let images = dk(&["images", "-q"]);
    assert_eq!(images.stdout.trim(), "", "{images}");
}

/// `volume create/ls/inspect/rm`, a named volume shared by two runs, and the refusals:
/// 127, 126, 125 with Docker's messages.
pub fn volumes_and_errors(c: &Client) {
    let dk = |args: &[&str]| (c.run)(args);
    let prog = c.prog;

    let c = dk(&["volume", "create", "vol1"]);
    c.assert_ok();
    assert_eq!(c.stdout.trim(), "vol1", "{c}");
    let ls = dk(&["volume", "ls"]);
    assert!(
        ls.stdout
            .lines()
            .next()
            .unwrap_or_default()
            .contains("DRIVER")
            && ls.stdout.lines().any(|l| {
                let cols: Vec<_> = l.split_whitespace().collect();
                cols == ["local", "vol1"]
            }),
        "{ls}"
    );
    let insp = dk(&["volume", "inspect", "vol1"]);
    insp.assert_ok();
    let v: serde_json::Value = serde_json::from_str(&insp.stdout).expect("JSON");
    assert_eq!(v[0]["Name"], "vol1", "{insp}");
    assert_eq!(v[0]["Driver"], "local", "{insp}");
    let mp = v[0]["Mountpoint"].as_str().unwrap_or_default();
    assert!(mp.ends_with("/volumes/vol1/_data"), "{insp}");
    let w = dk(&[
        "run",
        "--rm",
        "-v",
        "vol1:/data",
        "busybox",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    w.assert_ok();
    assert_eq!(
        std::fs::read_to_string(std::path::Path::new(mp).join("f"))
            .ok()
            .as_deref(),
        Some("kept\n"),
        "the volume's data is at its Mountpoint"
    );
    let r = dk(&[
        "run",
        "--rm",
        "-v",
        "vol1:/data",
        "busybox",
        "cat",
        "/data/f",
    ]);
    assert_eq!(r.stdout, "kept\n", "{r}");
    let rm = dk(&["volume", "rm", "vol1"]);
    rm.assert_ok();
    assert_eq!(rm.stdout.trim(), "vol1", "{rm}");
    let ls = dk(&["volume", "ls", "-q"]);
    assert!(!ls.stdout.lines().any(|l| l == "vol1"), "{ls}");

    // Docker's exit codes: 127 not found, 126 not executable, 125 refused by the daemon.
    let out = dk(&["run", "--rm", "busybox", "nosuch"]);
    assert_eq!(out.code, Some(127), "{out}");
    let prefix = format!("{prog}: Error response from daemon: ");
    assert!(out.stderr.starts_with(&prefix), "{out}");
    assert!(
        out.stderr
            .contains("exec: \"nosuch\": executable file not found in $PATH"),
        "{out}"
    );
    let out = dk(&["run", "--rm", "busybox", "/etc/passwd"]);
    assert_eq!(out.code, Some(126), "{out}");
    let out = dk(&["run", "--rm", "-v", "/tmp/x:/mnt:bogus", "busybox", "true"]);
    assert_eq!(out.code, Some(125), "{out}");
    assert!(out.stderr.contains("invalid mode: bogus"), "{out}");
    let out = dk(&["run", "--rm", "-v", "/tmp/x:mnt", "busybox", "true"]);
    assert_eq!(out.code, Some(125), "{out}");
    assert!(out.stderr.contains("mount path must be absolute"), "{out}");
    let ps = dk(&["ps", "-a", "-q"]);
    assert_eq!(ps.stdout.trim(), "", "failed --rm runs leave nothing: {ps}");
}
