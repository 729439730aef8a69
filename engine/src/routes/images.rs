//! `/images/json`, `/images/{name}/json`, `/images/{name}/history`, `/images/{name}/tag`,
//! `DELETE /images/{name}`. Bodies are bollard's Docker API models.

use std::collections::HashMap;
use std::path::PathBuf;

use axum::extract::{Extension, State};
use axum::http::StatusCode;

use crate::containers::record::Status;
use axum::Json;
use bollard_stubs::models::{
    DriverData, HistoryResponseItem, ImageConfig, ImageDeleteResponseItem, ImageInspect,
    ImageInspectMetadata, ImageInspectRootFs, ImageSummary,
};
use rdocker_image_store::{ImageInfo, Reference, RemoveAction};

use crate::errors::ApiError;
use crate::filters::{path_match, Filters};
use crate::routes::{Params, PathName};
use crate::state::SharedState;
use crate::versioning::ApiVersion;

/// Seconds since the epoch of an RFC 3339 time; 0 when absent or unparsable (as Docker shows
/// images without a creation time).
fn unix_seconds(created: Option<&str>) -> i64 {
    created
        .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
        .map_or(0, |t| t.timestamp())
}

/// `busybox:latest` → `busybox`, `127.0.0.1:5000/foo:1` → `127.0.0.1:5000/foo`,
/// `busybox@sha256:…` → `busybox`. The tag colon is the one after the last slash.
fn familiar_name(reference: &str) -> &str {
    let reference = reference.split('@').next().unwrap_or(reference);
    let last_slash = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[last_slash..].rfind(':') {
        Some(i) => &reference[..last_slash + i],
        None => reference,
    }
}

/// Docker's `reference.FamiliarMatch`: the pattern against `name:tag`, then against `name`.
/// Patterns were validated up front, so a match error counts as no match.
fn reference_matches(patterns: &[String], reference: &str) -> bool {
    patterns.iter().any(|p| {
        path_match(p, reference).unwrap_or(false)
            || path_match(p, familiar_name(reference)).unwrap_or(false)
    })
}

