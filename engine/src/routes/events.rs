//! `GET /events`.

use crate::errors::ApiError;

pub async fn events() -> ApiError {
    ApiError::not_implemented("not implemented yet")
}

