//! New filesystem instances (proc, sysfs, tmpfs, devpts, mqueue, …) through the new mount API:
//! `fsopen` + `fsconfig` per option + `fsmount` + `move_mount` onto the resolved target fd.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::io::{read, Errno};
use rustix::mount::{
    fsconfig_create, fsconfig_set_flag, fsconfig_set_string, fsmount, fsopen, mount, FsMountFlags,
    FsOpenFlags,
};

use crate::options::MountOptions;
use crate::sys::{attach, proc_fd_path};

/// The error plus the filesystem's own explanation from the context's message log (e.g.
/// "overlay: failed to resolve '/x': -2"), which `errno` alone does not carry.
pub(crate) fn with_log(fs: &OwnedFd, errno: Errno) -> io::Error {
    let mut buf = [0u8; 512];
    let mut msgs = Vec::new();
    while let Ok(n) = read(fs.as_fd(), &mut buf) {
        if n == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&buf[..n]);
        msgs.push(
            line.trim_start_matches(['e', 'w', 'i', ' '])
                .trim()
                .to_owned(),
        );
    }
    if msgs.is_empty() {
        errno.into()
    } else {
        io::Error::new(errno.kind(), format!("{errno} ({})", msgs.join("; ")))
    }
}

/// Mounts a new `fstype` instance onto `target` (an `O_PATH` fd inside the root).
pub(crate) fn mount_fs(
    fstype: &str,
    source: Option<&Path>,
    opts: &MountOptions,
    target: BorrowedFd<'_>,
) -> io::Result<()> {
    let fs = match fsopen(fstype, FsOpenFlags::FSOPEN_CLOEXEC) {
        Ok(fs) => fs,
        Err(Errno::NOSYS) => return mount_legacy(fstype, source, opts, target),
        Err(e) => return Err(e.into()),
    };
    let config = || -> Result<(), Errno> {
        if let Some(src) = source {
            fsconfig_set_string(fs.as_fd(), "source", src)?;
        }
        for flag in &opts.sb_flags {
            fsconfig_set_flag(fs.as_fd(), *flag)?;
        }
        for d in &opts.data {
            match d.split_once('=') {
                Some((k, v)) => fsconfig_set_string(fs.as_fd(), k, v)?,
                None => fsconfig_set_flag(fs.as_fd(), d.as_str())?,
            }
        }
        fsconfig_create(fs.as_fd())
    };
    config().map_err(|e| with_log(&fs, e))?;
    let mnt = fsmount(fs.as_fd(), FsMountFlags::FSMOUNT_CLOEXEC, opts.attr_set)
        .map_err(|e| with_log(&fs, e))?;
    attach(mnt.as_fd(), target)?;
    if let Some(p) = opts.propagation {
        crate::sys::mount_setattr(
            mnt.as_fd(),
            p.recursive,
            rustix::mount::MountAttrFlags::empty(),
            rustix::mount::MountAttrFlags::empty(),
            Some(p),
        )?;
    }
    Ok(())
}

/// Kernels before 5.2: `mount(2)` on the target's `/proc/self/fd` link.
fn mount_legacy(
    fstype: &str,
    source: Option<&Path>,
    opts: &MountOptions,
    target: BorrowedFd<'_>,
) -> io::Result<()> {
    let data = std::ffi::CString::new(opts.data_string())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let source = source.unwrap_or(Path::new(fstype));
    mount(
        source,
        proc_fd_path(target),
        fstype,
        opts.ms_flags(),
        data.as_c_str(),
    )?;
    Ok(())
}
