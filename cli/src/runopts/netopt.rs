//! One `--network` value as docker's opts.NetworkOpt reads it: a network name, or the
//! long syntax `name=n,alias=a,ip=…,driver-opt=k=v`; and docker's NetworkMode test for
//! user-defined networks.

use std::collections::BTreeMap;

/// One `--network` value (docker's NetworkAttachmentOpts).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Attachment {
    pub target: String,
    pub aliases: Vec<String>,
    pub driver_opts: BTreeMap<String, String>,
    pub ipv4: Option<String>,
    pub ipv6: Option<String>,
    pub mac: Option<String>,
    pub link_local_ips: Vec<String>,
    pub gw_priority: Option<i64>,
}

/// docker's long-syntax test, the unanchored regexp `\w+=\w+(,\w+=\w+)*`: some word
/// character, `=`, word character anywhere in the value.
fn is_long_syntax(v: &str) -> bool {
    let w = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let b = v.as_bytes();
    (1..b.len().saturating_sub(1)).any(|i| b[i] == b'=' && w(b[i - 1]) && w(b[i + 1]))
}

/// opts.NetworkOpt.Set: a name, or `name=n,alias=a,ip=…,driver-opt=k=v,…`.
pub fn parse_network_opt(value: &str) -> Result<Attachment, String> {
    if !is_long_syntax(value) {
        return Ok(Attachment {
            target: value.to_string(),
            ..Default::default()
        });
    }
    let mut a = Attachment::default();
    for field in value.split(',') {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) if !k.is_empty() => (k.trim(), v.trim()),
            _ => return Err(format!("invalid field {field}")),
        };
        match key {
            "name" => a.target = val.to_string(),
            "alias" => a.aliases.push(val.to_string()),
            "ip" => a.ipv4 = Some(val.to_string()),
            "ip6" => a.ipv6 = Some(val.to_string()),
            "mac-address" => a.mac = Some(val.to_string()),
            "link-local-ip" => a.link_local_ips.push(val.to_string()),
            "driver-opt" => match val.split_once('=') {
                Some((k, v)) if !k.is_empty() => {
                    a.driver_opts.insert(k.trim().into(), v.trim().into());
                }
                _ => return Err("invalid key value pair format in driver options".into()),
            },
            "gw-priority" => {
                a.gw_priority = Some(val.parse().map_err(|_| {
                    format!(
                    "invalid gw-priority ({val}): strconv.Atoi: parsing \"{val}\": invalid syntax"
                )
                })?)
            }
            _ => return Err(format!("invalid field key {key}")),
        }
    }
    if a.target.is_empty() {
        return Err("network name/id is not specified".into());
    }
    Ok(a)
}

/// container.NetworkMode(n).IsUserDefined().
pub fn is_user_defined(mode: &str) -> bool {
    let container = mode.split_once(':').is_some_and(|(k, _)| k == "container");
    !matches!(mode, "default" | "bridge" | "host" | "none") && !container
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_syntax_detection() {
        assert!(is_long_syntax("name=a"));
        assert!(!is_long_syntax("mynet"));
        assert!(!is_long_syntax("container:x"));
        assert!(!is_long_syntax("=a"));
        assert!(is_user_defined("mynet"));
        assert!(!is_user_defined("container:x"));
        assert!(!is_user_defined("bridge"));
    }

    #[test]
    fn long_syntax_fields() {
        let a = parse_network_opt("name=n1,alias=a,alias=b,ip=10.0.0.2,driver-opt=k=v").unwrap();
        assert_eq!(a.target, "n1");
        assert_eq!(a.aliases, ["a", "b"]);
        assert_eq!(a.ipv4.as_deref(), Some("10.0.0.2"));
        assert_eq!(a.driver_opts["k"], "v");
        assert_eq!(
            parse_network_opt("alias=x").unwrap_err(),
            "network name/id is not specified"
        );
        assert_eq!(
            parse_network_opt("name=a,x").unwrap_err(),
            "invalid field x"
        );
    }
}
