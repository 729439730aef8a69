//! Test support: a busybox bundle in a tempdir and a driver for the real rdocker-shim binary.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::symlink;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const SHIM: &str = env!("CARGO_BIN_EXE_rdocker-shim");

const APPLETS: &[&str] = &[
    "sh", "echo", "ps", "hostname", "sleep", "cat", "id", "ls", "true", "false", "tty", "stty",
    "kill", "env", "pwd", "grep", "wc", "head", "mkdir", "readlink",
];

pub fn require_root() {
    assert!(
        rustix::process::geteuid().is_root(),
        "these tests create namespaces and mounts: run them as root"
    );
}

pub struct Opts {
    pub terminal: bool,
    pub console: Option<(u32, u32)>,
    pub hostname: String,
    pub annotations: Vec<(&'static str, String)>,
    pub cwd: String,
    pub env: Vec<String>,
    /// Merged into the spec's `process` object.
    pub process_extra: Value,
    pub namespaces: Vec<&'static str>,
    /// Namespaces joined by path: (type, path).
    pub join: Vec<(&'static str, String)>,
    /// Merged into the spec's `linux` object (sysctl, maskedPaths, ...).
    pub linux_extra: Value,
    /// Destinations of the default mounts to leave out.
    pub drop_mounts: Vec<&'static str>,
    /// Appended to the default mounts.
    pub extra_mounts: Vec<Value>,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            terminal: false,
            console: None,
            hostname: "ctr-test".into(),
            annotations: Vec::new(),
            cwd: "/".into(),
            env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
            process_extra: json!({}),
            namespaces: vec!["pid", "mount", "uts", "ipc", "network"],
            join: Vec::new(),
            linux_extra: json!({}),
            drop_mounts: Vec::new(),
            extra_mounts: Vec::new(),
        }
    }
}

impl Opts {
    pub fn annotate(mut self, key: &'static str, value: &str) -> Self {
        self.annotations.push((key, value.to_string()));
        self
    }
}

pub struct Bundle {
    pub tmp: tempfile::TempDir,
    pub bundle: PathBuf,
    pub run_dir: PathBuf,
    pub log: PathBuf,
}

/// Executables are written once per test process and hard-linked into each rootfs: a file
/// being written while another test thread forks stays open for writing in that child until it
/// execs, and execve of it then fails with ETXTBSY.
pub struct Cache {
    _dir: tempfile::TempDir,
    pub busybox: PathBuf,
    /// Executable bits, not a valid binary (ENOEXEC).
    pub bad: PathBuf,
}

pub fn cache() -> &'static Cache {
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| {
        use std::os::unix::fs::PermissionsExt;
        let src = Path::new("/bin/busybox");
        assert!(
            src.exists(),
            "/bin/busybox is missing: install Debian's busybox-static (scripts/install-deps)"
        );
        let dir = tempfile::tempdir().unwrap();
        let busybox = dir.path().join("busybox");
        std::fs::copy(src, &busybox).unwrap();
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "\x7fELF but not really").unwrap();
        std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o755)).unwrap();
        Cache {
            _dir: dir,
            busybox,
            bad,
        }
    })
}

