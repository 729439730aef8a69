//! Test helpers: a throw-away CNCF distribution registry on 127.0.0.1 (Debian's
//! `docker-registry`) and small hand-made images pushed into it over the registry API.
#![allow(dead_code)]

pub mod fake;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const GZIP_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const OCI_ZSTD_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const OCI_TAR_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

pub fn sha(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// `None` (with the reason printed) when the registry binary is not installed.
pub fn registry_available() -> bool {
    if Path::new(REGISTRY_BIN).exists() {
        true
    } else {
        eprintln!("SKIP: {REGISTRY_BIN} not installed (apt install docker-registry)");
        false
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub struct TestRegistry {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// `user:password` when started with htpasswd auth.
    pub basic: Option<(String, String)>,
}

impl TestRegistry {
    pub fn start(basic: Option<(&str, &str)>) -> TestRegistry {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut auth = String::new();
        if let Some((u, p)) = basic {
            let out = Command::new("htpasswd")
                .args(["-Bbn", u, p])
                .output()
                .expect("htpasswd");
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, &out.stdout).expect("write htpasswd");
            auth = format!(
                "auth:\n  htpasswd:\n    realm: basic-realm\n    path: {}\n",
                file.display()
            );
        }
        let cfg = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}",
            dir.path().join("data").display()
        );
        let cfg_path = dir.path().join("config.yml");
        std::fs::write(&cfg_path, cfg).expect("write config");
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&cfg_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start docker-registry");
        let reg = TestRegistry {
            child,
            port,
            dir,
            basic: basic.map(|(u, p)| (u.to_string(), p.to_string())),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "registry did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        reg
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.basic {
            Some((u, p)) => rb.basic_auth(u, Some(p)),
            None => rb,
        }
    }

    pub async fn push_blob(&self, repo: &str, data: &[u8]) -> String {
        let c = reqwest::Client::new();
        let digest = sha(data);
        let res = self
            .auth(c.post(format!("{}/v2/{repo}/blobs/uploads/", self.base())))
            .send()
            .await
            .expect("start upload");
        assert_eq!(res.status().as_u16(), 202, "start upload");
        let loc = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("location")
            .to_string();
        let loc = if loc.starts_with('/') {
            format!("{}{loc}", self.base())
        } else {
            loc
        };
        let sep = if loc.contains('?') { '&' } else { '?' };
        let res = self
            .auth(c.put(format!("{loc}{sep}digest={digest}")))
            .header("content-type", "application/octet-stream")
            .body(data.to_vec())
            .send()
            .await
            .expect("upload");
        assert_eq!(res.status().as_u16(), 201, "upload blob");
        digest
    }

    pub async fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> String {
        let c = reqwest::Client::new();
        let res = self
            .auth(c.put(format!("{}/v2/{repo}/manifests/{reference}", self.base())))
            .header("content-type", media_type)
            .body(body.to_vec())
            .send()
            .await
            .expect("put manifest");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        assert_eq!(status, 201, "put manifest: {text}");
        sha(body)
    }

    /// Path of a blob in the registry's own storage (to corrupt it).
    pub fn blob_data_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Comp {
    Gzip,
    Zstd,
    None,
}

/// A layer: (blob, media type, diff_id).
pub fn layer(files: &[(&str, &[u8])], comp: Comp) -> (Vec<u8>, &'static str, String) {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        b.append_data(&mut h, name, *data).expect("tar append");
    }
    let tar = b.into_inner().expect("tar");
    let diff_id = sha(&tar);
    match comp {
        Comp::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&tar).expect("gzip");
            (e.finish().expect("gzip"), GZIP_LAYER, diff_id)
        }
        Comp::Zstd => (
            zstd::encode_all(&tar[..], 3).expect("zstd"),
            OCI_ZSTD_LAYER,
            diff_id,
        ),
        Comp::None => (tar, OCI_TAR_LAYER, diff_id),
    }
}

pub struct Pushed {
    pub config_digest: String,
    pub manifest_digest: String,
    pub manifest_size: usize,
    pub layer_digests: Vec<String>,
}

/// Pushes layers, a config (arch as given) and a manifest under `reference`.
pub async fn push_image(
    reg: &TestRegistry,
    repo: &str,
    reference: &str,
    arch: &str,
    layers: &[(Vec<u8>, &'static str, String)],
    oci: bool,
) -> Pushed {
    let diff_ids: Vec<&str> = layers.iter().map(|l| l.2.as_str()).collect();
    let mut history: Vec<serde_json::Value> = layers
        .iter()
        .enumerate()
        .map(|(i, _)| serde_json::json!({"created": "2024-01-01T00:00:00Z", "created_by": format!("layer {i}")}))
        .collect();
    history.push(serde_json::json!({"created": "2024-01-02T00:00:00Z", "created_by": "CMD [\"sh\"]", "empty_layer": true}));
    let config = serde_json::json!({
        "architecture": arch, "os": "linux", "created": "2024-01-02T00:00:00Z",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    });
    let config = serde_json::to_vec(&config).expect("config json");
    let config_digest = reg.push_blob(repo, &config).await;
    let mut layer_descs = Vec::new();
    let mut layer_digests = Vec::new();
    for (blob, mt, _) in layers {
        let d = reg.push_blob(repo, blob).await;
        layer_descs.push(serde_json::json!({"mediaType": mt, "digest": d, "size": blob.len()}));
        layer_digests.push(d);
    }
    let (mt, cmt) = if oci {
        (OCI_MANIFEST, OCI_CONFIG)
    } else {
        (DOCKER_MANIFEST, DOCKER_CONFIG)
    };
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": mt,
        "config": {"mediaType": cmt, "digest": config_digest, "size": config.len()},
        "layers": layer_descs,
    });
    let manifest = serde_json::to_vec(&manifest).expect("manifest json");
    let manifest_digest = reg.push_manifest(repo, reference, mt, &manifest).await;
    Pushed {
        config_digest,
        manifest_digest,
        manifest_size: manifest.len(),
        layer_digests,
    }
}

/// A store in `root` whose registry requests give up after `timeout_secs` (tests must not hang).
pub fn open_store(root: &Path, timeout_secs: u64) -> rdocker_image_store::ImageStore {
    let cfg = rdocker_image_store::StoreConfig {
        root: root.to_path_buf(),
        registry: rdocker_image_store::RegistryConfig {
            request_timeout: Duration::from_secs(timeout_secs),
            ..Default::default()
        },
        max_concurrent_downloads: 3,
    };
    rdocker_image_store::ImageStore::open(cfg)
        .expect("open store")
        .0
}
