//! `rdocker kill`: one signal (default KILL, the daemon's choice) to each container.

use anyhow::Result;
use clap::Args;

use super::{check_args, for_each, Arity, Ctx};
use crate::client::api_path;
use crate::url::{path_escape, query};

#[derive(Args, Debug, Default)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short = 's', long, value_name = "string")]
    pub signal: Option<String>,
    #[arg(value_name = "CONTAINER")]
    pub args: Vec<String>,
}

pub fn run(ctx: &Ctx, name: &str, a: KillArgs) -> Result<()> {
    check_args(&a.args, Arity::AtLeast(1), name)?;
    let mut params = Vec::new();
    if let Some(s) = a.signal.as_deref().filter(|s| !s.is_empty()) {
        params.push(("signal", s.to_string()));
    }
    let q = query(&params);
    for_each(&a.args, |c| {
        let path = api_path(&format!("/containers/{}/kill{q}", path_escape(c)));
        ctx.client.request("POST", &path, &[], None).map(drop)
    })
}
