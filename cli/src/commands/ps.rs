//! `rdocker ps` / `container ls`: docker's container table (formatter.ContainerContext),
//! `-q`, `--format` with Go templates, `--filter` passed to the daemon.

use std::collections::BTreeMap;
use std::io::{self, Write};

use anyhow::Result;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{check_args, filters_param, format_rows, Arity, Ctx};
use crate::client::api_path;
use crate::format::{
    created_since, ellipsis, go_time_string, human_size_prec, now_unix_f64, trunc_id,
};
use crate::portsfmt::{displayable_ports, PortEntry};
use crate::reference::Reference;
use crate::url::query;

#[derive(clap::Args, Debug, Default)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    pub all: bool,
    /// Filter output based on conditions provided
    #[arg(short, long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template ('table', 'json' or a Go template)
    #[arg(long, value_name = "string")]
    pub format: Option<String>,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long, value_name = "int", default_value_t = -1, allow_negative_numbers = true)]
    pub last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short, long)]
    pub latest: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only display container IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Display total file sizes
    #[arg(short, long)]
    pub size: bool,
    #[arg(hide = true)]
    pub args: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Port {
    #[serde(rename = "IP")]
    pub ip: Option<String>,
    #[serde(rename = "PrivatePort")]
    pub private_port: u16,
    #[serde(rename = "PublicPort")]
    pub public_port: Option<u16>,
    #[serde(rename = "Type")]
    pub typ: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MountPoint {
    #[serde(rename = "Name")]
    pub name: Option<String>,
    #[serde(rename = "Source")]
    pub source: String,
}

/// The fields of the API's ContainerSummary we show; lenient about absent ones.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Summary {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Names")]
    pub names: Option<Vec<String>>,
    #[serde(rename = "Image")]
    pub image: String,
    #[serde(rename = "ImageID")]
    pub image_id: String,
    #[serde(rename = "Command")]
    pub command: String,
    #[serde(rename = "Created")]
    pub created: i64,
    #[serde(rename = "Ports")]
    pub ports: Option<Vec<Port>>,
    #[serde(rename = "SizeRw")]
    pub size_rw: Option<i64>,
    #[serde(rename = "SizeRootFs")]
    pub size_root_fs: Option<i64>,
    #[serde(rename = "Labels")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(rename = "State")]
    pub state: String,
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "Mounts")]
    pub mounts: Option<Vec<MountPoint>>,
    #[serde(rename = "NetworkSettings")]
    pub network_settings: Option<Value>,
}

const DEFAULT_TABLE: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

pub fn run(ctx: &Ctx, name: &str, a: PsArgs) -> Result<()> {
    check_args(&a.args, Arity::Exactly(0), name)?;
    let format = resolve_format(&a);
    let mut params = Vec::new();
    if a.all {
        params.push(("all", "1".to_string()));
    }
    let limit = if a.latest && a.last == -1 { 1 } else { a.last };
    if limit > 0 {
        params.push(("limit", limit.to_string()));
    }
    if a.size || format.contains(".Size") {
        params.push(("size", "1".to_string()));
    }
    if let Some(f) = filters_param(&a.filter)? {
        params.push(("filters", f));
    }
    let list: Vec<Summary> = ctx
        .client
        .get_json(&api_path(&format!("/containers/json{}", query(&params))))?;
    let out = render(&list, &format, !a.no_trunc, now_unix_f64())?;
    let stdout = io::stdout();
    let mut lock = stdout.lock();
    lock.write_all(out.as_bytes())?;
    lock.flush()?;
    Ok(())
}

/// docker's NewContainerFormat: `-q` only replaces the default table.
fn resolve_format(a: &PsArgs) -> String {
    match a.format.as_deref().filter(|f| !f.is_empty()) {
        Some("table") | None if a.quiet => "{{.ID}}".into(),
        Some("table") | None if a.size => format!("{DEFAULT_TABLE}\t{{{{.Size}}}}"),
        Some("table") | None => DEFAULT_TABLE.into(),
        Some(f) => f.into(),
    }
}

fn header() -> Value {
    json!({
        "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
        "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS",
        "Size": "SIZE", "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS",
        "Networks": "NETWORKS", "LocalVolumes": "LOCAL VOLUMES", "Platform": "PLATFORM",
    })
}

/// docker's ContainerContext.Image: a tag-less or digest reference shown short.
fn image_column(c: &Summary, trunc: bool) -> String {
    if c.image.is_empty() {
        return "<no image>".into();
    }
    if !trunc {
        return c.image.clone();
    }
    let short = trunc_id(&c.image_id);
    if !short.is_empty() && short == trunc_id(&c.image) {
        return short;
    }
    match Reference::parse_no_default_tag(&c.image) {
        Ok(r) => match r.tag() {
            Some(t) => format!("{}:{t}", r.familiar_name()),
            None => r.familiar_name(),
        },
        Err(_) => c.image.clone(),
    }
}

/// docker's DisplayablePorts over the summary's ports.
fn ports_column(ports: &[Port]) -> String {
    let entries: Vec<PortEntry> = ports
        .iter()
        .map(|p| PortEntry {
            ip: p.ip.clone().unwrap_or_default(),
            private_port: p.private_port,
            public_port: p.public_port.unwrap_or(0),
            typ: p.typ.clone(),
        })
        .collect();
    displayable_ports(&entries)
}

