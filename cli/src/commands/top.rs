//! `rdocker top CONTAINER [ps OPTIONS]`: the daemon runs ps; we print its table.

use anyhow::Result;
use clap::Args;
use serde::Deserialize;

use super::{check_args, Arity, Ctx};
use crate::client::api_path;
use crate::format::TabWriter;
use crate::url::{path_escape, query};

#[derive(Args, Debug, Default)]
pub struct TopArgs {
    #[arg(
        value_name = "CONTAINER [ps OPTIONS]",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Top {
    #[serde(rename = "Titles")]
    titles: Option<Vec<String>>,
    #[serde(rename = "Processes")]
    processes: Option<Vec<Vec<String>>>,
}

pub fn run(ctx: &Ctx, name: &str, a: TopArgs) -> Result<()> {
    check_args(&a.args, Arity::AtLeast(1), name)?;
    let mut params = Vec::new();
    if a.args.len() > 1 {
        params.push(("ps_args", a.args[1..].join(" ")));
    }
    let path = api_path(&format!(
        "/containers/{}/top{}",
        path_escape(&a.args[0]),
        query(&params)
    ));
    let top: Top = ctx.client.get_json(&path)?;
    print!("{}", render(&top));
    Ok(())
}

/// docker's top: `tabwriter.NewWriter(out, 20, 1, 3, ' ', 0)`, one line per process.
fn render(top: &Top) -> String {
    let mut text = top.titles.clone().unwrap_or_default().join("\t");
    text.push('\n');
    for p in top.processes.iter().flatten() {
        text.push_str(&p.join("\t"));
        text.push('\n');
    }
    let mut tw = TabWriter::new(20, 3);
    tw.text(&text);
    tw.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let top = Top {
            titles: Some(vec!["UID".into(), "PID".into(), "CMD".into()]),
            processes: Some(vec![vec!["root".into(), "4242".into(), "sleep 100".into()]]),
        };
        assert_eq!(
            render(&top),
            "UID                 PID                 CMD\nroot                4242                sleep 100\n"
        );
    }
}
