//! `rdocker tag` / `rdocker image tag`.

use anyhow::Result;
use clap::Args;

use super::{check_args, Arity, Ctx};
use crate::client::api_path;
use crate::reference::{Reference, ReferenceExt};
use crate::url::{path_escape, query};

#[derive(Args, Debug, Default)]
pub struct TagArgs {
    #[arg(value_name = "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]")]
    pub args: Vec<String>,
}

pub fn run(ctx: &Ctx, name: &str, a: TagArgs) -> Result<()> {
    check_args(&a.args, Arity::Exactly(2), name)?;
    let path = tag_path(&a.args[0], &a.args[1])?;
    ctx.client.request("POST", &path, &[], None)?;
    Ok(())
}

/// Validates both names as docker's client does and builds the request path: the
/// target is split into its full repository name and tag (`latest` by default).
pub fn tag_path(source: &str, target: &str) -> Result<String> {
    // The source may be an image ID as well as a reference.
    let source_ok = Reference::parse_no_default_tag(source).is_ok() || is_id(source);
    if !source_ok {
        anyhow::bail!("Error parsing reference: {source:?} is not a valid repository/tag: invalid reference format");
    }
    let r = Reference::parse_no_default_tag(target).map_err(|e| {
        anyhow::anyhow!("Error parsing reference: {target:?} is not a valid repository/tag: {e}")
    })?;
    if r.digest().is_some() {
        anyhow::bail!("refusing to create a tag with a digest reference");
    }
    let r = r.with_default_tag();
    let params = [
        ("repo", r.name()),
        ("tag", r.tag().unwrap_or("latest").to_string()),
    ];
    Ok(api_path(&format!(
        "/images/{}/tag{}",
        path_escape(source),
        query(&params)
    )))
}

fn is_id(s: &str) -> bool {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    !hex.is_empty() && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_split() {
        assert_eq!(
            tag_path("busybox", "localhost:5000/bb").expect("path"),
            "/v1.44/images/busybox/tag?repo=localhost%3A5000%2Fbb&tag=latest"
        );
        assert_eq!(
            tag_path("sha256:abcd", "me/bb:v2").expect("path"),
            "/v1.44/images/sha256:abcd/tag?repo=docker.io%2Fme%2Fbb&tag=v2"
        );
        let e = tag_path("busybox", "Bad").expect_err("error");
        assert_eq!(e.to_string(), "Error parsing reference: \"Bad\" is not a valid repository/tag: invalid reference format: repository name (library/Bad) must be lowercase");
        let dg = format!("bb@sha256:{}", "a".repeat(64));
        assert!(tag_path("busybox", &dg).is_err());
    }
}
