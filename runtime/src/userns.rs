//! userns-remap (`linux.namespaces` `user` with `linux.uidMappings`/`gidMappings`).
//!
//! The shim makes the user namespace before the init exists, through a helper child that only
//! waits: the shim, root in the parent namespace, writes its maps and keeps an fd to it. The
//! init is cloned without CLONE_NEWUSER and builds the container as real root (its other
//! namespaces stay owned by the host's user namespace, the image layers are mounted id-mapped
//! through this one), then joins it as its last step before the uid/gid change.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Instant;

use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Spec};
use rustix::fs::{AtFlags, Gid, Mode, OFlags, ResolveFlags, Uid};
use rustix::pipe::{pipe_with, PipeFlags};

use crate::error::{Context, ShimError};
use crate::sys;

/// The container's user namespace, held open by the shim until the init joins it.
pub struct UserNs {
    pub fd: OwnedFd,
    /// Time the shim spent making (or opening) it, reported with the init's own setns time.
    pub create_us: u64,
    /// Host uid and gid of the container's root (from the mappings; unknown for a namespace
    /// given by path).
    pub host_root: Option<(u32, u32)>,
}

/// The spec's user namespace: made from the mappings (no path) or opened (a path); `None` when
/// the spec asks for none.
pub fn from_spec(spec: &Spec) -> Result<Option<UserNs>, ShimError> {
    let t0 = Instant::now();
    let Some(linux) = spec.linux().as_ref() else {
        return Ok(None);
    };
    let Some(ns) = linux
        .namespaces()
        .iter()
        .flatten()
        .find(|n| n.typ() == LinuxNamespaceType::User)
    else {
        return Ok(None);
    };
    let (fd, host_root) = match ns.path() {
        Some(path) => (open_ns(path)?, None),
        None => {
            let uids = linux.uid_mappings().as_deref();
            let gids = linux.gid_mappings().as_deref();
            let fd = create(
                &map_text(uids, "uidMappings")?,
                &map_text(gids, "gidMappings")?,
            )?;
            (fd, to_host(uids, 0).zip(to_host(gids, 0)))
        }
    };
    Ok(Some(UserNs {
        fd,
        create_us: micros(t0),
        host_root,
    }))
}

fn micros(t0: Instant) -> u64 {
    u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// The host id of container id `id`.
fn to_host(maps: Option<&[LinuxIdMapping]>, id: u32) -> Option<u32> {
    maps.unwrap_or_default().iter().find_map(|m| {
        let offset = id.checked_sub(m.container_id())?;
        (offset < m.size()).then(|| m.host_id().checked_add(offset))?
    })
}

/// `/proc/<pid>/{uid,gid}_map` text: one "inside outside count" line per mapping.
pub fn map_text(list: Option<&[LinuxIdMapping]>, field: &'static str) -> Result<String, ShimError> {
    let list = list.unwrap_or_default();
    if list.is_empty() {
        return Err(ShimError::Spec(format!(
            "a user namespace without a path needs linux.{field}"
        )));
    }
    let mut text = String::new();
    for m in list {
        if m.size() == 0 {
            return Err(ShimError::Spec(format!(
                "linux.{field}: a mapping of size 0"
            )));
        }
        text.push_str(&format!(
            "{} {} {}\n",
            m.container_id(),
            m.host_id(),
            m.size()
        ));
    }
    Ok(text)
}

/// A helper child in a new user namespace, its maps written from here, an fd to the namespace
/// kept; the helper is then released and reaped.
fn create(uid_map: &str, gid_map: &str) -> Result<OwnedFd, ShimError> {
    let (release_r, release_w) =
        pipe_with(PipeFlags::CLOEXEC).ctx(|| "create a pipe for the user namespace helper")?;
    let pid = sys::clone_fork(libc::CLONE_NEWUSER).ctx(|| "clone(CLONE_NEWUSER)")?;
    if pid == 0 {
        drop(release_w);
        // EOF (the shim is done with us, or gone) is the only thing to wait for.
        let _ = sys::read_byte(&release_r);
        sys::exit_now(0);
    }
    drop(release_r);
    let res = write_maps(pid, uid_map, gid_map)
        .and_then(|()| open_ns(Path::new(&format!("/proc/{pid}/ns/user"))));
    drop(release_w);
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes the status into a local integer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            break;
        }
    }
    res
}

