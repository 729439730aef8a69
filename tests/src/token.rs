//! A tiny Docker token service (the "realm" of a `WWW-Authenticate: Bearer` challenge) that
//! issues RS256 JWTs the registry's `auth: token` mode accepts.
//!
//! `GET /token?service=…&scope=repository:foo:pull,push` → `{"token","access_token","expires_in"}`.
//! Right Basic credentials get every action they ask for; wrong ones get 401; anonymous callers
//! get a token with an empty `access` list, so the registry answers 401 as Docker Hub does for a
//! private repository.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context, Result};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Serialize;

use crate::registry::{TOKEN_ISSUER, TOKEN_SERVICE};
use crate::util::run_checked;

/// Signing material: made once per process by `openssl` (RSA keygen costs up to a second on a
/// busy 2-core VM, and every token registry can share it).
pub struct SigningKey {
    pub cert_pem: String,
    cert_der: Vec<u8>,
    key: ring::rsa::KeyPair,
}

pub fn signing_key() -> Result<&'static SigningKey> {
    static KEY: OnceLock<std::result::Result<SigningKey, String>> = OnceLock::new();
    KEY.get_or_init(|| make_signing_key().map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(|e| anyhow!("{e}"))
}

fn make_signing_key() -> Result<SigningKey> {
    let dir = tempfile::tempdir()?;
    let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
    run_checked(
        std::process::Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
            ])
            .args(["-subj", &format!("/CN={TOKEN_ISSUER}")])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
    )
    .context("openssl is needed for token registries")?;
    let key_pem = std::fs::read_to_string(&key)?;
    let cert_pem = std::fs::read_to_string(&cert)?;
    // OpenSSL 3 writes "BEGIN PRIVATE KEY", i.e. PKCS#8, which ring reads as is.
    let key_der = pem_body(&key_pem, "PRIVATE KEY")?;
    let cert_der = pem_body(&cert_pem, "CERTIFICATE")?;
    let key = ring::rsa::KeyPair::from_pkcs8(&key_der)
        .map_err(|e| anyhow!("ring rejected the RSA key: {e}"))?;
    Ok(SigningKey {
        cert_pem,
        cert_der,
        key,
    })
}

fn pem_body(pem: &str, label: &str) -> Result<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).context("PEM begin line")? + begin.len();
    let stop = pem[start..].find(&end).context("PEM end line")? + start;
    let b64: String = pem[start..stop].split_whitespace().collect();
    Ok(STANDARD.decode(b64)?)
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    x5c: Vec<String>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Access {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: u64,
    nbf: u64,
    iat: u64,
    jti: String,
    access: &'a [Access],
}

/// Signs a token for `sub` with `access`, valid for 300 s (nbf a little in the past for skew).
pub fn sign_token(sub: &str, access: &[Access]) -> Result<String> {
    static JTI: AtomicU64 = AtomicU64::new(1);
    let key = signing_key()?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let header = Header {
        alg: "RS256",
        typ: "JWT",
        x5c: vec![STANDARD.encode(&key.cert_der)],
    };
    let claims = Claims {
        iss: TOKEN_ISSUER,
        sub,
        aud: TOKEN_SERVICE,
        exp: now + 300,
        nbf: now.saturating_sub(10),
        iat: now,
        jti: format!(
            "rdocker-{}-{}",
            std::process::id(),
            JTI.fetch_add(1, Ordering::Relaxed)
        ),
        access,
    };
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims)?)
    );
    let mut sig = vec![0u8; key.key.public().modulus_len()];
    key.key
        .sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            signing_input.as_bytes(),
            &mut sig,
        )
        .map_err(|_| anyhow!("RSA signing failed"))?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

/// A running token service; dropping it stops the accept loop.
pub struct TokenService {
    addr: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TokenService {
    pub fn start(user: &str, pass: &str) -> Result<TokenService> {
        signing_key()?; // fail here, not inside the server thread
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?.to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let (user, pass, stop2) = (user.to_string(), pass.to_string(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(conn) = conn {
                    let (u, p) = (user.clone(), pass.clone());
                    // One thread per connection: a slow client must not block the others.
                    std::thread::spawn(move || {
                        let _ = serve(conn, &u, &p);
                    });
                }
            }
        });
        Ok(TokenService {
            addr,
            stop,
            thread: Some(thread),
        })
    }
    /// "http://127.0.0.1:PORT"
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn cert_pem(&self) -> String {
        signing_key()
            .map(|k| k.cert_pem.clone())
            .unwrap_or_default()
    }
}

impl Drop for TokenService {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(&self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(conn: TcpStream, user: &str, pass: &str) -> Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let mut auth = None;
    let mut content_length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "authorization" => auth = Some(v.trim().to_string()),
                "content-length" => content_length = v.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut params: Vec<(String, String)> = parse_form(query);
    let mut creds = auth.as_deref().and_then(parse_basic);
    if method == "POST" {
        // OAuth2 password grant (docker login with `--password-stdin` may use it).
        let mut body = vec![0u8; content_length.min(64 * 1024)];
        std::io::Read::read_exact(&mut reader, &mut body)?;
        let form = parse_form(&String::from_utf8_lossy(&body));
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        if let (Some(u), Some(p)) = (get("username"), get("password")) {
            creds = Some((u, p));
        }
        params.extend(form);
    }
    let mut w = conn;
    if path != "/token" {
        return respond(
            &mut w,
            404,
            r#"{"errors":[{"code":"NOT_FOUND","message":"not found"}]}"#,
        );
    }
    let (sub, access) = match creds {
        Some((u, p)) if u == user && p == pass => {
            let scopes = params.iter().filter(|(k, _)| k == "scope");
            (u, scopes.filter_map(|(_, s)| parse_scope(s)).collect())
        }
        Some(_) => {
            return respond(
                &mut w,
                401,
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"incorrect username or password"}]}"#,
            )
        }
        None => (String::new(), Vec::new()),
    };
    let token = sign_token(&sub, &access)?;
    let body = serde_json::json!({
        "token": token, "access_token": token, "expires_in": 300,
        "issued_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    respond(&mut w, 200, &body.to_string())
}

fn respond(w: &mut TcpStream, status: u16, body: &str) -> Result<()> {
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        _ => "Not Found",
    };
    write!(
        w,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    Ok(w.flush()?)
}

fn parse_basic(h: &str) -> Option<(String, String)> {
    let b64 = h
        .strip_prefix("Basic ")
        .or_else(|| h.strip_prefix("basic "))?;
    let raw = String::from_utf8(STANDARD.decode(b64.trim()).ok()?).ok()?;
    let (u, p) = raw.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// `repository:library/busybox:pull,push` → Access. The name may itself hold ':' (never in
/// practice), so the type is before the first ':' and the actions after the last.
pub fn parse_scope(s: &str) -> Option<Access> {
    let (kind, rest) = s.split_once(':')?;
    let (name, actions) = rest.rsplit_once(':')?;
    Some(Access {
        kind: kind.to_string(),
        name: name.to_string(),
        actions: actions
            .split(',')
            .filter(|a| !a.is_empty())
            .map(String::from)
            .collect(),
    })
}

pub fn parse_form(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_and_forms() {
        let a = parse_scope("repository:library/busybox:pull,push").unwrap();
        assert_eq!(a.name, "library/busybox");
        assert_eq!(a.actions, ["pull", "push"]);
        let f = parse_form("service=x&scope=repository%3Afoo%3Apull");
        assert_eq!(f[1].1, "repository:foo:pull");
        assert_eq!(percent_decode("a%2"), "a%2");
    }
}
