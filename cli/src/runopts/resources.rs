//! `run`/`create` resource flags into HostConfig: the limits shared with `update`, and
//! `--oom-kill-disable`, `--ulimit`, `--shm-size`, `--device`, `--device-cgroup-rule`,
//! each with the parser and error text of docker's opts package.

use std::collections::BTreeMap;

use bollard_stubs::models::{DeviceMapping, HostConfig, ResourcesUlimits};
use clap::Args;

use super::limits::LimitFlags;
use super::{flag_err, plain, OptsError};
use crate::units::ram_in_bytes;

#[derive(Args, Debug, Default, Clone)]
pub struct ResourceOpts {
    #[command(flatten)]
    pub limits: LimitFlags,
    /// Add a host device to the container
    #[arg(long, value_name = "list")]
    pub device: Vec<String>,
    /// Add a rule to the cgroup allowed devices list
    #[arg(long = "device-cgroup-rule", value_name = "list")]
    pub device_cgroup_rule: Vec<String>,
    /// Disable OOM Killer
    #[arg(long = "oom-kill-disable")]
    pub oom_kill_disable: bool,
    /// Size of /dev/shm
    #[arg(long = "shm-size", value_name = "bytes")]
    pub shm_size: Option<String>,
    /// Ulimit options
    #[arg(long, value_name = "ulimit")]
    pub ulimit: Vec<String>,
}

impl ResourceOpts {
    /// Sets the resource fields of `host`; a field the user did not set stays absent,
    /// which the daemon reads as docker's zero value.
    pub fn apply(&self, host: &mut HostConfig) -> Result<(), OptsError> {
        let l = self.limits.parse()?;
        let set = |v: i64| (v != 0).then_some(v);
        host.memory = set(l.memory);
        host.memory_reservation = set(l.memory_reservation);
        host.memory_swap = set(l.memory_swap);
        host.nano_cpus = set(l.nano_cpus);
        host.cpu_shares = set(l.cpu_shares);
        host.cpu_period = set(l.cpu_period);
        host.cpu_quota = set(l.cpu_quota);
        host.pids_limit = set(l.pids_limit);
        host.blkio_weight = (l.blkio_weight != 0).then_some(l.blkio_weight);
        host.cpuset_cpus = self.limits.cpuset_cpus.clone().filter(|s| !s.is_empty());
        host.cpuset_mems = self.limits.cpuset_mems.clone().filter(|s| !s.is_empty());
        host.oom_kill_disable = self.oom_kill_disable.then_some(true);
        if let Some(s) = &self.shm_size {
            host.shm_size = Some(ram_in_bytes(s).map_err(|e| flag_err("--shm-size", s, e))?);
        }
        let mut ulimits = BTreeMap::new();
        for u in &self.ulimit {
            let parsed = parse_ulimit(u).map_err(|e| flag_err("--ulimit", u, e))?;
            ulimits.insert(parsed.name.clone().unwrap_or_default(), parsed);
        }
        if !ulimits.is_empty() {
            host.ulimits = Some(ulimits.into_values().collect());
        }
        for r in &self.device_cgroup_rule {
            if !valid_device_cgroup_rule(r) {
                return Err(flag_err(
                    "--device-cgroup-rule",
                    r,
                    format!("invalid device cgroup format '{r}'"),
                ));
            }
        }
        if !self.device_cgroup_rule.is_empty() {
            host.device_cgroup_rules = Some(self.device_cgroup_rule.clone());
        }
        let mut devices = Vec::new();
        for d in &self.device {
            devices.push(parse_device(d).map_err(plain)?);
        }
        if !devices.is_empty() {
            host.devices = Some(devices);
        }
        Ok(())
    }
}

const ULIMIT_NAMES: [&str; 15] = [
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

fn ulimit_value(s: &str) -> Result<i64, String> {
    if s == "infinity" {
        return Ok(-1);
    }
    s.parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        format!("strconv.ParseInt: parsing \"{s}\": {why}")
    })
}

/// go-units ParseUlimit: `name=soft[:hard]`, hard defaulting to soft.
pub fn parse_ulimit(val: &str) -> Result<ResourcesUlimits, String> {
    let (name, limits) = val
        .split_once('=')
        .ok_or_else(|| format!("invalid ulimit argument: {val}"))?;
    if !ULIMIT_NAMES.contains(&name) {
        return Err(format!("invalid ulimit type: {name}"));
    }
    let parts: Vec<&str> = limits.split(':').collect();
    let (soft, hard) = match parts.as_slice() {
        [s] => {
            let s = ulimit_value(s)?;
            (s, s)
        }
        [s, h] => {
            let h = ulimit_value(h)?;
            (ulimit_value(s)?, h)
        }
        _ => {
            return Err(format!(
                "too many limit value arguments - {limits}, can only have up to two, `soft[:hard]`"
            ))
        }
    };
    if hard != -1 {
        if soft == -1 {
            return Err(format!("ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: {hard}"));
        }
        if soft > hard {
            return Err(format!(
                "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
            ));
        }
    }
    Ok(ResourcesUlimits {
        name: Some(name.to_string()),
        soft: Some(soft),
        hard: Some(hard),
    })
}

