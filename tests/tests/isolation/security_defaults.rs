//! What a default container may and may not do, compared with Docker's defaults.

use rdocker_tests::e2e::Checks;
use rdocker_tests::probe::results;
use rdocker_tests::require_root;

use crate::{caps, host_cap_bnd, run_sh, setup};

/// Docker's 14 default capabilities.
const DOCKER_CAPS: &str = "00000000a80425fb";

#[test]
fn default_container_is_confined() {
    require_root!();
    let (_reg, d) = setup();
    let out = run_sh(
        &d,
        &[],
        "grep ^Cap /proc/self/status; \
         /probe/probe mount unshare-mnt unshare-user keyctl add_key bpf clone3 ptrace-other getpid; \
         echo kcore=$(stat -c %s /proc/kcore 2>/dev/null || echo absent); \
         echo keys=$(wc -l < /proc/keys); echo timer=$(wc -c < /proc/timer_list); \
         echo acpi=$(ls /proc/acpi | wc -l); echo firmware=$(ls /sys/firmware | wc -l); \
         echo 3 > /proc/sys/vm/drop_caches 2>/dev/null && echo procsys=rw || echo procsys=ro; \
         grep -q ' /sys sysfs ro' /proc/mounts && echo sys=ro || echo sys=rw; \
         for p in bus fs irq; do grep -q \" /proc/$p proc ro\" /proc/mounts && echo proc$p=ro || echo proc$p=rw; done; \
         echo pids=$(ls /proc | grep -c '^[0-9]'); \
         echo fds=$(ls /proc/self/fd | tr '\\n' ' ')",
    );
    out.assert_ok();
    let mut c = Checks::default();
    let cap = caps(&out.stdout);
    for k in ["CapEff", "CapPrm", "CapBnd"] {
        c.check(
            cap.get(k).map(String::as_str) == Some(DOCKER_CAPS),
            format!("{k} should be Docker's 14: {out}"),
        );
    }
    for k in ["CapInh", "CapAmb"] {
        c.check(
            cap.get(k).map(String::as_str) == Some("0000000000000000"),
            format!("{k} should be empty: {out}"),
        );
    }
    let r = results(&out.stdout);
    for probe in [
        "mount",
        "unshare-mnt",
        "unshare-user",
        "keyctl",
        "add_key",
        "bpf",
        "ptrace-other",
    ] {
        c.check(
            r.get(probe).map(String::as_str) == Some("EPERM"),
            format!("{probe} must be refused with EPERM: {out}"),
        );
    }
    c.check(
        r.get("clone3").map(String::as_str) == Some("ENOSYS"),
        format!("clone3 gets ENOSYS from Docker's profile: {out}"),
    );
    c.check(
        r.get("getpid").map(String::as_str) == Some("ok"),
        format!("getpid works: {out}"),
    );
    // This kernel has no /proc/kcore (nor sysrq-trigger): absent is as good as masked.
    c.check(
        out.stdout.contains("kcore=0\n") || out.stdout.contains("kcore=absent\n"),
        format!("/proc/kcore masked: {out}"),
    );
    for (k, v) in [
        ("keys", "0"),
        ("timer", "0"),
        ("acpi", "0"),
        ("firmware", "0"),
        ("procsys", "ro"),
        ("sys", "ro"),
        ("procbus", "ro"),
        ("procfs", "ro"),
        ("procirq", "ro"),
    ] {
        c.check(
            r.get(k).map(String::as_str) == Some(v) || out.stdout.contains(&format!("{k}={v}\n")),
            format!("{k} should be {v}: {out}"),
        );
    }
    // Only the container's own processes: sh, and the ls/grep of the pipeline.
    let pids: usize = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("pids="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(999);
    c.check(pids <= 4, format!("no host pids visible ({pids}): {out}"));
    // 0, 1, 2 and the directory ls itself reads: nothing inherited from the engine or shim.
    let fds = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("fds="))
        .unwrap_or("")
        .to_string();
    c.check(
        fds.split_whitespace()
            .all(|f| ["0", "1", "2", "3"].contains(&f)),
        format!("only fds 0-2 (+ ls's own): {out}"),
    );
    c.finish();
}

