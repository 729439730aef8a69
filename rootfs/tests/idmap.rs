//! `prepare_with` + `idmap_userns`: the overlay's lower layers mounted id-mapped through a user
//! namespace mapping 0 → 100000. The scenario runs in a re-executed copy of this test binary
//! under `unshare -m --propagation private`, so its mounts die with it.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{chown, MetadataExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};
use std::time::Instant;

const DIR: &str = "RDOCKER_IDMAP_TEST_DIR";

/// A process in a new user namespace whose maps we write from here; the fd keeps the
/// namespace once the process is gone.
fn make_userns() -> OwnedFd {
    let mut cmd = Command::new("sleep");
    cmd.arg("100");
    // SAFETY: the closure runs in the forked child before exec and only calls unshare(2).
    unsafe {
        cmd.pre_exec(|| {
            rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWUSER)
                .map_err(std::io::Error::from)
        });
    }
    let mut child: Child = cmd.spawn().expect("spawn sleep in a new user namespace");
    let pid = child.id();
    std::fs::write(format!("/proc/{pid}/uid_map"), "0 100000 65536\n").unwrap();
    std::fs::write(format!("/proc/{pid}/gid_map"), "0 100000 65536\n").unwrap();
    let fd = std::fs::File::open(format!("/proc/{pid}/ns/user")).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    fd.into()
}

fn spec(t: &Path, root: &str) -> oci_spec::runtime::Spec {
    let lower = serde_json::json!([t.join("layer2"), t.join("layer1")]).to_string();
    serde_json::from_value(serde_json::json!({
        "ociVersion": "1.0.2",
        "root": {"path": t.join(root)},
        "annotations": {
            "io.rdocker.overlay.lowerdir": lower,
            "io.rdocker.overlay.upperdir": t.join(format!("{root}-upper")),
            "io.rdocker.overlay.workdir": t.join(format!("{root}-work")),
        },
    }))
    .unwrap()
}

fn ids(p: &Path) -> (u32, u32) {
    let m = std::fs::symlink_metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (m.uid(), m.gid())
}

#[test]
fn idmapped_overlay_layers() {
    if !rustix::process::geteuid().is_root() {
        panic!("this test mounts overlayfs: run it as root");
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    std::fs::create_dir_all(t.join("layer1/etc")).unwrap();
    std::fs::create_dir_all(t.join("layer2/home/alice")).unwrap();
    std::fs::write(t.join("layer1/etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
    chown(t.join("layer2/home/alice"), Some(1000), Some(1000)).unwrap();
    for i in 0..20 {
        for d in ["m", "p"] {
            let root = format!("{d}{i}");
            std::fs::create_dir(t.join(&root)).unwrap();
            for sub in ["upper", "work"] {
                let p = t.join(format!("{root}-{sub}"));
                std::fs::create_dir(&p).unwrap();
                chown(&p, Some(100_000), Some(100_000)).unwrap();
            }
        }
    }
    let exe = std::env::current_exe().unwrap();
    let status = Command::new("unshare")
        .args(["-m", "--propagation", "private"])
        .arg(exe)
        .args([
            "--exact",
            "idmap_scenario",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR, t)
        .status()
        .expect("run unshare");
    assert!(status.success(), "the id-mapped scenario failed");
    // Nothing of it reached the host: the layers are untouched, no mount is left.
    assert_eq!(ids(&t.join("layer1/etc/passwd")), (0, 0));
    assert_eq!(ids(&t.join("layer2/home/alice")), (1000, 1000));
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(t.to_str().unwrap()),
        "a mount leaked: {mounts}"
    );
}

/// The id-mapped layers are attached over the layers' own paths; an id-mapped mount cannot be
/// id-mapped again, so they go before the next round.
fn unmount_layers(t: &Path) {
    for l in ["layer1", "layer2"] {
        rustix::mount::unmount(t.join(l), rustix::mount::UnmountFlags::DETACH).unwrap();
    }
}

/// The re-executed half; a no-op in a normal test run.
#[test]
fn idmap_scenario() {
    let Some(t) = std::env::var_os(DIR) else {
        return;
    };
    let t = Path::new(&t);
    let userns = make_userns();
    let opts = rdocker_rootfs::PrepareOptions {
        idmap_userns: Some(userns.as_fd()),
    };
    let root = rdocker_rootfs::prepare_with(&spec(t, "m0"), t, &opts).unwrap();
    // Seen from the host: a layer's uid u shows as 100000 + u through the mapped mount.
    assert_eq!(ids(&root.join("etc/passwd")), (100_000, 100_000));
    assert_eq!(ids(&root.join("home/alice")), (101_000, 101_000));
    // Copy-up keeps the mapped owner; the layer is not written.
    std::fs::write(root.join("etc/passwd"), "changed\n").unwrap();
    assert_eq!(ids(&t.join("m0-upper/etc/passwd")), (100_000, 100_000));
    assert_eq!(
        std::fs::read_to_string(t.join("layer1/etc/passwd")).unwrap(),
        "root:x:0:0::/root:/bin/sh\n"
    );

    // Timing of the overlay mount, id-mapped and not (mount(2), which costs the same as the
    // new API here).
    unmount_layers(t);
    let (mut mapped, mut plain) = (Vec::new(), Vec::new());
    for i in 1..20 {
        // Alternating order: the first mount of a round pays for cold caches.
        let order = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        for variant in order {
            let name = format!("{}{i}", ["m", "p"][variant]);
            let (spec, dir) = (spec(t, &name), t.join(&name));
            let t0 = Instant::now();
            match variant {
                0 => rdocker_rootfs::mount_overlay_idmapped(&spec, &dir, userns.as_fd()),
                _ => rdocker_rootfs::mount_overlay_legacy(&spec, &dir),
            }
            .unwrap();
            [&mut mapped, &mut plain][variant].push(t0.elapsed());
            if variant == 0 {
                unmount_layers(t);
            }
        }
    }
    let med = |v: &mut Vec<std::time::Duration>| {
        v.sort();
        (v[v.len() / 2], v[0])
    };
    eprintln!(
        "BENCH overlay mount, 2 layers (median, min): id-mapped {:?}; not mapped {:?}",
        med(&mut mapped),
        med(&mut plain)
    );
}
