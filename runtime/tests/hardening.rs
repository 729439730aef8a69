//! Escape hardening, each test trying the attack against the real rdocker-shim binary (root):
//! the /dev/null used for masking (CVE-2025-31133's class), /proc and /sys through symlinks
//! (CVE-2019-19921), leaked fds and the working directory (CVE-2024-21626), and the runtime
//! binary reached through /proc/<shim>/exe (CVE-2019-5736).

mod common;

use std::collections::BTreeSet;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::symlink;
use std::os::unix::process::CommandExt;
use std::process::Command;

use common::*;
use serde_json::json;

fn create_error(b: &Bundle) -> String {
    let (v, mut child) = create(b).err().expect("create must fail");
    assert_eq!(v["exit_code"], 125, "{v}");
    assert!(!child.wait().unwrap().success());
    v["error"].as_str().unwrap().to_string()
}

/// No tmpfs on /dev: the image's own /dev/null is what masking would use.
fn image_dev_opts() -> Opts {
    Opts {
        drop_mounts: vec!["/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"],
        linux_extra: json!({"maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/acpi"]}),
        ..Default::default()
    }
}

#[test]
fn masking_refuses_a_dev_null_that_is_not_the_null_device() {
    // A symlink to a host-sensitive file (the container's /proc/sys/kernel/core_pattern,
    // which is the host's), a regular file, and another character device.
    let b = bundle(&["true"], image_dev_opts());
    symlink(
        "/proc/sys/kernel/core_pattern",
        b.bundle.join("rootfs/dev/null"),
    )
    .unwrap();
    let msg = create_error(&b);
    assert_eq!(
        msg,
        "refusing to mask paths with /dev/null: it is a symlink, not the null device (character device 1:3)"
    );

    let b = bundle(&["true"], image_dev_opts());
    std::fs::write(b.bundle.join("rootfs/dev/null"), "").unwrap();
    assert!(create_error(&b).contains("it is a regular file, not the null device"));

    let b = bundle(&["true"], image_dev_opts());
    let zero = b.bundle.join("rootfs/dev/null");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &zero,
        rustix::fs::FileType::CharacterDevice,
        rustix::fs::Mode::from_raw_mode(0o666),
        rustix::fs::makedev(1, 5),
    )
    .unwrap();
    assert!(create_error(&b).contains("it is the character device 1:5, not the null device"));
}

#[test]
fn masking_with_the_real_null_device_works() {
    // /proc/kcore is absent on this kernel: a missing path needs no mask.
    let o = Opts {
        linux_extra: json!({"maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list"]}),
        ..Default::default()
    };
    assert!(std::fs::metadata("/proc/keys").unwrap().len() == 0);
    assert!(
        !std::fs::read("/proc/keys").unwrap().is_empty(),
        "the host has keys to hide"
    );
    let (code, out, err, _b) = run(
        &["sh", "-c", "wc -c < /proc/keys; wc -c < /proc/timer_list; grep -c ' /proc/keys ' /proc/self/mountinfo"],
        o,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["0", "0", "1"],
        "{out} {err}"
    );
}

#[test]
fn proc_and_sys_through_a_symlink_or_on_a_file_are_refused() {
    for (dir, link_to, fs) in [
        ("proc", "tmp", "proc"),
        ("sys", "tmp", "sysfs"),
        ("proc", "/etc", "proc"),
    ] {
        let b = bundle(&["true"], Opts::default());
        let p = b.bundle.join("rootfs").join(dir);
        std::fs::remove_dir(&p).unwrap();
        symlink(link_to, &p).unwrap();
        let msg = create_error(&b);
        assert_eq!(
            msg,
            format!("mount {fs} on /{dir}: filesystem \"{fs}\" must be mounted on ordinary directory (it is a symlink)"),
        );
        // Nothing was mounted where the link points.
        assert_eq!(
            std::fs::read_dir(b.bundle.join("rootfs/tmp"))
                .unwrap()
                .count(),
            0
        );
    }
    let b = bundle(&["true"], Opts::default());
    let p = b.bundle.join("rootfs/proc");
    std::fs::remove_dir(&p).unwrap();
    std::fs::write(&p, "").unwrap();
    assert!(create_error(&b).ends_with("(it is not a directory)"));
}

fn bind_opts(src: &std::path::Path, dest: &str) -> Opts {
    Opts {
        extra_mounts: vec![json!({"destination": dest, "type": "bind",
                                  "source": src, "options": ["rbind", "ro"]})],
        ..Default::default()
    }
}