fn names_column(names: &[String], trunc: bool) -> String {
    let stripped: Vec<&str> = names.iter().map(|n| n.trim_start_matches('/')).collect();
    if trunc {
        if let Some(n) = stripped.iter().find(|n| !n.contains('/')) {
            return n.to_string();
        }
    }
    stripped.join(",")
}

fn row(c: &Summary, trunc: bool, now: f64) -> Value {
    let size = {
        let rw = human_size_prec(c.size_rw.unwrap_or(0) as f64, 3);
        match c.size_root_fs.filter(|s| *s > 0) {
            Some(v) => format!("{rw} (virtual {})", human_size_prec(v as f64, 3)),
            None => rw,
        }
    };
    let labels: Vec<String> = c
        .labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mounts: Vec<String> = c
        .mounts
        .iter()
        .flatten()
        .map(|m| {
            let n = m
                .name
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or(m.source.clone());
            if trunc {
                ellipsis(&n, 15)
            } else {
                n
            }
        })
        .collect();
    let networks: Vec<String> = c
        .network_settings
        .as_ref()
        .and_then(|n| n.get("Networks"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let local_volumes = c
        .mounts
        .iter()
        .flatten()
        .filter(|m| m.name.as_deref().is_some_and(|n| !n.is_empty()))
        .count();
    let command = if trunc {
        ellipsis(&c.command, 20)
    } else {
        c.command.clone()
    };
    json!({
        "ID": if trunc { trunc_id(&c.id) } else { c.id.clone() },
        "Image": image_column(c, trunc),
        "Command": serde_json::to_string(&command).unwrap_or_default(),
        "CreatedAt": go_time_string(c.created),
        "RunningFor": created_since(c.created, now),
        "Ports": ports_column(c.ports.as_deref().unwrap_or_default()),
        "State": c.state,
        "Status": c.status,
        "Size": size,
        "Names": names_column(c.names.as_deref().unwrap_or_default(), trunc),
        "Labels": labels.join(","),
        "Mounts": mounts.join(","),
        "Networks": networks.join(","),
        "LocalVolumes": local_volumes.to_string(),
        "Platform": "",
    })
}

pub fn render(list: &[Summary], format: &str, trunc: bool, now: f64) -> Result<String> {
    let rows: Vec<Value> = list.iter().map(|c| row(c, trunc, now)).collect();
    format_rows(format, &header(), &rows, "*formatter.ContainerContext")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        Summary {
            id: "4f1c2b3a5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708".into(),
            names: Some(vec!["/quirky_name".into()]),
            image: "busybox".into(),
            image_id: "sha256:a416a98b71e224a31ee99cff8e16063554498227d2b696152a9c3e0aa65e5824"
                .into(),
            command: "sh -c 'while true; do sleep 1; done'".into(),
            created: 1_000_000,
            state: "running".into(),
            status: "Up 3 seconds".into(),
            ..Default::default()
        }
    }

    #[test]
    fn docker_table() {
        let mut exited = summary();
        exited.id = "0123456789abcdef".repeat(4);
        exited.names = Some(vec!["/done".into()]);
        exited.image = "localhost:5000/app:v1".into();
        exited.command = "echo hi".into();
        exited.status = "Exited (3) 2 minutes ago".into();
        exited.ports = Some(vec![Port {
            ip: Some("0.0.0.0".into()),
            private_port: 80,
            public_port: Some(8080),
            typ: "tcp".into(),
        }]);
        let out = render(&[summary(), exited], DEFAULT_TABLE, true, 1_000_003.0).unwrap();
        let want = [
            "CONTAINER ID   IMAGE                   COMMAND                  CREATED         STATUS                     PORTS                  NAMES",
            "4f1c2b3a5d6e   busybox                 \"sh -c 'while true; …\"   3 seconds ago   Up 3 seconds                                      quirky_name",
            "0123456789ab   localhost:5000/app:v1   \"echo hi\"                3 seconds ago   Exited (3) 2 minutes ago   0.0.0.0:8080->80/tcp   done",
        ];
        assert_eq!(out.lines().collect::<Vec<_>>(), want);
    }

    #[test]
    fn quiet_format_and_no_trunc() {
        let a = PsArgs {
            quiet: true,
            ..Default::default()
        };
        let f = resolve_format(&a);
        assert_eq!(
            render(&[summary()], &f, true, 0.0).unwrap(),
            "4f1c2b3a5d6e\n"
        );
        assert_eq!(
            render(&[summary()], &f, false, 0.0).unwrap(),
            format!("{}\n", summary().id)
        );
        let a = PsArgs {
            quiet: true,
            format: Some("{{.Names}} {{.State}}".into()),
            ..Default::default()
        };
        assert_eq!(
            render(&[summary()], &resolve_format(&a), true, 0.0).unwrap(),
            "quirky_name running\n"
        );
        let a = PsArgs {
            size: true,
            ..Default::default()
        };
        assert!(resolve_format(&a).ends_with("\t{{.Size}}"));
        let out = render(&[summary()], "{{.Command}}|{{.Size}}", false, 0.0).unwrap();
        assert_eq!(out, "\"sh -c 'while true; do sleep 1; done'\"|0B\n");
    }
}
