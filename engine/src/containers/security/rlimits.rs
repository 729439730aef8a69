//! `process.rlimits`: `HostConfig.Ulimits` over the daemon's `default-ulimits` (moby's
//! `WithRlimits`), checked at create against the daemon's own hard limits: raising a hard limit
//! needs CAP_SYS_RESOURCE, which some hosts withhold, and EPERM at start says nothing useful.

use bollard_stubs::models::ResourcesUlimits;
use oci_spec::runtime::{PosixRlimit, PosixRlimitBuilder, PosixRlimitType};
use rustix::process::Resource;

/// go-units' names (`docker run --ulimit`), with the resource each sets.
const NAMES: [(&str, Resource); 15] = [
    ("core", Resource::Core),
    ("cpu", Resource::Cpu),
    ("data", Resource::Data),
    ("fsize", Resource::Fsize),
    ("locks", Resource::Locks),
    ("memlock", Resource::Memlock),
    ("msgqueue", Resource::Msgqueue),
    ("nice", Resource::Nice),
    ("nofile", Resource::Nofile),
    ("nproc", Resource::Nproc),
    ("rss", Resource::Rss),
    ("rtprio", Resource::Rtprio),
    ("rttime", Resource::Rttime),
    ("sigpending", Resource::Sigpending),
    ("stack", Resource::Stack),
];

/// One limit, docker's units (-1 = unlimited).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ulimit {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Soft")]
    pub soft: i64,
    #[serde(rename = "Hard")]
    pub hard: i64,
}

impl Ulimit {
    /// go-units' `ParseUlimit`: `name=soft[:hard]`.
    pub fn parse(s: &str) -> Result<Ulimit, String> {
        let (name, vals) = s
            .split_once('=')
            .ok_or_else(|| format!("invalid ulimit argument: {s}"))?;
        resource(name)?;
        let num = |v: &str| {
            v.parse::<i64>()
                .map_err(|e| format!("invalid ulimit argument: {s}: {e}"))
        };
        let (soft, hard) = match vals.split_once(':') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(vals)?, num(vals)?),
        };
        let u = Ulimit {
            name: name.to_string(),
            soft,
            hard,
        };
        u.check_order()?;
        Ok(u)
    }

    fn check_order(&self) -> Result<(), String> {
        if self.hard >= 0 && (self.soft < 0 || self.soft > self.hard) {
            return Err(format!(
                "ulimit soft limit must be less than or equal to hard limit: {} > {}",
                self.soft, self.hard
            ));
        }
        Ok(())
    }
}

fn resource(name: &str) -> Result<Resource, String> {
    NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, r)| *r)
        .ok_or_else(|| format!("invalid ulimit type: {name}"))
}

fn rlim(v: i64) -> u64 {
    if v < 0 {
        u64::MAX
    } else {
        v as u64
    }
}

/// The daemon's own hard limit for `name` (None = unlimited or unknown).
fn daemon_hard(r: Resource) -> Option<u64> {
    rustix::process::getrlimit(r).maximum
}

fn from_api(u: &ResourcesUlimits) -> Result<Ulimit, String> {
    let name = u.name.clone().unwrap_or_default();
    resource(&name)?;
    let soft = u.soft.unwrap_or(0);
    let u = Ulimit {
        name,
        soft,
        hard: u.hard.unwrap_or(soft),
    };
    u.check_order()?;
    Ok(u)
}

/// The container's limits: its own, then the daemon's defaults for the names it left out.
pub fn merged(given: &[ResourcesUlimits], defaults: &[Ulimit]) -> Result<Vec<Ulimit>, String> {
    let mut out = given.iter().map(from_api).collect::<Result<Vec<_>, _>>()?;
    for d in defaults {
        if !out.iter().any(|u| u.name == d.name) {
            out.push(d.clone());
        }
    }
    Ok(out)
}

