//! `rdocker run`: docker's runContainer — create (auto-pull), then attach, wait
//! (condition next-exit, or removed with --rm) and start, in that order so that no
//! output and no exit is missed; stream until the output ends and exit with the status.

use anyhow::Result;
use clap::Args;

use super::attach::{attach_conn, follow, read_wait, wait_request_keep};
use super::create::{cmd_error, create_container, opts_error, start_exit_code};
use super::{check_args, status_err, stdin_is_tty, Arity, Ctx};
use crate::client::api_path;
use crate::runopts::ContainerOpts;
use crate::streams::{self, StreamOpts};
use crate::tty::{detach_keys, RawGuard};
use crate::url::path_escape;

#[derive(Args, Debug, Default)]
pub struct RunArgs {
    #[command(flatten)]
    pub opts: ContainerOpts,
    /// Run container in background and print container ID
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    /// Proxy received signals to the process
    #[arg(long = "sig-proxy", default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub sig_proxy: bool,
    /// Suppress the pull output
    #[arg(short, long)]
    pub quiet: bool,
    /// Print usage
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

pub fn run(ctx: &Ctx, name: &str, a: RunArgs) -> Result<()> {
    check_args(&a.opts.args, Arity::AtLeast(1), name)?;
    let body = a.opts.body(a.detach).map_err(|e| opts_error(name, &e))?;
    let attach = a.opts.attach_set().map_err(|e| opts_error(name, &e))?;
    let tty = a.opts.tty;
    if !a.detach && tty && attach.stdin && !stdin_is_tty() {
        return Err(status_err(1, "the input device is not a TTY"));
    }
    let keys = match a.detach_keys.as_deref() {
        Some(k) => detach_keys(k)
            .ok_or_else(|| cmd_error(name, &format!("Invalid detach keys ({k}) provided"), 125))?,
        None => streams::DEFAULT_DETACH_KEYS.to_vec(),
    };
    // docker's toStatusError picks the status of a failed create as of a failed start
    // (a missing --device is 127).
    let id = create_container(ctx, &a.opts, body, a.quiet).map_err(|e| {
        let msg = format!("{e:#}");
        cmd_error(name, &msg, start_exit_code(&msg))
    })?;
    let start_path = api_path(&format!("/containers/{}/start", path_escape(&id)));
    let start = || -> Result<()> {
        ctx.client
            .request("POST", &start_path, &[], None)
            .map(drop)
            .map_err(|e| {
                let msg = format!("{e:#}");
                cmd_error(name, &msg, start_exit_code(&msg))
            })
    };
    if a.detach {
        // docker 28 prints the id before starting: a refused start shows both.
        println!("{id}");
        return start();
    }

    let conn = attach_conn(ctx, &id, attach, a.detach_keys.as_deref(), false)
        .map_err(|e| cmd_error(name, &format!("{e:#}"), 125))?;
    let condition = if a.opts.rm { "removed" } else { "next-exit" };
    let (wait, wait_sock) = wait_request_keep(ctx, &id, condition)?;
    // Raw mode from before the start, so nothing the container prints is cooked.
    let raw = (tty && attach.stdin).then(RawGuard::enable).flatten();
    if let Err(e) = start() {
        drop(raw);
        if a.opts.rm {
            // As docker: the daemon removes a refused --rm container; wait for that (but
            // not forever) so that a `ps -a` right after shows nothing.
            let _ = wait_sock.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let _ = read_wait(wait);
        }
        return Err(e);
    }
    follow(
        ctx,
        &id,
        conn,
        wait,
        raw,
        StreamOpts {
            tty,
            stdin: attach.stdin,
            detach_keys: keys,
        },
        a.sig_proxy,
    )
}