#[test]
fn capabilities_add_drop_and_privileged() {
    require_root!();
    let (_reg, d) = setup();
    let mut c = Checks::default();

    let out = run_sh(&d, &["--cap-drop", "ALL"], "grep ^CapEff /proc/self/status");
    c.check(
        caps(&out.stdout).get("CapEff").map(String::as_str) == Some("0000000000000000"),
        format!("--cap-drop ALL: {out}"),
    );
    // With or without CAP_, any case; CAP_SYS_ADMIN also unlocks mount in Docker's profile.
    let out = run_sh(
        &d,
        &["--cap-add", "sys_admin", "--cap-add", "CAP_SYS_PTRACE"],
        "/probe/probe mount ptrace-other",
    );
    let r = results(&out.stdout);
    c.check(
        r.get("mount").map(String::as_str) == Some("ok"),
        format!("mount with CAP_SYS_ADMIN: {out}"),
    );
    c.check(
        r.get("ptrace-other").map(String::as_str) == Some("ok"),
        format!("ptrace with CAP_SYS_PTRACE: {out}"),
    );
    let out = run_sh(&d, &["--cap-drop", "chown"], "chown 1 /tmp");
    c.check(
        !out.success(),
        format!("chown without CAP_CHOWN fails: {out}"),
    );

    let out = run_sh(&d, &["--cap-add", "CAP_FOO"], "true");
    c.check(
        out.code == Some(125) && out.stderr.to_lowercase().contains("unknown capability"),
        format!("unknown capability → 125 with the reason: {out}"),
    );

    // --privileged: every capability this host allows (it withholds CAP_SYS_RESOURCE), no
    // masked paths, /sys writable, mount allowed, no seccomp.
    let out = run_sh(
        &d,
        &["--privileged"],
        "grep ^CapEff /proc/self/status; /probe/probe mount clone3; \
         echo timer=$(wc -c < /proc/timer_list); grep ' /sys sysfs ' /proc/mounts",
    );
    out.assert_ok();
    c.check(
        caps(&out.stdout).get("CapEff") == Some(&host_cap_bnd()),
        format!(
            "--privileged has the host's bounding set {}: {out}",
            host_cap_bnd()
        ),
    );
    let r = results(&out.stdout);
    c.check(
        r.get("mount").map(String::as_str) == Some("ok"),
        format!("privileged mount: {out}"),
    );
    c.check(
        r.get("clone3").map(String::as_str) != Some("ENOSYS"),
        format!("privileged is unconfined: {out}"),
    );
    c.check(
        !out.stdout.contains("timer=0\n"),
        format!("privileged: /proc/timer_list is not masked: {out}"),
    );
    c.check(
        out.stdout.contains(" /sys sysfs rw"),
        format!("privileged: /sys is read-write: {out}"),
    );
    c.finish();
}

#[test]
fn seccomp_options() {
    require_root!();
    let (_reg, d) = setup();
    let mut c = Checks::default();
    let tmp = tempfile::Builder::new()
        .prefix("seccomp-")
        .tempdir_in("/tmp")
        .unwrap();

    let out = run_sh(
        &d,
        &["--security-opt", "seccomp=unconfined"],
        "/probe/probe clone3 keyctl",
    );
    c.check(
        results(&out.stdout).get("clone3").map(String::as_str) == Some("EINVAL"),
        format!("unconfined: clone3 reaches the kernel: {out}"),
    );

    let profile = tmp.path().join("p.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let out = run_sh(
        &d,
        &["--security-opt", &opt],
        "mkdir /x 2>&1; /probe/probe clone3",
    );
    c.check(
        out.stdout.contains("Operation not permitted"),
        format!("a custom profile denies mkdir: {out}"),
    );
    c.check(
        results(&out.stdout).get("clone3").map(String::as_str) == Some("EINVAL"),
        format!("a custom profile allows what it does not name: {out}"),
    );

    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, "{not json").unwrap();
    let opt = format!("seccomp={}", bad.display());
    let out = run_sh(&d, &["--security-opt", &opt], "true");
    c.check(
        out.code == Some(125) && out.stderr.to_lowercase().contains("seccomp"),
        format!("an invalid profile → 125 naming seccomp: {out}"),
    );
    let opt = format!("seccomp={}", tmp.path().join("missing.json").display());
    let out = run_sh(&d, &["--security-opt", &opt], "true");
    c.check(
        out.code == Some(125) && out.stderr.contains("missing.json"),
        format!("an unreadable profile → 125 naming the file: {out}"),
    );
    let out = run_sh(&d, &["--security-opt", "foo"], "true");
    c.check(
        out.code == Some(125),
        format!("an unknown security-opt → 125: {out}"),
    );
    let ps = d.cli(&["ps", "-aq"]);
    c.check(ps.stdout.trim().is_empty(), format!("nothing left: {ps}"));
    c.finish();
}

