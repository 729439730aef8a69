//! The reader behind `GET /containers/{id}/logs`: json-file log lines → Docker's wire format.
//!
//! The shim writes one JSON object per line (`{"log":"hi\n","stream":"stdout","time":"…"}`,
//! see runtime/PROTOCOL.md). Without a TTY every line becomes one multiplexed frame (stream
//! byte, three zero bytes, big-endian length, payload); with a TTY the payloads go out raw.
//! A line that does not parse (a crash mid-write, a hand-edited file) is skipped; a last line
//! without its newline yet is waited for when following and otherwise tried as it is.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use serde::Deserialize;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use tokio::sync::{mpsc, watch};

use crate::errors::ApiError;
use crate::routes::Params;
use crate::timestamps;

/// How often a follower looks for new lines (polling: simple, and cheap at this rate).
const POLL: Duration = Duration::from_millis(75);
/// Bytes gathered before they are handed to the connection.
const BATCH: usize = 32 * 1024;
/// What `tail` reads per step when scanning back from the end of the file.
const TAIL_CHUNK: usize = 64 * 1024;
/// Longer "lines" are not the shim's (it splits output at 16 KiB, under 100 KiB escaped):
/// dropped rather than buffered without bound.
const MAX_LINE: usize = 1024 * 1024;

/// What `GET /containers/{id}/logs` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    pub stdout: bool,
    pub stderr: bool,
    /// Only lines at or after this time (nanoseconds since the epoch).
    pub since: Option<i64>,
    /// Only lines at or before this time (nanoseconds since the epoch).
    pub until: Option<i64>,
    pub timestamps: bool,
    /// Only the last N lines; `None` = all.
    pub tail: Option<usize>,
    pub follow: bool,
}

impl LogOptions {
    /// `stdout`, `stderr`, `since`, `until`, `timestamps`, `tail` (a number or `all`), `follow`.
    pub fn from_params(p: &Params) -> Result<LogOptions, ApiError> {
        let now = timestamps::now_nanos();
        let time = |key: &str| -> Result<Option<i64>, ApiError> {
            match p.get(key).map(str::trim).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => timestamps::parse(v, now)
                    .map(Some)
                    .map_err(ApiError::bad_request),
            }
        };
        let opts = LogOptions {
            stdout: p.bool("stdout"),
            stderr: p.bool("stderr"),
            since: time("since")?.filter(|&s| s > 0),
            until: time("until")?.filter(|&u| u > 0),
            timestamps: p.bool("timestamps"),
            // Like dockerd: anything that is not a non-negative number (`all`, "") means all.
            tail: p.get("tail").and_then(|t| t.trim().parse::<usize>().ok()),
            follow: p.bool("follow"),
        };
        if !opts.stdout && !opts.stderr {
            return Err(ApiError::bad_request(
                "Bad parameters: you must choose at least one stream",
            ));
        }
        Ok(opts)
    }
}

/// The response body: multiplexed frames without a TTY, raw bytes with one. With `follow` it
/// stays open until `running` turns false and the file is drained (or the client goes).
pub fn stream(
    path: PathBuf,
    tty: bool,
    opts: LogOptions,
    running: watch::Receiver<bool>,
) -> axum::body::Body {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(4);
    tokio::spawn(async move {
        let mut pump = Pump {
            tty,
            opts,
            tx: &tx,
            out: BytesMut::new(),
        };
        if let Err(e) = pump.run(&path, running).await {
            // The client sees the connection end early; the daemon log says why.
            tracing::warn!("reading {}: {e}", path.display());
            let _ = tx.send(Err(e)).await;
        }
    });
    axum::body::Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }))
}

#[derive(Deserialize)]
struct Line {
    log: String,
    stream: String,
    time: String,
}

/// What one log line asks of the reader.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Skip,
    Emit,
    /// Past `until`: nothing later can qualify.
    Stop,
}

struct Pump<'a> {
    tty: bool,
    opts: LogOptions,
    tx: &'a mpsc::Sender<io::Result<Bytes>>,
    out: BytesMut,
}

