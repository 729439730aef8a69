//! A real registry for tests: Debian's `docker-registry` (CNCF distribution 2.8) on 127.0.0.1,
//! with no auth, HTTP Basic (htpasswd, bcrypt) or Bearer tokens from [`TokenService`].

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::token::TokenService;
use crate::util::{free_port, run_checked, wait_for};

/// The registry binary; `RDOCKER_REGISTRY_BIN` overrides it.
pub fn registry_bin() -> PathBuf {
    std::env::var_os("RDOCKER_REGISTRY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/docker-registry"))
}

/// The `service` every token registry advertises and every token names as its audience.
pub const TOKEN_SERVICE: &str = "rdocker-test-registry";
/// The `iss` of every token (the registry checks it).
pub const TOKEN_ISSUER: &str = "rdocker-test-issuer";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryAuth {
    None,
    Basic { user: String, pass: String },
    Token { user: String, pass: String },
}

impl RegistryAuth {
    pub fn basic(user: &str, pass: &str) -> Self {
        RegistryAuth::Basic {
            user: user.into(),
            pass: pass.into(),
        }
    }
    pub fn token(user: &str, pass: &str) -> Self {
        RegistryAuth::Token {
            user: user.into(),
            pass: pass.into(),
        }
    }
    /// (user, password) when the registry needs them.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        match self {
            RegistryAuth::None => None,
            RegistryAuth::Basic { user, pass } | RegistryAuth::Token { user, pass } => {
                Some((user, pass))
            }
        }
    }
}

/// A running registry. Dropping it kills the process and removes its storage.
pub struct TestRegistry {
    child: Child,
    addr: String,
    auth: RegistryAuth,
    storage: PathBuf,
    // Kept for the lifetime of the registry: the token service thread and the temp dir.
    _token: Option<TokenService>,
    dir: tempfile::TempDir,
}

impl TestRegistry {
    /// Starts a registry on a free 127.0.0.1 port with storage in a fresh temp dir and waits
    /// until `/v2/` answers (401 counts: it is an answer).
    pub fn start(auth: RegistryAuth) -> Result<TestRegistry> {
        let dir = tempfile::Builder::new()
            .prefix("rdocker-registry-")
            .tempdir()
            .context("creating the registry temp dir")?;
        let storage = dir.path().join("storage");
        fs::create_dir_all(&storage)?;
        let token = match &auth {
            RegistryAuth::Token { user, pass } => Some(TokenService::start(user, pass)?),
            _ => None,
        };
        let auth_yaml = auth_section(dir.path(), &auth, token.as_ref())?;
        // The port is only known free at the moment we probed it: another test may take it
        // before the registry binds, so retry a few times with a new one.
        let mut last_err = None;
        for _ in 0..8 {
            let port = free_port()?;
            let addr = format!("127.0.0.1:{port}");
            let config = dir.path().join("config.yml");
            fs::write(&config, config_yaml(&storage, &addr, &auth_yaml))?;
            match spawn_and_wait(&config, &dir.path().join("registry.log"), &addr) {
                Ok(child) => {
                    return Ok(TestRegistry {
                        child,
                        addr,
                        auth,
                        storage,
                        _token: token,
                        dir,
                    })
                }
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.expect("at least one attempt"))
    }

    /// "127.0.0.1:PORT"
    pub fn addr(&self) -> &str {
        &self.addr
    }
    /// "http://127.0.0.1:PORT"
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn auth(&self) -> &RegistryAuth {
        &self.auth
    }
    /// The registry's filesystem storage root (the `rootdirectory` of its config); fixtures
    /// that must lie about digests write blobs here directly.
    pub fn storage_dir(&self) -> &Path {
        &self.storage
    }
    /// The registry's log (stdout+stderr), for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The registry's YAML config. The cache is left off on purpose: fixtures that plant blobs in
/// storage must be seen as they are.
pub fn config_yaml(storage: &Path, addr: &str, auth_yaml: &str) -> String {
    format!(
        "version: 0.1\n\
         log:\n  level: warn\n  accesslog:\n    disabled: true\n\
         storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n  \
         maintenance:\n    uploadpurging:\n      enabled: false\n\
         http:\n  addr: {addr}\n  secret: rdocker-test-secret\n  headers:\n    X-Content-Type-Options: [nosniff]\n\
         {auth_yaml}",
        storage = storage.display()
    )
}

fn auth_section(dir: &Path, auth: &RegistryAuth, token: Option<&TokenService>) -> Result<String> {
    Ok(match auth {
        RegistryAuth::None => String::new(),
        RegistryAuth::Basic { user, pass } => {
            let htpasswd = dir.join("htpasswd");
            write_htpasswd(&htpasswd, user, pass)?;
            format!(
                "auth:\n  htpasswd:\n    realm: rdocker-test-realm\n    path: {}\n",
                htpasswd.display()
            )
        }
        RegistryAuth::Token { .. } => {
            let token = token.expect("token service started for token auth");
            let cert = dir.join("token-cert.pem");
            fs::write(&cert, token.cert_pem())?;
            format!(
                "auth:\n  token:\n    realm: {}/token\n    service: {TOKEN_SERVICE}\n    \
                 issuer: {TOKEN_ISSUER}\n    rootcertbundle: {}\n",
                token.url(),
                cert.display()
            )
        }
    })
}

/// The registry only accepts bcrypt entries, hence `-B`.
pub fn write_htpasswd(path: &Path, user: &str, pass: &str) -> Result<()> {
    let out = run_checked(Command::new("htpasswd").args(["-Bbn", user, pass]))
        .context("htpasswd (apache2-utils) is needed for Basic-auth registries")?;
    fs::write(path, out.stdout)?;
    Ok(())
}

fn spawn_and_wait(config: &Path, log: &Path, addr: &str) -> Result<Child> {
    let logf = fs::File::create(log)?;
    let mut child = Command::new(registry_bin())
        .arg("serve")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(logf.try_clone()?)
        .stderr(logf)
        .spawn()
        .with_context(|| format!("starting {}", registry_bin().display()))?;
    let url = format!("http://{addr}/v2/");
    let agent = crate::client::plain_agent(Duration::from_secs(2));
    let ready = wait_for(Duration::from_secs(20), || {
        if let Ok(Some(st)) = child.try_wait() {
            return Some(Err(st));
        }
        agent.get(&url).call().ok().map(|_| Ok(()))
    });
    match ready {
        Some(Ok(())) => Ok(child),
        Some(Err(st)) => bail!(
            "registry on {addr} exited ({st}): {}",
            fs::read_to_string(log).unwrap_or_default()
        ),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "registry on {addr} did not answer /v2/ within 20 s: {}",
                fs::read_to_string(log).unwrap_or_default()
            )
        }
    }
}
