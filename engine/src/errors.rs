//! API errors: `{"message": "..."}` with Docker's status codes.
//!
//! Handlers return `Result<_, ApiError>`; image-store errors convert through their
//! [`ErrorKind`], never through their variant names (the variants keep growing).

use std::any::Any;
use std::panic::AssertUnwindSafe;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::FutureExt;
use rdocker_image_store::{ErrorKind, ReferenceError, StoreError};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

/// Docker's error body (`types.ErrorResponse`).
#[derive(Serialize)]
struct ErrorBody<'a> {
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
    pub fn not_implemented(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_IMPLEMENTED, message)
    }
    /// What the router answers for a path it does not know (dockerd's exact body).
    pub fn page_not_found() -> ApiError {
        ApiError::not_found("page not found")
    }
}

/// Docker's mapping from error class to HTTP status (`errdefs` → `httpstatus.FromError`).
/// `Unavailable` (registry unreachable, 5xx, timeouts) answers 500 like dockerd does for
/// registry connection errors, which reach its HTTP layer untyped.
pub fn status_for_kind(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidArgument => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Unavailable | ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError::new(status_for_kind(e.kind()), e.to_string())
    }
}

/// A name that is not a reference: 400 with Docker's message, as the store reports it.
impl From<ReferenceError> for ApiError {
    fn from(e: ReferenceError) -> ApiError {
        StoreError::from(e).into()
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> ApiError {
        if e.is_panic() {
            ApiError::internal(format!(
                "internal error: {}",
                panic_message(e.into_panic().as_ref())
            ))
        } else {
            ApiError::internal("internal error: task cancelled")
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = self.status.as_u16(), "{}", self.message);
        } else {
            tracing::debug!(status = self.status.as_u16(), "{}", self.message);
        }
        (
            self.status,
            Json(ErrorBody {
                message: &self.message,
            }),
        )
            .into_response()
    }
}

/// The text of a panic payload (`panic!("...")` gives `&str` or `String`).
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

/// Middleware: a panicking handler answers 500 `{"message": ...}` instead of dropping the
/// connection; the daemon keeps serving either way (tokio isolates the task), but clients deserve
/// an answer. Bodies streamed after the handler returned are not covered: those streams report
/// their own errors in-band.
pub async fn catch_panic(req: Request, next: Next) -> Response {
    match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(resp) => resp,
        Err(payload) => ApiError::internal(format!(
            "internal error: {}",
            panic_message(payload.as_ref())
        ))
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_dockers_statuses() {
        assert_eq!(status_for_kind(ErrorKind::InvalidArgument), 400);
        assert_eq!(status_for_kind(ErrorKind::NotFound), 404);
        assert_eq!(status_for_kind(ErrorKind::Unauthorized), 401);
        assert_eq!(status_for_kind(ErrorKind::Forbidden), 403);
        assert_eq!(status_for_kind(ErrorKind::Conflict), 409);
        assert_eq!(status_for_kind(ErrorKind::Unavailable), 500);
        assert_eq!(status_for_kind(ErrorKind::Internal), 500);
    }

    #[test]
    fn store_errors_keep_their_message() {
        let e: ApiError = StoreError::NoSuchImage("busybox:latest".into()).into();
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        assert_eq!(e.message, "No such image: busybox:latest");
        let e: ApiError = StoreError::InvalidReference.into();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.message, "invalid reference format");
    }

    #[tokio::test]
    async fn body_is_dockers_error_shape() {
        let resp = ApiError::page_not_found().into_response();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let body = axum::body::to_bytes(resp.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], br#"{"message":"page not found"}"#);
    }

    #[tokio::test]
    async fn panicking_handler_answers_500() {
        use tower::Service;
        let mut app = axum::Router::new()
            .route(
                "/boom",
                axum::routing::get(|| async {
                    if true {
                        panic!("boom");
                    }
                    "unreachable"
                }),
            )
            .layer(axum::middleware::from_fn(catch_panic));
        let req = axum::http::Request::get("/boom")
            .body(axum::body::Body::empty())
            .unwrap();
        let resp = app.call(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(resp.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], br#"{"message":"internal error: boom"}"#);
    }

    #[test]
    fn panic_payloads() {
        let p: Box<dyn Any + Send> = Box::new("boom");
        assert_eq!(panic_message(p.as_ref()), "boom");
        let p: Box<dyn Any + Send> = Box::new(String::from("bang"));
        assert_eq!(panic_message(p.as_ref()), "bang");
    }
}
