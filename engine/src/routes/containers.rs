//! Container routes (create, start, stop, attach, logs, ...).

use crate::errors::ApiError;

pub async fn create() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

pub async fn list() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

pub async fn prune() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

pub async fn inspect() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

pub async fn start() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

pub async fn stop() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

pub async fn restart() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

pub async fn kill() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

pub async fn wait() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

pub async fn attach() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

pub async fn resize() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

pub async fn logs() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

pub async fn top() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

pub async fn rename() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

pub async fn remove() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

