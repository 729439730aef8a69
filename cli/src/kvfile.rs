//! docker's opts.ReadKVEnvStrings / ReadKVStrings: `--env-file` and `--label-file`
//! lines followed by the `-e` / `-l` values, with docker's rules and messages.

use std::collections::HashMap;

/// Why a key=value file or flag value was refused (message as docker words it).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum KvError {
    #[error("open {0}: no such file or directory")]
    NotFound(String),
    #[error("{0}: {1}")]
    Read(String, String),
    #[error("env file {0} contains invalid utf8 bytes at line {1}")]
    Utf8(String, usize),
    #[error("poorly formatted environment: variable '{0}' contains whitespaces")]
    Whitespace(String),
    #[error("poorly formatted environment: no variable name on line '{0}'")]
    NoName(String),
    #[error("invalid label '{0}': empty name")]
    EmptyLabel(String),
    #[error("label '{0}' contains whitespaces")]
    LabelWhitespace(String),
}

const WHITESPACE: &[char] = &[' ', '\t'];

/// Resolves a bare `NAME` line to a value.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// One file's lines as docker's parseKeyValueFile reads them. `lookup` resolves a bare
/// `NAME` (env files pass the variable through from our environment; label files drop it).
pub fn parse_kv_file(
    name: &str,
    content: &[u8],
    lookup: Option<Lookup<'_>>,
) -> Result<Vec<String>, KvError> {
    let mut out = Vec::new();
    for (i, raw) in content.split(|&b| b == b'\n').enumerate() {
        let raw = if i == 0 {
            raw.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(raw)
        } else {
            raw
        };
        let line = std::str::from_utf8(raw).map_err(|_| KvError::Utf8(name.into(), i + 1))?;
        let line = line.strip_suffix('\r').unwrap_or(line).trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (var, value) = match line.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (line, None),
        };
        let var = var.trim_start_matches(WHITESPACE);
        if var.contains(WHITESPACE) {
            return Err(KvError::Whitespace(var.into()));
        }
        if var.is_empty() {
            return Err(KvError::NoName(line.into()));
        }
        match value {
            Some(v) => out.push(format!("{var}={v}")),
            None => {
                if let Some(v) = lookup.and_then(|f| f(var.trim())) {
                    out.push(format!("{}={v}", var.trim()));
                }
            }
        }
    }
    Ok(out)
}

fn read(path: &str) -> Result<Vec<u8>, KvError> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => KvError::NotFound(path.into()),
        _ => KvError::Read(path.into(), e.to_string()),
    })
}

/// `--env-file`s then `-e`s; a bare `-e NAME` takes our value of NAME when we have one
/// (docker's ValidateEnv), else it is sent as is.
pub fn env_list(files: &[String], flags: &[String]) -> Result<Vec<String>, KvError> {
    let lookup = |k: &str| std::env::var(k).ok();
    let mut out = Vec::new();
    for f in files {
        out.extend(parse_kv_file(f, &read(f)?, Some(&lookup))?);
    }
    for e in flags {
        match e.split_once('=') {
            Some(_) => out.push(e.clone()),
            None => match std::env::var(e) {
                Ok(v) => out.push(format!("{e}={v}")),
                Err(_) => out.push(e.clone()),
            },
        }
    }
    Ok(out)
}

/// `--label-file`s then `-l`s as a map; a later key wins, `k` alone means an empty value.
pub fn label_map(files: &[String], flags: &[String]) -> Result<HashMap<String, String>, KvError> {
    let mut all = Vec::new();
    for f in files {
        all.extend(parse_kv_file(f, &read(f)?, None)?);
    }
    for l in flags {
        let key = l.split_once('=').map_or(l.as_str(), |(k, _)| k).trim();
        if key.is_empty() {
            return Err(KvError::EmptyLabel(l.clone()));
        }
        if key.contains(WHITESPACE) {
            return Err(KvError::LabelWhitespace(key.into()));
        }
        all.push(l.clone());
    }
    Ok(all
        .into_iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv, String::new()),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_rules() {
        let look = |k: &str| (k == "HOME_X").then(|| "/root".to_string());
        let got = parse_kv_file(
            "f",
            b"\xEF\xBB\xBFA=1\n# comment\n\n  B = spaced \nHOME_X\nUNSET_X\nC=\r\n",
            Some(&look),
        );
        // "B " contains a trailing space: docker refuses it.
        assert_eq!(got, Err(KvError::Whitespace("B ".into())));
        let got = parse_kv_file(
            "f",
            b"A=1\n# c\n\n  B=x y \nHOME_X\nUNSET_X\nC=\r\n",
            Some(&look),
        )
        .unwrap();
        assert_eq!(got, ["A=1", "B=x y ", "HOME_X=/root", "C="]);
        assert_eq!(
            parse_kv_file("f", b"=v\n", Some(&look))
                .unwrap_err()
                .to_string(),
            "poorly formatted environment: no variable name on line '=v'"
        );
        assert_eq!(
            parse_kv_file("f", b"ok=1\n\xff\n", None)
                .unwrap_err()
                .to_string(),
            "env file f contains invalid utf8 bytes at line 2"
        );
        // Label files drop bare names.
        assert_eq!(parse_kv_file("f", b"a\nb=2\n", None).unwrap(), ["b=2"]);
    }

    #[test]
    fn env_flags_after_files_and_passthrough() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("env");
        std::fs::write(&f, "FROMFILE=1\nPATH_X=file\n").unwrap();
        let f = f.to_str().unwrap().to_string();
        let got = env_list(
            std::slice::from_ref(&f),
            &["PATH_X=flag".into(), "PATH".into(), "NOPE_UNSET_X".into()],
        )
        .unwrap();
        assert_eq!(got[0], "FROMFILE=1");
        assert_eq!(got[1], "PATH_X=file");
        assert_eq!(got[2], "PATH_X=flag");
        assert!(got[3].starts_with("PATH=/"));
        assert_eq!(got[4], "NOPE_UNSET_X");
        assert_eq!(
            env_list(&["/nonexistent/e".into()], &[])
                .unwrap_err()
                .to_string(),
            "open /nonexistent/e: no such file or directory"
        );
    }

    #[test]
    fn labels() {
        let m = label_map(
            &[],
            &["a=1".into(), "b".into(), "a=2".into(), "c=x=y".into()],
        )
        .unwrap();
        assert_eq!(m["a"], "2");
        assert_eq!(m["b"], "");
        assert_eq!(m["c"], "x=y");
        assert_eq!(
            label_map(&[], &["=v".into()]).unwrap_err().to_string(),
            "invalid label '=v': empty name"
        );
    }
}
