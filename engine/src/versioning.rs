//! The `/vX.Y` prefix of Docker Engine API paths.
//!
//! Docker clients send `/v1.47/images/json`; old scripts send `/images/json`. Rather than
//! registering every route twice, a layer in front of the router strips the prefix, checks the
//! version against the supported range and records it as a request extension ([`ApiVersion`]) for
//! handlers whose output depends on it.

use std::cmp::Ordering;
use std::fmt;

use axum::extract::Request;
use axum::http::uri::{PathAndQuery, Uri};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::errors::ApiError;
use crate::{API_VERSION, MIN_API_VERSION};

/// A dotted API version such as `1.47`. Compared component-wise as numbers, like Docker's
/// `versions.Compare` (so `1.9 < 1.24`).
#[derive(Debug, Clone)]
pub struct ApiVersion(Vec<u64>);

impl ApiVersion {
    /// Parses a version made of digits and dots. Like Docker, a malformed component counts as 0
    /// (Docker's router only admits `[0-9.]+` there anyway).
    pub fn parse(s: &str) -> ApiVersion {
        ApiVersion(s.split('.').map(|p| p.parse().unwrap_or(0)).collect())
    }
    pub fn current() -> ApiVersion {
        ApiVersion::parse(API_VERSION)
    }
    pub fn minimum() -> ApiVersion {
        ApiVersion::parse(MIN_API_VERSION)
    }
    /// `version < other`, for version-gated behaviour in handlers.
    pub fn less_than(&self, other: &str) -> bool {
        *self < ApiVersion::parse(other)
    }
}

impl Ord for ApiVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.0.len().max(other.0.len());
        for i in 0..n {
            let a = self.0.get(i).copied().unwrap_or(0);
            let b = other.0.get(i).copied().unwrap_or(0);
            match a.cmp(&b) {
                Ordering::Equal => continue,
                o => return o,
            }
        }
        Ordering::Equal
    }
}

// By value, not by representation: `1.40 == 1.40.0`, consistent with `Ord`.
impl PartialEq for ApiVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ApiVersion {}

impl PartialOrd for ApiVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|p| p.to_string()).collect();
        f.write_str(&parts.join("."))
    }
}

/// Splits `/v1.47/images/json` into `("1.47", "/images/json")`. The rest is `""` for `/v1.47`.
/// Returns `None` when the path carries no version prefix.
pub fn split_version_prefix(path: &str) -> Option<(&str, &str)> {
    let after_v = path.strip_prefix("/v")?;
    let end = after_v.find('/').unwrap_or(after_v.len());
    let version = &after_v[..end];
    // Docker's route pattern is `/v{version:[0-9.]+}`: anything else is an ordinary path.
    if version.is_empty()
        || !version.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        || !version.bytes().any(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some((version, &after_v[end..]))
}

/// Checks a requested version against our range, with dockerd's messages.
pub fn check_version(raw: &str) -> Result<ApiVersion, ApiError> {
    let v = ApiVersion::parse(raw);
    if v < ApiVersion::minimum() {
        return Err(ApiError::bad_request(format!(
            "client version {raw} is too old. Minimum supported API version is {MIN_API_VERSION}, \
             please upgrade your client to a newer version"
        )));
    }
    if v > ApiVersion::current() {
        return Err(ApiError::bad_request(format!(
            "client version {raw} is too new. Maximum supported API version is {API_VERSION}"
        )));
    }
    Ok(v)
}

/// Middleware (applied around the whole router): strips the version prefix before routing, and
/// sets the headers dockerd puts on every response (`Api-Version`, `Ostype`, `Server`).
pub async fn strip_version_prefix(req: Request, next: Next) -> Response {
    let mut resp = route_versioned(req, next).await;
    let h = resp.headers_mut();
    h.insert("api-version", HeaderValue::from_static(API_VERSION));
    h.insert("ostype", HeaderValue::from_static("linux"));
    h.insert(
        header::SERVER,
        HeaderValue::from_static(concat!("rdocker/", env!("CARGO_PKG_VERSION"), " (linux)")),
    );
    resp
}

async fn route_versioned(mut req: Request, next: Next) -> Response {
    let version = match split_version_prefix(req.uri().path()) {
        None => ApiVersion::current(),
        Some((raw, rest)) => {
            let v = match check_version(raw) {
                Ok(v) => v,
                Err(e) => return e.into_response(),
            };
            let rest = if rest.is_empty() { "/" } else { rest };
            let new_pq = match req.uri().query() {
                Some(q) => format!("{rest}?{q}"),
                None => rest.to_string(),
            };
            match rewrite_path(req.uri(), &new_pq) {
                Some(uri) => *req.uri_mut() = uri,
                None => return ApiError::bad_request("invalid request path").into_response(),
            }
            v
        }
    };
    req.extensions_mut().insert(version);
    next.run(req).await
}

fn rewrite_path(uri: &Uri, path_and_query: &str) -> Option<Uri> {
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(path_and_query).ok()?);
    Uri::from_parts(parts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_prefix() {
        assert_eq!(
            split_version_prefix("/v1.47/images/json"),
            Some(("1.47", "/images/json"))
        );
        assert_eq!(
            split_version_prefix("/v1.41/_ping"),
            Some(("1.41", "/_ping"))
        );
        assert_eq!(split_version_prefix("/v1.47"), Some(("1.47", "")));
        assert_eq!(split_version_prefix("/version"), None);
        assert_eq!(split_version_prefix("/volumes"), None);
        assert_eq!(split_version_prefix("/images/json"), None);
        assert_eq!(split_version_prefix("/v/x"), None);
        assert_eq!(split_version_prefix("/v./x"), None);
    }

    #[test]
    fn compares_numerically() {
        assert!(ApiVersion::parse("1.9") < ApiVersion::parse("1.24"));
        assert!(ApiVersion::parse("1.47") > ApiVersion::parse("1.44"));
        assert_eq!(ApiVersion::parse("1.40"), ApiVersion::parse("1.40.0"));
        assert!(ApiVersion::parse("2") > ApiVersion::parse("1.47"));
        assert!(ApiVersion::parse("1.42").less_than("1.43"));
    }

    #[test]
    fn rejects_out_of_range_with_dockers_messages() {
        let e = check_version("1.12").unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        assert_eq!(
            e.message,
            "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"
        );
        let e = check_version("1.99").unwrap_err();
        assert_eq!(
            e.message,
            "client version 1.99 is too new. Maximum supported API version is 1.47"
        );
        assert!(check_version("1.24").is_ok());
        assert!(check_version("1.47").is_ok());
    }
}