impl Pump<'_> {
    async fn run(&mut self, path: &Path, mut running: watch::Receiver<bool>) -> io::Result<()> {
        let Some(file) = self.open(path, &mut running).await? else {
            return Ok(());
        };
        let mut reader = tokio::io::BufReader::new(tokio::fs::File::from_std(file));
        let mut line = Vec::new();
        let mut last_pass = false;
        // Inside an overlong line: everything up to its newline is dropped.
        let mut overlong = false;
        loop {
            if read_line(&mut reader, &mut line, &mut overlong).await? {
                let step = match std::mem::take(&mut overlong) {
                    true => Step::Skip,
                    false => self.line(&line),
                };
                line.clear();
                if step == Step::Stop {
                    return self.flush().await;
                }
                if self.out.len() >= BATCH && !self.flush_ok().await {
                    return Ok(());
                }
                continue;
            }
            // End of what is written so far; `line` may hold the start of an unfinished one.
            if !self.flush_ok().await {
                return Ok(());
            }
            let until_passed = self.opts.until.is_some_and(|u| timestamps::now_nanos() > u);
            if !self.opts.follow || last_pass || until_passed {
                // The writer is done with this file: a last line without "\n" is whole or junk.
                if !line.is_empty() && !overlong {
                    self.line(&line);
                }
                return self.flush().await;
            }
            if !*running.borrow() {
                // One more pass picks up what was written before the stop was seen.
                last_pass = true;
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                changed = running.changed() => {
                    if changed.is_err() {
                        last_pass = true; // the container's record is gone: treat as stopped
                    }
                }
                _ = self.tx.closed() => return Ok(()),
            }
        }
    }

    /// The log file positioned for reading (at the tail when asked); `None` when there is no
    /// log (never started) and nothing will come.
    async fn open(
        &self,
        path: &Path,
        running: &mut watch::Receiver<bool>,
    ) -> io::Result<Option<std::fs::File>> {
        loop {
            let p = path.to_path_buf();
            let tail = self.opts.tail;
            let opened = tokio::task::spawn_blocking(move || open_at_tail(&p, tail))
                .await
                .map_err(io::Error::other)?;
            match opened {
                Ok(f) => return Ok(Some(f)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            if !self.opts.follow || !*running.borrow() {
                return Ok(None);
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = running.changed() => {}
                _ = self.tx.closed() => return Ok(None),
            }
        }
    }

    /// Decodes one line and appends its frame to the batch when it qualifies.
    fn line(&mut self, raw: &[u8]) -> Step {
        let Ok(l) = serde_json::from_slice::<Line>(raw) else {
            return Step::Skip;
        };
        let Some(t) = chrono::DateTime::parse_from_rfc3339(&l.time)
            .ok()
            .and_then(|t| t.timestamp_nanos_opt())
        else {
            return Step::Skip;
        };
        if self.opts.until.is_some_and(|u| t > u) {
            return Step::Stop;
        }
        if self.opts.since.is_some_and(|s| t < s) {
            return Step::Skip;
        }
        let stream = match l.stream.as_str() {
            "stdout" if self.opts.stdout => 1u8,
            "stderr" if self.opts.stderr => 2u8,
            _ => return Step::Skip,
        };
        let prefix = match self.opts.timestamps {
            true => format!("{} ", format_time(t)),
            false => String::new(),
        };
        let len = prefix.len() + l.log.len();
        if !self.tty {
            // A json-file line is at most a few KiB (the shim splits at 16 KiB).
            let len = u32::try_from(len).unwrap_or(u32::MAX);
            self.out.put_slice(&[stream, 0, 0, 0]);
            self.out.put_u32(len);
        }
        self.out.put_slice(prefix.as_bytes());
        self.out.put_slice(l.log.as_bytes());
        Step::Emit
    }

    /// Sends the batch; false when the client is gone.
    async fn flush_ok(&mut self) -> bool {
        if self.out.is_empty() {
            return true;
        }
        let chunk = self.out.split().freeze();
        self.tx.send(Ok(chunk)).await.is_ok()
    }

    async fn flush(&mut self) -> io::Result<()> {
        self.flush_ok().await;
        Ok(())
    }
}

/// Reads through the next newline into `line`: true when it ended one, false at the end of
/// what is written so far (`line` keeps the unfinished part). A line longer than [`MAX_LINE`]
/// is not kept: `overlong` is set and the rest of it is consumed without storing.
async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    line: &mut Vec<u8>,
    overlong: &mut bool,
) -> io::Result<bool> {
    loop {
        let buf = r.fill_buf().await?;
        if buf.is_empty() {
            return Ok(false);
        }
        let (n, done) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if !*overlong {
            if line.len() + n > MAX_LINE {
                *overlong = true;
                line.clear();
            } else {
                line.extend_from_slice(&buf[..n]);
            }
        }
        r.consume(n);
        if done {
            return Ok(true);
        }
    }
}

/// Docker's `RFC3339NanoFixed` in UTC: always nine fraction digits.
pub fn format_time(nanos: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(nanos)
        .format("%Y-%m-%dT%H:%M:%S%.9fZ")
        .to_string()
}

/// Opens the log and seeks to the start of its last `tail` complete lines.
fn open_at_tail(path: &Path, tail: Option<usize>) -> io::Result<std::fs::File> {
    let mut f = std::fs::File::open(path)?;
    if let Some(n) = tail {
        let start = tail_offset(&mut f, n)?;
        f.seek(SeekFrom::Start(start))?;
    }
    Ok(f)
}

/// The offset of the first of the last `n` complete lines, reading backwards in chunks so a
/// large log is not read whole. A trailing unfinished line is not counted (it follows).
fn tail_offset(f: &mut std::fs::File, n: usize) -> io::Result<u64> {
    let mut pos = f.seek(SeekFrom::End(0))?;
    let mut buf = vec![0u8; TAIL_CHUNK];
    let mut newlines = 0usize;
    while pos > 0 {
        let size = usize::try_from(pos).map_or(TAIL_CHUNK, |p| p.min(TAIL_CHUNK));
        pos -= size as u64;
        f.seek(SeekFrom::Start(pos))?;
        f.read_exact(&mut buf[..size])?;
        for (i, b) in buf[..size].iter().enumerate().rev() {
            if *b == b'\n' {
                newlines += 1;
                // The (n+1)-th newline from the end closes the line before the ones we want.
                if newlines > n {
                    return Ok(pos + i as u64 + 1);
                }
            }
        }
    }
    Ok(0)
}

#[cfg(test)]
#[path = "logs_tests.rs"]
mod tests;
