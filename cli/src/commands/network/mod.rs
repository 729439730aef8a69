//! `rdocker network create|ls|inspect|rm|prune|connect|disconnect`, with docker 28's
//! flags, output and errors (cli/command/network/*.go).

pub mod create;
pub mod ls;

use anyhow::Result;
use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::{json, Value};

use super::inspect::{InspectArgs, Scope};
use super::{check_args, confirm, filters_param, status_err, Arity, Ctx};
use crate::client::{api_path, ApiError};
use crate::url::{path_escape, query};

#[derive(Subcommand, Debug)]
pub enum NetworkCmd {
    /// Connect a container to a network
    #[command(override_usage = "rdocker network connect [OPTIONS] NETWORK CONTAINER")]
    Connect(ConnectArgs),
    /// Create a network
    #[command(override_usage = "rdocker network create [OPTIONS] NETWORK")]
    Create(create::CreateArgs),
    /// Disconnect a container from a network
    #[command(override_usage = "rdocker network disconnect [OPTIONS] NETWORK CONTAINER")]
    Disconnect(DisconnectArgs),
    /// Display detailed information on one or more networks
    #[command(override_usage = "rdocker network inspect [OPTIONS] NETWORK [NETWORK...]")]
    Inspect(InspectNetArgs),
    /// List networks
    #[command(
        visible_alias = "list",
        override_usage = "rdocker network ls [OPTIONS]"
    )]
    Ls(ls::LsArgs),
    /// Remove all unused networks
    #[command(override_usage = "rdocker network prune [OPTIONS]")]
    Prune(PruneArgs),
    /// Remove one or more networks
    #[command(
        visible_alias = "remove",
        override_usage = "rdocker network rm NETWORK [NETWORK...]"
    )]
    Rm(RmArgs),
}

#[derive(Args, Debug, Default)]
pub struct ConnectArgs {
    /// Add network-scoped alias for the container
    #[arg(long, value_name = "strings")]
    pub alias: Vec<String>,
    /// driver options for the network
    #[arg(long = "driver-opt", value_name = "strings")]
    pub driver_opt: Vec<String>,
    /// Highest gw-priority provides the default gateway. Accepts positive and negative values.
    #[arg(
        long = "gw-priority",
        value_name = "int",
        allow_negative_numbers = true
    )]
    pub gw_priority: Option<i64>,
    /// IPv4 address (e.g., "172.30.100.104")
    #[arg(long, value_name = "string")]
    pub ip: Option<String>,
    /// IPv6 address (e.g., "2001:db8::33")
    #[arg(long, value_name = "string")]
    pub ip6: Option<String>,
    /// Add link to another container
    #[arg(long, value_name = "list")]
    pub link: Vec<String>,
    /// Add a link-local address for the container
    #[arg(long = "link-local-ip", value_name = "strings")]
    pub link_local_ip: Vec<String>,
    #[arg(value_name = "NETWORK CONTAINER")]
    pub args: Vec<String>,
}

#[derive(Args, Debug, Default)]
pub struct InspectNetArgs {
    /// Format output using a custom template ('json' or a Go template)
    #[arg(short, long, value_name = "string")]
    pub format: Option<String>,
    /// Verbose output for diagnostics (accepted; it only adds swarm details)
    #[arg(short, long)]
    pub verbose: bool,
    #[arg(value_name = "NETWORK")]
    pub args: Vec<String>,
}

#[derive(Args, Debug, Default)]
pub struct DisconnectArgs {
    /// Force the container to disconnect from a network
    #[arg(short, long)]
    pub force: bool,
    #[arg(value_name = "NETWORK CONTAINER")]
    pub args: Vec<String>,
}

#[derive(Args, Debug, Default)]
pub struct RmArgs {
    /// Do not error if the network does not exist
    #[arg(short, long)]
    pub force: bool,
    #[arg(value_name = "NETWORK")]
    pub args: Vec<String>,
}

#[derive(Args, Debug, Default)]
pub struct PruneArgs {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    #[arg(hide = true)]
    pub args: Vec<String>,
}

pub fn run(ctx: &Ctx, cmd: NetworkCmd) -> Result<()> {
    match cmd {
        NetworkCmd::Connect(a) => connect(ctx, a),
        NetworkCmd::Create(a) => create::run(ctx, a),
        NetworkCmd::Disconnect(a) => disconnect(ctx, a),
        NetworkCmd::Inspect(a) => {
            let a = InspectArgs {
                format: a.format,
                args: a.args,
                ..Default::default()
            };
            super::inspect::run(ctx, "rdocker network inspect", a, Scope::Network)
        }
        NetworkCmd::Ls(a) => ls::run(ctx, "rdocker network ls", a),
        NetworkCmd::Prune(a) => prune(ctx, a),
        NetworkCmd::Rm(a) => rm(ctx, a),
    }
}

/// pflag string-slice values: each flag may carry several, comma-separated.
fn split_list(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::to_string)
        .collect()
}

