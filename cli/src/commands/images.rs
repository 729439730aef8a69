//! `rdocker images` / `rdocker image ls`: docker's image table, built the way docker's
//! formatter builds it (one row per repository:tag, digests as their own rows only when
//! no tag shares the repository).

use std::collections::BTreeMap;
use std::io::{self, Write};

use anyhow::Result;
use clap::Args;
use serde::Deserialize;
use serde_json::json;

use super::{check_args, format_rows, status_err, Arity, Ctx};
use crate::client::api_path;
use crate::format::{
    created_since, go_time_string, human_size, human_size_prec, now_unix_f64, trunc_id,
};
use crate::reference::Reference;
use crate::url::query;

#[derive(Args, Debug, Default)]
pub struct ImagesArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short, long)]
    pub all: bool,
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Filter output based on conditions provided
    #[arg(short, long = "filter")]
    pub filter: Vec<String>,
    /// Format output using a Go template (the subset `inspect -f` knows)
    #[arg(long)]
    pub format: Option<String>,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub args: Vec<String>,
}

/// The fields of the API's ImageSummary we show; lenient so that an engine leaving out
/// a field we do not need cannot break `images`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ImageSummary {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "RepoTags", deserialize_with = "null_vec")]
    pub repo_tags: Vec<String>,
    #[serde(rename = "RepoDigests", deserialize_with = "null_vec")]
    pub repo_digests: Vec<String>,
    #[serde(rename = "Created")]
    pub created: i64,
    #[serde(rename = "Size")]
    pub size: i64,
    #[serde(rename = "SharedSize")]
    pub shared_size: Option<i64>,
    #[serde(rename = "Containers")]
    pub containers: Option<i64>,
}

fn null_vec<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// One line of the table.
#[derive(Debug, PartialEq)]
pub struct Row {
    pub repo: String,
    pub tag: String,
    pub digest: String,
    pub id: String,
    pub created: i64,
    pub size: i64,
    /// -1 when the daemon did not compute it (docker shows "N/A").
    pub shared_size: i64,
    pub containers: i64,
}

pub fn run(ctx: &Ctx, name: &str, a: ImagesArgs) -> Result<()> {
    check_args(&a.args, Arity::AtMost(1), name)?;
    let mut filters: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
    for f in &a.filter {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| status_err(125, format!("invalid argument \"{f}\" for \"-f, --filter\" flag: bad format of filter (expected name=value)")))?;
        filters
            .entry(k.trim().to_lowercase())
            .or_default()
            .insert(v.to_string(), true);
    }
    if let Some(r) = a.args.first() {
        filters
            .entry("reference".into())
            .or_default()
            .insert(r.clone(), true);
    }
    let mut params = Vec::new();
    if a.all {
        params.push(("all", "1".to_string()));
    }
    if !filters.is_empty() {
        params.push(("filters", serde_json::to_string(&filters)?));
    }
    let images: Vec<ImageSummary> = ctx
        .client
        .get_json(&api_path(&format!("/images/json{}", query(&params))))?;
    let rows = rows(&images, a.digests);
    let out = render(&rows, &a, now_unix_f64())?;
    let stdout = io::stdout();
    let mut lock = stdout.lock();
    lock.write_all(out.as_bytes())?;
    lock.flush()?;
    Ok(())
}

fn is_dangling(img: &ImageSummary) -> bool {
    (img.repo_tags.is_empty() && img.repo_digests.is_empty())
        || (img.repo_tags == ["<none>:<none>"] && img.repo_digests == ["<none>@<none>"])
}