/// docker's deviceCgroupRuleRegexp: `^[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}$`.
fn valid_device_cgroup_rule(r: &str) -> bool {
    let num = |s: &str| s == "*" || (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    let mut it = r.splitn(3, ' ');
    let (Some(t), Some(nums), Some(mode)) = (it.next(), it.next(), it.next()) else {
        return false;
    };
    let Some((major, minor)) = nums.split_once(':') else {
        return false;
    };
    matches!(t, "a" | "b" | "c")
        && num(major)
        && num(minor)
        && (1..=3).contains(&mode.len())
        && mode.bytes().all(|b| matches!(b, b'r' | b'w' | b'm'))
}

/// docker's validDeviceMode: a non-empty set of r, w, m, each at most once.
fn valid_device_mode(mode: &str) -> bool {
    let mut seen = [false; 3];
    !mode.is_empty()
        && mode.chars().all(|c| {
            let i = match c {
                'r' => 0,
                'w' => 1,
                'm' => 2,
                _ => return false,
            };
            !std::mem::replace(&mut seen[i], true)
        })
}

/// Go's path.Clean.
fn go_clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => match out.last() {
                Some(&l) if l != ".." => {
                    out.pop();
                }
                _ if rooted => {}
                _ => out.push(".."),
            },
            c => out.push(c),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// docker's validateLinuxPath (with validDeviceMode) then parseLinuxDevice:
/// `host[:container][:perms]`, the container path defaulting to the host's.
pub fn parse_device(val: &str) -> Result<DeviceMapping, String> {
    if val.matches(':').count() > 2 {
        return Err(format!("bad format for path: {val}"));
    }
    let split: Vec<&str> = val.splitn(3, ':').collect();
    if split[0].is_empty() {
        return Err(format!("bad format for path: {val}"));
    }
    let (container_path, validated) = match split.as_slice() {
        [p] => (*p, go_clean(p)),
        [h, m] if valid_device_mode(m) => (*h, format!("{}:{m}", go_clean(h))),
        [h, c] => (*c, format!("{h}:{}", go_clean(c))),
        [h, c, m] => {
            if !valid_device_mode(m) {
                return Err(format!("bad mode specified: {m}"));
            }
            (*c, format!("{h}:{c}:{m}"))
        }
        _ => return Err(format!("bad format for path: {val}")),
    };
    if !container_path.starts_with('/') {
        return Err(format!("{container_path} is not an absolute path"));
    }
    let arr: Vec<&str> = validated.splitn(4, ':').collect();
    let mut perms = "rwm";
    let mut dst = "";
    if let [_, second, ..] = arr.as_slice() {
        if valid_device_mode(second) {
            perms = second;
        } else {
            dst = second;
        }
    }
    if let [_, _, third] = arr.as_slice() {
        perms = third;
    }
    let src = arr[0];
    Ok(DeviceMapping {
        path_on_host: Some(src.to_string()),
        path_in_container: Some(if dst.is_empty() { src } else { dst }.to_string()),
        cgroup_permissions: Some(perms.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, to_value};

    #[test]
    fn ulimits() {
        let u = |s| to_value(parse_ulimit(s).unwrap()).unwrap();
        assert_eq!(
            u("nofile=1024:2048"),
            json!({"Name": "nofile", "Soft": 1024, "Hard": 2048})
        );
        assert_eq!(
            u("nproc=64"),
            json!({"Name": "nproc", "Soft": 64, "Hard": 64})
        );
        assert_eq!(
            u("core=0:infinity"),
            json!({"Name": "core", "Soft": 0, "Hard": -1})
        );
        let e = |s| parse_ulimit(s).unwrap_err();
        assert_eq!(e("bogus=1"), "invalid ulimit type: bogus");
        assert_eq!(e("nofile"), "invalid ulimit argument: nofile");
        assert_eq!(
            e("nofile=2048:1024"),
            "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024"
        );
        assert_eq!(
            e("nofile=infinity:10"),
            "ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: 10"
        );
        assert_eq!(
            e("nofile=1:2:3"),
            "too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`"
        );
        assert_eq!(
            e("nofile=x"),
            "strconv.ParseInt: parsing \"x\": invalid syntax"
        );
    }

    #[test]
    fn devices() {
        let d = |s| to_value(parse_device(s).unwrap()).unwrap();
        let m = |h: &str, c: &str, p: &str| json!({"PathOnHost": h, "PathInContainer": c, "CgroupPermissions": p});
        assert_eq!(d("/dev/fuse"), m("/dev/fuse", "/dev/fuse", "rwm"));
        assert_eq!(d("/dev/sda:/dev/xvdc"), m("/dev/sda", "/dev/xvdc", "rwm"));
        assert_eq!(d("/dev/sda:r"), m("/dev/sda", "/dev/sda", "r"));
        assert_eq!(d("/dev/sda:/dev/xvdc:rw"), m("/dev/sda", "/dev/xvdc", "rw"));
        assert_eq!(d("/dev//null/"), m("/dev/null", "/dev/null", "rwm"));
        let e = |s| parse_device(s).unwrap_err();
        assert_eq!(e("/a:/b:/c:rw"), "bad format for path: /a:/b:/c:rw");
        assert_eq!(e(":/b"), "bad format for path: :/b");
        assert_eq!(e("/a:/b:rx"), "bad mode specified: rx");
        assert_eq!(e("/a:/b:rr"), "bad mode specified: rr");
        assert_eq!(e("dev/sda"), "dev/sda is not an absolute path");
        assert_eq!(e("/dev/sda:xvdc"), "xvdc is not an absolute path");
    }

    #[test]
    fn cgroup_rules_and_clean() {
        assert!(valid_device_cgroup_rule("c 1:3 mr"));
        assert!(valid_device_cgroup_rule("a *:* rwm"));
        assert!(valid_device_cgroup_rule("b 8:* r"));
        assert!(!valid_device_cgroup_rule("x 1:3 r"));
        assert!(!valid_device_cgroup_rule("c 1:3 rwmr"));
        assert!(!valid_device_cgroup_rule("c 1 r"));
        assert!(!valid_device_cgroup_rule("c a:1 r"));
        assert!(!valid_device_cgroup_rule("c 1:1 r "));
        assert_eq!(go_clean("/a/../../b/./c/"), "/b/c");
        assert_eq!(go_clean("a/../.."), "..");
        assert_eq!(go_clean(""), ".");
    }

    #[test]
    fn host_config_fields() {
        use clap::Parser;
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            r: ResourceOpts,
        }
        let parse = |a: &[&str]| {
            T::try_parse_from(std::iter::once("x").chain(a.iter().copied()))
                .unwrap()
                .r
        };
        let mut h = HostConfig::default();
        parse(&[
            "-m",
            "64m",
            "--pids-limit",
            "20",
            "--cpus",
            "0.5",
            "--oom-kill-disable",
            "--shm-size",
            "1g",
            "--ulimit",
            "nofile=10:20",
            "--ulimit",
            "core=0",
            "--ulimit",
            "nofile=30:40",
            "--device",
            "/dev/null:/dev/n2:r",
            "--device-cgroup-rule",
            "c 1:3 mr",
            "--cpuset-cpus",
            "0",
        ])
        .apply(&mut h)
        .unwrap();
        let v = to_value(&h).unwrap();
        assert_eq!(v["Memory"], 64 << 20);
        assert_eq!(v["PidsLimit"], 20);
        assert_eq!(v["NanoCpus"], 500_000_000);
        assert_eq!(v["OomKillDisable"], true);
        assert_eq!(v["ShmSize"], 1 << 30);
        assert_eq!(v["CpusetCpus"], "0");
        assert_eq!(
            v["Ulimits"],
            json!([{"Name": "core", "Soft": 0, "Hard": 0}, {"Name": "nofile", "Soft": 30, "Hard": 40}])
        );
        assert_eq!(
            v["Devices"],
            json!([{"PathOnHost": "/dev/null", "PathInContainer": "/dev/n2", "CgroupPermissions": "r"}])
        );
        assert_eq!(v["DeviceCgroupRules"], json!(["c 1:3 mr"]));
        assert!(v.get("MemorySwap").is_none());
        assert!(v.get("CpuShares").is_none());

        let e = |a: &[&str]| {
            let mut h = HostConfig::default();
            parse(a).apply(&mut h).unwrap_err().to_string()
        };
        assert_eq!(
            e(&["--ulimit", "foo=1"]),
            "invalid argument \"foo=1\" for \"--ulimit\" flag: invalid ulimit type: foo"
        );
        assert_eq!(
            e(&["--ulimit", "nofile=20:10"]),
            "invalid argument \"nofile=20:10\" for \"--ulimit\" flag: ulimit soft limit must be less than or equal to hard limit: 20 > 10"
        );
        assert_eq!(
            e(&["--shm-size", "big"]),
            "invalid argument \"big\" for \"--shm-size\" flag: invalid size: 'big'"
        );
        assert_eq!(
            e(&["--device-cgroup-rule", "z"]),
            "invalid argument \"z\" for \"--device-cgroup-rule\" flag: invalid device cgroup format 'z'"
        );
        assert_eq!(e(&["--device", "sda"]), "sda is not an absolute path");
    }
}
