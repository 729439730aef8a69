//! `HostConfig.Binds`, `Mounts`, `Tmpfs` and the image's `VOLUME`s → the container's mounts,
//! validated with docker's messages.

use std::collections::{HashMap, HashSet};

use bollard_stubs::models::{Mount, MountTypeEnum};

use super::error::ContainerError;
use super::record::{MountKind, MountSpec};

fn invalid(msg: impl Into<String>) -> ContainerError {
    ContainerError::Invalid(msg.into())
}

/// Lexical clean of an absolute path (no `.`/empty components, no trailing slash).
pub fn clean(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    format!("/{}", out.join("/"))
}

fn check_target(typ: &str, target: &str) -> Result<String, ContainerError> {
    if !target.starts_with('/') {
        return Err(invalid(format!(
            "invalid mount config for type \"{typ}\": invalid mount path: '{target}' mount path must be absolute"
        )));
    }
    let t = clean(target);
    if t == "/" {
        return Err(invalid("invalid specification: destination can't be '/'"));
    }
    Ok(t)
}

/// A local volume name (docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]+`).
pub fn valid_volume_name(name: &str) -> bool {
    super::names::valid(name) && !name.starts_with('/')
}

fn check_volume_name(name: &str) -> Result<(), ContainerError> {
    if valid_volume_name(name) {
        return Ok(());
    }
    Err(invalid(format!(
        "create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
    )))
}

/// Docker's linux `ValidMountMode`: at most one of each kind.
fn valid_mode(mode: &str, volume: bool) -> bool {
    let (mut rw, mut label, mut prop, mut copy, mut cons) = (0, 0, 0, 0, 0);
    for m in mode.split(',') {
        match m {
            "rw" | "ro" => rw += 1,
            "z" | "Z" => label += 1,
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => prop += 1,
            "nocopy" if volume => copy += 1,
            "consistent" | "cached" | "delegated" => cons += 1,
            _ => return false,
        }
    }
    rw <= 1 && label <= 1 && prop <= 1 && copy <= 1 && cons <= 1
}

fn mode_has(mode: &str, word: &str) -> bool {
    mode.split(',').any(|m| m == word)
}

fn propagation_of(mode: &str) -> String {
    mode.split(',')
        .find(|m| m.ends_with("shared") || m.ends_with("slave") || m.ends_with("private"))
        .unwrap_or("rprivate")
        .to_string()
}

/// One `-v` entry: `/ctr`, `src:/ctr`, `src:/ctr:mode`.
pub fn parse_bind(spec: &str) -> Result<MountSpec, ContainerError> {
    let bad = || invalid(format!("invalid volume specification: '{spec}'"));
    let parts: Vec<&str> = spec.split(':').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(invalid(format!(
            "invalid spec: {spec}: empty section between colons"
        )));
    }
    let (src, dst, mode) = match parts.as_slice() {
        [dst] => ("", *dst, ""),
        [src, dst] => {
            if valid_mode(dst, true) && !dst.starts_with('/') {
                return Err(bad());
            }
            (*src, *dst, "")
        }
        [src, dst, mode] => (*src, *dst, *mode),
        _ => return Err(bad()),
    };
    let is_bind = src.starts_with('/');
    if !mode.is_empty() && !valid_mode(mode, !is_bind) {
        return Err(invalid(format!("invalid mode: {mode}")));
    }
    let typ = if is_bind { "bind" } else { "volume" };
    let destination = check_target(typ, dst)?;
    let rw = !mode_has(mode, "ro");
    if is_bind {
        return Ok(MountSpec {
            kind: MountKind::Bind,
            source: clean(src),
            destination,
            rw,
            mode: mode.to_string(),
            propagation: propagation_of(mode),
            anonymous: false,
            mkdir_source: true,
            no_copy: false,
            options: vec![],
        });
    }
    if !src.is_empty() {
        check_volume_name(src)?;
    }
    Ok(MountSpec {
        kind: MountKind::Volume,
        source: src.to_string(),
        destination,
        rw,
        mode: mode.to_string(),
        propagation: String::new(),
        anonymous: src.is_empty(),
        mkdir_source: false,
        no_copy: mode_has(mode, "nocopy"),
        options: vec![],
    })
}

