//! `rdocker history` / `rdocker image history`.

use std::io::{self, Write};

use anyhow::Result;
use clap::{ArgAction, Args};
use serde::Deserialize;
use serde_json::json;

use super::{check_args, format_rows, Arity, Ctx};
use crate::client::api_path;
use crate::format::{
    ellipsis, human_duration, human_size_prec, now_unix_f64, rfc3339_local, trunc_id,
};
use crate::url::path_escape;

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// Print sizes and dates in human readable format
    #[arg(short = 'H', long = "human", action = ArgAction::Set, num_args = 0..=1,
          default_value_t = true, default_missing_value = "true", require_equals = true)]
    pub human: bool,
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Format output using a Go template ("table …", "json" or a template)
    #[arg(long)]
    pub format: Option<String>,
    #[arg(value_name = "IMAGE")]
    pub args: Vec<String>,
}

/// One layer of history (lenient version of the API's HistoryResponseItem).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct HistoryItem {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Created")]
    pub created: i64,
    #[serde(rename = "CreatedBy")]
    pub created_by: String,
    #[serde(rename = "Size")]
    pub size: i64,
    #[serde(rename = "Comment")]
    pub comment: String,
}

pub fn run(ctx: &Ctx, name: &str, a: HistoryArgs) -> Result<()> {
    check_args(&a.args, Arity::Exactly(1), name)?;
    let items: Vec<HistoryItem> = ctx.client.get_json(&api_path(&format!(
        "/images/{}/history",
        path_escape(&a.args[0])
    )))?;
    let out = render(&items, &a, now_unix_f64())?;
    let stdout = io::stdout();
    let mut lock = stdout.lock();
    lock.write_all(out.as_bytes())?;
    lock.flush()?;
    Ok(())
}

pub fn render(items: &[HistoryItem], a: &HistoryArgs, now: f64) -> Result<String> {
    let trunc = !a.no_trunc;
    let id = |h: &HistoryItem| if trunc { trunc_id(&h.id) } else { h.id.clone() };
    if a.quiet {
        return Ok(items.iter().map(|h| format!("{}\n", id(h))).collect());
    }
    let default = if a.human {
        "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
    } else {
        "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
    };
    let format = a
        .format
        .as_deref()
        .filter(|f| !f.is_empty())
        .unwrap_or(default);
    let header = json!({
        "ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
        "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT",
    });
    // docker's historyContext.
    let rows: Vec<_> = items
        .iter()
        .map(|h| {
            let created_at = rfc3339_local(h.created);
            let by = h.created_by.replace('\t', " ");
            json!({
                "ID": id(h),
                "CreatedAt": created_at,
                "CreatedSince": if a.human {
                    format!("{} ago", human_duration(now - h.created as f64))
                } else {
                    created_at.clone()
                },
                "CreatedBy": if trunc { ellipsis(&by, 45) } else { by },
                "Size": if a.human { human_size_prec(h.size as f64, 3) } else { h.size.to_string() },
                "Comment": h.comment,
            })
        })
        .collect();
    format_rows(format, &header, &rows, "*image.historyContext")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(human: bool, quiet: bool, no_trunc: bool) -> HistoryArgs {
        HistoryArgs {
            human,
            quiet,
            no_trunc,
            format: None,
            args: vec![],
        }
    }

    fn items() -> Vec<HistoryItem> {
        vec![
            HistoryItem {
                id: "sha256:a416a98b71e224a31ee99cff8e16063554498227d2b696152a9c3e0aa65e5824"
                    .into(),
                created: 1000,
                created_by: "CMD [\"sh\"]".into(),
                size: 0,
                comment: "buildkit.dockerfile.v0".into(),
            },
            HistoryItem {
                id: "<missing>".into(),
                created: 1000,
                created_by: "/bin/sh -c #(nop) ADD file:71356d2ad59aa3119d1234\tin /".into(),
                size: 4_261_544,
                comment: String::new(),
            },
        ]
    }

    #[test]
    fn table() {
        let out = render(&items(), &args(true, false, false), 1000.0 + 7200.0).expect("render");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                "IMAGE          CREATED       CREATED BY                                      SIZE      COMMENT",
                "a416a98b71e2   2 hours ago   CMD [\"sh\"]                                      0B        buildkit.dockerfile.v0",
                "<missing>      2 hours ago   /bin/sh -c #(nop) ADD file:71356d2ad59aa3119…   4.26MB    ",
            ]
        );
    }

    #[test]
    fn quiet_and_raw() {
        assert_eq!(
            render(&items(), &args(true, true, false), 0.0).expect("render"),
            "a416a98b71e2\n<missing>\n"
        );
        let out = render(&items(), &args(false, false, true), 0.0).expect("render");
        assert!(out.starts_with("IMAGE"));
        assert!(out.contains("CREATED AT"));
        assert!(out.contains("4261544"));
        assert!(out.contains("ADD file:71356d2ad59aa3119d1234 in /"));
        let mut fmt = args(true, false, false);
        fmt.format = Some("{{.ID}}|{{.Size}}".into());
        assert_eq!(
            render(&items(), &fmt, 0.0).expect("render"),
            "a416a98b71e2|0B\n<missing>|4.26MB\n"
        );
    }
}
