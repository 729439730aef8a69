//! Writing one tar entry below the layer root.
//!
//! Each entry is created through its parent directory fd (opened in-root by [`Root::parent`])
//! with a single-component `*at` call that never follows a final symlink. A name that already
//! exists is replaced, as tar does: creation is tried first (`O_EXCL`, `mkdirat`, `symlinkat`,
//! …) and only on `EEXIST` is the old entry removed, so the common case costs no extra syscall.
//! Metadata goes on the fd we created where possible (`fchown`, `fsetxattr`, `fchmod` — in that
//! order, since chown clears setuid bits and file capabilities — then `futimens`).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{BorrowedFd, OwnedFd};
use std::rc::Rc;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, Timestamps, XattrFlags};
use rustix::io::Errno;
use rustix::process::{Gid, Uid};
use tar::{Entry, EntryType};

use super::decompress::{StreamState, BUF_SIZE};
use super::meta::{chmod_nofollow, Meta};
use super::path::{lossy, LayerPath, PathProblem};
use super::resolve::{io_err, Root};
use super::whiteout;
use super::UnpackError;

/// State of one unpack: the root, counters, and directory times to set at the end (creating
/// children changes a directory's mtime, so it can only be set once the layer is complete).
pub(super) struct Unpacker {
    pub root: Root,
    pub state: Rc<StreamState>,
    pub entries: u64,
    pub unpacked_bytes: u64,
    /// Keyed by path: a directory listed many times (hostile or not) is set once, last wins.
    dir_times: HashMap<Vec<u8>, Timestamps>,
    buf: Vec<u8>,
    /// Our effective ids: files we create already belong to them unless a setgid parent
    /// hands down its group, which lets us skip `fchown` for the common root-owned file.
    euid: u32,
    egid: u32,
}

impl Unpacker {
    pub(super) fn new(root: Root, state: Rc<StreamState>) -> Unpacker {
        Unpacker {
            root,
            state,
            entries: 0,
            unpacked_bytes: 0,
            dir_times: HashMap::new(),
            buf: vec![0; BUF_SIZE],
            euid: rustix::process::geteuid().as_raw(),
            egid: rustix::process::getegid().as_raw(),
        }
    }

