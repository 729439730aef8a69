//! `rdocker container prune`: removes every stopped container after docker's prompt.

use anyhow::Result;
use clap::Args;
use serde::Deserialize;

use super::{check_args, confirm, filters_param, Arity, Ctx};
use crate::client::api_path;
use crate::format::human_size;
use crate::url::query;

#[derive(Args, Debug, Default)]
pub struct PruneArgs {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    #[arg(hide = true)]
    pub args: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Report {
    #[serde(rename = "ContainersDeleted")]
    deleted: Option<Vec<String>>,
    #[serde(rename = "SpaceReclaimed")]
    reclaimed: u64,
}

pub fn run(ctx: &Ctx, name: &str, a: PruneArgs) -> Result<()> {
    check_args(&a.args, Arity::Exactly(0), name)?;
    if !a.force && !confirm("WARNING! This will remove all stopped containers.")? {
        return Ok(());
    }
    let mut params = Vec::new();
    if let Some(f) = filters_param(&a.filter)? {
        params.push(("filters", f));
    }
    let path = api_path(&format!("/containers/prune{}", query(&params)));
    let report: Report = ctx.client.request("POST", &path, &[], None)?.json()?;
    print!("{}", render(&report));
    Ok(())
}

fn render(r: &Report) -> String {
    render_report(
        "Containers",
        r.deleted.as_deref().unwrap_or_default(),
        r.reclaimed,
    )
}

/// Docker's prune report: "Deleted <what>:" and the ids (when any), then the space reclaimed.
pub fn render_report(what: &str, deleted: &[String], reclaimed: u64) -> String {
    let mut out = String::new();
    let mut total = 0;
    if !deleted.is_empty() {
        out.push_str(&format!("Deleted {what}:\n"));
        for id in deleted {
            out.push_str(id);
            out.push('\n');
        }
        out.push('\n');
        total = reclaimed;
    }
    out.push_str(&format!(
        "Total reclaimed space: {}\n",
        human_size(total as f64)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_text() {
        let r = Report {
            deleted: Some(vec!["abc".into(), "def".into()]),
            reclaimed: 2048,
        };
        assert_eq!(
            render(&r),
            "Deleted Containers:\nabc\ndef\n\nTotal reclaimed space: 2.048kB\n"
        );
        assert_eq!(render(&Report::default()), "Total reclaimed space: 0B\n");
    }
}
