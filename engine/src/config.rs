//! Daemon configuration: dockerd's flags and `daemon.json` keys, merged the way dockerd does it
//! (a key given both as a flag and in the file is an error naming both; unknown keys are errors).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::Parser;
use serde::Deserialize;

pub const DEFAULT_SOCKET: &str = "/run/rdocker/rdocker.sock";
pub const DEFAULT_DATA_ROOT: &str = "/var/lib/rdocker";
pub const DEFAULT_EXEC_ROOT: &str = "/run/rdocker";
pub const DEFAULT_CONFIG_FILE: &str = "/etc/rdocker/daemon.json";
pub const DEFAULT_MAX_CONCURRENT_DOWNLOADS: usize = 3;
pub const DEFAULT_REGISTRY_TIMEOUT_SECS: u64 = 30;

/// Command-line flags, spelled as dockerd's.
#[derive(Debug, Default, Clone, Parser)]
#[command(
    name = "rdockerd",
    version,
    about = "rdocker engine: serves the Docker Engine API on a unix socket"
)]
pub struct Flags {
    /// Daemon socket to listen on (unix://PATH or a path); repeatable
    /// [default: unix:///run/rdocker/rdocker.sock]
    #[arg(short = 'H', long = "host", value_name = "unix://PATH")]
    pub hosts: Vec<String>,
    /// Root directory of persistent state (images, layers) [default: /var/lib/rdocker]
    #[arg(long, value_name = "DIR")]
    pub data_root: Option<PathBuf>,
    /// Root directory for execution state files (pidfile) [default: /run/rdocker]
    #[arg(long, value_name = "DIR")]
    pub exec_root: Option<PathBuf>,
    /// Daemon configuration file [default: /etc/rdocker/daemon.json]
    #[arg(long, value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// Preferred registry mirror for docker.io; repeatable
    #[arg(long = "registry-mirror", value_name = "URL")]
    pub registry_mirrors: Vec<String>,
    /// Registry allowed to be reached over plain HTTP or with an untrusted certificate; repeatable
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]|CIDR")]
    pub insecure_registries: Vec<String>,
    /// Maximum concurrent layer downloads per pull [default: 3]
    #[arg(long, value_name = "N")]
    pub max_concurrent_downloads: Option<usize>,
    /// Path to use for the daemon PID file [default: <exec-root>/rdockerd.pid]
    #[arg(short = 'p', long, value_name = "FILE")]
    pub pidfile: Option<PathBuf>,
    /// Enable debug mode
    #[arg(short = 'D', long)]
    pub debug: bool,
    /// Logging level (debug, info, warn, error, fatal) [default: info]
    #[arg(short = 'l', long, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Ours: never fall back to a registry's origin when it has mirrors (air-gapped hosts)
    #[arg(long)]
    pub registry_mirrors_only: bool,
    /// Ours: seconds a registry may take to connect, answer or send the next chunk [default: 30]
    #[arg(long, value_name = "SECONDS")]
    pub registry_timeout: Option<u64>,
    /// Path to a seccomp profile, or "unconfined" / "builtin" [default: builtin]
    #[arg(long, value_name = "PATH")]
    pub seccomp_profile: Option<String>,
    /// Set no-new-privileges by default for new containers
    #[arg(long)]
    pub no_new_privileges: bool,
    /// Default ulimits for containers (name=soft[:hard]); repeatable
    #[arg(long = "default-ulimit", value_name = "ULIMIT")]
    pub default_ulimits: Vec<String>,
    /// User/Group setting for user namespaces (user[:group], uid[:gid] or "default")
    #[arg(long, value_name = "USER[:GROUP]")]
    pub userns_remap: Option<String>,
    #[command(flatten)]
    pub net: crate::network::options::NetFlags,
}

/// `daemon.json`, keys as dockerd's (plus `registry-mirrors-per-host`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct FileConfig {
    hosts: Option<Vec<String>>,
    data_root: Option<PathBuf>,
    exec_root: Option<PathBuf>,
    pidfile: Option<PathBuf>,
    registry_mirrors: Option<Vec<String>>,
    registry_mirrors_per_host: Option<HashMap<String, Vec<String>>>,
    insecure_registries: Option<Vec<String>>,
    max_concurrent_downloads: Option<usize>,
    debug: Option<bool>,
    log_level: Option<String>,
    registry_mirrors_only: Option<bool>,
    registry_timeout: Option<u64>,
    seccomp_profile: Option<String>,
    no_new_privileges: Option<bool>,
    default_ulimits: Option<HashMap<String, crate::containers::security::Ulimit>>,
    userns_remap: Option<String>,
    #[serde(flatten)]
    net: crate::network::options::NetFile,
}

