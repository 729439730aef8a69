//! Exec routes: create in a running container, start (hijacked like attach, or detached),
//! inspect, resize.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bollard_stubs::models::{ExecConfig, ExecStartConfig};
use hyper_util::rt::TokioIo;
use serde_json::json;

use tokio::io::AsyncWriteExt;

use crate::containers::ContainerError;
use crate::errors::ApiError;
use crate::hijack::{self, PumpOpts};
use crate::routes::containers::json_body;
use crate::routes::{Params, PathName};
use crate::state::SharedState;

type ApiResult<T> = Result<T, ApiError>;

pub async fn create(
    State(st): State<SharedState>,
    PathName(name): PathName,
    body: Bytes,
) -> ApiResult<Response> {
    let e = st.containers.get(&name)?;
    let cfg: ExecConfig = json_body(&body)?;
    if let Some(k) = cfg.detach_keys.as_deref().filter(|k| !k.is_empty()) {
        hijack::parse_detach_keys(k).map_err(ApiError::bad_request)?;
    }
    let id = st.containers.exec_create(&e, cfg)?;
    Ok((StatusCode::CREATED, Json(json!({ "Id": id }))).into_response())
}

pub async fn start(
    State(st): State<SharedState>,
    PathName(name): PathName,
    mut req: Request,
) -> ApiResult<Response> {
    let exec = st.containers.execs.get(&name)?;
    let body = axum::body::to_bytes(std::mem::take(req.body_mut()), 1 << 20)
        .await
        .map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
    let start: ExecStartConfig = json_body(&body)?;
    let detach = start.detach.unwrap_or(false);
    let mut started = match st.containers.exec_start(&exec, !detach).await {
        Ok(s) => s,
        // dockerd hijacks first and reports a command that cannot run inside the stream (the
        // exit code, 126/127, is in `GET /exec/{id}/json`): the CLI prints it and exits with it.
        Err(ContainerError::StartFailed { message, .. })
            if !detach && hijack::wants_upgrade(req.headers()) =>
        {
            let tty = exec.config.tty.unwrap_or(false) || start.tty.unwrap_or(false);
            return Ok(failed_in_stream(&mut req, tty, message));
        }
        Err(e) => return Err(e.into()),
    };
    let ready = started.ready.take();
    if detach {
        if let Some(r) = ready {
            st.containers.exec_run(&exec, r).await?;
        }
        return Ok(StatusCode::OK.into_response());
    }
    let cfg = &exec.config;
    let tty = cfg.tty.unwrap_or(false) || start.tty.unwrap_or(false);
    let stdin = cfg.attach_stdin.unwrap_or(false);
    let detach_keys = match cfg.detach_keys.as_deref().filter(|k| !k.is_empty()) {
        Some(k) => hijack::parse_detach_keys(k).map_err(ApiError::bad_request)?,
        None => hijack::DEFAULT_DETACH.to_vec(),
    };
    let shim = started.stream;
    let mut done = exec.done.subscribe();
    let recorded: hijack::Recorded = Box::pin(async move {
        let _ = done.wait_for(|d| *d).await;
    });
    if !hijack::wants_upgrade(req.headers()) {
        if let Some(r) = ready {
            st.containers.exec_run(&exec, r).await?;
        }
        let body = hijack::body(async move { shim }, tty, Vec::new(), Some(recorded));
        return Ok(([(header::CONTENT_TYPE, hijack::content_type(tty))], body).into_response());
    }
    let on_upgrade = hyper::upgrade::on(&mut req);
    let mgr = st.containers.clone();
    tokio::spawn(async move {
        let upgraded = on_upgrade.await;
        if let Some(r) = ready {
            // Runs even when the client went away: docker runs a started exec regardless.
            if let Err(err) = mgr.exec_run(&exec, r).await {
                tracing::debug!("exec {}: {err}", exec.id);
            }
        }
        match upgraded {
            Ok(u) => {
                let opts = PumpOpts {
                    tty,
                    stdin,
                    detach_keys,
                    prefix: Vec::new(),
                    recorded: Some(recorded),
                };
                hijack::pump(TokioIo::new(u), shim, opts).await;
            }
            Err(err) => tracing::debug!("exec upgrade: {err}"),
        }
    });
    Ok(hijack::upgraded(tty))
}

/// Answers 101 and writes `message` as the stream's only output.
fn failed_in_stream(req: &mut Request, tty: bool, message: String) -> Response {
    let on_upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let mut io = TokioIo::new(upgraded);
        let text = format!("{message}\r\n").into_bytes();
        let out = if tty { text } else { hijack::frame(1, &text) };
        let _ = io.write_all(&out).await;
        let _ = io.shutdown().await;
    });
    hijack::upgraded(tty)
}

pub async fn resize(
    State(st): State<SharedState>,
    PathName(name): PathName,
    p: Params,
) -> ApiResult<Response> {
    let exec = st.containers.execs.get(&name)?;
    let num = |k: &str| {
        p.get(k)
            .filter(|v| !v.is_empty())
            .map(|v| v.parse::<u64>())
            .transpose()
            .map_err(|_| ApiError::bad_request(format!("invalid value for {k}")))
    };
    let (h, w) = (num("h")?.unwrap_or(0), num("w")?.unwrap_or(0));
    st.containers.exec_resize(&exec, h, w).await?;
    Ok(StatusCode::OK.into_response())
}

pub async fn inspect(
    State(st): State<SharedState>,
    PathName(name): PathName,
) -> ApiResult<Response> {
    let exec = st.containers.execs.get(&name)?;
    Ok(Json(exec.inspect()).into_response())
}