/// Builds the list answer from the store's images (separate from the handler for tests).
pub fn summarize(
    images: Vec<ImageInfo>,
    filters: &Filters,
    version: &ApiVersion,
) -> Result<Vec<ImageSummary>, ApiError> {
    filters.validate(&["reference", "dangling"])?;
    let dangling = filters.get_bool("dangling")?;
    let patterns = filters.get("reference");
    for p in patterns {
        // Go's path.Match reports a malformed pattern whatever the name; "" exercises it.
        path_match(p, "")
            .map_err(|e| ApiError::bad_request(format!("invalid reference filter {p:?}: {e}")))?;
    }
    let mut out = Vec::new();
    for img in images {
        let (mut tags, mut digests) = (img.repo_tags, img.repo_digests);
        let untagged = tags.is_empty() && digests.is_empty();
        match dangling {
            Some(true) if !tags.is_empty() => continue,
            Some(false) if tags.is_empty() => continue,
            _ => {}
        }
        if !patterns.is_empty() {
            // Like dockerd, only the matching references are listed, and an image without any
            // is left out.
            tags.retain(|t| reference_matches(patterns, t));
            digests.retain(|d| reference_matches(patterns, d));
            if tags.is_empty() && digests.is_empty() {
                continue;
            }
        }
        // API < 1.43 clients expect placeholders for untagged images.
        if untagged && version.less_than("1.43") {
            tags = vec!["<none>:<none>".to_string()];
            digests = vec!["<none>@<none>".to_string()];
        }
        let labels = img
            .config
            .config()
            .as_ref()
            .and_then(|c| c.labels().clone())
            .unwrap_or_default();
        out.push(ImageSummary {
            id: img.id,
            parent_id: String::new(),
            repo_tags: tags,
            repo_digests: digests,
            created: unix_seconds(img.created.as_deref()),
            size: img.size as i64,
            shared_size: -1,
            labels,
            containers: -1,
            ..Default::default()
        });
    }
    // Newest first, like `docker images`.
    out.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

/// `GET /images/json?all=&digests=&filters=`. `all` changes nothing: we keep no intermediate
/// images. `digests` neither: RepoDigests are always sent, as by current dockerd.
pub async fn list(
    State(st): State<SharedState>,
    Extension(version): Extension<ApiVersion>,
    params: Params,
) -> Result<Json<Vec<ImageSummary>>, ApiError> {
    let filters = Filters::parse(params.get("filters"))?;
    let images = st.blocking(|s| Ok::<_, ApiError>(s.list())).await?;
    Ok(Json(summarize(images, &filters, &version)?))
}

/// The inspect document of an image (separate from the handler for tests).
pub fn inspect_doc(img: ImageInfo, layer_dirs: Vec<PathBuf>) -> ImageInspect {
    let cfg = img.config.config().clone().unwrap_or_default();
    let diff_ids = img.config.rootfs().diff_ids().clone();
    let mut graph = HashMap::new();
    // Overlay lists lower dirs top-most first; the top layer plays UpperDir as in dockerd.
    let mut dirs: Vec<String> = layer_dirs.iter().map(|p| p.display().to_string()).collect();
    if let Some(upper) = dirs.pop() {
        graph.insert("UpperDir".to_string(), upper);
    }
    if !dirs.is_empty() {
        dirs.reverse();
        graph.insert("LowerDir".to_string(), dirs.join(":"));
    }
    ImageInspect {
        id: Some(img.id),
        repo_tags: Some(img.repo_tags),
        repo_digests: Some(img.repo_digests),
        comment: Some(String::new()),
        created: img.created,
        author: Some(img.config.author().clone().unwrap_or_default()),
        config: Some(ImageConfig {
            user: Some(cfg.user().clone().unwrap_or_default()),
            exposed_ports: cfg.exposed_ports().clone(),
            env: cfg.env().clone(),
            cmd: cfg.cmd().clone(),
            volumes: cfg.volumes().clone(),
            working_dir: Some(cfg.working_dir().clone().unwrap_or_default()),
            entrypoint: cfg.entrypoint().clone(),
            labels: cfg.labels().clone(),
            stop_signal: cfg.stop_signal().clone(),
            ..Default::default()
        }),
        architecture: Some(img.architecture),
        variant: img.variant,
        os: Some(img.os),
        size: Some(img.size as i64),
        graph_driver: Some(DriverData {
            name: "overlay2".to_string(),
            data: graph,
        }),
        root_fs: Some(ImageInspectRootFs {
            typ: "layers".to_string(),
            layers: Some(diff_ids),
        }),
        metadata: Some(ImageInspectMetadata {
            // We do not record tag times; Go's zero time is what dockerd shows for "never".
            last_tag_time: Some("0001-01-01T00:00:00Z".to_string()),
        }),
        ..Default::default()
    }
}

/// `GET /images/{name}/json`.
pub async fn inspect(
    State(st): State<SharedState>,
    PathName(name): PathName,
) -> Result<Json<ImageInspect>, ApiError> {
    let (img, dirs) = st
        .blocking(move |s| {
            let img = s.get(&name)?;
            let dirs = s.layer_dirs(&img.id)?;
            Ok::<_, rdocker_image_store::StoreError>((img, dirs))
        })
        .await?;
    Ok(Json(inspect_doc(img, dirs)))
}

/// `GET /images/{name}/history`.
pub async fn history(
    State(st): State<SharedState>,
    PathName(name): PathName,
) -> Result<Json<Vec<HistoryResponseItem>>, ApiError> {
    let entries = st.blocking(move |s| s.history(&name)).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| HistoryResponseItem {
                id: e.id,
                created: e.created,
                created_by: e.created_by,
                tags: e.tags,
                size: e.size as i64,
                comment: e.comment,
            })
            .collect(),
    ))
}

/// Docker's tag grammar: `[\w][\w.-]{0,127}`.
fn valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    tag.len() <= 128
        && chars.next().is_some_and(word)
        && chars.all(|c| word(c) || c == '.' || c == '-')
}

/// The target of `POST /images/{name}/tag?repo=&tag=` as dockerd builds it.
pub fn tag_target(repo: Option<&str>, tag: Option<&str>) -> Result<Reference, ApiError> {
    let repo = repo.unwrap_or("");
    if repo.is_empty() {
        return Err(ApiError::bad_request(
            "repository name must have at least one component",
        ));
    }
    let r = Reference::parse_no_default_tag(repo)?;
    if r.digest().is_some() {
        return Err(ApiError::bad_request(
            "refusing to create a tag with a digest reference",
        ));
    }
    match tag.filter(|t| !t.is_empty()) {
        Some(t) if !valid_tag(t) => {
            Err(ApiError::bad_request(format!("invalid tag format: {t:?}")))
        }
        Some(t) => Ok(r.with_tag(t)),
        None if r.tag().is_some() => Ok(r),
        None => Ok(r.with_tag("latest")),
    }
}

