//! `-v`, `--mount` and `--tmpfs` as docker's CLI reads them: `-v` is split the way
//! compose's ParseVolume does (binds go to HostConfig.Binds as written, anonymous
//! volumes to Config.Volumes); `--mount` is docker's CSV syntax into a Mount object.
//! Everything else (modes, relative paths) is the daemon's to judge, as with docker.

use std::collections::HashMap;

use bollard_stubs::models::{
    Mount, MountBindOptions, MountBindOptionsPropagationEnum, MountTmpfsOptions, MountTypeEnum,
    MountVolumeOptions,
};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SpecError {
    #[error("invalid empty volume spec")]
    Empty,
    #[error("invalid spec: {0}: empty section between colons")]
    EmptySection(String),
    #[error("invalid spec: {0}: too many colons")]
    TooManyColons(String),
    #[error("{0}")]
    Mount(String),
}

/// What one `-v` contributes to the create body.
#[derive(Debug, PartialEq)]
pub enum VolumeFlag {
    /// `src:dst[:opts]`, sent in HostConfig.Binds (a leading `./` made absolute).
    Bind(String),
    /// `dst` alone: an anonymous volume in Config.Volumes.
    Anonymous(String),
}

/// One `-v` value.
pub fn parse_volume(spec: &str) -> Result<VolumeFlag, SpecError> {
    match spec.len() {
        0 => return Err(SpecError::Empty),
        1 | 2 => return Ok(VolumeFlag::Anonymous(spec.into())),
        _ => {}
    }
    let parts: Vec<&str> = spec.split(':').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(SpecError::EmptySection(spec.into()));
    }
    if parts.len() > 3 {
        return Err(SpecError::TooManyColons(spec.into()));
    }
    if parts.len() == 1 {
        return Ok(VolumeFlag::Anonymous(spec.into()));
    }
    let host = parts[0];
    let rest = &spec[host.len()..];
    // Only file-path sources are binds; docker makes "./x" and "." absolute.
    let host = if host == "." || host.starts_with("./") {
        match std::env::current_dir() {
            Ok(cwd) => clean(&cwd.join(host).to_string_lossy()),
            Err(_) => host.to_string(),
        }
    } else {
        host.to_string()
    };
    Ok(VolumeFlag::Bind(format!("{host}{rest}")))
}

/// Go's filepath.Clean for the absolute paths `parse_volume` builds.
fn clean(p: &str) -> String {
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

/// Splits one CSV record (docker reads `--mount` with encoding/csv).
fn csv_fields(s: &str) -> Result<Vec<String>, SpecError> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cur.push('"');
                } else {
                    quoted = false;
                }
            }
            '"' if at_start => {
                quoted = true;
            }
            ',' if !quoted => {
                fields.push(std::mem::take(&mut cur));
                at_start = true;
                continue;
            }
            c => cur.push(c),
        }
        at_start = false;
    }
    if quoted {
        return Err(SpecError::Mount(
            "parse error on line 1, column 1: extraneous or missing \" in quoted-field".into(),
        ));
    }
    fields.push(cur);
    Ok(fields)
}

fn parse_bool(key: &str, val: &str) -> Result<bool, SpecError> {
    match val {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(SpecError::Mount(format!("invalid value for {key}: {val}"))),
    }
}

/// docker's units.RAMInBytes: "64m", "1g", "512k", "100" (binary multiples).
pub fn ram_in_bytes(s: &str) -> Option<i64> {
    let s = s.trim();
    let idx = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(idx);
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024f64.powi(2),
        "g" | "gb" | "gib" => 1024f64.powi(3),
        "t" | "tb" | "tib" => 1024f64.powi(4),
        "p" | "pb" | "pib" => 1024f64.powi(5),
        _ => return None,
    };
    Some((n * mult) as i64)
}

fn bind(m: &mut Mount) -> &mut MountBindOptions {
    m.bind_options.get_or_insert_with(Default::default)
}
fn vol(m: &mut Mount) -> &mut MountVolumeOptions {
    m.volume_options.get_or_insert_with(Default::default)
}
fn tmpfs(m: &mut Mount) -> &mut MountTmpfsOptions {
    m.tmpfs_options.get_or_insert_with(Default::default)
}

