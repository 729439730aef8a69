//! What `start` writes before the shim runs: the bundle's directories, /etc files and the spec.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use super::error::ContainerError;
use super::record::{Container, MountKind};
use super::spec::{self, ResolvedMount};
use crate::fsutil::replace_file;
use crate::network::hooks::Wired;
use crate::volumes::VolumeStore;

const HOSTS: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

fn io(op: &'static str, p: &Path) -> impl FnOnce(std::io::Error) -> ContainerError {
    ContainerError::io(op, p)
}

pub fn mkdir(p: &Path, mode: u32) -> Result<(), ContainerError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(p)
        .map_err(io("mkdir", p))
}

fn is_empty_dir(p: &Path) -> bool {
    std::fs::read_dir(p)
        .map(|mut d| d.next().is_none())
        .unwrap_or(true)
}

/// Host paths of the container's mounts; volumes are filled from the image while empty.
pub fn resolve_mounts(c: &Container, volumes: &VolumeStore) -> Vec<ResolvedMount> {
    c.mounts
        .iter()
        .map(|m| match m.kind {
            MountKind::Volume => {
                let dir = volumes.data_dir(&m.source);
                ResolvedMount {
                    spec: m.clone(),
                    copyup: !m.no_copy && is_empty_dir(&dir),
                    host_path: dir,
                }
            }
            _ => ResolvedMount {
                spec: m.clone(),
                host_path: PathBuf::from(&m.source),
                copyup: false,
            },
        })
        .collect()
}

/// The files only rewritten on start (no fsync: they are regenerated on every start).
/// `net`: hosts and resolv.conf as networking rendered them (docker's formats).
fn etc_files(c: &Container, bundle: &Path, net: Option<&Wired>) -> Result<(), ContainerError> {
    let hostname = c.config.hostname.clone().unwrap_or_default();
    let host_net = c.host_config.network_mode.as_deref() == Some("host");
    let (hosts, resolv) = match net {
        Some(w) => (w.hosts.clone(), w.resolv.clone()),
        None if host_net => (
            std::fs::read_to_string("/etc/hosts").unwrap_or_else(|_| HOSTS.to_string()),
            std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default(),
        ),
        None => (
            HOSTS.to_string(),
            std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default(),
        ),
    };
    for (name, text) in [
        ("hostname", format!("{hostname}\n")),
        ("hosts", hosts),
        ("resolv.conf", resolv),
    ] {
        let p = bundle.join(name);
        replace_file(&p, text.as_bytes()).map_err(io("write", &p))?;
    }
    Ok(())
}

/// userns-remap: what the container's root writes must belong to its host uid/gid. The image
/// layers are not touched (the runtime id-maps them); a volume only while new or empty.
fn chown_for_userns(
    bundle: &Path,
    mounts: &[ResolvedMount],
    (uid, gid): (u32, u32),
) -> Result<(), ContainerError> {
    let own = |p: &Path| std::os::unix::fs::chown(p, Some(uid), Some(gid)).map_err(io("chown", p));
    for f in [
        "upper",
        "work",
        "rootfs",
        "hostname",
        "hosts",
        "resolv.conf",
    ] {
        own(&bundle.join(f))?;
    }
    for m in mounts.iter().filter(|m| m.spec.kind == MountKind::Volume) {
        if m.copyup || is_empty_dir(&m.host_path) {
            own(&m.host_path)?;
        }
    }
    Ok(())
}

/// Named steps of the bundle's preparation and their durations (e.g. "seccomp_compile"), for
/// the start timings debug line.
pub type StepTimes = std::collections::BTreeMap<&'static str, std::time::Duration>;

/// What the spec needs beyond the container record (issue 4): the daemon's security state and
/// the cgroup directories the engine made for this start.
pub struct BundleCtx {
    pub security: std::sync::Arc<super::security::Security>,
    /// `io.rdocker.cgroup.paths`: empty = no cgroup join.
    pub cgroup_dirs: Vec<PathBuf>,
    /// The network namespace and /etc files networking prepared (issue 5).
    pub net: Option<Wired>,
}

/// Directories, /etc files and config.json for one start. `lower_dirs` lowest first.
pub fn bundle(
    c: &Container,
    bundle: &Path,
    run_dir: &Path,
    lower_dirs: &[PathBuf],
    volumes: &VolumeStore,
    ctx: &BundleCtx,
) -> Result<StepTimes, ContainerError> {
    let mut times = StepTimes::new();
    let sec = ctx.security.for_container(&c.host_config, &mut times)?;
    for d in ["upper", "work", "rootfs"] {
        mkdir(&bundle.join(d), 0o755)?;
    }
    mkdir(run_dir, 0o700)?;
    // A previous shim's sockets would make the new one fail to bind.
    for s in ["ctl.sock", "attach.sock", "shim.log"] {
        let _ = std::fs::remove_file(run_dir.join(s));
    }
    etc_files(c, bundle, ctx.net.as_ref())?;
    let seccomp_file = bundle.join(spec::SECCOMP_FILE);
    match &sec.seccomp {
        Some(bpf) => replace_file(&seccomp_file, bpf).map_err(io("write", &seccomp_file))?,
        None => {
            let _ = std::fs::remove_file(&seccomp_file);
        }
    }
    let mounts = resolve_mounts(c, volumes);
    if let Some(remap) = &sec.userns {
        chown_for_userns(bundle, &mounts, remap.root())?;
    }
    let mut spec = spec::build(c, bundle, lower_dirs, &mounts, &sec, &ctx.cgroup_dirs)?;
    if let Some(w) = &ctx.net {
        spec::set_netns(&mut spec, &w.ns)?;
    }
    let bytes = serde_json::to_vec(&spec).map_err(|e| ContainerError::Shim(e.to_string()))?;
    let path = bundle.join("config.json");
    replace_file(&path, &bytes).map_err(io("write", &path))?;
    Ok(times)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::containers::binds::parse_bind;
    use crate::containers::record::MountSpec;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn userns_chowns_the_writable_parts_only() {
        let dir = tempfile::tempdir().unwrap();
        let b = dir.path().join("bundle");
        for d in ["upper", "work", "rootfs"] {
            mkdir(&b.join(d), 0o755).unwrap();
        }
        for f in ["hostname", "hosts", "resolv.conf", "config.json"] {
            std::fs::write(b.join(f), "").unwrap();
        }
        let (fresh, used) = (dir.path().join("fresh"), dir.path().join("used"));
        mkdir(&fresh, 0o755).unwrap();
        mkdir(&used, 0o755).unwrap();
        std::fs::write(used.join("data"), "x").unwrap();
        let vol = |p: &Path| ResolvedMount {
            spec: MountSpec {
                kind: MountKind::Volume,
                ..parse_bind("vol:/v").unwrap()
            },
            host_path: p.to_path_buf(),
            copyup: false,
        };
        chown_for_userns(&b, &[vol(&fresh), vol(&used)], (100000, 100001)).unwrap();
        let owner = |p: &Path| {
            let m = std::fs::metadata(p).unwrap();
            (m.uid(), m.gid())
        };
        for f in [
            "upper",
            "work",
            "rootfs",
            "hostname",
            "hosts",
            "resolv.conf",
        ] {
            assert_eq!(owner(&b.join(f)), (100000, 100001), "{f}");
        }
        assert_eq!(owner(&b.join("config.json")), (0, 0));
        assert_eq!(owner(&fresh), (100000, 100001));
        assert_eq!(owner(&used), (0, 0), "a volume with data keeps its owner");
    }
}
