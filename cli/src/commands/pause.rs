//! `rdocker pause` / `unpause`: freeze or thaw each container, printing each name as
//! given once done; the failures are joined, exit status 1 (docker's runPause).

use anyhow::Result;
use clap::Args;

use super::{check_args, for_each, Arity, Ctx};
use crate::client::api_path;
use crate::url::path_escape;

#[derive(Args, Debug, Default)]
pub struct PauseArgs {
    #[arg(value_name = "CONTAINER")]
    pub args: Vec<String>,
}

/// `action` is the API verb: "pause" or "unpause".
pub fn run(ctx: &Ctx, name: &str, action: &str, a: PauseArgs) -> Result<()> {
    check_args(&a.args, Arity::AtLeast(1), name)?;
    for_each(&a.args, |c| {
        let path = api_path(&format!("/containers/{}/{action}", path_escape(c)));
        ctx.client.request("POST", &path, &[], None).map(drop)
    })
}
