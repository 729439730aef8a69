//! Container routes (create, start, stop, attach, logs, ...). The work is in
//! `crate::containers`; these parse the query and body and shape the answer.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bollard_stubs::models::{ContainerCreateBody, ContainerCreateResponse, ContainerWaitResponse};
use hyper_util::rt::TokioIo;
use serde_json::json;

use crate::containers::record::Status;
use crate::containers::{list::ListFilter, shim, signal, view, ContainerError, Entry};
use crate::errors::ApiError;
use crate::filters::Filters;
use crate::hijack::{self, PumpOpts};
use crate::routes::{Params, PathName};
use crate::state::SharedState;

type ApiResult<T> = Result<T, ApiError>;

fn entry(st: &SharedState, name: &str) -> ApiResult<Arc<Entry>> {
    Ok(st.containers.get(name)?)
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// `NotModified` is an answer, not an error: 304 without a body.
fn done(r: Result<(), ContainerError>) -> Response {
    match r {
        Ok(()) => no_content(),
        Err(ContainerError::NotModified) => StatusCode::NOT_MODIFIED.into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

pub fn json_body<T: serde::de::DeserializeOwned + Default>(body: &Bytes) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))
}

fn int_param(p: &Params, key: &str) -> ApiResult<Option<i64>> {
    match p.get(key).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("invalid value for {key}: {v}"))),
    }
}

fn signal_param(p: &Params) -> ApiResult<Option<i32>> {
    match p.get("signal").filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(s) => signal::parse(s)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("Invalid signal: {s}"))),
    }
}

pub async fn create(
    State(st): State<SharedState>,
    p: Params,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<ContainerCreateResponse>)> {
    let body: ContainerCreateBody = json_body(&body)?;
    let (id, warnings) = st.containers.create(p.get("name"), body).await?;
    Ok((
        StatusCode::CREATED,
        Json(ContainerCreateResponse { id, warnings }),
    ))
}

pub async fn list(State(st): State<SharedState>, p: Params) -> ApiResult<Response> {
    let filters = Filters::parse(p.get("filters"))?;
    let store = st.store.clone();
    let filter = ListFilter::new(filters, |a| store.get(a).ok().map(|i| i.id))?;
    let limit = int_param(&p, "limit")?
        .filter(|n| *n > 0)
        .map(|n| n as usize);
    let size = p.bool("size");
    let mgr = st.containers.clone();
    let all = p.bool("all");
    let out = tokio::task::spawn_blocking(move || {
        let now = chrono::Utc::now();
        mgr.list(all, limit, &filter)
            .iter()
            .map(|c| {
                let s = size.then(|| mgr.sizes(c));
                view::summary(c, &mgr.volumes.root, now, s)
            })
            .collect::<Vec<_>>()
    })
    .await?;
    Ok(Json(out).into_response())
}

pub async fn prune(State(st): State<SharedState>, p: Params) -> ApiResult<Response> {
    let filters = Filters::parse(p.get("filters"))?;
    Ok(Json(st.containers.prune(filters).await?).into_response())
}

pub async fn inspect(
    State(st): State<SharedState>,
    PathName(name): PathName,
    p: Params,
) -> ApiResult<Response> {
    let e = entry(&st, &name)?;
    let mgr = st.containers.clone();
    let size = p.bool("size");
    let out = tokio::task::spawn_blocking(move || {
        let c = e.rec();
        let s = size.then(|| mgr.sizes(&c));
        let mut v = view::inspect(
            &c,
            &mgr.bundle(&c.id),
            &mgr.volumes.root,
            mgr.execs.ids_for(&c.id),
            s,
        );
        if let (Some(g), Ok(dirs)) = (v.graph_driver.as_mut(), mgr.store.layer_dirs(&c.image_id)) {
            let lower: Vec<String> = dirs.iter().rev().map(|d| d.display().to_string()).collect();
            g.data.insert("LowerDir".into(), lower.join(":"));
        }
        v
    })
    .await?;
    let mut out = serde_json::to_value(out).map_err(|e| ApiError::internal(e.to_string()))?;
    crate::network::hooks::add_legacy_fields(&mut out);
    Ok(Json(out).into_response())
}

