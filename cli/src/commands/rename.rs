//! `rdocker rename CONTAINER NEW_NAME`.

use anyhow::Result;
use clap::Args;

use super::{check_args, status_err, Arity, Ctx};
use crate::client::api_path;
use crate::url::{path_escape, query};

#[derive(Args, Debug, Default)]
pub struct RenameArgs {
    #[arg(value_name = "CONTAINER NEW_NAME")]
    pub args: Vec<String>,
}

pub fn run(ctx: &Ctx, name: &str, a: RenameArgs) -> Result<()> {
    check_args(&a.args, Arity::Exactly(2), name)?;
    let old = a.args[0].trim();
    let new = a.args[1].trim();
    if old.is_empty() || new.is_empty() {
        return Err(status_err(
            1,
            "Error: Neither old nor new names may be empty",
        ));
    }
    let path = api_path(&format!(
        "/containers/{}/rename{}",
        path_escape(old),
        query(&[("name", new.to_string())])
    ));
    ctx.client
        .request("POST", &path, &[], None)
        .map(drop)
        .map_err(|e| {
            status_err(
                1,
                format!("{e:#}\nError: failed to rename container named {old}"),
            )
        })
}
