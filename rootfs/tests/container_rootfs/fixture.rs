//! The on-disk fixture (image layers, volumes, bind sources) and the spec that uses it, plus
//! the checks made from the host after the container is gone.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use serde_json::json;

pub const MARKER: &str = "MARKER-rdocker-rootfs-test";

/// A directory name, unique per run, that a dangling `../../../..` link in the image points
/// to: it must appear inside the container root and never at the host's `/`.
pub fn escape_name(t: &Path) -> String {
    format!(
        "rdocker-escape-{}",
        t.file_name().unwrap_or_default().to_string_lossy()
    )
}

fn write(p: impl AsRef<Path>, content: &str) {
    let p = p.as_ref();
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

fn chmod(p: impl AsRef<Path>, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

fn chown(p: impl AsRef<Path>, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(p, Some(uid), Some(gid)).unwrap();
}

/// A minimal busybox image layer at `dir`.
pub fn busybox_layer(dir: &Path) {
    fs::create_dir_all(dir.join("bin")).unwrap();
    fs::copy("/bin/busybox", dir.join("bin/busybox")).unwrap();
    symlink("busybox", dir.join("bin/sh")).unwrap();
    write(dir.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    for d in ["proc", "sys", "dev", "tmp", "var"] {
        fs::create_dir_all(dir.join(d)).unwrap();
    }
}

pub fn build(t: &Path) {
    let l1 = t.join("lower1");
    busybox_layer(&l1);
    write(l1.join("shared.txt"), "bottom");
    write(l1.join("data/seed.txt"), "seed");
    chmod(l1.join("data/seed.txt"), 0o640);
    chown(l1.join("data/seed.txt"), 1234, 5678);
    write(l1.join("data/sub/nested.txt"), "nested");
    symlink("/etc/passwd", l1.join("data/link")).unwrap();
    symlink("../../../../etc", l1.join("data/evil")).unwrap();
    chmod(l1.join("data"), 0o750);
    chown(l1.join("data"), 1234, 5678);
    write(l1.join("data2/imgfile.txt"), "image");
    fs::create_dir_all(l1.join("dir_dest")).unwrap();
    write(l1.join("file_dest"), "");
    symlink("/etc", l1.join("mnt")).unwrap();
    symlink("../../../../var", l1.join("up")).unwrap();
    symlink(format!("../../../../{}", escape_name(t)), l1.join("esc")).unwrap();

    let l2 = t.join("lower2");
    write(l2.join("bin/only-in-top"), "top-only");
    write(l2.join("shared.txt"), "top");

    for d in ["upper", "work", "rootfs", "rw_src", "vol_empty", "new"] {
        fs::create_dir_all(t.join(d)).unwrap();
    }
    write(t.join("ro_src/ro.txt"), "ro-content");
    write(t.join("vol_full/own.txt"), "own");
    write(t.join("mnt_src").join(MARKER), "marker");
    write(t.join("esc_src/ESC_MARKER"), "esc");
    write(t.join("up_src/UP_MARKER"), "up");
    write(t.join("file_src"), "hosts-content\n");
}

fn bind(dest: &str, src: PathBuf, opts: &[&str]) -> serde_json::Value {
    json!({"destination": dest, "type": "bind", "source": src, "options": opts})
}

/// Docker's default mounts for a container (as the engine writes them).
pub fn docker_default_mounts() -> Vec<serde_json::Value> {
    vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc",
               "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
               "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs",
               "options": ["nosuid", "noexec", "nodev", "ro"]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
               "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
               "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]}),
    ]
}

pub fn overlay_annotations(lower: &[PathBuf], upper: &Path, work: &Path) -> serde_json::Value {
    json!({
        "io.rdocker.overlay.lowerdir": serde_json::to_string(lower).unwrap(),
        "io.rdocker.overlay.upperdir": upper,
        "io.rdocker.overlay.workdir": work,
    })
}

pub fn full_spec(t: &Path) -> Spec {
    let mut mounts = docker_default_mounts();
    mounts.extend([
        bind("/ro", t.join("ro_src"), &["rbind", "ro", "rprivate"]),
        bind("/rw", t.join("rw_src"), &["rbind", "rw", "rprivate"]),
        json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "nodev", "size=1m"]}),
        bind("/data", t.join("vol_empty"), &["rbind", "rdocker.copyup"]),
        bind("/data2", t.join("vol_full"), &["rbind", "rdocker.copyup"]),
        bind(
            "/newdir/deep",
            t.join("new/src/a"),
            &["rbind", "rdocker.mkdir-source"],
        ),
        bind("/mnt", t.join("mnt_src"), &["rbind"]),
        bind("/up/sub", t.join("up_src"), &["rbind"]),
        bind("/esc", t.join("esc_src"), &["rbind"]),
        bind("/hosts-test/hosts", t.join("file_src"), &["rbind", "ro"]),
        bind("/prop", t.join("up_src"), &["rbind", "rslave"]),
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
               "options": ["ro", "nosuid", "noexec", "nodev"]}),
    ]);
    let spec = json!({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs", "readonly": true},
        "annotations": overlay_annotations(
            &[t.join("lower2"), t.join("lower1")], &t.join("upper"), &t.join("work")),
        "mounts": mounts,
        "linux": {
            "maskedPaths": ["/proc/kcore", "/proc/timer_list", "/sys/firmware", "/proc/no-such-path"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"],
            "devices": [{"path": "/dev/custom/mynull", "type": "c", "major": 1, "minor": 3,
                         "fileMode": 0o620, "uid": 1000, "gid": 1001}]
        }
    });
    serde_json::from_value(spec).unwrap()
}