pub async fn start(State(st): State<SharedState>, PathName(name): PathName) -> Response {
    match entry(&st, &name) {
        Ok(e) => done(st.containers.start(&e).await),
        Err(e) => e.into_response(),
    }
}

fn stop_params(p: &Params) -> ApiResult<(Option<i64>, Option<i32>)> {
    let t = match int_param(p, "t")? {
        Some(t) => Some(t),
        None => int_param(p, "timeout")?,
    };
    Ok((t, signal_param(p)?))
}

pub async fn stop(
    State(st): State<SharedState>,
    PathName(name): PathName,
    p: Params,
) -> ApiResult<Response> {
    let e = entry(&st, &name)?;
    let (t, sig) = stop_params(&p)?;
    Ok(done(st.containers.stop(&e, t, sig).await))
}

pub async fn restart(
    State(st): State<SharedState>,
    PathName(name): PathName,
    p: Params,
) -> ApiResult<Response> {
    let e = entry(&st, &name)?;
    let (t, sig) = stop_params(&p)?;
    Ok(done(st.containers.restart(&e, t, sig).await))
}

pub async fn kill(
    State(st): State<SharedState>,
    PathName(name): PathName,
    p: Params,
) -> ApiResult<Response> {
    let e = entry(&st, &name)?;
    let sig = signal_param(&p)?.unwrap_or(9);
    Ok(done(st.containers.kill(&e, sig).await))
}

/// Headers go out at once (the docker CLI posts wait before start); the body follows when the
/// condition is met.
pub async fn wait(
    State(st): State<SharedState>,
    PathName(name): PathName,
    p: Params,
) -> ApiResult<Response> {
    let e = entry(&st, &name)?;
    let cond = p.get("condition").unwrap_or("not-running");
    if !matches!(cond, "" | "not-running" | "next-exit" | "removed") {
        return Err(ApiError::bad_request(format!(
            "invalid condition: \"{cond}\""
        )));
    }
    let cond = cond.to_string();
    let mut exits = e.exits.subscribe();
    let mut removed = e.removed.subscribe();
    let gen0 = exits.borrow().gen;
    let immediate = (cond.is_empty() || cond == "not-running") && !e.with(|c| c.running());
    let result = async move {
        if !immediate {
            if cond == "removed" {
                let _ = removed.wait_for(|r| *r).await;
            } else {
                tokio::select! {
                    _ = exits.wait_for(|x| x.gen != gen0) => {}
                    _ = removed.wait_for(|r| *r) => {}
                }
            }
        }
        let code = e.with(|c| c.state.exit_code);
        // dockerd omits a nil Error (`omitempty`): `{"StatusCode":3}`.
        let resp = ContainerWaitResponse {
            status_code: code,
            error: None,
        };
        let mut line = serde_json::to_string(&resp).unwrap_or_default();
        line.push('\n');
        Ok::<_, std::io::Error>(Bytes::from(line))
    };
    let body = Body::from_stream(futures_util::stream::once(result));
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

pub async fn attach(
    State(st): State<SharedState>,
    PathName(name): PathName,
    p: Params,
    mut req: Request,
) -> ApiResult<Response> {
    let e = entry(&st, &name)?;
    let c = e.rec();
    let tty = c.tty();
    let open_stdin = c.config.open_stdin.unwrap_or(false);
    let stdin = p.bool("stdin") && open_stdin;
    let (stdout, stderr) = (p.bool("stdout"), p.bool("stderr"));
    let detach_keys = match p.get("detachKeys").filter(|k| !k.is_empty()) {
        Some(k) => hijack::parse_detach_keys(k).map_err(ApiError::bad_request)?,
        None => hijack::DEFAULT_DETACH.to_vec(),
    };
    let prefix = if p.bool("logs") {
        let path = st
            .containers
            .bundle(&c.id)
            .join(format!("{}-json.log", c.id));
        tokio::task::spawn_blocking(move || hijack::replay_log(&path, tty, stdout, stderr)).await?
    } else {
        Vec::new()
    };
    let conn = if p.bool("stream") {
        let stdin_once = c.config.stdin_once.unwrap_or(false);
        let hello = shim::hello(stdin, stdout, stderr, stdin_once, tty);
        Some(st.containers.attach_begin(&e, hello).await?)
    } else {
        None
    };
    st.containers.publish(&c, "attach", &[]);
    let recorded: Option<hijack::Recorded> = conn.is_some().then(|| {
        let mut exits = e.exits.subscribe();
        let gen0 = exits.borrow().gen;
        let f: hijack::Recorded = Box::pin(async move {
            let _ = exits.wait_for(|x| x.gen != gen0).await;
        });
        f
    });
    let shim_conn = async move {
        match conn {
            Some(c) => c.get().await,
            None => None,
        }
    };
    if !hijack::wants_upgrade(req.headers()) {
        let body = hijack::body(shim_conn, tty, prefix, recorded);
        return Ok(([(header::CONTENT_TYPE, hijack::content_type(tty))], body).into_response());
    }
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let client = match on_upgrade.await {
            Ok(u) => TokioIo::new(u),
            Err(err) => {
                tracing::debug!("attach upgrade: {err}");
                return;
            }
        };
        let shim = shim_conn.await;
        hijack::pump(
            client,
            shim,
            PumpOpts {
                tty,
                stdin,
                detach_keys,
                prefix,
                recorded,
            },
        )
        .await;
    });
    Ok(hijack::upgraded(tty))
}

