//! Helpers for the tests that run on the real kernel (as root).

#![allow(dead_code)]

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdocker_cgroups::DeviceRule;

pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    assert_eq!(
        uid, 0,
        "these tests drive the host's cgroups and must run as root"
    );
}

/// A fresh top-level name, unique per test and run.
pub fn unique(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("rdocker-test-{tag}-{}-{nanos}", std::process::id())
}

/// Docker's default device allowlist (moby oci/defaults.go), optionally without /dev/zero.
pub fn docker_default_devices(with_zero: bool) -> Vec<DeviceRule> {
    let mut rules = vec![
        "c *:* m",
        "b *:* m",
        "c 1:3 rwm",
        "c 1:8 rwm",
        "c 1:7 rwm",
        "c 5:0 rwm",
        "c 1:5 rwm",
        "c 1:9 rwm",
        "c 136:* rwm",
        "c 5:2 rwm",
        "c 10:200 rwm",
    ];
    if !with_zero {
        rules.retain(|r| *r != "c 1:5 rwm");
    }
    rules
        .into_iter()
        .map(|r| DeviceRule::parse(r, true).unwrap())
        .collect()
}

/// A forked child that joined the cgroup dirs; killed and reaped on drop.
pub struct Child {
    pub pid: i32,
    reaped: bool,
}

/// Forks a child that writes 0 to `<dir>/cgroup.procs` for every dir, tells us it did, then
/// runs `body` and exits with its value. `body` runs in the child of a multi-threaded
/// process: it may only make raw syscalls (no allocation, no locks).
pub fn spawn(dirs: &[PathBuf], body: fn() -> i32) -> Child {
    let procs: Vec<CString> = dirs
        .iter()
        .map(|d| CString::new(d.join("cgroup.procs").as_os_str().as_bytes()).unwrap())
        .collect();
    let mut fds = [0i32; 2];
    // SAFETY: fds is a valid 2-int array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: the child only makes async-signal-safe syscalls before _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // SAFETY: raw syscalls on memory prepared before the fork; the child never returns.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            libc::close(fds[0]);
            for p in &procs {
                let fd = libc::open(p.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                    libc::_exit(100);
                }
                libc::close(fd);
            }
            libc::write(fds[1], b"j".as_ptr().cast(), 1);
            libc::close(fds[1]);
            libc::_exit(body());
        }
    }
    // SAFETY: closing our copy of the write end; reading one byte into a local.
    unsafe {
        libc::close(fds[1]);
        let mut b = 0u8;
        let n = libc::read(fds[0], (&mut b as *mut u8).cast(), 1);
        libc::close(fds[0]);
        assert_eq!(n, 1, "child {pid} failed to join its cgroups");
    }
    Child { pid, reaped: false }
}

pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Child {
    /// Waits for the exit, at most `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> Exit {
        let start = std::time::Instant::now();
        loop {
            let mut st = 0;
            // SAFETY: waitpid on our own child, status into a local.
            let r = unsafe { libc::waitpid(self.pid, &mut st, libc::WNOHANG) };
            if r == self.pid {
                self.reaped = true;
                if libc::WIFSIGNALED(st) {
                    return Exit::Signal(libc::WTERMSIG(st));
                }
                return Exit::Code(libc::WEXITSTATUS(st));
            }
            assert!(r == 0, "waitpid: {}", std::io::Error::last_os_error());
            assert!(
                start.elapsed() < timeout,
                "child {} still running after {timeout:?}",
                self.pid
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// utime + stime in clock ticks, and the state letter, from /proc/<pid>/stat.
    pub fn cpu_ticks(&self) -> (u64, char) {
        let s = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap();
        let rest = &s[s.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let state = f[0].chars().next().unwrap();
        (
            f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap(),
            state,
        )
    }

    pub fn cgroup_file(&self) -> String {
        std::fs::read_to_string(format!("/proc/{}/cgroup", self.pid)).unwrap()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.reaped {
            // SAFETY: signalling and reaping our own child.
            unsafe {
                libc::kill(self.pid, libc::SIGKILL);
                libc::waitpid(self.pid, std::ptr::null_mut(), 0);
            }
        }
    }
}

/// Burns CPU forever.
pub fn busy() -> i32 {
    loop {
        std::hint::spin_loop();
    }
}

pub fn errno() -> i32 {
    // SAFETY: reading the calling thread's errno.
    unsafe { *libc::__errno_location() }
}

pub fn is_dir(p: &Path) -> bool {
    p.is_dir()
}
