//! A private rdockerd for one test: its own data root, exec root and socket in a temp dir,
//! the test registry as docker.io mirror, and a CLI runner bound to its socket.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::util::{bin_dir, output_with_timeout, wait_for};

/// How long one CLI command may take before the test calls it hung.
pub const CLI_TIMEOUT: Duration = Duration::from_secs(90);

/// The output of one `rdocker` (or `docker`, `curl`) run.
#[derive(Debug, Clone)]
pub struct CliOutput {
    pub args: Vec<String>,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    pub elapsed: Duration,
}

impl CliOutput {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
    /// stdout and stderr together, for messages that may go to either.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
    /// Panics with everything useful when the command failed.
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert!(self.success(), "command failed: {self}");
        self
    }
    #[track_caller]
    pub fn assert_fail(&self) -> &Self {
        assert!(!self.timed_out, "command hung: {self}");
        assert!(!self.success(), "command should have failed: {self}");
        self
    }
}

impl std::fmt::Display for CliOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` → exit {:?}{} in {:.1?}\n--- stdout\n{}--- stderr\n{}",
            self.args.join(" "),
            self.code,
            if self.timed_out { " (TIMED OUT)" } else { "" },
            self.elapsed,
            self.stdout,
            self.stderr
        )
    }
}

/// Runs any command with a timeout into a [`CliOutput`].
pub fn run(cmd: &mut Command, timeout: Duration) -> CliOutput {
    let mut args = vec![cmd.get_program().to_string_lossy().into_owned()];
    args.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    let start = Instant::now();
    let (out, timed_out) = output_with_timeout(cmd, timeout).expect("command spawns");
    let out = CliOutput {
        args,
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        timed_out,
        elapsed: start.elapsed(),
    };
    // RDOCKER_TEST_VERBOSE=1 shows every command and its output (with --nocapture).
    if std::env::var_os("RDOCKER_TEST_VERBOSE").is_some() {
        eprintln!("{out}");
    }
    out
}

/// Whether the tests run against Debian's dockerd instead of rdockerd
/// (`RDOCKER_TEST_ENGINE=dockerd`), to check the tests' expectations against the reference.
pub fn reference_engine() -> bool {
    std::env::var("RDOCKER_TEST_ENGINE").as_deref() == Ok("dockerd")
}

pub struct TestDaemon {
    child: Option<Child>,
    args: Vec<String>,
    dir: tempfile::TempDir,
}

impl TestDaemon {
    /// Starts rdockerd with `mirrors` as docker.io mirrors and `extra` flags.
    pub fn start(mirrors: &[String], extra: &[&str]) -> Result<TestDaemon> {
        // A short prefix under /tmp: the socket path must stay below 108 bytes.
        let dir = tempfile::Builder::new().prefix("rdd-").tempdir_in("/tmp")?;
        let p = dir.path();
        for d in ["data", "exec", "cli-config", "docker-config"] {
            fs::create_dir_all(p.join(d))?;
        }
        // Isolate from any /etc/rdocker/daemon.json on the machine.
        fs::write(p.join("daemon.json"), "{}\n")?;
        if reference_engine() {
            return Self::start_dockerd(dir, mirrors);
        }
        let mut args: Vec<String> = vec![
            "--config-file".into(),
            p.join("daemon.json").display().to_string(),
            "--data-root".into(),
            p.join("data").display().to_string(),
            "--exec-root".into(),
            p.join("exec").display().to_string(),
            "-H".into(),
            format!("unix://{}", p.join("exec/rdocker.sock").display()),
            "--pidfile".into(),
            p.join("rdockerd.pid").display().to_string(),
            // Tests never reach beyond loopback: a docker.io name the mirror lacks must fail
            // there, not fall back to Docker Hub (which would also mean a DNS query).
            "--registry-mirrors-only".into(),
        ];
        for m in mirrors {
            args.push("--registry-mirror".into());
            args.push(m.clone());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        // Everything a daemon makes on the host is its own (several run at once), and no
        // DNS query leaves the host: a container's resolver is its own loopback, the embedded
        // DNS's upstream a port where nothing listens. The caller's flags win.
        let tag = crate::netns_host::rand_hex(6);
        for (flag, value) in [
            ("--bridge", format!("rdt{tag}")),
            ("--nft-table", format!("rdocker_{tag}")),
            ("--dns", "127.0.0.1".to_string()),
            ("--dns-upstream", "127.0.0.1:9".to_string()),
            // 256 subnets for the test daemons of a host instead of docker's 31.
            (
                "--default-address-pool",
                "base=10.210.0.0/16,size=24".to_string(),
            ),
        ] {
            let given = extra.iter().any(|a| {
                *a == flag
                    || a.starts_with(&format!("{flag}="))
                    || (flag == "--bridge" && *a == "-b")
            });
            if !given {
                args.push(flag.into());
                args.push(value);
            }
        }
        let mut d = TestDaemon {
            child: None,
            args,
            dir,
        };
        d.spawn()?;
        Ok(d)
    }

    /// Debian's dockerd in rdockerd's place, for checking what a test expects against the
    /// reference (`RDOCKER_TEST_ENGINE=dockerd`): same dirs, no bridge, no iptables, the
    /// mirrors as insecure registries. Only for tests whose images the mirror has: dockerd
    /// falls back to Docker Hub for the others.
    fn start_dockerd(dir: tempfile::TempDir, mirrors: &[String]) -> Result<TestDaemon> {
        let p = dir.path();
        let mut args: Vec<String> = vec![
            "--data-root".into(),
            p.join("data").display().to_string(),
            "--exec-root".into(),
            p.join("exec").display().to_string(),
            "-H".into(),
            format!("unix://{}", p.join("exec/rdocker.sock").display()),
            "--pidfile".into(),
            p.join("rdockerd.pid").display().to_string(),
            "--bridge=none".into(),
            "--iptables=false".into(),
            "--ip-masq=false".into(),
            "--storage-driver=overlay2".into(),
        ];
        for m in mirrors {
            args.push("--registry-mirror".into());
            args.push(m.clone());
            args.push("--insecure-registry".into());
            args.push(m.trim_start_matches("http://").to_string());
        }
        let mut d = TestDaemon {
            child: None,
            args,
            dir,
        };
        d.spawn()?;
        Ok(d)
    }

    /// rdockerd with `reg` as the docker.io mirror.
    pub fn with_registry(reg: &crate::TestRegistry) -> Result<TestDaemon> {
        Self::start(&[reg.url()], &[])
    }

    fn spawn(&mut self) -> Result<()> {
        let bin = if reference_engine() {
            PathBuf::from("/usr/sbin/dockerd")
        } else {
            bin_dir().join("rdockerd")
        };
        if !bin.exists() {
            bail!(
                "{} not found: build it first (or set RDOCKER_BIN_DIR)",
                bin.display()
            );
        }
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let child = Command::new(&bin)
            .args(&self.args)
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        self.child = Some(child);
        let ready = wait_for(Duration::from_secs(20), || {
            if let Some(Ok(Some(st))) = self.child.as_mut().map(|c| c.try_wait()) {
                return Some(Err(st));
            }
            self.ping().then_some(Ok(()))
        });
        match ready {
            Some(Ok(())) => Ok(()),
            Some(Err(st)) => bail!(
                "rdockerd exited ({st}) before answering /_ping:\n{}",
                self.log()
            ),
            None => bail!(
                "rdockerd did not answer /_ping within 20 s:\n{}",
                self.log()
            ),
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
    pub fn data_root(&self) -> PathBuf {
        self.dir.path().join("data")
    }
    pub fn exec_root(&self) -> PathBuf {
        self.dir.path().join("exec")
    }
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("exec/rdocker.sock")
    }
    /// "unix:///tmp/rdd-…/exec/rdocker.sock", for -H and DOCKER_HOST.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("rdockerd.log")
    }
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }
    /// Whether the process we started is still alive (not reaped).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// `GET /_ping` answers 200 "OK".
    pub fn ping(&self) -> bool {
        let (code, body) = self.api("GET", "/_ping");
        code == 200 && body.trim() == "OK"
    }

    /// One API call through curl: (status, body). Status 0 when curl could not connect.
    pub fn api(&self, method: &str, path: &str) -> (u16, String) {
        let out = run(
            Command::new("curl")
                .args([
                    "-s",
                    "--max-time",
                    "20",
                    "-X",
                    method,
                    "-w",
                    "\n%{http_code}",
                ])
                .arg("--unix-socket")
                .arg(self.socket())
                .arg(format!("http://localhost{path}")),
            Duration::from_secs(30),
        );
        let (body, code) = out.stdout.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }

    /// One API call with a JSON body: (status, body).
    pub fn api_json(&self, method: &str, path: &str, body: &serde_json::Value) -> (u16, String) {
        let out = run(
            Command::new("curl")
                .args([
                    "-s",
                    "--max-time",
                    "60",
                    "-X",
                    method,
                    "-w",
                    "\n%{http_code}",
                ])
                .args(["-H", "Content-Type: application/json", "-d"])
                .arg(body.to_string())
                .arg("--unix-socket")
                .arg(self.socket())
                .arg(format!("http://localhost{path}")),
            Duration::from_secs(70),
        );
        let (body, code) = out.stdout.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }

    /// `GET /containers/{name}/json` parsed; None when it is not 200.
    pub fn inspect(&self, name: &str) -> Option<serde_json::Value> {
        let (code, body) = self.api("GET", &format!("/containers/{name}/json"));
        if code != 200 {
            return None;
        }
        serde_json::from_str(&body).ok()
    }

    /// The host pid of a running container's init (`State.Pid`), when it is running.
    pub fn container_pid(&self, name: &str) -> Option<u32> {
        let v = self.inspect(name)?;
        let pid = v["State"]["Pid"].as_u64()? as u32;
        (pid > 0).then_some(pid)
    }

    /// The `rdocker` command bound to this daemon, for callers that run it themselves (under
    /// a PTY, or timed).
    pub fn cli_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin_dir().join("rdocker"));
        cmd.arg("-H").arg(self.host()).args(args);
        cmd.env("RDOCKER_CONFIG", self.dir.path().join("cli-config"))
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
            .env_remove("DOCKER_HOST");
        cmd
    }

    /// The stock docker CLI bound to this daemon, unstarted.
    pub fn docker_command(&self, docker: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(docker);
        cmd.args(args)
            .env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", self.dir.path().join("docker-config"))
            .env("TERM", "xterm");
        cmd
    }

    /// `rdocker -H unix://… <args>` with a private CLI config dir.
    pub fn cli(&self, args: &[&str]) -> CliOutput {
        self.cli_timeout(args, CLI_TIMEOUT)
    }

    pub fn cli_timeout(&self, args: &[&str], timeout: Duration) -> CliOutput {
        run(&mut self.cli_command(args), timeout)
    }

    /// Starts `rdocker <args>` without waiting (for tests that kill the daemon mid-command).
    pub fn cli_spawn(&self, args: &[&str]) -> Result<Child> {
        Ok(Command::new(bin_dir().join("rdocker"))
            .arg("-H")
            .arg(self.host())
            .args(args)
            .env("RDOCKER_CONFIG", self.dir.path().join("cli-config"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?)
    }

    /// The stock docker CLI against this daemon, when installed.
    pub fn docker(&self, docker: &Path, args: &[&str]) -> CliOutput {
        let mut cmd = Command::new(docker);
        cmd.args(args)
            .env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", self.dir.path().join("docker-config"));
        run(&mut cmd, CLI_TIMEOUT)
    }

    /// SIGKILL, as a crash would: no cleanup runs.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait up to `grace`; then SIGKILL. Returns the exit code if it exited itself.
    pub fn stop(&mut self, grace: Duration) -> Option<i32> {
        let mut c = self.child.take()?;
        // SAFETY: kill(2) on a pid we spawned and have not reaped yet.
        unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
        let (st, timed_out) = crate::util::wait_timeout(&mut c, grace).ok()?;
        if timed_out {
            None
        } else {
            st.code()
        }
    }

    /// Starts rdockerd again on the same dirs and flags (after [`kill9`](Self::kill9) or stop).
    pub fn restart(&mut self) -> Result<()> {
        self.stop(Duration::from_secs(10));
        self.spawn()
    }
}

/// Detaches every mount below `dir`, deepest first.
fn unmount_below(dir: &Path) {
    let prefix = format!("{}/", dir.display());
    let mut points: Vec<String> = fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .filter(|p| p.starts_with(&prefix))
        .map(String::from)
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&p)
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        if reference_engine() {
            // dockerd without live restore would leave containerd shims of running containers.
            let (_, body) = self.api("GET", "/containers/json?all=1");
            let list: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            for c in list.as_array().into_iter().flatten() {
                if let Some(id) = c["Id"].as_str() {
                    self.api("DELETE", &format!("/containers/{id}?force=1"));
                }
            }
            self.stop(Duration::from_secs(20));
            // dockerd leaves its overlay and data-root mounts below the dir.
            unmount_below(self.dir.path());
        } else {
            // The daemon's bridges and nft table are per-daemon: removed with it below.
            let net = crate::netcensus::Teardown::collect(self);
            self.stop(Duration::from_secs(5));
            // Containers outlive rdockerd by design (live restore); those a test left running
            // go with their shims (the container's init has PDEATHSIG), so no test run leaves
            // processes on the machine.
            for pid in crate::procs::shims_under(self.dir.path()) {
                crate::procs::kill9(pid);
            }
            net.run(self);
            // A restarted rdockerd would remove the cgroups of containers that died meanwhile;
            // this one never restarts, so their cgroups go here.
            remove_container_cgroups(&self.data_root().join("containers"));
        }
    }
}

/// Removes `/sys/fs/cgroup/<hierarchy>/rdocker/<id>` of every container dir in `containers`,
/// waiting briefly for processes killed just before to leave them.
fn remove_container_cgroups(containers: &Path) {
    let Ok(ids) = fs::read_dir(containers) else {
        return;
    };
    let ids: Vec<String> = ids
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    let Ok(hierarchies) = fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    let roots: Vec<PathBuf> = hierarchies
        .flatten()
        .map(|h| h.path().join("rdocker"))
        .chain(std::iter::once(PathBuf::from("/sys/fs/cgroup/rdocker")))
        .filter(|p| p.is_dir())
        .collect();
    for id in &ids {
        for root in &roots {
            let dir = root.join(id);
            if dir.is_dir() {
                wait_for(Duration::from_secs(2), || fs::remove_dir(&dir).ok());
            }
        }
    }
}