const FILE_KEYS: &[&str] = &[
    "hosts",
    "data-root",
    "exec-root",
    "pidfile",
    "registry-mirrors",
    "registry-mirrors-per-host",
    "insecure-registries",
    "max-concurrent-downloads",
    "debug",
    "log-level",
    "registry-mirrors-only",
    "registry-timeout",
    "seccomp-profile",
    "no-new-privileges",
    "default-ulimits",
    "userns-remap",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    fn parse(s: &str) -> Result<LogLevel, ConfigError> {
        match s.to_ascii_lowercase().as_str() {
            "trace" | "debug" => Ok(LogLevel::Debug),
            "info" => Ok(LogLevel::Info),
            "warn" | "warning" => Ok(LogLevel::Warn),
            // dockerd's "fatal" and "panic" only log what kills the daemon: errors here.
            "error" | "fatal" | "panic" => Ok(LogLevel::Error),
            _ => Err(ConfigError::LogLevel(s.to_string())),
        }
    }
    pub fn as_tracing(self) -> tracing::Level {
        match self {
            LogLevel::Debug => tracing::Level::DEBUG,
            LogLevel::Info => tracing::Level::INFO,
            LogLevel::Warn => tracing::Level::WARN,
            LogLevel::Error => tracing::Level::ERROR,
        }
    }
}

/// The merged configuration the daemon runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonConfig {
    /// Unix socket paths to listen on.
    pub hosts: Vec<PathBuf>,
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    pub pidfile: PathBuf,
    pub registry_mirrors: Vec<String>,
    pub registry_mirrors_per_host: HashMap<String, Vec<String>>,
    pub insecure_registries: Vec<String>,
    pub max_concurrent_downloads: usize,
    pub debug: bool,
    pub log_level: LogLevel,
    pub registry_mirrors_only: bool,
    pub registry_timeout: std::time::Duration,
    /// The file actually read, if any.
    pub config_file: Option<PathBuf>,
    /// `seccomp-profile`, `no-new-privileges`, `default-ulimits`, `userns-remap` as given.
    pub security_flags: SecurityFlags,
    /// Their resolved form (profile read, id ranges found): [`DaemonConfig::resolve_security`].
    pub security: crate::containers::security::DaemonSecurity,
    /// `bridge`, `bip`, pools, DNS, nftables (engine/src/network/options.rs).
    pub network: crate::network::options::NetConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Network(#[from] crate::network::options::OptionsError),
    #[error("unable to configure the Docker daemon with file {}: {source}", path.display())]
    File { path: PathBuf, source: FileError },
    #[error("unsupported host {0}: rdockerd only listens on unix sockets (unix:///path/to.sock)")]
    UnsupportedHost(String),
    #[error("invalid host {0:?}: expected unix:///path/to.sock or an absolute path")]
    InvalidHost(String),
    #[error("invalid log level: {0} (expected debug, info, warn, error or fatal)")]
    LogLevel(String),
    #[error("invalid max concurrent downloads: {0}")]
    MaxDownloads(usize),
    #[error("invalid registry timeout: {0} (expected seconds > 0)")]
    RegistryTimeout(u64),
    #[error("invalid mirror: {mirror:?}: {reason}")]
    Mirror {
        mirror: String,
        reason: &'static str,
    },
    #[error("invalid default ulimit: {0}")]
    Ulimit(String),
    #[error("opening seccomp profile ({path}) failed: {reason}")]
    Seccomp { path: String, reason: String },
    #[error(transparent)]
    Userns(#[from] crate::containers::security::userns::UsernsError),
}

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("open {}: {}", path.display(), io_text(source))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("the following directives don't match any configuration option: {}", .0.join(", "))]
    Unknown(Vec<String>),
    #[error("the following directives are specified both as a flag and in the configuration file: {}", .0.join(", "))]
    Conflicts(Vec<String>),
}

/// Go-style errno text ("no such file or directory"), as dockerd prints it.
fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = s.split(" (os error").next().unwrap_or(&s).to_string();
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => s,
    }
}