pub fn check_host_side(t: &Path) {
    let read =
        |p: PathBuf| fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert_eq!(read(t.join("rw_src/from-container.txt")), "hello");
    assert_eq!(read(t.join("rw_src/after-ro.txt")), "still writable");
    assert_eq!(read(t.join("upper/overlay-written.txt")), "ov");
    assert!(!t.join("lower1/overlay-written.txt").exists());
    assert!(!t.join("lower2/overlay-written.txt").exists());

    // Copy-up: content, mode, owner, symlinks; the volume root takes the image dir's mode.
    let seed = t.join("vol_empty/seed.txt");
    assert_eq!(read(seed.clone()), "seed");
    let m = fs::metadata(&seed).unwrap();
    assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o640, 1234, 5678));
    assert_eq!(read(t.join("vol_empty/sub/nested.txt")), "nested");
    assert_eq!(
        fs::read_link(t.join("vol_empty/link")).unwrap(),
        Path::new("/etc/passwd")
    );
    let evil = fs::symlink_metadata(t.join("vol_empty/evil")).unwrap();
    assert!(
        evil.file_type().is_symlink(),
        "a symlinked dir must be copied as a link"
    );
    let m = fs::metadata(t.join("vol_empty")).unwrap();
    assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o750, 1234, 5678));
    let full: Vec<_> = fs::read_dir(t.join("vol_full"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(full, ["own.txt"], "a non-empty volume must be left alone");

    let m = fs::metadata(t.join("new/src/a")).unwrap();
    assert!(
        m.is_dir() && m.mode() & 0o7777 == 0o755,
        "mkdir-source mode {:o}",
        m.mode()
    );
    assert_eq!(read(t.join("new/src/a/x.txt")), "deep");

    // Symlinked destinations stayed inside the root.
    assert!(
        !Path::new("/etc").join(MARKER).exists(),
        "host /etc was touched"
    );
    assert!(
        !Path::new("/").join(escape_name(t)).exists(),
        "escaped to host /"
    );
    assert!(
        t.join("upper").join(escape_name(t)).is_dir(),
        "dangling link target not created in the root"
    );
    assert!(t.join("upper/var/sub").is_dir());
    assert!(!Path::new("/var/sub/UP_MARKER").exists());
    assert!(
        fs::read_dir(t.join("mnt_src")).unwrap().count() == 1,
        "nothing may be created in a bind source by the set-up"
    );
}
