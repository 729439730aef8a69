//! Inside the throwaway mount namespace: prepare + pivot + finish for real, then look at the
//! result from the container's side.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::process::Command;

use crate::fixture::{self, escape_name, MARKER};
use crate::util::{errno_of, mounts, unshare_mount_ns, Checks};

pub fn run(t: &Path) -> i32 {
    unshare_mount_ns();
    let spec = fixture::full_spec(t);
    let t0 = std::time::Instant::now();
    let root = match rdocker_rootfs::prepare(&spec, t) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("FAIL: prepare: {e}");
            return 1;
        }
    };
    let (_master, pts_n) = open_pty(&root);
    let slave = root.join(format!("dev/pts/{pts_n}"));
    if let Err(e) = rdocker_rootfs::bind_console(&root, &slave) {
        eprintln!("FAIL: bind_console: {e}");
        return 1;
    }
    if let Err(e) = rdocker_rootfs::pivot(&root) {
        eprintln!("FAIL: pivot: {e}");
        return 1;
    }
    eprintln!(
        "  full spec (16 mounts, copy-up, devices): prepare+pivot {:?}",
        t0.elapsed()
    );
    let mut c = Checks::default();
    check_mount_table(&mut c, t);
    check_dev(&mut c);
    check_binds_and_overlay(&mut c, t);
    check_cgroup(&mut c);
    let console = fs::metadata("/dev/console").map(|m| (m.file_type().is_char_device(), m.rdev()));
    let pts = fs::metadata(format!("/dev/pts/{pts_n}")).map(|m| m.rdev());
    c.check(
        matches!((&console, &pts), (Ok((true, a)), Ok(b)) if a == b),
        format!("/dev/console must be the pty slave: {console:?} vs {pts:?}"),
    );
    let out = Command::new("/bin/busybox")
        .args([
            "sh",
            "-c",
            "test -c /dev/null && echo ok >/dev/null && echo ok",
        ])
        .output();
    c.check(
        matches!(&out, Ok(o) if o.stdout == b"ok\n"),
        format!("busybox sh in the new root: {out:?}"),
    );

    // Before finish the overlay is writable and writes land in upper (checked from the host).
    c.check(
        fs::write("/overlay-written.txt", "ov").is_ok(),
        "write to overlay root",
    );
    if let Err(e) = rdocker_rootfs::finish(&spec) {
        c.check(false, format!("finish: {e}"));
    }
    c.check(
        errno_of(fs::write("/after-ro.txt", "x")) == Some(libc::EROFS),
        "readonly root must refuse writes with EROFS",
    );
    let root_ro = mounts().iter().any(|m| m.mount_point == "/" && m.is_ro());
    c.check(root_ro, "/ is not mounted ro after finish");
    c.check(
        fs::write("/rw/after-ro.txt", "still writable").is_ok(),
        "rw bind must stay writable under a ro root",
    );
    c.check(
        fs::write("/scratch/x", "x").is_ok(),
        "tmpfs under a ro root",
    );
    c.check(
        fs::write("/dev/shm/x", "x").is_ok(),
        "/dev/shm under a ro root",
    );
    check_masked(&mut c);
    c.exit_code("container")
}

/// cgroup v1 here: a read-only tmpfs with one read-only bind per hierarchy, each showing the
/// process's own cgroup (the test runs in the host's pid namespace, so its pid is listed).
fn check_cgroup(c: &mut Checks) {
    let table = mounts();
    let find = |mp: &str| table.iter().find(|m| m.mount_point == mp);
    c.check(
        find("/sys/fs/cgroup").is_some_and(|m| m.fstype == "tmpfs" && m.is_ro()),
        "/sys/fs/cgroup must be a read-only tmpfs",
    );
    let own = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let memory_path = own
        .lines()
        .find_map(|l| l.split_once(":memory:").map(|x| x.1.to_owned()))
        .unwrap_or_default();
    for h in ["memory", "pids", "unified"] {
        let mp = format!("/sys/fs/cgroup/{h}");
        c.check(
            find(&mp).is_some_and(|m| m.is_ro() && m.fstype.starts_with("cgroup")),
            format!("{mp} must be a read-only cgroup bind"),
        );
    }
    let procs = fs::read_to_string("/sys/fs/cgroup/memory/cgroup.procs").unwrap_or_default();
    let pid = std::process::id().to_string();
    c.check(
        procs.lines().any(|l| l == pid),
        format!("/sys/fs/cgroup/memory must be this process's cgroup {memory_path}"),
    );
    c.check(
        errno_of(fs::create_dir("/sys/fs/cgroup/memory/x").map(drop)) == Some(libc::EROFS),
        "cgroup binds must be read-only",
    );
}

