//! Capabilities: names ↔ numbers, docker's default set, `--cap-add`/`--cap-drop` (moby's
//! `oci/caps.TweakCapabilities` order of operations) and the daemon's own bounding set.
//!
//! A 41-entry table rather than the `caps` crate: we need docker's name normalisation and a
//! bit mask, not syscalls (the runtime applies the sets).

use oci_spec::runtime::{Capability, LinuxCapabilities, LinuxCapabilitiesBuilder};
use std::collections::HashSet;

/// Index = capability number (linux/capability.h), up to CAP_CHECKPOINT_RESTORE = 40.
pub const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// moby's `oci.DefaultCapabilities()`, in its order.
pub const DEFAULT: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability this table knows.
pub const ALL_MASK: u64 = (1u64 << NAMES.len()) - 1;

pub fn number(name: &str) -> Option<u32> {
    NAMES.iter().position(|n| *n == name).map(|i| i as u32)
}

/// A set of capabilities as a bit mask (bit N = capability N), as in /proc/<pid>/status.
pub fn mask(names: &[String]) -> u64 {
    names
        .iter()
        .filter_map(|n| number(n))
        .fold(0, |m, n| m | (1u64 << n))
}

/// Names of a mask's capabilities, lowest number first.
pub fn names(mask: u64) -> Vec<String> {
    NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1u64 << i) != 0)
        .map(|(_, n)| n.to_string())
        .collect()
}

/// moby's `NormalizeLegacyCapabilities`: upper-case, `CAP_` prefixed, "ALL" kept as is.
pub fn normalize(list: &[String]) -> Result<Vec<String>, String> {
    list.iter()
        .map(|c| {
            let c = c.to_uppercase();
            if c == "ALL" {
                return Ok(c);
            }
            let c = if c.starts_with("CAP_") {
                c
            } else {
                format!("CAP_{c}")
            };
            match number(&c) {
                Some(_) => Ok(c),
                None => Err(format!("unknown capability: {c:?}")),
            }
        })
        .collect()
}

/// Create-time check, in moby's words (`invalid CapAdd: unknown capability: "CAP_FOO"`).
pub fn validate(add: &[String], drop: &[String]) -> Result<(), String> {
    normalize(add).map_err(|e| format!("invalid CapAdd: {e}"))?;
    normalize(drop).map_err(|e| format!("invalid CapDrop: {e}"))?;
    Ok(())
}

/// The container's capability set as a mask: moby's `TweakCapabilities` (privileged = all;
/// `--cap-add ALL` = all minus the drops; `--cap-drop ALL` = only the adds; else the defaults
/// minus the drops plus the adds), then intersected with `bounding`, the daemon's own bounding
/// set: what the host withholds cannot be granted, and asking for it must not fail the start.
pub fn effective(
    add: &[String],
    drop: &[String],
    privileged: bool,
    bounding: u64,
) -> Result<u64, String> {
    let set = if privileged {
        ALL_MASK
    } else {
        let add = normalize(add).map_err(|e| format!("invalid CapAdd: {e}"))?;
        let drop = normalize(drop).map_err(|e| format!("invalid CapDrop: {e}"))?;
        let has_all = |v: &[String]| v.iter().any(|c| c == "ALL");
        let defaults: Vec<String> = DEFAULT.iter().map(|s| s.to_string()).collect();
        if has_all(&add) {
            ALL_MASK & !mask(&drop)
        } else if has_all(&drop) {
            mask(&add)
        } else {
            (mask(&defaults) & !mask(&drop)) | mask(&add)
        }
    };
    Ok(set & bounding)
}

/// `CapBnd` of /proc/self/status: what this daemon (and so any child) may ever hold.
pub fn daemon_bounding() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| parse_capbnd(&s))
        .unwrap_or(ALL_MASK)
}

fn parse_capbnd(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .map(|m| m & ALL_MASK)
}

/// `process.capabilities`: bounding = effective = permitted = the set; inheritable and ambient
/// empty (docker's since 20.10: no capabilities leak into execve of non-root programs).
pub fn spec(mask: u64) -> Result<LinuxCapabilities, oci_spec::OciSpecError> {
    let set: HashSet<Capability> = names(mask)
        .iter()
        .filter_map(|n| serde_json::from_value(serde_json::Value::String(n.clone())).ok())
        .collect();
    LinuxCapabilitiesBuilder::default()
        .bounding(set.clone())
        .effective(set.clone())
        .permitted(set)
        .inheritable(HashSet::new())
        .ambient(HashSet::new())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn default_set_is_dockers_14() {
        let m = effective(&[], &[], false, ALL_MASK).unwrap();
        assert_eq!(m, 0xa80425fb);
        assert_eq!(names(m).len(), 14);
    }

    #[test]
    fn add_and_drop_follow_moby() {
        let all = ALL_MASK;
        // Case-insensitive, with or without the prefix.
        let m = effective(
            &v(&["sys_admin", "CAP_net_admin"]),
            &v(&["chown"]),
            false,
            all,
        );
        let m = m.unwrap();
        assert_eq!(m, (0xa80425fb & !1) | (1 << 21) | (1 << 12));
        // Drop ALL then add: only the adds.
        let m = effective(&v(&["KILL"]), &v(&["ALL"]), false, all).unwrap();
        assert_eq!(m, 1 << 5);
        // Add ALL wins over drop ALL; drops still apply.
        let m = effective(&v(&["all"]), &v(&["ALL", "MKNOD"]), false, all).unwrap();
        assert_eq!(m, all & !(1 << 27));
        let m = effective(&v(&["ALL"]), &[], false, all).unwrap();
        assert_eq!(m, all);
        // The host's bounding set caps everything (this VM has no CAP_SYS_RESOURCE).
        let bnd = all & !(1 << 24);
        assert_eq!(effective(&[], &[], true, bnd).unwrap(), bnd);
        assert_eq!(effective(&v(&["ALL"]), &[], false, bnd).unwrap(), bnd);
    }

    #[test]
    fn unknown_names_are_mobys_400() {
        assert_eq!(
            validate(&v(&["foo"]), &[]).unwrap_err(),
            r#"invalid CapAdd: unknown capability: "CAP_FOO""#
        );
        assert_eq!(
            validate(&[], &v(&["CAP_NOPE"])).unwrap_err(),
            r#"invalid CapDrop: unknown capability: "CAP_NOPE""#
        );
        assert!(validate(&v(&["all", "cap_bpf", "checkpoint_restore"]), &v(&["ALL"])).is_ok());
    }

    #[test]
    fn capbnd_is_parsed() {
        let s = "Name:\trdockerd\nCapPrm:\t0000000000000000\nCapBnd:\t000001fffeffffff\n";
        assert_eq!(parse_capbnd(s), Some(0x1fffeffffff));
        assert_eq!(daemon_bounding() & 1, 1, "root has CAP_CHOWN");
    }

    #[test]
    fn spec_sets_are_filled() {
        let c = spec(0xa80425fb).unwrap();
        let j = serde_json::to_value(&c).unwrap();
        assert_eq!(j["bounding"].as_array().unwrap().len(), 14);
        assert_eq!(j["effective"].as_array().unwrap().len(), 14);
        assert_eq!(j["permitted"].as_array().unwrap().len(), 14);
        assert_eq!(j["inheritable"].as_array().map(Vec::len).unwrap_or(0), 0);
        assert_eq!(j["ambient"].as_array().map(Vec::len).unwrap_or(0), 0);
        // All 41 names deserialise into oci-spec's enum.
        assert_eq!(
            spec(ALL_MASK).unwrap().bounding().as_ref().unwrap().len(),
            41
        );
    }
}
