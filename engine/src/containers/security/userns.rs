//! `--userns-remap`: the daemon's subordinate id ranges (/etc/subuid, /etc/subgid), the
//! per-container checks, and the ids the bundle is chowned to.

use std::path::Path;

use bollard_stubs::models::HostConfig;

/// The user `--userns-remap default` uses (and adds to /etc/subuid and /etc/subgid).
pub const DEFAULT_USER: &str = "dockremap";
/// Size of the range given to `dockremap` (as dockerd's `useradd` gives it).
const DEFAULT_SIZE: u64 = 65536;
const FIRST_START: u64 = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum UsernsError {
    #[error("user {user:?} has no ranges in {}", file.display())]
    NoRanges {
        user: String,
        file: std::path::PathBuf,
    },
    #[error("invalid --userns-remap {0:?}: expected user[:group], uid[:gid] or default")]
    Spec(String),
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// One line of an id map: `container_id..+size` are `host_id..+size` on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub container_id: u32,
    pub host_id: u32,
    pub size: u32,
}

/// The daemon's remapping, resolved at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remap {
    /// As docker shows it: the user and group names ranges were taken for.
    pub user: String,
    pub group: String,
    pub uids: Vec<IdMap>,
    pub gids: Vec<IdMap>,
}

impl Remap {
    /// Host ids of the container's root: what the bundle's writable parts are chowned to.
    pub fn root(&self) -> (u32, u32) {
        (first_host(&self.uids), first_host(&self.gids))
    }
}

fn first_host(m: &[IdMap]) -> u32 {
    m.iter()
        .find(|m| m.container_id == 0)
        .map_or(0, |m| m.host_id)
}

/// `(name, start, count)` lines of a subid file; malformed lines are skipped, as shadow-utils
/// does.
pub fn parse_subid(text: &str) -> Vec<(String, u64, u64)> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let mut f = l.trim().split(':');
            let (name, start, count) = (f.next()?, f.next()?, f.next()?);
            Some((name.to_string(), start.parse().ok()?, count.parse().ok()?))
        })
        .collect()
}

/// The ranges of `keys` (a name and/or a numeric id), in file order, stacked from container
/// id 0 upwards.
fn maps_for(entries: &[(String, u64, u64)], keys: &[String]) -> Vec<IdMap> {
    let mut next = 0u64;
    let mut out = Vec::new();
    for (name, start, count) in entries {
        if !keys.contains(name) {
            continue;
        }
        let (Ok(c), Ok(h), Ok(s)) = (
            u32::try_from(next),
            u32::try_from(*start),
            u32::try_from(*count),
        ) else {
            continue;
        };
        out.push(IdMap {
            container_id: c,
            host_id: h,
            size: s,
        });
        next += count;
    }
    out
}

/// `name:x:uid:gid:…` lookup in a passwd/group style file: (name, id) for a name or an id.
fn lookup(file: &Path, key: &str) -> Option<(String, String)> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        let (name, id) = (*f.first()?, *f.get(2)?);
        (name == key || id == key).then(|| (name.to_string(), id.to_string()))
    })
}

/// Where the daemon reads (and, for `default`, writes) its id files.
#[derive(Debug, Clone)]
pub struct Files<'a> {
    pub subuid: &'a Path,
    pub subgid: &'a Path,
    pub passwd: &'a Path,
    pub group: &'a Path,
}

impl Files<'static> {
    pub fn host() -> Files<'static> {
        Files {
            subuid: Path::new("/etc/subuid"),
            subgid: Path::new("/etc/subgid"),
            passwd: Path::new("/etc/passwd"),
            group: Path::new("/etc/group"),
        }
    }
}

