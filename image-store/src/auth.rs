//! Registry credentials as Docker clients send them (`X-Registry-Auth`, `POST /auth`).

use serde::{Deserialize, Serialize};

use crate::StoreError;

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct Credentials {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(
        default,
        rename = "identitytoken",
        skip_serializing_if = "Option::is_none"
    )]
    pub identity_token: Option<String>,
    #[serde(
        default,
        rename = "serveraddress",
        skip_serializing_if = "Option::is_none"
    )]
    pub server_address: Option<String>,
}

impl Credentials {
    /// Decodes Docker's `X-Registry-Auth` header (base64url of a JSON object). An empty header or
    /// an empty object means anonymous.
    pub fn from_x_registry_auth(header: &str) -> Result<Option<Credentials>, StoreError> {
        let _ = header;
        todo!("image-store helper")
    }
}
