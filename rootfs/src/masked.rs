//! `linux.maskedPaths` and `linux.readonlyPaths`, applied after pivot_root so that every path
//! is the container's own (`/proc` and `/sys` as mounted for it).

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{fstat, openat2, FileType, Mode, OFlags, ResolveFlags, CWD};
use rustix::io::Errno;
use rustix::mount::{
    fsconfig_create, fsconfig_set_string, fsmount, fsopen, open_tree, FsMountFlags, FsOpenFlags,
    MountAttrFlags, OpenTreeFlags,
};

use crate::sys::{attach, set_attrs};
use crate::{io_err, RootfsError};

/// `/proc` is full of symlinks into other namespaces' views; none of them is followed.
fn open_target(path: &Path) -> Result<Option<OwnedFd>, Errno> {
    match openat2(
        CWD,
        path,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(fd) => Ok(Some(fd)),
        // Paths the kernel does not have (e.g. /proc/acpi on some machines) need no masking.
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Hides each path: an empty read-only tmpfs over a directory, `/dev/null` over anything else.
pub(crate) fn mask(paths: &[String]) -> Result<(), RootfsError> {
    // Opened and checked once, lazily (only files need it); every mask is cloned from this fd.
    let mut null: Option<OwnedFd> = None;
    for p in paths {
        let path = Path::new(p);
        let Some(target) = open_target(path).map_err(io_err("open masked path", path))? else {
            continue;
        };
        let st = fstat(&target).map_err(io_err("stat masked path", path))?;
        let mnt = if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            empty_ro_tmpfs().map_err(io_err("mount tmpfs to mask", path))?
        } else {
            let null_fd = match &mut null {
                Some(fd) => fd,
                empty => empty.insert(real_dev_null()?),
            };
            open_tree(
                null_fd.as_fd(),
                "",
                OpenTreeFlags::OPEN_TREE_CLONE
                    | OpenTreeFlags::OPEN_TREE_CLOEXEC
                    | OpenTreeFlags::AT_EMPTY_PATH,
            )
            .map_err(io_err("open_tree", Path::new("/dev/null")))?
        };
        attach(mnt.as_fd(), target.as_fd()).map_err(io_err("mask", path))?;
    }
    Ok(())
}

/// The container's `/dev/null`, checked to be the null device (character 1:3) before any file
/// is masked with it: an image (or a racing process) that put a symlink or another file there
/// would otherwise have us bind that over `/proc/...` (CVE-2025-31133's class).
fn real_dev_null() -> Result<OwnedFd, RootfsError> {
    let path = Path::new("/dev/null");
    let fd = rustix::fs::open(
        path,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io_err("open", path))?;
    let st = fstat(&fd).map_err(io_err("stat", path))?;
    let kind = FileType::from_raw_mode(st.st_mode);
    let rdev = st.st_rdev;
    if kind == FileType::CharacterDevice
        && (rustix::fs::major(rdev), rustix::fs::minor(rdev)) == (1, 3)
    {
        return Ok(fd);
    }
    let what = match kind {
        FileType::Symlink => "a symlink".to_string(),
        FileType::CharacterDevice => format!(
            "the character device {}:{}",
            rustix::fs::major(rdev),
            rustix::fs::minor(rdev)
        ),
        FileType::RegularFile => "a regular file".to_string(),
        FileType::Directory => "a directory".to_string(),
        other => format!("{other:?}"),
    };
    Err(RootfsError::Io {
        op: "refusing to mask paths with",
        path: path.to_path_buf(),
        source: std::io::Error::other(format!(
            "it is {what}, not the null device (character device 1:3)"
        )),
    })
}

fn empty_ro_tmpfs() -> Result<OwnedFd, Errno> {
    let fs = fsopen("tmpfs", FsOpenFlags::FSOPEN_CLOEXEC)?;
    fsconfig_set_string(fs.as_fd(), "source", "tmpfs")?;
    fsconfig_set_string(fs.as_fd(), "size", "0")?;
    fsconfig_create(fs.as_fd())?;
    fsmount(
        fs.as_fd(),
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::MOUNT_ATTR_RDONLY,
    )
}

/// Makes each path (and everything mounted below it) read-only: a recursive bind of the path
/// onto itself, then the read-only attribute on that copy only.
pub(crate) fn readonly(paths: &[String]) -> Result<(), RootfsError> {
    for p in paths {
        let path = Path::new(p);
        let Some(target) = open_target(path).map_err(io_err("open read-only path", path))? else {
            continue;
        };
        let tree = open_tree(
            target.as_fd(),
            "",
            OpenTreeFlags::OPEN_TREE_CLONE
                | OpenTreeFlags::OPEN_TREE_CLOEXEC
                | OpenTreeFlags::AT_RECURSIVE
                | OpenTreeFlags::AT_EMPTY_PATH,
        )
        .map_err(io_err("open_tree", path))?;
        attach(tree.as_fd(), target.as_fd()).map_err(io_err("bind read-only path", path))?;
        set_attrs(
            &tree,
            true,
            MountAttrFlags::MOUNT_ATTR_RDONLY,
            MountAttrFlags::empty(),
        )
        .map_err(io_err("make read-only", path))?;
    }
    Ok(())
}