/// A pty from the container's own devpts instance, as the runtime makes one for `-t`.
fn open_pty(root: &Path) -> (std::os::fd::OwnedFd, u32) {
    use rustix::fs::{open, Mode, OFlags};
    let master = open(
        root.join("dev/pts/ptmx"),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .expect("open ptmx");
    let mut n: libc::c_uint = 0;
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads an int and TIOCGPTN writes an unsigned int through valid
    // pointers to live locals; the fd is an open pty master.
    let rc = unsafe {
        use std::os::fd::AsRawFd;
        libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock)
            | libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut n)
    };
    assert_eq!(rc, 0, "unlock/ptsname");
    (master, n)
}

fn check_masked(c: &mut Checks) {
    let timer_list = fs::read("/proc/timer_list");
    c.check(
        matches!(&timer_list, Ok(b) if b.is_empty()),
        format!(
            "/proc/timer_list must read as /dev/null: {:?}",
            timer_list.map(|b| b.len())
        ),
    );
    let firmware = fs::read_dir("/sys/firmware").map(|d| d.count());
    c.check(
        matches!(firmware, Ok(0)),
        format!("/sys/firmware must be empty: {firmware:?}"),
    );
    // Writing back the current value is harmless should the read-only bind be missing.
    let hostname = fs::read("/proc/sys/kernel/hostname").unwrap_or_default();
    c.check(
        errno_of(fs::write("/proc/sys/kernel/hostname", &hostname)) == Some(libc::EROFS),
        "/proc/sys must be read-only",
    );
    c.check(
        fs::read_to_string("/proc/self/status").is_ok_and(|s| s.contains("Pid:")),
        "the rest of /proc stays readable",
    );
}

fn check_mount_table(c: &mut Checks, t: &Path) {
    let table = mounts();
    let find = |mp: &str| table.iter().find(|m| m.mount_point == mp);
    let expected: [(&str, &str, bool); 15] = [
        ("/", "overlay", false),
        ("/proc", "proc", false),
        ("/dev", "tmpfs", false),
        ("/dev/pts", "devpts", false),
        ("/sys", "sysfs", true),
        ("/dev/mqueue", "mqueue", false),
        ("/dev/shm", "tmpfs", false),
        ("/ro", "", true),
        ("/rw", "", false),
        ("/scratch", "tmpfs", false),
        ("/data", "", false),
        ("/data2", "", false),
        ("/newdir/deep", "", false),
        ("/etc", "", false),
        ("/hosts-test/hosts", "", true),
    ];
    for (mp, fstype, ro) in expected {
        match find(mp) {
            None => {
                let all: Vec<_> = table.iter().map(|m| &m.mount_point).collect();
                c.check(false, format!("{mp} is not a mount point: {all:?}"))
            }
            Some(m) => {
                c.check(
                    fstype.is_empty() || m.fstype == fstype,
                    format!("{mp} has type {}", m.fstype),
                );
                c.check(
                    m.is_ro() == ro,
                    format!("{mp} options {}, want ro={ro}", m.options),
                );
            }
        }
    }
    for extra in ["/var/sub".to_owned(), format!("/{}", escape_name(t))] {
        c.check(
            find(&extra).is_some(),
            format!("{extra} must be a mount point"),
        );
    }
    for never in ["/mnt", "/up/sub", "/esc"] {
        c.check(
            find(never).is_none(),
            format!("{never} is a symlink; mounted through it"),
        );
    }
    let old_root = t.to_string_lossy();
    c.check(
        !table
            .iter()
            .any(|m| m.mount_point.starts_with(old_root.as_ref()) || m.mount_point == "/tmp"),
        "the old root is still visible",
    );
    let sys_flags = find("/sys").map(|m| m.options.clone()).unwrap_or_default();
    for f in ["nosuid", "nodev", "noexec"] {
        c.check(
            sys_flags.contains(f),
            format!("/sys lacks {f}: {sys_flags}"),
        );
    }
    // The test dir is a shared mount in the host-sim namespace: an rslave bind of it must be a
    // slave there ("master:N"), an rprivate one must have no propagation at all.
    let optional = |mp: &str| find(mp).map(|m| m.optional.clone());
    c.check(
        optional("/prop").is_some_and(|o| o.contains("master:") && !o.contains("shared:")),
        format!("/prop (rslave) propagation: {:?}", optional("/prop")),
    );
    c.check(
        optional("/rw").is_some_and(|o| o.is_empty()),
        format!("/rw (rprivate) propagation: {:?}", optional("/rw")),
    );
}

