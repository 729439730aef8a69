//! Leaving the host's root: the console bind, pivot_root the way runc does it, and the final
//! read-only remount of `/`.

use std::os::fd::AsFd;
use std::path::Path;

use rustix::fs::{open, Mode, OFlags, CWD};
use rustix::mount::{
    mount_change, open_tree, unmount, MountAttrFlags, MountPropagationFlags, OpenTreeFlags,
    UnmountFlags,
};
use rustix::process::{chdir, fchdir, pivot_root};

use crate::resolve::{create_in_root, Kind};
use crate::sys::{attach, set_attrs};
use crate::{io_err, RootfsError};

pub(crate) fn bind_console(root: &Path, slave: &Path) -> Result<(), RootfsError> {
    let root_fd = open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io_err("open root", root))?;
    let console = Path::new("/dev/console");
    let target =
        create_in_root(root_fd.as_fd(), console, Kind::File).map_err(io_err("create", console))?;
    let tree = open_tree(
        CWD,
        slave,
        OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
    )
    .map_err(io_err("open_tree console", slave))?;
    attach(tree.as_fd(), target.as_fd()).map_err(io_err("bind console", slave))
}

/// pivot_root(".", ".") stacks the old root on top of the new one at `/`; detaching it then
/// leaves only the new root, with no directory inside the container needed for the old one.
pub(crate) fn pivot(root: &Path) -> Result<(), RootfsError> {
    let dir = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let old_root = open("/", dir, Mode::empty()).map_err(io_err("open", Path::new("/")))?;
    let new_root = open(root, dir, Mode::empty()).map_err(io_err("open root", root))?;
    fchdir(&new_root).map_err(io_err("chdir", root))?;
    pivot_root(".", ".").map_err(io_err("pivot_root", root))?;
    // The kernel does not promise what "." is after pivot_root; the old root's fd is explicit.
    fchdir(&old_root).map_err(io_err("chdir to old root", root))?;
    // A slave receives but never sends propagation: the detach below cannot reach the host.
    mount_change(
        ".",
        MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
    )
    .map_err(io_err("make old root rslave", root))?;
    unmount(".", UnmountFlags::DETACH).map_err(io_err("detach old root", root))?;
    chdir("/").map_err(io_err("chdir", Path::new("/")))
}

pub(crate) fn remount_root_readonly() -> Result<(), RootfsError> {
    let slash = Path::new("/");
    let tree = open_tree(CWD, slash, OpenTreeFlags::OPEN_TREE_CLOEXEC)
        .map_err(io_err("open_tree", slash))?;
    set_attrs(
        &tree,
        false,
        MountAttrFlags::MOUNT_ATTR_RDONLY,
        MountAttrFlags::empty(),
    )
    .map_err(io_err("remount read-only", slash))
}
