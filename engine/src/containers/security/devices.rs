//! Devices: docker's cgroup allowlist, `--device` mappings (the nodes the rootfs creates and
//! their cgroup rules), `--device-cgroup-rule`, and `--privileged` (every host device).

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use bollard_stubs::models::{DeviceMapping, HostConfig};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceBuilder, LinuxDeviceType};
use rdocker_cgroups::DeviceRule;

/// Nodes the rootfs always creates (runc's default devices); privileged mode skips them.
const DEFAULT_NODES: [&str; 8] = [
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/console",
];

/// Directories of /dev that are file systems of their own or the host's private state
/// (containerd's `HostDevices` skips the same).
const SKIP_DIRS: [&str; 7] = ["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"];

fn rule(kind: char, major: Option<i64>, minor: Option<i64>, access: &str) -> DeviceRule {
    DeviceRule {
        allow: true,
        kind,
        major,
        minor,
        access: access.to_string(),
    }
}

/// Deny everything, then what runc and moby allow every container: mknod of any node, the
/// standard character devices, ptys, /dev/console and /dev/net/tun.
pub fn default_rules() -> Vec<DeviceRule> {
    let mut v = vec![DeviceRule {
        allow: false,
        kind: 'a',
        major: None,
        minor: None,
        access: "rwm".into(),
    }];
    v.push(rule('c', None, None, "m"));
    v.push(rule('b', None, None, "m"));
    for (maj, min) in [(1, 3), (1, 8), (1, 7), (5, 0), (1, 5), (1, 9), (5, 1)] {
        v.push(rule('c', Some(maj), Some(min), "rwm"));
    }
    v.push(rule('c', Some(136), None, "rwm"));
    v.push(rule('c', Some(5), Some(2), "rwm"));
    v.push(rule('c', Some(10), Some(200), "rwm"));
    v
}

/// One device node found on the host, as the spec and the cgroup need it.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub path: PathBuf,
    pub kind: char,
    pub major: i64,
    pub minor: i64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// `Some` for a character or block device; symlinks followed (moby `DevicesFromPath`).
fn node(p: &Path) -> std::io::Result<Option<Node>> {
    let md = std::fs::metadata(p)?;
    let ft = md.file_type();
    let kind = if ft.is_char_device() {
        'c'
    } else if ft.is_block_device() {
        'b'
    } else {
        return Ok(None);
    };
    let rdev = md.rdev();
    Ok(Some(Node {
        path: p.to_path_buf(),
        kind,
        major: rustix::fs::major(rdev) as i64,
        minor: rustix::fs::minor(rdev) as i64,
        mode: md.mode() & 0o7777,
        uid: md.uid(),
        gid: md.gid(),
    }))
}

fn walk(dir: &Path, top: bool, out: &mut Vec<Node>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for ent in rd.flatten() {
        let p = ent.path();
        let Ok(ft) = ent.file_type() else { continue };
        if ft.is_dir() {
            let name = ent.file_name();
            if top && SKIP_DIRS.iter().any(|s| name == *s) {
                continue;
            }
            walk(&p, false, out);
        } else if ft.is_char_device() || ft.is_block_device() {
            if let Ok(Some(n)) = node(&p) {
                out.push(n);
            }
        }
    }
}

/// Docker's `DeviceMapping`: the nodes for one `--device`, with their paths in the container.
/// A directory means every device below it.
pub fn from_mapping(m: &DeviceMapping) -> Result<Vec<Node>, String> {
    let host = m.path_on_host.clone().unwrap_or_default();
    let ctr = m
        .path_in_container
        .clone()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| host.clone());
    let err = |e: String| {
        format!("error gathering device information while adding custom device {host:?}: {e}")
    };
    let hp = Path::new(&host);
    match node(hp) {
        Ok(Some(mut n)) => {
            n.path = PathBuf::from(&ctr);
            Ok(vec![n])
        }
        Ok(None) => {
            let mut found = Vec::new();
            if hp.is_dir() {
                walk(hp, false, &mut found);
            }
            for n in &mut found {
                let rel = n.path.strip_prefix(hp).unwrap_or(&n.path).to_path_buf();
                n.path = Path::new(&ctr).join(rel);
            }
            if found.is_empty() {
                return Err(err("not a device node".into()));
            }
            Ok(found)
        }
        Err(e) => Err(err(super::go_errno(&e))),
    }
}

fn permissions(m: &DeviceMapping) -> String {
    m.cgroup_permissions
        .clone()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "rwm".to_string())
}

/// Create-time checks: every `--device` exists, every `--device-cgroup-rule` parses.
pub fn validate(hc: &HostConfig) -> Result<(), String> {
    for m in hc.devices.iter().flatten() {
        let perms = permissions(m);
        if !perms.chars().all(|c| "rwm".contains(c)) {
            return Err(format!("invalid device mode: {perms}"));
        }
        from_mapping(m)?;
    }
    for r in hc.device_cgroup_rules.iter().flatten() {
        DeviceRule::parse(r, true).map_err(|_| format!("invalid device cgroup format '{r}'"))?;
    }
    Ok(())
}

