//! `POST /images/create?fromImage=&tag=&platform=`: a pull, streamed as Docker's JSON progress.
//!
//! The pull runs as its own task (tracked for shutdown) and reports through a channel. The
//! handler waits for the first event or the result before answering: an error before any
//! progress (bad name, unknown repository, bad credentials) gets a real status code and a JSON
//! error like dockerd; after that the status is 200 and a failure is the stream's last line.
//! If the client hangs up, the pull goes on (as with dockerd) and its events are dropped.

use std::collections::HashMap;
use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use rdocker_image_store::{
    Credentials, Platform, PullEvent, PullOutcome, PullRequest, Reference, StoreError,
};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio::task::JoinHandle;

use crate::errors::{panic_message, ApiError};
use crate::progress::{error_line, event_line, supersedes};
use crate::routes::Params;
use crate::state::SharedState;

type PullHandle = JoinHandle<Result<PullOutcome, StoreError>>;

/// The reference to pull, combined as dockerd does: a `tag` that parses as a digest pins the
/// digest, any other `tag` replaces the one in `fromImage`.
pub fn pull_reference(from_image: &str, tag: Option<&str>) -> Result<Reference, ApiError> {
    let from_image = from_image.trim();
    if from_image.is_empty() {
        return Err(ApiError::bad_request("invalid reference format"));
    }
    let base = Reference::parse_no_default_tag(from_image)?;
    let name = format!("{}/{}", base.registry(), base.repository());
    let r = match tag.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) if t.contains(':') => Reference::parse(&format!("{name}@{t}"))?,
        Some(t) => Reference::parse(&format!("{name}:{t}"))?,
        None => Reference::parse(from_image)?,
    };
    Ok(r)
}

/// Parses the request into a pull request (400 on bad input; 501 for imports).
fn pull_request(params: &Params, headers: &HeaderMap) -> Result<PullRequest, ApiError> {
    if params.get("fromSrc").is_some_and(|s| !s.is_empty()) {
        return Err(ApiError::not_implemented(
            "importing images (fromSrc) is not implemented by rdockerd; use fromImage to pull",
        ));
    }
    let from_image = params
        .get("fromImage")
        .ok_or_else(|| ApiError::bad_request("fromImage or fromSrc is required"))?;
    let reference = pull_reference(from_image, params.get("tag"))?;
    let platform = match params.get("platform").map(str::trim) {
        Some(p) if !p.is_empty() => Some(Platform::parse(p)?),
        _ => None,
    };
    let credentials = match headers.get("x-registry-auth") {
        Some(v) => {
            let v = v
                .to_str()
                .map_err(|_| ApiError::bad_request("invalid X-Registry-Auth header"))?;
            Credentials::from_x_registry_auth(v)?
        }
        None => None,
    };
    Ok(PullRequest {
        reference,
        platform,
        credentials,
    })
}

/// Returns freed heap pages to the kernel. A pull allocates tens of MiB transiently (buffers of
/// parallel downloads and decompressors); glibc keeps them mapped after free, so an idle daemon
/// would otherwise stay at its peak RSS.
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A pull failure before any progress, with dockerd's status. dockerd reports a registry 401 on
/// pull as an untyped error (500), not 401: a 401 would make the docker CLI prompt for a
/// password and retry, even without a terminal. `POST /auth` keeps its 401.
fn pre_stream_error(e: StoreError) -> ApiError {
    demote_unauthorized(ApiError::from(e))
}

fn demote_unauthorized(mut err: ApiError) -> ApiError {
    if err.status == StatusCode::UNAUTHORIZED {
        err.status = StatusCode::INTERNAL_SERVER_ERROR;
    }
    err
}

/// What came first after starting the pull.
enum First {
    Event(PullEvent),
    Done(Result<Result<PullOutcome, StoreError>, tokio::task::JoinError>),
}

pub async fn create(
    State(st): State<SharedState>,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let req = pull_request(&params, &headers)?;
    if st.shutdown.is_cancelled() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "daemon is shutting down",
        ));
    }
    tracing::info!(reference = %req.reference, "pull");
    let (tx, mut rx) = unbounded_channel();
    let cancel = st.shutdown.child_token();
    let store = st.store.clone();
    let tracker = st.pulls.clone();
    let events = st.events.clone();
    let mut handle: PullHandle = st.pulls.spawn(async move {
        let result = store.pull(req, tx, cancel).await;
        // Logged here, not by the response stream: the client may be gone.
        match &result {
            Ok(o) => {
                tracing::info!(image = %o.image_id, reference = %o.reference, "pulled");
                let name = HashMap::from([("name".to_string(), o.reference.familiar_name())]);
                events.publish("image", "pull", &o.reference.familiar(), name);
            }
            Err(e) => tracing::warn!("pull failed: {e}"),
        }
        // The last pull to finish hands the freed buffers back to the OS (see `trim_heap`).
        if tracker.len() <= 1 {
            let _ = tokio::task::spawn_blocking(trim_heap).await;
        }
        result
    });

    let first = tokio::select! {
        // Events first: ones queued before the result must not be lost.
        biased;
        ev = rx.recv() => match ev {
            Some(ev) => First::Event(ev),
            None => First::Done((&mut handle).await),
        },
        res = &mut handle => First::Done(res),
    };
    let (pending, handle) = match first {
        First::Event(ev) => (Some(ev), Some(handle)),
        First::Done(Ok(Err(e))) => return Err(pre_stream_error(e)),
        First::Done(Err(join)) => return Err(join.into()),
        // Finished before its first event was read: the result is consumed (a JoinHandle must
        // not be awaited twice); whatever events raced in are still drained from `rx`.
        First::Done(Ok(Ok(_))) => (None, None),
    };
    let stream = ProgressStream {
        pending,
        rx,
        handle,
    };
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        stream.into_body(),
    )
        .into_response())
}

