//! `rdocker exec`: create the exec instance, start it on a hijacked connection (or
//! detached with `-d`), stream, and exit with its ExitCode from `GET /exec/{id}/json`.

use anyhow::Result;
use clap::Args;
use serde::Deserialize;
use serde_json::json;

use super::{check_args, status_err, stdin_is_tty, Arity, Ctx};
use crate::client::api_path;
use crate::kvfile::env_list;
use crate::streams::{self, End, StreamOpts, Target};
use crate::tty::{self, detach_keys, RawGuard};
use crate::url::path_escape;

#[derive(Args, Debug, Default)]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "list")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "list")]
    pub env_file: Vec<String>,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Give extended privileges to the command
    #[arg(long)]
    pub privileged: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short = 'u', long, value_name = "string")]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long, value_name = "string")]
    pub workdir: Option<String>,
    /// The container, then the command and its arguments
    #[arg(value_name = "CONTAINER COMMAND [ARG...]", trailing_var_arg = true)]
    pub args: Vec<String>,
}

#[derive(Deserialize)]
struct Created {
    #[serde(rename = "Id")]
    id: String,
}

#[derive(Deserialize, Default)]
struct ExecInspect {
    #[serde(rename = "ExitCode", default)]
    exit_code: Option<i64>,
}

pub fn run(ctx: &Ctx, name: &str, a: ExecArgs) -> Result<()> {
    check_args(&a.args, Arity::AtLeast(2), name)?;
    let env = env_list(&a.env_file, &a.env).map_err(|e| status_err(1, e.to_string()))?;
    let keys = match a.detach_keys.as_deref() {
        Some(k) => detach_keys(k)
            .ok_or_else(|| status_err(1, format!("Invalid detach keys ({k}) provided")))?,
        None => streams::DEFAULT_DETACH_KEYS.to_vec(),
    };
    let attach_stdin = a.interactive && !a.detach;
    if a.tty && attach_stdin && !stdin_is_tty() {
        return Err(status_err(1, "the input device is not a TTY"));
    }
    let size = if a.tty { tty::size() } else { None };
    let mut body = json!({
        "User": a.user.clone().unwrap_or_default(),
        "Privileged": a.privileged,
        "Tty": a.tty,
        "AttachStdin": attach_stdin,
        "AttachStdout": !a.detach,
        "AttachStderr": !a.detach,
        "Detach": a.detach,
        "Env": env,
        "WorkingDir": a.workdir.clone().unwrap_or_default(),
        "Cmd": a.args[1..],
    });
    if let Some(k) = &a.detach_keys {
        body["DetachKeys"] = json!(k);
    }
    if let Some((h, w)) = size {
        body["ConsoleSize"] = json!([h, w]);
    }
    let path = api_path(&format!("/containers/{}/exec", path_escape(&a.args[0])));
    let created: Created = ctx
        .client
        .request("POST", &path, &[], Some(&serde_json::to_vec(&body)?))?
        .json()?;
    let id = created.id;
    let start_path = api_path(&format!("/exec/{}/start", path_escape(&id)));
    let mut start = json!({"Detach": a.detach, "Tty": a.tty});
    if let Some((h, w)) = size {
        start["ConsoleSize"] = json!([h, w]);
    }
    let start = serde_json::to_vec(&start)?;
    if a.detach {
        ctx.client.request("POST", &start_path, &[], Some(&start))?;
        return Ok(());
    }
    let conn = ctx.client.hijack(&start_path, Some(&start))?;
    let raw = (a.tty && attach_stdin).then(RawGuard::enable).flatten();
    let end = super::attach::stream(
        ctx,
        Target::Exec(id.clone()),
        conn,
        raw,
        &StreamOpts {
            tty: a.tty,
            stdin: attach_stdin,
            detach_keys: keys,
        },
        false,
    );
    if end? == End::Detached {
        return Ok(());
    }
    let info: ExecInspect = ctx
        .client
        .get_json(&api_path(&format!("/exec/{}/json", path_escape(&id))))?;
    match info.exit_code.unwrap_or(0) {
        0 => Ok(()),
        n => Err(status_err(i32::try_from(n).unwrap_or(125), "")),
    }
}
