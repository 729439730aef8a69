//! `POST /auth`: check credentials the way `docker login` does — ping `/v2/`, then follow the
//! challenge: Basic → retry `/v2/` with the credentials; Bearer → ask the token service with
//! them. Done with reqwest directly because oci-client accepts Basic credentials without
//! verifying them (it only attaches them to later requests).

use std::time::Duration;

use crate::config::{Endpoint, DOCKER_HUB_API_HOST};
use crate::registry::innermost;
use crate::{Credentials, RegistryConfig, StoreError};

pub async fn check_login(
    cfg: &RegistryConfig,
    server: &str,
    creds: &Credentials,
) -> Result<(), StoreError> {
    let ep = login_endpoint(cfg, server)?;
    let timeout = if cfg.request_timeout.is_zero() {
        Duration::from_secs(30)
    } else {
        cfg.request_timeout
    };
    let client = reqwest::Client::builder()
        .connect_timeout(timeout)
        .timeout(timeout)
        .user_agent(concat!("rdocker/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| StoreError::InvalidConfig(e.to_string()))?;
    let url = format!("{}/v2/", ep.base_url());
    let res = send(client.get(&url), &url).await?;
    match res.status().as_u16() {
        200 => return Ok(()),
        401 => {}
        code => return Err(unexpected(&url, code)),
    }
    let challenge = res
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (scheme, params) = parse_challenge(&challenge);
    let denied = |url: &str| StoreError::Unauthorized {
        method: "Get",
        url: url.to_string(),
        detail: "incorrect username or password".into(),
    };
    if scheme.eq_ignore_ascii_case("bearer") {
        let realm = params
            .iter()
            .find(|(k, _)| k == "realm")
            .map(|(_, v)| v.clone())
            .ok_or_else(|| unexpected(&url, 401))?;
        let mut query: Vec<(&str, String)> = vec![("account", creds.username.clone())];
        if let Some((_, s)) = params.iter().find(|(k, _)| k == "service") {
            query.push(("service", s.clone()));
        }
        let mut req = client.get(&realm).query(&query);
        req = match creds.identity_token.as_deref() {
            Some(t) if !t.is_empty() => req.bearer_auth(t),
            _ => req.basic_auth(&creds.username, Some(&creds.password)),
        };
        let res = send(req, &realm).await?;
        return match res.status().as_u16() {
            200 => Ok(()),
            401 | 403 => Err(denied(&realm)),
            code => Err(unexpected(&realm, code)),
        };
    }
    // Basic (or an unknown scheme, which Docker also answers with Basic credentials).
    let res = send(
        client
            .get(&url)
            .basic_auth(&creds.username, Some(&creds.password)),
        &url,
    )
    .await?;
    match res.status().as_u16() {
        200 => Ok(()),
        401 | 403 => Err(denied(&url)),
        code => Err(unexpected(&url, code)),
    }
}

async fn send(req: reqwest::RequestBuilder, url: &str) -> Result<reqwest::Response, StoreError> {
    req.send().await.map_err(|e| {
        if e.is_timeout() {
            StoreError::Timeout {
                method: "Get",
                url: url.to_string(),
            }
        } else {
            StoreError::Registry {
                method: "Get",
                url: url.to_string(),
                detail: innermost(&e),
            }
        }
    })
}

fn unexpected(url: &str, code: u16) -> StoreError {
    let reason = reqwest::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    StoreError::Registry {
        method: "Get",
        url: url.to_string(),
        detail: format!("received unexpected HTTP status: {code} {reason}"),
    }
}

/// `docker login` server forms: empty or Docker Hub's names → Docker Hub; `host:port`,
/// `http://host:port`, `https://host/v2/`.
fn login_endpoint(cfg: &RegistryConfig, server: &str) -> Result<Endpoint, StoreError> {
    let s = server.trim();
    let (http, rest) = if let Some(r) = s.strip_prefix("http://") {
        (Some(true), r)
    } else if let Some(r) = s.strip_prefix("https://") {
        (Some(false), r)
    } else {
        (None, s)
    };
    let host = rest.split('/').next().unwrap_or("");
    let host = match host {
        "" | "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB_API_HOST,
        h => h,
    };
    if host.contains('@') || host.contains(char::is_whitespace) {
        return Err(StoreError::InvalidConfig(format!(
            "invalid registry address {server:?}"
        )));
    }
    Ok(Endpoint {
        host: host.to_string(),
        http: http.unwrap_or_else(|| cfg.is_insecure(host)),
        skip_verify: false,
        mirror: false,
    })
}

/// `Bearer realm="…",service="…"` → ("Bearer", [(realm, …), (service, …)]).
fn parse_challenge(h: &str) -> (String, Vec<(String, String)>) {
    let h = h.trim();
    let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => val.extend(chars.next()),
                    '"' => break,
                    c => val.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek() {
                if *c == ',' {
                    break;
                }
                val.push(*c);
                chars.next();
            }
        }
        params.push((key.trim().to_ascii_lowercase(), val.trim().to_string()));
    }
    (scheme.to_string(), params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_parsing() {
        let (s, p) = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull,push""#,
        );
        assert_eq!(s, "Bearer");
        assert_eq!(p[0], ("realm".into(), "https://auth.example/token".into()));
        assert_eq!(p[1], ("service".into(), "registry.example".into()));
        assert_eq!(p[2].1, "repository:a:pull,push");
        let (s, p) = parse_challenge(r#"Basic realm="Registry Realm""#);
        assert_eq!((s.as_str(), p[0].1.as_str()), ("Basic", "Registry Realm"));
    }

    #[test]
    fn login_servers() {
        let c = RegistryConfig::default();
        let e = login_endpoint(&c, "").unwrap();
        assert_eq!(e.base_url(), "https://registry-1.docker.io");
        let e = login_endpoint(&c, "https://index.docker.io/v1/").unwrap();
        assert_eq!(e.host, "registry-1.docker.io");
        let e = login_endpoint(&c, "127.0.0.1:5000").unwrap();
        assert_eq!(e.base_url(), "http://127.0.0.1:5000");
        let e = login_endpoint(&c, "https://127.0.0.1:5000/v2/").unwrap();
        assert_eq!(e.base_url(), "https://127.0.0.1:5000");
    }
}
