//! `process.capabilities`: bounding set dropped before the uid change, the other sets applied
//! after it (PR_SET_KEEPCAPS keeps the permitted set across setuid).
//!
//! A capability the host withholds from our own bounding set (this VM has no CAP_SYS_RESOURCE)
//! is skipped, so "all capabilities" means "all we have" instead of EPERM.

use std::collections::HashSet;
use std::io;

use oci_spec::runtime::{Capability, LinuxCapabilities};

use crate::error::{Context, ShimError};

/// Index = capability number (linux/capability.h).
const NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

const VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct Header {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

pub fn number(cap: &Capability) -> Option<u32> {
    let name = serde_json::to_value(cap).ok()?;
    let name = name.as_str()?.strip_prefix("CAP_")?.to_string();
    NAMES.iter().position(|n| *n == name).map(|i| i as u32)
}

fn mask(set: &Option<HashSet<Capability>>) -> u64 {
    set.iter()
        .flatten()
        .filter_map(number)
        .fold(0u64, |m, n| m | (1u64 << n))
}

fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

fn prctl(op: libc::c_int, a: libc::c_ulong, b: libc::c_ulong) -> io::Result<libc::c_int> {
    // SAFETY: the capability prctls used here take integers only.
    let r = unsafe { libc::prctl(op, a, b, 0 as libc::c_ulong, 0 as libc::c_ulong) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Before the uid change: shrink the bounding set and keep the permitted set across setuid.
pub fn before_user(caps: &LinuxCapabilities) -> Result<(), ShimError> {
    let keep = mask(caps.bounding());
    for cap in 0..=last_cap().min(63) {
        if keep & (1u64 << cap) == 0
            && prctl(libc::PR_CAPBSET_READ, cap.into(), 0).unwrap_or(0) == 1
        {
            prctl(libc::PR_CAPBSET_DROP, cap.into(), 0)
                .ctx(|| format!("drop capability {} from the bounding set", name(cap)))?;
        }
    }
    prctl(libc::PR_SET_KEEPCAPS, 1, 0).ctx(|| "prctl(PR_SET_KEEPCAPS)")?;
    Ok(())
}

/// After the uid change: effective, permitted, inheritable, then ambient.
pub fn after_user(caps: &LinuxCapabilities) -> Result<(), ShimError> {
    let have = get().ctx(|| "capget")?;
    let permitted = mask(caps.permitted()) & have;
    let set = [
        mask(caps.effective()) & permitted,
        permitted,
        mask(caps.inheritable()) & have,
    ];
    put(set).ctx(|| "capset")?;
    let ambient = mask(caps.ambient()) & set[1] & set[2];
    for cap in 0..64u32 {
        if ambient & (1u64 << cap) != 0 {
            prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                cap.into(),
            )
            .ctx(|| format!("raise ambient capability {}", name(cap)))?;
        }
    }
    Ok(())
}

fn name(cap: u32) -> String {
    NAMES
        .get(cap as usize)
        .map(|n| format!("CAP_{n}"))
        .unwrap_or_else(|| cap.to_string())
}

/// Our permitted set.
fn get() -> io::Result<u64> {
    let mut h = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut d = [Data::default(); 2];
    // SAFETY: capget writes two Data structs (version 3 layout) into `d`, which has room for both.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut h as *mut Header, d.as_mut_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(u64::from(d[0].permitted) | (u64::from(d[1].permitted) << 32))
}

/// [effective, permitted, inheritable] as 64-bit masks.
fn put(sets: [u64; 3]) -> io::Result<()> {
    let mut h = Header {
        version: VERSION_3,
        pid: 0,
    };
    let part = |i: usize| Data {
        effective: (sets[0] >> (32 * i)) as u32,
        permitted: (sets[1] >> (32 * i)) as u32,
        inheritable: (sets[2] >> (32 * i)) as u32,
    };
    let d = [part(0), part(1)];
    // SAFETY: capset reads the header and two Data structs we own.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut h as *mut Header, d.as_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_kernel_numbers() {
        assert_eq!(number(&Capability::Chown), Some(0));
        assert_eq!(number(&Capability::NetBindService), Some(10));
        assert_eq!(number(&Capability::SysAdmin), Some(21));
        assert_eq!(number(&Capability::AuditWrite), Some(29));
        assert_eq!(number(&Capability::CheckpointRestore), Some(40));
    }
}
