//! `rdocker stop` and `rdocker restart`: the daemon sends the stop signal, then SIGKILL
//! after the timeout; each name is printed back as given.

use anyhow::Result;
use clap::Args;

use super::{check_args, for_each, Arity, Ctx};
use crate::client::api_path;
use crate::url::{path_escape, query};

#[derive(Args, Debug, Default)]
pub struct StopArgs {
    /// Signal to send to the container
    #[arg(short = 's', long, value_name = "string")]
    pub signal: Option<String>,
    /// Seconds to wait before killing the container
    #[arg(
        short = 't',
        long = "time",
        visible_alias = "timeout",
        value_name = "int",
        allow_negative_numbers = true
    )]
    pub time: Option<i64>,
    #[arg(value_name = "CONTAINER")]
    pub args: Vec<String>,
}

/// `action` is "stop" or "restart".
pub fn run(ctx: &Ctx, name: &str, action: &str, a: StopArgs) -> Result<()> {
    check_args(&a.args, Arity::AtLeast(1), name)?;
    let mut params = Vec::new();
    if let Some(s) = a.signal.as_deref().filter(|s| !s.is_empty()) {
        params.push(("signal", s.to_string()));
    }
    if let Some(t) = a.time {
        params.push(("t", t.to_string()));
    }
    let q = query(&params);
    for_each(&a.args, |c| {
        let path = api_path(&format!("/containers/{}/{action}{q}", path_escape(c)));
        ctx.client.request("POST", &path, &[], None).map(drop)
    })
}