impl DaemonConfig {
    /// Reads the config file named by the flags (or the default one, which may be missing) and
    /// merges it with the flags.
    pub fn load(flags: &Flags) -> Result<DaemonConfig, ConfigError> {
        let (path, explicit) = match &flags.config_file {
            Some(p) => (p.clone(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => None,
            Err(source) => {
                return Err(ConfigError::File {
                    source: FileError::Read {
                        path: path.clone(),
                        source,
                    },
                    path,
                })
            }
        };
        match text {
            Some(t) => DaemonConfig::merge(flags, Some((&path, &t))),
            None => DaemonConfig::merge(flags, None),
        }
    }

    /// Merges flags with the file's text (`(path, json)`), checking unknown keys and conflicts.
    pub fn merge(flags: &Flags, file: Option<(&Path, &str)>) -> Result<DaemonConfig, ConfigError> {
        let (file_cfg, config_file) = match file {
            Some((path, text)) => {
                let cfg = parse_file(flags, text).map_err(|source| ConfigError::File {
                    path: path.to_path_buf(),
                    source,
                })?;
                (cfg, Some(path.to_path_buf()))
            }
            None => (FileConfig::default(), None),
        };
        let security_flags = SecurityFlags::merge(flags, &file_cfg)?;
        let mut file_cfg = file_cfg;
        let network = crate::network::options::NetConfig::merge(
            &flags.net,
            std::mem::take(&mut file_cfg.net),
        )?;
        // No key is set in both places (checked above), so each value comes from one side.
        let raw_hosts = if flags.hosts.is_empty() {
            file_cfg.hosts.unwrap_or_default()
        } else {
            flags.hosts.clone()
        };
        let mut hosts = raw_hosts
            .iter()
            .map(|h| parse_host(h))
            .collect::<Result<Vec<_>, _>>()?;
        if hosts.is_empty() {
            hosts.push(PathBuf::from(DEFAULT_SOCKET));
        }
        let exec_root = flags
            .exec_root
            .clone()
            .or(file_cfg.exec_root)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_EXEC_ROOT));
        let pidfile = flags
            .pidfile
            .clone()
            .or(file_cfg.pidfile)
            .unwrap_or_else(|| exec_root.join("rdockerd.pid"));
        let pick = |flag: &Vec<String>, file: Option<Vec<String>>| {
            if flag.is_empty() {
                file.unwrap_or_default()
            } else {
                flag.clone()
            }
        };
        let registry_mirrors = pick(&flags.registry_mirrors, file_cfg.registry_mirrors);
        let registry_mirrors_per_host = file_cfg.registry_mirrors_per_host.unwrap_or_default();
        for m in registry_mirrors
            .iter()
            .chain(registry_mirrors_per_host.values().flatten())
        {
            validate_mirror(m)?;
        }
        let max_concurrent_downloads = flags
            .max_concurrent_downloads
            .or(file_cfg.max_concurrent_downloads)
            .unwrap_or(DEFAULT_MAX_CONCURRENT_DOWNLOADS);
        if max_concurrent_downloads == 0 {
            return Err(ConfigError::MaxDownloads(0));
        }
        let registry_timeout = flags
            .registry_timeout
            .or(file_cfg.registry_timeout)
            .unwrap_or(DEFAULT_REGISTRY_TIMEOUT_SECS);
        if registry_timeout == 0 {
            return Err(ConfigError::RegistryTimeout(0));
        }
        let registry_mirrors_only =
            flags.registry_mirrors_only || file_cfg.registry_mirrors_only.unwrap_or(false);
        let debug = flags.debug || file_cfg.debug.unwrap_or(false);
        let mut log_level = match flags.log_level.as_deref().or(file_cfg.log_level.as_deref()) {
            Some(l) => LogLevel::parse(l)?,
            None => LogLevel::Info,
        };
        // As dockerd: debug mode means debug logging whatever the level says.
        if debug {
            log_level = LogLevel::Debug;
        }
        Ok(DaemonConfig {
            hosts,
            data_root: flags
                .data_root
                .clone()
                .or(file_cfg.data_root)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_ROOT)),
            exec_root,
            pidfile,
            registry_mirrors,
            registry_mirrors_per_host,
            insecure_registries: pick(&flags.insecure_registries, file_cfg.insecure_registries),
            max_concurrent_downloads,
            debug,
            log_level,
            registry_mirrors_only,
            registry_timeout: std::time::Duration::from_secs(registry_timeout),
            config_file,
            security_flags,
            security: Default::default(),
            network,
        })
    }
}

