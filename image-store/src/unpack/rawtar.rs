//! A tar writer that writes whatever names it is given — `..`, absolute paths, NUL bytes,
//! lying PAX records — which `tar::Builder` (rightly) refuses. Test and corpus use only.

/// Tar type flags.
pub mod kind {
    pub const FILE: u8 = b'0';
    pub const HARDLINK: u8 = b'1';
    pub const SYMLINK: u8 = b'2';
    pub const CHAR: u8 = b'3';
    pub const BLOCK: u8 = b'4';
    pub const DIR: u8 = b'5';
    pub const FIFO: u8 = b'6';
    pub const PAX: u8 = b'x';
    pub const GNU_LONGNAME: u8 = b'L';
    pub const GNU_LONGLINK: u8 = b'K';
}

/// Fields of one raw entry; `RawEntry::new` gives root-owned, mode 0644, mtime 1_600_000_000.
#[derive(Debug, Clone)]
pub struct RawEntry<'a> {
    pub name: &'a [u8],
    pub kind: u8,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub link: &'a [u8],
    pub data: &'a [u8],
    /// Written into the header's size field instead of `data.len()` (a lying header).
    pub size_override: Option<u64>,
    pub dev: (u32, u32),
}

impl<'a> RawEntry<'a> {
    pub fn new(name: &'a [u8], kind: u8) -> RawEntry<'a> {
        let mode = match kind {
            kind::DIR => 0o755,
            kind::SYMLINK => 0o777,
            _ => 0o644,
        };
        RawEntry {
            name,
            kind,
            mode,
            uid: 0,
            gid: 0,
            mtime: 1_600_000_000,
            link: b"",
            data: b"",
            size_override: None,
            dev: (0, 0),
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct RawTar {
    buf: Vec<u8>,
}

impl RawTar {
    pub fn new() -> RawTar {
        RawTar::default()
    }

    /// Appends an entry; names and link targets over 100 bytes get GNU long-name entries.
    pub fn push(&mut self, e: &RawEntry<'_>) -> &mut RawTar {
        if e.name.len() > 100 {
            self.long(kind::GNU_LONGNAME, e.name);
        }
        if e.link.len() > 100 {
            self.long(kind::GNU_LONGLINK, e.link);
        }
        let size = e.size_override.unwrap_or(e.data.len() as u64);
        let h = header(
            e.name, e.kind, e.mode, e.uid, e.gid, e.mtime, e.link, size, e.dev,
        );
        self.buf.extend_from_slice(&h);
        self.data(e.data);
        self
    }

    pub fn file(&mut self, name: &str, data: &[u8]) -> &mut RawTar {
        let mut e = RawEntry::new(name.as_bytes(), kind::FILE);
        e.data = data;
        self.push(&e)
    }

    pub fn dir(&mut self, name: &str) -> &mut RawTar {
        self.push(&RawEntry::new(name.as_bytes(), kind::DIR))
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut RawTar {
        let mut e = RawEntry::new(name.as_bytes(), kind::SYMLINK);
        e.link = target.as_bytes();
        self.push(&e)
    }

    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut RawTar {
        let mut e = RawEntry::new(name.as_bytes(), kind::HARDLINK);
        e.link = target.as_bytes();
        self.push(&e)
    }

    /// A PAX extended header (`x`) applying to the next entry.
    pub fn pax(&mut self, records: &[(&str, &[u8])]) -> &mut RawTar {
        let mut body = Vec::new();
        for (k, v) in records {
            // "<len> <key>=<value>\n" where <len> counts itself.
            let rest = k.len() + v.len() + 3;
            let mut len = rest + rest.to_string().len();
            if len.to_string().len() != rest.to_string().len() {
                len += 1;
            }
            body.extend_from_slice(format!("{len} {k}=").as_bytes());
            body.extend_from_slice(v);
            body.push(b'\n');
        }
        let h = header(
            b"././@PaxHeader",
            kind::PAX,
            0o644,
            0,
            0,
            0,
            b"",
            body.len() as u64,
            (0, 0),
        );
        self.buf.extend_from_slice(&h);
        self.data(&body);
        self
    }

    /// Raw bytes, for framing tricks.
    pub fn raw(&mut self, bytes: &[u8]) -> &mut RawTar {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// The archive with its end marker (two zero blocks).
    pub fn finish(&self) -> Vec<u8> {
        let mut out = self.buf.clone();
        out.extend_from_slice(&[0u8; 1024]);
        out
    }

    fn long(&mut self, k: u8, value: &[u8]) {
        let mut body = value.to_vec();
        body.push(0);
        let h = header(
            b"././@LongLink",
            k,
            0o644,
            0,
            0,
            0,
            b"",
            body.len() as u64,
            (0, 0),
        );
        self.buf.extend_from_slice(&h);
        self.data(&body);
    }

    fn data(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.buf.extend(std::iter::repeat_n(0u8, pad));
    }
}

/// One GNU-format header block. Names longer than the field are cut (the long-name entry before
/// it carries the full name), which is what GNU tar writes too.
#[allow(clippy::too_many_arguments)]
pub fn header(
    name: &[u8],
    k: u8,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    link: &[u8],
    size: u64,
    dev: (u32, u32),
) -> [u8; 512] {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::new(k));
    h.set_mode(mode);
    h.set_uid(uid);
    h.set_gid(gid);
    h.set_mtime(mtime);
    h.set_size(size);
    if matches!(k, kind::CHAR | kind::BLOCK) {
        // Errors only for values that do not fit the field; the corpus uses small numbers.
        let _ = h.set_device_major(dev.0);
        let _ = h.set_device_minor(dev.1);
    }
    let bytes = h.as_mut_bytes();
    let n = name.len().min(100);
    bytes[..n].copy_from_slice(&name[..n]);
    let l = link.len().min(100);
    bytes[157..157 + l].copy_from_slice(&link[..l]);
    h.set_cksum();
    let mut out = [0u8; 512];
    out.copy_from_slice(h.as_bytes());
    out
}
