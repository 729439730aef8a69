//! Fallback for kernels without `openat2` (before 5.6, or a seccomp filter answering ENOSYS):
//! resolves a directory path below a root fd one component at a time, with the semantics of
//! `RESOLVE_IN_ROOT` — `..` at the root stays at the root, an absolute symlink restarts from the
//! root, a relative one continues from the directory holding it — and never follows anything the
//! kernel could resolve outside: each step is `openat(dir, component, O_NOFOLLOW | O_DIRECTORY)`,
//! and symlinks are read (`readlinkat`) and expanded here.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{self as rfs, Mode, OFlags};
use rustix::io::Errno;

/// Linux's own limit on symlinks in one lookup.
const MAX_SYMLINKS: usize = 40;

/// Opens the directory `path` (normalized or not) in-root. With `nofollow`, a final symlink is
/// `ELOOP`, as with `O_NOFOLLOW`.
pub(super) fn open_dir_in_root(
    root: BorrowedFd<'_>,
    path: &[u8],
    flags: OFlags,
    nofollow: bool,
) -> io::Result<OwnedFd> {
    let flags = flags | OFlags::NOFOLLOW | OFlags::DIRECTORY;
    // The directories from the root down to the current one; empty means "at the root".
    let mut stack: Vec<OwnedFd> = Vec::new();
    let mut todo: VecDeque<Vec<u8>> = components(path).collect();
    let mut links = 0;
    while let Some(comp) = todo.pop_front() {
        if comp == b".." {
            stack.pop();
            continue;
        }
        let cur = stack.last().map_or(root, |fd| fd.as_fd());
        match rfs::openat(cur, comp.as_slice(), flags, Mode::empty()) {
            Ok(fd) => stack.push(fd),
            // ELOOP: a symlink (O_NOFOLLOW); ENOTDIR: a symlink or a non-directory.
            Err(e @ (Errno::LOOP | Errno::NOTDIR)) => {
                let target = match rfs::readlinkat(cur, comp.as_slice(), Vec::new()) {
                    Ok(t) => t.into_bytes(),
                    Err(_) => return Err(e.into()),
                };
                links += 1;
                if links > MAX_SYMLINKS || (nofollow && todo.is_empty()) {
                    return Err(Errno::LOOP.into());
                }
                if target.first() == Some(&b'/') {
                    stack.clear();
                }
                for c in components(&target).rev() {
                    todo.push_front(c);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    match stack.pop() {
        Some(fd) => Ok(fd),
        // The path resolved to the root itself.
        None => rfs::openat(root, c".", flags, Mode::empty()).map_err(io::Error::from),
    }
}

fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = Vec<u8>> + '_ {
    path.split(|b| *b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .map(<[u8]>::to_vec)
}