/// One `--mount` entry.
pub fn parse_mount(m: &Mount) -> Result<MountSpec, ContainerError> {
    let typ = m.typ.unwrap_or(MountTypeEnum::EMPTY);
    let name = match typ {
        MountTypeEnum::BIND => "bind",
        MountTypeEnum::VOLUME => "volume",
        MountTypeEnum::TMPFS => "tmpfs",
        other => {
            return Err(invalid(format!(
                "invalid mount config: mount type unknown: \"{other}\""
            )))
        }
    };
    let target = m.target.as_deref().unwrap_or("");
    if target.is_empty() {
        return Err(invalid(format!(
            "invalid mount config for type \"{name}\": field Target must not be empty"
        )));
    }
    let destination = check_target(name, target)?;
    let source = m.source.as_deref().unwrap_or("");
    let rw = !m.read_only.unwrap_or(false);
    let mut spec = MountSpec {
        kind: MountKind::Bind,
        source: String::new(),
        destination,
        rw,
        mode: String::new(),
        propagation: String::new(),
        anonymous: false,
        mkdir_source: false,
        no_copy: false,
        options: vec![],
    };
    match typ {
        MountTypeEnum::BIND => {
            if source.is_empty() {
                return Err(invalid(
                    "invalid mount config for type \"bind\": field Source must not be empty",
                ));
            }
            if !source.starts_with('/') {
                return Err(invalid(format!(
                    "invalid mount config for type \"bind\": invalid mount path: '{source}' mount path must be absolute"
                )));
            }
            if std::fs::symlink_metadata(source).is_err() {
                return Err(invalid(format!(
                    "invalid mount config for type \"bind\": bind source path does not exist: {source}"
                )));
            }
            spec.source = clean(source);
            spec.propagation = m
                .bind_options
                .as_ref()
                .and_then(|b| b.propagation)
                .map(|p| p.to_string())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "rprivate".to_string());
        }
        MountTypeEnum::VOLUME => {
            if !source.is_empty() {
                check_volume_name(source)?;
            }
            spec.kind = MountKind::Volume;
            spec.source = source.to_string();
            spec.anonymous = source.is_empty();
            spec.mode = if source.is_empty() { "" } else { "z" }.to_string();
            spec.no_copy = m
                .volume_options
                .as_ref()
                .and_then(|v| v.no_copy)
                .unwrap_or(false);
        }
        _ => {
            if !source.is_empty() {
                return Err(invalid(
                    "invalid mount config for type \"tmpfs\": field Source must not be specified",
                ));
            }
            spec.kind = MountKind::Tmpfs;
            spec.options = vec!["nosuid".into(), "nodev".into(), "noexec".into()];
            if let Some(t) = &m.tmpfs_options {
                if let Some(size) = t.size_bytes.filter(|s| *s > 0) {
                    spec.options.push(format!("size={size}"));
                }
                if let Some(mode) = t.mode {
                    spec.options.push(format!("mode={mode:o}"));
                }
            }
        }
    }
    Ok(spec)
}

