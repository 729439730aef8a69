//! Resolving container paths inside the root, creating what is missing, without ever leaving
//! the root: every lookup is `openat2(root_fd, path, RESOLVE_IN_ROOT)`, so `..` and absolute
//! symlinks in the image are clamped to the container's `/` (the CVE-2021-30465 class).

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{mkdirat, openat, openat2, readlinkat, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// What to create when the destination is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    File,
}

/// Symlinks followed by hand (dangling ones) before giving up, as the kernel's ELOOP limit.
const MAX_HOPS: usize = 40;

const IN_ROOT: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// EAGAIN retries: with RESOLVE_IN_ROOT the kernel gives up on `..` whenever any rename or
/// mount happened on the system meanwhile, as happens on any busy host.
const MAX_RETRIES: usize = 64;

fn open_in_root(root: BorrowedFd<'_>, rel: &Path) -> Result<OwnedFd, Errno> {
    let mut tries = 0;
    loop {
        match openat2(
            root,
            rel.as_os_str(),
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            IN_ROOT,
        ) {
            Err(Errno::AGAIN) if tries < MAX_RETRIES => tries += 1,
            other => return other,
        }
    }
}

/// Opens `path` inside `root` as an `O_PATH` fd, creating missing components: directories,
/// and for the last one `kind`. A dangling symlink on the way is followed (inside the root)
/// and its target created, as runc does, so a link such as `/mnt -> ../../../etc` in an image
/// can only ever point at the container's own `/etc`.
pub(crate) fn create_in_root(
    root: BorrowedFd<'_>,
    path: &Path,
    kind: Kind,
) -> Result<OwnedFd, Errno> {
    let mut comps = clean(path);
    for _ in 0..MAX_HOPS {
        match walk(root, &comps, kind)? {
            Walk::Done(fd) => return Ok(fd),
            Walk::Restart(next) => comps = next,
        }
    }
    Err(Errno::LOOP)
}

enum Walk {
    Done(OwnedFd),
    /// A dangling symlink was met: resolve this path instead.
    Restart(Vec<OsString>),
}

fn walk(root: BorrowedFd<'_>, comps: &[OsString], kind: Kind) -> Result<Walk, Errno> {
    // Fast path: everything exists (the common case costs one syscall).
    match open_in_root(root, &join(comps)) {
        Ok(fd) => return Ok(Walk::Done(fd)),
        Err(Errno::NOENT) => {}
        Err(e) => return Err(e),
    }
    let mut parent = open_in_root(root, Path::new("."))?;
    for i in 0..comps.len() {
        let prefix = join(&comps[..=i]);
        let last = i + 1 == comps.len();
        let mut created = false;
        let fd = loop {
            match open_in_root(root, &prefix) {
                Ok(fd) => break fd,
                Err(Errno::NOENT) if !created => {}
                Err(e) => return Err(e),
            }
            let name = comps[i].as_os_str();
            if let Ok(target) = readlinkat(parent.as_fd(), name, Vec::new()) {
                let target = Path::new(OsStr::from_bytes(target.as_bytes()));
                return Ok(Walk::Restart(follow(
                    root,
                    &parent,
                    target,
                    &comps[i + 1..],
                )?));
            }
            let res = if last && kind == Kind::File {
                openat(
                    parent.as_fd(),
                    name,
                    OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::WRONLY
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o644),
                )
                .map(drop)
            } else {
                mkdirat(parent.as_fd(), name, Mode::from_raw_mode(0o755))
            };
            match res {
                // Created meanwhile by someone else: the next lookup decides.
                Ok(()) | Err(Errno::EXIST) => created = true,
                Err(e) => return Err(e),
            }
        };
        parent = fd;
    }
    Ok(Walk::Done(parent))
}

/// The path a dangling symlink named in `parent` leads to, followed by `rest`. The parent's
/// real location (from `/proc/self/fd`) anchors relative targets, so `..` means what the kernel
/// would make of it; the result is cleaned and therefore cannot climb above the root.
fn follow(
    root: BorrowedFd<'_>,
    parent: &OwnedFd,
    target: &Path,
    rest: &[OsString],
) -> Result<Vec<OsString>, Errno> {
    let mut path = if target.is_absolute() {
        PathBuf::from("/")
    } else {
        in_root_location(root, parent)?
    };
    path.push(target);
    for c in rest {
        path.push(c);
    }
    Ok(clean(&path))
}

/// Where `fd` sits inside the root, as an absolute container path.
fn in_root_location(root: BorrowedFd<'_>, fd: &OwnedFd) -> Result<PathBuf, Errno> {
    let real = |fd: BorrowedFd<'_>| {
        readlinkat(rustix::fs::CWD, crate::sys::proc_fd_path(fd), Vec::new())
            .map(|c| PathBuf::from(OsStr::from_bytes(c.as_bytes())))
    };
    let root_real = real(root)?;
    let here = real(fd.as_fd())?;
    match here.strip_prefix(&root_real) {
        Ok(rel) => Ok(Path::new("/").join(rel)),
        // The parent was resolved inside the root, so this only happens for paths the kernel
        // cannot name (deleted); the container's `/` is the safe anchor.
        Err(_) => Ok(PathBuf::from("/")),
    }
}

/// Lexical clean of a container path: no `.`, `..` popped but never above `/`.
pub(crate) fn clean(path: &Path) -> Vec<OsString> {
    let mut out: Vec<OsString> = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n.to_owned()),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

fn join(comps: &[OsString]) -> PathBuf {
    if comps.is_empty() {
        return PathBuf::from(".");
    }
    comps.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(p: &str) -> Vec<String> {
        clean(Path::new(p))
            .into_iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn clean_clamps_at_root() {
        assert_eq!(c("/../../etc"), ["etc"]);
        assert_eq!(c("/a/./b/../c//d/"), ["a", "c", "d"]);
        assert_eq!(c("a/../../b"), ["b"]);
        assert!(c("/").is_empty());
        assert_eq!(join(&clean(Path::new("/"))), PathBuf::from("."));
    }
}
