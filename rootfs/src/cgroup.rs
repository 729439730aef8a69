//! The `cgroup` mount type (`/sys/fs/cgroup` in Docker's specs): the container sees its own
//! cgroup, never the host's tree.
//!
//! - cgroup v2 with a private cgroup namespace: a fresh cgroup2 mount (the kernel roots it
//!   at the namespace's cgroup).
//! - cgroup v2 in the host's cgroup namespace: a bind of the container's own cgroup directory.
//! - cgroup v1 / hybrid: a tmpfs holding, per hierarchy, a bind of the container's cgroup
//!   directory of that hierarchy (as runc does), `cpu -> cpu,cpuacct` style links for
//!   co-mounted controllers, then the tmpfs made read-only when asked.
//!
//! Runs before pivot_root, so `/proc` and `/sys/fs/cgroup` are still the host's; the runtime
//! must have moved the init into its cgroup before calling `prepare`.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{readlink, statfs, symlinkat, CWD};
use rustix::io::Errno;
use rustix::mount::{open_tree, MountAttrFlags, OpenTreeFlags};

use crate::fsctx::mount_fs;
use crate::options::MountOptions;
use crate::resolve::{create_in_root, Kind};
use crate::sys::{attach, set_attrs};
use crate::{io_err, RootfsError};

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
const HOST_CGROUP: &str = "/sys/fs/cgroup";

/// One line of `/proc/self/cgroup`: hierarchy id, controllers, path.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Membership {
    pub controllers: Vec<String>,
    pub path: String,
}

pub(crate) fn parse_proc_cgroup(text: &str) -> Vec<Membership> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            let _id = f.next()?;
            let ctrls = f.next()?;
            let path = f.next()?;
            Some(Membership {
                controllers: ctrls
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect(),
                path: path.to_owned(),
            })
        })
        .collect()
}

/// A cgroup hierarchy mounted on the host: where, and which part of the hierarchy.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct HostMount {
    pub mount_point: PathBuf,
    pub root: String,
    pub fstype: String,
    pub super_opts: Vec<String>,
}

