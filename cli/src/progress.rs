//! Rendering of the daemon's JSON progress stream, a port of docker's
//! pkg/jsonmessage (DisplayJSONMessagesStream): on a terminal one line per layer id,
//! redrawn in place with ANSI cursor movement; otherwise plain lines, one per status
//! change, with the byte-count updates dropped.

use std::collections::HashMap;
use std::io::{self, Read, Write};

use serde::Deserialize;

use crate::format::{go_duration_secs, human_size};

#[derive(Debug, Default, Deserialize)]
pub struct JsonProgress {
    #[serde(default)]
    pub current: i64,
    #[serde(default)]
    pub total: i64,
    #[serde(default)]
    pub start: i64,
    #[serde(default, rename = "hidecounts")]
    pub hide_counts: bool,
    #[serde(default)]
    pub units: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct JsonError {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct JsonMessage {
    #[serde(default)]
    pub stream: String,
    #[serde(default)]
    pub status: String,
    #[serde(default, rename = "progressDetail")]
    pub progress: Option<JsonProgress>,
    /// Pre-rendered progress text (deprecated in docker, still honoured).
    #[serde(default, rename = "progress")]
    pub progress_message: String,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub from: String,
    #[serde(default, rename = "errorDetail")]
    pub error: Option<JsonError>,
    #[serde(default, rename = "error")]
    pub error_message: String,
    #[serde(default)]
    pub aux: Option<serde_json::Value>,
}

impl JsonProgress {
    /// docker's JSONProgress.String for a terminal `width` wide at time `now` (unix s).
    pub fn render(&self, width: usize, now: i64) -> String {
        if self.current <= 0 && self.total <= 0 {
            return String::new();
        }
        if self.total <= 0 {
            return if self.units.is_empty() {
                format!("{:>8}", human_size(self.current as f64))
            } else {
                format!("{} {}", self.current, self.units)
            };
        }
        let percentage =
            (((self.current as f64 / self.total as f64) * 100.0) as i64 / 2).clamp(0, 50) as usize;
        let mut out = String::new();
        if width > 110 {
            out.push('[');
            out.push_str(&"=".repeat(percentage));
            out.push('>');
            out.push_str(&" ".repeat(50 - percentage));
            out.push_str("] ");
        }
        if !self.hide_counts {
            if self.units.is_empty() {
                let current = human_size(self.current as f64);
                if self.current > self.total {
                    // docker drops a total the current value has overtaken.
                    out.push_str(&format!("{current:>8}"));
                } else {
                    out.push_str(&format!("{current:>8}/{}", human_size(self.total as f64)));
                }
            } else if self.current > self.total {
                out.push_str(&format!("{} {}", self.current, self.units));
            } else {
                out.push_str(&format!("{}/{} {}", self.current, self.total, self.units));
            }
        }
        if self.current > 0 && self.start > 0 && percentage < 50 {
            // Same integer arithmetic as Go's time.Duration maths, in nanoseconds.
            let from_start = (now - self.start) as i128 * 1_000_000_000;
            let per_entry = from_start / self.current as i128;
            let left_ns = (self.total - self.current) as i128 * per_entry;
            let left = ((left_ns + 500_000_000).div_euclid(1_000_000_000)) as i64;
            out.push(' ');
            out.push_str(&go_duration_secs(left));
        }
        out
    }
}

/// Why a progress stream ended badly.
#[derive(Debug)]
pub enum StreamError {
    /// The daemon reported an error in the stream. `before_output` is true when nothing
    /// had been shown yet, i.e. where docker's daemon would still have answered with an
    /// HTTP error (and docker would print "Error response from daemon: ...").
    Daemon {
        message: String,
        before_output: bool,
    },
    Io(io::Error),
    Decode(serde_json::Error),
}

impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamError::Daemon {
                message,
                before_output: true,
            } => write!(f, "Error response from daemon: {message}"),
            StreamError::Daemon { message, .. } => f.write_str(message),
            // What docker prints when the daemon goes away mid-stream.
            StreamError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                f.write_str("unexpected EOF")
            }
            StreamError::Io(e) => write!(f, "error reading the progress stream: {e}"),
            StreamError::Decode(e) => write!(f, "error decoding the progress stream: {e}"),
        }
    }
}
impl std::error::Error for StreamError {}

/// Terminal settings for rendering: `None` means "not a terminal".
#[derive(Clone, Copy)]
pub struct Tty {
    pub width: usize,
}

pub struct Renderer<W: Write> {
    out: W,
    tty: Option<Tty>,
    /// Layer id → its line number among the progress lines (docker's `ids` map).
    ids: HashMap<String, usize>,
    shown_any: bool,
    now: fn() -> i64,
}

