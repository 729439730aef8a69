//! The CLI's config file (`$RDOCKER_CONFIG/config.json`, default `~/.rdocker/config.json`)
//! in docker's format: `{"auths": {"<server>": {"auth": base64("user:pass")}}}`. Keys we do
//! not know are kept as they are, so the file can be shared with other tools.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use serde_json::{Map, Value};

/// Directory of the config file: `--config` wins over `RDOCKER_CONFIG`, then `~/.rdocker`.
pub fn config_dir(flag: Option<&str>, env: Option<&str>, home: Option<&str>) -> PathBuf {
    if let Some(d) = flag.filter(|s| !s.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = env.filter(|s| !s.is_empty()) {
        return PathBuf::from(d);
    }
    match home.filter(|s| !s.is_empty()) {
        Some(h) => Path::new(h).join(".rdocker"),
        // No HOME (e.g. a bare service environment): fall back to root's, as docker does.
        None => PathBuf::from("/root/.rdocker"),
    }
}

pub struct ConfigFile {
    pub path: PathBuf,
    pub doc: Map<String, Value>,
}

/// Credentials for one registry, as sent in `X-Registry-Auth` and `POST /auth`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuthConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub serveraddress: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub identitytoken: String,
}

impl ConfigFile {
    /// Loads `dir/config.json`; a missing file is an empty config.
    pub fn load(dir: &Path) -> Result<ConfigFile> {
        let path = dir.join("config.json");
        let doc = match fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Map::new(),
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes)
                .with_context(|| format!("loading config file {}", path.display()))?
            {
                Value::Object(m) => m,
                _ => anyhow::bail!("loading config file {}: not a JSON object", path.display()),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(e) => {
                return Err(e).with_context(|| format!("reading config file {}", path.display()))
            }
        };
        Ok(ConfigFile { path, doc })
    }

    /// Writes the file atomically: a temp file in the same directory (mode 0600), fsync,
    /// rename over the old one, fsync the directory. A crash leaves the old or new file.
    pub fn save(&self) -> Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating config directory {}", dir.display()))?;
        let mut data = serde_json::to_vec_pretty(&Value::Object(self.doc.clone()))
            .context("encoding the config file")?;
        data.push(b'\n');
        let tmp = dir.join(format!(".config.json.{}.tmp", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&data)?;
            f.sync_all()?;
            fs::rename(&tmp, &self.path)?;
            File::open(dir)?.sync_all()
        };
        write()
            .inspect_err(|_| {
                let _ = fs::remove_file(&tmp);
            })
            .with_context(|| format!("writing config file {}", self.path.display()))
    }

    fn auths(&self) -> Option<&Map<String, Value>> {
        self.doc.get("auths").and_then(Value::as_object)
    }

    /// Stores credentials under `server` (the key docker would use).
    pub fn set_auth(&mut self, server: &str, username: &str, password: &str) {
        let auths = self
            .doc
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        if !auths.is_object() {
            *auths = Value::Object(Map::new());
        }
        if let Value::Object(m) = auths {
            let mut entry = Map::new();
            entry.insert(
                "auth".into(),
                Value::String(STANDARD.encode(format!("{username}:{password}"))),
            );
            m.insert(server.to_string(), Value::Object(entry));
        }
    }

    /// Removes every entry for `server` (also its scheme-less/with-scheme variants, as
    /// docker logout does). Returns whether anything was removed.
    pub fn remove_auth(&mut self, server: &str) -> bool {
        let host = convert_to_hostname(server);
        let Some(Value::Object(m)) = self.doc.get_mut("auths") else {
            return false;
        };
        let before = m.len();
        m.retain(|k, _| k != server && convert_to_hostname(k) != host);
        m.len() != before
    }

    /// Credentials for a registry: the exact key first, then any key naming the same host
    /// (`https://localhost:5000` and `localhost:5000` are the same registry).
    pub fn get_auth(&self, server: &str) -> Option<AuthConfig> {
        let auths = self.auths()?;
        let (key, entry) = auths.get_key_value(server).or_else(|| {
            let host = convert_to_hostname(server);
            auths.iter().find(|(k, _)| convert_to_hostname(k) == host)
        })?;
        let mut cfg = AuthConfig {
            username: String::new(),
            password: String::new(),
            serveraddress: key.clone(),
            identitytoken: entry
                .get("identitytoken")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        };
        if let Some(auth) = entry.get("auth").and_then(Value::as_str) {
            let decoded = STANDARD.decode(auth.trim()).ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let (u, p) = text.split_once(':')?;
            cfg.username = u.to_string();
            cfg.password = p.to_string();
        }
        if cfg.username.is_empty() && cfg.identitytoken.is_empty() {
            return None;
        }
        Some(cfg)
    }
}

