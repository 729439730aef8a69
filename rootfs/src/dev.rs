//! The container's `/dev` on the engine's tmpfs: the standard nodes, links and the console
//! placeholder, plus `linux.devices` from the spec.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};
use rustix::fs::{
    chownat, makedev, mknodat, openat, symlinkat, AtFlags, FileType, Gid, Mode, OFlags, Uid, CWD,
};
use rustix::io::Errno;
use rustix::mount::{open_tree, OpenTreeFlags};

use crate::resolve::{create_in_root, Kind};
use crate::sys::attach;
use crate::{io_err, RootfsError};

/// name, major, minor: the nodes every container gets (mode 0666, owned by root).
const DEFAULT_NODES: [(&str, u32, u32); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

const LINKS: [(&str, &str); 6] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
    ("core", "/proc/kcore"),
];

/// Fills `/dev` (the tmpfs the engine mounted there): default nodes, links, `console`.
pub(crate) fn populate_default(root: BorrowedFd<'_>) -> Result<(), RootfsError> {
    let dev = create_in_root(root, Path::new("/dev"), Kind::Dir).map_err(|e| RootfsError::Io {
        op: "open",
        path: "/dev".into(),
        source: e.into(),
    })?;
    for (name, major, minor) in DEFAULT_NODES {
        let host = PathBuf::from("/dev").join(name);
        make_node(
            &dev,
            name,
            FileType::CharacterDevice,
            0o666,
            major,
            minor,
            &host,
        )
        .map_err(io_err("create device", &host))?;
    }
    for (name, target) in LINKS {
        match symlinkat(target, &dev, name) {
            // Something the spec mounted there (a bind of the host's node, say) wins.
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(io_err("symlink", &Path::new("/dev").join(name))(e)),
        }
    }
    match openat(
        &dev,
        "console",
        OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o666),
    ) {
        Ok(_) | Err(Errno::EXIST) => Ok(()),
        Err(e) => Err(io_err("create", Path::new("/dev/console"))(e)),
    }
}

/// `linux.devices`: each node created at its path inside the root.
pub(crate) fn create_devices(
    root: BorrowedFd<'_>,
    devices: &[LinuxDevice],
) -> Result<(), RootfsError> {
    for d in devices {
        let path = d.path();
        let ft = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => FileType::CharacterDevice,
            LinuxDeviceType::B => FileType::BlockDevice,
            LinuxDeviceType::P => FileType::Fifo,
            LinuxDeviceType::A => {
                return Err(RootfsError::Spec(format!(
                    "device {}: type \"a\" is only valid in cgroup rules",
                    path.display()
                )))
            }
        };
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(RootfsError::Spec(format!("device path {}", path.display())));
        };
        let (Ok(major), Ok(minor)) = (u32::try_from(d.major()), u32::try_from(d.minor())) else {
            return Err(RootfsError::Spec(format!(
                "device {}: bad major/minor {}:{}",
                path.display(),
                d.major(),
                d.minor()
            )));
        };
        let dir = create_in_root(root, parent, Kind::Dir).map_err(io_err("create", parent))?;
        let name = Path::new(name);
        let mode = d.file_mode().unwrap_or(0o666) & 0o7777;
        make_node(&dir, name, ft, mode, major, minor, path)
            .map_err(io_err("create device", path))?;
        let (uid, gid) = (d.uid().unwrap_or(0), d.gid().unwrap_or(0));
        if uid != 0 || gid != 0 {
            chownat(
                &dir,
                name,
                Some(Uid::from_raw(uid)),
                Some(Gid::from_raw(gid)),
                AtFlags::SYMLINK_NOFOLLOW,
            )
            .map_err(io_err("chown device", path))?;
        }
    }
    Ok(())
}

/// mknod, or where that is not allowed (EPERM in a user namespace) a bind of the host's node
/// over an empty file. An existing entry is left alone.
fn make_node<P: rustix::path::Arg + Copy>(
    dir: &OwnedFd,
    name: P,
    ft: FileType,
    mode: u32,
    major: u32,
    minor: u32,
    host: &Path,
) -> Result<(), Errno> {
    match mknodat(
        dir,
        name,
        ft,
        Mode::from_raw_mode(mode),
        makedev(major, minor),
    ) {
        Ok(()) | Err(Errno::EXIST) => Ok(()),
        Err(Errno::PERM) => {
            let file = openat(
                dir,
                name,
                OFlags::CREATE | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o666),
            )?;
            let tree = open_tree(
                CWD,
                host,
                OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
            )?;
            attach(tree.as_fd(), file.as_fd())
        }
        Err(e) => Err(e),
    }
}
