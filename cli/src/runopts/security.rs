//! `run`/`create` security flags into HostConfig: capabilities, `--security-opt` (a
//! seccomp profile file is read and sent inline, as docker's CLI does), `--sysctl`,
//! `--userns`.

use std::collections::HashMap;

use bollard_stubs::models::HostConfig;
use clap::Args;

use super::{flag_err, plain, OptsError};

#[derive(Args, Debug, Default, Clone)]
pub struct SecurityOpts {
    /// Add Linux capabilities
    #[arg(long = "cap-add", value_name = "list")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop", value_name = "list")]
    pub cap_drop: Vec<String>,
    /// Security Options
    #[arg(long = "security-opt", value_name = "list")]
    pub security_opt: Vec<String>,
    /// Sysctl options
    #[arg(long, value_name = "map")]
    pub sysctl: Vec<String>,
    /// User namespace to use
    #[arg(long, value_name = "string")]
    pub userns: Option<String>,
}

impl SecurityOpts {
    pub fn apply(&self, host: &mut HostConfig) -> Result<(), OptsError> {
        let some = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        host.cap_add = some(&self.cap_add);
        host.cap_drop = some(&self.cap_drop);
        let mut sysctls = HashMap::new();
        for s in &self.sysctl {
            validate_sysctl(s).map_err(|e| flag_err("--sysctl", s, e))?;
            let (k, v) = s.split_once('=').unwrap_or((s, ""));
            sysctls.insert(k.to_string(), v.to_string());
        }
        if !sysctls.is_empty() {
            host.sysctls = Some(sysctls);
        }
        match self.userns.as_deref() {
            None | Some("") => {}
            Some(m) if m == "host" || m == "private" => host.userns_mode = Some(m.into()),
            Some(_) => return Err(plain("--userns: invalid USER mode")),
        }
        let opts = parse_security_opts(&self.security_opt).map_err(plain)?;
        // As docker's parseSystemPaths: handled here, not by the daemon, as empty lists.
        let (unconfined, opts): (Vec<String>, Vec<String>) = opts
            .into_iter()
            .partition(|o| o == "systempaths=unconfined");
        if !unconfined.is_empty() {
            host.masked_paths = Some(Vec::new());
            host.readonly_paths = Some(Vec::new());
        }
        if !opts.is_empty() {
            host.security_opt = Some(opts);
        }
        Ok(())
    }
}

/// docker's opts.ValidateSysctl: only the namespaced keys a container may set.
fn validate_sysctl(val: &str) -> Result<(), String> {
    const KEYS: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let not_allowed = || format!("sysctl '{val}' is not allowed");
    let Some((key, _)) = val.split_once('=') else {
        return Err(not_allowed());
    };
    if KEYS.contains(&key) || key.starts_with("net.") || key.starts_with("fs.mqueue.") {
        Ok(())
    } else {
        Err(not_allowed())
    }
}

/// docker's parseSecurityOpts: every option but `no-new-privileges` needs a value
/// (`k=v`, or the old `k:v`); `seccomp=<file>` becomes `seccomp=<compacted JSON>`.
pub fn parse_security_opts(opts: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(opts.len());
    for opt in opts {
        let mut kv = opt.split_once('=');
        if kv.is_none() && opt != "no-new-privileges" {
            kv = opt.split_once(':');
        }
        let (k, v) = kv.unwrap_or((opt, ""));
        if v.is_empty() && k != "no-new-privileges" {
            return Err(format!("Invalid --security-opt: {opt:?}"));
        }
        if k == "seccomp" && v != "builtin" && v != "unconfined" {
            let data = std::fs::read(v).map_err(|e| {
                format!(
                    "opening seccomp profile ({v}) failed: {}",
                    go_file_error(v, &e)
                )
            })?;
            let json = compact_json(&data)
                .map_err(|e| format!("compacting json for seccomp profile ({v}) failed: {e}"))?;
            out.push(format!("seccomp={json}"));
            continue;
        }
        out.push(opt.clone());
    }
    Ok(out)
}

/// The text of Go's *PathError for a failed os.ReadFile.
fn go_file_error(path: &str, e: &std::io::Error) -> String {
    let (op, why) = match e.raw_os_error() {
        Some(libc::ENOENT) => ("open", "no such file or directory".to_string()),
        Some(libc::EACCES) => ("open", "permission denied".to_string()),
        Some(libc::ENOTDIR) => ("open", "not a directory".to_string()),
        Some(libc::EISDIR) => ("read", "is a directory".to_string()),
        _ => {
            let s = e.to_string();
            let s = s.split(" (os error").next().unwrap_or(&s).to_lowercase();
            ("open", s)
        }
    };
    format!("{op} {path}: {why}")
}

