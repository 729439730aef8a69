//! Working on JSON text without decoding it, so that what docker shows in the order its
//! typed structs have (the daemon sends that order) stays in that order: serde_json's
//! `Value` sorts keys, and enabling `preserve_order` would change it for the whole
//! workspace. Used by `inspect` (json.Indent) and the template's `json` function.

/// Go's json.Indent(dst, src, "", indent): re-indents JSON text without reordering keys
/// or reformatting numbers and strings. `src` must be valid JSON.
pub fn indent_json(src: &[u8], indent: &str) -> String {
    let mut out = Vec::with_capacity(src.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        for _ in 0..depth {
            out.extend_from_slice(indent.as_bytes());
        }
    };
    let mut i = 0;
    while i < src.len() {
        let c = src[i];
        i += 1;
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
            continue;
        }
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {}
            b'"' => {
                in_string = true;
                out.push(c);
            }
            b'{' | b'[' => {
                let close = if c == b'{' { b'}' } else { b']' };
                let mut j = i;
                while j < src.len() && src[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j < src.len() && src[j] == close {
                    // Empty containers stay compact, as in Go.
                    out.extend_from_slice(&[c, close]);
                    i = j + 1;
                } else {
                    out.push(c);
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            b',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(c),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The raw text of the value at `path` (object keys) inside `src`, if there is one.
pub fn raw_path<'a>(src: &'a [u8], path: &[String]) -> Option<&'a [u8]> {
    let mut cur = trim(src);
    for key in path {
        cur = member(cur, key)?;
    }
    Some(cur)
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &s[start..end.max(start)]
}

/// The value of member `key` of the object `obj` (raw text of an object).
fn member<'a>(obj: &'a [u8], key: &str) -> Option<&'a [u8]> {
    if obj.first() != Some(&b'{') {
        return None;
    }
    let mut i = 1;
    loop {
        i = skip_ws(obj, i);
        match obj.get(i)? {
            b'}' => return None,
            b',' => {
                i += 1;
                continue;
            }
            b'"' => {}
            _ => return None,
        }
        let key_end = value_end(obj, i)?;
        let k: String = serde_json::from_slice(&obj[i..key_end]).ok()?;
        i = skip_ws(obj, key_end);
        if obj.get(i)? != &b':' {
            return None;
        }
        let vstart = skip_ws(obj, i + 1);
        let vend = value_end(obj, vstart)?;
        if k == key {
            return Some(&obj[vstart..vend]);
        }
        i = vend;
    }
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && s[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// End (exclusive) of the JSON value starting at `start`.
fn value_end(s: &[u8], start: usize) -> Option<usize> {
    let first = *s.get(start)?;
    if first == b'"' {
        let mut i = start + 1;
        while i < s.len() {
            match s[i] {
                b'\\' => i += 2,
                b'"' => return Some(i + 1),
                _ => i += 1,
            }
        }
        return None;
    }
    if first == b'{' || first == b'[' {
        let mut depth = 0usize;
        let mut i = start;
        while i < s.len() {
            match s[i] {
                b'"' => {
                    i = value_end(s, i)?;
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        return None;
    }
    // Number, true, false, null.
    let mut i = start;
    while i < s.len() && !matches!(s[i], b',' | b'}' | b']') && !s[i].is_ascii_whitespace() {
        i += 1;
    }
    (i > start).then_some(i)
}

/// Go's json.Marshal look of raw JSON text: no insignificant whitespace, `<`, `>`, `&`
/// escaped. With `omit_empty`, top-level members whose value is empty (`""`, `null`,
/// `[]`, `{}`, `false`, `0`) are dropped, as a Go struct whose fields are all
/// `omitempty` marshals (the OCI image config is one).
pub fn compact(src: &[u8], omit_empty: bool) -> String {
    let src = if omit_empty {
        drop_empty_members(src)
    } else {
        src.to_vec()
    };
    let mut out = String::with_capacity(src.len());
    let mut in_string = false;
    let mut escaped = false;
    for ch in String::from_utf8_lossy(&src).chars() {
        if in_string {
            match ch {
                '<' => out.push_str("\\u003c"),
                '>' => out.push_str("\\u003e"),
                '&' => out.push_str("\\u0026"),
                c => out.push(c),
            }
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == '"' {
                in_string = false;
            }
        } else if ch == '"' {
            in_string = true;
            out.push(ch);
        } else if !ch.is_ascii_whitespace() {
            out.push(ch);
        }
    }
    out
}

fn drop_empty_members(obj: &[u8]) -> Vec<u8> {
    let obj = trim(obj);
    if obj.first() != Some(&b'{') {
        return obj.to_vec();
    }
    let mut kept: Vec<&[u8]> = Vec::new();
    let mut i = 1;
    loop {
        i = skip_ws(obj, i);
        match obj.get(i) {
            Some(b',') => {
                i += 1;
                continue;
            }
            Some(b'"') => {}
            _ => break,
        }
        let Some(key_end) = value_end(obj, i) else {
            break;
        };
        let colon = skip_ws(obj, key_end);
        let vstart = skip_ws(obj, colon + 1);
        let Some(vend) = value_end(obj, vstart) else {
            break;
        };
        let v = trim(&obj[vstart..vend]);
        let empty = matches!(v, b"\"\"" | b"null" | b"false" | b"0")
            || ((v.starts_with(b"[") || v.starts_with(b"{"))
                && v[1..v.len() - 1].iter().all(u8::is_ascii_whitespace));
        if !empty {
            kept.push(&obj[i..vend]);
        }
        i = vend;
    }
    let mut out = b"{".to_vec();
    for (n, m) in kept.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(m);
    }
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indent_like_go() {
        let src =
            br#"[{"Id":"x","Tags":["a","b"],"Empty":{},"None":[ ],"S":"a,b:{c}\"]","N":1.50}]"#;
        assert_eq!(
            indent_json(src, "    "),
            "[\n    {\n        \"Id\": \"x\",\n        \"Tags\": [\n            \"a\",\n            \"b\"\n        ],\n        \"Empty\": {},\n        \"None\": [],\n        \"S\": \"a,b:{c}\\\"]\",\n        \"N\": 1.50\n    }\n]"
        );
    }

    #[test]
    fn raw_members_in_order() {
        let src = br#" {"Id": "x", "Config": {"User": "", "Env": ["A=<b>"], "Cmd": ["sh"], "WorkingDir": "",
            "Labels": {}, "N": {"a,}": [1, {"b": "]"}]}}, "Size": 12 } "#;
        let p = |path: &[&str]| {
            let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
            raw_path(src, &path).map(|r| String::from_utf8_lossy(r).into_owned())
        };
        assert_eq!(p(&["Size"]).as_deref(), Some("12"));
        assert_eq!(p(&["Config", "Cmd"]).as_deref(), Some("[\"sh\"]"));
        assert_eq!(
            p(&["Config", "N", "a,}"]).as_deref(),
            Some("[1, {\"b\": \"]\"}]")
        );
        assert_eq!(p(&["Nope"]), None);
        assert_eq!(p(&["Size", "x"]), None);
        let cfg = raw_path(src, &["Config".to_string()]).expect("config");
        assert_eq!(
            compact(cfg, true),
            r#"{"Env":["A=\u003cb\u003e"],"Cmd":["sh"],"N":{"a,}":[1,{"b":"]"}]}}"#
        );
        assert!(compact(cfg, false).starts_with(r#"{"User":"","Env""#));
    }
}
