//! `spec.mounts`, in order: each destination resolved (and created) inside the root, then the
//! bind or the new filesystem attached onto that resolved fd.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Mount;
use rustix::fs::{fstat, openat2, stat, FileType, Mode, OFlags, ResolveFlags, CWD};
use rustix::io::Errno;
use rustix::mount::{open_tree, OpenTreeFlags};

use crate::options::MountOptions;
use crate::resolve::{create_in_root, Kind};
use crate::sys::{attach, mount_setattr, set_attrs};
use crate::{copyup, io_err, RootfsError};

/// Everything a mount entry needs to know about the container being set up.
pub(crate) struct Ctx<'a> {
    pub root: BorrowedFd<'a>,
    pub bundle: &'a Path,
}

pub(crate) fn mount_entry(ctx: &Ctx<'_>, m: &Mount) -> Result<(), RootfsError> {
    let opts = MountOptions::parse(m.options().as_deref().unwrap_or_default());
    let typ = m.typ().as_deref().unwrap_or("");
    let dest = m.destination();
    if !dest.is_absolute() {
        return Err(RootfsError::Spec(format!(
            "mount destination {} is not absolute",
            dest.display()
        )));
    }
    if opts.bind || typ == "bind" {
        bind(ctx, m, &opts)
    } else if typ.is_empty() {
        Err(RootfsError::Spec(format!(
            "mount {}: no type and not a bind",
            dest.display()
        )))
    } else {
        if typ == "proc" || typ == "sysfs" {
            ordinary_directory(ctx, dest, typ)?;
        }
        let target = resolve(ctx, dest, Kind::Dir)?;
        check_proc_destination(ctx, dest, target.as_fd(), typ == "proc")?;
        let st = fstat(&target).map_err(io_err("stat", dest))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
            return Err(RootfsError::Spec(format!(
                "mount {typ} on {}: not a directory",
                dest.display()
            )));
        }
        if typ == "cgroup" {
            return crate::cgroup::mount(ctx.root, dest, target.as_fd(), &opts);
        }
        crate::fsctx::mount_fs(typ, m.source().as_deref(), &opts, target.as_fd()).map_err(
            |source| RootfsError::Io {
                op: "mount",
                path: PathBuf::from(format!("{typ} on {}", dest.display())),
                source,
            },
        )
    }
}

/// CVE-2019-19921 (and runc's checks since): `proc` and `sysfs` go on a real directory of the
/// image, never through a symlink, even one that stays inside the root: the kernel's own view
/// must be where the masks and read-only paths later expect it. Missing is fine (created).
fn ordinary_directory(ctx: &Ctx<'_>, dest: &Path, typ: &str) -> Result<(), RootfsError> {
    let rel: PathBuf = crate::resolve::clean(dest).iter().collect();
    let rel = if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    };
    let refuse = |why: &str| RootfsError::Io {
        op: if typ == "proc" {
            "mount proc on"
        } else {
            "mount sysfs on"
        },
        path: dest.to_path_buf(),
        source: std::io::Error::other(format!(
            "filesystem {typ:?} must be mounted on ordinary directory ({why})"
        )),
    };
    let mut tries = 0;
    let fd = loop {
        match openat2(
            ctx.root,
            &rel,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_SYMLINKS,
        ) {
            Ok(fd) => break fd,
            Err(Errno::NOENT) => return Ok(()),
            Err(Errno::LOOP) => return Err(refuse("a component of its path is a symlink")),
            // RESOLVE_IN_ROOT gives up when anything was renamed on the system meanwhile.
            Err(Errno::AGAIN) if tries < 64 => tries += 1,
            Err(e) => return Err(io_err("resolve mount destination", dest)(e)),
        }
    };
    let st = fstat(&fd).map_err(io_err("stat", dest))?;
    match FileType::from_raw_mode(st.st_mode) {
        FileType::Directory => Ok(()),
        FileType::Symlink => Err(refuse("it is a symlink")),
        _ => Err(refuse("it is not a directory")),
    }
}

/// Files under `/proc` that lxcfs-style binds may cover (runc's list); nothing else there.
const PROC_ALLOWED: [&str; 13] = [
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/pressure/cpu",
    "/proc/pressure/io",
    "/proc/pressure/memory",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
];

/// runc's checkProcMount, on where the destination really is (after resolution inside the
/// root): a volume on `/proc/sys/kernel/core_pattern`, or on an image's `/etc/mtab ->
/// ../proc/self/mounts`, would cover (or expose) the kernel's files. `/proc` itself only takes
/// procfs.
fn check_proc_destination(
    ctx: &Ctx<'_>,
    dest: &Path,
    target: BorrowedFd<'_>,
    is_procfs: bool,
) -> Result<(), RootfsError> {
    let at = in_root_path(ctx.root, target).map_err(io_err("locate mount destination", dest))?;
    let Ok(rel) = at.strip_prefix("/proc") else {
        return Ok(());
    };
    if rel.as_os_str().is_empty() {
        return if is_procfs {
            Ok(())
        } else {
            Err(RootfsError::Spec(format!(
                "{:?} cannot be mounted because it is not of type proc",
                dest.display().to_string()
            )))
        };
    }
    if PROC_ALLOWED.iter().any(|p| at == Path::new(p)) {
        return Ok(());
    }
    Err(RootfsError::Spec(format!(
        "{:?} cannot be mounted because it is inside /proc ({})",
        dest.display().to_string(),
        at.display()
    )))
}

