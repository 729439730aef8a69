//! Platforms (`linux/amd64`, `linux/arm64/v8`) and the host's own.

use std::fmt;

use crate::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    pub fn host() -> Platform {
        todo!("image-store helper")
    }
    pub fn parse(s: &str) -> Result<Platform, StoreError> {
        let _ = s;
        todo!("image-store helper")
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}