/// The spec's `linux.devices` and the cgroup rules, in moby's `WithDevices` order.
pub fn for_container(hc: &HostConfig) -> (Vec<Node>, Vec<DeviceRule>) {
    let privileged = hc.privileged.unwrap_or(false);
    let mut nodes = Vec::new();
    let mut rules = Vec::new();
    if privileged {
        walk(Path::new("/dev"), true, &mut nodes);
        nodes.retain(|n| !DEFAULT_NODES.iter().any(|d| n.path == Path::new(d)));
    } else {
        rules = default_rules();
    }
    for m in hc.devices.iter().flatten() {
        // Validated at create; a device gone since is skipped rather than failing the start.
        let Ok(found) = from_mapping(m) else { continue };
        let perms = permissions(m);
        for n in found {
            if !privileged {
                rules.push(rule(n.kind, Some(n.major), Some(n.minor), &perms));
            }
            nodes.retain(|o| o.path != n.path);
            nodes.push(n);
        }
    }
    if privileged {
        rules.push(rule('a', None, None, "rwm"));
    } else {
        for r in hc.device_cgroup_rules.iter().flatten() {
            if let Ok(parsed) = DeviceRule::parse(r, true) {
                rules.push(parsed);
            }
        }
    }
    (nodes, rules)
}

pub fn spec(nodes: &[Node]) -> Result<Vec<LinuxDevice>, oci_spec::OciSpecError> {
    nodes
        .iter()
        .map(|n| {
            LinuxDeviceBuilder::default()
                .path(n.path.clone())
                .typ(if n.kind == 'b' {
                    LinuxDeviceType::B
                } else {
                    LinuxDeviceType::C
                })
                .major(n.major)
                .minor(n.minor)
                .file_mode(n.mode)
                .uid(n.uid)
                .gid(n.gid)
                .build()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(host: &str, ctr: &str, perms: &str) -> DeviceMapping {
        DeviceMapping {
            path_on_host: Some(host.into()),
            path_in_container: Some(ctr.into()),
            cgroup_permissions: Some(perms.into()),
        }
    }

    #[test]
    fn default_allowlist() {
        let r = default_rules();
        assert!(!r[0].allow && r[0].kind == 'a' && r[0].major.is_none());
        assert!(r[1..].iter().all(|r| r.allow));
        let has = |k, maj, min, a: &str| {
            r.iter()
                .any(|x| x.kind == k && x.major == maj && x.minor == min && x.access == a)
        };
        assert!(has('c', None, None, "m") && has('b', None, None, "m"));
        assert!(has('c', Some(1), Some(3), "rwm") && has('c', Some(136), None, "rwm"));
        assert!(has('c', Some(10), Some(200), "rwm") && has('c', Some(5), Some(2), "rwm"));
    }

    #[test]
    fn device_mappings() {
        let n = from_mapping(&map("/dev/null", "/dev/mynull", "r")).unwrap();
        assert_eq!(n.len(), 1);
        assert_eq!((n[0].kind, n[0].major, n[0].minor), ('c', 1, 3));
        assert_eq!(n[0].path, Path::new("/dev/mynull"));
        // Missing: moby's words.
        assert_eq!(
            from_mapping(&map("/dev/nosuch", "", "")).unwrap_err(),
            "error gathering device information while adding custom device \"/dev/nosuch\": \
             no such file or directory"
        );
        // A directory: the devices below it, relocated.
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            sub.join("z"),
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::from_raw_mode(0o640),
            rustix::fs::makedev(1, 5),
        )
        .unwrap();
        let m = map(dir.path().to_str().unwrap(), "/dev/grp", "rw");
        let n = from_mapping(&m).unwrap();
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].path, Path::new("/dev/grp/sub/z"));
        assert_eq!((n[0].major, n[0].minor, n[0].mode), (1, 5, 0o640));
        // A regular file is no device.
        let f = dir.path().join("f");
        std::fs::write(&f, "").unwrap();
        let e = from_mapping(&map(f.to_str().unwrap(), "/dev/f", "")).unwrap_err();
        assert!(e.ends_with("not a device node"), "{e}");
    }

    #[test]
    fn rules_and_nodes_per_container() {
        let hc = HostConfig {
            devices: Some(vec![map("/dev/zero", "/dev/z", "r")]),
            ..Default::default()
        };
        let (nodes, rules) = for_container(&hc);
        assert_eq!(nodes.len(), 1);
        let last = rules.last().unwrap();
        assert_eq!(
            (last.kind, last.major, last.minor, last.access.as_str()),
            ('c', Some(1), Some(5), "r")
        );
        let j = serde_json::to_value(spec(&nodes).unwrap()).unwrap();
        assert_eq!(j[0]["type"], "c");
        assert_eq!(j[0]["path"], "/dev/z");
        assert_eq!(
            (j[0]["major"].as_i64(), j[0]["minor"].as_i64()),
            (Some(1), Some(5))
        );
        assert!(j[0]["fileMode"].is_number() && j[0]["uid"] == 0);
        // Privileged: one allow-all rule and the host's devices, minus the default nodes.
        let p = HostConfig {
            privileged: Some(true),
            ..Default::default()
        };
        let (nodes, rules) = for_container(&p);
        assert_eq!(rules.len(), 1);
        assert!(rules[0].allow && rules[0].kind == 'a' && rules[0].access == "rwm");
        assert!(!nodes.iter().any(|n| n.path == Path::new("/dev/null")));
        assert!(!nodes.iter().any(|n| n.path.starts_with("/dev/pts")));
        assert!(nodes.iter().all(|n| n.path.starts_with("/dev")));
    }
}
