//! Errors of the image store. `Display` is the message a user sees (Docker's wording where
//! Docker has one); [`StoreError::kind`] tells the engine which HTTP status to answer.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidArgument,
    NotFound,
    Unauthorized,
    Forbidden,
    Conflict,
    Unavailable,
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid reference format")]
    InvalidReference,
    #[error("No such image: {0}")]
    NoSuchImage(String),
}

impl StoreError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::InvalidReference => ErrorKind::InvalidArgument,
            StoreError::NoSuchImage(_) => ErrorKind::NotFound,
        }
    }
}
