//! Crafted hostile layers (the section 5), for the tests of `unpack` and, through the
//! `corpus` feature, for the end-to-end fixtures.
//!
//! Absolute paths and symlinks point at a canary directory so a test can prove nothing outside
//! the layer changed: build with [`malicious_layers_for`] and a canary of the test's own, or
//! [`malicious_layers`] for the default `/tmp/rdocker-canary`. Relative escapes assume the layer
//! is unpacked into `<base>/root/layerN` with the canary at `<base>/canary`, so `../../canary`
//! from a layer root is the canary.

use std::path::Path;

use super::rawtar::{kind, RawEntry, RawTar};

mod bombs;
pub use bombs::{diff_id_mismatch_layer, long_name_bomb, sha256_hex, zeros_layer};

pub const DEFAULT_CANARY: &str = "/tmp/rdocker-canary";

pub struct CorpusLayer {
    pub name: &'static str,
    /// Uncompressed tars, applied in order, each into its own directory (as overlay layers).
    pub layers: Vec<Vec<u8>>,
    pub expect: Expect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Unpacking (at least one of the layers) must fail.
    Refused,
    /// May succeed or fail, but nothing outside the layer directories may change.
    Contained,
}

pub fn malicious_layers() -> Vec<CorpusLayer> {
    malicious_layers_for(Path::new(DEFAULT_CANARY))
}

