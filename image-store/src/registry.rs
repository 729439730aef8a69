//! Registry access through `oci-client`: endpoint choice (mirrors, then origin), manifests with
//! all four media types in `Accept`, streamed blobs with stall guards, and the mapping of
//! registry answers to Docker's error messages.
//!
//! One `oci_client::Client` per (endpoint, credentials): oci-client remembers the first
//! credentials it sees for a registry and caches tokens per repository, so sharing a client
//! between users would hand one user's token to another.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;

use crate::clients::{build_client, client_key, system_roots};
use crate::config::Endpoint;
use crate::manifest::{Descriptor, MANIFEST_TYPES};
use crate::{Credentials, Reference, RegistryConfig, StoreError};

pub type BlobStream = Pin<Box<dyn Stream<Item = Result<Bytes, StoreError>> + Send>>;

pub struct Registry {
    cfg: RegistryConfig,
    clients: Arc<Mutex<HashMap<String, oci_client::Client>>>,
}

/// One repository on one endpoint, with the credentials of one request.
#[derive(Clone)]
pub struct Remote {
    pub endpoint: Endpoint,
    client: oci_client::Client,
    auth: RegistryAuth,
    repo: String,
    timeout: Duration,
    /// The user's reference (for messages).
    pub reference: Reference,
}

impl Registry {
    pub fn new(cfg: RegistryConfig) -> Registry {
        let reg = Registry {
            cfg,
            clients: Arc::new(Mutex::new(HashMap::new())),
        };
        reg.prewarm_mirror_clients();
        reg
    }

    /// Builds the clients of the configured mirrors on a side thread, off the request path:
    /// a new client reads and parses the system's CA certificates (oci-client even builds a
    /// second, default reqwest client inside), tens of milliseconds that the first pull
    /// would otherwise wait for.
    fn prewarm_mirror_clients(&self) {
        let mut hosts = vec![crate::reference::DOCKER_HUB.to_string()];
        hosts.extend(self.cfg.registry_mirrors.keys().cloned());
        let mirrors: Vec<Endpoint> = hosts
            .iter()
            .filter_map(|h| self.cfg.endpoints(h).ok())
            .flatten()
            .filter(|ep| ep.mirror)
            .collect();
        let clients = Arc::clone(&self.clients);
        let timeout = self.timeout();
        let _ = std::thread::Builder::new()
            .name("registry-warm".into())
            .spawn(move || {
                system_roots();
                for ep in mirrors {
                    let key = client_key(&ep, None);
                    let client = build_client(&ep, timeout);
                    let mut map = clients.lock().unwrap_or_else(|p| p.into_inner());
                    map.entry(key).or_insert(client);
                }
            });
    }

    pub fn config(&self) -> &RegistryConfig {
        &self.cfg
    }

    fn timeout(&self) -> Duration {
        if self.cfg.request_timeout.is_zero() {
            Duration::from_secs(30)
        } else {
            self.cfg.request_timeout
        }
    }

    fn client(&self, ep: &Endpoint, creds: Option<&Credentials>) -> oci_client::Client {
        let key = client_key(ep, creds);
        if let Some(c) = self
            .clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return c.clone();
        }
        // Built outside the lock: it reads certificates, and other pulls must not wait on it.
        let client = build_client(ep, self.timeout());
        let mut map = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key).or_insert(client).clone()
    }

    /// Endpoints to try for `reference`, in order. Each one's client is made only when the
    /// iteration reaches it: building an HTTPS client reads the system's CA certificates,
    /// which would cost every pull that a mirror answers.
    pub fn remotes<'a>(
        &'a self,
        reference: &'a Reference,
        creds: Option<&'a Credentials>,
    ) -> Result<impl ExactSizeIterator<Item = Remote> + 'a, StoreError> {
        Ok(self
            .cfg
            .endpoints(reference.registry())?
            .into_iter()
            .map(move |ep| Remote {
                // Mirrors are always asked anonymously, so all users share their clients.
                client: self.client(&ep, if ep.mirror { None } else { creds }),
                // Credentials are for the registry the user named, never for a mirror.
                auth: if ep.mirror {
                    RegistryAuth::Anonymous
                } else {
                    Credentials::to_registry_auth(creds)
                },
                endpoint: ep,
                repo: reference.repository().to_string(),
                timeout: self.timeout(),
                reference: reference.clone(),
            }))
    }

    /// Fetches the manifest `reference` names (tag or digest), trying mirrors then the origin.
    /// Returns the endpoint that answered, so blobs come from the same place.
    pub async fn fetch_top(
        &self,
        reference: &Reference,
        creds: Option<&Credentials>,
    ) -> Result<(Remote, Bytes, String), StoreError> {
        let mut mirror_err: Option<StoreError> = None;
        let remotes = self.remotes(reference, creds)?;
        let last = remotes.len().saturating_sub(1);
        for (i, remote) in remotes.into_iter().enumerate() {
            let res = match reference.digest() {
                Some(d) => remote.manifest(d).await,
                None => remote.manifest(reference.tag().unwrap_or("latest")).await,
            };
            match res {
                Ok((bytes, digest)) => return Ok((remote, bytes, digest)),
                // TLS attempt at an insecure registry failed: plain HTTP is next.
                Err(e) if remote.endpoint.skip_verify && i < last && is_transport(&e) => {
                    tracing::debug!(registry = %remote.endpoint.host, error = %e, "TLS failed, trying plain HTTP");
                }
                Err(e) if remote.endpoint.mirror => {
                    tracing::warn!(mirror = %remote.endpoint.base_url(), error = %e, "mirror failed, trying next endpoint");
                    if mirror_err.is_none() || !is_transport(&e) {
                        mirror_err = Some(e);
                    }
                }
                // A definite answer from a mirror (not found, denied) explains more than the
                // origin being unreachable.
                Err(e)
                    if is_transport(&e)
                        && mirror_err.as_ref().is_some_and(|m| !is_transport(m)) =>
                {
                    return Err(mirror_err.unwrap_or(e));
                }
                Err(e) => return Err(e),
            }
        }
        Err(mirror_err.unwrap_or(StoreError::InvalidReference))
    }
}

