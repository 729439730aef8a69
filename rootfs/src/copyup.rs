//! docker's volume fill: an empty volume mounted over a directory of the image first receives
//! a copy of that directory. The image side is untrusted, so nothing there is followed: every
//! open is relative to an already opened directory with `O_NOFOLLOW`, symlinks are copied as
//! links, and the copy only ever creates new entries (`O_EXCL`) in the freshly checked volume.

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{
    chownat, fchmod, fchown, fstat, futimens, mkdirat, mknodat, openat, readlinkat, statat,
    symlinkat, utimensat, AtFlags, Dir, FileType, Gid, Mode, OFlags, Stat, Timespec, Timestamps,
    Uid,
};
use rustix::io::Errno;

use crate::RootfsError;

/// Deep image trees beyond this are refused rather than risking the init's stack.
const MAX_DEPTH: usize = 128;

/// Copies the image's directory `image_dir` (an `O_PATH` fd inside the root, `dest` is its
/// container path, for messages) into `volume` when `volume` is an empty directory.
pub(crate) fn fill_if_empty(
    volume: &Path,
    image_dir: &OwnedFd,
    dest: &Path,
) -> Result<(), RootfsError> {
    let err = |op: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |e: Errno| RootfsError::Io {
            op,
            path: p,
            source: e.into(),
        }
    };
    let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let vol =
        rustix::fs::open(volume, dir_flags, Mode::empty()).map_err(err("open volume", volume))?;
    if !is_empty(&vol).map_err(err("read volume", volume))? {
        return Ok(());
    }
    let src = openat(image_dir, ".", dir_flags | OFlags::NOFOLLOW, Mode::empty())
        .map_err(err("open image directory", dest))?;
    copy_dir(&src, &vol, 0).map_err(|e| RootfsError::Io {
        op: "copy image content into volume",
        path: format!("{} -> {}", dest.display(), volume.display()).into(),
        source: e,
    })?;
    // The volume root takes the owner and mode of the directory it covers, as docker does.
    let st = fstat(&src).map_err(err("stat", dest))?;
    copy_meta(&vol, &st).map_err(err("chown volume", volume))
}

fn is_empty(dir: &OwnedFd) -> Result<bool, Errno> {
    let mut d = Dir::read_from(dir)?;
    while let Some(entry) = d.read() {
        let name = entry?.file_name().to_bytes().to_vec();
        if name != b"." && name != b".." {
            return Ok(false);
        }
    }
    Ok(true)
}

fn copy_dir(src: &OwnedFd, dst: &OwnedFd, depth: usize) -> std::io::Result<()> {
    if depth > MAX_DEPTH {
        return Err(std::io::Error::other("directory tree too deep"));
    }
    let mut d = Dir::read_from(src)?;
    while let Some(entry) = d.read() {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_bytes() == b"." || name.to_bytes() == b".." {
            continue;
        }
        let st = statat(src, name, AtFlags::SYMLINK_NOFOLLOW)?;
        let perm = Mode::from_raw_mode(st.st_mode & 0o7777);
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => {
                mkdirat(dst, name, Mode::from_raw_mode(0o700))?;
                let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                let s = openat(src, name, flags, Mode::empty())?;
                let t = openat(dst, name, flags, Mode::empty())?;
                copy_dir(&s, &t, depth + 1)?;
                copy_meta(&t, &st)?;
            }
            FileType::RegularFile => {
                let s = openat(
                    src,
                    name,
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                let t = openat(
                    dst,
                    name,
                    OFlags::WRONLY
                        | OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                )?;
                let (mut s, mut t) = (File::from(s), File::from(t));
                // std uses copy_file_range/sendfile for File to File.
                std::io::copy(&mut s, &mut t)?;
                copy_meta(&OwnedFd::from(t), &st)?;
            }
            FileType::Symlink => {
                let target = readlinkat(src, name, Vec::new())?;
                symlinkat(target.as_c_str(), dst, name)?;
                chownat(
                    dst,
                    name,
                    Some(uid(&st)),
                    Some(gid(&st)),
                    AtFlags::SYMLINK_NOFOLLOW,
                )?;
                utimensat(dst, name, &times(&st), AtFlags::SYMLINK_NOFOLLOW)?;
            }
            ft @ (FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo) => {
                mknodat(dst, name, ft, perm, st.st_rdev)?;
                chownat(
                    dst,
                    name,
                    Some(uid(&st)),
                    Some(gid(&st)),
                    AtFlags::SYMLINK_NOFOLLOW,
                )?;
                // chown may drop setuid bits; the mode is restored after it.
                rustix::fs::chmodat(dst, name, perm, AtFlags::empty())?;
            }
            // Sockets are bound by a process and meaningless as a copy.
            _ => {}
        }
    }
    Ok(())
}

/// Owner, then mode (chown clears setuid/setgid), then times of an open file or directory.
fn copy_meta(fd: &OwnedFd, st: &Stat) -> Result<(), Errno> {
    let fd: BorrowedFd<'_> = fd.as_fd();
    fchown(fd, Some(uid(st)), Some(gid(st)))?;
    fchmod(fd, Mode::from_raw_mode(st.st_mode & 0o7777))?;
    futimens(fd, &times(st))
}

fn uid(st: &Stat) -> Uid {
    Uid::from_raw(st.st_uid)
}

fn gid(st: &Stat) -> Gid {
    Gid::from_raw(st.st_gid)
}

fn times(st: &Stat) -> Timestamps {
    Timestamps {
        last_access: Timespec {
            tv_sec: st.st_atime,
            tv_nsec: st.st_atime_nsec as _,
        },
        last_modification: Timespec {
            tv_sec: st.st_mtime,
            tv_nsec: st.st_mtime_nsec as _,
        },
    }
}