/// Where `fd` (resolved inside `root`) sits, as an absolute container path.
fn in_root_path(root: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> Result<PathBuf, Errno> {
    let real = |fd: BorrowedFd<'_>| {
        rustix::fs::readlinkat(CWD, crate::sys::proc_fd_path(fd), Vec::new())
            .map(|c| PathBuf::from(std::ffi::OsString::from_vec(c.into_bytes())))
    };
    let root_real = real(root)?;
    let here = real(fd)?;
    // Resolved with RESOLVE_IN_ROOT, so it is inside; a name the kernel cannot give (deleted,
    // unreachable) is refused rather than guessed.
    here.strip_prefix(&root_real)
        .map(|rel| Path::new("/").join(rel))
        .map_err(|_| Errno::XDEV)
}

fn bind(ctx: &Ctx<'_>, m: &Mount, opts: &MountOptions) -> Result<(), RootfsError> {
    let dest = m.destination();
    let source = match m.source() {
        Some(s) if s.is_absolute() => s.clone(),
        Some(s) => ctx.bundle.join(s),
        None => {
            return Err(RootfsError::Spec(format!(
                "bind mount on {} without a source",
                dest.display()
            )))
        }
    };
    if opts.mkdir_source {
        mkdir_source(&source)?;
    }
    // Following symlinks on the host side is docker's behaviour: the source is the user's.
    let src_st = stat(&source).map_err(io_err("stat bind source", &source))?;
    let src_is_dir = FileType::from_raw_mode(src_st.st_mode) == FileType::Directory;
    let kind = if src_is_dir { Kind::Dir } else { Kind::File };
    // A destination the image lacks is made here, by host root: its owner says nothing about
    // what the image wants, so a volume over it keeps its own (the remapped root's, with
    // userns-remap), as docker's copy-up only copies from paths the image has.
    let in_image = openat2(
        ctx.root,
        dest,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT,
    )
    .is_ok();
    let target = resolve(ctx, dest, kind)?;
    let source_is_proc =
        rustix::fs::statfs(&source).is_ok_and(|fs| fs.f_type == libc::PROC_SUPER_MAGIC);
    check_proc_destination(ctx, dest, target.as_fd(), source_is_proc)?;
    let dst_st = fstat(&target).map_err(io_err("stat", dest))?;
    let dst_is_dir = FileType::from_raw_mode(dst_st.st_mode) == FileType::Directory;
    if src_is_dir != dst_is_dir {
        return Err(RootfsError::TypeMismatch {
            host_path: source,
            destination: dest.clone(),
            source_is_dir: src_is_dir,
        });
    }
    if opts.copyup && src_is_dir && in_image {
        copyup::fill_if_empty(&source, &target, dest)?;
    }
    let mut flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
    if opts.recursive {
        flags |= OpenTreeFlags::AT_RECURSIVE;
    }
    let tree = open_tree(CWD, &source, flags).map_err(io_err("open_tree", &source))?;
    let what = || PathBuf::from(format!("{} on {}", source.display(), dest.display()));
    attach(tree.as_fd(), target.as_fd()).map_err(|e| RootfsError::Io {
        op: "bind mount",
        path: what(),
        source: e.into(),
    })?;
    set_attrs(&tree, opts.recursive, opts.attr_set, opts.attr_clr).map_err(|e| {
        RootfsError::Io {
            op: "set bind mount attributes",
            path: what(),
            source: e.into(),
        }
    })?;
    if let Some(p) = opts.propagation {
        mount_setattr(
            tree.as_fd(),
            p.recursive,
            rustix::mount::MountAttrFlags::empty(),
            rustix::mount::MountAttrFlags::empty(),
            Some(p),
        )
        .map_err(|e| RootfsError::Io {
            op: "set bind mount propagation",
            path: what(),
            source: e.into(),
        })?;
    }
    Ok(())
}

/// docker's `-v /host/dir:/ctr`: a missing host directory is created (0755, with parents).
/// Creates a missing bind source; an existing one (a file too: `-v /etc/hosts:/x`) is left
/// as it is, and the type check after this reports a file where a directory belongs.
fn mkdir_source(source: &Path) -> Result<(), RootfsError> {
    use std::os::unix::fs::DirBuilderExt;
    if std::fs::metadata(source).is_ok() {
        return Ok(());
    }
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(source)
    {
        Ok(()) => Ok(()),
        Err(e) => Err(RootfsError::Io {
            op: "create bind source",
            path: source.to_path_buf(),
            source: e,
        }),
    }
}

pub(crate) fn resolve(ctx: &Ctx<'_>, dest: &Path, kind: Kind) -> Result<OwnedFd, RootfsError> {
    create_in_root(ctx.root, dest, kind).map_err(|e| RootfsError::Io {
        op: match e {
            Errno::NOTDIR => "resolve mount destination (a path component is not a directory)",
            _ => "resolve mount destination",
        },
        path: dest.to_path_buf(),
        source: e.into(),
    })
}