/// `POST /images/{name}/tag` → 201, empty body.
pub async fn tag(
    State(st): State<SharedState>,
    PathName(name): PathName,
    params: Params,
) -> Result<StatusCode, ApiError> {
    let target = tag_target(params.get("repo"), params.get("tag"))?;
    let familiar = target.familiar();
    let id = st
        .blocking(move |s| {
            s.tag(&name, &target)?;
            Ok::<_, rdocker_image_store::StoreError>(s.get(&name).ok().map(|i| i.id))
        })
        .await?;
    if let Some(id) = id {
        let attrs = HashMap::from([("name".to_string(), familiar)]);
        st.events.publish("image", "tag", &id, attrs);
    }
    Ok(StatusCode::CREATED)
}

/// `DELETE /images/{name}?force=&noprune=`.
pub async fn remove(
    State(st): State<SharedState>,
    PathName(name): PathName,
    params: Params,
) -> Result<Json<Vec<ImageDeleteResponseItem>>, ApiError> {
    let (force, noprune) = (params.bool("force"), params.bool("noprune"));
    refuse_if_used(&st, &name, force).await?;
    let (id, actions) = st
        .blocking(move |s| {
            let id = s.get(&name).ok().map(|i| i.id);
            Ok::<_, rdocker_image_store::StoreError>((id, s.remove(&name, force, noprune)?))
        })
        .await?;
    // dockerd names the image by its id in both (`untag` once per removed reference).
    for a in &actions {
        let (action, image) = match a {
            RemoveAction::Untagged(_) => ("untag", id.clone().unwrap_or_default()),
            RemoveAction::Deleted(d) => ("delete", d.clone()),
        };
        let attrs = HashMap::from([("name".to_string(), image.clone())]);
        st.events.publish("image", action, &image, attrs);
    }
    Ok(Json(
        actions
            .into_iter()
            .map(|a| match a {
                RemoveAction::Untagged(r) => ImageDeleteResponseItem {
                    untagged: Some(r),
                    deleted: None,
                },
                RemoveAction::Deleted(id) => ImageDeleteResponseItem {
                    untagged: None,
                    deleted: Some(id),
                },
            })
            .collect(),
    ))
}

/// dockerd's conflicts for an image that containers use: removing a tag that others share is
/// fine; deleting the image is refused. Unlike dockerd, `force` never deletes an image a stopped
/// container still needs (dockerd leaves it untagged instead): its layers are the container's
/// root file system.
async fn refuse_if_used(st: &SharedState, name: &str, force: bool) -> Result<(), ApiError> {
    let store = st.store.clone();
    let lookup = name.to_string();
    let Ok(info) = tokio::task::spawn_blocking(move || store.get(&lookup)).await? else {
        return Ok(()); // the store reports the missing image itself
    };
    let by_id = {
        let hex = name.strip_prefix("sha256:").unwrap_or(name);
        hex.len() >= 4
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
            && info.id.trim_start_matches("sha256:").starts_with(hex)
    };
    if !by_id && info.repo_tags.len() > 1 {
        return Ok(());
    }
    let users: Vec<_> = st
        .containers
        .all()
        .into_iter()
        .map(|e| e.rec())
        .filter(|c| c.image_id == info.id)
        .collect();
    let Some(c) = users
        .iter()
        .find(|c| c.state.status == Status::Running)
        .or(users.first())
    else {
        return Ok(());
    };
    let short_img = short(&info.id);
    let short_ctr = &c.id[..12.min(c.id.len())];
    let msg = if c.state.status == Status::Running {
        format!(
            "conflict: unable to delete {short_img} (cannot be forced) - image is being used by running container {short_ctr}"
        )
    } else if by_id || force {
        format!(
            "conflict: unable to delete {short_img} (must be forced) - image is being used by stopped container {short_ctr}"
        )
    } else {
        format!(
            "conflict: unable to remove repository reference \"{name}\" (must force) - container {short_ctr} is using its referenced image {short_img}"
        )
    };
    Err(ApiError::new(StatusCode::CONFLICT, msg))
}

fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..12.min(hex.len())]
}

#[cfg(test)]
#[path = "images_tests.rs"]
mod tests;
