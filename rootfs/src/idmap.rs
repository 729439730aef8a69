//! Id-mapped mounts for userns-remap: the image's layers seen through the container's user
//! namespace, so that a file owned by host root in a layer shows as owned by the container's
//! root (the mapped uid) without copying or chowning the layer.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::{LinuxIdMapping, Mount, Spec};
use rustix::fs::CWD;
use rustix::io::Errno;
use rustix::mount::{open_tree, MountAttrFlags, OpenTreeFlags};

use crate::RootfsError;

/// A detached copy of the mount at `path` (only that mount, not its submounts), id-mapped
/// through `userns`. Nothing is attached: the caller hands the fd to overlayfs or attaches it.
pub(crate) fn clone_mapped(path: &Path, userns: BorrowedFd<'_>) -> Result<OwnedFd, RootfsError> {
    let tree = open_tree(
        CWD,
        path,
        OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
    )
    .map_err(crate::io_err("open_tree layer", path))?;
    set_idmap(&tree, userns, false).map_err(|e| idmap_error(path, e))?;
    Ok(tree)
}

/// The same for a whole tree (the bind root without overlay): every mount below is mapped.
pub(crate) fn clone_mapped_tree(
    path: &Path,
    userns: BorrowedFd<'_>,
) -> Result<OwnedFd, RootfsError> {
    let tree = open_tree(
        CWD,
        path,
        OpenTreeFlags::OPEN_TREE_CLONE
            | OpenTreeFlags::OPEN_TREE_CLOEXEC
            | OpenTreeFlags::AT_RECURSIVE,
    )
    .map_err(crate::io_err("open_tree root", path))?;
    set_idmap(&tree, userns, true).map_err(|e| idmap_error(path, e))?;
    Ok(tree)
}

/// EINVAL/ENOSYS mean the kernel (or this file system) cannot id-map: say what is missing
/// instead of a bare errno.
fn idmap_error(path: &Path, e: Errno) -> RootfsError {
    match e {
        Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP => RootfsError::Idmap {
            path: path.to_path_buf(),
            source: e.into(),
        },
        e => RootfsError::Io {
            op: "id-map",
            path: path.to_path_buf(),
            source: e.into(),
        },
    }
}

/// `mount_setattr(fd, "", AT_EMPTY_PATH, {attr_set: MOUNT_ATTR_IDMAP, userns_fd})`; rustix's
/// wrapper has no room for the user namespace fd.
fn set_idmap(mnt: &OwnedFd, userns: BorrowedFd<'_>, recursive: bool) -> Result<(), Errno> {
    let userns_fd = u64::try_from(userns.as_raw_fd()).map_err(|_| Errno::BADF)?;
    let attr = libc::mount_attr {
        attr_set: u64::from(MountAttrFlags::MOUNT_ATTR_IDMAP.bits()),
        attr_clr: 0,
        propagation: 0,
        userns_fd,
    };
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: the path is a NUL-terminated empty string, `attr` is a live, correctly sized
    // `struct mount_attr` that the kernel only reads, and both fds stay open across the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            mnt.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::INVAL))
    }
}

/// The spec's new tmpfs and devpts mounts with their owner options as the kernel would read
/// them had the container mounted them inside its user namespace (as runc does under
/// userns-remap): the init mounts them as host root, so `/dev` would otherwise belong to host
/// root, a stranger to the container. tmpfs without `uid=`/`gid=` gets the container root's.
pub(crate) fn owned_mounts(spec: &Spec, mounts: &[Mount]) -> Vec<Mount> {
    let linux = spec.linux().as_ref();
    let uids = linux
        .and_then(|l| l.uid_mappings().as_deref())
        .unwrap_or_default();
    let gids = linux
        .and_then(|l| l.gid_mappings().as_deref())
        .unwrap_or_default();
    mounts
        .iter()
        .map(|m| {
            let typ = m.typ().as_deref().unwrap_or_default();
            if typ != "tmpfs" && typ != "devpts" {
                return m.clone();
            }
            let mut options = m.options().clone().unwrap_or_default();
            for (key, maps) in [("uid=", uids), ("gid=", gids)] {
                let given = options.iter().position(|o| o.starts_with(key));
                match given {
                    Some(i) => {
                        let id = options[i][key.len()..].parse().ok();
                        if let Some(host) = id.and_then(|id| to_host(maps, id)) {
                            options[i] = format!("{key}{host}");
                        }
                    }
                    None if typ == "tmpfs" => {
                        if let Some(host) = to_host(maps, 0) {
                            options.push(format!("{key}{host}"));
                        }
                    }
                    None => {}
                }
            }
            let mut out = m.clone();
            out.set_options(Some(options));
            out
        })
        .collect()
}

/// The host id of container id `id`; `None` when unmapped.
fn to_host(maps: &[LinuxIdMapping], id: u32) -> Option<u32> {
    maps.iter().find_map(|m| {
        let offset = id.checked_sub(m.container_id())?;
        (offset < m.size()).then(|| m.host_id().checked_add(offset))?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmpfs_and_devpts_owners_are_mapped() {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.0.2",
            "mounts": [
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                 "options": ["nosuid", "mode=755"]},
                {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
                 "options": ["newinstance", "gid=5", "mode=0620"]},
                {"destination": "/t", "type": "tmpfs", "source": "tmpfs",
                 "options": ["uid=1000", "gid=70000"]},
                {"destination": "/proc", "type": "proc", "source": "proc"},
            ],
            "linux": {
                "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
                "gidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}],
            },
        }))
        .unwrap();
        let out = owned_mounts(&spec, spec.mounts().as_deref().unwrap());
        let opts: Vec<Vec<String>> = out
            .iter()
            .map(|m| m.options().clone().unwrap_or_default())
            .collect();
        assert_eq!(opts[0], ["nosuid", "mode=755", "uid=100000", "gid=200000"]);
        assert_eq!(opts[1], ["newinstance", "gid=200005", "mode=0620"]);
        // Unmapped (70000 is past the range) stays as given: the kernel then says why.
        assert_eq!(opts[2], ["uid=101000", "gid=70000"]);
        assert!(opts[3].is_empty());
    }
}
