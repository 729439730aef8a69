//! The engine side of runtime/PROTOCOL.md: starting `rdocker-shim`, its ctl.sock requests and
//! attach.sock connections.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::error::ContainerError;

/// The shim's one line on stdout.
#[derive(Debug, Deserialize)]
struct Hello {
    pid: Option<i64>,
    /// Set-up timings measured in the init (PROTOCOL.md, issue 4), in µs by name.
    #[serde(default)]
    timings_us: std::collections::BTreeMap<String, u64>,
    error: Option<String>,
    exit_code: Option<i64>,
}

pub struct Spawned {
    pub pid: i64,
    /// The shim's own pid (our child, reaped by a task).
    pub shim_pid: Option<u32>,
    /// The init's set-up timings (cgroup_join, seccomp_load, caps, userns, rootfs), µs.
    pub timings_us: std::collections::BTreeMap<String, u64>,
}

/// Runs the shim, reads its line, and reaps it in the background. Errors carry the shim's
/// message and exit code (125–127).
pub async fn spawn(
    shim: &Path,
    args: &[String],
    run_dir: &Path,
) -> Result<Spawned, ContainerError> {
    let log_path = run_dir.join("shim.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(ContainerError::io("open", &log_path))?;
    // The daemon's sealed copy when there is one (CVE-2019-5736); arg0 keeps `ps` readable.
    let program = super::security::sealed::program(shim, run_dir);
    let mut child = tokio::process::Command::new(&program)
        .arg0("rdocker-shim")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(ContainerError::io("run", shim))?;
    let shim_pid = child.id();
    let mut line = String::new();
    if let Some(mut out) = child.stdout.take() {
        // One line, then the shim closes stdout; bounded in case it misbehaves.
        let mut buf = Vec::new();
        let read = (&mut out).take(64 * 1024).read_to_end(&mut buf).await;
        if let Err(e) = read {
            tracing::warn!("reading the shim's answer: {e}");
        }
        line = String::from_utf8_lossy(&buf).trim().to_string();
    }
    tokio::spawn(async move {
        if let Err(e) = child.wait().await {
            tracing::warn!("reaping the shim: {e}");
        }
    });
    let hello: Option<Hello> = serde_json::from_str(&line).ok();
    match hello {
        Some(Hello {
            pid: Some(pid),
            timings_us,
            ..
        }) => Ok(Spawned {
            pid,
            shim_pid,
            timings_us,
        }),
        Some(Hello {
            error: Some(message),
            exit_code,
            ..
        }) => Err(ContainerError::StartFailed {
            message,
            exit_code: exit_code.unwrap_or(125),
        }),
        _ => {
            let tail = std::fs::read_to_string(&log_path).unwrap_or_default();
            let tail = tail.lines().last().unwrap_or("no answer").to_string();
            Err(ContainerError::StartFailed {
                message: format!("rdocker-shim failed: {tail}"),
                exit_code: 125,
            })
        }
    }
}

pub fn container_args(id: &str, bundle: &Path, run_dir: &Path) -> Vec<String> {
    vec![
        "container".into(),
        "--id".into(),
        id.into(),
        "--bundle".into(),
        bundle.display().to_string(),
        "--run-dir".into(),
        run_dir.display().to_string(),
        "--log-path".into(),
        bundle.join(format!("{id}-json.log")).display().to_string(),
    ]
}

/// `stdin`: the exec has an open stdin (`AttachStdin`), the shim's `--stdin` flag.
pub fn exec_args(id: &str, pid: i64, bundle: &Path, run_dir: &Path, stdin: bool) -> Vec<String> {
    let mut v = vec![
        "exec".into(),
        "--id".into(),
        id.into(),
        "--container-pid".into(),
        pid.to_string(),
        "--bundle".into(),
        bundle.display().to_string(),
        "--run-dir".into(),
        run_dir.display().to_string(),
        "--process".into(),
        run_dir.join("process.json").display().to_string(),
    ];
    if stdin {
        v.push("--stdin".into());
    }
    v
}

pub fn ctl_path(run_dir: &Path) -> PathBuf {
    run_dir.join("ctl.sock")
}

async fn connect(path: &Path) -> Result<UnixStream, ContainerError> {
    UnixStream::connect(path)
        .await
        .map_err(ContainerError::io("connect", path))
}

/// One ctl request, one response line.
pub async fn ctl(run_dir: &Path, req: Value) -> Result<Value, ContainerError> {
    let path = ctl_path(run_dir);
    let mut s = BufReader::new(connect(&path).await?);
    let mut line = req.to_string();
    line.push('\n');
    s.get_mut()
        .write_all(line.as_bytes())
        .await
        .map_err(ContainerError::io("write", &path))?;
    let mut resp = String::new();
    s.read_line(&mut resp)
        .await
        .map_err(ContainerError::io("read", &path))?;
    if resp.is_empty() {
        return Err(ContainerError::Shim(
            "ctl.sock closed without an answer".into(),
        ));
    }
    serde_json::from_str(&resp).map_err(|e| ContainerError::Shim(format!("bad ctl answer: {e}")))
}

/// `{"ok":true}` → Ok; `{"error":…,"exit_code":N}` → the message and code.
pub fn check(v: &Value) -> Result<(), (String, Option<i64>)> {
    if v.get("ok").and_then(Value::as_bool) == Some(true) {
        return Ok(());
    }
    let msg = v
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("unexpected answer")
        .to_string();
    Err((msg, v.get("exit_code").and_then(Value::as_i64)))
}

pub async fn kill(run_dir: &Path, signal: i32) -> Result<(), ContainerError> {
    let v = ctl(run_dir, json!({"op": "kill", "signal": signal})).await?;
    check(&v).map_err(|(m, _)| ContainerError::Shim(m))
}

/// The exit as the `wait` op (or state.json) reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct Exit {
    pub exit_code: i64,
    pub finished_at: Option<String>,
}

