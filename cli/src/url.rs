//! Percent-encoding for request paths and queries, as Go's net/url does it for docker's
//! client (the daemon decodes what docker sends, so we send the same).

/// Go's url.QueryEscape: what docker's client does to query values.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Escapes an image name or id for use inside a path; keeps `/`, `:` and `@` as Go's
/// url.URL does, so `localhost:5000/a/b:tag` reaches the daemon as written.
pub fn path_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => out.push(b as char),
            b'-' | b'_' | b'.' | b'~' | b'/' | b':' | b'@' | b'+' | b',' | b'=' | b'$' | b'&' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Builds `?k=v&…` from pairs, escaping values.
pub fn query(pairs: &[(&str, String)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let joined: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", query_escape(v)))
        .collect();
    format!("?{}", joined.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(query_escape("{\"a\": 1}"), "%7B%22a%22%3A+1%7D");
        assert_eq!(path_escape("localhost:5000/a/b:t"), "localhost:5000/a/b:t");
        assert_eq!(path_escape("a b?#"), "a%20b%3F%23");
        assert_eq!(
            query(&[("fromImage", "busybox".into()), ("tag", "latest".into())]),
            "?fromImage=busybox&tag=latest"
        );
    }
}