pub fn bundle(args: &[&str], opts: Opts) -> Bundle {
    require_root();
    let tmp = tempfile::tempdir().unwrap();
    let bundle = tmp.path().join("b");
    let root = bundle.join("rootfs");
    for d in ["bin", "etc", "proc", "dev", "sys", "tmp", "root"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::hard_link(&cache().busybox, root.join("bin/busybox")).unwrap();
    for a in APPLETS {
        symlink("busybox", root.join("bin").join(a)).unwrap();
    }
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nalice:x:1000:1000::/home/alice:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(
        root.join("etc/group"),
        "root:x:0:\ntty:x:5:\nstaff:x:50:alice\nalice:x:1000:\nnogroup:x:65534:\n",
    )
    .unwrap();
    let run_dir = tmp.path().join("r");
    std::fs::create_dir(&run_dir).unwrap();
    let mut process = json!({
        "terminal": opts.terminal,
        "user": {"uid": 0, "gid": 0},
        "args": args,
        "env": opts.env,
        "cwd": opts.cwd,
    });
    if let Some(extra) = opts.process_extra.as_object() {
        for (k, v) in extra {
            process[k] = v.clone();
        }
    }
    if let Some((h, w)) = opts.console {
        process["consoleSize"] = json!({"height": h, "width": w});
    }
    let annotations: serde_json::Map<String, Value> = opts
        .annotations
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let mut spec = json!({
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": "rootfs"},
        "hostname": opts.hostname,
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}
        ],
        "linux": {
            "namespaces": opts.namespaces.iter().map(|n| json!({"type": n}))
                .chain(opts.join.iter().map(|(t, p)| json!({"type": t, "path": p})))
                .collect::<Vec<_>>()
        },
        "annotations": annotations,
    });
    if let Some(extra) = opts.linux_extra.as_object() {
        for (k, v) in extra {
            spec["linux"][k] = v.clone();
        }
    }
    if let Some(mounts) = spec["mounts"].as_array_mut() {
        mounts.retain(|m| !opts.drop_mounts.iter().any(|d| m["destination"] == *d));
        mounts.extend(opts.extra_mounts.iter().cloned());
    }
    std::fs::write(
        bundle.join("config.json"),
        serde_json::to_vec_pretty(&spec).unwrap(),
    )
    .unwrap();
    let log = bundle.join("c-json.log");
    Bundle {
        tmp,
        bundle,
        run_dir,
        log,
    }
}

pub struct Shim {
    pub child: Child,
    pub pid: i32,
    pub run_dir: PathBuf,
    /// Time from spawning the shim to its `{"pid"}` line.
    pub create_time: Duration,
    /// The `{"pid"}` line as printed.
    pub hello: Value,
}

/// Starts a container shim; Err is the error line when it refused.
pub fn create(b: &Bundle) -> Result<Shim, (Value, Child)> {
    let mut cmd = Command::new(SHIM);
    cmd.args(["container", "--id", "c", "--bundle"])
        .arg(&b.bundle)
        .arg("--run-dir")
        .arg(&b.run_dir)
        .arg("--log-path")
        .arg(&b.log);
    launch(&mut cmd, &b.run_dir)
}

pub fn launch(cmd: &mut Command, run_dir: &Path) -> Result<Shim, (Value, Child)> {
    let t0 = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn rdocker-shim");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let create_time = t0.elapsed();
    let v: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("shim printed {line:?}: {e}"));
    match v.get("pid").and_then(Value::as_i64) {
        Some(pid) => Ok(Shim {
            child,
            pid: pid as i32,
            run_dir: run_dir.to_path_buf(),
            create_time,
            hello: v,
        }),
        None => Err((v, child)),
    }
}

impl Shim {
    pub fn ctl(&self, req: Value) -> Value {
        let mut s = UnixStream::connect(self.run_dir.join("ctl.sock")).unwrap();
        s.write_all(format!("{req}\n").as_bytes()).unwrap();
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("ctl answered {line:?}: {e}"))
    }

    pub fn attach(&self, opts: Value) -> UnixStream {
        let mut s = UnixStream::connect(self.run_dir.join("attach.sock")).unwrap();
        s.write_all(format!("{opts}\n").as_bytes()).unwrap();
        s
    }

    /// A `wait` connection, opened early (as the engine does); `finish_wait` reads the answer.
    pub fn wait_conn(&self) -> UnixStream {
        let mut s = UnixStream::connect(self.run_dir.join("ctl.sock")).unwrap();
        s.write_all(b"{\"op\":\"wait\"}\n").unwrap();
        s
    }

    pub fn start(&self) -> Value {
        self.ctl(json!({"op": "start"}))
    }

    /// Waits for the shim to exit and checks it cleaned up.
    pub fn reap(mut self) {
        let status = self.child.wait().unwrap();
        assert!(status.success(), "shim exited with {status}");
        assert!(
            !self.run_dir.join("ctl.sock").exists(),
            "ctl.sock left behind"
        );
        assert!(
            !self.run_dir.join("attach.sock").exists(),
            "attach.sock left behind"
        );
    }
}

impl Drop for Shim {
    /// A failed test must not leave its shim (and container) running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn finish_wait(s: UnixStream) -> i32 {
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    let v: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("wait answered {line:?}: {e}"));
    assert!(v["finished_at"].as_str().unwrap().ends_with('Z'));
    v["exit_code"].as_i64().unwrap() as i32
}