/// docker's imageFormatTaggedAndDigest, with Go's random map order replaced by the
/// order the daemon listed the tags in.
pub fn rows(images: &[ImageSummary], show_digests: bool) -> Vec<Row> {
    let mut out = Vec::new();
    for img in images {
        let row = |repo: &str, tag: &str, digest: &str| Row {
            repo: repo.to_string(),
            tag: tag.to_string(),
            digest: digest.to_string(),
            id: img.id.clone(),
            created: img.created,
            size: img.size,
            shared_size: img.shared_size.unwrap_or(-1),
            containers: img.containers.unwrap_or(-1),
        };
        if is_dangling(img) {
            out.push(row("<none>", "<none>", "<none>"));
            continue;
        }
        let mut repo_tags: Vec<(String, Vec<String>)> = Vec::new();
        for t in &img.repo_tags {
            let Ok(r) = Reference::parse_no_default_tag(t) else {
                continue;
            };
            let Some(tag) = r.tag().filter(|_| r.digest().is_none()) else {
                continue;
            };
            push_grouped(&mut repo_tags, r.familiar_name(), tag.to_string());
        }
        let mut repo_digests: Vec<(String, Vec<String>)> = Vec::new();
        for d in &img.repo_digests {
            let Ok(r) = Reference::parse_no_default_tag(d) else {
                continue;
            };
            let Some(digest) = r.digest() else {
                continue;
            };
            push_grouped(&mut repo_digests, r.familiar_name(), digest.to_string());
        }
        for (repo, tags) in &repo_tags {
            let pos = repo_digests.iter().position(|(r, _)| r == repo);
            // Digests of a tagged repository never get rows of their own.
            let digests = pos.map(|p| repo_digests.remove(p).1).unwrap_or_default();
            for tag in tags {
                if !show_digests || digests.is_empty() {
                    out.push(row(repo, tag, "<none>"));
                } else {
                    for d in &digests {
                        out.push(row(repo, tag, d));
                    }
                }
            }
        }
        for (repo, digests) in &repo_digests {
            if show_digests {
                for d in digests {
                    out.push(row(repo, "<none>", d));
                }
            } else {
                out.push(row(repo, "<none>", ""));
            }
        }
    }
    out
}

fn push_grouped(groups: &mut Vec<(String, Vec<String>)>, key: String, value: String) {
    match groups.iter_mut().find(|(k, _)| *k == key) {
        Some((_, v)) => v.push(value),
        None => groups.push((key, vec![value])),
    }
}

/// docker's default table formats.
fn default_format(digests: bool) -> &'static str {
    if digests {
        "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    } else {
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    }
}

/// The header of each column, as docker's imageContext names them.
fn header_value() -> serde_json::Value {
    json!({
        "Containers": "CONTAINERS", "CreatedAt": "CREATED AT", "CreatedSince": "CREATED",
        "Digest": "DIGEST", "ID": "IMAGE ID", "Repository": "REPOSITORY",
        "SharedSize": "SHARED SIZE", "Size": "SIZE", "Tag": "TAG",
        "UniqueSize": "UNIQUE SIZE", "VirtualSize": "VIRTUAL SIZE",
    })
}

/// What a row's placeholders evaluate to (docker's imageContext; `--format json` prints
/// exactly this object).
fn row_value(r: &Row, no_trunc: bool, now: f64) -> serde_json::Value {
    let human = |n: i64| human_size_prec(n as f64, 3);
    let na_or = |n: i64, f: &dyn Fn(i64) -> String| if n == -1 { "N/A".to_string() } else { f(n) };
    json!({
        "Containers": na_or(r.containers, &|n| n.to_string()),
        "CreatedAt": go_time_string(r.created),
        "CreatedSince": created_since(r.created, now),
        "Digest": r.digest,
        "ID": if no_trunc { r.id.clone() } else { trunc_id(&r.id) },
        "Repository": r.repo,
        "SharedSize": na_or(r.shared_size, &human),
        "Size": human(r.size),
        "Tag": r.tag,
        "UniqueSize": na_or(r.shared_size, &|s| human(r.size - s)),
        // docker renders this one with HumanSize (4 significant digits).
        "VirtualSize": human_size(r.size as f64),
    })
}