fn parse_file(flags: &Flags, text: &str) -> Result<FileConfig, FileError> {
    if text.trim().is_empty() {
        return Ok(FileConfig::default());
    }
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)?;
    let unknown: Vec<String> = map
        .keys()
        .filter(|k| {
            !FILE_KEYS.contains(&k.as_str())
                && !crate::network::options::FILE_KEYS.contains(&k.as_str())
        })
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(FileError::Unknown(unknown));
    }
    let conflicts: Vec<String> = flag_values(flags)
        .into_iter()
        .filter_map(|(key, flag_value)| {
            map.get(key).map(|file_value| {
                format!(
                    "{key}: (from flag: {flag_value}, from file: {})",
                    go_format(file_value)
                )
            })
        })
        .collect();
    if !conflicts.is_empty() {
        return Err(FileError::Conflicts(conflicts));
    }
    Ok(serde_json::from_value(serde_json::Value::Object(map))?)
}

/// The flags that were given, as (daemon.json key, value rendered as pflag's `String()`), in
/// the order of the flags' names, which is the order dockerd reports conflicts in.
fn flag_values(flags: &Flags) -> Vec<(&'static str, String)> {
    let list = |v: &[String]| format!("[{}]", v.join(" "));
    let path = |p: &Path| p.display().to_string();
    let mut out = Vec::new();
    if let Some(p) = &flags.data_root {
        out.push(("data-root", path(p)));
    }
    if !flags.default_ulimits.is_empty() {
        out.push(("default-ulimits", list(&flags.default_ulimits)));
    }
    if flags.no_new_privileges {
        out.push(("no-new-privileges", "true".to_string()));
    }
    if flags.debug {
        out.push(("debug", "true".to_string()));
    }
    if let Some(p) = &flags.exec_root {
        out.push(("exec-root", path(p)));
    }
    if !flags.hosts.is_empty() {
        out.push(("hosts", list(&flags.hosts)));
    }
    if !flags.insecure_registries.is_empty() {
        out.push(("insecure-registries", list(&flags.insecure_registries)));
    }
    if let Some(l) = &flags.log_level {
        out.push(("log-level", l.clone()));
    }
    if let Some(n) = flags.max_concurrent_downloads {
        out.push(("max-concurrent-downloads", n.to_string()));
    }
    if let Some(p) = &flags.pidfile {
        out.push(("pidfile", path(p)));
    }
    if !flags.registry_mirrors.is_empty() {
        out.push(("registry-mirrors", list(&flags.registry_mirrors)));
    }
    if flags.registry_mirrors_only {
        out.push(("registry-mirrors-only", "true".to_string()));
    }
    if let Some(t) = flags.registry_timeout {
        out.push(("registry-timeout", t.to_string()));
    }
    if let Some(p) = &flags.seccomp_profile {
        out.push(("seccomp-profile", p.clone()));
    }
    if let Some(u) = &flags.userns_remap {
        out.push(("userns-remap", u.clone()));
    }
    out.extend(crate::network::options::flag_values(&flags.net));
    out.sort_by_key(|(k, _)| *k);
    out
}

/// Renders a JSON value as Go's `%v` of the decoded `interface{}` (what dockerd prints).
fn go_format(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(go_format).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(m) => format!(
            "map[{}]",
            m.iter()
                .map(|(k, v)| format!("{k}:{}", go_format(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

/// `unix:///path`, `unix://` (default socket) or a bare path; every other scheme is refused.
pub fn parse_host(h: &str) -> Result<PathBuf, ConfigError> {
    if let Some(path) = h.strip_prefix("unix://") {
        if path.is_empty() {
            return Ok(PathBuf::from(DEFAULT_SOCKET));
        }
        if !path.starts_with('/') {
            return Err(ConfigError::InvalidHost(h.to_string()));
        }
        return Ok(PathBuf::from(path));
    }
    if h.contains("://") {
        return Err(ConfigError::UnsupportedHost(h.to_string()));
    }
    if h.starts_with('/') {
        return Ok(PathBuf::from(h));
    }
    Err(ConfigError::InvalidHost(h.to_string()))
}

fn validate_mirror(m: &str) -> Result<(), ConfigError> {
    let err = |reason| ConfigError::Mirror {
        mirror: m.to_string(),
        reason,
    };
    let rest = m
        .strip_prefix("http://")
        .or_else(|| m.strip_prefix("https://"))
        .ok_or_else(|| err("unsupported scheme (use http:// or https://)"))?;
    if rest.trim_end_matches('/').is_empty() {
        return Err(err("no host"));
    }
    Ok(())
}

#[path = "config_security.rs"]
mod security;
pub use security::SecurityFlags;

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
