//! The `filters` query parameter of list endpoints, and Go's `path.Match` used by the
//! `reference` filter.
//!
//! Docker accepts two JSON shapes: `{"reference":{"busybox":true}}` (current clients) and
//! `{"reference":["busybox"]}` (API < 1.22 clients, still sent by some SDKs).

use std::collections::{BTreeMap, HashMap};

use crate::errors::ApiError;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Filters(BTreeMap<String, Vec<String>>);

impl Filters {
    /// Parses the raw (already URL-decoded) `filters` value. Empty means no filter.
    pub fn parse(raw: Option<&str>) -> Result<Filters, ApiError> {
        let raw = match raw.map(str::trim) {
            None | Some("") => return Ok(Filters::default()),
            Some(r) => r,
        };
        let bad = |e: serde_json::Error| ApiError::bad_request(format!("invalid filter: {e}"));
        let map: HashMap<String, serde_json::Value> = serde_json::from_str(raw).map_err(bad)?;
        let mut out = BTreeMap::new();
        for (key, value) in map {
            let values: Vec<String> = match value {
                serde_json::Value::Object(m) => m
                    .into_iter()
                    .filter(|(_, on)| on.as_bool().unwrap_or(false))
                    .map(|(k, _)| k)
                    .collect(),
                serde_json::Value::Array(a) => a
                    .into_iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                _ => return Err(ApiError::bad_request(format!("invalid filter '{key}'"))),
            };
            out.insert(key, values);
        }
        Ok(Filters(out))
    }

    /// Rejects keys the endpoint does not know, with Docker's message.
    pub fn validate(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(ApiError::bad_request(format!("invalid filter '{k}'"))),
            None => Ok(()),
        }
    }

    pub fn get(&self, key: &str) -> &[String] {
        self.0.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn contains(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// Docker's `GetBoolOrDefault`: all values must agree and be `true`/`1`/`false`/`0`.
    pub fn get_bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        let mut result = None;
        for v in self.get(key) {
            let b = match v.to_ascii_lowercase().as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return Err(ApiError::bad_request(format!("invalid filter '{key}={v}'"))),
            };
            if result.is_some_and(|r| r != b) {
                return Err(ApiError::bad_request(format!(
                    "invalid filter '{key}': conflicting values"
                )));
            }
            result = Some(b);
        }
        Ok(result)
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("syntax error in pattern")]
pub struct BadPattern;

/// Go's `path.Match`: `*` matches any run of non-`/` characters, `?` one non-`/` character,
/// `[a-z]`/`[^a-z]` a class, `\` escapes. The whole name must match.
pub fn path_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> Result<bool, BadPattern> {
    let (mut pi, mut ni) = (0, 0);
    // Backtracking point for the last `*`: (pattern index after it, name index it resumes at).
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi + 1, ni));
                    pi += 1;
                    continue;
                }
                c => {
                    if ni < n.len() {
                        let (ok, next_pi) = match c {
                            '?' => (n[ni] != '/', pi + 1),
                            '[' => match_class(p, pi, n[ni])?,
                            '\\' => {
                                let lit = *p.get(pi + 1).ok_or(BadPattern)?;
                                (lit == n[ni], pi + 2)
                            }
                            lit => (lit == n[ni], pi + 1),
                        };
                        if ok {
                            pi = next_pi;
                            ni += 1;
                            continue;
                        }
                    }
                }
            }
        } else if ni == n.len() {
            return Ok(true);
        }
        // Mismatch: let the last `*` swallow one more character, unless that would be a `/`.
        match star {
            Some((sp, sn)) if sn < n.len() && n[sn] != '/' => {
                star = Some((sp, sn + 1));
                pi = sp;
                ni = sn + 1;
            }
            _ => {
                // Go reports malformed patterns even on mismatch; check the rest of it.
                check_pattern(&p[pi.min(p.len())..])?;
                return Ok(false);
            }
        }
    }
}

/// Matches `c` against the class starting at `p[start] == '['`; returns (matched, index after `]`).
fn match_class(p: &[char], start: usize, c: char) -> Result<(bool, usize), BadPattern> {
    let mut i = start + 1;
    let negated = p.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let ch = *p.get(i).ok_or(BadPattern)?;
        if ch == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        let lo = class_char(p, &mut i)?;
        let hi = if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|c| *c != ']') {
            i += 1;
            class_char(p, &mut i)?
        } else {
            lo
        };
        if lo > hi {
            return Err(BadPattern);
        }
        if lo <= c && c <= hi {
            matched = true;
        }
    }
    Ok((matched != negated && c != '/', i))
}

fn class_char(p: &[char], i: &mut usize) -> Result<char, BadPattern> {
    let mut ch = *p.get(*i).ok_or(BadPattern)?;
    if ch == '\\' {
        *i += 1;
        ch = *p.get(*i).ok_or(BadPattern)?;
    }
    *i += 1;
    Ok(ch)
}

fn check_pattern(p: &[char]) -> Result<(), BadPattern> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                if i + 1 >= p.len() {
                    return Err(BadPattern);
                }
                i += 2;
            }
            '[' => {
                let (_, next) = match_class(p, i, '\0')?;
                i = next;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_json_shapes() {
        let f = Filters::parse(Some(
            r#"{"reference":{"busybox":true},"dangling":["true"]}"#,
        ))
        .unwrap();
        assert_eq!(f.get("reference"), ["busybox"]);
        assert_eq!(f.get_bool("dangling").unwrap(), Some(true));
        assert!(Filters::parse(None).unwrap().get("reference").is_empty());
        assert!(Filters::parse(Some("not json")).is_err());
        let f = Filters::parse(Some(r#"{"dangling":{"yes":true}}"#)).unwrap();
        assert_eq!(f.get_bool("dangling").unwrap_err().status, 400);
        let f = Filters::parse(Some(r#"{"label":{"a":true}}"#)).unwrap();
        assert_eq!(
            f.validate(&["reference", "dangling"]).unwrap_err().message,
            "invalid filter 'label'"
        );
    }

    #[test]
    fn glob_like_go() {
        assert!(path_match("busybox", "busybox").unwrap());
        assert!(path_match("busy*", "busybox").unwrap());
        assert!(path_match("busybox:*", "busybox:latest").unwrap());
        assert!(!path_match("busy*", "library/busybox").unwrap());
        assert!(!path_match("*", "127.0.0.1:5000/foo").unwrap());
        assert!(path_match("*/*", "127.0.0.1:5000/foo").unwrap());
        assert!(path_match("b?sybox", "busybox").unwrap());
        assert!(path_match("[a-c]usybox", "busybox").unwrap());
        assert!(!path_match("[^a-c]usybox", "busybox").unwrap());
        assert!(path_match("a\\*b", "a*b").unwrap());
        assert!(path_match("*box*", "busybox:1.36").unwrap());
        assert!(!path_match("*box", "busybox:1.36").unwrap());
        assert_eq!(path_match("[", "x"), Err(BadPattern));
        assert_eq!(path_match("x[", "y"), Err(BadPattern));
    }
}
