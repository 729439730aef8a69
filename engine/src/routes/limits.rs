//! Container routes backed by the cgroup: stats, update, pause, unpause.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bollard_stubs::models::{ContainerUpdateBody, ContainerUpdateResponse};

use crate::containers::limits::stats::{response, Meta, Sample};
use crate::containers::record::Status;
use crate::errors::ApiError;
use crate::routes::containers::json_body;
use crate::routes::{Params, PathName};
use crate::state::SharedState;

type ApiResult<T> = Result<T, ApiError>;

/// dockerd's collector interval.
const INTERVAL: Duration = Duration::from_secs(1);

fn line(v: &impl serde::Serialize) -> Bytes {
    let mut b = serde_json::to_vec(v).unwrap_or_default();
    b.push(b'\n');
    Bytes::from(b)
}

fn json_response(b: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], b).into_response()
}

/// `GET /containers/{id}/stats?stream=1|0&one-shot=0|1`.
pub async fn stats(
    State(st): State<SharedState>,
    PathName(name): PathName,
    p: Params,
) -> ApiResult<Response> {
    let e = st.containers.get(&name)?;
    // Docker streams unless told otherwise.
    let stream = p.get("stream").is_none() || p.bool("stream");
    let one_shot = p.bool("one-shot");
    let c = e.rec();
    let meta = Meta {
        name: c.name.clone(),
        id: c.id.clone(),
        online_cpus: st.containers.limits.host().online_cpus,
        v1: st.containers.limits.is_v1(),
    };
    let mgr = st.containers.clone();
    if c.state.status != Status::Running {
        // dockerd: a stopped (or restarting) container has one zero-valued sample.
        return Ok(json_response(line(&response(&meta, None, None))));
    }
    if !stream {
        let first = mgr.stats_sample(&e.id).await?;
        if one_shot || first.is_none() {
            return Ok(json_response(line(&response(&meta, first.as_ref(), None))));
        }
        // As dockerd without one-shot: a second sample so that precpu_stats is filled.
        tokio::time::sleep(INTERVAL).await;
        let second = match e.with(|c| c.state.status == Status::Running) {
            true => mgr.stats_sample(&e.id).await?,
            false => None,
        };
        let v = match &second {
            Some(s) => response(&meta, Some(s), first.as_ref()),
            None => response(&meta, first.as_ref(), None),
        };
        return Ok(json_response(line(&v)));
    }
    struct Loop {
        first: bool,
        prev: Option<Sample>,
    }
    let state = Loop {
        first: true,
        prev: None,
    };
    let body = futures_util::stream::unfold(state, move |mut s| {
        let (mgr, e, meta) = (mgr.clone(), e.clone(), meta.clone());
        async move {
            if !s.first {
                tokio::time::sleep(INTERVAL).await;
            }
            s.first = false;
            if !e.with(|c| c.state.status == Status::Running) {
                return None;
            }
            let cur = match mgr.stats_sample(&e.id).await {
                Ok(Some(cur)) => cur,
                Ok(None) => return None,
                Err(err) => {
                    tracing::debug!("stats of {}: {err}", e.id);
                    return None;
                }
            };
            let out = line(&response(&meta, Some(&cur), s.prev.as_ref()));
            s.prev = Some(cur);
            Some((Ok::<_, std::io::Error>(out), s))
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}

/// `POST /containers/{id}/update`.
pub async fn update(
    State(st): State<SharedState>,
    PathName(name): PathName,
    body: Bytes,
) -> ApiResult<Response> {
    let e = st.containers.get(&name)?;
    let body: ContainerUpdateBody = json_body(&body)?;
    let warnings = st.containers.update_container(&e, body).await?;
    Ok(axum::Json(ContainerUpdateResponse {
        warnings: Some(warnings),
    })
    .into_response())
}

async fn set_paused(st: SharedState, name: &str, pause: bool) -> ApiResult<Response> {
    let e = st.containers.get(name)?;
    st.containers.set_paused(&e, pause).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /containers/{id}/pause`.
pub async fn pause(State(st): State<SharedState>, PathName(name): PathName) -> ApiResult<Response> {
    set_paused(st, &name, true).await
}

/// `POST /containers/{id}/unpause`.
pub async fn unpause(
    State(st): State<SharedState>,
    PathName(name): PathName,
) -> ApiResult<Response> {
    set_paused(st, &name, false).await
}
