//! `rdocker version`: docker's Client and Server sections, aligned by a tabwriter
//! (minwidth 20, padding 1) exactly as docker's default template is.

use anyhow::Result;
use clap::Args;
use serde_json::Value;

use super::{check_args, Arity, Ctx};
use crate::client::{api_path, API_VERSION};
use crate::format::TabWriter;

#[derive(Args, Debug, Default)]
pub struct VersionArgs {
    #[arg(hide = true)]
    pub args: Vec<String>,
}

/// Go's GOOS/GOARCH names, which docker prints and users grep for.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

pub fn client_section() -> String {
    format!(
        "Client:\n Version:\t{}\n API version:\t{API_VERSION}\n OS/Arch:\t{}/{}\n Context:\tdefault\n",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        go_arch()
    )
}

pub fn run(ctx: &Ctx, a: VersionArgs) -> Result<()> {
    check_args(&a.args, Arity::Exactly(0), "rdocker version")?;
    // Like docker: the client half prints even when the daemon cannot be reached.
    let server = ctx.client.get_json::<Value>(&api_path("/version"));
    let mut text = client_section();
    if let Ok(v) = &server {
        text.push('\n');
        text.push_str(&server_section(v));
    }
    let mut t = TabWriter::new(20, 1);
    t.text(&text);
    print!("{}", t.render());
    server.map(|_| ())
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn detail(d: &Value, key: &str) -> String {
    match d.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// The server part of docker's template; an engine without `Components` is shown as a
/// single Engine component built from the top-level fields (docker does the same).
pub fn server_section(v: &Value) -> String {
    let platform = v
        .get("Platform")
        .map(|p| s(p, "Name"))
        .filter(|n| !n.is_empty());
    let mut out = match platform {
        Some(n) => format!("Server: {n}\n"),
        None => "Server:\n".to_string(),
    };
    let top_engine = serde_json::json!({
        "Name": "Engine",
        "Version": s(v, "Version"),
        "Details": {
            "ApiVersion": s(v, "ApiVersion"), "MinAPIVersion": s(v, "MinAPIVersion"),
            "GitCommit": s(v, "GitCommit"), "GoVersion": s(v, "GoVersion"),
            "Os": s(v, "Os"), "Arch": s(v, "Arch"), "BuildTime": s(v, "BuildTime"),
            "Experimental": v.get("Experimental").and_then(Value::as_bool).unwrap_or(false).to_string(),
        }
    });
    let components = match v.get("Components").and_then(Value::as_array) {
        Some(c) if !c.is_empty() => c.clone(),
        _ => vec![top_engine],
    };
    for c in &components {
        let name = s(c, "Name");
        let empty = Value::Null;
        let d = c.get("Details").unwrap_or(&empty);
        out.push_str(&format!(" {name}:\n  Version:\t{}\n", s(c, "Version")));
        if name == "Engine" {
            out.push_str(&format!(
                "  API version:\t{} (minimum version {})\n",
                detail(d, "ApiVersion"),
                detail(d, "MinAPIVersion")
            ));
            for (label, key) in [
                ("Go version", "GoVersion"),
                ("Git commit", "GitCommit"),
                ("Built", "BuildTime"),
            ] {
                // Printed even when empty, as docker's template does.
                out.push_str(&format!("  {label}:\t{}\n", detail(d, key)));
            }
            out.push_str(&format!(
                "  OS/Arch:\t{}/{}\n  Experimental:\t{}\n",
                detail(d, "Os"),
                detail(d, "Arch"),
                detail(d, "Experimental")
            ));
        } else if let Some(m) = d.as_object() {
            // serde_json's Map iterates in key order: docker's getDetailsOrder sorts too.
            for k in m.keys() {
                out.push_str(&format!("  {k}:\t{}\n", detail(d, k)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_like_docker() {
        let v = serde_json::json!({
            "Platform": {"Name": "rdocker Engine"},
            "Components": [
                {"Name": "Engine", "Version": "0.1.0", "Details": {"ApiVersion": "1.44",
                 "MinAPIVersion": "1.24", "Os": "linux", "Arch": "amd64", "Experimental": "false"}},
                {"Name": "rdocker-shim", "Version": "0.1.0", "Details": {"GitCommit": "abc"}}
            ],
            "Version": "0.1.0"
        });
        let mut t = TabWriter::new(20, 1);
        t.text(&format!("{}\n{}", client_section(), server_section(&v)));
        let out = t.render();
        assert!(out.starts_with("Client:\n Version:           0.1.0\n API version:       1.44\n"));
        assert!(out.contains(
            "\nServer: rdocker Engine\n Engine:\n  Version:          0.1.0\n  API version:      1.44 (minimum version 1.24)\n  Go version:       \n  Git commit:       \n  Built:            \n  OS/Arch:          linux/amd64\n  Experimental:     false\n rdocker-shim:\n  Version:          0.1.0\n  GitCommit:        abc\n"
        ), "{out}");
        let bare = server_section(
            &serde_json::json!({"Version": "1", "ApiVersion": "1.44", "Os": "linux", "Arch": "amd64"}),
        );
        assert!(bare.starts_with(
            "Server:\n Engine:\n  Version:\t1\n  API version:\t1.44 (minimum version )\n"
        ));
    }
}