/// Whether the daemon (and so the shim) may raise hard limits.
fn can_raise() -> bool {
    let cap_sys_resource = 1u64 << 24;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|eff| eff & cap_sys_resource != 0)
}

/// Create-time check: names, order, and (without CAP_SYS_RESOURCE) no hard limit above what
/// the daemon itself has.
pub fn validate(given: &[ResourcesUlimits], defaults: &[Ulimit]) -> Result<(), String> {
    let raise = can_raise();
    for u in merged(given, defaults)? {
        let r = resource(&u.name)?;
        if raise {
            continue;
        }
        if let Some(max) = daemon_hard(r) {
            if rlim(u.hard) > max {
                return Err(format!(
                    "ulimit {}: hard limit {} is above the daemon's own hard limit {max} \
                     (raising it needs CAP_SYS_RESOURCE, which this host does not grant)",
                    u.name,
                    if u.hard < 0 {
                        "unlimited".to_string()
                    } else {
                        u.hard.to_string()
                    },
                ));
            }
        }
    }
    Ok(())
}

pub fn spec(limits: &[Ulimit]) -> Result<Vec<PosixRlimit>, oci_spec::OciSpecError> {
    limits
        .iter()
        .filter_map(|u| {
            let typ: PosixRlimitType = serde_json::from_value(serde_json::Value::String(format!(
                "RLIMIT_{}",
                u.name.to_uppercase()
            )))
            .ok()?;
            Some(
                PosixRlimitBuilder::default()
                    .typ(typ)
                    .soft(rlim(u.soft))
                    .hard(rlim(u.hard))
                    .build(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(name: &str, soft: i64, hard: i64) -> ResourcesUlimits {
        ResourcesUlimits {
            name: Some(name.into()),
            soft: Some(soft),
            hard: Some(hard),
        }
    }

    #[test]
    fn parse_flag_values() {
        assert_eq!(
            Ulimit::parse("nofile=1024:2048").unwrap(),
            Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: 2048
            }
        );
        assert_eq!(Ulimit::parse("nproc=50").unwrap().hard, 50);
        assert_eq!(
            Ulimit::parse("foo=1").unwrap_err(),
            "invalid ulimit type: foo"
        );
        assert_eq!(
            Ulimit::parse("nofile=10:5").unwrap_err(),
            "ulimit soft limit must be less than or equal to hard limit: 10 > 5"
        );
    }

    #[test]
    fn container_limits_win_over_defaults() {
        let defaults = vec![
            Ulimit::parse("nofile=100:200").unwrap(),
            Ulimit::parse("core=0").unwrap(),
        ];
        let m = merged(&[api("nofile", 10, 20)], &defaults).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].soft, m[0].hard), (10, 20));
        assert_eq!(m[1].name, "core");
        let j = serde_json::to_value(spec(&m).unwrap()).unwrap();
        assert_eq!(j[0]["type"], "RLIMIT_NOFILE");
        assert_eq!(
            (j[0]["soft"].as_u64(), j[0]["hard"].as_u64()),
            (Some(10), Some(20))
        );
        assert_eq!(j[1]["type"], "RLIMIT_CORE");
    }

    #[test]
    fn above_the_daemons_hard_limit_is_refused() {
        let max = daemon_hard(Resource::Nofile).expect("nofile has a hard limit");
        let over = api("nofile", 1, max as i64 + 1);
        if can_raise() {
            // A host that grants CAP_SYS_RESOURCE: the runtime may raise the limit.
            assert!(validate(&[over], &[]).is_ok());
            return;
        }
        let err = validate(&[over], &[]).unwrap_err();
        assert!(
            err.starts_with(&format!("ulimit nofile: hard limit {} ", max + 1)),
            "{err}"
        );
        assert!(err.contains(&max.to_string()));
        assert!(validate(&[api("nofile", 1, max as i64)], &[]).is_ok());
        assert_eq!(
            validate(&[api("bogus", 1, 1)], &[]).unwrap_err(),
            "invalid ulimit type: bogus"
        );
    }
}
