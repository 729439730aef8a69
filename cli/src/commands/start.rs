//! `rdocker start`: several containers by name, or one with `-a`/`-i`, attached as `run`
//! attaches (attach, wait, start, stream, exit with its status).

use anyhow::Result;
use clap::Args;

use super::attach::{attach_conn, follow, inspect_brief, wait_request};
use super::{check_args, status_err, Arity, Ctx};
use crate::client::api_path;
use crate::runopts::AttachSet;
use crate::streams::{self, StreamOpts};
use crate::tty::{detach_keys, RawGuard};
use crate::url::path_escape;

#[derive(Args, Debug, Default)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short = 'a', long)]
    pub attach: bool,
    /// Attach container's STDIN
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    #[arg(value_name = "CONTAINER")]
    pub args: Vec<String>,
}

fn start_path(id: &str) -> String {
    api_path(&format!("/containers/{}/start", path_escape(id)))
}

pub fn run(ctx: &Ctx, name: &str, a: StartArgs) -> Result<()> {
    check_args(&a.args, Arity::AtLeast(1), name)?;
    if !a.attach && !a.interactive {
        let mut failed = Vec::new();
        for c in &a.args {
            match ctx.client.request("POST", &start_path(c), &[], None) {
                Ok(_) => println!("{c}"),
                Err(e) => {
                    eprintln!("{e:#}");
                    failed.push(c.as_str());
                }
            }
        }
        if !failed.is_empty() {
            return Err(status_err(
                1,
                format!("Error: failed to start containers: {}", failed.join(", ")),
            ));
        }
        return Ok(());
    }
    if a.args.len() > 1 {
        return Err(status_err(
            1,
            "you cannot start and attach multiple containers at once",
        ));
    }
    let c = inspect_brief(ctx, &a.args[0])?;
    let keys = match a.detach_keys.as_deref() {
        Some(k) => detach_keys(k)
            .ok_or_else(|| status_err(1, format!("Invalid detach keys ({k}) provided")))?,
        None => streams::DEFAULT_DETACH_KEYS.to_vec(),
    };
    let tty = c.config.tty;
    let set = AttachSet {
        stdin: a.interactive && c.config.open_stdin,
        stdout: true,
        stderr: true,
    };
    let conn = attach_conn(ctx, &c.id, set, a.detach_keys.as_deref(), false)?;
    let wait = wait_request(ctx, &c.id, "next-exit")?;
    let raw = (tty && set.stdin).then(RawGuard::enable).flatten();
    if let Err(e) = ctx.client.request("POST", &start_path(&c.id), &[], None) {
        drop(raw);
        return Err(status_err(1, format!("{e:#}")));
    }
    follow(
        ctx,
        &c.id,
        conn,
        wait,
        raw,
        StreamOpts {
            tty,
            stdin: set.stdin,
            detach_keys: keys,
        },
        true,
    )
}