fn size_params(p: &Params) -> ApiResult<(u64, u64)> {
    let h = int_param(p, "h")?.unwrap_or(0).max(0) as u64;
    let w = int_param(p, "w")?.unwrap_or(0).max(0) as u64;
    Ok((h, w))
}

pub async fn resize(
    State(st): State<SharedState>,
    PathName(name): PathName,
    p: Params,
) -> ApiResult<Response> {
    let e = entry(&st, &name)?;
    let (h, w) = size_params(&p)?;
    let c = e.rec();
    if c.state.status != Status::Running {
        if c.state.status == Status::Created {
            return Ok(StatusCode::OK.into_response());
        }
        return Err(ContainerError::NotRunning(e.id.clone()).into());
    }
    if c.tty() {
        let v = shim::ctl(
            &st.containers.run_dir(&e.id),
            json!({"op": "resize", "height": h, "width": w}),
        )
        .await?;
        shim::check(&v).map_err(|(m, _)| ApiError::internal(m))?;
    }
    st.containers.publish(
        &c,
        "resize",
        &[("height", h.to_string()), ("width", w.to_string())],
    );
    Ok(StatusCode::OK.into_response())
}

pub async fn logs(
    State(st): State<SharedState>,
    PathName(name): PathName,
    p: Params,
) -> ApiResult<Response> {
    let e = entry(&st, &name)?;
    let opts = crate::logs::LogOptions::from_params(&p)?;
    let c = e.rec();
    let path = st
        .containers
        .bundle(&c.id)
        .join(format!("{}-json.log", c.id));
    let body = crate::logs::stream(path, c.tty(), opts, e.running.subscribe());
    Ok((
        [(header::CONTENT_TYPE, hijack::content_type(c.tty()))],
        body,
    )
        .into_response())
}

pub async fn top(State(st): State<SharedState>, PathName(name): PathName) -> ApiResult<Response> {
    let e = entry(&st, &name)?;
    let c = e.rec();
    if c.state.status != Status::Running || c.state.pid <= 0 {
        return Err(ContainerError::NotRunning(e.id.clone()).into());
    }
    let pid = c.state.pid as i32;
    let out = tokio::task::spawn_blocking(move || crate::top::top(pid))
        .await?
        .map_err(|err| ApiError::internal(format!("top: {err}")))?;
    Ok(Json(out).into_response())
}

pub async fn rename(
    State(st): State<SharedState>,
    PathName(name): PathName,
    p: Params,
) -> ApiResult<Response> {
    let e = entry(&st, &name)?;
    let new = p.get("name").unwrap_or_default().to_string();
    let mgr = st.containers.clone();
    tokio::task::spawn_blocking(move || mgr.rename(&e, &new)).await??;
    Ok(no_content())
}

pub async fn remove(
    State(st): State<SharedState>,
    PathName(name): PathName,
    p: Params,
) -> ApiResult<Response> {
    let e = entry(&st, &name)?;
    st.containers
        .remove(&e, p.bool("force"), p.bool("v"))
        .await?;
    Ok(no_content())
}
