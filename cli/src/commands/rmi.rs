//! `rdocker rmi` / `rdocker image rm`.

use std::io::{self, Write};

use anyhow::Result;
use bollard_stubs::models::ImageDeleteResponseItem;
use clap::Args;

use super::{check_args, status_err, Arity, Ctx};
use crate::client::{api_path, ApiError};
use crate::url::{path_escape, query};

#[derive(Args, Debug, Default)]
pub struct RmiArgs {
    /// Force removal of the image
    #[arg(short, long)]
    pub force: bool,
    /// Do not delete untagged parents
    #[arg(long = "no-prune")]
    pub no_prune: bool,
    #[arg(value_name = "IMAGE")]
    pub args: Vec<String>,
}

pub fn run(ctx: &Ctx, name: &str, a: RmiArgs) -> Result<()> {
    check_args(&a.args, Arity::AtLeast(1), name)?;
    let mut params = Vec::new();
    if a.force {
        params.push(("force", "1".to_string()));
    }
    if a.no_prune {
        params.push(("noprune", "1".to_string()));
    }
    let q = query(&params);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    // Like docker: go on with the other images after a failure, report all errors at the
    // end; with -f, images that do not exist are not a failure (exit 0, errors on stderr).
    let mut errs = Vec::new();
    let mut fatal = false;
    for img in &a.args {
        let path = api_path(&format!("/images/{}{q}", path_escape(img)));
        let res = ctx
            .client
            .request("DELETE", &path, &[], None)
            .and_then(|r| r.json::<Vec<ImageDeleteResponseItem>>());
        match res {
            Ok(items) => {
                for it in items {
                    if let Some(d) = it.deleted.filter(|d| !d.is_empty()) {
                        writeln!(out, "Deleted: {d}")?;
                    } else if let Some(u) = it.untagged {
                        writeln!(out, "Untagged: {u}")?;
                    }
                }
                out.flush()?;
            }
            Err(e) => {
                let not_found = e
                    .downcast_ref::<ApiError>()
                    .is_some_and(|a| a.status == 404);
                if !not_found {
                    fatal = true;
                }
                errs.push(format!("{e:#}"));
            }
        }
    }
    if errs.is_empty() {
        return Ok(());
    }
    let msg = errs.join("\n");
    if !a.force || fatal {
        return Err(status_err(1, msg));
    }
    eprintln!("{msg}");
    Ok(())
}
