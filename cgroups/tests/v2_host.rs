//! cgroup v2 on the real kernel: the host's cgroup2 hierarchy (on a hybrid host the one at
//! /sys/fs/cgroup/unified; where none is mounted, a temporary cgroup2 mount). Proves joining,
//! cgroup.freeze, the eBPF device program and removal, even on a v1 host.

mod common;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Duration;

use common::*;
use rdocker_cgroups::{Cgroup, Layout, Resources};

/// A cgroup2 mount point: the host's, or one made here (unmounted on drop).
struct V2Root {
    path: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl V2Root {
    /// `fresh`: always make a temporary mount (tests that path on hosts that have one).
    fn get(fresh: bool) -> V2Root {
        require_root();
        let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        for line in mi.lines().filter(|_| !fresh) {
            let Some((pre, post)) = line.split_once(" - ") else {
                continue;
            };
            if post.split_whitespace().next() == Some("cgroup2") {
                let mp = pre.split_whitespace().nth(4).unwrap();
                return V2Root {
                    path: PathBuf::from(mp),
                    _tmp: None,
                };
            }
        }
        let tmp = tempfile::tempdir().unwrap();
        let target = CString::new(tmp.path().as_os_str().as_bytes()).unwrap();
        // SAFETY: NUL-terminated strings that outlive the call.
        let r = unsafe {
            libc::mount(
                c"none".as_ptr(),
                target.as_ptr(),
                c"cgroup2".as_ptr(),
                0,
                std::ptr::null(),
            )
        };
        assert_eq!(
            r,
            0,
            "mount -t cgroup2: {}",
            std::io::Error::last_os_error()
        );
        V2Root {
            path: tmp.path().to_path_buf(),
            _tmp: Some(tmp),
        }
    }
}

impl Drop for V2Root {
    fn drop(&mut self) {
        if self._tmp.is_some() {
            let target = CString::new(self.path.as_os_str().as_bytes()).unwrap();
            // SAFETY: unmounting the mount this struct made.
            unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

struct Tree {
    top: Cgroup,
    leaf: Cgroup,
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = self.leaf.remove();
        let _ = self.top.remove();
    }
}

fn tree(l: &Layout, tag: &str) -> Tree {
    let top = unique(tag);
    Tree {
        top: Cgroup::new(l, &top),
        leaf: Cgroup::new(l, format!("{top}/x")),
    }
}

/// 0: /dev/null opens and /dev/zero is refused with EPERM, as the program says.
fn probe_devices() -> i32 {
    // SAFETY: open/close with static NUL-terminated paths.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
        if null < 0 {
            return 1;
        }
        libc::close(null);
        let zero = libc::open(c"/dev/zero".as_ptr(), libc::O_RDONLY);
        if zero >= 0 {
            return 2;
        }
        if errno() != libc::EPERM {
            return 3;
        }
    }
    0
}

#[test]
fn bpf_device_program_denies_what_is_not_allowed() {
    let root = V2Root::get(false);
    let l = Layout::unified_at(&root.path);
    let t = tree(&l, "bpf");
    let warnings = t
        .leaf
        .create(&Resources {
            devices: docker_default_devices(false),
            ..Default::default()
        })
        .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let mut child = spawn(&t.leaf.dirs(), probe_devices);
    match child.wait(Duration::from_secs(5)) {
        Exit::Code(0) => {}
        Exit::Code(1) => panic!("/dev/null (c 1:3, allowed) could not be opened"),
        Exit::Code(2) => panic!("/dev/zero (c 1:5, not allowed) was opened"),
        Exit::Code(3) => panic!("/dev/zero was refused, but not with EPERM"),
        Exit::Code(c) => panic!("probe exited {c}"),
        Exit::Signal(s) => panic!("probe killed by {s}"),
    }
    // The same probe outside the cgroup opens /dev/zero: the program, not the host, refused it.
    let mut outside = spawn(&[], probe_devices);
    assert!(matches!(
        outside.wait(Duration::from_secs(5)),
        Exit::Code(2)
    ));

    t.leaf.remove().unwrap();
    t.top.remove().unwrap();
    assert!(!root.path.join(&t.top.rel).exists());
}

#[test]
fn join_freeze_stats_remove() {
    // A second mount of the same cgroup2 hierarchy, made and unmounted here.
    let root = V2Root::get(true);
    let l = Layout::unified_at(&root.path);
    let t = tree(&l, "frz");
    t.leaf.create(&Resources::default()).unwrap();
    let mut child = spawn(&t.leaf.dirs(), busy);
    let line = child.cgroup_file();
    assert!(
        line.lines()
            .any(|l| l.starts_with("0::") && l.ends_with(&format!("/{}", t.leaf.rel.display()))),
        "{line}"
    );
    assert_eq!(t.leaf.pids().unwrap(), vec![child.pid]);
    std::thread::sleep(Duration::from_millis(200));
    let s = t.leaf.stats().unwrap();
    assert!(s.cpu_total > 0 && s.cpu_user > 0, "{s:?}");

    t.leaf.freeze().unwrap();
    let events =
        std::fs::read_to_string(root.path.join(&t.leaf.rel).join("cgroup.events")).unwrap();
    assert!(events.contains("frozen 1"), "{events}");
    let (before, _) = child.cpu_ticks();
    std::thread::sleep(Duration::from_millis(300));
    let (after, _) = child.cpu_ticks();
    assert_eq!(before, after, "a frozen child made progress");
    t.leaf.thaw().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.cpu_ticks().0 > after,
        "the thawed child did not resume"
    );

