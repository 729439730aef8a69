//! The router. [`ROUTES`] is the single list of what is served: the router is built from it,
//! and tests check it against `api-spec/openapi.yaml` in both directions.
//!
//! Image names contain slashes (`127.0.0.1:5000/foo/bar:tag`), so `/images/{name}/json` cannot
//! be an axum path pattern; templates with `{name}` are served by one catch-all route per prefix
//! that picks the template by method and trailing suffix.

pub mod auth;
pub mod containers;
pub mod events;
pub mod exec;
pub mod images;
pub mod limits;
pub mod networks;
pub mod pull;
pub mod system;
pub mod volumes;

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::extract::{FromRequestParts, Query, Request, State};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use axum::Router;

use crate::errors::{catch_panic, ApiError};
use crate::state::SharedState;
use crate::versioning::strip_version_prefix;

/// Every (method, path template) served, paths without the `/vX.Y` prefix. `{name}` may contain
/// slashes.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/_ping"),
    ("HEAD", "/_ping"),
    ("GET", "/version"),
    ("GET", "/info"),
    ("POST", "/auth"),
    ("POST", "/images/create"),
    ("GET", "/images/json"),
    ("GET", "/images/{name}/json"),
    ("GET", "/images/{name}/history"),
    ("POST", "/images/{name}/tag"),
    ("DELETE", "/images/{name}"),
    ("GET", "/distribution/{name}/json"),
    ("POST", "/containers/create"),
    ("GET", "/containers/json"),
    ("POST", "/containers/prune"),
    ("GET", "/containers/{name}/json"),
    ("POST", "/containers/{name}/start"),
    ("POST", "/containers/{name}/stop"),
    ("POST", "/containers/{name}/restart"),
    ("POST", "/containers/{name}/kill"),
    ("POST", "/containers/{name}/wait"),
    ("POST", "/containers/{name}/attach"),
    ("POST", "/containers/{name}/resize"),
    ("GET", "/containers/{name}/logs"),
    ("GET", "/containers/{name}/top"),
    ("POST", "/containers/{name}/rename"),
    ("GET", "/containers/{name}/stats"),
    ("POST", "/containers/{name}/update"),
    ("POST", "/containers/{name}/pause"),
    ("POST", "/containers/{name}/unpause"),
    ("DELETE", "/containers/{name}"),
    ("POST", "/containers/{name}/exec"),
    ("POST", "/exec/{name}/start"),
    ("POST", "/exec/{name}/resize"),
    ("GET", "/exec/{name}/json"),
    ("GET", "/volumes"),
    ("POST", "/volumes/create"),
    ("POST", "/volumes/prune"),
    ("GET", "/volumes/{name}"),
    ("DELETE", "/volumes/{name}"),
    ("GET", "/networks"),
    ("POST", "/networks/create"),
    ("POST", "/networks/prune"),
    ("GET", "/networks/{name}"),
    ("DELETE", "/networks/{name}"),
    ("POST", "/networks/{name}/connect"),
    ("POST", "/networks/{name}/disconnect"),
    ("GET", "/events"),
];

const NAME: &str = "{name}";