/// One `--mount` value.
pub fn parse_mount(value: &str) -> Result<Mount, SpecError> {
    let mut m = Mount {
        typ: Some(MountTypeEnum::VOLUME),
        ..Default::default()
    };
    let err = |s: String| SpecError::Mount(s);
    for field in csv_fields(value)? {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k.to_lowercase(), Some(v.to_string())),
            None => (field.to_lowercase(), None),
        };
        let Some(val) = val else {
            match key.as_str() {
                "readonly" | "ro" => m.read_only = Some(true),
                "volume-nocopy" => {
                    m.volume_options
                        .get_or_insert_with(Default::default)
                        .no_copy = Some(true)
                }
                "bind-nonrecursive" => {
                    m.bind_options
                        .get_or_insert_with(Default::default)
                        .non_recursive = Some(true)
                }
                _ => {
                    return Err(err(format!(
                        "invalid field '{field}' must be a key=value pair"
                    )))
                }
            }
            continue;
        };
        match key.as_str() {
            "type" => {
                let t = val
                    .to_lowercase()
                    .parse::<MountTypeEnum>()
                    .map_err(|_| err(format!("invalid value for type: {val}")))?;
                m.typ = Some(t);
            }
            "source" | "src" => {
                m.source = Some(if val.starts_with('.') {
                    match std::env::current_dir() {
                        Ok(cwd) => clean(&cwd.join(&val).to_string_lossy()),
                        Err(_) => val,
                    }
                } else {
                    val
                })
            }
            "target" | "dst" | "destination" => m.target = Some(val),
            "readonly" | "ro" => m.read_only = Some(parse_bool(&key, &val)?),
            "consistency" => m.consistency = Some(val.to_lowercase()),
            "bind-propagation" => {
                let p = val
                    .to_lowercase()
                    .parse::<MountBindOptionsPropagationEnum>()
                    .map_err(|_| err(format!("invalid value for {key}: {val}")))?;
                bind(&mut m).propagation = Some(p);
            }
            "bind-nonrecursive" => bind(&mut m).non_recursive = Some(parse_bool(&key, &val)?),
            "bind-create-mountpoint" => {
                bind(&mut m).create_mountpoint = Some(parse_bool(&key, &val)?)
            }
            "volume-nocopy" => {
                vol(&mut m).no_copy = Some(
                    parse_bool(&key, &val)
                        .map_err(|_| err(format!("invalid value for volume-nocopy: {val}")))?,
                )
            }
            "volume-label" => {
                let (k, v) = val.split_once('=').unwrap_or((&val, ""));
                vol(&mut m)
                    .labels
                    .get_or_insert_with(HashMap::new)
                    .insert(k.into(), v.into());
            }
            "volume-driver" => {
                vol(&mut m)
                    .driver_config
                    .get_or_insert_with(Default::default)
                    .name = Some(val)
            }
            "volume-opt" => {
                let (k, v) = val.split_once('=').unwrap_or((&val, ""));
                vol(&mut m)
                    .driver_config
                    .get_or_insert_with(Default::default)
                    .options
                    .get_or_insert_with(HashMap::new)
                    .insert(k.into(), v.into());
            }
            "volume-subpath" => vol(&mut m).subpath = Some(val),
            "tmpfs-size" => {
                let n = ram_in_bytes(&val)
                    .ok_or_else(|| err(format!("invalid value for {key}: {val}")))?;
                tmpfs(&mut m).size_bytes = Some(n);
            }
            "tmpfs-mode" => {
                let n = u32::from_str_radix(&val, 8)
                    .map_err(|_| err(format!("invalid value for {key}: {val}")))?;
                tmpfs(&mut m).mode = Some(i64::from(n));
            }
            _ => return Err(err(format!("unexpected key '{key}' in '{field}'"))),
        }
    }
    let typ = m.typ.unwrap_or(MountTypeEnum::VOLUME);
    if typ == MountTypeEnum::EMPTY {
        return Err(err("type is required".into()));
    }
    if m.target.as_deref().unwrap_or("").is_empty() {
        return Err(err("target is required".into()));
    }
    let mix = |what: &str| {
        err(format!(
            "cannot mix '{what}-*' options with mount type '{typ}'"
        ))
    };
    if m.volume_options.is_some() && typ != MountTypeEnum::VOLUME {
        return Err(mix("volume"));
    }
    if m.bind_options.is_some() && typ != MountTypeEnum::BIND {
        return Err(mix("bind"));
    }
    if m.tmpfs_options.is_some() && typ != MountTypeEnum::TMPFS {
        return Err(mix("tmpfs"));
    }
    Ok(m)
}