/// A setuid-root binary gives root to `-u nobody` by default, and nothing with
/// `no-new-privileges` (which also exercises loading seccomp before the uid change and after).
#[test]
fn no_new_privileges_blocks_setuid() {
    require_root!();
    let (_reg, d) = setup();
    let probe = rdocker_tests::probe::probe_dir().unwrap().join("probe");
    let tmp = tempfile::Builder::new()
        .prefix("nnp-")
        .tempdir_in("/tmp")
        .unwrap();
    let suid = tmp.path().join("suid-probe");
    std::fs::copy(&probe, &suid).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let vol = format!("{}:/s:ro", tmp.path().display());
    let mut c = Checks::default();
    let out = d.cli(&[
        "run",
        "--rm",
        "-u",
        "nobody",
        "-v",
        &vol,
        "busybox",
        "/s/suid-probe",
        "ids",
    ]);
    c.check(
        out.stdout.contains("euid=0"),
        format!("setuid works without no-new-privileges: {out}"),
    );
    let out = d.cli(&[
        "run",
        "--rm",
        "-u",
        "nobody",
        "--security-opt",
        "no-new-privileges",
        "-v",
        &vol,
        "busybox",
        "/s/suid-probe",
        "ids",
    ]);
    c.check(
        out.stdout.contains("uid=65534 euid=65534"),
        format!("no-new-privileges keeps euid: {out}"),
    );
    let out = d.cli(&[
        "run",
        "--rm",
        "--security-opt",
        "no-new-privileges=true",
        "busybox",
        "grep",
        "NoNewPrivs",
        "/proc/self/status",
    ]);
    c.check(
        out.stdout.contains("NoNewPrivs:\t1"),
        format!("NoNewPrivs set: {out}"),
    );
    c.finish();
}

/// The device cgroup: a node made with mknod (allowed: `c *:* m`) cannot be opened unless a
/// rule or `--device` allows it.
#[test]
fn device_allowlist() {
    require_root!();
    let (_reg, d) = setup();
    let mut c = Checks::default();
    let script =
        "mknod /tmp/lc c 10 237 && /probe/probe open=/tmp/lc open=/dev/null open=/dev/zero";
    let out = run_sh(&d, &[], script);
    let r = results(&out.stdout);
    c.check(
        r.get("open=/tmp/lc").map(String::as_str) == Some("EPERM"),
        format!("a device off the allowlist cannot be opened: {out}"),
    );
    c.check(
        r.get("open=/dev/null").map(String::as_str) == Some("ok")
            && r.get("open=/dev/zero").map(String::as_str) == Some("ok"),
        format!("the default devices open: {out}"),
    );
    let out = run_sh(&d, &["--device-cgroup-rule", "c 10:237 rw"], script);
    c.check(
        results(&out.stdout).get("open=/tmp/lc").map(String::as_str) == Some("ok"),
        format!("--device-cgroup-rule allows it: {out}"),
    );
    let out = run_sh(
        &d,
        &["--device", "/dev/loop-control:/dev/lc"],
        "stat -c '%t:%T' /dev/lc; /probe/probe open=/dev/lc",
    );
    c.check(
        out.stdout.contains("a:ed")
            && results(&out.stdout).get("open=/dev/lc").map(String::as_str) == Some("ok"),
        format!("--device creates the node and allows it: {out}"),
    );
    let out = run_sh(&d, &["--device", "/dev/nosuch"], "true");
    c.check(
        out.code == Some(127) && out.stderr.contains("/dev/nosuch"),
        format!("a missing device → 127 naming it (as docker 28): {out}"),
    );
    let out = run_sh(&d, &["--device-cgroup-rule", "x 1:2 q"], "true");
    c.check(out.code == Some(125), format!("a bad rule → 125: {out}"));
    c.finish();
}
