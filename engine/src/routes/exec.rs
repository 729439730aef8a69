//! Exec routes.

use crate::errors::ApiError;

pub async fn create() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

pub async fn start() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

pub async fn resize() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

pub async fn inspect() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