/// Errors after which another endpoint may do better.
pub fn is_transport(e: &StoreError) -> bool {
    matches!(e, StoreError::Registry { .. } | StoreError::Timeout { .. })
}

impl Remote {
    fn oci_ref(&self, tag_or_digest: &str) -> oci_client::Reference {
        if tag_or_digest.contains(':') {
            oci_client::Reference::with_digest(
                self.endpoint.host.clone(),
                self.repo.clone(),
                tag_or_digest.to_string(),
            )
        } else {
            oci_client::Reference::with_tag(
                self.endpoint.host.clone(),
                self.repo.clone(),
                tag_or_digest.to_string(),
            )
        }
    }

    fn url(&self, kind: &str, what: &str) -> String {
        format!(
            "{}/v2/{}/{kind}/{what}",
            self.endpoint.base_url(),
            self.repo
        )
    }

    /// Raw manifest and its verified digest (oci-client checks the body against the digest we
    /// asked for and against `Docker-Content-Digest`).
    pub async fn manifest(&self, tag_or_digest: &str) -> Result<(Bytes, String), StoreError> {
        let url = self.url("manifests", tag_or_digest);
        let r = self.oci_ref(tag_or_digest);
        let fut = self
            .client
            .pull_manifest_raw(&r, &self.auth, &MANIFEST_TYPES);
        match tokio::time::timeout(self.timeout, fut).await {
            Err(_) => Err(StoreError::Timeout { method: "Get", url }),
            Ok(Err(e)) => Err(map_error(e, "Get", &url, &self.reference)),
            Ok(Ok(v)) => Ok(v),
        }
    }

    /// The blob as a stream; each chunk must arrive within the request timeout.
    pub async fn blob_stream(&self, desc: &Descriptor) -> Result<BlobStream, StoreError> {
        let url = self.url("blobs", &desc.digest);
        let r = self.oci_ref("latest");
        let layer = OciDescriptor {
            media_type: desc.media_type.clone(),
            digest: desc.digest.clone(),
            size: desc.size as i64,
            // Foreign URLs are not followed: they point outside the registry (CVE-2020-15157
            // territory) and outside our loopback-only world.
            urls: None,
            annotations: None,
            artifact_type: None,
        };
        let timeout = self.timeout;
        let fut = self.client.pull_blob_stream(&r, &layer);
        let sized = match tokio::time::timeout(timeout, fut).await {
            Err(_) => return Err(StoreError::Timeout { method: "Get", url }),
            Ok(Err(e)) => {
                return Err(match map_error(e, "Get", &url, &self.reference) {
                    // A missing blob is the registry's fault, not a missing image.
                    StoreError::ManifestNotFound { .. } => StoreError::Registry {
                        method: "Get",
                        url,
                        detail: "blob unknown: blob unknown to registry".into(),
                    },
                    other => other,
                });
            }
            Ok(Ok(s)) => s,
        };
        let digest = desc.digest.clone();
        let stream = futures_util::stream::unfold(
            (sized.stream, url, digest, false),
            move |(mut s, url, digest, done)| async move {
                if done {
                    return None;
                }
                match tokio::time::timeout(timeout, s.next()).await {
                    Err(_) => Some((
                        Err(StoreError::Timeout {
                            method: "Get",
                            url: url.clone(),
                        }),
                        (s, url, digest, true),
                    )),
                    Ok(None) => None,
                    Ok(Some(Ok(b))) => Some((Ok(b), (s, url, digest, false))),
                    Ok(Some(Err(e))) => {
                        // oci-client reports its own end-of-stream digest check as an io error;
                        // the caller's hash check names the digest properly.
                        let re = e.get_ref().and_then(|i| i.downcast_ref::<reqwest::Error>());
                        let err = match re {
                            Some(re) if re.is_timeout() => StoreError::Timeout {
                                method: "Get",
                                url: url.clone(),
                            },
                            Some(re) => StoreError::Registry {
                                method: "Get",
                                url: url.clone(),
                                detail: innermost(re),
                            },
                            None => StoreError::Registry {
                                method: "Get",
                                url: url.clone(),
                                detail: crate::error::io_text(&e),
                            },
                        };
                        Some((Err(err), (s, url, digest, true)))
                    }
                }
            },
        );
        Ok(Box::pin(stream))
    }