/// All of a container's mounts: binds, `--mount`s, tmpfs, then the image's volumes that nothing
/// else covers (anonymous). Duplicate destinations are refused as docker does.
pub fn collect(
    binds: &[String],
    mounts: &[Mount],
    tmpfs: &HashMap<String, String>,
    image_volumes: &[String],
) -> Result<Vec<MountSpec>, ContainerError> {
    let mut out = Vec::new();
    for b in binds {
        out.push(parse_bind(b)?);
    }
    for m in mounts {
        out.push(parse_mount(m)?);
    }
    let mut tmpfs: Vec<_> = tmpfs.iter().collect();
    tmpfs.sort();
    for (dst, opts) in tmpfs {
        let destination = check_target("tmpfs", dst)?;
        let mut options = vec!["nosuid".to_string(), "nodev".into(), "noexec".into()];
        options.extend(
            opts.split(',')
                .filter(|o| !o.is_empty())
                .map(str::to_string),
        );
        let rw = !options.iter().any(|o| o == "ro");
        out.push(MountSpec {
            kind: MountKind::Tmpfs,
            source: String::new(),
            destination,
            rw,
            mode: opts.clone(),
            propagation: String::new(),
            anonymous: false,
            mkdir_source: false,
            no_copy: false,
            options,
        });
    }
    let mut seen = HashSet::new();
    for m in &out {
        if !seen.insert(m.destination.clone()) {
            return Err(invalid(format!("Duplicate mount point: {}", m.destination)));
        }
    }
    let mut image_volumes: Vec<String> = image_volumes.iter().map(|v| clean(v)).collect();
    image_volumes.sort();
    image_volumes.dedup();
    for v in image_volumes {
        if v != "/" && seen.insert(v.clone()) {
            out.push(MountSpec {
                kind: MountKind::Volume,
                source: String::new(),
                destination: v,
                rw: true,
                mode: String::new(),
                propagation: String::new(),
                anonymous: true,
                mkdir_source: false,
                no_copy: false,
                options: vec![],
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(r: Result<MountSpec, ContainerError>) -> String {
        match r {
            Err(ContainerError::Invalid(m)) => m,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn binds_like_docker() {
        let b = parse_bind("/tmp/t1/:/mnt").unwrap();
        assert_eq!(
            (b.kind, b.source.as_str(), b.destination.as_str()),
            (MountKind::Bind, "/tmp/t1", "/mnt")
        );
        assert!(b.rw && b.mkdir_source);
        assert_eq!(b.propagation, "rprivate");
        let b = parse_bind("/a:/b:ro,rshared").unwrap();
        assert!(!b.rw);
        assert_eq!(b.propagation, "rshared");
        let v = parse_bind("data:/var/lib/x").unwrap();
        assert_eq!(
            (v.kind, v.source.as_str(), v.anonymous),
            (MountKind::Volume, "data", false)
        );
        let a = parse_bind("/anon").unwrap();
        assert!(a.anonymous && a.source.is_empty());
        assert!(parse_bind("data:/x:nocopy").unwrap().no_copy);
    }

    #[test]
    fn bad_binds_have_dockers_messages() {
        assert_eq!(msg(parse_bind("/a:/b:xyz")), "invalid mode: xyz");
        assert_eq!(msg(parse_bind("/a:/b:ro,rw")), "invalid mode: ro,rw");
        assert_eq!(
            msg(parse_bind("/a:/b:c:d")),
            "invalid volume specification: '/a:/b:c:d'"
        );
        assert_eq!(
            msg(parse_bind("/foo:ro")),
            "invalid volume specification: '/foo:ro'"
        );
        assert!(msg(parse_bind("foo/bar:/x")).starts_with(
            "create foo/bar: \"foo/bar\" includes invalid characters for a local volume name"
        ));
        assert!(msg(parse_bind("./rel:/x")).contains("use absolute path"));
        assert_eq!(
            msg(parse_bind("/a:rel")),
            "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute"
        );
        assert_eq!(
            msg(parse_bind("/a:/")),
            "invalid specification: destination can't be '/'"
        );
    }

    #[test]
    fn mounts_and_tmpfs() {
        let m = Mount {
            typ: Some(MountTypeEnum::BIND),
            source: Some("/nonexistent-rdocker-x".into()),
            target: Some("/x".into()),
            ..Default::default()
        };
        assert_eq!(
            msg(parse_mount(&m)),
            "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-rdocker-x"
        );
        let m = Mount {
            typ: Some(MountTypeEnum::BIND),
            source: Some("/tmp".into()),
            target: Some("/x".into()),
            read_only: Some(true),
            ..Default::default()
        };
        let s = parse_mount(&m).unwrap();
        assert!(!s.rw && !s.mkdir_source);
        let tmpfs = HashMap::from([("/run".to_string(), "size=1m".to_string())]);
        let all = collect(
            &["/tmp:/a".into()],
            &[],
            &tmpfs,
            &["/data".into(), "/a".into()],
        )
        .unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[1].kind, MountKind::Tmpfs);
        assert!(all[1].options.contains(&"size=1m".to_string()));
        assert!(all[2].anonymous && all[2].destination == "/data");
        match collect(
            &["/tmp:/a".into(), "/var:/a/".into()],
            &[],
            &HashMap::new(),
            &[],
        ) {
            Err(ContainerError::Invalid(m)) => assert_eq!(m, "Duplicate mount point: /a"),
            other => panic!("{other:?}"),
        }
    }
}
