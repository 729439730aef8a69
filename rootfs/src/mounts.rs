//! `spec.mounts`, in order: each destination resolved (and created) inside the root, then the
//! bind or the new filesystem attached onto that resolved fd.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::Mount;
use rustix::fs::{fstat, stat, FileType, CWD};
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
        let target = resolve(ctx, dest, Kind::Dir)?;
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
    let target = resolve(ctx, dest, kind)?;
    let dst_st = fstat(&target).map_err(io_err("stat", dest))?;
    let dst_is_dir = FileType::from_raw_mode(dst_st.st_mode) == FileType::Directory;
    if src_is_dir != dst_is_dir {
        return Err(RootfsError::TypeMismatch {
            host_path: source,
            destination: dest.clone(),
            source_is_dir: src_is_dir,
        });
    }
    if opts.copyup && src_is_dir {
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