fn unix_now() -> i64 {
    crate::format::now_unix_f64() as i64
}

impl<W: Write> Renderer<W> {
    pub fn new(out: W, tty: Option<Tty>) -> Self {
        Renderer {
            out,
            tty,
            ids: HashMap::new(),
            shown_any: false,
            now: unix_now,
        }
    }

    /// Reads newline-delimited (or just concatenated) JSON messages until EOF.
    pub fn run<R: Read>(&mut self, input: R) -> Result<(), StreamError> {
        let reader = io::BufReader::new(input);
        for msg in serde_json::Deserializer::from_reader(reader).into_iter::<JsonMessage>() {
            let msg = msg.map_err(|e| {
                if e.is_io() || e.is_eof() {
                    // A stream cut inside a message or a chunk: the daemon went away.
                    let kind = match e.io_error_kind() {
                        Some(k) if !e.is_eof() => k,
                        _ => io::ErrorKind::UnexpectedEof,
                    };
                    StreamError::Io(io::Error::new(kind, e.to_string()))
                } else {
                    StreamError::Decode(e)
                }
            })?;
            self.handle(&msg)?;
            // Progress must appear as it arrives, not when a buffer fills.
            self.out.flush().map_err(StreamError::Io)?;
        }
        Ok(())
    }

    pub fn handle(&mut self, jm: &JsonMessage) -> Result<(), StreamError> {
        if jm.aux.is_some() {
            return Ok(());
        }
        let mut diff = 0;
        let is_progress = jm.progress.is_some() || !jm.progress_message.is_empty();
        if !jm.id.is_empty() && is_progress {
            let line = match self.ids.get(&jm.id) {
                Some(&l) => l,
                None => {
                    let l = self.ids.len();
                    self.ids.insert(jm.id.clone(), l);
                    if self.tty.is_some() {
                        self.write("\n")?;
                    }
                    l
                }
            };
            diff = self.ids.len() - line;
            if self.tty.is_some() && diff > 0 {
                self.write(&format!("\x1b[{diff}A"))?;
            }
        } else {
            // Something that is not a layer's progress: forget the lines above, so that
            // later progress is never drawn over it.
            self.ids.clear();
        }
        let res = self.display(jm);
        if !jm.id.is_empty() && self.tty.is_some() && diff > 0 {
            self.write(&format!("\x1b[{diff}B"))?;
        }
        res
    }

    /// docker's JSONMessage.Display.
    fn display(&mut self, jm: &JsonMessage) -> Result<(), StreamError> {
        let err_msg = match &jm.error {
            Some(e) if !e.message.is_empty() => Some(e.message.clone()),
            _ if !jm.error_message.is_empty() => Some(jm.error_message.clone()),
            Some(e) => Some(format!("error code {}", e.code)),
            None => None,
        };
        if let Some(message) = err_msg {
            return Err(StreamError::Daemon {
                message,
                before_output: !self.shown_any,
            });
        }
        let now = (self.now)();
        let width = self.tty.map_or(200, |t| t.width);
        let rendered = jm
            .progress
            .as_ref()
            .map(|p| p.render(width, now))
            .unwrap_or_default();
        let tty = self.tty.is_some();
        let mut endl = "";
        if tty && jm.stream.is_empty() && jm.progress.is_some() {
            self.write("\x1b[2K\r")?;
            endl = "\r";
        } else if jm.progress.is_some() && !rendered.is_empty() {
            // Byte-count updates only make sense when redrawn in place.
            return Ok(());
        }
        let mut line = String::new();
        if !jm.id.is_empty() {
            line.push_str(&jm.id);
            line.push_str(": ");
        }
        if !jm.from.is_empty() {
            line.push_str(&format!("(from {}) ", jm.from));
        }
        if jm.progress.is_some() && tty {
            line.push_str(&format!("{} {rendered}{endl}", jm.status));
        } else if !jm.progress_message.is_empty() {
            line.push_str(&format!("{} {}{endl}", jm.status, jm.progress_message));
        } else if !jm.stream.is_empty() {
            line.push_str(&format!("{}{endl}", jm.stream));
        } else {
            line.push_str(&format!("{}{endl}\n", jm.status));
        }
        self.shown_any = true;
        self.write(&line)
    }

