//! Configuration of the image store and its registry client.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::StoreError;

#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The data root (e.g. `/var/lib/rdocker`), created with mode 0700.
    pub root: PathBuf,
    pub registry: RegistryConfig,
    /// Layers downloaded at once per pull (dockerd's `max-concurrent-downloads`, default 3).
    pub max_concurrent_downloads: usize,
}

#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// dockerd's `registry-mirrors`: mirrors of docker.io, e.g. `http://127.0.0.1:5000`.
    pub mirrors: Vec<String>,
    /// Ours, beyond Docker: mirrors for any registry host, tried in order before the origin.
    pub registry_mirrors: HashMap<String, Vec<String>>,
    /// `host:port` or CIDR; 127.0.0.0/8 and localhost are always insecure (plain HTTP allowed).
    pub insecure_registries: Vec<String>,
    /// Connect / first byte / stall timeout of registry requests.
    pub request_timeout: Duration,
    /// Ours, beyond Docker: never fall back to a registry's origin when it has mirrors (for
    /// air-gapped hosts, and for tests that must not reach beyond loopback). Registries without
    /// mirrors are still contacted directly.
    pub mirrors_only: bool,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            mirrors: Vec::new(),
            registry_mirrors: HashMap::new(),
            insecure_registries: Vec::new(),
            request_timeout: Duration::from_secs(30),
            mirrors_only: false,
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            root: PathBuf::from("/var/lib/rdocker"),
            registry: RegistryConfig::default(),
            max_concurrent_downloads: 3,
        }
    }
}

/// Where a registry's content can be fetched from: a mirror or the origin itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host[:port]` as sent in URLs.
    pub host: String,
    /// Plain HTTP (insecure registry or `http://` mirror).
    pub http: bool,
    /// HTTPS without certificate verification (an insecure registry tried over TLS first).
    pub skip_verify: bool,
    pub mirror: bool,
}

impl Endpoint {
    pub fn base_url(&self) -> String {
        format!(
            "{}://{}",
            if self.http { "http" } else { "https" },
            self.host
        )
    }
}

/// Docker Hub's API host: `docker.io` is only the name users write.
pub(crate) const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";

impl RegistryConfig {
    /// Mirrors first (in configured order), then the origin. Docker Hub's mirrors come from
    /// `mirrors`; any registry's from `registry_mirrors`.
    pub(crate) fn endpoints(&self, registry: &str) -> Result<Vec<Endpoint>, StoreError> {
        let mut out = Vec::new();
        let mut mirror_urls: Vec<&String> = Vec::new();
        if registry == crate::reference::DOCKER_HUB {
            mirror_urls.extend(self.mirrors.iter());
        }
        if let Some(list) = self.registry_mirrors.get(registry) {
            mirror_urls.extend(list.iter());
        }
        for url in mirror_urls {
            out.push(self.parse_mirror(url)?);
        }
        if self.mirrors_only && !out.is_empty() {
            return Ok(out);
        }
        let origin = if registry == crate::reference::DOCKER_HUB {
            DOCKER_HUB_API_HOST.to_string()
        } else {
            registry.to_string()
        };
        // Docker tries an insecure registry over TLS (unverified) first, then plain HTTP.
        // Loopback registries are plain HTTP in practice: go there directly.
        if self.is_insecure(&origin) && !is_loopback(&origin) {
            out.push(Endpoint {
                host: origin.clone(),
                http: false,
                skip_verify: true,
                mirror: false,
            });
        }
        out.push(Endpoint {
            http: self.is_insecure(&origin),
            host: origin,
            skip_verify: false,
            mirror: false,
        });
        Ok(out)
    }

    fn parse_mirror(&self, url: &str) -> Result<Endpoint, StoreError> {
        let (http, rest) = if let Some(r) = url.strip_prefix("http://") {
            (Some(true), r)
        } else if let Some(r) = url.strip_prefix("https://") {
            (Some(false), r)
        } else {
            (None, url)
        };
        let host = rest.trim_end_matches('/');
        if host.is_empty() || host.contains('/') || host.contains('@') {
            return Err(StoreError::InvalidConfig(format!(
                "mirror {url:?}: expected a URL like http://host:port without a path"
            )));
        }
        Ok(Endpoint {
            http: http.unwrap_or_else(|| self.is_insecure(host)),
            host: host.to_string(),
            skip_verify: false,
            mirror: true,
        })
    }

