//! Path operations confined to the layer root.
//!
//! Every directory we operate in is opened with `openat2(root_fd, path, RESOLVE_IN_ROOT |
//! RESOLVE_NO_MAGICLINKS)`: the kernel resolves `..` and symlinks (absolute or relative) as if
//! `root_fd` were `/`, so nothing a layer contains can lead outside it. All changes then go through
//! the parent directory fd with `*at` calls on a single final component, never following a final
//! symlink (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`, `linkat` without `AT_SYMLINK_FOLLOW`, `unlinkat`).
//!
//! Entries of a tar are grouped by directory, so the fd of the last parent is cached by its
//! normalized path. Removing anything (an entry replacing another) may delete or replace that
//! directory or one of its ancestors, so every removal drops the cache. Creating something never
//! needs to: a cached path resolved through existing names only, and creating a name requires it
//! to be absent.

use std::cell::Cell;
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::path::lossy;
use super::walk;
use super::UnpackError;

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::CLOEXEC);
const IN_ROOT: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// Mode of directories the layer implies but does not list (as Docker: 0755, root-owned).
const IMPLICIT_DIR_MODE: u32 = 0o755;

struct CachedDir {
    path: Vec<u8>,
    fd: Rc<OwnedFd>,
    setgid: bool,
}

/// The layer root (`dest`) and the parent-directory cache.
pub(super) struct Root {
    fd: Rc<OwnedFd>,
    root_setgid: bool,
    cache: Option<CachedDir>,
    /// Set by removals (which only borrow `&self`); the next lookup drops the cache.
    stale: Cell<bool>,
}

/// A parent directory opened in-root, with what the owner shortcut needs to know. Shared
/// (`Rc`) with the cache so that it stays valid while the entry removes things.
pub(super) struct Parent {
    dir: Rc<OwnedFd>,
    /// New entries inherit the directory's group instead of ours.
    pub setgid: bool,
}

impl Parent {
    pub(super) fn fd(&self) -> BorrowedFd<'_> {
        self.dir.as_fd()
    }
}

impl Root {
    /// Opens (creating if needed) the destination directory. `dest` itself is trusted: it is
    /// the engine's own path, so following symlinks in it is fine.
    pub(super) fn open(dest: &Path) -> Result<Root, UnpackError> {
        let open = || rfs::open(dest, DIR_FLAGS, Mode::empty());
        let fd = match open() {
            Ok(fd) => fd,
            Err(Errno::NOENT) => {
                std::fs::create_dir_all(dest)
                    .map_err(|e| io_err("mkdir", &dest.display().to_string(), e))?;
                open().map_err(|e| io_err("open", &dest.display().to_string(), e.into()))?
            }
            Err(e) => return Err(io_err("open", &dest.display().to_string(), e.into())),
        };
        let root_setgid =
            is_setgid(&fd).map_err(|e| io_err("stat", &dest.display().to_string(), e))?;
        Ok(Root {
            fd: Rc::new(fd),
            root_setgid,
            cache: None,
            stale: Cell::new(false),
        })
    }

    /// Opens an existing directory by its normalized layer path (`""` is the root) in-root.
    /// `nofollow` refuses a final symlink (used where the directory itself gets modified).
    pub(super) fn open_dir(&self, path: &[u8], nofollow: bool) -> io::Result<OwnedFd> {
        let flags = if nofollow {
            DIR_FLAGS | OFlags::NOFOLLOW
        } else {
            DIR_FLAGS
        };
        open_in_root(self.fd.as_fd(), path, flags)
    }

    /// The directory `parent` (a normalized path, `""` for the root), opened in-root and created
    /// with its missing ancestors as needed.
    pub(super) fn parent(&mut self, parent: &[u8]) -> Result<Parent, UnpackError> {
        if parent.is_empty() {
            return Ok(Parent {
                dir: self.fd.clone(),
                setgid: self.root_setgid,
            });
        }
        if self.stale.replace(false) {
            self.cache = None;
        }
        let hit = matches!(&self.cache, Some(c) if c.path == parent);
        if !hit {
            let fd = self.open_or_create(parent)?;
            let setgid = is_setgid(&fd).map_err(|e| io_err("stat", &lossy(parent), e))?;
            self.cache = Some(CachedDir {
                path: parent.to_vec(),
                fd: Rc::new(fd),
                setgid,
            });
        }
        match &self.cache {
            Some(c) => Ok(Parent {
                dir: c.fd.clone(),
                setgid: c.setgid,
            }),
            // Unreachable: filled just above; an error rather than a panic all the same.
            None => Err(io_err(
                "open",
                &lossy(parent),
                io::Error::from(io::ErrorKind::NotFound),
            )),
        }
    }

