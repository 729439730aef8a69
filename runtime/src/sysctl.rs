//! `linux.sysctl`: checked in the shim (only keys the container's own namespaces scope, as runc
//! does, with runc's messages), written in the init to its own `/proc/sys` after `/proc` is
//! mounted and before `readonlyPaths` make `/proc/sys` read-only.

use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use rustix::fs::{openat2, Mode, OFlags, ResolveFlags};

use crate::error::{Context, ShimError};

/// IPC-namespaced keys outside `fs.mqueue.*` (runc's validSysctlMap, and `shm_next_id`, which
/// the IPC namespace scopes too).
const IPC_KEYS: [&str; 9] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
    "kernel.shm_next_id",
];

/// Which namespace scopes a sysctl key (dotted form), by runc's rules. The engine validates
/// with the same table at create; each side words its own refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyNamespace {
    Ipc,
    Net,
    /// `kernel.domainname`: the UTS namespace.
    Domainname,
    /// `kernel.hostname`: UTS too, but it conflicts with the spec's `hostname`.
    Hostname,
    /// Not namespaced: writing it would change the host.
    None,
}

pub fn key_namespace(dotted: &str) -> KeyNamespace {
    if IPC_KEYS.contains(&dotted) || dotted.starts_with("fs.mqueue.") {
        KeyNamespace::Ipc
    } else if dotted.starts_with("net.") {
        KeyNamespace::Net
    } else if dotted == "kernel.domainname" {
        KeyNamespace::Domainname
    } else if dotted == "kernel.hostname" {
        KeyNamespace::Hostname
    } else {
        KeyNamespace::None
    }
}

/// The namespaces the container gets, as far as sysctls care.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope {
    /// Made for the container, or joined by path and not the shim's own (the host's).
    pub new_net: bool,
    pub new_ipc: bool,
    pub new_uts: bool,
}

/// Refuses a key the container's namespaces do not scope: it would change the host.
pub fn check(sysctl: &HashMap<String, String>, scope: Scope) -> Result<(), ShimError> {
    let mut keys: Vec<&String> = sysctl.keys().collect();
    keys.sort();
    for key in keys {
        check_key(key, scope)?;
        relative_path(key)?;
    }
    Ok(())
}

fn check_key(key: &str, s: Scope) -> Result<(), ShimError> {
    let refuse = |why: String| Err(ShimError::Spec(why));
    match key_namespace(&key.replace('/', ".")) {
        KeyNamespace::Ipc if s.new_ipc => Ok(()),
        KeyNamespace::Ipc => refuse(format!(
            "sysctl {key:?} is not allowed in the hosts ipc namespace"
        )),
        KeyNamespace::Net if s.new_net => Ok(()),
        KeyNamespace::Net => refuse(format!(
            "sysctl {key:?} is not allowed in the hosts network namespace"
        )),
        KeyNamespace::Domainname if s.new_uts => Ok(()),
        KeyNamespace::Hostname if s.new_uts => refuse(format!(
            "sysctl {key:?} is not allowed as it conflicts with the OCI \"hostname\" field"
        )),
        _ => refuse(format!(
            "sysctl {key:?} is not in a separate kernel namespace"
        )),
    }
}

/// `net.ipv4.ip_forward` → `net/ipv4/ip_forward`; a key given with slashes keeps its dots
/// (`net/ipv4/conf/eth0.100/forwarding`). Nothing may climb out of `/proc/sys`.
fn relative_path(key: &str) -> Result<String, ShimError> {
    let rel = if key.contains('/') {
        key.to_string()
    } else {
        key.replace('.', "/")
    };
    if rel
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(ShimError::Spec(format!(
            "sysctl {key:?} is not a valid key"
        )));
    }
    Ok(rel)
}

/// In the init, after pivot_root: writes each key under the container's own `/proc/sys`.
pub fn apply(sysctl: &HashMap<String, String>) -> Result<(), ShimError> {
    if sysctl.is_empty() {
        return Ok(());
    }
    let dir = rustix::fs::open(
        "/proc/sys",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| "open /proc/sys")?;
    // Only the kernel's procfs: anything else at /proc would take our writes somewhere else.
    let fs = rustix::fs::fstatfs(&dir).ctx(|| "statfs /proc/sys")?;
    if fs.f_type != libc::PROC_SUPER_MAGIC {
        return Err(ShimError::Spec(
            "/proc/sys is not procfs: cannot apply linux.sysctl".into(),
        ));
    }
    let mut keys: Vec<(&String, &String)> = sysctl.iter().collect();
    keys.sort();
    for (key, value) in keys {
        let rel = relative_path(key)?;
        write_one(dir.as_fd(), &rel, value).ctx(|| format!("write sysctl key {key}"))?;
    }
    Ok(())
}

fn write_one(dir: BorrowedFd<'_>, rel: &str, value: &str) -> rustix::io::Result<()> {
    let fd = openat2(
        dir,
        Path::new(rel),
        OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_XDEV,
    )?;
    // sysctl files take the value in one write.
    rustix::io::write(&fd, value.as_bytes()).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(k: &str, s: Scope) -> Result<(), String> {
        let m = HashMap::from([(k.to_string(), "1".to_string())]);
        check(&m, s).map_err(|e| e.to_string())
    }

    #[test]
    fn only_namespaced_keys_pass() {
        let all = Scope {
            new_net: true,
            new_ipc: true,
            new_uts: true,
        };
        for k in [
            "net.ipv4.ip_unprivileged_port_start",
            "net/ipv4/conf/eth0.100/forwarding",
            "kernel.shmmax",
            "fs.mqueue.msg_max",
            "kernel.domainname",
        ] {
            assert_eq!(one(k, all), Ok(()), "{k}");
        }
        assert_eq!(
            one("vm.swappiness", all).unwrap_err(),
            "invalid spec: sysctl \"vm.swappiness\" is not in a separate kernel namespace"
        );
        assert!(one("kernel.hostname", all)
            .unwrap_err()
            .contains("conflicts"));
        let host = Scope::default();
        assert!(one("net.ipv4.ip_forward", host)
            .unwrap_err()
            .contains("hosts network namespace"));
        assert!(one("kernel.sem", host)
            .unwrap_err()
            .contains("hosts ipc namespace"));
    }

    #[test]
    fn keys_cannot_climb_out_of_proc_sys() {
        assert_eq!(
            relative_path("net.ipv4.ip_forward").unwrap(),
            "net/ipv4/ip_forward"
        );
        for bad in ["net/../../etc", "net..ipv4", "net/ipv4/", "net/./x"] {
            assert!(relative_path(bad).is_err(), "{bad}");
        }
    }
}
