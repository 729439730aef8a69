//! Docker's stdcopy: without a TTY, attach, logs and exec multiplex stdout and stderr on
//! one stream as frames of an 8-byte header (stream type, three zero bytes, big-endian
//! u32 length) followed by the payload.

use std::io::{self, Read, Write};

/// Stream types of the frame header.
const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
/// The daemon's own error, sent in-band (docker's Systemerr).
const SYSTEMERR: u8 = 3;

#[derive(Debug, thiserror::Error)]
pub enum DemuxError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("Unrecognized input header: {0}")]
    BadStream(u8),
    #[error("error from daemon in stream: {0}")]
    Daemon(String),
}

/// Copies frames from `src` to `stdout`/`stderr` until EOF, flushing each frame so that
/// interleaving and interactivity are kept. A stream cut inside a frame ends quietly with
/// what arrived, as docker's StdCopy does on EOF.
pub fn demux<R: Read, O: Write, E: Write>(
    src: &mut R,
    stdout: &mut O,
    stderr: &mut E,
) -> Result<(), DemuxError> {
    let mut header = [0u8; 8];
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        if !read_full(src, &mut header)? {
            return Ok(());
        }
        let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let mut left = len;
        let mut sys = Vec::new();
        while left > 0 {
            let want = left.min(buf.len());
            let n = match src.read(&mut buf[..want]) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            left -= n;
            match header[0] {
                STDIN | STDOUT => stdout.write_all(&buf[..n])?,
                STDERR => stderr.write_all(&buf[..n])?,
                SYSTEMERR => sys.extend_from_slice(&buf[..n]),
                other => return Err(DemuxError::BadStream(other)),
            }
        }
        match header[0] {
            STDERR => stderr.flush()?,
            SYSTEMERR => {
                return Err(DemuxError::Daemon(
                    String::from_utf8_lossy(&sys).into_owned(),
                ))
            }
            STDIN | STDOUT => stdout.flush()?,
            other => return Err(DemuxError::BadStream(other)),
        }
    }
}

/// Fills `buf` completely; false on EOF before the first byte (or mid-header, which
/// a closed stream can leave behind).
fn read_full<R: Read>(src: &mut R, buf: &mut [u8]) -> io::Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match src.read(&mut buf[got..]) {
            Ok(0) => return Ok(false),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Copies a raw (TTY) stream to `out`, flushing after every read.
pub fn copy_raw<R: Read, W: Write>(src: &mut R, out: &mut W) -> io::Result<()> {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        out.write_all(&buf[..n])?;
        out.flush()?;
    }
}

#[cfg(test)]
pub fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![stream, 0, 0, 0];
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out at most `step` bytes per read, to split headers and payloads.
    struct Trickle(Vec<u8>, usize, usize);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.2).min(self.0.len() - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }

    #[test]
    fn splits_stdout_and_stderr_whatever_the_read_sizes() {
        let mut raw = frame(1, b"out1\n");
        raw.extend(frame(2, b"err1\n"));
        raw.extend(frame(1, &vec![b'x'; 70_000]));
        raw.extend(frame(2, b""));
        raw.extend(frame(1, b"end"));
        for step in [1, 3, 8, 9, 4096, 1 << 20] {
            let (mut o, mut e) = (Vec::new(), Vec::new());
            demux(&mut Trickle(raw.clone(), 0, step), &mut o, &mut e).unwrap();
            let mut want = b"out1\n".to_vec();
            want.extend(vec![b'x'; 70_000]);
            want.extend(b"end");
            assert_eq!(o, want, "step {step}");
            assert_eq!(e, b"err1\n");
        }
    }

    #[test]
    fn truncated_stream_keeps_what_arrived() {
        let mut raw = frame(1, b"complete");
        raw.extend(&frame(2, b"partial-frame")[..12]);
        let (mut o, mut e) = (Vec::new(), Vec::new());
        demux(&mut &raw[..], &mut o, &mut e).unwrap();
        assert_eq!(o, b"complete");
        assert_eq!(e, b"part");
    }

    #[test]
    fn bad_stream_type_and_daemon_error() {
        let raw = frame(7, b"?");
        let err = demux(&mut &raw[..], &mut Vec::new(), &mut Vec::new()).unwrap_err();
        assert_eq!(err.to_string(), "Unrecognized input header: 7");
        let raw = frame(3, b"boom");
        let err = demux(&mut &raw[..], &mut Vec::new(), &mut Vec::new()).unwrap_err();
        assert_eq!(err.to_string(), "error from daemon in stream: boom");
    }
}
