//! `rdocker logs`: the container's Config.Tty decides how to read the stream (raw for a
//! TTY, docker's multiplexed frames otherwise), so the container is inspected first.

use std::io;

use anyhow::Result;
use clap::Args;

use super::attach::inspect_brief;
use super::{check_args, status_err, Arity, Ctx};
use crate::client::api_path;
use crate::format::now_unix_f64;
use crate::stdcopy::{copy_raw, demux};
use crate::timespec::get_timestamp;
use crate::url::{path_escape, query};

#[derive(Args, Debug, Default)]
pub struct LogsArgs {
    /// Show extra details provided to logs
    #[arg(long)]
    pub details: bool,
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long, value_name = "string")]
    pub since: Option<String>,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, value_name = "string", default_value = "all")]
    pub tail: String,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    /// Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long, value_name = "string")]
    pub until: Option<String>,
    #[arg(value_name = "CONTAINER")]
    pub args: Vec<String>,
}

pub fn run(ctx: &Ctx, name: &str, a: LogsArgs) -> Result<()> {
    check_args(&a.args, Arity::Exactly(1), name)?;
    let c = inspect_brief(ctx, &a.args[0])?;
    let now = now_unix_f64();
    let mut params = vec![("stdout", "1".to_string()), ("stderr", "1".to_string())];
    for (key, v) in [("since", &a.since), ("until", &a.until)] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            params.push((key, get_timestamp(v, now).map_err(|e| status_err(1, e))?));
        }
    }
    if a.timestamps {
        params.push(("timestamps", "1".into()));
    }
    if a.details {
        params.push(("details", "1".into()));
    }
    if a.follow {
        params.push(("follow", "1".into()));
    }
    params.push(("tail", a.tail.clone()));
    let path = api_path(&format!(
        "/containers/{}/logs{}",
        path_escape(&a.args[0]),
        query(&params)
    ));
    let mut resp = ctx.client.request("GET", &path, &[], None)?;
    let stdout = io::stdout();
    if c.config.tty {
        copy_raw(&mut resp, &mut stdout.lock())?;
    } else {
        let stderr = io::stderr();
        demux(&mut resp, &mut stdout.lock(), &mut stderr.lock())?;
    }
    Ok(())
}