fn read(path: &Path) -> Result<String, UsernsError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(UsernsError::Io {
            op: "read",
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The lowest start ≥ 100000 whose `DEFAULT_SIZE` ids overlap no range of either file.
fn free_start(ranges: &[(String, u64, u64)]) -> u64 {
    let mut start = FIRST_START;
    loop {
        let clash = ranges
            .iter()
            .filter(|(_, s, c)| start < s + c && *s < start + DEFAULT_SIZE)
            .map(|(_, s, c)| s + c)
            .max();
        match clash {
            Some(end) => start = end,
            None => return start,
        }
    }
}

/// `--userns-remap default`: gives `dockremap` a range in each file that lacks one (the same
/// start in both when free), by an atomic rewrite; no account is needed for the mapping.
fn ensure_default(files: &Files) -> Result<(), UsernsError> {
    let (uid_text, gid_text) = (read(files.subuid)?, read(files.subgid)?);
    let (u, g) = (parse_subid(&uid_text), parse_subid(&gid_text));
    let has = |v: &[(String, u64, u64)]| v.iter().any(|(n, _, _)| n == DEFAULT_USER);
    if has(&u) && has(&g) {
        return Ok(());
    }
    let all: Vec<_> = u.iter().chain(g.iter()).cloned().collect();
    let start = free_start(&all);
    for (path, text, present) in [
        (files.subuid, uid_text, has(&u)),
        (files.subgid, gid_text, has(&g)),
    ] {
        if present {
            continue;
        }
        let mut new = text;
        if !new.is_empty() && !new.ends_with('\n') {
            new.push('\n');
        }
        new.push_str(&format!("{DEFAULT_USER}:{start}:{DEFAULT_SIZE}\n"));
        crate::fsutil::write_atomic(path, new.as_bytes()).map_err(|source| UsernsError::Io {
            op: "write",
            path: path.to_path_buf(),
            source,
        })?;
        // The temp file was created 0600 by our umask at best: subid files are world-readable.
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644));
    }
    Ok(())
}

/// Resolves the daemon's `userns-remap` value.
pub fn resolve(spec: &str, files: &Files) -> Result<Remap, UsernsError> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u.to_string(), Some(g.to_string())),
        None => (spec.to_string(), None),
    };
    if user.is_empty() || group.as_deref() == Some("") {
        return Err(UsernsError::Spec(spec.to_string()));
    }
    let (user, group) = if user == "default" {
        if group.is_some() {
            return Err(UsernsError::Spec(spec.to_string()));
        }
        ensure_default(files)?;
        (DEFAULT_USER.to_string(), DEFAULT_USER.to_string())
    } else {
        let group = group.unwrap_or_else(|| user.clone());
        (user, group)
    };
    // Ranges are listed by name or by id: accept both spellings of the one account.
    let keys = |file: &Path, key: &str| {
        let mut k = vec![key.to_string()];
        if let Some((name, id)) = lookup(file, key) {
            k.retain(|x| *x != name && *x != id);
            k.push(name);
            k.push(id);
        }
        k
    };
    let uids = maps_for(
        &parse_subid(&read(files.subuid)?),
        &keys(files.passwd, &user),
    );
    if uids.is_empty() {
        return Err(UsernsError::NoRanges {
            user,
            file: files.subuid.to_path_buf(),
        });
    }
    let gids = maps_for(
        &parse_subid(&read(files.subgid)?),
        &keys(files.group, &group),
    );
    if gids.is_empty() {
        return Err(UsernsError::NoRanges {
            user: group,
            file: files.subgid.to_path_buf(),
        });
    }
    Ok(Remap {
        user,
        group,
        uids,
        gids,
    })
}

/// Whether a container gets a user namespace: remapping on and not `--userns=host`.
pub fn applies(remap: bool, hc: &HostConfig) -> bool {
    remap && hc.userns_mode.as_deref() != Some("host")
}

/// moby's create-time checks for a remapped container.
pub fn validate(remap: bool, hc: &HostConfig) -> Result<(), String> {
    match hc.userns_mode.as_deref().unwrap_or("") {
        "" | "host" => {}
        m => return Err(format!("invalid UsernsMode: {m}")),
    }
    if !applies(remap, hc) {
        return Ok(());
    }
    let host = |m: &Option<String>| m.as_deref() == Some("host");
    if hc.privileged.unwrap_or(false) {
        return Err(
            "privileged mode is incompatible with user namespaces.  You must run the \
                    container in the host namespace when running privileged mode"
                .into(),
        );
    }
    if host(&hc.network_mode) {
        return Err(
            "cannot share the host's network namespace when user namespaces are enabled".into(),
        );
    }
    if host(&hc.pid_mode) {
        return Err("cannot share the host PID namespace when user namespaces are enabled".into());
    }
    if host(&hc.ipc_mode) {
        return Err(
            "cannot share the host's IPC namespace when user namespaces are enabled".into(),
        );
    }
    if host(&hc.uts_mode) {
        return Err(
            "cannot share the host's UTS namespace when user namespaces are enabled".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
#[path = "userns_tests.rs"]
mod tests;
