//! A minimal HTTP/1.1 server for registry behaviours a real registry will not show on demand
//! (stalls, bearer token services). Keep-alive, one request at a time per connection.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub struct Request {
    pub path: String,
    /// Lower-case header names.
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Send this many body bytes, then hang.
    pub stall_after: Option<usize>,
}

impl Response {
    pub fn ok(body: Vec<u8>, ctype: &str) -> Response {
        Response {
            status: 200,
            headers: vec![("Content-Type".into(), ctype.into())],
            body,
            stall_after: None,
        }
    }
    pub fn status(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
            stall_after: None,
        }
    }
}

pub type Handler = Arc<dyn Fn(&Request, u16) -> Response + Send + Sync>;

/// Starts the server on 127.0.0.1; the handler gets the request and the server's port.
pub async fn serve(handler: Handler) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let handler = handler.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    let mut chunk = [0u8; 4096];
                    let n = match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    buf.drain(..end + 4);
                    let mut lines = head.split("\r\n");
                    let path = lines
                        .next()
                        .and_then(|l| l.split_whitespace().nth(1))
                        .unwrap_or("")
                        .to_string();
                    let headers = lines
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                        .collect();
                    let res = handler(&Request { path, headers }, port);
                    let mut out = format!(
                        "HTTP/1.1 {} X\r\nContent-Length: {}\r\n",
                        res.status,
                        res.body.len()
                    );
                    for (k, v) in &res.headers {
                        out.push_str(&format!("{k}: {v}\r\n"));
                    }
                    out.push_str("\r\n");
                    if sock.write_all(out.as_bytes()).await.is_err() {
                        return;
                    }
                    if let Some(n) = res.stall_after {
                        let _ = sock.write_all(&res.body[..n.min(res.body.len())]).await;
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        return;
                    }
                    if sock.write_all(&res.body).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// A one-layer OCI image: (manifest, manifest digest, config, config digest, layer, layer digest).
pub fn tiny_image(file_len: usize) -> (Vec<u8>, String, Vec<u8>, String, Vec<u8>, String) {
    let (blob, mt, diff_id) = super::layer(&[("big", &vec![7u8; file_len])], super::Comp::None);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]}
    }))
    .unwrap();
    let (cd, ld) = (super::sha(&config), super::sha(&blob));
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": super::OCI_MANIFEST,
        "config": {"mediaType": super::OCI_CONFIG, "digest": cd, "size": config.len()},
        "layers": [{"mediaType": mt, "digest": ld, "size": blob.len()}]
    }))
    .unwrap();
    let md = super::sha(&manifest);
    (manifest, md, config, cd, blob, ld)
}
