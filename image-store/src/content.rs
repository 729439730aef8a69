//! Content-addressed blob store: `blobs/sha256/<hex>` holds manifests and image configs,
//! verified. A blob is written to `blobs/tmp/` while its sha256 is computed and renamed into
//! place only once digest AND size match the descriptor, so a visible blob is always correct.
//!
//! Compressed layers are *not* kept here (see `pull.rs`): they are unpacked while streaming
//! and the unpacked tree, identified by its diff_id, is what containers use.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::io_err;
use crate::fsutil::{fsync_dir, unique_name};
use crate::reference::validate_digest;
use crate::StoreError;

#[derive(Debug, Clone)]
pub struct ContentStore {
    dir: PathBuf,
}

impl ContentStore {
    /// `dir` is `<root>/blobs`.
    pub fn new(dir: PathBuf) -> ContentStore {
        ContentStore { dir }
    }

    pub fn init(&self) -> Result<(), StoreError> {
        for d in [self.dir.join("sha256"), self.tmp_dir()] {
            fs::create_dir_all(&d).map_err(io_err("mkdir", &d))?;
        }
        Ok(())
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    /// Path of a committed blob; only `sha256:<64 lower hex>` is accepted, so a digest from a
    /// manifest can never name a path outside the store.
    pub fn path(&self, digest: &str) -> Result<PathBuf, StoreError> {
        match digest.split_once(':') {
            Some(("sha256", hex)) if validate_digest(digest).is_ok() => {
                Ok(self.dir.join("sha256").join(hex))
            }
            _ => Err(StoreError::UnsupportedManifest(format!(
                "digest {digest} (only sha256 is supported)"
            ))),
        }
    }

    pub fn exists(&self, digest: &str) -> bool {
        self.path(digest).map(|p| p.is_file()).unwrap_or(false)
    }

    pub fn read(&self, digest: &str) -> Result<Vec<u8>, StoreError> {
        let p = self.path(digest)?;
        fs::read(&p).map_err(io_err("read", p))
    }

    pub fn writer(&self, digest: &str, size: u64) -> Result<BlobWriter, StoreError> {
        let dest = self.path(digest)?;
        let tmp = self.tmp_dir().join(unique_name("blob-"));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io_err("open", &tmp))?;
        Ok(BlobWriter {
            file: Some(file),
            tmp,
            dest,
            hasher: Sha256::new(),
            written: 0,
            size,
            digest: digest.to_string(),
        })
    }

    /// Verifies and stores a blob held in memory (manifests, configs).
    pub fn put(&self, digest: &str, bytes: &[u8]) -> Result<(), StoreError> {
        if self.exists(digest) {
            return Ok(());
        }
        let mut w = self.writer(digest, bytes.len() as u64)?;
        w.write(bytes)?;
        w.commit()
    }

    pub fn delete(&self, digest: &str) -> Result<bool, StoreError> {
        let p = self.path(digest)?;
        match fs::remove_file(&p) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StoreError::io("remove", p, e)),
        }
    }

    /// Digests of all committed blobs.
    pub fn list(&self) -> Result<Vec<String>, StoreError> {
        let d = self.dir.join("sha256");
        let mut out = Vec::new();
        for e in fs::read_dir(&d).map_err(io_err("read dir", &d))? {
            let e = e.map_err(io_err("read dir", &d))?;
            if let Some(name) = e.file_name().to_str() {
                out.push(format!("sha256:{name}"));
            }
        }
        Ok(out)
    }
}

pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// An uncommitted blob. Dropping it without `commit` removes the temp file.
pub struct BlobWriter {
    file: Option<File>,
    tmp: PathBuf,
    dest: PathBuf,
    hasher: Sha256,
    written: u64,
    size: u64,
    digest: String,
}

impl BlobWriter {
    /// Refuses to go beyond the declared size: a registry sending more is broken or hostile,
    /// and we must not fill the disk for it.
    pub fn write(&mut self, buf: &[u8]) -> Result<(), StoreError> {
        if self.written + buf.len() as u64 > self.size {
            return Err(StoreError::BlobTooLong {
                digest: self.digest.clone(),
                expected: self.size,
            });
        }
        self.hasher.update(buf);
        self.written += buf.len() as u64;
        match self.file.as_mut() {
            Some(f) => f.write_all(buf).map_err(io_err("write", &self.tmp)),
            None => Ok(()),
        }
    }

    pub fn commit(mut self) -> Result<(), StoreError> {
        if self.written != self.size {
            return Err(StoreError::BlobTooShort {
                digest: self.digest.clone(),
                expected: self.size,
                actual: self.written,
            });
        }
        let actual = format!("sha256:{}", hex::encode(self.hasher.clone().finalize()));
        if actual != self.digest {
            return Err(StoreError::DigestMismatch {
                digest: self.digest.clone(),
                actual,
            });
        }
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        file.sync_all().map_err(io_err("fsync", &self.tmp))?;
        drop(file);
        fs::rename(&self.tmp, &self.dest).map_err(io_err("rename", &self.dest))?;
        self.tmp = PathBuf::new();
        fsync_dir(self.dest.parent().unwrap_or(Path::new("/")))
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, ContentStore) {
        let t = tempfile::tempdir().unwrap();
        let s = ContentStore::new(t.path().join("blobs"));
        s.init().unwrap();
        (t, s)
    }

    fn tmp_is_empty(s: &ContentStore) -> bool {
        fs::read_dir(s.tmp_dir()).unwrap().next().is_none()
    }

    #[test]
    fn commit_verifies_and_publishes() {
        let (_t, s) = store();
        let d = sha256_digest(b"hello");
        s.put(&d, b"hello").unwrap();
        assert!(s.exists(&d));
        assert_eq!(s.read(&d).unwrap(), b"hello");
        assert_eq!(s.list().unwrap(), vec![d.clone()]);
        assert!(tmp_is_empty(&s));
        assert!(s.delete(&d).unwrap());
        assert!(!s.exists(&d));
    }

    #[test]
    fn digest_mismatch_is_refused() {
        let (_t, s) = store();
        let d = sha256_digest(b"hello");
        let e = s.put(&d, b"hellO").unwrap_err();
        assert!(matches!(e, StoreError::DigestMismatch { .. }));
        assert!(e.to_string().contains(&d), "{e}");
        assert!(!s.exists(&d));
        assert!(tmp_is_empty(&s));
    }

    #[test]
    fn too_long_and_too_short() {
        let (_t, s) = store();
        let d = sha256_digest(b"hello");
        let mut w = s.writer(&d, 5).unwrap();
        w.write(b"hel").unwrap();
        let e = w.write(b"lo!").unwrap_err();
        assert!(matches!(e, StoreError::BlobTooLong { .. }));
        assert!(e.to_string().contains(&d));
        drop(w);
        let mut w = s.writer(&d, 5).unwrap();
        w.write(b"hell").unwrap();
        let e = w.commit().unwrap_err();
        assert!(
            matches!(e, StoreError::BlobTooShort { actual: 4, .. }),
            "{e}"
        );
        assert!(!s.exists(&d));
        assert!(tmp_is_empty(&s));
    }

    #[test]
    fn rejects_non_sha256_digests() {
        let (_t, s) = store();
        assert!(s.path("sha256:../../etc").is_err());
        assert!(s.path("md5:abc").is_err());
    }
}
