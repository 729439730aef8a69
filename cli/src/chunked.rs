//! `Transfer-Encoding: chunked` (RFC 9112 §7.1), decoded as data arrives.

use std::io::{self, BufRead, Read};

use crate::client::{bad, read_line};

#[derive(Debug, PartialEq)]
enum ChunkState {
    Size,
    Data(u64),
    DataEnd,
    Done,
}

/// Decodes `Transfer-Encoding: chunked` as data arrives: `read` returns a chunk's bytes
/// without waiting for the next chunk header, which keeps pull progress live.
pub struct ChunkedReader<R> {
    inner: R,
    state: ChunkState,
}

impl<R: BufRead> ChunkedReader<R> {
    pub fn new(inner: R) -> Self {
        ChunkedReader {
            inner,
            state: ChunkState::Size,
        }
    }
}

impl<R: BufRead> Read for ChunkedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.state {
                ChunkState::Done => return Ok(0),
                ChunkState::Size => {
                    let line = read_line(&mut self.inner)?;
                    // Chunk extensions (";name=value") carry nothing we use.
                    let hex = line.split(';').next().unwrap_or("").trim();
                    let size = u64::from_str_radix(hex, 16)
                        .map_err(|_| bad(format!("bad chunk size {line:?}")))?;
                    if size == 0 {
                        // Trailer fields until the empty line; none matter to us.
                        while !read_line(&mut self.inner)?.is_empty() {}
                        self.state = ChunkState::Done;
                    } else {
                        self.state = ChunkState::Data(size);
                    }
                }
                ChunkState::Data(left) => {
                    if buf.is_empty() {
                        return Ok(0);
                    }
                    let max = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    let n = self.inner.read(&mut buf[..max])?;
                    if n == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "connection closed in the middle of a chunk",
                        ));
                    }
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(left)
                    };
                    return Ok(n);
                }
                ChunkState::DataEnd => {
                    if !read_line(&mut self.inner)?.is_empty() {
                        return Err(bad("missing CRLF after chunk data".into()));
                    }
                    self.state = ChunkState::Size;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Cursor};

    /// A reader that hands out at most `step` bytes per read, to exercise split frames.
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        step: usize,
    }
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.step).min(self.data.len() - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    #[test]
    fn chunked_body_survives_one_byte_reads() {
        let raw = b"1a\r\nabcdefghijklmnopqrstuvwxyz\r\n3\r\n123\r\n0\r\n\r\n".to_vec();
        for step in [1, 2, 3, 7, 64] {
            let t = Trickle {
                data: raw.clone(),
                pos: 0,
                step,
            };
            let mut r = ChunkedReader::new(BufReader::with_capacity(4, t));
            let mut out = Vec::new();
            let mut small = [0u8; 5];
            loop {
                let n = r.read(&mut small).expect("read");
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&small[..n]);
            }
            assert_eq!(out, b"abcdefghijklmnopqrstuvwxyz123", "step {step}");
        }
    }

    #[test]
    fn chunked_errors_on_truncation_and_garbage() {
        let mut r = ChunkedReader::new(Cursor::new(b"5\r\nhel".to_vec()));
        let mut s = Vec::new();
        assert!(r.read_to_end(&mut s).is_err());
        let mut r = ChunkedReader::new(Cursor::new(b"zz\r\nhello\r\n".to_vec()));
        assert!(r.read_to_end(&mut s).is_err());
        let mut r = ChunkedReader::new(Cursor::new(b"2\r\nhiXX0\r\n\r\n".to_vec()));
        assert!(r.read_to_end(&mut s).is_err());
    }
}