#[test]
fn nothing_but_lxcfs_style_files_is_mounted_inside_proc() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("f");
    std::fs::write(&file, "42.00 17.00\n").unwrap();
    let b = bundle(&["true"], bind_opts(&file, "/proc/sys/kernel/core_pattern"));
    assert_eq!(
        create_error(&b),
        "invalid spec: \"/proc/sys/kernel/core_pattern\" cannot be mounted because it is inside \
         /proc (/proc/sys/kernel/core_pattern)"
    );
    // A harmless-looking destination that an image symlink sends into /proc.
    let b = bundle(&["true"], bind_opts(&file, "/etc/mtab"));
    symlink("../proc/self/mounts", b.bundle.join("rootfs/etc/mtab")).unwrap();
    let msg = create_error(&b);
    assert!(
        msg.starts_with("invalid spec: \"/etc/mtab\" cannot be mounted because it is inside /proc"),
        "{msg}"
    );
    // /proc itself takes only procfs.
    let b = bundle(&["true"], bind_opts(tmp.path(), "/proc"));
    assert!(create_error(&b).contains("cannot be mounted because it is not of type proc"));
    // lxcfs's files are fine.
    let (code, out, err, _b) = run(&["cat", "/proc/uptime"], bind_opts(&file, "/proc/uptime"));
    assert_eq!((code, out.as_str()), (0, "42.00 17.00\n"), "{err}");
}

/// The numbers `ls /proc/self/fd` prints (one of them is ls's own directory fd).
fn fds(out: &str) -> BTreeSet<u32> {
    out.split_whitespace().map(|f| f.parse().unwrap()).collect()
}