    fn write(&mut self, s: &str) -> Result<(), StreamError> {
        self.out.write_all(s.as_bytes()).map_err(StreamError::Io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = r#"{"status":"Pulling from library/busybox","id":"latest"}
{"status":"Pulling fs layer","progressDetail":{},"id":"abc123def456"}
{"status":"Pulling fs layer","progressDetail":{},"id":"0123456789ab"}
{"status":"Downloading","progressDetail":{"current":12300000,"total":45600000},"progress":"[==>  ]","id":"abc123def456"}
{"status":"Download complete","progressDetail":{},"id":"abc123def456"}
{"status":"Extracting","progressDetail":{"current":45600000,"total":45600000},"id":"abc123def456"}
{"status":"Pull complete","progressDetail":{},"id":"abc123def456"}
{"status":"Pull complete","progressDetail":{},"id":"0123456789ab"}
{"status":"Digest: sha256:feed"}
{"status":"Status: Downloaded newer image for busybox:latest"}
"#;

    fn render(input: &str, tty: Option<Tty>) -> (String, Result<(), StreamError>) {
        let mut out = Vec::new();
        let mut r = Renderer::new(&mut out, tty);
        r.now = || 1000;
        let res = r.run(input.as_bytes());
        (String::from_utf8(out).expect("utf8"), res)
    }

    #[test]
    fn plain_output_has_one_line_per_status() {
        let (out, res) = render(STREAM, None);
        assert!(res.is_ok());
        assert_eq!(
            out,
            "latest: Pulling from library/busybox\n\
             abc123def456: Pulling fs layer\n\
             0123456789ab: Pulling fs layer\n\
             abc123def456: Download complete\n\
             abc123def456: Pull complete\n\
             0123456789ab: Pull complete\n\
             Digest: sha256:feed\n\
             Status: Downloaded newer image for busybox:latest\n"
        );
    }

    #[test]
    fn terminal_output_redraws_lines_in_place() {
        let (out, res) = render(STREAM, Some(Tty { width: 80 }));
        assert!(res.is_ok());
        let expected = concat!(
            "latest: Pulling from library/busybox\n",
            // First layer: new line, up 1, draw, down 1.
            "\n\x1b[1A\x1b[2K\rabc123def456: Pulling fs layer \r\x1b[1B",
            "\n\x1b[1A\x1b[2K\r0123456789ab: Pulling fs layer \r\x1b[1B",
            // Update of the first of two lines: up 2.
            "\x1b[2A\x1b[2K\rabc123def456: Downloading   12.3MB/45.6MB\r\x1b[2B",
            "\x1b[2A\x1b[2K\rabc123def456: Download complete \r\x1b[2B",
            "\x1b[2A\x1b[2K\rabc123def456: Extracting   45.6MB/45.6MB\r\x1b[2B",
            "\x1b[2A\x1b[2K\rabc123def456: Pull complete \r\x1b[2B",
            "\x1b[1A\x1b[2K\r0123456789ab: Pull complete \r\x1b[1B",
            "Digest: sha256:feed\n",
            "Status: Downloaded newer image for busybox:latest\n",
        );
        assert_eq!(out, expected);
    }

    #[test]
    fn progress_bar_rendering() {
        let p = JsonProgress {
            current: 12_300_000,
            total: 45_600_000,
            ..Default::default()
        };
        assert_eq!(
            p.render(120, 0),
            format!("[=============>{}]   12.3MB/45.6MB", " ".repeat(37))
        );
        assert_eq!(p.render(80, 0), "  12.3MB/45.6MB");
        let p = JsonProgress {
            current: 50,
            total: 100,
            start: 990,
            ..Default::default()
        };
        // 10 s for 50 bytes → 10 s left.
        assert_eq!(p.render(80, 1000), "     50B/100B 10s");
        let p = JsonProgress {
            current: 150,
            total: 100,
            ..Default::default()
        };
        assert_eq!(p.render(200, 0), format!("[{}>]     150B", "=".repeat(50)));
        assert_eq!(JsonProgress::default().render(200, 0), "");
        let p = JsonProgress {
            current: 3,
            units: "items".into(),
            ..Default::default()
        };
        assert_eq!(p.render(200, 0), "3 items");
    }

    #[test]
    fn stream_errors() {
        let (out, res) = render(
            "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"a\"}\n{\"errorDetail\":{\"message\":\"boom\"},\"error\":\"boom\"}\n",
            None,
        );
        assert_eq!(out, "a: Pulling fs layer\n");
        assert_eq!(res.err().map(|e| e.to_string()), Some("boom".into()));
        let (_, res) = render("{\"error\":\"manifest unknown\"}", None);
        assert_eq!(
            res.err().map(|e| e.to_string()),
            Some("Error response from daemon: manifest unknown".into())
        );
        let (_, res) = render("{\"status\":", None);
        assert_eq!(
            res.err().map(|e| e.to_string()),
            Some("unexpected EOF".into())
        );
    }
}
