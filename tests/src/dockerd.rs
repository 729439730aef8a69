//! A private Docker daemon for side-by-side benchmarks: its own data root, exec root and
//! socket, no bridge and no iptables rules, so it touches neither the host's network nor any
//! other engine. Used only when Debian's `dockerd` is installed (`examples/bench-pull` installs
//! it on request); never by the test suite.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

pub struct PrivateDockerd {
    child: Child,
    stopped: bool,
    dir: tempfile::TempDir,
}

impl PrivateDockerd {
    /// Whether a `dockerd` binary and a `docker` CLI are on PATH.
    pub fn installed() -> bool {
        let found = |b: &str| {
            Command::new("sh")
                .args(["-c", &format!("command -v {b}")])
                .stdout(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        };
        found("dockerd") && found("docker")
    }

    /// Starts dockerd with a fresh data root and waits until it answers.
    pub fn start() -> Result<PrivateDockerd> {
        // Short path: containerd's socket lives under the exec root and must stay < 108 bytes.
        let dir = tempfile::Builder::new().prefix("bd-").tempdir_in("/tmp")?;
        let p = dir.path();
        let log = fs::File::create(p.join("dockerd.log"))?;
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(p.join("data"))
            .arg("--exec-root")
            .arg(p.join("exec"))
            .arg("-H")
            .arg(format!("unix://{}", p.join("d.sock").display()))
            .arg("--pidfile")
            .arg(p.join("d.pid"))
            .args([
                "--bridge=none",
                "--iptables=false",
                "--ip-masq=false",
                "--storage-driver=overlay2",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting dockerd")?;
        let d = PrivateDockerd {
            child,
            stopped: false,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if d.docker(&["version"])
                .map(|o| o.status.success())
                .unwrap_or(false)
            {
                return Ok(d);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("dockerd did not answer within 30 s; log:\n{}", d.log())
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("d.sock")
    }

    pub fn docker(&self, args: &[&str]) -> Result<Output> {
        Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", self.socket().display()))
            .args(args)
            .output()
            .context("running docker")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PrivateDockerd {
    fn drop(&mut self) {
        self.stop();
    }
}

impl PrivateDockerd {
    /// Stops dockerd but keeps its data root until the value is dropped (benchmarks delete
    /// trees only at the end: on ext4 creating files right after a large delete is slow).
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        // SIGTERM lets dockerd stop its containerd; SIGKILL only if it does not exit.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Nothing may stay mounted below the dir before it is removed.
        let _ = Command::new("umount")
            .args(["-R", "-l"])
            .arg(self.dir.path())
            .stderr(Stdio::null())
            .status();
    }
}