    /// Applies one entry. The caller drains whatever content is left unread.
    pub(super) fn apply<R: Read>(&mut self, entry: &mut Entry<'_, R>) -> Result<(), UnpackError> {
        let kind = entry.header().entry_type();
        if kind == EntryType::XGlobalHeader {
            // Global PAX records (e.g. git's commit id) describe the archive, not a file.
            return Ok(());
        }
        self.entries += 1;
        let path = LayerPath::parse(&entry.path_bytes())?;
        let meta = Meta::read(entry, &path)?;

        if whiteout::is_whiteout(path.name()) {
            return whiteout::apply(self, &path, &meta);
        }
        if path.is_root() {
            if kind != EntryType::Directory {
                return Err(UnpackError::InvalidPath {
                    path: path.display(),
                    reason: PathProblem::Empty,
                });
            }
            // `./` carries the root's own mode and owner (Docker applies them too).
            let fd = self
                .root
                .open_dir(b"", false)
                .map_err(|e| io_err("open", ".", e))?;
            self.set_fd_meta(&fd, &meta, &path, false)?;
            self.dir_times.insert(Vec::new(), meta.times());
            return Ok(());
        }
        match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                self.file(entry, &path, &meta)
            }
            EntryType::Directory => self.dir(&path, &meta),
            EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| t.into_owned())
                    .unwrap_or_default();
                self.symlink(&path, &target, &meta)
            }
            EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| t.into_owned())
                    .unwrap_or_default();
                self.hardlink(&path, &target)
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                self.node(entry, kind, &path, &meta)
            }
            other => Err(UnpackError::UnsupportedEntry {
                path: path.display(),
                kind: other.as_byte(),
            }),
        }
    }

    fn file<R: Read>(
        &mut self,
        entry: &mut Entry<'_, R>,
        path: &LayerPath,
        meta: &Meta,
    ) -> Result<(), UnpackError> {
        let name = path.name();
        let parent = self.root.parent(path.parent())?;
        let create = || {
            rfs::openat(
                parent.fd(),
                name,
                OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::WRONLY | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )
        };
        let fd = replacing(&self.root, parent.fd(), name, "create", create)
            .map_err(|(op, e)| io_err(op, &path.display(), e))?;
        let skip_chown = self.owned_by_default(meta, parent.setgid);

        let mut file = File::from(fd);
        let mut written = 0u64;
        loop {
            let n = match entry.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.state.classify(e)),
            };
            file.write_all(&self.buf[..n])
                .map_err(|e| io_err("write", &path.display(), e))?;
            written += n as u64;
        }
        self.unpacked_bytes += written;
        let fd = OwnedFd::from(file);
        self.set_fd_meta(&fd, meta, path, skip_chown)?;
        rfs::futimens(&fd, &meta.times()).map_err(|e| io_err("utimes", &path.display(), e.into()))
    }

    fn dir(&mut self, path: &LayerPath, meta: &Meta) -> Result<(), UnpackError> {
        let name = path.name();
        let parent = self.root.parent(path.parent())?;
        let mkdir = || rfs::mkdirat(parent.fd(), name, Mode::from_raw_mode(0o700));
        // `created`: a directory we made has our owner; an existing one keeps its old owner.
        let created = match mkdir() {
            Ok(()) => true,
            // An existing directory stays (its contents too), anything else is replaced.
            Err(Errno::EXIST) => match Root::is_dir(parent.fd(), name) {
                Ok(Some(true)) => false,
                Ok(_) => {
                    self.root
                        .remove(parent.fd(), name)
                        .map_err(|e| io_err("remove", &path.display(), e))?;
                    mkdir().map_err(|e| io_err("mkdir", &path.display(), e.into()))?;
                    true
                }
                Err(e) => return Err(io_err("stat", &path.display(), e)),
            },
            Err(e) => return Err(io_err("mkdir", &path.display(), e.into())),
        };
        let skip_chown = created && self.owned_by_default(meta, parent.setgid);
        let fd = rfs::openat(
            parent.fd(),
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io_err("open", &path.display(), e.into()))?;
        self.set_fd_meta(&fd, meta, path, skip_chown)?;
        self.dir_times
            .insert(path.as_bytes().to_vec(), meta.times());
        Ok(())
    }

    fn symlink(&mut self, path: &LayerPath, target: &[u8], meta: &Meta) -> Result<(), UnpackError> {
        // The target is stored verbatim: it is data, only dangerous when followed, and nothing
        // here follows it. It must still be a valid C string.
        if target.is_empty() || target.contains(&0) {
            let reason = if target.is_empty() {
                PathProblem::Empty
            } else {
                PathProblem::NulByte
            };
            return Err(UnpackError::InvalidPath {
                path: lossy(target),
                reason,
            });
        }
        let name = path.name();
        let parent = self.root.parent(path.parent())?;
        let make = || rfs::symlinkat(target, parent.fd(), name);
        replacing(&self.root, parent.fd(), name, "symlink", make)
            .map_err(|(op, e)| io_err(op, &path.display(), e))?;
        self.unpacked_bytes += target.len() as u64;
        if !meta.xattrs.is_empty() {
            // fsetxattr needs a real fd, which a symlink cannot give without following it.
            tracing::debug!(path = %path.display(), "xattrs on a symlink are not applied");
        }
        if !self.owned_by_default(meta, parent.setgid) {
            lchown(parent.fd(), name, meta).map_err(|e| io_err("lchown", &path.display(), e))?;
        }
        rfs::utimensat(parent.fd(), name, &meta.times(), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| io_err("utimes", &path.display(), e.into()))
    }

    /// A hardlink to another entry of this layer. The target is resolved in-root like any path
    /// (its parent with `openat2`, its last component not followed), so it names an inode inside
    /// the layer or nothing. Metadata is the target's: the headers of hardlinks carry a copy.
    fn hardlink(&mut self, path: &LayerPath, target: &[u8]) -> Result<(), UnpackError> {
        let target = LayerPath::parse(target)?;
        if target.is_root() {
            return Err(UnpackError::InvalidPath {
                path: path.display(),
                reason: PathProblem::Empty,
            });
        }
        let shown = || format!("{} -> {}", path.display(), target.display());
        let tparent = self
            .root
            .open_dir(target.parent(), false)
            .map_err(|e| io_err("link", &shown(), e))?;
        let name = path.name();
        let parent = self.root.parent(path.parent())?;
        // No AT_SYMLINK_FOLLOW: a symlink target is linked as the symlink itself.
        let link = || rfs::linkat(&tparent, target.name(), parent.fd(), name, AtFlags::empty());
        replacing(&self.root, parent.fd(), name, "link", link).map_err(|(op, e)| match op {
            "remove" => io_err(op, &path.display(), e),
            _ => io_err(op, &shown(), e),
        })
    }

    fn node<R: Read>(
        &mut self,
        entry: &Entry<'_, R>,
        kind: EntryType,
        path: &LayerPath,
        meta: &Meta,
    ) -> Result<(), UnpackError> {
        let h = entry.header();
        let dev_err = |e| UnpackError::Header {
            path: path.display(),
            source: e,
        };
        let ftype = match kind {
            EntryType::Char => FileType::CharacterDevice,
            EntryType::Block => FileType::BlockDevice,
            _ => FileType::Fifo,
        };
        // FIFOs often leave the device fields blank; only devices need them.
        let (major, minor) = if ftype == FileType::Fifo {
            (0, 0)
        } else {
            (
                h.device_major().map_err(dev_err)?.unwrap_or(0),
                h.device_minor().map_err(dev_err)?.unwrap_or(0),
            )
        };
        let name = path.name();
        let parent = self.root.parent(path.parent())?;
        make_node(
            &self.root,
            parent.fd(),
            name,
            ftype,
            rfs::makedev(major, minor),
        )
        .map_err(|e| io_err("mknod", &path.display(), e))?;
        if !self.owned_by_default(meta, parent.setgid) {
            lchown(parent.fd(), name, meta).map_err(|e| io_err("lchown", &path.display(), e))?;
        }
        chmod_nofollow(parent.fd(), name, meta.mode)
            .map_err(|e| io_err("chmod", &path.display(), e))?;
        if !meta.xattrs.is_empty() {
            // Opening a device to get an fd for fsetxattr could have side effects in its driver.
            tracing::debug!(path = %path.display(), "xattrs on a device node are not applied");
        }
        rfs::utimensat(parent.fd(), name, &meta.times(), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| io_err("utimes", &path.display(), e.into()))
    }

    /// Owner, xattrs, then mode, on an fd we opened without following symlinks.
    pub(super) fn set_fd_meta(
        &self,
        fd: &OwnedFd,
        meta: &Meta,
        path: &LayerPath,
        skip_chown: bool,
    ) -> Result<(), UnpackError> {
        if !skip_chown {
            rfs::fchown(fd, Some(uid(meta)), Some(gid(meta)))
                .map_err(|e| io_err("chown", &path.display(), e.into()))?;
        }
        for (name, value) in &meta.xattrs {
            match rfs::fsetxattr(fd, name.as_slice(), value, XattrFlags::empty()) {
                Ok(()) => {}
                // Not every filesystem takes every namespace (Docker ignores these too).
                Err(e @ (Errno::OPNOTSUPP | Errno::PERM)) => {
                    tracing::warn!(path = %path.display(), xattr = %lossy(name), error = %e, "xattr not applied");
                }
                Err(e) => {
                    let shown = format!("{} ({})", path.display(), lossy(name));
                    return Err(io_err("setxattr", &shown, e.into()));
                }
            }
        }
        rfs::fchmod(fd, Mode::from_raw_mode(meta.mode))
            .map_err(|e| io_err("chmod", &path.display(), e.into()))
    }

    /// Whether a freshly created entry already has the owner `meta` asks for.
    pub(super) fn owned_by_default(&self, meta: &Meta, parent_setgid: bool) -> bool {
        meta.uid == self.euid && meta.gid == self.egid && !parent_setgid
    }

    /// Sets directory times last; a directory gone or replaced since is skipped.
    pub(super) fn finish(&mut self) -> Result<(), UnpackError> {
        for (path, times) in std::mem::take(&mut self.dir_times) {
            let fd = match self.root.open_dir(&path, true) {
                Ok(fd) => fd,
                Err(e) if matches!(e.raw_os_error(), Some(c) if c == Errno::NOENT.raw_os_error() || c == Errno::LOOP.raw_os_error() || c == Errno::NOTDIR.raw_os_error()) => {
                    continue
                }
                Err(e) => return Err(io_err("open", &lossy(&path), e)),
            };
            rfs::futimens(&fd, &times).map_err(|e| io_err("utimes", &lossy(&path), e.into()))?;
        }
        Ok(())
    }
}