pub fn render(rows: &[Row], a: &ImagesArgs, now: f64) -> Result<String> {
    if a.quiet {
        let ids = rows.iter().map(|r| {
            if a.no_trunc {
                format!("{}\n", r.id)
            } else {
                format!("{}\n", trunc_id(&r.id))
            }
        });
        return Ok(ids.collect());
    }
    let format = a
        .format
        .as_deref()
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| default_format(a.digests));
    let values: Vec<_> = rows.iter().map(|r| row_value(r, a.no_trunc, now)).collect();
    format_rows(format, &header_value(), &values, "*formatter.imageContext")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "sha256:a416a98b71e224a31ee99cff8e16063554498227d2b696152a9c3e0aa65e5824";
    const DG: &str = "sha256:3fbc632167424a6d997e74f52b878d7cc478225cffac6bc977eedfe51c7f4e79";

    fn img(tags: &[&str], digests: &[&str]) -> ImageSummary {
        ImageSummary {
            id: ID.into(),
            repo_tags: tags.iter().map(|s| s.to_string()).collect(),
            repo_digests: digests.iter().map(|s| s.to_string()).collect(),
            created: 1_000_000,
            size: 4_261_544,
            shared_size: None,
            containers: None,
        }
    }

    #[test]
    fn table_like_docker() {
        let imgs = vec![
            img(
                &["busybox:latest", "busybox:1.36", "localhost:5000/bb:v1"],
                &[&format!("busybox@{DG}")],
            ),
            img(&[], &[]),
        ];
        let rows = rows(&imgs, false);
        let a = ImagesArgs::default();
        let now = 1_000_000.0 + 14.0 * 86400.0;
        let expected = [
            "REPOSITORY          TAG       IMAGE ID       CREATED       SIZE",
            "busybox             latest    a416a98b71e2   2 weeks ago   4.26MB",
            "busybox             1.36      a416a98b71e2   2 weeks ago   4.26MB",
            "localhost:5000/bb   v1        a416a98b71e2   2 weeks ago   4.26MB",
            "<none>              <none>    a416a98b71e2   2 weeks ago   4.26MB",
        ];
        let got = render(&rows, &a, now).expect("render");
        assert_eq!(got.lines().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn digests_and_quiet() {
        let imgs = vec![
            img(
                &["busybox:latest"],
                &[&format!("docker.io/library/busybox@{DG}")],
            ),
            img(&[], &[&format!("other@{DG}")]),
        ];
        let rows_d = rows(&imgs, true);
        assert_eq!(rows_d.len(), 2);
        assert_eq!(rows_d[0].digest, DG);
        assert_eq!(
            (rows_d[1].repo.as_str(), rows_d[1].tag.as_str()),
            ("other", "<none>")
        );
        let a = ImagesArgs {
            digests: true,
            ..Default::default()
        };
        let out = render(&rows_d, &a, 1_000_000.0).expect("render");
        assert!(out.starts_with("REPOSITORY   TAG       DIGEST"));
        assert!(out.contains(&format!("busybox      latest    {DG}   a416a98b71e2   ")));
        let q = ImagesArgs {
            quiet: true,
            ..Default::default()
        };
        assert_eq!(
            render(&rows_d, &q, 0.0).expect("render"),
            "a416a98b71e2\na416a98b71e2\n"
        );
        let nt = ImagesArgs {
            quiet: true,
            no_trunc: true,
            ..Default::default()
        };
        assert!(render(&rows_d, &nt, 0.0).expect("render").starts_with(ID));
        let rows_nd = rows(&imgs, false);
        assert_eq!(rows_nd[1].digest, "");
    }

    #[test]
    fn format_template() {
        let rows = rows(&[img(&["busybox:latest"], &[])], false);
        let a = ImagesArgs {
            format: Some("{{.Repository}}:{{.Tag}} {{.Size}}".into()),
            ..Default::default()
        };
        assert_eq!(
            render(&rows, &a, 0.0).expect("render"),
            "busybox:latest 4.26MB\n"
        );
    }

    #[test]
    fn lenient_summary() {
        let v: Vec<ImageSummary> =
            serde_json::from_str(r#"[{"Id":"sha256:x","RepoTags":null,"Created":5,"Extra":1}]"#)
                .expect("decode");
        assert!(v[0].repo_tags.is_empty());
        assert_eq!(v[0].created, 5);
    }
}
