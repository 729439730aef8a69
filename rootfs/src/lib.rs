//! The container-side filesystem set-up: overlay root, mounts, /dev, pivot_root.
//!
//! Everything here runs in the container's init process, after the runtime made the new mount
//! namespace and before execve. The order the runtime calls it in:
//!
//! ```text
//! prepare(spec, bundle)   → rprivate /, overlay (or bind) at root.path, spec mounts, /dev
//! (runtime: hostname, PTY from <root>/dev/pts/ptmx, bind_console)
//! pivot(root)             → pivot_root, old root detached, cwd "/"
//! finish(spec)            → read-only root when root.readonly
//! ```
//!
//! The engine⇄runtime spec extensions (annotations, mount options) are in
//! `runtime/PROTOCOL.md`.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

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
}

/// In the container's new mount namespace: makes the mount tree private, mounts the root
/// (overlay from the annotations, or a bind of `root.path`), then every `spec.mounts` entry
/// (destinations resolved inside the root) and the default `/dev` nodes and links.
/// Returns the absolute root path.
pub fn prepare(spec: &Spec, bundle: &Path) -> Result<PathBuf, RootfsError> {
    let _ = (spec, bundle);
    Err(RootfsError::Spec("not implemented yet".into()))
}

/// Binds the terminal's slave (a path under the container's `/dev/pts`, as seen before
/// `pivot`) over `<root>/dev/console`.
pub fn bind_console(root: &Path, slave: &Path) -> Result<(), RootfsError> {
    let _ = (root, slave);
    Err(RootfsError::Spec("not implemented yet".into()))
}

/// `pivot_root` into `root`; the old root is detached and the working directory is `/`.
pub fn pivot(root: &Path) -> Result<(), RootfsError> {
    let _ = root;
    Err(RootfsError::Spec("not implemented yet".into()))
}

/// After `pivot`: remounts the root read-only when `root.readonly` is set.
pub fn finish(spec: &Spec) -> Result<(), RootfsError> {
    let _ = spec;
    Ok(())
}