struct ProgressStream {
    pending: Option<PullEvent>,
    rx: UnboundedReceiver<PullEvent>,
    /// `None` once the result was written.
    handle: Option<PullHandle>,
}

impl ProgressStream {
    fn into_body(self) -> Body {
        Body::from_stream(futures_util::stream::unfold(self, |mut s| async move {
            s.next_chunk()
                .await
                .map(|chunk| (Ok::<_, Infallible>(chunk), s))
        }))
    }

    /// The next lines to send: every event already queued (byte counts of the same layer
    /// coalesced to the latest), or the final error line; `None` at the end.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        let mut batch: Vec<PullEvent> = self.pending.take().into_iter().collect();
        if batch.is_empty() {
            match self.rx.recv().await {
                Some(ev) => batch.push(ev),
                None => return self.finish().await,
            }
        }
        while let Ok(ev) = self.rx.try_recv() {
            match batch.last_mut() {
                Some(last) if supersedes(last, &ev) => *last = ev,
                _ => batch.push(ev),
            }
        }
        let mut out = Vec::with_capacity(batch.len() * 160);
        for ev in &batch {
            out.extend_from_slice(&event_line(ev));
        }
        Some(Bytes::from(out))
    }

    /// The events channel closed: the pull is over. A failure becomes the last line.
    async fn finish(&mut self) -> Option<Bytes> {
        let handle = self.handle.take()?;
        let message = match handle.await {
            Ok(Ok(_)) => return None,
            Ok(Err(e)) => e.to_string(),
            Err(join) if join.is_panic() => {
                format!(
                    "internal error: {}",
                    panic_message(join.into_panic().as_ref())
                )
            }
            Err(_) => "pull aborted".to_string(),
        };
        Some(Bytes::from(error_line(&message)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(first: Option<PullEvent>, events: Vec<PullEvent>, fail: bool) -> String {
        let (tx, rx) = unbounded_channel();
        let handle: PullHandle = tokio::spawn(async move {
            for ev in events {
                tx.send(ev).unwrap();
            }
            drop(tx);
            if fail {
                return Err(StoreError::NoSuchImage("x".into()));
            }
            Ok(PullOutcome {
                reference: pull_reference("busybox", None).unwrap(),
                image_id: "sha256:1".into(),
                manifest_digest: "sha256:2".into(),
                status: rdocker_image_store::PullStatus::Downloaded,
            })
        });
        let s = ProgressStream {
            pending: first,
            rx,
            handle: Some(handle),
        };
        let bytes = axum::body::to_bytes(s.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn dl(current: u64) -> PullEvent {
        PullEvent::Downloading {
            layer: "aaaaaaaaaaaa".into(),
            current,
            total: 100,
        }
    }

    #[tokio::test]
    async fn stream_lines_then_error_last() {
        let first = PullEvent::PullingFrom {
            name: "library/busybox".into(),
            tag: "latest".into(),
        };
        let out = collect(
            Some(first),
            vec![PullEvent::LayerWaiting {
                layer: "aaaaaaaaaaaa".into(),
            }],
            true,
        )
        .await;
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert_eq!(
            lines[0],
            r#"{"status":"Pulling from library/busybox","id":"latest"}"#
        );
        assert_eq!(
            lines[2],
            r#"{"errorDetail":{"message":"No such image: x"},"error":"No such image: x"}"#
        );
        assert!(out.ends_with('\n'));
    }

    #[tokio::test]
    async fn success_has_no_error_line_and_byte_counts_coalesce() {
        let out = collect(None, vec![dl(10), dl(20), dl(30)], false).await;
        assert!(!out.contains("error"), "{out}");
        // All three were queued before the stream read them: only the latest is sent.
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.contains(r#""current":30"#), "{out}");
    }

    #[tokio::test]
    async fn finished_before_first_read_still_drains_events() {
        let (tx, rx) = unbounded_channel();
        tx.send(PullEvent::Digest {
            digest: "sha256:d".into(),
        })
        .unwrap();
        drop(tx);
        let s = ProgressStream {
            pending: None,
            rx,
            handle: None,
        };
        let bytes = axum::body::to_bytes(s.into_body(), 1 << 20).await.unwrap();
        assert_eq!(&bytes[..], b"{\"status\":\"Digest: sha256:d\"}\n");
    }

    #[test]
    fn unauthorized_pull_is_500_like_dockerd() {
        let e = demote_unauthorized(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized"));
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.message, "unauthorized");
        let e = pre_stream_error(StoreError::NoSuchImage("x".into()));
        assert_eq!(e.status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn fromsrc_is_not_implemented() {
        let p = Params(
            [("fromSrc".to_string(), "-".to_string())]
                .into_iter()
                .collect(),
        );
        let e = pull_request(&p, &HeaderMap::new()).unwrap_err();
        assert_eq!(e.status, StatusCode::NOT_IMPLEMENTED);
        let e = pull_request(&Params::default(), &HeaderMap::new()).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn references_combine_like_dockerd() {
        let r = pull_reference("busybox", Some("1.36")).unwrap();
        assert_eq!(r.to_string(), "docker.io/library/busybox:1.36");
        let r = pull_reference("busybox", None).unwrap();
        assert_eq!(r.to_string(), "docker.io/library/busybox:latest");
        let r = pull_reference("127.0.0.1:5000/foo/bar:v1", Some("")).unwrap();
        assert_eq!(r.to_string(), "127.0.0.1:5000/foo/bar:v1");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = pull_reference("busybox", Some(&d)).unwrap();
        assert_eq!(r.digest(), Some(d.as_str()));
        assert_eq!(
            pull_reference("Busy Box", None).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            pull_reference("", None).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }
}