/// A shim command that inherits extra fds without CLOEXEC: a host directory at 5 and 9 and a
/// file at 12, as a careless caller would leak them.
fn leaky(cmd: &mut Command) -> Vec<OwnedFd> {
    let dir: OwnedFd = std::fs::File::open("/tmp").unwrap().into();
    let file: OwnedFd = std::fs::File::open("/etc/hostname").unwrap().into();
    let (d, f) = (dir.as_raw_fd(), file.as_raw_fd());
    // SAFETY: dup2 is async-signal-safe and only touches the child's fd table; the source fds
    // stay open in the parent (kept alive by the returned OwnedFds) until after spawn.
    unsafe {
        cmd.pre_exec(move || {
            for (src, dst) in [(d, 5), (d, 9), (f, 12)] {
                if libc::dup2(src, dst) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    vec![dir, file]
}

fn create_leaky(b: &Bundle) -> Shim {
    let mut cmd = Command::new(SHIM);
    cmd.args(["container", "--id", "c", "--bundle"])
        .arg(&b.bundle)
        .arg("--run-dir")
        .arg(&b.run_dir)
        .arg("--log-path")
        .arg(&b.log);
    let _keep = leaky(&mut cmd);
    launch(&mut cmd, &b.run_dir).unwrap_or_else(|(v, _)| panic!("{v}"))
}

#[test]
fn only_fds_0_1_2_reach_the_container_even_when_the_shim_inherited_more() {
    let args = ["ls", "/proc/self/fd"];
    let b = bundle(&args, Opts::default());
    let (code, out, err) = run_created(create_leaky(&b), &args, &b);
    assert_eq!(code, 0, "{err}");
    assert_eq!(fds(&out), BTreeSet::from([0, 1, 2, 3]), "{out}");

    // --init: the process and PID 1 itself (which never execs) hold nothing of the shim's.
    let args = ["sh", "-c", "ls /proc/self/fd; echo --; ls /proc/1/fd"];
    let b = bundle(&args, Opts::default().annotate("io.rdocker.init", "true"));
    let (code, out, err) = run_created(create_leaky(&b), &args, &b);
    assert_eq!(code, 0, "{err}");
    let (me, init) = out.split_once("--").unwrap();
    assert_eq!(fds(me), BTreeSet::from([0, 1, 2, 3]), "{out}");
    assert_eq!(fds(init), BTreeSet::from([0, 1, 2]), "{out}");
}

#[test]
fn only_fds_0_1_2_reach_an_exec_process() {
    let b = bundle(&["sleep", "100"], Opts::default());
    let shim = create_leaky(&b);
    assert_eq!(shim.start(), json!({"ok": true}));
    let run_dir = b.tmp.path().join("x-leaky");
    std::fs::create_dir(&run_dir).unwrap();
    let pj = run_dir.join("process.json");
    let process = json!({"args": ["ls", "/proc/self/fd"], "env": ["PATH=/bin"], "cwd": "/",
                         "user": {"uid": 0, "gid": 0}});
    std::fs::write(&pj, process.to_string()).unwrap();
    let mut cmd = Command::new(SHIM);
    cmd.args([
        "exec",
        "--id",
        "e",
        "--container-pid",
        &shim.pid.to_string(),
        "--bundle",
    ])
    .arg(&b.bundle)
    .arg("--run-dir")
    .arg(&run_dir)
    .arg("--process")
    .arg(&pj);
    let _keep = leaky(&mut cmd);
    let ex = launch(&mut cmd, &run_dir).unwrap_or_else(|(v, _)| panic!("{v}"));
    let (code, out, err) = run_created(ex, &["ls"], &b);
    assert_eq!(code, 0, "{err}");
    assert_eq!(fds(&out), BTreeSet::from([0, 1, 2, 3]), "{out}");
    kill_and_reap(shim);
}

/// CVE-2024-21626: a working directory through a leaked fd would be a host directory.
#[test]
fn a_working_directory_through_proc_self_fd_never_lands_outside_the_root() {
    for n in 3..=15 {
        let cwd = format!("/proc/self/fd/{n}");
        let o = Opts {
            cwd: cwd.clone(),
            ..Default::default()
        };
        let b = bundle(&["pwd"], o);
        let mut cmd = Command::new(SHIM);
        cmd.args(["container", "--id", "c", "--bundle"])
            .arg(&b.bundle)
            .arg("--run-dir")
            .arg(&b.run_dir);
        let _keep = leaky(&mut cmd);
        match launch(&mut cmd, &b.run_dir) {
            Err((v, mut child)) => {
                assert_eq!(v["exit_code"], 125, "{v}");
                let msg = v["error"].as_str().unwrap();
                assert!(msg.contains(&format!("working directory {cwd}")), "{msg}");
                assert!(!child.wait().unwrap().success());
            }
            Ok(shim) => {
                let (_, out, _) = run_created(shim, &["pwd"], &b);
                panic!("cwd {cwd} was accepted; pwd printed {out:?}");
            }
        }
    }
}

#[test]
fn an_exec_working_directory_through_proc_self_fd_is_refused() {
    let b = bundle(&["sleep", "100"], Opts::default());
    let shim = create(&b).unwrap_or_else(|(v, _)| panic!("{v}"));
    assert_eq!(shim.start(), json!({"ok": true}));
    for n in [3, 4, 5, 6, 7, 8, 9, 10] {
        let cwd = format!("/proc/self/fd/{n}");
        let process = json!({"args": ["pwd"], "env": ["PATH=/bin"], "cwd": cwd,
                             "user": {"uid": 0, "gid": 0}});
        let (v, mut child) = exec(&shim, &b, process, false)
            .err()
            .expect("exec must fail");
        let msg = v["error"].as_str().unwrap();
        assert!(msg.contains(&format!("working directory {cwd}")), "{msg}");
        assert!(!child.wait().unwrap().success());
    }
    // A symlink in the image that climbs out is clamped to the container's root.
    std::fs::create_dir_all(b.bundle.join("rootfs/w")).unwrap();
    symlink("../../../../..", b.bundle.join("rootfs/w/up")).unwrap();
    let process = json!({"args": ["pwd"], "env": ["PATH=/bin"], "cwd": "/w/up/created",
                         "user": {"uid": 0, "gid": 0}});
    let (code, out, err) = run_exec(&shim, &b, process);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "/created\n");
    assert!(
        b.bundle.join("rootfs/created").is_dir(),
        "created inside the root"
    );
    kill_and_reap(shim);
}

/// CVE-2019-5736: a container sharing the host's pid namespace reaches the shim's
/// /proc/<pid>/exe; run from a sealed memfd, that is not the binary on disk and cannot change.
#[test]
fn the_shim_from_a_sealed_memfd_cannot_be_overwritten_from_the_container() {
    let sealed = rdocker_runtime::sealed_copy(std::path::Path::new(SHIM)).unwrap();
    let original = std::fs::read(SHIM).unwrap();
    let o = Opts {
        namespaces: vec!["mount", "uts", "ipc", "network"],
        ..Default::default()
    };
    // Subshells: a failed `exec` redirection ends a non-interactive shell.
    let script = "readlink /proc/$PPID/exe; \
                  (exec 3<>/proc/$PPID/exe && echo opened; echo pwned >&3 && echo wrote); \
                  (echo pwned > /proc/$PPID/exe && echo truncated); \
                  (echo pwned >> /proc/$PPID/exe && echo appended); true";
    let args = ["sh", "-c", script];
    let b = bundle(&args, o);
    let mut cmd = Command::new(format!("/proc/self/fd/{}", sealed.as_raw_fd()));
    cmd.args(["container", "--id", "c", "--bundle"])
        .arg(&b.bundle)
        .arg("--run-dir")
        .arg(&b.run_dir)
        .arg("--log-path")
        .arg(&b.log);
    let shim = launch(&mut cmd, &b.run_dir).unwrap_or_else(|(v, _)| panic!("{v}"));
    let exe = std::fs::read_link(format!("/proc/{}/exe", shim.child.id())).unwrap();
    assert!(exe.to_string_lossy().starts_with("/memfd:"), "{exe:?}");
    let (code, out, err) = run_created(shim, &args, &b);
    assert_eq!(code, 0, "the shim still works: {out} {err}");
    assert!(
        out.starts_with("/memfd:"),
        "the container sees the memfd: {out}"
    );
    for done in ["wrote", "truncated", "appended"] {
        assert!(!out.contains(done), "{out} {err}");
    }
    assert!(
        err.contains("Text file busy") || err.contains("Operation not permitted"),
        "{err}"
    );
    let mut now = Vec::new();
    std::io::Read::read_to_end(
        &mut std::fs::File::open(format!("/proc/self/fd/{}", sealed.as_raw_fd())).unwrap(),
        &mut now,
    )
    .unwrap();
    assert!(now == original, "the memfd changed");
    assert!(
        std::fs::read(SHIM).unwrap() == original,
        "the binary on disk changed"
    );
}
