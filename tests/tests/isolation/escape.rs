//! Attacks from runc's history, tried against rdocker: each must fail.

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use rdocker_tests::e2e::Checks;
use rdocker_tests::probe::results;
use rdocker_tests::procs::shims_under;
use rdocker_tests::require_root;
use rdocker_tests::util::wait_for;

use crate::{run_sh, setup};

/// CVE-2019-5736: the runtime's binary must not be writable through /proc/<pid>/exe — not
/// even by root on the host, and not from a container that sees the shim (--pid host).
#[test]
fn shim_runs_from_a_sealed_memfd() {
    require_root!();
    let (_reg, d) = setup();
    d.cli(&["run", "-d", "--name", "sealed", "busybox", "sleep", "300"])
        .assert_ok();
    let shims = shims_under(d.dir());
    assert!(!shims.is_empty(), "a shim runs");
    let mut c = Checks::default();
    for pid in &shims {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
        c.check(
            exe.display().to_string().starts_with("/memfd:"),
            format!("shim {pid} runs from a memfd, not {}", exe.display()),
        );
        let w = std::fs::OpenOptions::new()
            .write(true)
            .open(format!("/proc/{pid}/exe"));
        c.check(w.is_err(), format!("shim {pid}: its exe opens for writing"));
        // From a container that can see it.
        let script = format!("/probe/probe write=/proc/{pid}/exe");
        let out = run_sh(&d, &["--pid", "host", "--cap-add", "SYS_PTRACE"], &script);
        let r = results(&out.stdout);
        c.check(
            r.get(&format!("write=/proc/{pid}/exe"))
                .is_some_and(|v| v != "ok"),
            format!("a --pid host container cannot open the shim's exe for writing: {out}"),
        );
    }
    // The shim on disk is untouched and an exec still works.
    d.cli(&["exec", "sealed", "true"]).assert_ok();
    d.cli(&["rm", "-f", "sealed"]).assert_ok();
    c.finish();
}

/// CVE-2024-21626: a working directory through a leaked fd must not land outside the root.
#[test]
fn working_directory_cannot_escape_through_fds() {
    require_root!();
    let (_reg, d) = setup();
    let mut c = Checks::default();
    for n in 3..=12 {
        let cwd = format!("/proc/self/fd/{n}");
        let out = d.cli(&["run", "--rm", "-w", &cwd, "busybox", "sh", "-c", "pwd; ls"]);
        c.check(!out.timed_out, format!("{cwd} hung: {out}"));
        if out.success() {
            c.check(
                !out.stdout.contains("unreachable") && !out.stdout.contains("containers\n"),
                format!("-w {cwd} must stay inside the root: {out}"),
            );
        }
    }
    // exec too.
    d.cli(&["run", "-d", "--name", "wd", "busybox", "sleep", "300"])
        .assert_ok();
    for n in 3..=8 {
        let cwd = format!("/proc/self/fd/{n}");
        let out = d.cli(&["exec", "-w", &cwd, "wd", "sh", "-c", "pwd; ls"]);
        if out.success() {
            c.check(
                !out.stdout.contains("unreachable") && !out.stdout.contains("containers\n"),
                format!("exec -w {cwd} must stay inside the root: {out}"),
            );
        }
    }
    let out = d.cli(&["exec", "wd", "sh", "-c", "ls /proc/self/fd | tr '\\n' ' '"]);
    c.check(
        out.stdout
            .split_whitespace()
            .all(|f| ["0", "1", "2", "3"].contains(&f)),
        format!("an exec has only fds 0-2 (+ ls's own): {out}"),
    );
    d.cli(&["rm", "-f", "wd"]).assert_ok();
    c.finish();
}

/// CVE-2019-19921 and kin: an image (here: the container's upper layer, as a malicious image
/// would ship it) with /proc as a symlink or a file must not get procfs mounted through it.
#[test]
fn proc_as_symlink_or_file_is_refused() {
    require_root!();
    let (_reg, d) = setup();
    let mut c = Checks::default();
    for (name, kind) in [("ps", "symlink"), ("pf", "file")] {
        let out = d.cli(&["create", "--name", name, "busybox", "true"]);
        out.assert_ok();
        let id = out.stdout.trim().to_string();
        let upper = d.data_root().join("containers").join(&id).join("upper");
        std::fs::create_dir_all(&upper).unwrap();
        let target = upper.join("proc");
        if kind == "symlink" {
            // Points inside the root: a rootfs that would get procfs mounted on /tmp.
            std::os::unix::fs::symlink("tmp", &target).unwrap();
        } else {
            std::fs::write(&target, "not a directory").unwrap();
        }
        let out = d.cli(&["start", "-a", name]);
        c.check(
            !out.success() && out.all().to_lowercase().contains("proc"),
            format!("/proc as a {kind} is refused, naming /proc: {out}"),
        );
        // Nothing got mounted on the host through it.
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        c.check(
            !mounts.contains(&id),
            format!("no mount of container {id} on the host"),
        );
        let meta = std::fs::symlink_metadata(&target).unwrap();
        c.check(
            meta.ino() > 0 && (meta.file_type().is_symlink() || meta.is_file()),
            "the image's entry is untouched",
        );
        d.cli(&["rm", "-f", name]).assert_ok();
    }
    c.finish();
}

/// `kill -9` of the shim takes the container with it; `rm` then removes its cgroups in every
/// controller.
#[test]
fn kill9_of_shim_then_rm_removes_cgroups() {
    require_root!();
    let (_reg, d) = setup();
    let out = d.cli(&[
        "run", "-d", "--name", "killed", "--memory", "64m", "busybox", "sleep", "300",
    ]);
    out.assert_ok();
    let id = out.stdout.trim().to_string();
    let dirs = crate::cgroup_dirs_of(&id);
    assert!(!dirs.is_empty(), "the container has cgroups");
    for pid in shims_under(d.dir()) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    }
    let exited = wait_for(Duration::from_secs(20), || {
        let v = d.inspect("killed")?;
        (v["State"]["Running"] == false).then_some(())
    });
    assert!(exited.is_some(), "the container is recorded as exited");
    d.cli(&["rm", "-f", "killed"]).assert_ok();
    let left = wait_for(Duration::from_secs(5), || {
        crate::cgroup_dirs_of(&id).is_empty().then_some(())
    });
    assert!(
        left.is_some(),
        "rm removes every cgroup dir: {:?}",
        crate::cgroup_dirs_of(&id)
    );
}
