//! `rdocker attach`, and the attach and wait requests `run` and `start -a` share.

use std::io::Read;

use anyhow::{Context, Result};
use clap::Args;
use serde::Deserialize;

use super::{check_args, status_err, stdout_is_tty, Arity, Ctx};
use crate::client::{api_path, Response};
use crate::hijack::Hijacked;
use crate::runopts::AttachSet;
use crate::streams::{self, pump, End, StreamOpts, Target};
use crate::tty::{detach_keys, RawGuard};
use crate::url::{path_escape, query};

#[derive(Args, Debug, Default)]
pub struct AttachArgs {
    /// Do not attach STDIN
    #[arg(long = "no-stdin")]
    pub no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(long = "sig-proxy", default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub sig_proxy: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    #[arg(value_name = "CONTAINER")]
    pub args: Vec<String>,
}

/// The hijacked `POST /containers/{id}/attach?stream=1&…`.
pub fn attach_conn(
    ctx: &Ctx,
    id: &str,
    set: AttachSet,
    keys: Option<&str>,
    logs: bool,
) -> Result<Hijacked> {
    let flag = |b: bool| if b { "1" } else { "0" }.to_string();
    let mut params = vec![("stream", "1".to_string())];
    if logs {
        params.push(("logs", "1".into()));
    }
    params.push(("stdin", flag(set.stdin)));
    params.push(("stdout", flag(set.stdout)));
    params.push(("stderr", flag(set.stderr)));
    if let Some(k) = keys {
        params.push(("detachKeys", k.to_string()));
    }
    let path = api_path(&format!(
        "/containers/{}/attach{}",
        path_escape(id),
        query(&params)
    ));
    ctx.client.hijack(&path, None)
}

/// `POST /containers/{id}/wait?condition=…`: its headers arrive at once, the body
/// (the exit status) when the condition is met; read it with [`read_wait`].
pub fn wait_request(ctx: &Ctx, id: &str, condition: &str) -> Result<Response> {
    wait_request_keep(ctx, id, condition).map(|(r, _)| r)
}

/// [`wait_request`] plus the socket, to bound the wait with a read timeout.
pub fn wait_request_keep(
    ctx: &Ctx,
    id: &str,
    condition: &str,
) -> Result<(Response, std::os::unix::net::UnixStream)> {
    let path = api_path(&format!(
        "/containers/{}/wait?condition={condition}",
        path_escape(id)
    ));
    ctx.client.request_keep("POST", &path, &[], None)
}

#[derive(Deserialize, Default)]
struct WaitBody {
    #[serde(rename = "StatusCode", default)]
    status_code: i64,
    #[serde(rename = "Error", default)]
    error: Option<WaitError>,
}

#[derive(Deserialize, Default)]
struct WaitError {
    #[serde(rename = "Message", default)]
    message: String,
}

/// The container's exit status from a wait response; docker's 125 when the daemon
/// reports an error instead.
pub fn read_wait(mut resp: Response) -> Result<i32> {
    let mut buf = Vec::new();
    resp.read_to_end(&mut buf)
        .context("reading the container's exit status")?;
    let body: WaitBody =
        serde_json::from_slice(&buf).context("decoding the container's exit status")?;
    if let Some(e) = body.error.filter(|e| !e.message.is_empty()) {
        eprintln!("Error waiting for container: {}", e.message);
        return Ok(125);
    }
    Ok(i32::try_from(body.status_code).unwrap_or(125))
}

#[derive(Deserialize, Default)]
pub struct Brief {
    #[serde(rename = "Id", default)]
    pub id: String,
    #[serde(rename = "State", default)]
    pub state: BriefState,
    #[serde(rename = "Config", default)]
    pub config: BriefConfig,
}

#[derive(Deserialize, Default)]
pub struct BriefState {
    #[serde(rename = "Running", default)]
    pub running: bool,
    #[serde(rename = "Paused", default)]
    pub paused: bool,
    #[serde(rename = "Restarting", default)]
    pub restarting: bool,
}

#[derive(Deserialize, Default)]
pub struct BriefConfig {
    #[serde(rename = "Tty", default)]
    pub tty: bool,
    #[serde(rename = "OpenStdin", default)]
    pub open_stdin: bool,
}

/// `GET /containers/{id}/json`, only the fields the CLI decides on.
pub fn inspect_brief(ctx: &Ctx, id: &str) -> Result<Brief> {
    ctx.client
        .get_json(&api_path(&format!("/containers/{}/json", path_escape(id))))
}

pub fn run(ctx: &Ctx, name: &str, a: AttachArgs) -> Result<()> {
    check_args(&a.args, Arity::Exactly(1), name)?;
    let c = inspect_brief(ctx, &a.args[0])?;
    if !c.state.running {
        return Err(status_err(
            1,
            "You cannot attach to a stopped container, start it first",
        ));
    }
    if c.state.paused {
        return Err(status_err(
            1,
            "You cannot attach to a paused container, unpause it first",
        ));
    }
    if c.state.restarting {
        return Err(status_err(
            1,
            "You cannot attach to a restarting container, wait until it is running",
        ));
    }
    let keys = match a.detach_keys.as_deref() {
        Some(k) => detach_keys(k)
            .ok_or_else(|| status_err(1, format!("Invalid detach keys ({k}) provided")))?,
        None => streams::DEFAULT_DETACH_KEYS.to_vec(),
    };
    let set = AttachSet {
        stdin: !a.no_stdin && c.config.open_stdin,
        stdout: true,
        stderr: true,
    };
    let wait = wait_request(ctx, &c.id, "not-running")?;
    let conn = attach_conn(ctx, &c.id, set, a.detach_keys.as_deref(), false)?;
    let tty = c.config.tty;
    let raw = (tty && set.stdin).then(RawGuard::enable).flatten();
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
        a.sig_proxy,
    )
}

/// Streams an attached container until its output ends (or the detach keys), then its exit
/// status from `wait` (non-zero → our exit status). `run`, `start -a` and `attach` end this way.
pub fn follow(
    ctx: &Ctx,
    id: &str,
    conn: Hijacked,
    wait: Response,
    raw: Option<RawGuard>,
    o: StreamOpts,
    sig_proxy: bool,
) -> Result<()> {
    let target = Target::Container(id.to_string());
    if stream(ctx, target, conn, raw, &o, sig_proxy)? == End::Detached {
        return Ok(());
    }
    let status = read_wait(wait)?;
    if status != 0 {
        return Err(status_err(status, ""));
    }
    Ok(())
}

/// Copies a hijacked stream both ways until it ends, forwarding window-size changes (with a
/// terminal) and, with `sig_proxy`, signals to `target`; the terminal is restored after.
pub fn stream(
    ctx: &Ctx,
    target: Target,
    conn: Hijacked,
    raw: Option<RawGuard>,
    o: &StreamOpts,
    sig_proxy: bool,
) -> Result<End> {
    let resize_tty = o.tty && stdout_is_tty();
    if resize_tty {
        streams::resize(&ctx.client, &target);
    }
    streams::spawn_signal_thread(
        ctx.client.clone(),
        target,
        streams::SignalJobs {
            resize: resize_tty,
            proxy: sig_proxy && !o.tty,
            restore: raw.is_some(),
        },
    );
    let end = pump(conn, o);
    drop(raw);
    end
}