/// A `wait` connection, opened before the process starts so that no exit is missed.
pub struct WaitConn(BufReader<UnixStream>);

impl WaitConn {
    pub async fn open(run_dir: &Path) -> Result<WaitConn, ContainerError> {
        let path = ctl_path(run_dir);
        let mut s = connect(&path).await?;
        s.write_all(b"{\"op\":\"wait\"}\n")
            .await
            .map_err(ContainerError::io("write", &path))?;
        Ok(WaitConn(BufReader::new(s)))
    }

    /// The exit, or None when the shim died without answering.
    pub async fn exit(mut self) -> Option<Exit> {
        let mut line = String::new();
        match self.0.read_line(&mut line).await {
            Ok(n) if n > 0 => serde_json::from_str(&line).ok(),
            _ => None,
        }
    }
}

/// The shim's state.json (bundle for containers, run dir for execs).
#[derive(Debug, Clone, Deserialize)]
pub struct StateFile {
    pub status: String,
    pub exit_code: Option<i64>,
    pub finished_at: Option<String>,
}

pub fn read_state(dir: &Path) -> Option<StateFile> {
    let bytes = std::fs::read(dir.join("state.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Connects to attach.sock and sends the hello line.
pub async fn attach(run_dir: &Path, hello: &str) -> Result<UnixStream, ContainerError> {
    let path = run_dir.join("attach.sock");
    let mut s = connect(&path).await?;
    s.write_all(hello.as_bytes())
        .await
        .map_err(ContainerError::io("write", &path))?;
    Ok(s)
}

/// The attach client's first line. dockerd closes the process's stdin at the client's EOF only
/// without a TTY: with one, the end of an attach (a detach, a closed terminal) leaves the
/// shell running — for containers and execs alike.
pub fn hello(stdin: bool, stdout: bool, stderr: bool, stdin_once: bool, tty: bool) -> String {
    let stdin_once = stdin_once && !tty;
    let mut s =
        json!({"stdin": stdin, "stdout": stdout, "stderr": stderr, "stdin_once": stdin_once})
            .to_string();
    s.push('\n');
    s
}
