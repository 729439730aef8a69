//! Docker's json-file log format: one JSON object per line of output.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::Serialize;

use crate::error::{Context, ShimError};
use crate::timefmt::now_rfc3339;

/// A partial line is written once this much accumulates, so one endless line cannot grow memory.
const MAX_PARTIAL: usize = 16 * 1024;

#[derive(Serialize)]
struct Entry<'a> {
    log: &'a str,
    stream: &'a str,
    time: &'a str,
}

pub struct LogWriter {
    file: File,
    /// Pending partial line per stream: index 0 stdout, 1 stderr.
    partial: [Vec<u8>; 2],
}

impl LogWriter {
    pub fn open(path: &Path) -> Result<Self, ShimError> {
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .open(path)
            .ctx(|| format!("open log file {}", path.display()))?;
        Ok(LogWriter {
            file,
            partial: [Vec::new(), Vec::new()],
        })
    }

    /// `stream` is 1 (stdout) or 2 (stderr), as in the attach frames.
    pub fn write(&mut self, stream: u8, mut data: &[u8]) {
        let idx = usize::from(stream == 2);
        let mut out = Vec::new();
        let time = now_rfc3339();
        while let Some(nl) = data.iter().position(|&b| b == b'\n') {
            let buf = &mut self.partial[idx];
            buf.extend_from_slice(&data[..=nl]);
            encode(&mut out, buf, stream, &time);
            buf.clear();
            data = &data[nl + 1..];
        }
        let buf = &mut self.partial[idx];
        buf.extend_from_slice(data);
        if buf.len() >= MAX_PARTIAL {
            encode(&mut out, buf, stream, &time);
            buf.clear();
        }
        self.emit(&out);
    }

    /// Writes what is left of unterminated lines (the streams ended).
    pub fn flush(&mut self) {
        let time = now_rfc3339();
        let mut out = Vec::new();
        for (idx, stream) in [(0usize, 1u8), (1, 2)] {
            if !self.partial[idx].is_empty() {
                encode(&mut out, &self.partial[idx], stream, &time);
                self.partial[idx].clear();
            }
        }
        self.emit(&out);
    }

    fn emit(&mut self, out: &[u8]) {
        if out.is_empty() {
            return;
        }
        // A full disk must not take the container down; the entry is lost and the reason logged.
        if let Err(e) = self.file.write_all(out) {
            eprintln!("rdocker-shim: write log: {e}");
        }
    }
}

fn encode(out: &mut Vec<u8>, line: &[u8], stream: u8, time: &str) {
    let text = String::from_utf8_lossy(line);
    let entry = Entry {
        log: &text,
        stream: if stream == 2 { "stderr" } else { "stdout" },
        time,
    };
    if serde_json::to_writer(&mut *out, &entry).is_ok() {
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(p: &Path) -> Vec<serde_json::Value> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn splits_lines_and_keeps_partials_per_stream() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c-json.log");
        let mut w = LogWriter::open(&p).unwrap();
        w.write(1, b"he");
        w.write(2, b"oops\n");
        w.write(1, b"llo\nwor");
        w.flush();
        let l = lines(&p);
        assert_eq!(l.len(), 3);
        assert_eq!(l[0]["log"], "oops\n");
        assert_eq!(l[0]["stream"], "stderr");
        assert_eq!(l[1]["log"], "hello\n");
        assert_eq!(l[1]["stream"], "stdout");
        assert_eq!(l[2]["log"], "wor");
        assert!(l[2]["time"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn long_partial_line_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c-json.log");
        let mut w = LogWriter::open(&p).unwrap();
        w.write(1, &vec![b'x'; MAX_PARTIAL + 10]);
        assert_eq!(lines(&p).len(), 1);
    }
}
