//! `POST /auth` (docker login) and `GET /distribution/{name}/json`: the two calls that only talk
//! to a registry.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use bollard_stubs::models::{AuthResponse, DistributionInspect, OciDescriptor, OciPlatform};
use rdocker_image_store::{Credentials, Reference};

use crate::errors::ApiError;
use crate::routes::PathName;
use crate::state::SharedState;

/// Docker Hub's legacy index address, what `docker login` sends for Docker Hub.
const DEFAULT_SERVER: &str = "https://index.docker.io/v1/";

/// `POST /auth` with `{"username","password","serveraddress"}` (or `identitytoken`).
pub async fn login(
    State(st): State<SharedState>,
    body: axum::body::Bytes,
) -> Result<Json<AuthResponse>, ApiError> {
    let creds: Credentials = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid auth configuration: {e}")))?;
    let server = creds
        .server_address
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_SERVER.to_string());
    st.store.check_login(&server, &creds).await?;
    Ok(Json(AuthResponse {
        status: "Login Succeeded".to_string(),
        identity_token: Some(String::new()),
    }))
}

/// `GET /distribution/{name}/json`: the manifest descriptor and platforms, from the registry.
pub async fn distribution(
    State(st): State<SharedState>,
    PathName(name): PathName,
    headers: HeaderMap,
) -> Result<Json<DistributionInspect>, ApiError> {
    let reference = Reference::parse(&name)?;
    let creds = match headers.get("x-registry-auth") {
        Some(v) => Credentials::from_x_registry_auth(
            v.to_str()
                .map_err(|_| ApiError::bad_request("invalid X-Registry-Auth header"))?,
        )?,
        None => None,
    };
    let info = st.store.distribution(&reference, creds).await?;
    Ok(Json(DistributionInspect {
        descriptor: OciDescriptor {
            media_type: Some(info.media_type),
            digest: Some(info.digest),
            size: Some(info.size as i64),
            ..Default::default()
        },
        platforms: info
            .platforms
            .into_iter()
            .map(|p| OciPlatform {
                architecture: Some(p.architecture),
                os: Some(p.os),
                variant: p.variant,
                ..Default::default()
            })
            .collect(),
    }))
}
