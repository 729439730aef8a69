//! `GET /events?since=&until=&filters=`: newline-delimited JSON messages, headers sent at once.
//!
//! With `since`, the recent events from that time are replayed first; with `until`, the stream
//! ends at that time (at once, after the replay, when it is in the past). The stream also ends
//! when the daemon shuts down, so open `docker events` clients never hold shutdown up.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use crate::errors::ApiError;
use crate::events::{Event, EventFilter};
use crate::filters::Filters;
use crate::routes::Params;
use crate::state::SharedState;
use crate::timestamps;

struct Feed {
    replay: std::vec::IntoIter<Arc<Event>>,
    rx: broadcast::Receiver<Arc<Event>>,
    filter: EventFilter,
    until: Option<i64>,
    shutdown: CancellationToken,
}

impl Feed {
    /// The next line to send, or `None` when the stream is over.
    async fn next(&mut self) -> Option<Bytes> {
        if let Some(e) = self.replay.next() {
            return Some(e.to_line());
        }
        loop {
            let wait = match self.until {
                Some(u) => {
                    let left = u.saturating_sub(timestamps::now_nanos());
                    if left <= 0 {
                        return None;
                    }
                    Duration::from_nanos(left.unsigned_abs())
                }
                None => Duration::MAX,
            };
            let event = tokio::select! {
                r = self.rx.recv() => r,
                _ = tokio::time::sleep(wait.min(Duration::from_secs(86_400 * 365))) => continue,
                _ = self.shutdown.cancelled() => return None,
            };
            match event {
                Ok(e) => {
                    if self.until.is_some_and(|u| e.time_nano > u) {
                        return None;
                    }
                    if self.filter.matches(&e) {
                        return Some(e.to_line());
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!("events: a slow subscriber missed {n} event(s)");
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

fn time_param(params: &Params, key: &str, now: i64) -> Result<Option<i64>, ApiError> {
    match params.get(key).filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        Some(v) => timestamps::parse(v, now)
            .map(Some)
            .map_err(ApiError::bad_request),
    }
}

pub async fn events(State(st): State<SharedState>, params: Params) -> Result<Response, ApiError> {
    let now = timestamps::now_nanos();
    let since = time_param(&params, "since", now)?;
    let until = time_param(&params, "until", now)?;
    if let (Some(s), Some(u)) = (since, until) {
        if s > u {
            return Err(ApiError::bad_request(format!(
                "`since` time ({}) cannot be after `until` time ({})",
                params.get("since").unwrap_or_default(),
                params.get("until").unwrap_or_default()
            )));
        }
    }
    let filter = EventFilter::new(Filters::parse(params.get("filters"))?)?;
    let (recent, rx) = st.events.subscribe();
    let replay: Vec<Arc<Event>> = match since {
        None => Vec::new(),
        Some(s) => recent
            .into_iter()
            .filter(|e| e.time_nano >= s && until.is_none_or(|u| e.time_nano <= u))
            .filter(|e| filter.matches(e))
            .collect(),
    };
    let feed = Feed {
        replay: replay.into_iter(),
        rx,
        filter,
        until,
        shutdown: st.shutdown.clone(),
    };
    let body = stream::unfold(feed, |mut feed| async move {
        let line = feed.next().await?;
        Some((Ok::<_, std::io::Error>(line), feed))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}
