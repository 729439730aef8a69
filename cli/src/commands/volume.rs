//! `rdocker volume create|ls|inspect|rm|prune`, with docker's flags and output.

use std::collections::BTreeMap;
use std::io::{self, Write};

use anyhow::Result;
use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::{json, Value};

use super::inspect::{InspectArgs, Scope};
use super::{check_args, confirm, filters_param, format_rows, status_err, Arity, Ctx};
use crate::client::api_path;
use crate::format::human_size;
use crate::url::{path_escape, query};

#[derive(Subcommand, Debug)]
pub enum VolumeCmd {
    /// Create a volume
    #[command(override_usage = "rdocker volume create [OPTIONS] [VOLUME]")]
    Create(CreateArgs),
    /// List volumes
    #[command(visible_alias = "list", override_usage = "rdocker volume ls [OPTIONS]")]
    Ls(LsArgs),
    /// Display detailed information on one or more volumes
    #[command(override_usage = "rdocker volume inspect [OPTIONS] VOLUME [VOLUME...]")]
    Inspect(InspectArgs),
    /// Remove one or more volumes
    #[command(
        visible_alias = "remove",
        override_usage = "rdocker volume rm [OPTIONS] VOLUME [VOLUME...]"
    )]
    Rm(RmArgs),
    /// Remove unused local volumes
    #[command(override_usage = "rdocker volume prune [OPTIONS]")]
    Prune(PruneArgs),
}

#[derive(Args, Debug, Default)]
pub struct CreateArgs {
    /// Specify volume driver name
    #[arg(short, long, default_value = "local", value_name = "string")]
    pub driver: String,
    /// Set metadata for a volume
    #[arg(long = "label", value_name = "list")]
    pub label: Vec<String>,
    /// Set driver specific options
    #[arg(short, long = "opt", value_name = "map")]
    pub opt: Vec<String>,
    /// Specify volume name
    #[arg(long, hide = true)]
    pub name: Option<String>,
    #[arg(value_name = "VOLUME")]
    pub args: Vec<String>,
}

#[derive(Args, Debug, Default)]
pub struct LsArgs {
    /// Only display volume names
    #[arg(short, long)]
    pub quiet: bool,
    /// Provide filter values (e.g. "dangling=true")
    #[arg(short, long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long, value_name = "string")]
    pub format: Option<String>,
    #[arg(hide = true)]
    pub args: Vec<String>,
}

#[derive(Args, Debug, Default)]
pub struct RmArgs {
    /// Force the removal of one or more volumes
    #[arg(short, long)]
    pub force: bool,
    #[arg(value_name = "VOLUME")]
    pub args: Vec<String>,
}

#[derive(Args, Debug, Default)]
pub struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short, long)]
    pub all: bool,
    /// Provide filter values (e.g. "label=<label>")
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    #[arg(hide = true)]
    pub args: Vec<String>,
}

pub fn run(ctx: &Ctx, cmd: VolumeCmd) -> Result<()> {
    match cmd {
        VolumeCmd::Create(a) => create(ctx, a),
        VolumeCmd::Ls(a) => ls(ctx, a),
        VolumeCmd::Inspect(a) => {
            super::inspect::run(ctx, "rdocker volume inspect", a, Scope::Volume)
        }
        VolumeCmd::Rm(a) => rm(ctx, a),
        VolumeCmd::Prune(a) => prune(ctx, a),
    }
}

fn kv_map(list: &[String]) -> BTreeMap<String, String> {
    list.iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.clone(), String::new()),
        })
        .collect()
}

