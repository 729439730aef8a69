//! Finding the host's cgroup hierarchies.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::{CgroupError, Layout};

/// The v1 controllers rdocker limits or reads; others (net_cls, perf_event, …) are ignored.
pub(crate) const V1_CONTROLLERS: [&str; 8] = [
    "memory", "cpu", "cpuacct", "cpuset", "pids", "blkio", "devices", "freezer",
];

const CGROUP2_SUPER_MAGIC: u64 = 0x6367_7270;
const TMPFS_MAGIC: u64 = 0x0102_1994;

impl Layout {
    /// A v1 layout whose controllers are each mounted at `<base>/<controller>` (tests, or a
    /// host laid out the usual way).
    pub fn v1_at(base: impl AsRef<Path>) -> Layout {
        let base = base.as_ref();
        Layout::V1 {
            controllers: V1_CONTROLLERS
                .iter()
                .map(|c| (c.to_string(), base.join(c)))
                .collect(),
        }
    }

    /// A unified layout rooted at `root` (e.g. a cgroup2 mount made for tests).
    pub fn unified_at(root: impl AsRef<Path>) -> Layout {
        Layout::Unified {
            root: root.as_ref().to_path_buf(),
        }
    }

    pub(crate) fn detect_at(fs_root: &Path, mountinfo: &str) -> Result<Layout, CgroupError> {
        let st = rustix::fs::statfs(fs_root)
            .map_err(|e| CgroupError::Unavailable(format!("statfs {}: {e}", fs_root.display())))?;
        // f_type is i64 or u32 depending on the libc; the magic numbers fit either.
        #[allow(clippy::unnecessary_cast)]
        let magic = st.f_type as u64;
        if magic == CGROUP2_SUPER_MAGIC {
            return Ok(Layout::unified_at(fs_root));
        }
        if magic != TMPFS_MAGIC {
            return Err(CgroupError::Unavailable(format!(
                "{} is neither a cgroup2 nor a tmpfs mount (magic {magic:#x})",
                fs_root.display()
            )));
        }
        let controllers = v1_controllers_from_mountinfo(mountinfo);
        if !controllers.is_empty() {
            return Ok(Layout::V1 { controllers });
        }
        // A tmpfs with only name=systemd in v1 and every controller on a cgroup2 mount below
        // it (systemd's "hybrid" without v1 controllers): that cgroup2 mount is the unified
        // hierarchy to use.
        match cgroup2_mount(mountinfo) {
            Some(root) => Ok(Layout::Unified { root }),
            None => Err(CgroupError::Unavailable(
                "no cgroup v1 controller and no cgroup2 hierarchy is mounted".to_string(),
            )),
        }
    }
}

pub(crate) fn detect() -> Result<Layout, CgroupError> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| CgroupError::Unavailable(format!("reading /proc/self/mountinfo: {e}")))?;
    Layout::detect_at(Path::new("/sys/fs/cgroup"), &mountinfo)
}

/// controller → mount point, from the `cgroup` entries of a mountinfo table. The super options
/// (last field) name the controllers: "rw,cpu,cpuacct" is a co-mount sharing one path.
pub(crate) fn v1_controllers_from_mountinfo(mountinfo: &str) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for line in mountinfo.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let mut post_fields = post.split_whitespace();
        if post_fields.next() != Some("cgroup") {
            continue;
        }
        let super_opts = post_fields.nth(1).unwrap_or("");
        let Some(mount_point) = pre.split_whitespace().nth(4) else {
            continue;
        };
        let mount_point = unescape_octal(mount_point);
        for opt in super_opts.split(',') {
            if V1_CONTROLLERS.contains(&opt) {
                // The first mount of a controller wins (later ones are bind mounts of it).
                out.entry(opt.to_string())
                    .or_insert_with(|| PathBuf::from(&mount_point));
            }
        }
    }
    out
}

fn cgroup2_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (pre, post) = line.split_once(" - ")?;
        if post.split_whitespace().next() != Some("cgroup2") {
            return None;
        }
        Some(PathBuf::from(unescape_octal(
            pre.split_whitespace().nth(4)?,
        )))
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            if let Some(v) = std::str::from_utf8(&b[i + 1..i + 4])
                .ok()
                .and_then(|o| u8::from_str_radix(o, 8).ok())
            {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/net_cls rw,relatime - cgroup cgroup rw,net_cls
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 23 0:40 / /mnt/my\\040cg rw,relatime - cgroup cgroup rw,pids
";

    #[test]
    fn mountinfo_controllers() {
        let m = v1_controllers_from_mountinfo(HYBRID);
        let keys: Vec<&str> = m.keys().map(|s| s.as_str()).collect();
        assert_eq!(keys, ["cpu", "cpuacct", "cpuset", "memory", "pids"]);
        assert_eq!(m["cpu"], PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(m["cpuacct"], m["cpu"]);
        assert_eq!(m["pids"], PathBuf::from("/mnt/my cg"));
    }

    #[test]
    fn cgroup2_mount_found() {
        assert_eq!(
            cgroup2_mount(HYBRID),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(cgroup2_mount("1 2 0:1 / /x rw - tmpfs tmpfs rw\n"), None);
    }

    #[test]
    fn detect_this_host() {
        // The test machines are v1 hybrid; a unified host must still detect as unified.
        let l = detect().unwrap();
        match l {
            Layout::V1 { controllers } => {
                assert!(controllers.contains_key("memory"), "{controllers:?}");
                assert!(!controllers.keys().any(|k| k.starts_with("name=")));
            }
            Layout::Unified { root } => assert_eq!(root, PathBuf::from("/sys/fs/cgroup")),
        }
    }

    #[test]
    fn detect_refuses_other_fs() {
        let d = tempfile::tempdir().unwrap();
        // /tmp here is ext4: neither tmpfs nor cgroup2.
        let e = Layout::detect_at(d.path(), HYBRID).unwrap_err();
        assert!(matches!(e, CgroupError::Unavailable(_)), "{e}");
    }
}