/// The NetworkConnectRequest docker 28 sends: IPAMConfig, Aliases and DriverOpts always
/// present (empty when not given), the addresses only when given.
pub fn connect_body(a: &ConnectArgs) -> Result<Value> {
    let mut driver_opts = serde_json::Map::new();
    for o in split_list(&a.driver_opt) {
        match o.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                driver_opts.insert(k.trim().to_string(), json!(v.trim()));
            }
            _ => {
                return Err(status_err(
                    1,
                    "invalid key/value pair format in driver options",
                ))
            }
        }
    }
    let aliases = split_list(&a.alias);
    let link_local = split_list(&a.link_local_ip);
    let mut ipam = json!({});
    if let Some(ip) = a.ip.as_ref().filter(|ip| !ip.is_empty()) {
        ipam["IPv4Address"] = json!(ip);
    }
    if let Some(ip) = a.ip6.as_ref().filter(|ip| !ip.is_empty()) {
        ipam["IPv6Address"] = json!(ip);
    }
    if !link_local.is_empty() {
        ipam["LinkLocalIPs"] = json!(link_local);
    }
    let mut ep = json!({
        "IPAMConfig": ipam,
        "Aliases": aliases,
        "DriverOpts": Value::Object(driver_opts),
    });
    if !a.link.is_empty() {
        ep["Links"] = json!(a.link);
    }
    if let Some(p) = a.gw_priority {
        ep["GwPriority"] = json!(p);
    }
    Ok(json!({
        "Container": a.args.get(1).cloned().unwrap_or_default(),
        "EndpointConfig": ep,
    }))
}

fn connect(ctx: &Ctx, a: ConnectArgs) -> Result<()> {
    check_args(&a.args, Arity::Exactly(2), "rdocker network connect")?;
    let body = connect_body(&a)?;
    let path = api_path(&format!("/networks/{}/connect", path_escape(&a.args[0])));
    ctx.client
        .request("POST", &path, &[], Some(&serde_json::to_vec(&body)?))?;
    Ok(())
}

fn disconnect(ctx: &Ctx, a: DisconnectArgs) -> Result<()> {
    check_args(&a.args, Arity::Exactly(2), "rdocker network disconnect")?;
    let body = json!({"Container": a.args[1], "Force": a.force});
    let path = api_path(&format!("/networks/{}/disconnect", path_escape(&a.args[0])));
    ctx.client
        .request("POST", &path, &[], Some(&serde_json::to_vec(&body)?))?;
    Ok(())
}

/// As docker: each failure is printed as it happens, the names removed are echoed, and
/// the command exits 1 if any failed.
fn rm(ctx: &Ctx, a: RmArgs) -> Result<()> {
    check_args(&a.args, Arity::AtLeast(1), "rdocker network rm")?;
    let mut failed = false;
    for n in &a.args {
        let path = api_path(&format!("/networks/{}", path_escape(n)));
        match ctx.client.request("DELETE", &path, &[], None) {
            Ok(_) => println!("{n}"),
            Err(e)
                if a.force
                    && e.downcast_ref::<ApiError>()
                        .is_some_and(|x| x.status == 404) => {}
            Err(e) => {
                eprintln!("{e:#}");
                failed = true;
            }
        }
    }
    if failed {
        // docker 28 ends with its StatusError's own text, as this.
        return Err(status_err(1, "exit status 1"));
    }
    Ok(())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PruneReport {
    #[serde(rename = "NetworksDeleted")]
    deleted: Option<Vec<String>>,
}

/// docker's prune output: the names deleted under a heading, then an empty line.
pub fn render_prune(deleted: &[String]) -> String {
    if deleted.is_empty() {
        return String::new();
    }
    let mut out = String::from("Deleted Networks:\n");
    for n in deleted {
        out.push_str(n);
        out.push('\n');
    }
    out.push('\n');
    out
}

fn prune(ctx: &Ctx, a: PruneArgs) -> Result<()> {
    check_args(&a.args, Arity::Exactly(0), "rdocker network prune")?;
    let warning =
        "WARNING! This will remove all custom networks not used by at least one container.";
    if !a.force && !confirm(warning)? {
        return Ok(());
    }
    let mut params = Vec::new();
    if let Some(f) = filters_param(&a.filter)? {
        params.push(("filters", f));
    }
    let path = api_path(&format!("/networks/prune{}", query(&params)));
    let r: PruneReport = ctx.client.request("POST", &path, &[], None)?.json()?;
    print!("{}", render_prune(r.deleted.as_deref().unwrap_or_default()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_request() {
        let a = ConnectArgs {
            alias: vec!["a1,a2".into()],
            ip: Some("10.3.0.7".into()),
            args: vec!["n".into(), "c".into()],
            ..Default::default()
        };
        assert_eq!(
            connect_body(&a).unwrap(),
            json!({"Container": "c", "EndpointConfig": {
                "IPAMConfig": {"IPv4Address": "10.3.0.7"},
                "Aliases": ["a1", "a2"], "DriverOpts": {}}})
        );
        let bad = ConnectArgs {
            driver_opt: vec!["novalue".into()],
            args: vec!["n".into(), "c".into()],
            ..Default::default()
        };
        assert_eq!(
            connect_body(&bad).unwrap_err().to_string(),
            "invalid key/value pair format in driver options"
        );
    }

    #[test]
    fn prune_output() {
        assert_eq!(render_prune(&[]), "");
        assert_eq!(
            render_prune(&["n1".into(), "n2".into()]),
            "Deleted Networks:\nn1\nn2\n\n"
        );
    }
}