/// The corpus with absolute escapes aimed at `canary` (expected to hold a file `file`).
pub fn malicious_layers_for(canary: &Path) -> Vec<CorpusLayer> {
    let c = canary.to_string_lossy().into_owned();
    let cf = format!("{c}/file");
    let mut v = Vec::new();
    let mut add = |name, expect, layers: Vec<Vec<u8>>| {
        v.push(CorpusLayer {
            name,
            layers,
            expect,
        })
    };
    use Expect::*;

    // `..` in names.
    add(
        "dotdot",
        Refused,
        vec![RawTar::new().file("../escape", b"x").finish()],
    );
    add(
        "dotdot-nested",
        Refused,
        vec![RawTar::new()
            .dir("a/")
            .file("a/../../escape", b"x")
            .finish()],
    );
    add(
        "dotdot-to-canary",
        Refused,
        vec![RawTar::new().file("../../canary/file", b"pwned").finish()],
    );
    add(
        "dotdot-dir",
        Refused,
        vec![RawTar::new().dir("../../canary/newdir/").finish()],
    );
    // Absolute names are relative to the layer root.
    add(
        "absolute",
        Contained,
        vec![RawTar::new()
            .file("/tmp/escape", b"x")
            .file(&cf, b"pwned")
            .finish()],
    );

    // A symlink out, then a write through it, in one layer.
    add(
        "symlink-abs-write",
        Contained,
        vec![RawTar::new()
            .symlink("evil", &c)
            .file("evil/file", b"pwned")
            .file("evil/new", b"x")
            .finish()],
    );
    add(
        "symlink-rel-write",
        Contained,
        vec![RawTar::new()
            .symlink("evil", "../../canary")
            .file("evil/file", b"pwned")
            .finish()],
    );
    add(
        "symlink-abs-mkdir",
        Contained,
        vec![RawTar::new().symlink("evil", &c).dir("evil/sub/").finish()],
    );
    add(
        "symlink-file-overwrite",
        Contained,
        vec![RawTar::new().symlink("f", &cf).file("f", b"pwned").finish()],
    );
    // A symlink in layer 1, a write through it in layer 2 (its own directory: a real dir there).
    add(
        "symlink-earlier-layer",
        Contained,
        vec![
            RawTar::new()
                .symlink("evil", &c)
                .symlink("evil-rel", "../../canary")
                .finish(),
            RawTar::new()
                .file("evil/file", b"pwned")
                .file("evil-rel/file", b"pwned")
                .finish(),
        ],
    );
    // A chain climbing out with relative links.
    add(
        "symlink-chain",
        Contained,
        vec![RawTar::new()
            .symlink("a", "..")
            .symlink("a/b", "../..")
            .file("a/b/canary/file", b"pwned")
            .file("a/b/x", b"x")
            .finish()],
    );
    add(
        "symlink-loop",
        Contained,
        vec![RawTar::new().symlink("l", "l").file("l/x", b"x").finish()],
    );

    // Hardlinks to host paths.
    add(
        "hardlink-abs-host",
        Contained,
        vec![RawTar::new().hardlink("passwd", "/etc/passwd").finish()],
    );
    add(
        "hardlink-rel-host",
        Refused,
        vec![RawTar::new()
            .hardlink("passwd", "../../../../etc/passwd")
            .finish()],
    );
    add(
        "hardlink-abs-canary",
        Contained,
        vec![RawTar::new()
            .hardlink("h", &cf)
            .file("h", b"pwned")
            .finish()],
    );
    add(
        "hardlink-rel-canary",
        Refused,
        vec![RawTar::new().hardlink("h", "../../canary/file").finish()],
    );
    add(
        "hardlink-to-symlink-out",
        Contained,
        vec![RawTar::new()
            .symlink("s", &cf)
            .hardlink("h", "s")
            .file("h", b"pwned")
            .finish()],
    );
    add(
        "hardlink-through-symlink-dir",
        Contained,
        vec![RawTar::new()
            .symlink("d", &c)
            .hardlink("h", "d/file")
            .finish()],
    );
    add(
        "hardlink-to-dir",
        Contained,
        vec![RawTar::new().dir("d/").hardlink("h", "d").finish()],
    );

    // Whiteouts and opaque markers through a symlinked parent.
    add(
        "whiteout-through-symlink",
        Contained,
        vec![RawTar::new()
            .symlink("evil", &c)
            .file("evil/.wh.file", b"")
            .finish()],
    );
    add(
        "whiteout-through-rel-symlink",
        Contained,
        vec![RawTar::new()
            .symlink("evil", "../../canary")
            .file("evil/.wh.file", b"")
            .finish()],
    );
    add(
        "opaque-through-symlink",
        Contained,
        vec![RawTar::new()
            .symlink("evil", &c)
            .file("evil/.wh..wh..opq", b"")
            .finish()],
    );
    add(
        "whiteout-empty-name",
        Refused,
        vec![RawTar::new().file(".wh.", b"").finish()],
    );
    add(
        "whiteout-dotdot",
        Refused,
        vec![RawTar::new().file("a/.wh...", b"").finish()],
    );
    // A layer forging overlay xattrs directly.
    add(
        "forged-overlay-xattr",
        Contained,
        vec![RawTar::new()
            .pax(&[
                ("SCHILY.xattr.trusted.overlay.opaque", b"y"),
                ("SCHILY.xattr.trusted.overlay.redirect", b"/etc"),
            ])
            .dir("d/")
            .finish()],
    );

    // Mode and owner changes through a symlink: the entry replaces the symlink.
    add(
        "chmod-through-symlink",
        Contained,
        vec![{
            let mut t = RawTar::new();
            t.symlink("s", &cf).symlink("sd", &c);
            let mut e = RawEntry::new(b"s", kind::FILE);
            e.mode = 0o4777;
            e.uid = 1000;
            e.gid = 1000;
            t.push(&e);
            let mut d = RawEntry::new(b"sd/", kind::DIR);
            d.mode = 0o777;
            d.uid = 1000;
            t.push(&d);
            t.finish()
        }],
    );

    // Device nodes: the host's disk inside the layer is contained; outside it must not appear.
    let (maj, min) = host_disk();
    let dev = |name: &'static [u8]| {
        let mut e = RawEntry::new(name, kind::BLOCK);
        e.dev = (maj, min);
        e.mode = 0o666;
        e
    };
    add(
        "blockdev-inside",
        Contained,
        vec![RawTar::new().push(&dev(b"disk")).finish()],
    );
    add(
        "blockdev-dotdot",
        Refused,
        vec![RawTar::new().push(&dev(b"../../canary/disk")).finish()],
    );
    add(
        "blockdev-through-symlink",
        Contained,
        vec![{
            let mut t = RawTar::new();
            t.symlink("evil", &c);
            t.push(&dev(b"evil/disk"));
            t.finish()
        }],
    );

    // PAX headers that lie.
    add(
        "pax-path-dotdot",
        Refused,
        vec![RawTar::new()
            .pax(&[("path", b"../../canary/file")])
            .file("innocent", b"pwned")
            .finish()],
    );
    add(
        "pax-path-nul",
        Refused,
        vec![RawTar::new()
            .pax(&[("path", b"a\0b")])
            .file("innocent", b"x")
            .finish()],
    );
    add(
        "pax-linkpath-out",
        Contained,
        vec![RawTar::new()
            .pax(&[("linkpath", c.as_bytes())])
            .symlink("l", "harmless")
            .file("l/file", b"pwned")
            .finish()],
    );
    add(
        "pax-size-larger",
        Contained,
        vec![{
            // The PAX size swallows the next entry (a write to the canary) as content of `a`.
            let mut inner = RawTar::new();
            inner.file("../../canary/file", b"pwned");
            let swallowed = inner.finish();
            let mut t = RawTar::new();
            t.pax(&[("size", swallowed.len().to_string().as_bytes())]);
            let mut e = RawEntry::new(b"a", kind::FILE);
            e.size_override = Some(0);
            t.push(&e).raw(&swallowed);
            t.finish()
        }],
    );
    add(
        "pax-size-smaller",
        Contained,
        vec![{
            let mut t = RawTar::new();
            t.pax(&[("size", b"0")]);
            t.file("a", &header_lookalike(&cf));
            t.finish()
        }],
    );
    add(
        "pax-size-huge",
        Refused,
        vec![RawTar::new()
            .pax(&[("size", b"99999999999")])
            .file("a", b"x")
            .finish()],
    );

    // Names too long for the kernel.
    let deep = vec!["d".repeat(200); 25].join("/");
    add(
        "long-path",
        Refused,
        vec![RawTar::new().file(&deep, b"x").finish()],
    );
    add(
        "long-component",
        Refused,
        vec![RawTar::new()
            .file(&format!("a/{}", "c".repeat(300)), b"x")
            .finish()],
    );
    add(
        "long-name-dotdot",
        Refused,
        vec![RawTar::new()
            .file(
                &format!("{}/../../../canary/file", "x/".repeat(60)),
                b"pwned",
            )
            .finish()],
    );
    add(
        "long-link-out",
        Contained,
        vec![RawTar::new()
            .symlink(
                "l",
                &format!("{}/{}", "/..".repeat(60), c.trim_start_matches('/')),
            )
            .file("l/file", b"pwned")
            .finish()],
    );

    // Odd entry names and replacements.
    add(
        "root-as-symlink",
        Refused,
        vec![RawTar::new().symlink("./", &c).finish()],
    );
    add(
        "opaque-dotdot",
        Refused,
        vec![RawTar::new().file("../.wh..wh..opq", b"").finish()],
    );
    add(
        "whiteout-of-symlink",
        Contained,
        vec![RawTar::new()
            .symlink("evil", &c)
            .file(".wh.evil", b"")
            .finish()],
    );
    add(
        "device-over-symlink",
        Contained,
        vec![RawTar::new()
            .symlink("null", &cf)
            .push(&{
                let mut e = RawEntry::new(b"null", kind::CHAR);
                e.dev = (1, 3);
                e.mode = 0o666;
                e
            })
            .finish()],
    );
    add(
        "fifo-through-symlink",
        Contained,
        vec![RawTar::new()
            .symlink("d", &c)
            .push(&RawEntry::new(b"d/fifo", kind::FIFO))
            .finish()],
    );
    add(
        "symlink-to-self-dir-write",
        Contained,
        vec![RawTar::new()
            .symlink("s", "/")
            .file("s/escape", b"x")
            .symlink("t", ".")
            .file("t/t/t/escape2", b"x")
            .finish()],
    );
    add(
        "hardlink-via-rel-symlink",
        Contained,
        vec![RawTar::new()
            .symlink("up", "../../canary")
            .hardlink("h", "up/file")
            .finish()],
    );
    v
}

/// A block that would parse as a header writing to the canary, used as file content.
fn header_lookalike(target: &str) -> Vec<u8> {
    let mut t = RawTar::new();
    t.file(target, b"pwned");
    t.finish()
}

/// Major and minor of the device holding `/` (the host's disk), or 8:0 if it cannot be read.
fn host_disk() -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata("/") {
        Ok(m) => (rustix::fs::major(m.dev()), rustix::fs::minor(m.dev())),
        Err(_) => (8, 0),
    }
}