/// `--tmpfs /run[:opts]` → HostConfig.Tmpfs entries.
pub fn parse_tmpfs(spec: &str) -> (String, String) {
    match spec.split_once(':') {
        Some((p, o)) => (p.to_string(), o.to_string()),
        None => (spec.to_string(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_flags() {
        assert_eq!(
            parse_volume("/data"),
            Ok(VolumeFlag::Anonymous("/data".into()))
        );
        assert_eq!(parse_volume("/d"), Ok(VolumeFlag::Anonymous("/d".into())));
        assert_eq!(
            parse_volume("/tmp/t1:/mnt"),
            Ok(VolumeFlag::Bind("/tmp/t1:/mnt".into()))
        );
        assert_eq!(
            parse_volume("vol:/mnt:ro"),
            Ok(VolumeFlag::Bind("vol:/mnt:ro".into()))
        );
        // Bad modes and relative paths are the daemon's to refuse.
        assert_eq!(
            parse_volume("/a:/b:bogus"),
            Ok(VolumeFlag::Bind("/a:/b:bogus".into()))
        );
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            parse_volume("./sub/../x:/m"),
            Ok(VolumeFlag::Bind(format!("{}/x:/m", cwd.display())))
        );
        assert_eq!(parse_volume(""), Err(SpecError::Empty));
        assert_eq!(
            parse_volume("/a::/b").unwrap_err().to_string(),
            "invalid spec: /a::/b: empty section between colons"
        );
        assert_eq!(
            parse_volume("/a:/b:ro:x").unwrap_err().to_string(),
            "invalid spec: /a:/b:ro:x: too many colons"
        );
    }

    #[test]
    fn mount_flags() {
        let m = parse_mount("type=bind,source=/tmp/x,target=/mnt,readonly").unwrap();
        assert_eq!(m.typ, Some(MountTypeEnum::BIND));
        assert_eq!(m.source.as_deref(), Some("/tmp/x"));
        assert_eq!(m.target.as_deref(), Some("/mnt"));
        assert_eq!(m.read_only, Some(true));
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"Type":"bind","Source":"/tmp/x","Target":"/mnt","ReadOnly":true})
        );
        let m = parse_mount("src=myvol,dst=/data,volume-nocopy").unwrap();
        assert_eq!(m.typ, Some(MountTypeEnum::VOLUME));
        assert_eq!(m.volume_options.unwrap().no_copy, Some(true));
        let m = parse_mount("type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1770").unwrap();
        let t = m.tmpfs_options.unwrap();
        assert_eq!(t.size_bytes, Some(64 << 20));
        assert_eq!(t.mode, Some(0o1770));
        let m = parse_mount("\"type=bind\",\"src=/a,b\",dst=/c").unwrap();
        assert_eq!(m.source.as_deref(), Some("/a,b"));

        let e = |s: &str| parse_mount(s).unwrap_err().to_string();
        assert_eq!(e("type=bind,src=/a"), "target is required");
        assert_eq!(
            e("type=bind,dst=/a,bogus"),
            "invalid field 'bogus' must be a key=value pair"
        );
        assert_eq!(
            e("type=bind,dst=/a,foo=1"),
            "unexpected key 'foo' in 'foo=1'"
        );
        assert_eq!(
            e("type=bind,dst=/a,ro=maybe"),
            "invalid value for ro: maybe"
        );
        assert_eq!(
            e("type=bind,dst=/a,volume-nocopy"),
            "cannot mix 'volume-*' options with mount type 'bind'"
        );
        assert_eq!(
            e("type=tmpfs,dst=/a,tmpfs-size=lots"),
            "invalid value for tmpfs-size: lots"
        );
    }

    #[test]
    fn tmpfs_and_sizes() {
        assert_eq!(parse_tmpfs("/run"), ("/run".into(), "".into()));
        assert_eq!(
            parse_tmpfs("/run:rw,size=64m"),
            ("/run".into(), "rw,size=64m".into())
        );
        assert_eq!(ram_in_bytes("1g"), Some(1 << 30));
        assert_eq!(ram_in_bytes("512"), Some(512));
        assert_eq!(ram_in_bytes("1.5k"), Some(1536));
        assert_eq!(ram_in_bytes("x"), None);
    }
}