fn create(ctx: &Ctx, a: CreateArgs) -> Result<()> {
    let name = "rdocker volume create";
    check_args(&a.args, Arity::AtMost(1), name)?;
    let vol_name = match (&a.name, a.args.first()) {
        (Some(n), Some(arg)) if n != arg => {
            return Err(status_err(
                1,
                "conflicting options: cannot specify a volume-name through both --name and as a positional arg",
            ))
        }
        (Some(n), _) => n.clone(),
        (None, Some(arg)) => arg.clone(),
        (None, None) => String::new(),
    };
    let body = json!({
        "Name": vol_name,
        "Driver": a.driver,
        "DriverOpts": kv_map(&a.opt),
        "Labels": kv_map(&a.label),
    });
    let path = api_path("/volumes/create");
    let v: Value = ctx
        .client
        .request("POST", &path, &[], Some(&serde_json::to_vec(&body)?))?
        .json()?;
    println!(
        "{}",
        v.get("Name").and_then(Value::as_str).unwrap_or_default()
    );
    Ok(())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct VolumeList {
    #[serde(rename = "Volumes")]
    volumes: Option<Vec<Value>>,
    #[serde(rename = "Warnings")]
    warnings: Option<Vec<String>>,
}

/// docker's sortorder.NaturalLess: digit runs compare as numbers.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, _) => return std::cmp::Ordering::Less,
            (_, None) => return std::cmp::Ordering::Greater,
            (Some(p), Some(q)) if p.is_ascii_digit() && q.is_ascii_digit() => {
                let run = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
                let (nx, ny) = (run(x), run(y));
                let tx = std::str::from_utf8(&x[..nx])
                    .unwrap_or("")
                    .trim_start_matches('0');
                let ty = std::str::from_utf8(&y[..ny])
                    .unwrap_or("")
                    .trim_start_matches('0');
                let o = tx.len().cmp(&ty.len()).then(tx.cmp(ty));
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
                x = &x[nx..];
                y = &y[ny..];
            }
            (Some(p), Some(q)) => {
                if p != q {
                    return p.cmp(q);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

fn volume_row(v: &Value) -> Value {
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let labels: Vec<String> = v
        .get("Labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, x)| format!("{k}={}", x.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let usage = v.get("UsageData");
    let num = |k: &str| usage.and_then(|u| u.get(k)).and_then(Value::as_i64);
    json!({
        "Name": s("Name"), "Driver": s("Driver"), "Scope": s("Scope"),
        "Mountpoint": s("Mountpoint"), "Labels": labels.join(","),
        "Links": num("RefCount").map_or("N/A".to_string(), |n| n.to_string()),
        "Size": num("Size").map_or("N/A".to_string(), |n| human_size(n as f64)),
        "Group": "", "Availability": "N/A", "Status": "N/A",
    })
}

fn ls(ctx: &Ctx, a: LsArgs) -> Result<()> {
    check_args(&a.args, Arity::Exactly(0), "rdocker volume ls")?;
    let mut params = Vec::new();
    if let Some(f) = filters_param(&a.filter)? {
        params.push(("filters", f));
    }
    let list: VolumeList = ctx
        .client
        .get_json(&api_path(&format!("/volumes{}", query(&params))))?;
    for w in list.warnings.iter().flatten() {
        eprintln!("{w}");
    }
    let mut rows: Vec<Value> = list.volumes.iter().flatten().map(volume_row).collect();
    rows.sort_by(|p, q| {
        natural_cmp(
            p["Name"].as_str().unwrap_or_default(),
            q["Name"].as_str().unwrap_or_default(),
        )
    });
    let format = match a.format.as_deref().filter(|f| !f.is_empty()) {
        Some("table") | None if a.quiet => "{{.Name}}",
        Some("table") | None => "table {{.Driver}}\t{{.Name}}",
        Some(f) => f,
    };
    let header = json!({
        "Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
        "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "Group": "GROUP",
        "Availability": "AVAILABILITY", "Status": "STATUS",
    });
    let out = format_rows(format, &header, &rows, "*formatter.volumeContext")?;
    let stdout = io::stdout();
    let mut lock = stdout.lock();
    lock.write_all(out.as_bytes())?;
    lock.flush()?;
    Ok(())
}

fn rm(ctx: &Ctx, a: RmArgs) -> Result<()> {
    check_args(&a.args, Arity::AtLeast(1), "rdocker volume rm")?;
    let q = if a.force { "?force=1" } else { "" };
    let mut errs = Vec::new();
    for v in &a.args {
        let path = api_path(&format!("/volumes/{}{q}", path_escape(v)));
        match ctx.client.request("DELETE", &path, &[], None) {
            Ok(_) => println!("{v}"),
            Err(e) => errs.push(format!("{e:#}")),
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(status_err(1, errs.join("\n")))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PruneReport {
    #[serde(rename = "VolumesDeleted")]
    deleted: Option<Vec<String>>,
    #[serde(rename = "SpaceReclaimed")]
    reclaimed: u64,
}

fn prune(ctx: &Ctx, a: PruneArgs) -> Result<()> {
    check_args(&a.args, Arity::Exactly(0), "rdocker volume prune")?;
    let mut filters = a.filter.clone();
    let warning = if a.all {
        filters.push("all=true".into());
        "WARNING! This will remove all local volumes not used by at least one container."
    } else {
        "WARNING! This will remove anonymous local volumes not used by at least one container."
    };
    if !a.force && !confirm(warning)? {
        return Ok(());
    }
    let mut params = Vec::new();
    if let Some(f) = filters_param(&filters)? {
        params.push(("filters", f));
    }
    let path = api_path(&format!("/volumes/prune{}", query(&params)));
    let r: PruneReport = ctx.client.request("POST", &path, &[], None)?.json()?;
    let out = super::prune::render_report(
        "Volumes",
        r.deleted.as_deref().unwrap_or_default(),
        r.reclaimed,
    );
    print!("{out}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec!["vol10", "vol2", "a", "vol1", "b01"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["a", "b01", "vol1", "vol2", "vol10"]);
    }

    #[test]
    fn row_fields() {
        let v = json!({"Name": "data", "Driver": "local", "Scope": "local",
            "Mountpoint": "/var/lib/rdocker/volumes/data/_data", "Labels": {"a": "b"}});
        let r = volume_row(&v);
        let out = format_rows(
            "table {{.Driver}}\t{{.Name}}",
            &json!({"Driver": "DRIVER", "Name": "VOLUME NAME"}),
            std::slice::from_ref(&r),
            "x",
        )
        .unwrap();
        assert_eq!(out, "DRIVER    VOLUME NAME\nlocal     data\n");
        assert_eq!(r["Labels"], "a=b");
        assert_eq!(r["Links"], "N/A");
    }
}
