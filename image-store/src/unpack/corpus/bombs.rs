//! Layers that are hostile by size rather than by name, and the diff_id mismatch case.

use std::io::{self, Write};

use super::super::rawtar::{header, kind, RawEntry, RawTar};
use super::super::Compression;

/// A tar whose diff_id the image config would state wrongly: returns the tar and the claimed
/// (wrong) diff_id; the unpack reports the real one and the caller must compare.
pub fn diff_id_mismatch_layer() -> (Vec<u8>, String) {
    let tar = RawTar::new().file("etc/motd", b"real content\n").finish();
    let claimed = RawTar::new()
        .file("etc/motd", b"claimed content\n")
        .finish();
    (tar, sha256_hex(&claimed))
}

/// `"sha256:<hex>"` of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Compressed layers that expand to a tar holding `zeros` zero bytes (a file `zeros`), built
/// cheaply without materializing the tar: one compressed member (gzip) or frame (zstd) of 1 MiB
/// of zeros, repeated — both decoders read concatenated members/frames as one stream. A
/// decompression bomb for `zeros` of a few GiB, in a few KiB (zstd) or ~1 MiB per GiB (gzip).
pub fn zeros_layer(compression: Compression, zeros: u64) -> io::Result<Vec<u8>> {
    const CHUNK: u64 = 1 << 20;
    let mut hdr = RawTar::new();
    let mut e = RawEntry::new(b"zeros", kind::FILE);
    e.size_override = Some(zeros);
    hdr.push(&e);
    let head = hdr.finish();
    let head = &head[..512];
    let tail = zeros % CHUNK + (512 - zeros % 512) % 512 + 1024;
    let chunk = vec![0u8; CHUNK as usize];
    let tail = vec![0u8; tail as usize];
    let compress = |data: &[u8]| -> io::Result<Vec<u8>> {
        match compression {
            Compression::Gzip => {
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                enc.write_all(data)?;
                enc.finish()
            }
            Compression::Zstd => zstd::stream::encode_all(data, 19),
            Compression::None => Err(io::Error::other("an uncompressed bomb is just a big file")),
        }
    };
    let mut out = compress(head)?;
    let chunk = compress(&chunk)?;
    for _ in 0..zeros / CHUNK {
        out.extend_from_slice(&chunk);
    }
    out.extend_from_slice(&compress(&tail)?);
    Ok(out)
}

/// A gzip layer whose single GNU long-name entry is `len` bytes: the tar parser would hold it in
/// memory, so it must be stopped by the header budget.
pub fn long_name_bomb(len: u64) -> io::Result<Vec<u8>> {
    let h = header(
        b"././@LongLink",
        kind::GNU_LONGNAME,
        0o644,
        0,
        0,
        0,
        b"",
        len,
        (0, 0),
    );
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // 'a' bytes rather than zeros, so the name is not cut at a NUL early.
    enc.write_all(&h)?;
    io::copy(&mut io::repeat(b'a').take_bytes(len), &mut enc)?;
    enc.finish()
}

/// `Read::take` under a name that does not clash with `Write` in scope.
trait TakeBytes: io::Read + Sized {
    fn take_bytes(self, n: u64) -> io::Take<Self> {
        io::Read::take(self, n)
    }
}
impl<R: io::Read> TakeBytes for R {}