/// Calls the handler of one template. Adding a route means a line in [`ROUTES`] and one here.
async fn call_endpoint(method: &str, template: &str, req: Request, st: SharedState) -> Response {
    match (method, template) {
        ("GET" | "HEAD", "/_ping") => system::ping.call(req, st).await,
        ("GET", "/version") => system::version.call(req, st).await,
        ("GET", "/info") => system::info.call(req, st).await,
        ("POST", "/auth") => auth::login.call(req, st).await,
        ("POST", "/images/create") => pull::create.call(req, st).await,
        ("GET", "/images/json") => images::list.call(req, st).await,
        ("GET", "/images/{name}/json") => images::inspect.call(req, st).await,
        ("GET", "/images/{name}/history") => images::history.call(req, st).await,
        ("POST", "/images/{name}/tag") => images::tag.call(req, st).await,
        ("DELETE", "/images/{name}") => images::remove.call(req, st).await,
        ("GET", "/distribution/{name}/json") => auth::distribution.call(req, st).await,
        ("POST", "/containers/create") => containers::create.call(req, st).await,
        ("GET", "/containers/json") => containers::list.call(req, st).await,
        ("POST", "/containers/prune") => containers::prune.call(req, st).await,
        ("GET", "/containers/{name}/json") => containers::inspect.call(req, st).await,
        ("POST", "/containers/{name}/start") => containers::start.call(req, st).await,
        ("POST", "/containers/{name}/stop") => containers::stop.call(req, st).await,
        ("POST", "/containers/{name}/restart") => containers::restart.call(req, st).await,
        ("POST", "/containers/{name}/kill") => containers::kill.call(req, st).await,
        ("POST", "/containers/{name}/wait") => containers::wait.call(req, st).await,
        ("POST", "/containers/{name}/attach") => containers::attach.call(req, st).await,
        ("POST", "/containers/{name}/resize") => containers::resize.call(req, st).await,
        ("GET", "/containers/{name}/logs") => containers::logs.call(req, st).await,
        ("GET", "/containers/{name}/top") => containers::top.call(req, st).await,
        ("POST", "/containers/{name}/rename") => containers::rename.call(req, st).await,
        ("GET", "/containers/{name}/stats") => limits::stats.call(req, st).await,
        ("POST", "/containers/{name}/update") => limits::update.call(req, st).await,
        ("POST", "/containers/{name}/pause") => limits::pause.call(req, st).await,
        ("POST", "/containers/{name}/unpause") => limits::unpause.call(req, st).await,
        ("DELETE", "/containers/{name}") => containers::remove.call(req, st).await,
        ("POST", "/containers/{name}/exec") => exec::create.call(req, st).await,
        ("POST", "/exec/{name}/start") => exec::start.call(req, st).await,
        ("POST", "/exec/{name}/resize") => exec::resize.call(req, st).await,
        ("GET", "/exec/{name}/json") => exec::inspect.call(req, st).await,
        ("GET", "/volumes") => volumes::list.call(req, st).await,
        ("POST", "/volumes/create") => volumes::create.call(req, st).await,
        ("POST", "/volumes/prune") => volumes::prune.call(req, st).await,
        ("GET", "/volumes/{name}") => volumes::inspect.call(req, st).await,
        ("DELETE", "/volumes/{name}") => volumes::remove.call(req, st).await,
        ("GET", "/networks") => networks::list.call(req, st).await,
        ("POST", "/networks/create") => networks::create.call(req, st).await,
        ("POST", "/networks/prune") => networks::prune.call(req, st).await,
        ("GET", "/networks/{name}") => networks::inspect.call(req, st).await,
        ("DELETE", "/networks/{name}") => networks::remove.call(req, st).await,
        ("POST", "/networks/{name}/connect") => networks::connect.call(req, st).await,
        ("POST", "/networks/{name}/disconnect") => networks::disconnect.call(req, st).await,
        ("GET", "/events") => events::events.call(req, st).await,
        // Only reachable if ROUTES gained an entry without a handler; the route test catches it.
        _ => {
            ApiError::not_implemented(format!("{method} {template} has no handler")).into_response()
        }
    }
}

/// The `{name}` part of a templated path, percent-decoded.
#[derive(Debug, Clone)]
pub struct PathName(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathName {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<PathName>()
            .cloned()
            .ok_or_else(ApiError::page_not_found)
    }
}

/// Query parameters as a map; a malformed query string is a 400 with a JSON body.
#[derive(Debug, Default)]
pub struct Params(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map(|Query(m)| Params(m))
            .map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))
    }
}

impl Params {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    /// Docker's `httputils.BoolValue`: anything but "", "0", "no", "false", "none" is true.
    pub fn bool(&self, key: &str) -> bool {
        match self.get(key) {
            None => false,
            Some(v) => !matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "" | "0" | "no" | "false" | "none"
            ),
        }
    }
}

/// The axum path for a template: templated ones share a catch-all per prefix.
fn axum_path(template: &str) -> String {
    match template.find(NAME) {
        Some(i) => format!("{}{{*rest}}", &template[..i]),
        None => template.to_string(),
    }
}

