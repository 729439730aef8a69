//! `--userns-remap`: the container's root is an unprivileged host uid; the image's layers are
//! id-mapped, not chowned.

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use rdocker_tests::e2e::{layer_dirs, Checks};
use rdocker_tests::require_root;
use rdocker_tests::util::{bin_dir, output_with_timeout};

use crate::{run_sh, setup_with};

/// The first subordinate range of `user` in `file`.
fn sub_range(file: &str, user: &str) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let mut it = l.split(':');
        if it.next()? != user {
            return None;
        }
        Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
    })
}

#[test]
fn userns_remap_default() {
    require_root!();
    let (_reg, d) = setup_with(&["--userns-remap", "default"]);
    let (start, size) = sub_range("/etc/subuid", "dockremap").expect("dockremap in /etc/subuid");
    assert!(size >= 65536, "a full range: {size}");
    assert!(
        sub_range("/etc/subgid", "dockremap").is_some(),
        "and /etc/subgid"
    );
    let mut c = Checks::default();

    // Layers before: owner and ctime of busybox in its layer.
    let layer_busybox: Vec<_> = layer_dirs(&d.data_root())
        .into_iter()
        .map(|l| l.join("bin/busybox"))
        .filter(|p| p.exists())
        .collect();
    assert!(!layer_busybox.is_empty(), "busybox layer found");
    let before: Vec<_> = layer_busybox
        .iter()
        .map(|p| {
            let m = std::fs::metadata(p).unwrap();
            (m.uid(), m.ctime(), m.ctime_nsec())
        })
        .collect();

    let out = run_sh(
        &d,
        &[],
        "id -u; cat /proc/self/uid_map; stat -c %u:%g /bin/busybox; \
         touch /newfile && echo touched; echo x >> /etc/passwd && echo copied-up; \
         /probe/probe mount",
    );
    out.assert_ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    c.check(lines.first() == Some(&"0"), format!("root inside: {out}"));
    c.check(
        out.stdout.lines().any(|l| {
            l.split_whitespace().collect::<Vec<_>>() == ["0", &start.to_string(), &size.to_string()]
        }),
        format!("uid_map 0 {start} {size}: {out}"),
    );
    c.check(
        out.stdout.contains("\n0:0\n"),
        format!("image files owned by root inside (id-mapped): {out}"),
    );
    c.check(
        out.stdout.contains("touched") && out.stdout.contains("copied-up"),
        format!("root can write its rootfs: {out}"),
    );
    c.check(
        out.stdout.contains("mount: EPERM"),
        format!("no mount: {out}"),
    );
    let after: Vec<_> = layer_busybox
        .iter()
        .map(|p| {
            let m = std::fs::metadata(p).unwrap();
            (m.uid(), m.ctime(), m.ctime_nsec())
        })
        .collect();
    c.check(before == after, "no layer was chowned or touched");

    // On the host, the container's processes run as the remapped uid, and its files in the
    // upper layer belong to it.
    let out = d.cli(&[
        "run",
        "-d",
        "--name",
        "remapped",
        "busybox",
        "sh",
        "-c",
        "touch /made; sleep 300",
    ]);
    out.assert_ok();
    let id = out.stdout.trim().to_string();
    std::thread::sleep(Duration::from_millis(300));
    let pid = d.container_pid("remapped").expect("running");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap_or("");
    c.check(
        uid_line.split_whitespace().nth(1) == Some(&start.to_string()),
        format!("host uid of the container's root is {start}: {uid_line}"),
    );
    let made = d
        .data_root()
        .join("containers")
        .join(&id)
        .join("upper/made");
    c.check(
        std::fs::metadata(&made).map(|m| m.uid()).ok() == Some(start as u32),
        format!("{} owned by {start}", made.display()),
    );
    let ex = d.cli(&[
        "exec",
        "remapped",
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map",
    ]);
    c.check(
        ex.stdout.starts_with("0\n") && ex.stdout.contains(&start.to_string()),
        format!("exec joins the user namespace: {ex}"),
    );
    d.cli(&["rm", "-f", "remapped"]).assert_ok();

    // A named volume is writable by the container's root.
    let out = d.cli(&[
        "run",
        "--rm",
        "-v",
        "uvol:/data",
        "busybox",
        "sh",
        "-c",
        "touch /data/f && echo ok",
    ]);
    c.check(
        out.stdout.contains("ok"),
        format!("named volume writable: {out}"),
    );

    // Opting out, and what cannot be combined.
    let out = d.cli(&[
        "run",
        "--rm",
        "--userns",
        "host",
        "busybox",
        "cat",
        "/proc/self/uid_map",
    ]);
    c.check(
        out.stdout.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"],
        format!("--userns host: {out}"),
    );
    let out = d.cli(&["run", "--rm", "--privileged", "busybox", "true"]);
    c.check(
        out.code == Some(125)
            && out
                .stderr
                .contains("privileged mode is incompatible with user namespaces"),
        format!("--privileged with remapping: {out}"),
    );
    c.finish();
}

#[test]
fn userns_remap_unknown_user_fails_to_start() {
    require_root!();
    let dir = tempfile::Builder::new()
        .prefix("rdd-")
        .tempdir_in("/tmp")
        .unwrap();
    let p = dir.path();
    std::fs::write(p.join("daemon.json"), "{}\n").unwrap();
    let mut cmd = std::process::Command::new(bin_dir().join("rdockerd"));
    cmd.args(["--config-file"])
        .arg(p.join("daemon.json"))
        .arg("--data-root")
        .arg(p.join("data"))
        .arg("--exec-root")
        .arg(p.join("exec"))
        .arg("-H")
        .arg(format!("unix://{}", p.join("s.sock").display()))
        .arg("--pidfile")
        .arg(p.join("pid"))
        .args(["--userns-remap", "rdocker-no-such-user"]);
    let (out, timed_out) = output_with_timeout(&mut cmd, Duration::from_secs(20)).unwrap();
    assert!(!timed_out, "rdockerd must refuse to start, not run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rdocker-no-such-user") && err.contains("subuid"),
        "names the user and /etc/subuid: {err}"
    );
}
