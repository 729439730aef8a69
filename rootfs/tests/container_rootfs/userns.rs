//! In a user namespace mknod is refused (EPERM): /dev nodes and `linux.devices` must then be
//! bind mounts of the host's nodes, and everything else must still work.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use crate::util::{errno_of, Checks};

/// Own uid and gid mapped to themselves: the only mapping a process may write for itself.
fn enter_user_and_mount_ns() {
    use rustix::thread::UnshareFlags;
    // SAFETY: NEWUSER|NEWNS do not touch the fd table and this process is single-threaded.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWUSER | UnshareFlags::NEWNS) }
        .expect("unshare(CLONE_NEWUSER|CLONE_NEWNS)");
    fs::write("/proc/self/setgroups", "deny").expect("setgroups deny");
    fs::write("/proc/self/uid_map", "0 0 1").expect("uid_map");
    fs::write("/proc/self/gid_map", "0 0 1").expect("gid_map");
}

pub fn child(t: &Path) -> i32 {
    let root = t.join("userns_root");
    fs::create_dir_all(root.join("dev")).unwrap();
    enter_user_and_mount_ns();
    let spec: oci_spec::runtime::Spec = serde_json::from_value(serde_json::json!({
        "ociVersion": "1.0.2",
        "root": {"path": root, "readonly": true},
        "mounts": [
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/ro", "type": "bind", "source": t.join("ro_src"),
             "options": ["rbind", "ro", "rprivate"]},
        ],
        "linux": {"devices": [{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11}]},
    }))
    .unwrap();
    let mut c = Checks::default();
    let res = rdocker_rootfs::prepare(&spec, t).and_then(|r| {
        // No proc of its own here (that needs a pid namespace): look before leaving the host's.
        let table = crate::util::mounts();
        for p in ["dev/null", "dev/kmsg"] {
            let want = r.join(p);
            c.check(
                table.iter().any(|m| Path::new(&m.mount_point) == want),
                format!("{p} must be a bind mount (mknod is EPERM here)"),
            );
        }
        rdocker_rootfs::pivot(&r)?;
        rdocker_rootfs::finish(&spec)
    });
    if let Err(e) = res {
        eprintln!("FAIL [userns]: set-up in a user namespace: {e}");
        return 1;
    }
    for (p, major, minor) in [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/kmsg", 1, 11),
    ] {
        let m = fs::metadata(p);
        c.check(
            matches!(&m, Ok(m) if m.file_type().is_char_device()
                && (libc::major(m.rdev()), libc::minor(m.rdev())) == (major, minor)),
            format!("{p} must be the host's node bound in: {m:?}"),
        );
    }
    c.check(fs::write("/dev/null", "x").is_ok(), "/dev/null writable");
    c.check(
        fs::read_link("/dev/ptmx").is_ok_and(|p| p == Path::new("pts/ptmx")),
        "/dev/ptmx link",
    );
    c.check(
        errno_of(fs::write("/ro/x", "x")) == Some(libc::EROFS),
        "ro bind in a user namespace",
    );
    c.check(
        errno_of(fs::write("/x", "x")) == Some(libc::EROFS),
        "read-only root in a user namespace",
    );
    c.exit_code("userns")
}
