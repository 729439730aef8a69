//! Volume routes: `GET /volumes`, `POST /volumes/create`, `POST /volumes/prune`,
//! `GET /volumes/{name}`, `DELETE /volumes/{name}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::Json;
use bollard_stubs::models::{Volume, VolumeCreateRequest, VolumeListResponse, VolumePruneResponse};

use crate::errors::ApiError;
use crate::filters::Filters;
use crate::routes::{Params, PathName};
use crate::state::SharedState;
use crate::versioning::ApiVersion;
use crate::volumes::{ListFilter, PruneFilter, VolumeError, VolumeStore};

/// Volume calls touch the filesystem (and prune may delete large trees): off the runtime
/// workers, like the image store's.
async fn blocking<T, F>(st: &SharedState, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&VolumeStore) -> Result<T, VolumeError> + Send + 'static,
    T: Send + 'static,
{
    let volumes = Arc::clone(&st.volumes);
    Ok(tokio::task::spawn_blocking(move || f(&volumes)).await??)
}

/// `GET /volumes?filters=`.
pub async fn list(
    State(st): State<SharedState>,
    params: Params,
) -> Result<Json<VolumeListResponse>, ApiError> {
    let filter = ListFilter::new(&Filters::parse(params.get("filters"))?)?;
    let volumes = blocking(&st, move |v| v.list(&filter)).await?;
    Ok(Json(VolumeListResponse {
        volumes: Some(volumes),
        warnings: Some(Vec::new()),
    }))
}

/// `POST /volumes/create` with a `VolumeCreateOptions` body → 201 and the volume.
pub async fn create(
    State(st): State<SharedState>,
    body: Bytes,
) -> Result<(StatusCode, Json<Volume>), ApiError> {
    let req: VolumeCreateRequest = if body.iter().all(u8::is_ascii_whitespace) {
        VolumeCreateRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))?
    };
    let name = req.name.unwrap_or_default();
    match req.driver.as_deref() {
        None | Some("") | Some("local") => {}
        Some(d) => {
            return Err(ApiError::not_found(format!(
                "create {name}: error looking up volume plugin {d}: plugin \"{d}\" not found"
            )))
        }
    }
    let labels = req.labels.unwrap_or_default();
    let opts = req.driver_opts.unwrap_or_default();
    let vol = blocking(&st, move |v| v.create(Some(&name), labels, opts)).await?;
    Ok((StatusCode::CREATED, Json(vol)))
}

/// `POST /volumes/prune?filters=` → `{VolumesDeleted, SpaceReclaimed}`.
pub async fn prune(
    State(st): State<SharedState>,
    Extension(version): Extension<ApiVersion>,
    params: Params,
) -> Result<Json<VolumePruneResponse>, ApiError> {
    let mut filter = PruneFilter::new(&Filters::parse(params.get("filters"))?)?;
    if version.less_than("1.42") {
        filter = filter.include_named();
    }
    Ok(Json(blocking(&st, move |v| v.prune(&filter)).await?))
}

/// `GET /volumes/{name}`.
pub async fn inspect(
    State(st): State<SharedState>,
    PathName(name): PathName,
) -> Result<Json<Volume>, ApiError> {
    Ok(Json(blocking(&st, move |v| v.get(&name)).await?))
}

/// `DELETE /volumes/{name}?force=` → 204.
pub async fn remove(
    State(st): State<SharedState>,
    PathName(name): PathName,
    params: Params,
) -> Result<StatusCode, ApiError> {
    let force = params.bool("force");
    blocking(&st, move |v| v.remove(&name, force)).await?;
    Ok(StatusCode::NO_CONTENT)
}
