//! A minimal registry client for pushing fixtures (and for tests that look at a registry):
//! monolithic blob uploads, manifests, and the Basic / Bearer challenge dance.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ureq::http::{Method, Request, Response};
use ureq::Body;

/// Every manifest type, always: distribution 2.8 answers MANIFEST_UNKNOWN for an OCI manifest
/// or index unless `Accept` names that exact type.
pub const ACCEPT_ALL: &str = "application/vnd.oci.image.manifest.v1+json, \
application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.list.v2+json";

/// An agent that reports HTTP errors as responses, never follows redirects to other hosts
/// silently, and gives up after `timeout`.
pub fn plain_agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .max_redirects(0)
        .build()
        .into()
}

pub struct RegistryClient {
    base: String,
    agent: ureq::Agent,
    creds: Option<(String, String)>,
    /// Bearer tokens by repository (we always ask for pull,push).
    tokens: Mutex<HashMap<String, String>>,
    /// Set once the registry asked for Basic.
    basic: Mutex<bool>,
}

impl RegistryClient {
    /// `addr` is "127.0.0.1:PORT".
    pub fn new(addr: &str, creds: Option<(&str, &str)>) -> RegistryClient {
        RegistryClient {
            base: format!("http://{addr}"),
            agent: plain_agent(Duration::from_secs(300)),
            creds: creds.map(|(u, p)| (u.to_string(), p.to_string())),
            tokens: Mutex::new(HashMap::new()),
            basic: Mutex::new(false),
        }
    }

    fn auth_header(&self, repo: &str) -> Option<String> {
        if let Some(t) = self.tokens.lock().expect("lock").get(repo) {
            return Some(format!("Bearer {t}"));
        }
        if *self.basic.lock().expect("lock") {
            let (u, p) = self.creds.as_ref()?;
            return Some(format!("Basic {}", STANDARD.encode(format!("{u}:{p}"))));
        }
        None
    }

    /// One request, answering a 401 challenge once.
    pub fn send(
        &self,
        method: Method,
        url: &str,
        repo: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response<Body>> {
        let url = if url.starts_with("http") {
            url.to_string()
        } else {
            format!("{}{url}", self.base)
        };
        for attempt in 0..2 {
            let mut req = Request::builder().method(method.clone()).uri(&url);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if let Some(a) = self.auth_header(repo) {
                req = req.header("Authorization", a);
            }
            let resp = match body {
                Some(b) => self.agent.run(req.body(b)?),
                None => self.agent.run(req.body(())?),
            }
            .with_context(|| format!("{method} {url}"))?;
            if resp.status() != 401 || attempt == 1 {
                return Ok(resp);
            }
            let challenge = resp
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            self.answer_challenge(&challenge, repo)?;
        }
        unreachable!("the loop returns on its second attempt")
    }

    fn answer_challenge(&self, challenge: &str, repo: &str) -> Result<()> {
        if challenge.starts_with("Basic") {
            if self.creds.is_none() {
                bail!(
                    "registry {} wants Basic auth; pass --user/--password",
                    self.base
                );
            }
            *self.basic.lock().expect("lock") = true;
            return Ok(());
        }
        let params = parse_challenge(
            challenge
                .strip_prefix("Bearer ")
                .context("registry answered 401 without a Basic or Bearer challenge")?,
        );
        let realm = params
            .get("realm")
            .context("Bearer challenge without realm")?;
        let service = params.get("service").cloned().unwrap_or_default();
        let url = format!("{realm}?service={service}&scope=repository:{repo}:pull,push");
        let mut req = Request::get(&url);
        if let Some((u, p)) = &self.creds {
            req = req.header(
                "Authorization",
                format!("Basic {}", STANDARD.encode(format!("{u}:{p}"))),
            );
        }
        let mut resp = self.agent.run(req.body(())?)?;
        if resp.status() != 200 {
            bail!("token service {realm} answered {}", resp.status());
        }
        let v: serde_json::Value = serde_json::from_str(&resp.body_mut().read_to_string()?)?;
        let token = v["token"]
            .as_str()
            .or_else(|| v["access_token"].as_str())
            .context("token response without token")?;
        self.tokens
            .lock()
            .expect("lock")
            .insert(repo.to_string(), token.to_string());
        Ok(())
    }

    pub fn blob_exists(&self, repo: &str, digest: &str) -> Result<bool> {
        let r = self.send(
            Method::HEAD,
            &format!("/v2/{repo}/blobs/{digest}"),
            repo,
            &[],
            None,
        )?;
        Ok(r.status() == 200)
    }

    /// HEAD, then a monolithic upload: POST for a session, PUT `<location>&digest=…`.
    pub fn push_blob(&self, repo: &str, digest: &str, data: &[u8]) -> Result<()> {
        if self.blob_exists(repo, digest)? {
            return Ok(());
        }
        let r = self.send(
            Method::POST,
            &format!("/v2/{repo}/blobs/uploads/"),
            repo,
            &[],
            Some(&[]),
        )?;
        if r.status() != 202 {
            bail!("starting upload to {repo}: {}", describe(r));
        }
        let loc = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .context("upload session without Location")?;
        let sep = if loc.contains('?') { '&' } else { '?' };
        let url = format!("{loc}{sep}digest={digest}");
        let headers = [("Content-Type", "application/octet-stream")];
        let r = self.send(Method::PUT, &url, repo, &headers, Some(data))?;
        if r.status() != 201 {
            bail!("uploading {digest} to {repo}: {}", describe(r));
        }
        Ok(())
    }

    /// PUT a manifest under a tag or digest; returns the digest the registry reports.
    pub fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Result<String> {
        let url = format!("/v2/{repo}/manifests/{reference}");
        let r = self.send(
            Method::PUT,
            &url,
            repo,
            &[("Content-Type", media_type)],
            Some(body),
        )?;
        if r.status() != 201 {
            bail!("putting manifest {repo}:{reference}: {}", describe(r));
        }
        Ok(r.headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string())
    }

    /// GET a manifest: (content type, body). Fails on anything but 200.
    pub fn get_manifest(&self, repo: &str, reference: &str) -> Result<(String, Vec<u8>)> {
        let url = format!("/v2/{repo}/manifests/{reference}");
        let mut r = self.send(Method::GET, &url, repo, &[("Accept", ACCEPT_ALL)], None)?;
        if r.status() != 200 {
            bail!("getting manifest {repo}:{reference}: {}", describe(r));
        }
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        Ok((ct, r.body_mut().read_to_vec()?))
    }
}

fn describe(mut r: Response<Body>) -> String {
    let st = r.status();
    let body = r.body_mut().read_to_string().unwrap_or_default();
    format!("{st}: {}", body.trim())
}

/// `realm="…",service="…",scope="…"` → map. Values may hold commas inside quotes.
pub fn parse_challenge(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = s.trim();
    while let Some((k, after)) = rest.split_once('=') {
        let k = k.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let (v, tail) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            (&q[..end], q.get(end + 1..).unwrap_or(""))
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        out.insert(k, v.to_string());
        rest = tail.trim_start_matches(',').trim();
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn challenge() {
        let m = super::parse_challenge(
            r#"realm="http://127.0.0.1:1/token",service="svc",scope="repository:a:pull,push""#,
        );
        assert_eq!(m["realm"], "http://127.0.0.1:1/token");
        assert_eq!(m["scope"], "repository:a:pull,push");
    }
}