    t.leaf.freeze().unwrap();
    t.leaf.remove().unwrap();
    assert!(matches!(
        child.wait(Duration::from_secs(2)),
        Exit::Signal(libc::SIGKILL)
    ));
    assert!(!t.leaf.exists());
    t.top.remove().unwrap();
    assert!(!root.path.join(&t.top.rel).exists());
}

/// 0: /dev/zero opens read-only but not write-only; /dev/null opens read-only but not for
/// writing (a later deny of "w").
fn probe_access() -> i32 {
    // SAFETY: open/close with static NUL-terminated paths.
    unsafe {
        let try_open = |p: *const libc::c_char, flags: i32| {
            let fd = libc::open(p, flags);
            if fd >= 0 {
                libc::close(fd);
                true
            } else {
                false
            }
        };
        if !try_open(c"/dev/zero".as_ptr(), libc::O_RDONLY) {
            return 1;
        }
        if try_open(c"/dev/zero".as_ptr(), libc::O_WRONLY) {
            return 2;
        }
        if !try_open(c"/dev/null".as_ptr(), libc::O_RDONLY) {
            return 3;
        }
        if try_open(c"/dev/null".as_ptr(), libc::O_RDWR) {
            return 4;
        }
    }
    0
}

#[test]
fn bpf_access_bits_and_later_denies() {
    let root = V2Root::get(false);
    let l = Layout::unified_at(&root.path);
    let t = tree(&l, "acc");
    let rule = |s: &str, allow: bool| rdocker_cgroups::DeviceRule::parse(s, allow).unwrap();
    t.leaf
        .create(&Resources {
            devices: vec![
                rule("c 1:5 r", true),
                rule("c 1:3 rwm", true),
                rule("c *:* w", false),
            ],
            ..Default::default()
        })
        .unwrap();
    let mut child = spawn(&t.leaf.dirs(), probe_access);
    match child.wait(Duration::from_secs(5)) {
        Exit::Code(0) => {}
        Exit::Code(c) => panic!("access probe failed at step {c}"),
        Exit::Signal(s) => panic!("probe killed by {s}"),
    }
    t.leaf.remove().unwrap();
    t.top.remove().unwrap();
}
