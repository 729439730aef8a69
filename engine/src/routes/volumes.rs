//! Volume routes.

use crate::errors::ApiError;

pub async fn list() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

pub async fn create() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

pub async fn prune() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

pub async fn inspect() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

pub async fn remove() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

