//! Thin wrappers over the mount syscalls rustix does not cover, and the shared helpers for
//! attaching detached mounts onto resolved file descriptors.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use rustix::fs::{fstatvfs, StatVfsMountFlags};
use rustix::io::Errno;
use rustix::mount::{move_mount, MountAttrFlags, MountFlags, MoveMountFlags};

use crate::options::Propagation;

/// `mount_setattr(fd, "", AT_EMPTY_PATH [| AT_RECURSIVE], attr)`: changes the attributes of
/// the mount `fd` refers to (an `open_tree`/`fsmount` fd, attached or not).
pub(crate) fn mount_setattr(
    fd: BorrowedFd<'_>,
    recursive: bool,
    set: MountAttrFlags,
    clr: MountAttrFlags,
    propagation: Option<Propagation>,
) -> Result<(), Errno> {
    let mut attr = libc::mount_attr {
        attr_set: u64::from(set.bits()),
        attr_clr: u64::from(clr.bits()),
        propagation: propagation.map_or(0, |p| p.ms_bit()),
        userns_fd: 0,
    };
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: the path is a valid NUL-terminated string, `attr` is a live, correctly sized
    // `struct mount_attr` the kernel only reads, and `fd` is a valid descriptor for the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &mut attr as *mut libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::INVAL))
    }
}

/// Attaches the detached mount `mnt` on top of the object `target` (an `O_PATH` fd that was
/// resolved inside the root), without any path lookup that a symlink could redirect.
pub(crate) fn attach(mnt: BorrowedFd<'_>, target: BorrowedFd<'_>) -> Result<(), Errno> {
    move_mount(
        mnt,
        c"",
        target,
        c"",
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )
}

/// `/proc/self/fd/N`: the race-free way to name an fd to the classic `mount(2)`.
pub(crate) fn proc_fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// The flags a bind remount must repeat: the kernel refuses (EPERM) to drop flags that are
/// locked on the original mount (e.g. nosuid inherited into a user namespace).
pub(crate) fn locked_flags(fd: impl AsFd) -> Result<MountFlags, Errno> {
    let vfs = fstatvfs(fd)?;
    let pairs = [
        (StatVfsMountFlags::NOSUID, MountFlags::NOSUID),
        (StatVfsMountFlags::NODEV, MountFlags::NODEV),
        (StatVfsMountFlags::NOEXEC, MountFlags::NOEXEC),
        (StatVfsMountFlags::NOATIME, MountFlags::NOATIME),
        (StatVfsMountFlags::NODIRATIME, MountFlags::NODIRATIME),
        (StatVfsMountFlags::RELATIME, MountFlags::RELATIME),
        (StatVfsMountFlags::RDONLY, MountFlags::RDONLY),
    ];
    let mut flags = MountFlags::empty();
    for (vfs_flag, ms) in pairs {
        if vfs.f_flag.contains(vfs_flag) {
            flags |= ms;
        }
    }
    Ok(flags)
}

/// Changes the attributes of an attached or detached mount: `mount_setattr`, or on kernels
/// before 5.12 a bind remount through `/proc/self/fd` (which cannot clear attributes).
pub(crate) fn set_attrs(
    mnt: &OwnedFd,
    recursive: bool,
    set: MountAttrFlags,
    clr: MountAttrFlags,
) -> Result<(), Errno> {
    if set.is_empty() && clr.is_empty() {
        return Ok(());
    }
    match mount_setattr(mnt.as_fd(), recursive, set, clr, None) {
        Err(Errno::NOSYS) => {
            let mut flags = locked_flags(mnt)? & !MountFlags::RDONLY;
            flags |= crate::options::attr_to_ms(set);
            rustix::mount::mount_remount(proc_fd_path(mnt.as_fd()), flags | MountFlags::BIND, c"")
        }
        other => other,
    }
}