fn write_maps(pid: libc::pid_t, uid_map: &str, gid_map: &str) -> Result<(), ShimError> {
    // setgroups stays "allow": the container's root must keep setgroups(2), and a map written
    // from the parent namespace does not need "deny".
    for (file, text) in [("uid_map", uid_map), ("gid_map", gid_map)] {
        let path = format!("/proc/{pid}/{file}");
        let fd = rustix::fs::open(&path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())
            .ctx(|| format!("open {path}"))?;
        // The kernel takes the whole map in one write(2) and refuses a second one.
        let n = rustix::io::write(&fd, text.as_bytes())
            .ctx(|| format!("write {path} ({})", text.trim_end().replace('\n', ", ")))?;
        if n != text.len() {
            return Err(ShimError::Spec(format!("short write to {path}")));
        }
    }
    Ok(())
}

fn open_ns(path: &Path) -> Result<OwnedFd, ShimError> {
    rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
        .ctx(|| format!("open user namespace {}", path.display()))
}

/// In the init, first step of the uid/gid change: joins the container's user namespace (it is
/// then root there with every capability there, none on the host; the bounding set is full
/// again, so capabilities are dropped after this). Returns the µs for the `userns` timing.
pub fn enter(ns: Option<&UserNs>) -> Result<u64, ShimError> {
    let Some(ns) = ns else {
        return Ok(0);
    };
    let t0 = Instant::now();
    sys::setns(ns.fd.as_fd(), libc::CLONE_NEWUSER).ctx(|| "join the user namespace")?;
    Ok(ns.create_us.saturating_add(micros(t0)))
}

/// Runs `create`, which makes the missing directories of `dir` (the working directory), and
/// gives the ones it made to the container's root: the init, still host root, would leave them
/// to host root, a stranger inside the user namespace (docker chowns the WorkingDir it makes to
/// the remapped root too). After `pivot`: `dir` is resolved inside the container's root.
pub fn owned_by_root(
    ns: Option<&UserNs>,
    dir: &Path,
    create: impl FnOnce() -> Result<(), ShimError>,
) -> Result<(), ShimError> {
    let Some((uid, gid)) = ns.and_then(|n| n.host_root) else {
        return create();
    };
    let missing: Vec<&Path> = dir
        .ancestors()
        .filter(|p| matches!(std::fs::symlink_metadata(p), Err(e) if e.kind() == std::io::ErrorKind::NotFound))
        .collect();
    create()?;
    let root = rustix::fs::open(
        "/",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| "open /")?;
    for p in missing {
        let fd = rustix::fs::openat2(
            &root,
            p,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        )
        .ctx(|| format!("open {}", p.display()))?;
        rustix::fs::chownat(
            &fd,
            "",
            Some(Uid::from_raw(uid)),
            Some(Gid::from_raw(gid)),
            AtFlags::EMPTY_PATH,
        )
        .ctx(|| format!("chown {} to the container's root", p.display()))?;
    }
    Ok(())
}

/// For an exec: the container's user namespace, or `None` when it is the shim's own (no
/// remapping: setns into one's own user namespace is EINVAL).
pub fn open_container(pid: libc::pid_t) -> Result<Option<OwnedFd>, ShimError> {
    let path = format!("/proc/{pid}/ns/user");
    let theirs = std::fs::metadata(&path).ctx(|| format!("stat {path}"))?;
    let ours = std::fs::metadata("/proc/self/ns/user").ctx(|| "stat /proc/self/ns/user")?;
    if (theirs.dev(), theirs.ino()) == (ours.dev(), ours.ino()) {
        return Ok(None);
    }
    open_ns(Path::new(&path)).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(c: u32, h: u32, s: u32) -> LinuxIdMapping {
        serde_json::from_value(serde_json::json!({"containerID": c, "hostID": h, "size": s}))
            .unwrap()
    }

    #[test]
    fn map_text_lines() {
        let list = [m(0, 100000, 65536), m(65536, 300000, 10)];
        assert_eq!(
            map_text(Some(&list), "uidMappings").unwrap(),
            "0 100000 65536\n65536 300000 10\n"
        );
    }

    #[test]
    fn missing_or_empty_mappings_refused() {
        for list in [None, Some(&[][..])] {
            let e = map_text(list, "uidMappings").unwrap_err().to_string();
            assert!(e.contains("needs linux.uidMappings"), "{e}");
        }
        let e = map_text(Some(&[m(0, 1, 0)]), "gidMappings")
            .unwrap_err()
            .to_string();
        assert!(e.contains("size 0"), "{e}");
    }
}
