//! `rdocker rm`: `DELETE /containers/{id}`; with `-f` a missing container is no error.

use anyhow::Result;
use clap::Args;

use super::{check_args, status_err, Arity, Ctx};
use crate::client::{api_path, ApiError};
use crate::url::{path_escape, query};

#[derive(Args, Debug, Default)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short, long)]
    pub force: bool,
    /// Remove the specified link (not supported; accepted for compatibility)
    #[arg(short, long, hide = true)]
    pub link: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short, long)]
    pub volumes: bool,
    #[arg(value_name = "CONTAINER")]
    pub args: Vec<String>,
}

pub fn run(ctx: &Ctx, name: &str, a: RmArgs) -> Result<()> {
    check_args(&a.args, Arity::AtLeast(1), name)?;
    let mut params = Vec::new();
    if a.volumes {
        params.push(("v", "1".to_string()));
    }
    if a.force {
        params.push(("force", "1".to_string()));
    }
    let q = query(&params);
    let mut errs = Vec::new();
    for c in &a.args {
        let id = c.trim_matches('/');
        let path = api_path(&format!("/containers/{}{q}", path_escape(id)));
        match ctx.client.request("DELETE", &path, &[], None) {
            Ok(_) => println!("{c}"),
            // As docker: `rm -f` of something already gone is not an error.
            Err(e)
                if a.force
                    && e.downcast_ref::<ApiError>()
                        .is_some_and(|x| x.status == 404) => {}
            Err(e) => errs.push(format!("{e:#}")),
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(status_err(1, errs.join("\n")))
    }
}
