//! Root-only tests with real mounts: each scenario runs in a re-executed, single-threaded copy
//! of this binary that unshares its own mount namespace, so nothing can reach the host's
//! mount table (which is checked afterwards anyway).

mod bench;
mod container;
mod fixture;
mod layers;
mod userns;
mod util;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use rustix::mount::{mount_bind, mount_change, MountPropagationFlags};

const ROLE: &str = "RDOCKER_ROOTFS_TEST_ROLE";
const DIR: &str = "RDOCKER_ROOTFS_TEST_DIR";

fn main() {
    let dir = || PathBuf::from(std::env::var_os(DIR).expect("test dir in env"));
    let code = match std::env::var(ROLE).ok().as_deref() {
        None => {
            run_all();
            0
        }
        Some("host-sim") => host_sim(&dir()),
        Some("container") => container::run(&dir()),
        Some("mismatch") => container::mismatch(&dir()),
        Some("bench") => bench::child(&dir()),
        Some("layers") => layers::child(&dir()),
        Some("userns") => userns::child(&dir()),
        Some(other) => {
            eprintln!("unknown role {other}");
            2
        }
    };
    std::process::exit(code);
}

pub fn run_child(role: &str, dir: &Path, extra: &[(&str, String)]) -> ExitStatus {
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new(exe);
    cmd.env(ROLE, role).env(DIR, dir);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.status().expect("spawn test child")
}

fn run_all() {
    assert!(
        rustix::process::geteuid().is_root(),
        "container_rootfs needs root: it mounts overlayfs, proc, sysfs, devpts and binds for real"
    );
    assert!(
        Path::new("/bin/busybox").is_file(),
        "/bin/busybox is missing: install Debian's busybox-static (scripts/install-deps)"
    );
    let tmp = tempfile::Builder::new()
        .prefix("rdocker-rootfs-")
        .tempdir_in("/tmp")
        .expect("tempdir");
    let t = tmp.path();
    let host_before = util::mountinfo_lines("/proc/self/mountinfo");

    fixture::build(t);
    eprintln!("test container_rootfs::full_spec ...");
    assert!(
        run_child("host-sim", t, &[]).success(),
        "container scenario failed"
    );
    fixture::check_host_side(t);
    eprintln!("test container_rootfs::full_spec ... ok");

    eprintln!("test container_rootfs::file_dir_mismatch ...");
    assert!(
        run_child("mismatch", t, &[]).success(),
        "mismatch scenario failed"
    );
    eprintln!("test container_rootfs::file_dir_mismatch ... ok");

    eprintln!("test container_rootfs::overlay_layers ...");
    layers::build(t);
    assert!(
        run_child("layers", t, &[]).success(),
        "overlay layers scenario failed"
    );
    eprintln!("test container_rootfs::overlay_layers ... ok");

    eprintln!("test container_rootfs::user_namespace_devices ...");
    assert!(
        run_child("userns", t, &[]).success(),
        "user namespace scenario failed"
    );
    eprintln!("test container_rootfs::user_namespace_devices ... ok");

    eprintln!("test container_rootfs::bench_busybox_like ...");
    bench::run(t);
    eprintln!("test container_rootfs::bench_busybox_like ... ok");

    let host_after = util::mountinfo_lines("/proc/self/mountinfo");
    let t_str = t.to_string_lossy().into_owned();
    let leaked: Vec<_> = host_after
        .iter()
        .filter(|l| !host_before.contains(l))
        .filter(|l| {
            let mp = util::mount_point(l);
            l.contains(&t_str) || mp == "/" || mp.starts_with("/etc") || mp.starts_with("/var")
        })
        .collect();
    assert!(
        leaked.is_empty(),
        "mounts leaked into the host: {leaked:#?}"
    );
    eprintln!("container_rootfs: all scenarios passed, host mount table untouched");
}

/// Stands in for the host: its own mount namespace where the test directory is a *shared*
/// mount, so a container that forgot to make its tree private would propagate its mounts
/// back here, where they are looked for.
fn host_sim(t: &Path) -> i32 {
    util::unshare_mount_ns();
    mount_change(
        "/",
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )
    .expect("make / rprivate");
    mount_bind(t, t).expect("bind test dir");
    mount_change(t, MountPropagationFlags::SHARED).expect("make test dir shared");
    let before = util::mountinfo_lines("/proc/self/mountinfo");
    let status = run_child("container", t, &[]);
    let after = util::mountinfo_lines("/proc/self/mountinfo");
    if before != after {
        let new: Vec<_> = after.iter().filter(|l| !before.contains(l)).collect();
        eprintln!("FAIL: the container's mounts propagated to the host namespace: {new:#?}");
        return 1;
    }
    if status.success() {
        0
    } else {
        1
    }
}
