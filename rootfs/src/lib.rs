//! The container-side filesystem set-up: overlay root, mounts, /dev, pivot_root.
//!
//! Everything here runs in the container's init process, after the runtime made the new mount
//! namespace and before execve. The order the runtime calls it in:
//!
//! ```text
//! prepare(spec, bundle)   → rprivate /, overlay (or bind) at root.path, spec mounts, /dev
//!                           (prepare_with: the layers id-mapped for userns-remap)
//! (runtime: hostname, PTY from <root>/dev/pts/ptmx, bind_console)
//! pivot(root)             → pivot_root, old root detached, cwd "/"
//! finish(spec)            → maskedPaths, readonlyPaths, read-only root when root.readonly
//! ```
//!
//! The engine⇄runtime spec extensions (annotations, mount options) are in
//! `runtime/PROTOCOL.md`.

mod cgroup;
mod copyup;
mod dev;
mod fsctx;
mod idmap;
mod masked;
mod mounts;
mod options;
mod overlay;
mod pivot;
mod resolve;
mod sys;

use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use rustix::fs::{open, Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::{mount_change, MountPropagationFlags};

use crate::options::{Propagation, PropagationKind};

#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid spec: {0}")]
    Spec(String),
    #[error(
        "user namespace remapping needs id-mapped mounts (Linux ≥ 5.12, on a file system that \
         supports them): {}: {source}",
        path.display()
    )]
    Idmap {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A bind whose source is a file over a directory, or the reverse. runc's wording: the
    /// docker CLI picks its exit code from the text, and "is a directory" would make it 126.
    #[error(
        "error mounting \"{}\" to rootfs at \"{}\": not a directory ({}): Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type",
        host_path.display(),
        destination.display(),
        if *source_is_dir {
            "the source is a directory, its destination in the container not"
        } else {
            "the source is a file, its destination in the container a directory"
        }
    )]
    TypeMismatch {
        host_path: PathBuf,
        destination: PathBuf,
        source_is_dir: bool,
    },
}

pub(crate) fn io_err<'p>(
    op: &'static str,
    path: &'p Path,
) -> impl FnOnce(Errno) -> RootfsError + 'p {
    move |e| RootfsError::Io {
        op,
        path: path.to_path_buf(),
        source: e.into(),
    }
}

/// In the container's new mount namespace: makes the mount tree private, mounts the root
/// (overlay from the annotations, or a bind of `root.path`), then every `spec.mounts` entry
/// (destinations resolved inside the root) and the default `/dev` nodes and links.
/// Mount types: any filesystem (proc, sysfs, tmpfs, devpts, mqueue, …), `bind`, and `cgroup`
/// (the container's own cgroup; the init must already be in it). Returns the absolute root path.
pub fn prepare(spec: &Spec, bundle: &Path) -> Result<PathBuf, RootfsError> {
    prepare_with(spec, bundle, &PrepareOptions::default())
}

/// What `prepare` cannot read from the spec.
#[derive(Debug, Default, Clone, Copy)]
pub struct PrepareOptions<'a> {
    /// userns-remap: the container's user namespace. The image layers (overlay lowerdirs, or
    /// the bind root without overlay) are mounted id-mapped through it, so their host-root
    /// files show as owned by the container's root, with no copy or chown.
    pub idmap_userns: Option<BorrowedFd<'a>>,
}

/// `prepare` with options.
pub fn prepare_with(
    spec: &Spec,
    bundle: &Path,
    opts: &PrepareOptions<'_>,
) -> Result<PathBuf, RootfsError> {
    // Modes given in the spec and copied from the image must land exactly as given.
    let old_umask = rustix::process::umask(Mode::empty());
    let res = prepare_inner(spec, bundle, opts);
    rustix::process::umask(old_umask);
    res
}

/// The set-up as a list of steps; each one is a function below.
fn prepare_inner(
    spec: &Spec,
    bundle: &Path,
    opts: &PrepareOptions<'_>,
) -> Result<PathBuf, RootfsError> {
    let root_spec = spec
        .root()
        .as_ref()
        .ok_or_else(|| RootfsError::Spec("no root".into()))?;
    let root = absolute_root(bundle, root_spec.path())?;
    let propagation = rootfs_propagation(spec)?;
    isolate_mount_tree(spec, propagation)?;
    let overlay = overlay::Overlay::from_annotations(spec.annotations().as_ref())?;
    match (overlay, opts.idmap_userns) {
        (Some(ov), None) => ov.mount(&root)?,
        (Some(ov), Some(userns)) => ov.mount_idmapped(&root, userns)?,
        (None, None) => overlay::bind_self(&root)?,
        (None, Some(userns)) => overlay::bind_self_mapped(&root, userns)?,
    }
    // Opened after the root mount, so that it refers to the overlay, not the directory below.
    let root_fd = open(
        &root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io_err("open root", &root))?;
    let ctx = mounts::Ctx {
        root: root_fd.as_fd(),
        bundle,
    };
    let mut spec_mounts = std::borrow::Cow::Borrowed(spec.mounts().as_deref().unwrap_or_default());
    if opts.idmap_userns.is_some() {
        spec_mounts = std::borrow::Cow::Owned(idmap::owned_mounts(spec, &spec_mounts));
    }
    for m in spec_mounts.iter() {
        mounts::mount_entry(&ctx, m)?;
    }
    let dev_is_tmpfs = spec_mounts
        .iter()
        .any(|m| m.typ().as_deref() == Some("tmpfs") && resolve::clean(m.destination()) == ["dev"]);
    if dev_is_tmpfs {
        dev::populate_default(root_fd.as_fd())?;
    }
    if let Some(devices) = spec.linux().as_ref().and_then(|l| l.devices().as_deref()) {
        dev::create_devices(root_fd.as_fd(), devices)?;
    }
    if let Some(p) = propagation {
        mount_change(&root, p.flags()).map_err(io_err("set rootfs propagation", &root))?;
    }
    Ok(root)
}

