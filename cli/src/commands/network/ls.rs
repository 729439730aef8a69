//! `rdocker network ls`: docker's network table (cli/command/network/formatter.go),
//! sorted by name in natural order, `-q`, `--no-trunc`, `--filter`, `--format`.

use std::io::{self, Write};

use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};

use super::super::volume::natural_cmp;
use super::super::{check_args, filters_param, format_rows, Arity, Ctx};
use crate::client::api_path;
use crate::format::trunc_id;
use crate::url::query;

#[derive(Args, Debug, Default)]
pub struct LsArgs {
    /// Provide filter values (e.g. "driver=bridge")
    #[arg(short, long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template ('table', 'json' or a Go template)
    #[arg(long, value_name = "string")]
    pub format: Option<String>,
    /// Do not truncate the output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only display network IDs
    #[arg(short, long)]
    pub quiet: bool,
    #[arg(hide = true)]
    pub args: Vec<String>,
}

const DEFAULT_TABLE: &str = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";

/// docker's newFormat for networks.
pub fn resolve_format(format: Option<&str>, quiet: bool) -> String {
    match format.filter(|f| !f.is_empty()).unwrap_or("table") {
        "table" if quiet => "{{.ID}}".into(),
        "table" => DEFAULT_TABLE.into(),
        "raw" if quiet => "network_id: {{.ID}}".into(),
        "raw" => {
            "network_id: {{.ID}}\\nname: {{.Name}}\\ndriver: {{.Driver}}\\nscope: {{.Scope}}\\n"
                .into()
        }
        f => f.into(),
    }
}

fn header() -> Value {
    json!({
        "ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
        "IPv4": "IPV4", "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS",
        "CreatedAt": "CREATED AT",
    })
}

/// Go's time.Time.String() of an RFC 3339 timestamp as the API sends it
/// (`2026-11-29T21:50:00.5Z` → `2026-11-29 21:50:00.5 +0000 UTC`).
pub fn go_time(rfc3339: &str) -> String {
    let Some((date, rest)) = rfc3339.split_once('T') else {
        return rfc3339.to_string();
    };
    let (clock, zone) = match rest.strip_suffix('Z') {
        Some(c) => (c, "+0000 UTC".to_string()),
        None => match rest.rfind(['+', '-']) {
            Some(i) => {
                let off = rest[i..].replace(':', "");
                (&rest[..i], format!("{off} {off}"))
            }
            None => (rest, "+0000 UTC".to_string()),
        },
    };
    // Go prints the fraction without trailing zeros, and none when it is zero.
    let clock = match clock.split_once('.') {
        Some((hms, frac)) => {
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                hms.to_string()
            } else {
                format!("{hms}.{frac}")
            }
        }
        None => clock.to_string(),
    };
    format!("{date} {clock} {zone}")
}

/// One network as docker's networkContext shows it.
pub fn row(n: &Value, trunc: bool) -> Value {
    let s = |k: &str| n.get(k).and_then(Value::as_str).unwrap_or_default();
    let b = |k: &str| n.get(k).and_then(Value::as_bool);
    let mut labels: Vec<String> = n
        .get("Labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    labels.sort();
    let id = if trunc {
        trunc_id(s("Id"))
    } else {
        s("Id").to_string()
    };
    json!({
        "ID": id,
        "Name": s("Name"),
        "Driver": s("Driver"),
        "Scope": s("Scope"),
        // As docker: an absent EnableIPv4 (daemons before API 1.47) shows as false.
        "IPv4": b("EnableIPv4").unwrap_or(false).to_string(),
        "IPv6": b("EnableIPv6").unwrap_or(false).to_string(),
        "Internal": b("Internal").unwrap_or(false).to_string(),
        "Labels": labels.join(","),
        "CreatedAt": go_time(s("Created")),
    })
}

pub fn render(list: &[Value], format: &str, trunc: bool) -> Result<String> {
    let mut sorted: Vec<&Value> = list.iter().collect();
    let name = |v: &Value| {
        v.get("Name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    sorted.sort_by(|a, b| natural_cmp(&name(a), &name(b)));
    let rows: Vec<Value> = sorted.into_iter().map(|n| row(n, trunc)).collect();
    format_rows(format, &header(), &rows, "*network.networkContext")
}

pub fn run(ctx: &Ctx, name: &str, a: LsArgs) -> Result<()> {
    check_args(&a.args, Arity::Exactly(0), name)?;
    let mut params = Vec::new();
    if let Some(f) = filters_param(&a.filter)? {
        params.push(("filters", f));
    }
    let list: Vec<Value> = ctx
        .client
        .get_json(&api_path(&format!("/networks{}", query(&params))))?;
    let format = resolve_format(a.format.as_deref(), a.quiet);
    let out = render(&list, &format, !a.no_trunc)?;
    let stdout = io::stdout();
    let mut lock = stdout.lock();
    lock.write_all(out.as_bytes())?;
    lock.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets() -> Vec<Value> {
        vec![
            json!({"Name": "net10", "Id": "b".repeat(64), "Driver": "bridge", "Scope": "local",
                "Created": "2026-11-29T21:50:00.120000000Z", "Labels": {"z": "1", "a": "2"}}),
            json!({"Name": "bridge", "Id": "a".repeat(64), "Driver": "bridge", "Scope": "local",
                "Created": "2026-11-29T21:00:00Z", "Internal": false, "EnableIPv6": false}),
            json!({"Name": "net9", "Id": "c".repeat(64), "Driver": "bridge", "Scope": "local",
                "Internal": true}),
        ]
    }

    #[test]
    fn table() {
        let out = render(&nets(), DEFAULT_TABLE, true).unwrap();
        assert_eq!(
            out,
            "NETWORK ID     NAME      DRIVER    SCOPE\n\
             aaaaaaaaaaaa   bridge    bridge    local\n\
             cccccccccccc   net9      bridge    local\n\
             bbbbbbbbbbbb   net10     bridge    local\n"
        );
        let q = resolve_format(None, true);
        assert_eq!(
            render(&nets(), &q, false).unwrap(),
            format!(
                "{}\n{}\n{}\n",
                "a".repeat(64),
                "c".repeat(64),
                "b".repeat(64)
            )
        );
    }

    #[test]
    fn fields() {
        let out = render(
            &nets(),
            "{{.Name}} {{.Internal}} {{.IPv4}} {{.IPv6}} {{.Labels}} {{.CreatedAt}}",
            true,
        )
        .unwrap();
        assert_eq!(
            out,
            "bridge false false false  2026-11-29 21:00:00 +0000 UTC\n\
             net9 true false false  \n\
             net10 false false false a=2,z=1 2026-11-29 21:50:00.12 +0000 UTC\n"
        );
        assert_eq!(
            go_time("2026-01-02T03:04:05.5+01:00"),
            "2026-01-02 03:04:05.5 +0100 +0100"
        );
    }
}