    /// Small blobs (image configs): read whole, at most `desc.size` bytes, digest verified.
    pub async fn blob_bytes(&self, desc: &Descriptor, max: u64) -> Result<Vec<u8>, StoreError> {
        if desc.size > max {
            return Err(StoreError::InvalidManifest {
                digest: desc.digest.clone(),
                detail: format!("blob of {} bytes exceeds the limit of {max}", desc.size),
            });
        }
        let mut s = self.blob_stream(desc).await?;
        let mut buf = Vec::with_capacity(desc.size as usize);
        let mut stream_err = None;
        while let Some(chunk) = s.next().await {
            match chunk {
                Ok(b) => {
                    if buf.len() as u64 + b.len() as u64 > desc.size {
                        return Err(StoreError::BlobTooLong {
                            digest: desc.digest.clone(),
                            expected: desc.size,
                        });
                    }
                    buf.extend_from_slice(&b);
                }
                Err(e) => {
                    stream_err = Some(e);
                    break;
                }
            }
        }
        let actual = crate::content::sha256_digest(&buf);
        if buf.len() as u64 == desc.size && actual != desc.digest {
            return Err(StoreError::DigestMismatch {
                digest: desc.digest.clone(),
                actual,
            });
        }
        if let Some(e) = stream_err {
            return Err(e);
        }
        if (buf.len() as u64) < desc.size {
            return Err(StoreError::BlobTooShort {
                digest: desc.digest.clone(),
                expected: desc.size,
                actual: buf.len() as u64,
            });
        }
        Ok(buf)
    }
}

/// Registry answers → Docker's messages (distribution/errors.go `translatePullError`).
pub fn map_error(
    e: OciDistributionError,
    method: &'static str,
    url: &str,
    r: &Reference,
) -> StoreError {
    use OciDistributionError as E;
    let url = url.to_string();
    match e {
        E::RegistryError { envelope, .. } => {
            let Some(first) = envelope.errors.first() else {
                return StoreError::Registry {
                    method,
                    url,
                    detail: "registry returned an empty error list".into(),
                };
            };
            let code = serde_json::to_value(&first.code)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| "UNKNOWN".into());
            let detail = format!(
                "{}: {}",
                code.to_lowercase().replace('_', " "),
                first.message
            );
            match code.as_str() {
                "MANIFEST_UNKNOWN" | "NOT_FOUND" => StoreError::ManifestNotFound {
                    reference: r.familiar(),
                    detail,
                },
                "NAME_UNKNOWN" => StoreError::RepositoryNotFound {
                    name: r.familiar_name(),
                    detail,
                },
                "DENIED" => StoreError::PullAccessDenied {
                    name: r.familiar_name(),
                    detail,
                },
                "UNAUTHORIZED" => StoreError::Unauthorized {
                    method,
                    url,
                    detail: first.message.clone(),
                },
                _ => StoreError::Registry {
                    method,
                    url,
                    detail,
                },
            }
        }
        E::UnauthorizedError { .. } => StoreError::Unauthorized {
            method,
            url,
            detail: "authentication required".into(),
        },
        E::AuthenticationFailure(reason) => StoreError::Unauthorized {
            method,
            url,
            detail: reason,
        },
        E::ServerError { code, message, .. } => match code {
            401 => StoreError::Unauthorized {
                method,
                url,
                detail: "authentication required".into(),
            },
            403 => StoreError::Forbidden {
                method,
                url,
                detail: message,
            },
            404 => StoreError::ManifestNotFound {
                reference: r.familiar(),
                detail: "not found".into(),
            },
            _ => StoreError::Registry {
                method,
                url,
                detail: format!(
                    "received unexpected HTTP status: {code} {}",
                    status_text(code)
                ),
            },
        },
        E::DigestError(d) => StoreError::DigestMismatch {
            digest: r.digest().unwrap_or("manifest").to_string(),
            actual: d.to_string(),
        },
        E::RequestError(re) => {
            if re.is_timeout() {
                return StoreError::Timeout { method, url };
            }
            StoreError::Registry {
                method,
                url,
                detail: innermost(&re),
            }
        }
        other => StoreError::Registry {
            method,
            url,
            detail: other.to_string(),
        },
    }
}

fn status_text(code: u16) -> &'static str {
    reqwest::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

/// The root cause of a transport error, in Go's wording where it is an errno
/// (`connect: connection refused`).
pub fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = cur.source() {
        if let Some(io) = next.downcast_ref::<std::io::Error>() {
            if io.raw_os_error().is_some() {
                return format!("connect: {}", crate::error::io_text(io));
            }
        }
        cur = next;
    }
    cur.to_string()
}