/// Reads multiplexed frames until EOF: (stdout, stderr).
pub fn read_frames(mut s: UnixStream) -> (String, String) {
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut rest = &all[..];
    while rest.len() >= 8 {
        let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        assert_eq!(&rest[1..4], &[0, 0, 0], "bad frame header");
        let payload = &rest[8..8 + len];
        match rest[0] {
            1 => out.extend_from_slice(payload),
            2 => err.extend_from_slice(payload),
            other => panic!("bad stream {other}"),
        }
        rest = &rest[8 + len..];
    }
    assert!(rest.is_empty(), "trailing partial frame");
    (
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

/// Reads frames until `needle` appears in stdout (for interactive tests).
pub fn read_until(s: &mut UnixStream, needle: &str) -> String {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = Vec::new();
    let mut hdr = [0u8; 8];
    while !String::from_utf8_lossy(&out).contains(needle) {
        s.read_exact(&mut hdr).unwrap_or_else(|e| {
            panic!(
                "waiting for {needle:?}, got {:?}: {e}",
                String::from_utf8_lossy(&out)
            )
        });
        let len = u32::from_be_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]) as usize;
        let mut p = vec![0u8; len];
        s.read_exact(&mut p).unwrap();
        out.extend_from_slice(&p);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs a container to the end: (exit code, stdout, stderr).
pub fn run(args: &[&str], opts: Opts) -> (i32, String, String, Bundle) {
    let b = bundle(args, opts);
    let shim = create(&b).unwrap_or_else(|(v, _)| panic!("create failed: {v}"));
    let (code, out, err) = run_created(shim, args, &b);
    (code, out, err, b)
}

/// Starts a created container and collects everything: (exit code, stdout, stderr).
pub fn run_created(shim: Shim, args: &[&str], b: &Bundle) -> (i32, String, String) {
    let wait = shim.wait_conn();
    let a = shim.attach(json!({"stdin": false, "stdout": true, "stderr": true}));
    assert_eq!(shim.start(), json!({"ok": true}));
    let (out, err) = read_frames(a);
    let code = finish_wait(wait);
    shim.reap();
    if out.is_empty() && err.is_empty() {
        eprintln!(
            "DIAG no output from {args:?}; log: {:?}",
            std::fs::read_to_string(&b.log).unwrap_or_default()
        );
    }
    (code, out, err)
}

/// Starts an exec shim in the running container `shim` of bundle `b`.
pub fn exec(shim: &Shim, b: &Bundle, process: Value, stdin: bool) -> Result<Shim, (Value, Child)> {
    let run_dir = b.tmp.path().join(format!("x{}", rand_suffix()));
    std::fs::create_dir(&run_dir).unwrap();
    let pj = run_dir.join("process.json");
    std::fs::write(&pj, process.to_string()).unwrap();
    let mut cmd = Command::new(SHIM);
    cmd.args([
        "exec",
        "--id",
        "e1",
        "--container-pid",
        &shim.pid.to_string(),
        "--bundle",
    ])
    .arg(&b.bundle)
    .arg("--run-dir")
    .arg(&run_dir)
    .arg("--process")
    .arg(&pj);
    if stdin {
        cmd.arg("--stdin");
    }
    launch(&mut cmd, &run_dir)
}

/// Runs an exec to the end: (exit code, stdout, stderr).
pub fn run_exec(shim: &Shim, b: &Bundle, process: Value) -> (i32, String, String) {
    let ex = exec(shim, b, process, false).unwrap_or_else(|(v, _)| panic!("exec failed: {v}"));
    let wait = ex.wait_conn();
    let a = ex.attach(json!({"stdout": true, "stderr": true}));
    assert_eq!(ex.start(), json!({"ok": true}));
    let (out, err) = read_frames(a);
    let code = finish_wait(wait);
    ex.reap();
    (code, out, err)
}

pub fn rand_suffix() -> u128 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    t * 1000 + u128::from(N.fetch_add(1, Ordering::Relaxed) % 1000)
}

/// Stops a running container with SIGKILL and waits for its shim.
pub fn kill_and_reap(shim: Shim) {
    let wait = shim.wait_conn();
    assert_eq!(
        shim.ctl(json!({"op": "kill", "signal": 9})),
        json!({"ok": true})
    );
    assert_eq!(finish_wait(wait), 137);
    shim.reap();
}

pub fn state(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

pub fn vm_rss_kib(pid: i32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}
