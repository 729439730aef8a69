//! `rdocker wait`: blocks until each container stops and prints its exit code.

use anyhow::Result;
use clap::Args;

use super::attach::{read_wait, wait_request};
use super::{check_args, status_err, Arity, Ctx};

#[derive(Args, Debug, Default)]
pub struct WaitArgs {
    #[arg(value_name = "CONTAINER")]
    pub args: Vec<String>,
}

pub fn run(ctx: &Ctx, name: &str, a: WaitArgs) -> Result<()> {
    check_args(&a.args, Arity::AtLeast(1), name)?;
    let mut errs = Vec::new();
    for c in &a.args {
        match wait_request(ctx, c, "not-running").and_then(read_wait) {
            Ok(code) => println!("{code}"),
            Err(e) => errs.push(format!("{e:#}")),
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(status_err(1, errs.join("\n")))
    }
}