fn rootfs_propagation(spec: &Spec) -> Result<Option<Propagation>, RootfsError> {
    let value = spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref());
    match value {
        None | Some("") => Ok(None),
        Some(p) => Propagation::parse(p)
            .map(Some)
            .ok_or_else(|| RootfsError::Spec(format!("unknown rootfsPropagation {p:?}"))),
    }
}

/// Nothing done from here on may propagate to the host. When the root or a bind asks to
/// receive host mount events (slave/shared), the link is kept as a slave (runc's default);
/// otherwise it is cut (private).
fn isolate_mount_tree(spec: &Spec, propagation: Option<Propagation>) -> Result<(), RootfsError> {
    let wants_host_events = |p: Option<Propagation>| {
        matches!(
            p.map(|p| p.kind),
            Some(PropagationKind::Slave | PropagationKind::Shared)
        )
    };
    let spec_mounts = spec.mounts().as_deref().unwrap_or_default();
    let slave = wants_host_events(propagation)
        || spec_mounts.iter().any(|m| {
            let opts = m.options().as_deref().unwrap_or_default();
            wants_host_events(options::MountOptions::parse(opts).propagation)
        });
    let kind = if slave {
        MountPropagationFlags::DOWNSTREAM
    } else {
        MountPropagationFlags::PRIVATE
    };
    mount_change("/", kind | MountPropagationFlags::REC)
        .map_err(io_err("make mount tree private", Path::new("/")))
}

fn absolute_root(bundle: &Path, path: &Path) -> Result<PathBuf, RootfsError> {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        bundle.join(path)
    };
    std::path::absolute(&joined).map_err(|source| RootfsError::Io {
        op: "make absolute",
        path: joined,
        source,
    })
}

/// Binds the terminal's slave (a path under the container's `/dev/pts`, as seen before
/// `pivot`) over `<root>/dev/console`.
pub fn bind_console(root: &Path, slave: &Path) -> Result<(), RootfsError> {
    pivot::bind_console(root, slave)
}

/// `pivot_root` into `root`; the old root is detached and the working directory is `/`.
pub fn pivot(root: &Path) -> Result<(), RootfsError> {
    pivot::pivot(root)
}

/// After `pivot`: masks `linux.maskedPaths` (empty read-only tmpfs over directories,
/// `/dev/null` over files), makes `linux.readonlyPaths` read-only, and remounts the root
/// read-only when `root.readonly` is set.
pub fn finish(spec: &Spec) -> Result<(), RootfsError> {
    if let Some(linux) = spec.linux() {
        if let Some(paths) = linux.masked_paths() {
            masked::mask(paths)?;
        }
        if let Some(paths) = linux.readonly_paths() {
            masked::readonly(paths)?;
        }
    }
    if spec.root().as_ref().and_then(|r| r.readonly()) == Some(true) {
        pivot::remount_root_readonly()?;
    }
    Ok(())
}

/// Test hook, not part of the API: mounts the spec's overlay at `target` with the classic
/// `mount(2)` path that kernels without `fsconfig lowerdir+` (before 6.8) take.
#[doc(hidden)]
pub fn mount_overlay_legacy(spec: &Spec, target: &Path) -> Result<(), RootfsError> {
    match overlay::Overlay::from_annotations(spec.annotations().as_ref())? {
        Some(ov) => ov.mount_legacy(target),
        None => Err(RootfsError::Spec("no overlay annotations".into())),
    }
}

/// Test hook, not part of the API: mounts the spec's overlay at `target` with its layers
/// id-mapped through `userns`, as `prepare_with` does.
#[doc(hidden)]
pub fn mount_overlay_idmapped(
    spec: &Spec,
    target: &Path,
    userns: BorrowedFd<'_>,
) -> Result<(), RootfsError> {
    match overlay::Overlay::from_annotations(spec.annotations().as_ref())? {
        Some(ov) => ov.mount_idmapped(target, userns),
        None => Err(RootfsError::Spec("no overlay annotations".into())),
    }
}
