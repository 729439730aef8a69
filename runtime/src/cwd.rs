//! The working directory (CVE-2024-21626): created inside the container's root only, entered
//! as the container's user, and checked to lie inside the root before execve.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{mkdirat, openat2, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::error::{Context, ShimError};

/// `..` and absolute symlinks stay inside our root; `/proc/self/fd/N` and its kin (magic links
/// that may point at a directory outside the root) are refused.
const IN_ROOT: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// Creates a missing working directory (docker's `WorkingDir` behaviour), component by
/// component, every lookup resolved inside the current root.
pub fn create(cwd: &Path) -> Result<(), ShimError> {
    let outside = |e: Errno| match e {
        // RESOLVE_NO_MAGICLINKS: /proc/self/fd/N, /proc/<pid>/cwd and the like.
        Errno::LOOP => ShimError::Spec(format!(
            "working directory {} cannot be resolved inside the container's root \
             (a magic link such as /proc/self/fd/N, or a symlink loop)",
            cwd.display()
        )),
        e => ShimError::sys(format!("create working directory {}", cwd.display()), e),
    };
    let root = rustix::fs::open(
        "/",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| "open /")?;
    let mut prefix = PathBuf::new();
    let mut parent: OwnedFd = open_in_root(&root, Path::new(".")).map_err(outside)?;
    for name in clean(cwd) {
        prefix.push(&name);
        let fd = match open_in_root(&root, &prefix) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => {
                match mkdirat(&parent, &name, Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(outside(e)),
                }
                open_in_root(&root, &prefix).map_err(outside)?
            }
            Err(e) => return Err(outside(e)),
        };
        parent = fd;
    }
    let st = rustix::fs::fstat(&parent).ctx(|| format!("stat {}", cwd.display()))?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::Directory {
        return Err(ShimError::Spec(format!(
            "working directory {} is not a directory",
            cwd.display()
        )));
    }
    Ok(())
}

/// Lexical: `..` pops, never above `/` (the kernel clamps there too under RESOLVE_IN_ROOT).
fn clean(path: &Path) -> Vec<std::ffi::OsString> {
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n.to_owned()),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

fn open_in_root(root: &OwnedFd, rel: &Path) -> Result<OwnedFd, Errno> {
    let mut tries = 0;
    loop {
        match openat2(
            root.as_fd(),
            rel,
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            IN_ROOT,
        ) {
            // RESOLVE_IN_ROOT gives up on `..` when anything was renamed meanwhile.
            Err(Errno::AGAIN) if tries < 64 => tries += 1,
            other => return other,
        }
    }
}

/// chdir as the container's user, then the check that we really are inside our root.
pub fn enter(cwd: &Path) -> Result<(), ShimError> {
    std::env::set_current_dir(cwd)
        .ctx(|| format!("chdir to working directory {}", cwd.display()))?;
    // getcwd prefixes "(unreachable)" when the directory lies outside our root.
    let now = rustix::process::getcwd(Vec::new()).ctx(|| "getcwd")?;
    if !now.to_bytes().starts_with(b"/") {
        return Err(ShimError::Spec(format!(
            "working directory {} is outside the container's root",
            cwd.display()
        )));
    }
    Ok(())
}