/// `mknodat`, replacing an existing entry of that name.
pub(super) fn make_node(
    root: &Root,
    parent: BorrowedFd<'_>,
    name: &[u8],
    ftype: FileType,
    dev: rfs::Dev,
) -> io::Result<()> {
    // Mode 0 for now: the real mode is set explicitly after chown (mknod's is umask-filtered).
    let make = || rfs::mknodat(parent, name, ftype, Mode::empty(), dev);
    replacing(root, parent, name, "mknod", make).map_err(|(_, e)| e)
}

/// Sets the entry's owner without following it (a symlink or device node has no fd of its own).
fn lchown(parent: BorrowedFd<'_>, name: &[u8], meta: &Meta) -> io::Result<()> {
    rfs::chownat(
        parent,
        name,
        Some(uid(meta)),
        Some(gid(meta)),
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(io::Error::from)
}

/// Runs `make` for `name` in `parent`; when an entry of that name is in the way (a later tar
/// entry replaces an earlier one, as tar does), removes it without following it and runs
/// `make` once more. An error comes with the step that failed: "remove", or `op`.
fn replacing<T>(
    root: &Root,
    parent: BorrowedFd<'_>,
    name: &[u8],
    op: &'static str,
    make: impl Fn() -> Result<T, Errno>,
) -> Result<T, (&'static str, io::Error)> {
    match make() {
        Err(Errno::EXIST) => {
            root.remove(parent, name).map_err(|e| ("remove", e))?;
            make().map_err(|e| (op, e.into()))
        }
        r => r.map_err(|e| (op, e.into())),
    }
}

pub(super) fn uid(meta: &Meta) -> Uid {
    Uid::from_raw(meta.uid)
}

pub(super) fn gid(meta: &Meta) -> Gid {
    Gid::from_raw(meta.gid)
}