/// encoding/json's wording for the commonest faults; serde's otherwise.
fn go_json_error(data: &[u8], e: &serde_json::Error) -> String {
    if e.is_eof() {
        return "unexpected end of JSON input".into();
    }
    // serde reports a 1-based line and column (in bytes) of the offending character.
    let offset = data
        .split(|&b| b == b'\n')
        .take(e.line().saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum::<usize>()
        + e.column().saturating_sub(1);
    let msg = e.to_string();
    match data.get(offset) {
        Some(&c) if msg.starts_with("expected value") && c.is_ascii_graphic() => {
            format!(
                "invalid character '{}' looking for beginning of value",
                c as char
            )
        }
        _ => msg,
    }
}

/// Go's json.Compact: validates, then drops the insignificant white space (nothing
/// else changes, so the daemon sees the file's own key order and escapes).
fn compact_json(data: &[u8]) -> Result<String, String> {
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(data) {
        return Err(go_json_error(data, &e));
    }
    let mut out = Vec::with_capacity(data.len());
    let (mut in_str, mut escaped) = (false, false);
    for &b in data {
        if in_str {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_str = false;
            }
        } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            in_str = b == b'"';
            out.push(b);
        }
    }
    String::from_utf8(out).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn seccomp_profile_is_sent_inline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("profile.json");
        std::fs::write(
            &p,
            "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [ {\"names\": [\"a b\", \"q\\\"x\"], \"action\": \"SCMP_ACT_ERRNO\"} ]\n}\n",
        )
        .unwrap();
        let p = p.to_string_lossy().to_string();
        let got = parse_security_opts(&strs(&[
            &format!("seccomp={p}"),
            "no-new-privileges",
            "label=disable",
            "apparmor=unconfined",
        ]))
        .unwrap();
        assert_eq!(
            got,
            strs(&[
                "seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"a b\",\"q\\\"x\"],\"action\":\"SCMP_ACT_ERRNO\"}]}",
                "no-new-privileges",
                "label=disable",
                "apparmor=unconfined",
            ])
        );
        // The inlined profile is the file's JSON, intact.
        let inline = got[0].strip_prefix("seccomp=").unwrap();
        let v: serde_json::Value = serde_json::from_str(inline).unwrap();
        assert_eq!(v["syscalls"][0]["names"][0], "a b");

        assert_eq!(
            parse_security_opts(&strs(&["seccomp=unconfined", "seccomp:builtin"])).unwrap(),
            strs(&["seccomp=unconfined", "seccomp:builtin"])
        );
        assert_eq!(
            parse_security_opts(&strs(&["seccomp=/nonexistent/x.json"])).unwrap_err(),
            "opening seccomp profile (/nonexistent/x.json) failed: open /nonexistent/x.json: no such file or directory"
        );
        let bad2 = dir.path().join("bad2.json");
        std::fs::write(&bad2, "{\n\"a\": x}").unwrap();
        let bad2 = bad2.to_string_lossy().to_string();
        assert_eq!(
            parse_security_opts(&strs(&[&format!("seccomp={bad2}")])).unwrap_err(),
            format!("compacting json for seccomp profile ({bad2}) failed: invalid character 'x' looking for beginning of value")
        );
        assert_eq!(
            parse_security_opts(&strs(&["seccomp=/"])).unwrap_err(),
            "opening seccomp profile (/) failed: read /: is a directory"
        );
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{\"a\": ").unwrap();
        let bad = bad.to_string_lossy().to_string();
        assert_eq!(
            parse_security_opts(&strs(&[&format!("seccomp={bad}")])).unwrap_err(),
            format!(
                "compacting json for seccomp profile ({bad}) failed: unexpected end of JSON input"
            )
        );
    }

    #[test]
    fn security_opt_needs_a_value() {
        assert_eq!(
            parse_security_opts(&strs(&["label"])).unwrap_err(),
            "Invalid --security-opt: \"label\""
        );
        assert_eq!(
            parse_security_opts(&strs(&["apparmor="])).unwrap_err(),
            "Invalid --security-opt: \"apparmor=\""
        );
        assert!(parse_security_opts(&strs(&["no-new-privileges=true"])).is_ok());
    }

    #[test]
    fn sysctls() {
        assert!(validate_sysctl("net.ipv4.ip_forward=1").is_ok());
        assert!(validate_sysctl("kernel.shmmax=1024").is_ok());
        assert!(validate_sysctl("fs.mqueue.msg_max=20").is_ok());
        assert_eq!(
            validate_sysctl("kernel.hostname=x").unwrap_err(),
            "sysctl 'kernel.hostname=x' is not allowed"
        );
        assert_eq!(
            validate_sysctl("net.ipv4.ip_forward").unwrap_err(),
            "sysctl 'net.ipv4.ip_forward' is not allowed"
        );
    }

    #[test]
    fn host_config_fields() {
        use clap::Parser;
        use serde_json::json;
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            s: SecurityOpts,
        }
        let parse = |a: &[&str]| {
            T::try_parse_from(std::iter::once("x").chain(a.iter().copied()))
                .unwrap()
                .s
        };
        let mut h = HostConfig::default();
        parse(&[
            "--cap-add",
            "NET_ADMIN",
            "--cap-drop",
            "ALL",
            "--cap-drop",
            "cap_chown",
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "--security-opt",
            "systempaths=unconfined",
            "--security-opt",
            "no-new-privileges",
            "--userns",
            "host",
        ])
        .apply(&mut h)
        .unwrap();
        let v = serde_json::to_value(&h).unwrap();
        assert_eq!(v["CapAdd"], json!(["NET_ADMIN"]));
        assert_eq!(v["CapDrop"], json!(["ALL", "cap_chown"]));
        assert_eq!(v["Sysctls"], json!({"net.ipv4.ip_forward": "1"}));
        assert_eq!(v["SecurityOpt"], json!(["no-new-privileges"]));
        assert_eq!(v["MaskedPaths"], json!([]));
        assert_eq!(v["ReadonlyPaths"], json!([]));
        assert_eq!(v["UsernsMode"], "host");

        let e = |a: &[&str]| {
            let mut h = HostConfig::default();
            parse(a).apply(&mut h).unwrap_err().to_string()
        };
        assert_eq!(
            e(&["--sysctl", "kernel.domainname=x"]),
            "invalid argument \"kernel.domainname=x\" for \"--sysctl\" flag: sysctl 'kernel.domainname=x' is not allowed"
        );
        assert_eq!(e(&["--userns", "bogus"]), "--userns: invalid USER mode");
    }
}
