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
    /// an empty object means anonymous. Standard base64, with or without padding, is accepted
    /// too: old clients sent that.
    pub fn from_x_registry_auth(header: &str) -> Result<Option<Credentials>, StoreError> {
        use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
        use base64::Engine;

        let h = header.trim();
        if h.is_empty() {
            return Ok(None);
        }
        let unpadded = h.trim_end_matches('=');
        let raw = URL_SAFE_NO_PAD
            .decode(unpadded)
            .or_else(|_| STANDARD_NO_PAD.decode(unpadded))
            .map_err(|e| StoreError::InvalidAuthHeader(e.to_string()))?;
        let text = String::from_utf8(raw)
            .map_err(|_| StoreError::InvalidAuthHeader("not UTF-8".to_string()))?;
        if text.trim().is_empty() {
            return Ok(None);
        }
        let c: Credentials = serde_json::from_str(&text)
            .map_err(|e| StoreError::InvalidAuthHeader(e.to_string()))?;
        Ok((!c.is_anonymous()).then_some(c))
    }

    /// No user, no password, no token: send no credentials at all.
    pub fn is_anonymous(&self) -> bool {
        self.username.is_empty()
            && self.password.is_empty()
            && self.identity_token.as_deref().unwrap_or("").is_empty()
    }

    /// The `oci-client` form. An identity token (OAuth refresh token from `docker login`) is sent
    /// as a bearer token, which is what registries issuing such tokens accept for pulls.
    pub(crate) fn to_registry_auth(
        creds: Option<&Credentials>,
    ) -> oci_client::secrets::RegistryAuth {
        use oci_client::secrets::RegistryAuth;
        match creds {
            Some(c) => match c.identity_token.as_deref() {
                Some(t) if !t.is_empty() => RegistryAuth::Bearer(t.to_string()),
                _ if !c.username.is_empty() || !c.password.is_empty() => {
                    RegistryAuth::Basic(c.username.clone(), c.password.clone())
                }
                _ => RegistryAuth::Anonymous,
            },
            None => RegistryAuth::Anonymous,
        }
    }

    /// Stable key so clients (and their token caches) are never shared between credentials.
    pub(crate) fn cache_key(creds: Option<&Credentials>) -> String {
        use sha2::{Digest, Sha256};
        match creds {
            None => "anonymous".to_string(),
            Some(c) => {
                let mut h = Sha256::new();
                for part in [
                    c.username.as_str(),
                    c.password.as_str(),
                    c.identity_token.as_deref().unwrap_or(""),
                ] {
                    h.update(part.as_bytes());
                    h.update([0u8]);
                }
                hex::encode(h.finalize())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine;

    #[test]
    fn decodes_docker_header_variants() {
        // '?' and '>' in the password make base64 and base64url differ.
        let json = r#"{"username":"u","password":"p?>>?","serveraddress":"127.0.0.1:5000"}"#;
        for enc in [
            URL_SAFE.encode(json),
            URL_SAFE_NO_PAD.encode(json),
            STANDARD.encode(json),
            STANDARD.encode(json).trim_end_matches('=').to_string(),
        ] {
            let c = Credentials::from_x_registry_auth(&enc).unwrap().unwrap();
            assert_eq!(c.username, "u");
            assert_eq!(c.password, "p?>>?");
            assert_eq!(c.server_address.as_deref(), Some("127.0.0.1:5000"));
        }
        let tok = URL_SAFE.encode(r#"{"identitytoken":"abc"}"#);
        let c = Credentials::from_x_registry_auth(&tok).unwrap().unwrap();
        assert_eq!(c.identity_token.as_deref(), Some("abc"));
    }

    #[test]
    fn empty_means_anonymous() {
        assert_eq!(Credentials::from_x_registry_auth("").unwrap(), None);
        assert_eq!(Credentials::from_x_registry_auth("  ").unwrap(), None);
        let e = URL_SAFE.encode("{}");
        assert_eq!(Credentials::from_x_registry_auth(&e).unwrap(), None);
        let e = URL_SAFE.encode(r#"{"username":"","password":""}"#);
        assert_eq!(Credentials::from_x_registry_auth(&e).unwrap(), None);
    }

    #[test]
    fn garbage_is_invalid_argument() {
        for h in ["!!!", &URL_SAFE.encode("not json")] {
            let e = Credentials::from_x_registry_auth(h).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
            assert!(e.to_string().starts_with("invalid X-Registry-Auth header"));
        }
    }
}
