//! The container code's error type, mapped to Docker's statuses.

use axum::http::StatusCode;
use rdocker_image_store::StoreError;

use crate::errors::ApiError;
use crate::volumes::VolumeError;

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("No such container: {0}")]
    NotFound(String),
    #[error("No such exec instance: {0}")]
    NoSuchExec(String),
    /// Bad request input (400).
    #[error("{0}")]
    Invalid(String),
    /// A conflict with the container's state or another container's name (409).
    #[error("{0}")]
    Conflict(String),
    #[error("network {0} not found")]
    NotFoundNetwork(String),
    #[error("Container {0} is not running")]
    NotRunning(String),
    /// Nothing to do (304, no body): start of a running container, stop of a stopped one.
    #[error("not modified")]
    NotModified,
    /// The process could not be started; 126/127 are the user's fault (400), the rest ours.
    #[error("{message}")]
    StartFailed { message: String, exit_code: i64 },
    #[error(transparent)]
    Image(#[from] StoreError),
    #[error(transparent)]
    Volume(#[from] VolumeError),
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("building the runtime spec: {0}")]
    Spec(#[from] oci_spec::OciSpecError),
    #[error("shim: {0}")]
    Shim(String),
}

impl ContainerError {
    pub fn io(op: &'static str, path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.display().to_string();
        move |source| ContainerError::Io { op, path, source }
    }
}

impl From<ContainerError> for ApiError {
    fn from(e: ContainerError) -> ApiError {
        let status = match &e {
            ContainerError::NotFound(_)
            | ContainerError::NoSuchExec(_)
            | ContainerError::NotFoundNetwork(_) => StatusCode::NOT_FOUND,
            ContainerError::Invalid(_) => StatusCode::BAD_REQUEST,
            ContainerError::Conflict(_) | ContainerError::NotRunning(_) => StatusCode::CONFLICT,
            ContainerError::NotModified => StatusCode::NOT_MODIFIED,
            ContainerError::StartFailed { exit_code, .. } => match exit_code {
                126 | 127 => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ContainerError::Image(s) => crate::errors::status_for_kind(s.kind()),
            ContainerError::Volume(_) => match e {
                ContainerError::Volume(v) => return v.into(),
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ContainerError::Io { .. } | ContainerError::Shim(_) | ContainerError::Spec(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        ApiError::new(status, e.to_string())
    }
}