    /// Docker's rule: listed `host:port` entries, listed CIDRs, and always 127.0.0.0/8 and
    /// localhost (which Docker treats as insecure because it resolves into 127.0.0.0/8).
    pub(crate) fn is_insecure(&self, host_port: &str) -> bool {
        if is_loopback(host_port) {
            return true;
        }
        let host = split_host(host_port);
        let ip: Option<IpAddr> = host.parse().ok();
        self.insecure_registries.iter().any(|entry| {
            let entry = entry
                .trim_start_matches("http://")
                .trim_start_matches("https://")
                .trim_end_matches('/');
            if entry == host_port || entry == host {
                return true;
            }
            match (ip, entry.split_once('/')) {
                (Some(ip), Some((net, bits))) => cidr_contains(net, bits, ip),
                _ => false,
            }
        })
    }
}

fn is_loopback(host_port: &str) -> bool {
    let host = split_host(host_port);
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn split_host(host_port: &str) -> &str {
    if let Some(rest) = host_port.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host_port.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') => h,
        _ => host_port,
    }
}

fn cidr_contains(net: &str, bits: &str, ip: IpAddr) -> bool {
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_rules() {
        let c = RegistryConfig {
            insecure_registries: vec!["myreg:5000".into(), "10.1.0.0/16".into()],
            ..Default::default()
        };
        assert!(c.is_insecure("127.0.0.1:5000"));
        assert!(c.is_insecure("127.9.9.9"));
        assert!(c.is_insecure("localhost:5000"));
        assert!(c.is_insecure("[::1]:5000"));
        assert!(c.is_insecure("myreg:5000"));
        assert!(!c.is_insecure("myreg:5001"));
        assert!(c.is_insecure("10.1.2.3:443"));
        assert!(!c.is_insecure("10.2.2.3:443"));
        assert!(!c.is_insecure("registry-1.docker.io"));
    }

    #[test]
    fn mirrors_only_never_reaches_the_origin() {
        let c = RegistryConfig {
            mirrors: vec!["http://127.0.0.1:5000".into()],
            mirrors_only: true,
            ..Default::default()
        };
        let e = c.endpoints("docker.io").unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].base_url(), "http://127.0.0.1:5000");
        // A registry without mirrors is still reached directly.
        let l = c.endpoints("127.0.0.1:6000").unwrap();
        assert_eq!(l.len(), 1);
        assert!(!l[0].mirror);
    }

    #[test]
    fn mirrors_then_origin() {
        let mut c = RegistryConfig {
            mirrors: vec!["http://127.0.0.1:5000/".into(), "mirror.example".into()],
            ..Default::default()
        };
        c.registry_mirrors
            .insert("quay.io".into(), vec!["https://127.0.0.1:6000".into()]);
        let e = c.endpoints("docker.io").unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].base_url(), "http://127.0.0.1:5000");
        assert_eq!(e[1].base_url(), "https://mirror.example");
        assert_eq!(e[2].base_url(), "https://registry-1.docker.io");
        assert!(e[0].mirror && !e[2].mirror);
        let q = c.endpoints("quay.io").unwrap();
        assert_eq!(q[0].base_url(), "https://127.0.0.1:6000");
        assert_eq!(q[1].base_url(), "https://quay.io");
        let l = c.endpoints("127.0.0.1:5000").unwrap();
        assert_eq!(
            l,
            vec![Endpoint {
                host: "127.0.0.1:5000".into(),
                http: true,
                skip_verify: false,
                mirror: false
            }]
        );
        c.insecure_registries = vec!["myreg:5000".into()];
        let m = c.endpoints("myreg:5000").unwrap();
        assert_eq!(m.len(), 2);
        assert!(m[0].skip_verify && !m[0].http);
        assert!(m[1].http);
        c.mirrors = vec!["http://h/path".into()];
        assert!(c.endpoints("docker.io").is_err());
    }
}