/// Picks the template for a request on a catch-all route: same method and prefix, the longest
/// suffix the path ends with, and a non-empty name left in between.
pub fn match_template(method: &str, path: &str) -> Option<(&'static str, String)> {
    ROUTES
        .iter()
        .filter(|(m, _)| *m == method)
        .filter_map(|(_, t)| {
            let i = t.find(NAME)?;
            let (prefix, suffix) = (&t[..i], &t[i + NAME.len()..]);
            let name = path.strip_prefix(prefix)?.strip_suffix(suffix)?;
            (!name.is_empty()).then_some((*t, suffix.len(), name))
        })
        .max_by_key(|(_, suffix_len, _)| *suffix_len)
        .map(|(t, _, name)| (t, percent_decode(name)))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The routes alone, built from [`ROUTES`].
pub fn router(state: SharedState) -> Router {
    let mut by_path: BTreeMap<String, MethodRouter<SharedState>> = BTreeMap::new();
    let mut registered: HashSet<(String, &str)> = HashSet::new();
    for &(method, template) in ROUTES {
        let path = axum_path(template);
        if !registered.insert((path.clone(), method)) {
            continue; // a catch-all already serves this method
        }
        let filter = match method {
            "GET" => MethodFilter::GET,
            "HEAD" => MethodFilter::HEAD,
            "POST" => MethodFilter::POST,
            "PUT" => MethodFilter::PUT,
            "DELETE" => MethodFilter::DELETE,
            other => panic!("ROUTES: unsupported method {other}"),
        };
        let entry = by_path.remove(&path).unwrap_or_default();
        let entry = if template.contains(NAME) {
            entry.on(
                filter,
                // The registered method, not the request's: axum also sends HEAD to GET routes.
                move |State(st): State<SharedState>, mut req: Request| async move {
                    match match_template(method, req.uri().path()) {
                        Some((t, name)) => {
                            req.extensions_mut().insert(PathName(name));
                            call_endpoint(method, t, req, st).await
                        }
                        None => ApiError::page_not_found().into_response(),
                    }
                },
            )
        } else {
            entry.on(
                filter,
                move |State(st): State<SharedState>, req: Request| async move {
                    call_endpoint(method, template, req, st).await
                },
            )
        };
        by_path.insert(path, entry);
    }
    let mut r = Router::new();
    for (path, entry) in by_path {
        r = r.route(&path, entry);
    }
    r.fallback(|| async { ApiError::page_not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        })
        .with_state(state)
}

/// The whole service as served: version prefix handling around the routes. The routes are the
/// fallback of an outer router so that the version layer rewrites the path *before* routing.
pub fn app(state: SharedState) -> Router {
    Router::new()
        .fallback_service(router(state))
        .layer(middleware::from_fn(strip_version_prefix))
        .layer(middleware::from_fn(catch_panic))
        .layer(middleware::from_fn(log_request))
}

/// dockerd logs every call at debug level ("Calling GET /v1.47/_ping"); so do we.
async fn log_request(req: Request, next: Next) -> Response {
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let resp = next.run(req).await;
    if method != Method::HEAD || resp.status() != StatusCode::OK {
        tracing::debug!("Calling {method} {uri} -> {}", resp.status().as_u16());
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_with_slashes_in_names() {
        assert_eq!(
            match_template("GET", "/images/127.0.0.1:5000/foo/bar:tag/json"),
            Some(("/images/{name}/json", "127.0.0.1:5000/foo/bar:tag".into()))
        );
        assert_eq!(
            match_template("GET", "/images/library/busybox/history"),
            Some(("/images/{name}/history", "library/busybox".into()))
        );
        assert_eq!(
            match_template("DELETE", "/images/foo/json"),
            Some(("/images/{name}", "foo/json".into()))
        );
        assert_eq!(
            match_template("POST", "/images/busybox/tag"),
            Some(("/images/{name}/tag", "busybox".into()))
        );
        assert_eq!(
            match_template("GET", "/distribution/busybox:latest/json"),
            Some(("/distribution/{name}/json", "busybox:latest".into()))
        );
        assert_eq!(match_template("GET", "/images/busybox"), None);
        assert_eq!(match_template("GET", "/images//json"), None);
        assert_eq!(
            match_template("GET", "/images/sha256%3Aabc/json"),
            Some(("/images/{name}/json", "sha256:abc".into()))
        );
    }

    #[test]
    fn axum_paths() {
        assert_eq!(axum_path("/images/{name}/json"), "/images/{*rest}");
        assert_eq!(axum_path("/images/{name}"), "/images/{*rest}");
        assert_eq!(axum_path("/_ping"), "/_ping");
    }

    #[test]
    fn bool_params_like_docker() {
        let p = Params(
            [
                ("a", "1"),
                ("b", "True"),
                ("c", "0"),
                ("d", "no"),
                ("e", ""),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        assert!(p.bool("a") && p.bool("b"));
        assert!(!p.bool("c") && !p.bool("d") && !p.bool("e") && !p.bool("zz"));
    }
}