pub(crate) fn parse_mountinfo(text: &str) -> Vec<HostMount> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let sep = f.iter().position(|x| *x == "-")?;
            let fstype = *f.get(sep + 1)?;
            if fstype != "cgroup" && fstype != "cgroup2" {
                return None;
            }
            Some(HostMount {
                mount_point: PathBuf::from(unescape(f.get(4)?)),
                root: unescape(f.get(3)?),
                fstype: fstype.to_owned(),
                super_opts: f.get(sep + 3)?.split(',').map(str::to_owned).collect(),
            })
        })
        .collect()
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b
            .get(i + 1..i + 4)
            .filter(|o| o.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], oct) {
            (b'\\', Some(o)) => {
                out.push((o[0] - b'0') * 64 + (o[1] - b'0') * 8 + (o[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The host directory of `m`'s cgroup in hierarchy `h`.
pub(crate) fn host_dir(h: &HostMount, m: &Membership) -> PathBuf {
    let rel = m.path.strip_prefix(h.root.as_str()).unwrap_or(&m.path);
    h.mount_point.join(rel.trim_start_matches('/'))
}

pub(crate) fn mount(
    root: BorrowedFd<'_>,
    dest: &Path,
    target: BorrowedFd<'_>,
    opts: &MountOptions,
) -> Result<(), RootfsError> {
    let read = |p: &'static str| {
        std::fs::read_to_string(p).map_err(|source| RootfsError::Io {
            op: "read",
            path: p.into(),
            source,
        })
    };
    let members = parse_proc_cgroup(&read("/proc/self/cgroup")?);
    let host_fs = statfs(HOST_CGROUP).map_err(io_err("statfs", Path::new(HOST_CGROUP)))?;
    if host_fs.f_type as i64 == CGROUP2_SUPER_MAGIC {
        let own = readlink("/proc/self/ns/cgroup", Vec::new());
        let init = readlink("/proc/1/ns/cgroup", Vec::new());
        let private_ns = matches!((own, init), (Ok(a), Ok(b)) if a != b);
        if private_ns {
            return mount_fs("cgroup2", Some(Path::new("cgroup2")), opts, target).map_err(
                |source| RootfsError::Io {
                    op: "mount cgroup2 on",
                    path: dest.to_path_buf(),
                    source,
                },
            );
        }
        let path = members
            .iter()
            .find(|m| m.controllers.is_empty())
            .map_or("/", |m| m.path.as_str());
        let src = Path::new(HOST_CGROUP).join(path.trim_start_matches('/'));
        return bind(&src, target, opts).map_err(io_err("bind cgroup", &src));
    }
    v1(
        root,
        dest,
        target,
        opts,
        &members,
        &read("/proc/self/mountinfo")?,
    )
}

fn v1(
    root: BorrowedFd<'_>,
    dest: &Path,
    target: BorrowedFd<'_>,
    opts: &MountOptions,
    members: &[Membership],
    mountinfo: &str,
) -> Result<(), RootfsError> {
    // The tmpfs stays writable until its directories and links exist.
    let mut tmpfs_opts = MountOptions::parse(&["mode=755"]);
    tmpfs_opts.attr_set = opts.attr_set & !MountAttrFlags::MOUNT_ATTR_RDONLY;
    mount_tmpfs(target, &tmpfs_opts).map_err(io_err("mount tmpfs on", dest))?;
    let tmpfs_root = create_in_root(root, dest, Kind::Dir).map_err(io_err("open", dest))?;
    let hierarchies = parse_mountinfo(mountinfo);
    for m in members {
        let Some(h) = hierarchies.iter().find(|h| serves(h, m)) else {
            continue;
        };
        let Some(name) = h.mount_point.file_name() else {
            continue;
        };
        let sub = dest.join(name);
        let dir = create_in_root(root, &sub, Kind::Dir).map_err(io_err("create", &sub))?;
        let src = host_dir(h, m);
        bind(&src, dir.as_fd(), opts).map_err(io_err("bind cgroup", &src))?;
        let name = name.to_string_lossy();
        if name.contains(',') {
            for ctrl in name.split(',') {
                match symlinkat(name.as_ref(), &tmpfs_root, ctrl) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(io_err("symlink", &dest.join(ctrl))(e)),
                }
            }
        }
    }
    if opts.attr_set.contains(MountAttrFlags::MOUNT_ATTR_RDONLY) {
        let mnt = open_tree(
            &tmpfs_root,
            "",
            OpenTreeFlags::AT_EMPTY_PATH | OpenTreeFlags::OPEN_TREE_CLOEXEC,
        )
        .map_err(io_err("open_tree", dest))?;
        set_attrs(
            &mnt,
            false,
            MountAttrFlags::MOUNT_ATTR_RDONLY,
            MountAttrFlags::empty(),
        )
        .map_err(io_err("make read-only", dest))?;
    }
    Ok(())
}

/// Whether host hierarchy `h` is the one the membership line `m` refers to.
fn serves(h: &HostMount, m: &Membership) -> bool {
    if m.controllers.is_empty() {
        return h.fstype == "cgroup2";
    }
    h.fstype == "cgroup" && m.controllers.iter().all(|c| h.super_opts.contains(c))
}

fn mount_tmpfs(target: BorrowedFd<'_>, opts: &MountOptions) -> Result<(), Errno> {
    mount_fs("tmpfs", Some(Path::new("tmpfs")), opts, target)
        .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::INVAL))
}

fn bind(src: &Path, target: BorrowedFd<'_>, opts: &MountOptions) -> Result<(), Errno> {
    let tree = open_tree(
        CWD,
        src,
        OpenTreeFlags::OPEN_TREE_CLONE
            | OpenTreeFlags::OPEN_TREE_CLOEXEC
            | OpenTreeFlags::AT_RECURSIVE,
    )?;
    attach(tree.as_fd(), target)?;
    set_attrs(&tree, true, opts.attr_set, MountAttrFlags::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_self_cgroup() {
        let m =
            parse_proc_cgroup("12:cpu,cpuacct:/docker/abc\n1:name=systemd:/x\n0::/init.scope\n");
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].controllers, ["cpu", "cpuacct"]);
        assert_eq!(m[0].path, "/docker/abc");
        assert_eq!(m[1].controllers, ["name=systemd"]);
        assert!(m[2].controllers.is_empty());
    }

    #[test]
    fn finds_hierarchies_and_directories() {
        let info = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
40 31 0:37 /sub /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/un\\040ified rw,relatime - cgroup2 cgroup2 rw";
        let hs = parse_mountinfo(info);
        assert_eq!(hs.len(), 3);
        assert_eq!(hs[2].mount_point, Path::new("/sys/fs/cgroup/un ified"));
        let members = parse_proc_cgroup("3:cpu,cpuacct:/c1\n1:name=systemd:/sub/c1\n0::/c1\n");
        let dir = |m: &Membership| {
            let h = hs.iter().find(|h| serves(h, m)).unwrap();
            host_dir(h, m)
        };
        assert_eq!(dir(&members[0]), Path::new("/sys/fs/cgroup/cpu,cpuacct/c1"));
        assert_eq!(dir(&members[1]), Path::new("/sys/fs/cgroup/systemd/c1"));
        assert_eq!(dir(&members[2]), Path::new("/sys/fs/cgroup/un ified/c1"));
    }
}
