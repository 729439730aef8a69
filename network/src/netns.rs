//! Named network namespaces (a bind-mounted nsfs file, like `ip netns add`) and the
//! "enter in a throw-away thread" helper.
//!
//! # Why entering a namespace from rdockerd is safe here
//!
//! `setns(fd, CLONE_NEWNET)` and `unshare(CLONE_NEWNET)` change the network namespace of the
//! *calling thread only* (it is a per-task attribute, unlike the mount namespace with a shared
//! `fs_struct` or the user namespace, which a multi-threaded process cannot change). We never do it
//! on a tokio worker or blocking-pool thread, which would then keep serving other tasks in the
//! wrong namespace: [`Netns::run`] spawns a dedicated `std::thread`, switches that thread, runs a
//! short closure that only *creates sockets* (a socket stays bound to the namespace it was created
//! in for its whole life, whichever thread uses it later) or bind-mounts `/proc/thread-self/ns/net`,
//! and the thread exits. No fork, no clone of a process, no change to any other thread.

use std::fs;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};

use crate::error::{Error, Result};

/// An open handle on a named network namespace file.
#[derive(Debug)]
pub struct Netns {
    path: PathBuf,
    fd: OwnedFd,
}

impl Netns {
    /// Create a new, empty network namespace (only `lo`, down) pinned by a bind mount on `path`
    /// (e.g. `/run/rdocker/netns/<id12>`). Fails if `path` already exists.
    pub fn create(path: &Path) -> Result<Netns> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| Error::io("mkdir", dir, e))?;
        }
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| Error::io("create netns file", path, e))?;
        let target = path.to_path_buf();
        let res = std::thread::Builder::new()
            .name("rdocker-netns".into())
            .spawn(move || -> Result<()> {
                // This thread alone moves into a fresh netns; it exits right after the mount.
                unshare(CloneFlags::CLONE_NEWNET).map_err(|e| Error::sys("unshare(NEWNET)", e))?;
                mount(
                    Some("/proc/thread-self/ns/net"),
                    &target,
                    None::<&str>,
                    MsFlags::MS_BIND,
                    None::<&str>,
                )
                .map_err(|e| Error::sys("bind-mount netns", e))
            })
            .map_err(|e| Error::sys("spawn thread", e))?
            .join()
            .unwrap_or(Err(Error::ThreadPanicked));
        if let Err(e) = res {
            let _ = fs::remove_file(path);
            return Err(e);
        }
        match Netns::open(path) {
            Ok(ns) => Ok(ns),
            Err(e) => {
                let _ = Netns::remove(path);
                Err(e)
            }
        }
    }

    /// Open an existing named netns (after a daemon restart, for instance).
    pub fn open(path: &Path) -> Result<Netns> {
        let file = fs::File::open(path).map_err(|e| Error::io("open netns", path, e))?;
        Ok(Netns {
            path: path.to_path_buf(),
            fd: OwnedFd::from(file),
        })
    }

    /// Unmount and unlink a named netns. Idempotent: a missing file or a file that is no longer
    /// a mount point is fine. The namespace itself lives on while a process is still in it.
    pub fn remove(path: &Path) -> Result<()> {
        match umount2(path, MntFlags::MNT_DETACH) {
            Ok(()) | Err(nix::errno::Errno::ENOENT) | Err(nix::errno::Errno::EINVAL) => {}
            Err(e) => return Err(Error::sys("umount netns", e)),
        }
        crate::fsutil::remove_if_exists(path)
    }

    /// The file this namespace is pinned on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The namespace fd (for `IFLA_NET_NS_FD` or for a runtime that `setns`es into it).
    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// Run `f` on a dedicated short-lived thread that has entered this namespace, and return its
    /// result. Meant for creating sockets inside the namespace (see the module docs for why this
    /// is safe in a multi-threaded daemon). `f` must not block for long.
    pub fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let fd = self
            .fd
            .try_clone()
            .map_err(|e| Error::sys("dup netns fd", e))?;
        std::thread::Builder::new()
            .name("rdocker-netns".into())
            .spawn(move || -> Result<T> {
                setns(fd.as_fd(), CloneFlags::CLONE_NEWNET)
                    .map_err(|e| Error::sys("setns(NEWNET)", e))?;
                Ok(f())
            })
            .map_err(|e| Error::sys("spawn thread", e))?
            .join()
            .unwrap_or(Err(Error::ThreadPanicked))
    }
}

/// List the netns files in `dir` (file names), for sweeping. A missing dir is an empty list.
pub fn list_dir(dir: &Path) -> Result<Vec<String>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read dir", dir, e)),
    };
    let mut out = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| Error::io("read dir", dir, e))?;
        if let Some(name) = ent.file_name().to_str() {
            if !name.starts_with('.') {
                out.push(name.to_string());
            }
        }
    }
    Ok(out)
}