/// docker's credentials.ConvertToHostname: drop the scheme and any path.
pub fn convert_to_hostname(server: &str) -> String {
    let s = server
        .strip_prefix("http://")
        .or_else(|| server.strip_prefix("https://"))
        .unwrap_or(server);
    s.split('/').next().unwrap_or(s).to_string()
}

/// The `X-Registry-Auth` header value: base64url (with padding, as Go's
/// base64.URLEncoding) of the JSON auth config.
pub fn encode_registry_auth(auth: &AuthConfig) -> Result<String> {
    let json = serde_json::to_vec(auth).context("encoding registry credentials")?;
    Ok(URL_SAFE.encode(json))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn dir_resolution_order() {
        assert_eq!(
            config_dir(Some("/f"), Some("/e"), Some("/h")),
            PathBuf::from("/f")
        );
        assert_eq!(
            config_dir(None, Some("/e"), Some("/h")),
            PathBuf::from("/e")
        );
        assert_eq!(
            config_dir(None, Some(""), Some("/h")),
            PathBuf::from("/h/.rdocker")
        );
        assert_eq!(
            config_dir(None, None, None),
            PathBuf::from("/root/.rdocker")
        );
    }

    #[test]
    fn save_is_atomic_private_and_keeps_unknown_keys() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("nested");
        let mut cfg = ConfigFile::load(&dir).expect("load missing");
        assert!(cfg.doc.is_empty());
        cfg.doc.insert("psFormat".into(), Value::String("x".into()));
        cfg.set_auth("https://index.docker.io/v1/", "alice", "s3:cret");
        cfg.save().expect("save");

        let path = dir.join("config.json");
        let mode = fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let v: Value = serde_json::from_slice(&fs::read(&path).expect("read")).expect("json");
        assert_eq!(
            v["auths"]["https://index.docker.io/v1/"]["auth"],
            "YWxpY2U6czM6Y3JldA=="
        );
        // No temp file left behind.
        let names: Vec<_> = fs::read_dir(&dir)
            .expect("readdir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("config.json")]);

        let cfg = ConfigFile::load(&dir).expect("reload");
        assert_eq!(cfg.doc["psFormat"], "x");
        let auth = cfg.get_auth("https://index.docker.io/v1/").expect("auth");
        assert_eq!(
            (auth.username.as_str(), auth.password.as_str()),
            ("alice", "s3:cret")
        );
    }

    #[test]
    fn lookup_by_hostname_and_logout() {
        let mut cfg = ConfigFile {
            path: PathBuf::from("/nonexistent/config.json"),
            doc: Map::new(),
        };
        cfg.set_auth("http://localhost:5000", "bob", "pw");
        let a = cfg.get_auth("localhost:5000").expect("by host");
        assert_eq!(a.serveraddress, "http://localhost:5000");
        assert!(cfg.get_auth("localhost:5001").is_none());
        assert!(cfg.remove_auth("localhost:5000"));
        assert!(!cfg.remove_auth("localhost:5000"));
        assert!(cfg.get_auth("localhost:5000").is_none());
    }

    #[test]
    fn broken_config_is_an_error() {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::write(tmp.path().join("config.json"), "{not json").expect("write");
        assert!(ConfigFile::load(tmp.path()).is_err());
    }

    #[test]
    fn registry_auth_header() {
        let a = AuthConfig {
            username: "u".into(),
            password: "p?>".into(),
            serveraddress: "https://index.docker.io/v1/".into(),
            identitytoken: String::new(),
        };
        let enc = encode_registry_auth(&a).expect("encode");
        assert!(!enc.contains('+') && !enc.contains('/'));
        let json = URL_SAFE.decode(&enc).expect("b64url");
        assert_eq!(
            String::from_utf8(json).expect("utf8"),
            r#"{"username":"u","password":"p?>","serveraddress":"https://index.docker.io/v1/"}"#
        );
    }
}
