//! HTTP clients of the registry endpoints: their cache key and construction, and the system's
//! CA certificates, read once per process.

use std::sync::OnceLock;
use std::time::Duration;

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};

use crate::config::Endpoint;
use crate::Credentials;

pub(crate) fn client_key(ep: &Endpoint, creds: Option<&Credentials>) -> String {
    format!(
        "{}|{}|{}",
        ep.base_url(),
        ep.skip_verify,
        Credentials::cache_key(creds)
    )
}

pub(crate) fn build_client(ep: &Endpoint, timeout: Duration) -> oci_client::Client {
    oci_client::Client::new(ClientConfig {
        protocol: if ep.http {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        },
        // We choose the platform ourselves from the raw index.
        platform_resolver: None,
        accept_invalid_certificates: ep.skip_verify,
        tls_certs_only: system_roots().to_vec(),
        connect_timeout: Some(timeout),
        read_timeout: Some(timeout),
        user_agent: concat!("rdocker/", env!("CARGO_PKG_VERSION")),
        ..Default::default()
    })
}

/// The system's CA certificates, read once per process. Without this every new HTTPS client
/// (one per endpoint and credentials) reads and parses all of /etc/ssl/certs again, which
/// costs tens of milliseconds per cold pull. Empty when none are found: oci-client then falls
/// back to reqwest's own loading.
pub(crate) fn system_roots() -> &'static [Certificate] {
    static ROOTS: OnceLock<Vec<Certificate>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!(error = %e, "loading the system's CA certificates");
        }
        found
            .certs
            .into_iter()
            .map(|c| Certificate {
                encoding: CertificateEncoding::Der,
                data: c.to_vec(),
            })
            .collect()
    })
}
