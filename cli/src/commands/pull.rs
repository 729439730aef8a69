//! `rdocker pull` / `rdocker image pull`.

use std::io::{self, Write};

use anyhow::{Context, Result};
use clap::Args;

use super::{check_args, status_err, stdout_is_tty, term_width, Arity, Ctx};
use crate::client::api_path;
use crate::config::{encode_registry_auth, ConfigFile};
use crate::progress::{Renderer, Tty};
use crate::reference::{Reference, ReferenceExt};
use crate::url::query;

#[derive(Args, Debug, Default)]
pub struct PullArgs {
    /// Download all tagged images in the repository (not supported)
    #[arg(short = 'a', long = "all-tags")]
    pub all_tags: bool,
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
    /// Set platform if server is multi-platform capable
    #[arg(long, env = "DOCKER_DEFAULT_PLATFORM")]
    pub platform: Option<String>,
    /// Skip image verification (accepted for compatibility; there is no content trust)
    #[arg(long = "disable-content-trust", hide = true, num_args = 0..=1, default_missing_value = "true")]
    pub disable_content_trust: Option<bool>,
    #[arg(value_name = "NAME[:TAG|@DIGEST]")]
    pub args: Vec<String>,
}

pub fn run(ctx: &Ctx, name: &str, a: PullArgs) -> Result<()> {
    check_args(&a.args, Arity::Exactly(1), name)?;
    if a.all_tags {
        return Err(status_err(1, "rdocker: --all-tags is not supported"));
    }
    let reference = Reference::parse_no_default_tag(&a.args[0])?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if reference.is_name_only() && !a.quiet {
        writeln!(out, "Using default tag: latest")?;
    }
    let reference = reference.with_default_tag();
    pull_image(ctx, &reference, a.platform.as_deref(), a.quiet, &mut out)?;
    writeln!(out, "{reference}")?;
    out.flush()?;
    Ok(())
}

/// `POST /images/create` with the stored credentials, rendering the progress stream to
/// `out` (nothing when `quiet`). Also the building block for `run`'s auto-pull.
pub fn pull_image(
    ctx: &Ctx,
    reference: &Reference,
    platform: Option<&str>,
    quiet: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let tty = (!quiet && stdout_is_tty()).then(|| Tty {
        width: term_width().unwrap_or(200),
    });
    pull_image_to(ctx, reference, platform, quiet, out, tty)
}

/// [`pull_image`] rendering to `out` as a terminal of `tty`'s width, or as plain lines.
pub fn pull_image_to(
    ctx: &Ctx,
    reference: &Reference,
    platform: Option<&str>,
    quiet: bool,
    out: &mut dyn Write,
    tty: Option<Tty>,
) -> Result<()> {
    // As docker's client: the familiar name, and the digest (if any) in place of the tag.
    let tag = reference
        .digest()
        .or(reference.tag())
        .unwrap_or("latest")
        .to_string();
    let mut params = vec![("fromImage", reference.familiar_name()), ("tag", tag)];
    if let Some(p) = platform.filter(|p| !p.is_empty()) {
        params.push(("platform", p.to_string()));
    }
    let path = api_path(&format!("/images/create{}", query(&params)));

    let auth = registry_auth_header(ctx, &reference.auth_key())?;
    let mut headers = Vec::new();
    if let Some(h) = &auth {
        headers.push(("X-Registry-Auth", h.as_str()));
    }
    let resp = ctx.client.request("POST", &path, &headers, None)?;
    let mut sink = io::sink();
    let target: &mut dyn Write = if quiet { &mut sink } else { out };
    Renderer::new(target, tty).run(resp)?;
    Ok(())
}

/// The encoded credentials for a registry, if the config file has any. Unlike docker we
/// send no header at all for anonymous pulls (docker sends one with only the address).
pub fn registry_auth_header(ctx: &Ctx, key: &str) -> Result<Option<String>> {
    // A broken config file must not stop an anonymous pull: warn, as docker does.
    let cfg = match ConfigFile::load(&ctx.config_dir) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("WARNING: Error loading config file: {e:#}");
            return Ok(None);
        }
    };
    match cfg.get_auth(key) {
        Some(auth) => Ok(Some(
            encode_registry_auth(&auth).context("encoding X-Registry-Auth")?,
        )),
        None => Ok(None),
    }
}
