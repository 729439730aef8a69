//! Device cgroup rules: docker's `--device-cgroup-rule` syntax and the v1 file syntax.

use std::fmt;

use crate::{CgroupError, DeviceRule};

impl DeviceRule {
    pub(crate) fn parse_impl(s: &str, allow: bool) -> Result<DeviceRule, CgroupError> {
        let bad = || CgroupError::Invalid(format!("invalid device cgroup format '{s}'"));
        if s == "a" {
            return Ok(DeviceRule {
                allow,
                kind: 'a',
                major: None,
                minor: None,
                access: "rwm".to_string(),
            });
        }
        // Docker's regex: ^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$
        let parts: Vec<&str> = s.split(' ').collect();
        let [kind, numbers, access] = parts.as_slice() else {
            return Err(bad());
        };
        let kind = match *kind {
            "a" => 'a',
            "b" => 'b',
            "c" => 'c',
            _ => return Err(bad()),
        };
        let (major, minor) = numbers.split_once(':').ok_or_else(bad)?;
        let num = |n: &str| -> Result<Option<i64>, CgroupError> {
            if n == "*" {
                Ok(None)
            } else if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
                n.parse::<i64>().map(Some).map_err(|_| bad())
            } else {
                Err(bad())
            }
        };
        let (major, minor) = (num(major)?, num(minor)?);
        if access.is_empty() || access.len() > 3 || !access.bytes().all(|b| b"rwm".contains(&b)) {
            return Err(bad());
        }
        Ok(DeviceRule {
            allow,
            kind,
            major,
            minor,
            access: access.to_string(),
        })
    }

    pub(crate) fn has(&self, c: char) -> bool {
        self.access.contains(c)
    }
}

impl fmt::Display for DeviceRule {
    /// The v1 `devices.allow` / `devices.deny` line, e.g. `c 1:3 rwm`, `a *:* rwm`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = |v: Option<i64>| v.map_or_else(|| "*".to_string(), |v| v.to_string());
        write!(
            f,
            "{} {}:{} {}",
            self.kind,
            n(self.major),
            n(self.minor),
            self.access
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_syntax() {
        let r = DeviceRule::parse("c 1:3 rwm", true).unwrap();
        assert_eq!(
            r,
            DeviceRule {
                allow: true,
                kind: 'c',
                major: Some(1),
                minor: Some(3),
                access: "rwm".into()
            }
        );
        assert_eq!(r.to_string(), "c 1:3 rwm");
        let r = DeviceRule::parse("b *:* m", false).unwrap();
        assert_eq!((r.major, r.minor, r.allow), (None, None, false));
        assert_eq!(r.to_string(), "b *:* m");
        assert_eq!(
            DeviceRule::parse("a", true).unwrap().to_string(),
            "a *:* rwm"
        );
        assert_eq!(
            DeviceRule::parse("c 136:* rw", true).unwrap().to_string(),
            "c 136:* rw"
        );
    }

    #[test]
    fn refuses_bad_rules() {
        for s in [
            "",
            "x 1:3 rwm",
            "c 1:3",
            "c 1:3 rwx",
            "c 1:3 rwmr",
            "c a:3 r",
            "c 1: r",
            "c 1:3  r",
            "c -1:3 r",
            "c 1:3 r ",
            "b",
            "c *:* ",
        ] {
            let e = DeviceRule::parse(s, true).unwrap_err();
            assert_eq!(e.to_string(), format!("invalid device cgroup format '{s}'"));
        }
    }
}
