//! `rdocker create`, and the create step `run` shares: the create body, auto-pull on
//! 404 ("Unable to find image … locally"), warnings, and docker's run/create error form.

use std::io::{self, Write};

use anyhow::Result;
use bollard_stubs::models::ContainerCreateBody;
use clap::Args;

use super::pull::pull_image_to;
use super::{check_args, status_err, term_width, usage_footer, Arity, Ctx};
use crate::client::{api_path, ApiError};
use crate::progress::Tty;
use crate::reference::{Reference, ReferenceExt};
use crate::runopts::{ContainerOpts, OptsError};
use crate::url::query;

/// The create answer; lenient about Warnings (absent or null from some daemons).
#[derive(serde::Deserialize)]
struct Created {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Warnings", default)]
    warnings: Option<Vec<String>>,
}

#[derive(Args, Debug, Default)]
pub struct CreateArgs {
    #[command(flatten)]
    pub opts: ContainerOpts,
    /// Suppress the pull output
    #[arg(short, long)]
    pub quiet: bool,
    /// Print usage
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

pub fn run(ctx: &Ctx, name: &str, a: CreateArgs) -> Result<()> {
    check_args(&a.opts.args, Arity::AtLeast(1), name)?;
    let body = a.opts.body(false).map_err(|e| opts_error(name, &e))?;
    // Unlike run's, create's daemon errors print as they are (exit 1), as docker 28 does.
    let id = create_container(ctx, &a.opts, body, a.quiet)?;
    println!("{id}");
    Ok(())
}

/// docker 28's withHelp: `rdocker: <message>` and where to get help, on stderr.
/// `name` is the full command ("rdocker run").
pub fn cmd_error(name: &str, msg: &str, code: i32) -> anyhow::Error {
    status_err(
        code,
        format!("rdocker: {msg}\n\nRun '{name} --help' for more information"),
    )
}

/// A refused flag value is pflag's error (usage line, 125); a conflict docker reports
/// without help is exit 1; anything else goes through [`cmd_error`].
pub fn opts_error(name: &str, e: &OptsError) -> anyhow::Error {
    if e.flag.is_some() {
        return status_err(125, format!("{e}{}", usage_footer(name)));
    }
    if e.plain {
        return status_err(1, e.to_string());
    }
    cmd_error(name, &e.to_string(), 125)
}

/// docker's toStatusError rule for a failed start: 127 when the command was not
/// found, 126 when it could not be run, else 125.
pub fn start_exit_code(msg: &str) -> i32 {
    if msg.contains("executable file not found")
        || msg.contains("no such file or directory")
        || msg.contains("system cannot find the file specified")
    {
        127
    } else if msg.contains("permission denied")
        || msg.contains("is a directory")
        || msg.contains("cannot execute")
    {
        126
    } else {
        125
    }
}

fn is_not_found(e: &anyhow::Error) -> bool {
    e.downcast_ref::<ApiError>()
        .is_some_and(|x| x.status == 404)
}

/// Creates the container (pulling the image first when asked, or when the daemon does
/// not have it) and returns its id.
pub fn create_container(
    ctx: &Ctx,
    opts: &ContainerOpts,
    body: ContainerCreateBody,
    quiet: bool,
) -> Result<String> {
    let image = opts.image().unwrap_or_default();
    let pull = || -> Result<()> {
        let reference = Reference::parse_no_default_tag(image)?.with_default_tag();
        pull_to_stderr(ctx, &reference, opts.platform.as_deref(), quiet)
    };
    if opts.pull == "always" {
        pull()?;
    }
    let mut params = Vec::new();
    if let Some(n) = &opts.name {
        params.push(("name", n.clone()));
    }
    if let Some(p) = opts.platform.as_deref().filter(|p| !p.is_empty()) {
        params.push(("platform", p.to_string()));
    }
    let path = api_path(&format!("/containers/create{}", query(&params)));
    let json = serde_json::to_vec(&body)?;
    let send =
        || -> Result<Created> { ctx.client.request("POST", &path, &[], Some(&json))?.json() };
    let resp = match send() {
        Ok(r) => r,
        Err(e) if is_not_found(&e) && opts.pull == "missing" => {
            // Only a parseable name can be pulled; otherwise the 404 is the answer.
            let Ok(reference) = Reference::parse_no_default_tag(image) else {
                return Err(e);
            };
            let reference = reference.with_default_tag();
            eprintln!("Unable to find image '{}' locally", reference.familiar());
            pull_to_stderr(ctx, &reference, opts.platform.as_deref(), quiet)?;
            send()?
        }
        Err(e) => return Err(e),
    };
    for w in resp.warnings.iter().flatten() {
        eprintln!("WARNING: {w}");
    }
    Ok(resp.id)
}

/// Pull progress for `run`/`create` goes to stderr, so that stdout carries only the id
/// or the container's output.
fn pull_to_stderr(
    ctx: &Ctx,
    reference: &Reference,
    platform: Option<&str>,
    quiet: bool,
) -> Result<()> {
    // SAFETY: isatty only inspects the descriptor.
    let tty = unsafe { libc::isatty(libc::STDERR_FILENO) == 1 };
    let tty = (tty && !quiet).then(|| Tty {
        width: term_width().unwrap_or(200),
    });
    let stderr = io::stderr();
    let mut out = stderr.lock();
    pull_image_to(ctx, reference, platform, quiet, &mut out, tty)?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_error_codes() {
        assert_eq!(
            start_exit_code(
                "failed to create task: exec: \"nosuch\": executable file not found in $PATH"
            ),
            127
        );
        assert_eq!(
            start_exit_code("exec /bin/x: no such file or directory"),
            127
        );
        assert_eq!(start_exit_code("exec /etc: permission denied"), 126);
        assert_eq!(start_exit_code("exec /etc: is a directory"), 126);
        assert_eq!(start_exit_code("cgroup went away"), 125);
    }

    #[test]
    fn error_form() {
        let e = cmd_error("rdocker run", "Error response from daemon: Conflict.", 125);
        let s = e.downcast_ref::<super::super::StatusError>().unwrap();
        assert_eq!(s.code, 125);
        assert_eq!(
            s.message,
            "rdocker: Error response from daemon: Conflict.\n\nRun 'rdocker run --help' for more information"
        );
    }
}
