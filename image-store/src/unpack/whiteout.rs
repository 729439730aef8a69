//! AUFS-style whiteouts of the OCI layer format, written in overlayfs format.
//!
//! - `dir/.wh.<name>` (a deleted `<name>`) becomes a character device 0:0 `dir/<name>`;
//! - `dir/.wh..wh..opq` (an opaque `dir`) becomes the xattr `trusted.overlay.opaque=y` on `dir`;
//! - other `.wh..wh.*` names are AUFS internals (`.wh..wh.plnk`, `.wh..wh.aufs`) and are ignored,
//!   as the OCI image spec says.
//!
//! `dir` is opened in-root like any parent, so a whiteout reached through a symlinked parent lands
//! inside the layer (where the symlink resolves in-root), never outside.

use rustix::fs::{self as rfs, FileType, XattrFlags};

use super::entry::{gid, make_node, uid, Unpacker};
use super::meta::Meta;
use super::path::{LayerPath, PathProblem};
use super::resolve::io_err;
use super::UnpackError;

const PREFIX: &[u8] = b".wh.";
const META_PREFIX: &[u8] = b".wh..wh.";
const OPAQUE: &[u8] = b".wh..wh..opq";
pub(super) const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

pub(super) fn is_whiteout(name: &[u8]) -> bool {
    name.starts_with(PREFIX)
}

pub(super) fn apply(u: &mut Unpacker, path: &LayerPath, meta: &Meta) -> Result<(), UnpackError> {
    let name = path.name();
    if name == OPAQUE {
        let parent = u.root.parent(path.parent())?;
        return rfs::fsetxattr(parent.fd(), OPAQUE_XATTR, b"y", XattrFlags::empty())
            .map_err(|e| io_err("setxattr", &path.display(), e.into()));
    }
    if name.starts_with(META_PREFIX) {
        tracing::debug!(path = %path.display(), "AUFS metadata entry ignored");
        return Ok(());
    }
    let victim = &name[PREFIX.len()..];
    if victim.is_empty() || victim == b"." || victim == b".." {
        return Err(UnpackError::InvalidPath {
            path: path.display(),
            reason: PathProblem::BadWhiteout,
        });
    }
    let parent = u.root.parent(path.parent())?;
    make_node(
        &u.root,
        parent.fd(),
        victim,
        FileType::CharacterDevice,
        rfs::makedev(0, 0),
    )
    .map_err(|e| io_err("mknod", &path.display(), e))?;
    // Owner as in the header, like Docker's overlay2 driver; the mode stays 0 (overlay only
    // looks at the type and device number).
    if !u.owned_by_default(meta, parent.setgid) {
        rfs::chownat(
            parent.fd(),
            victim,
            Some(uid(meta)),
            Some(gid(meta)),
            rfs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(|e| io_err("lchown", &path.display(), e.into()))?;
    }
    Ok(())
}