fn check_dev(c: &mut Checks) {
    for (name, major, minor) in [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ] {
        let p = format!("/dev/{name}");
        match fs::symlink_metadata(&p) {
            Ok(m) => {
                let rdev = m.rdev();
                c.check(
                    m.file_type().is_char_device()
                        && (libc::major(rdev), libc::minor(rdev)) == (major, minor)
                        && m.mode() & 0o7777 == 0o666,
                    format!("{p}: mode {:o} rdev {rdev:x}", m.mode()),
                );
            }
            Err(e) => c.check(false, format!("{p}: {e}")),
        }
    }
    c.check(
        fs::write("/dev/null", "x").is_ok(),
        "/dev/null not writable",
    );
    let zero = fs::File::open("/dev/zero").and_then(|mut f| {
        let mut b = [1u8; 4];
        std::io::Read::read_exact(&mut f, &mut b).map(|()| b)
    });
    c.check(
        matches!(zero, Ok([0, 0, 0, 0])),
        format!("/dev/zero: {zero:?}"),
    );
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
        ("core", "/proc/kcore"),
    ] {
        let got = fs::read_link(format!("/dev/{link}"));
        c.check(
            matches!(&got, Ok(p) if p == Path::new(target)),
            format!("/dev/{link} -> {got:?}"),
        );
    }
    c.check(
        fs::metadata("/dev/pts/ptmx").is_ok_and(|m| m.file_type().is_char_device()),
        "/dev/pts/ptmx missing (devpts newinstance)",
    );
    match fs::symlink_metadata("/dev/custom/mynull") {
        Ok(m) => c.check(
            m.file_type().is_char_device()
                && m.mode() & 0o7777 == 0o620
                && (m.uid(), m.gid()) == (1000, 1001)
                && (libc::major(m.rdev()), libc::minor(m.rdev())) == (1, 3),
            format!("/dev/custom/mynull: {m:?}"),
        ),
        Err(e) => c.check(false, format!("linux.devices /dev/custom/mynull: {e}")),
    }
}

fn check_binds_and_overlay(c: &mut Checks, t: &Path) {
    let read = |p: &str| fs::read_to_string(p).unwrap_or_else(|e| format!("<{e}>"));
    c.check(read("/ro/ro.txt") == "ro-content", "ro bind content");
    c.check(
        errno_of(fs::write("/ro/new.txt", "x")) == Some(libc::EROFS),
        "write to the ro bind must fail with EROFS",
    );
    c.check(
        errno_of(fs::write("/hosts-test/hosts", "x")) == Some(libc::EROFS),
        "write to the ro file bind must fail with EROFS",
    );
    c.check(
        read("/hosts-test/hosts") == "hosts-content\n",
        "file bind content",
    );
    c.check(
        fs::write("/rw/from-container.txt", "hello").is_ok(),
        "write to rw bind",
    );

    c.check(read("/shared.txt") == "top", "the topmost lower wins");
    c.check(
        read("/bin/only-in-top") == "top-only",
        "file of the top lower",
    );
    c.check(
        Path::new("/bin/busybox").is_file(),
        "file of the bottom lower",
    );

    c.check(
        read("/data/seed.txt") == "seed",
        "copy-up into the empty volume",
    );
    c.check(
        read("/data/sub/nested.txt") == "nested",
        "copy-up of subdirectories",
    );
    c.check(
        fs::read_link("/data/link").is_ok_and(|p| p == Path::new("/etc/passwd")),
        "copy-up keeps symlinks as links",
    );
    c.check(read("/data2/own.txt") == "own", "non-empty volume content");
    c.check(
        !Path::new("/data2/imgfile.txt").exists(),
        "a non-empty volume must not receive the image's files",
    );
    c.check(
        fs::write("/newdir/deep/x.txt", "deep").is_ok(),
        "write into the mkdir-source bind",
    );

    c.check(
        Path::new("/etc").join(MARKER).is_file(),
        "/mnt -> /etc must mount on the container's /etc",
    );
    c.check(
        fs::read_link("/mnt").is_ok_and(|p| p == Path::new("/etc")),
        "/mnt must still be the image's symlink",
    );
    c.check(
        Path::new("/var/sub/UP_MARKER").is_file(),
        "../../../../var link resolved in root",
    );
    c.check(
        Path::new("/")
            .join(escape_name(t))
            .join("ESC_MARKER")
            .is_file(),
        "dangling ../../../.. link target created and mounted inside the root",
    );
}

/// A bind whose source is a file over a directory of the image (and the reverse) is refused
/// with a message naming both paths.
pub fn mismatch(t: &Path) -> i32 {
    unshare_mount_ns();
    let root = t.join("mm_root");
    fs::create_dir_all(root.join("dir_dest")).unwrap();
    fs::write(root.join("file_dest"), "").unwrap();
    let mut c = Checks::default();
    for (src, dest) in [
        (t.join("file_src"), "/dir_dest"),
        (t.join("ro_src"), "/file_dest"),
    ] {
        let spec = serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": root},
            "mounts": [{"destination": dest, "type": "bind", "source": src, "options": ["rbind"]}],
        });
        let spec: oci_spec::runtime::Spec = serde_json::from_value(spec).unwrap();
        match rdocker_rootfs::prepare(&spec, t) {
            Ok(_) => c.check(false, format!("{} on {dest} must fail", src.display())),
            Err(e) => {
                let msg = e.to_string();
                eprintln!("  expected error: {msg}");
                c.check(
                    matches!(e, rdocker_rootfs::RootfsError::TypeMismatch { .. })
                        && msg.contains(&*src.to_string_lossy())
                        && msg.contains(dest),
                    format!("unclear error: {msg}"),
                );
            }
        }
    }
    c.exit_code("mismatch")
}
