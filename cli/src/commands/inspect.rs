//! `rdocker image inspect` and `rdocker inspect`: the daemon's JSON, re-indented with four
//! spaces as docker prints it, or one `-f` template result per object.

use std::io::{self, Write};

use anyhow::Result;
use clap::Args;
use serde_json::Value;

use super::{check_args, status_err, Arity, Ctx};
use crate::client::{api_path, ApiError};
use crate::rawjson::indent_json;
use crate::template::{Data, Template};
use crate::url::path_escape;

#[derive(Args, Debug, Default)]
pub struct InspectArgs {
    /// Format output using a Go template (a subset: {{.Field.Sub}}, json, index, join)
    #[arg(short, long)]
    pub format: Option<String>,
    /// Return JSON for specified type ("container", "image" or "volume")
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// Display total file sizes (accepted for compatibility)
    #[arg(short, long)]
    pub size: bool,
    #[arg(value_name = "NAME|ID")]
    pub args: Vec<String>,
}

#[derive(Clone, Copy, PartialEq)]
pub enum Scope {
    /// `image inspect`: images only, daemon errors as they come.
    Image,
    /// `inspect`: containers, then images, then volumes; "No such object" if none exists.
    Any,
    /// `container inspect`.
    Container,
    /// `volume inspect`.
    Volume,
    /// `network inspect`.
    Network,
}

pub fn run(ctx: &Ctx, name: &str, a: InspectArgs, scope: Scope) -> Result<()> {
    check_args(&a.args, Arity::AtLeast(1), name)?;
    let template = match a
        .format
        .as_deref()
        .filter(|f| !f.is_empty() && *f != "json")
    {
        Some(f) => Some(
            Template::parse(f)
                .map_err(|e| status_err(64, format!("template parsing error: {e}")))?,
        ),
        None => None,
    };
    let kinds: &[&str] = match (scope, a.kind.as_deref()) {
        (Scope::Image, _) | (Scope::Any, Some("image")) => &["images"],
        (Scope::Container, _) | (Scope::Any, Some("container")) => &["containers"],
        (Scope::Volume, _) | (Scope::Any, Some("volume")) => &["volumes"],
        (Scope::Network, _) | (Scope::Any, Some("network")) => &["networks"],
        (Scope::Any, None | Some("")) => &["containers", "images", "volumes", "networks"],
        (Scope::Any, Some(other)) => {
            return Err(status_err(
                1,
                format!("\"{other}\" is not a valid value for --type"),
            ))
        }
    };

    let mut raws = Vec::new();
    let mut errs = Vec::new();
    for obj in &a.args {
        match fetch(ctx, obj, kinds) {
            Ok(found) => raws.push(found),
            Err(e) => {
                let not_found = e
                    .downcast_ref::<ApiError>()
                    .is_some_and(|x| x.status == 404);
                if scope == Scope::Any && not_found && kinds.len() > 1 {
                    errs.push(format!("Error: No such object: {obj}"));
                } else {
                    errs.push(format!("{e:#}"));
                }
            }
        }
    }

    let mut out = String::new();
    match &template {
        None => {
            let raws: Vec<Vec<u8>> = raws.into_iter().map(|(_, r)| r).collect();
            out = render_indented(&raws)?
        }
        Some(t) => {
            for (kind, raw) in &raws {
                let v: Value = serde_json::from_slice(raw)?;
                let data = Data {
                    value: &v,
                    raw: Some(raw),
                    root_type: None,
                    omitempty_config: *kind == "images",
                };
                // As docker: a failing object leaves an empty line and its error.
                match t.execute_data(&data) {
                    Ok(s) => out.push_str(&s),
                    Err(e) => errs.push(format!("template parsing error: {e}")),
                }
                out.push('\n');
            }
        }
    }
    let stdout = io::stdout();
    let mut lock = stdout.lock();
    lock.write_all(out.as_bytes())?;
    lock.flush()?;
    if !errs.is_empty() {
        return Err(status_err(1, errs.join("\n")));
    }
    Ok(())
}

/// The first kind of object that has this name, and its raw JSON.
fn fetch<'k>(ctx: &Ctx, obj: &str, kinds: &[&'k str]) -> Result<(&'k str, Vec<u8>)> {
    let mut last = None;
    for kind in kinds {
        // Volumes and networks are the kinds whose inspect path has no "/json".
        let path = if *kind == "volumes" || *kind == "networks" {
            api_path(&format!("/{kind}/{}", path_escape(obj)))
        } else {
            api_path(&format!("/{kind}/{}/json", path_escape(obj)))
        };
        match ctx.client.get_bytes(&path) {
            Ok(raw) => return Ok((kind, raw)),
            Err(e)
                if e.downcast_ref::<ApiError>()
                    .is_some_and(|x| x.status == 404) =>
            {
                last = Some(e)
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("Error: No such object: {obj}")))
}

/// docker's IndentedInspector: `[]` when nothing was found, else the objects as one
/// JSON array indented with four spaces, key order and numbers as the daemon sent them.
pub fn render_indented(raws: &[Vec<u8>]) -> Result<String> {
    if raws.is_empty() {
        return Ok("[]\n".into());
    }
    let mut arr = Vec::from(&b"["[..]);
    for (i, raw) in raws.iter().enumerate() {
        // Refuse to re-indent something that is not JSON (it would come out mangled).
        serde_json::from_slice::<serde::de::IgnoredAny>(raw)
            .map_err(|e| anyhow::anyhow!("decoding the daemon's answer: {e}"))?;
        if i > 0 {
            arr.push(b',');
        }
        arr.extend_from_slice(raw);
    }
    arr.push(b']');
    let mut s = indent_json(&arr, "    ");
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indented_array() {
        assert_eq!(render_indented(&[]).expect("render"), "[]\n");
        let raws = vec![br#"{"Id":"sha256:1","RepoTags":["a:b"]}"#.to_vec()];
        assert_eq!(
            render_indented(&raws).expect("render"),
            "[\n    {\n        \"Id\": \"sha256:1\",\n        \"RepoTags\": [\n            \"a:b\"\n        ]\n    }\n]\n"
        );
        assert!(render_indented(&[b"{nope".to_vec()]).is_err());
    }
}
