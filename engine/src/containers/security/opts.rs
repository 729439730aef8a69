//! `HostConfig.SecurityOpt`, parsed as moby's `parseSecurityOpt` does.
//!
//! `label=…` and `apparmor=…` are accepted and ignored: this engine has no SELinux or AppArmor
//! support (and these hosts run neither), as dockerd on a host without them.

/// `seccomp=` as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeccompOpt {
    /// No option: the daemon's profile (none when privileged).
    Default,
    Unconfined,
    /// `seccomp=builtin`: the embedded default profile, explicitly.
    Builtin,
    /// The profile's JSON (the docker CLI reads the file and sends its content).
    Profile(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opts {
    pub seccomp: SeccompOpt,
    /// `no-new-privileges[=bool]`; None = the daemon's setting.
    pub no_new_privileges: Option<bool>,
    /// `systempaths=unconfined`: no masked or read-only paths.
    pub systempaths_unconfined: bool,
}

/// Go's `strconv.ParseBool`.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

pub fn parse(list: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        seccomp: SeccompOpt::Default,
        no_new_privileges: None,
        systempaths_unconfined: false,
    };
    for opt in list {
        if opt == "no-new-privileges" {
            o.no_new_privileges = Some(true);
            continue;
        }
        if opt == "disable" {
            continue;
        }
        // `=` first: a profile's JSON is full of `:`.
        let kv = opt.split_once('=').or_else(|| opt.split_once(':'));
        let Some((k, v)) = kv else {
            return Err(format!("invalid --security-opt 1: {opt:?}"));
        };
        let bad = || format!("invalid --security-opt 2: {opt:?}");
        match k {
            "label" | "apparmor" => {}
            "seccomp" => {
                o.seccomp = match v {
                    "unconfined" => SeccompOpt::Unconfined,
                    "builtin" => SeccompOpt::Builtin,
                    json => SeccompOpt::Profile(json.to_string()),
                }
            }
            "no-new-privileges" => o.no_new_privileges = Some(parse_bool(v).ok_or_else(bad)?),
            "systempaths" if v == "unconfined" => o.systempaths_unconfined = true,
            _ => return Err(bad()),
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &[&str]) -> Result<Opts, String> {
        parse(&s.iter().map(|x| x.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn forms_docker_accepts() {
        let o = p(&["seccomp=unconfined", "no-new-privileges"]).unwrap();
        assert_eq!(o.seccomp, SeccompOpt::Unconfined);
        assert_eq!(o.no_new_privileges, Some(true));
        let o = p(&["seccomp:unconfined", "no-new-privileges:false"]).unwrap();
        assert_eq!(o.seccomp, SeccompOpt::Unconfined);
        assert_eq!(o.no_new_privileges, Some(false));
        let o = p(&[
            "no-new-privileges=true",
            r#"seccomp={"defaultAction":"SCMP_ACT_ALLOW"}"#,
        ]);
        let o = o.unwrap();
        assert_eq!(o.no_new_privileges, Some(true));
        assert_eq!(
            o.seccomp,
            SeccompOpt::Profile(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#.into())
        );
        let o = p(&[
            "label=disable",
            "apparmor=unconfined",
            "systempaths=unconfined",
        ])
        .unwrap();
        assert!(o.systempaths_unconfined);
        assert_eq!(o.seccomp, SeccompOpt::Default);
        assert_eq!(o.no_new_privileges, None);
    }

    #[test]
    fn bad_options_are_mobys_errors() {
        assert_eq!(
            p(&["foo"]).unwrap_err(),
            r#"invalid --security-opt 1: "foo""#
        );
        assert_eq!(
            p(&["foo=bar"]).unwrap_err(),
            r#"invalid --security-opt 2: "foo=bar""#
        );
        assert_eq!(
            p(&["no-new-privileges=maybe"]).unwrap_err(),
            r#"invalid --security-opt 2: "no-new-privileges=maybe""#
        );
        assert!(p(&["systempaths=confined"]).is_err());
    }
}