    fn open_or_create(&self, path: &[u8]) -> Result<OwnedFd, UnpackError> {
        match open_in_root(self.fd.as_fd(), path, DIR_FLAGS) {
            Ok(fd) => return Ok(fd),
            Err(e) if e.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => {}
            Err(e) => return Err(io_err("open", &lossy(path), e)),
        }
        // Slow path: walk the prefixes; each one is resolved in-root from the root again (so a
        // symlink met on the way behaves exactly as in the fast path) and missing ones are made
        // in the directory the previous prefix resolved to.
        let mut dir = rfs::openat(self.fd.as_fd(), c".", DIR_FLAGS, Mode::empty())
            .map_err(|e| io_err("open", ".", e.into()))?;
        let mut end = 0;
        for comp in path.split(|b| *b == b'/') {
            end += comp.len();
            let prefix = &path[..end];
            dir = match open_in_root(self.fd.as_fd(), prefix, DIR_FLAGS) {
                Ok(fd) => fd,
                Err(e) if e.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => {
                    // EEXIST here means a dangling symlink (or a non-directory): refuse rather
                    // than guess; Docker fails the same way.
                    rfs::mkdirat(&dir, comp, Mode::from_raw_mode(0o700)).map_err(|e| match e {
                        Errno::EXIST => UnpackError::NotADirectory {
                            path: lossy(prefix),
                        },
                        e => io_err("mkdir", &lossy(prefix), e.into()),
                    })?;
                    let fd = rfs::openat(&dir, comp, DIR_FLAGS | OFlags::NOFOLLOW, Mode::empty())
                        .map_err(|e| io_err("open", &lossy(prefix), e.into()))?;
                    // Explicit mode: mkdir's mode is filtered by the process umask.
                    rfs::fchmod(&fd, Mode::from_raw_mode(IMPLICIT_DIR_MODE))
                        .map_err(|e| io_err("chmod", &lossy(prefix), e.into()))?;
                    fd
                }
                Err(e) => return Err(io_err("open", &lossy(prefix), e)),
            };
            end += 1; // the '/'
        }
        Ok(dir)
    }

    /// Removes whatever `name` is in `parent` (a directory: the whole tree, never following
    /// symlinks). Returns whether something was there. Drops the parent cache.
    pub(super) fn remove(&self, parent: BorrowedFd<'_>, name: &[u8]) -> io::Result<bool> {
        let st = match rfs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        self.stale.set(true);
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            remove_tree(parent, name, 0)?;
        } else {
            rfs::unlinkat(parent, name, AtFlags::empty())?;
        }
        Ok(true)
    }

    /// Whether `name` in `parent` is a directory (not following a symlink); `None` if absent.
    pub(super) fn is_dir(parent: BorrowedFd<'_>, name: &[u8]) -> io::Result<Option<bool>> {
        match rfs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(
                FileType::from_raw_mode(st.st_mode) == FileType::Directory,
            )),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// Set once `openat2` answered ENOSYS: every later lookup uses the component-wise walk.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

#[cfg(test)]
thread_local! {
    /// Tests run the corpus through the fallback walk too.
    pub(super) static FORCE_WALK: Cell<bool> = const { Cell::new(false) };
}

/// Opens a directory in-root: `openat2` `RESOLVE_IN_ROOT`, or the walk of `walk.rs` where the
/// kernel lacks it. `EAGAIN` means a concurrent rename raced the lookup: retry a few times.
fn open_in_root(root: BorrowedFd<'_>, path: &[u8], flags: OFlags) -> io::Result<OwnedFd> {
    #[cfg(test)]
    if FORCE_WALK.with(Cell::get) {
        return walk::open_dir_in_root(root, path, flags, flags.contains(OFlags::NOFOLLOW));
    }
    if NO_OPENAT2.load(Ordering::Relaxed) {
        return walk::open_dir_in_root(root, path, flags, flags.contains(OFlags::NOFOLLOW));
    }
    let path: &[u8] = if path.is_empty() { b"." } else { path };
    let mut tries = 0;
    loop {
        match rfs::openat2(root, path, flags, Mode::empty(), IN_ROOT) {
            Err(Errno::AGAIN) if tries < 16 => tries += 1,
            Err(Errno::NOSYS) => {
                tracing::warn!("openat2 unavailable: resolving layer paths component by component");
                NO_OPENAT2.store(true, Ordering::Relaxed);
                return walk::open_dir_in_root(root, path, flags, flags.contains(OFlags::NOFOLLOW));
            }
            r => return r.map_err(io::Error::from),
        }
    }
}

fn is_setgid(fd: &OwnedFd) -> io::Result<bool> {
    let st = rfs::fstat(fd)?;
    Ok(st.st_mode & 0o2000 != 0)
}

/// Paths are at most 4096 bytes, so a tree is at most ~2048 levels deep; the bound keeps a
/// corrupt filesystem from recursing forever.
const MAX_DEPTH: usize = 4096;

fn remove_tree(parent: BorrowedFd<'_>, name: &[u8], depth: usize) -> io::Result<()> {
    if depth > MAX_DEPTH {
        return Err(io::Error::from_raw_os_error(Errno::LOOP.raw_os_error()));
    }
    // O_NOFOLLOW + O_DIRECTORY: if it is not (or no longer) a directory, this fails instead of
    // descending somewhere else.
    let fd = rfs::openat(parent, name, DIR_FLAGS | OFlags::NOFOLLOW, Mode::empty())?;
    // Collect first, then delete: removing while reading a directory stream can skip names.
    let mut children: Vec<(Vec<u8>, bool)> = Vec::new();
    let mut dir = rfs::Dir::read_from(&fd)?;
    while let Some(ent) = dir.read() {
        let ent = ent?;
        let n: &CStr = ent.file_name();
        let n = n.to_bytes();
        if n == b"." || n == b".." {
            continue;
        }
        let is_dir = match ent.file_type() {
            FileType::Directory => true,
            FileType::Unknown => Root::is_dir(fd.as_fd(), n)?.unwrap_or(false),
            _ => false,
        };
        children.push((n.to_vec(), is_dir));
    }
    for (child, is_dir) in children {
        if is_dir {
            remove_tree(fd.as_fd(), &child, depth + 1)?;
        } else {
            match rfs::unlinkat(&fd, child.as_slice(), AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    rfs::unlinkat(parent, name, AtFlags::REMOVEDIR)?;
    Ok(())
}

pub(super) fn io_err(op: &'static str, path: &str, source: io::Error) -> UnpackError {
    UnpackError::Io {
        op,
        path: path.to_string(),
        source,
    }
}
