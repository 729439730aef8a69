//! The malicious corpus against `unpack_layer`: after every case, the canary outside the layer
//! directories is byte-for-byte unchanged and nothing new exists outside them. Needs root.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::corpus::{self, Expect};
use super::tests::need_root;
use super::*;

/// Everything about one filesystem object that an escape could change.
#[derive(Debug, PartialEq, Eq)]
struct Snap {
    kind: String,
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    ino: u64,
    mtime: (i64, i64),
    content: Vec<u8>,
    xattrs: Vec<(String, Vec<u8>)>,
}

fn snap(p: &Path) -> Snap {
    let m = fs::symlink_metadata(p).expect("lstat");
    let ft = m.file_type();
    let (kind, content) = if ft.is_symlink() {
        (
            "symlink",
            fs::read_link(p)
                .expect("readlink")
                .into_os_string()
                .into_encoded_bytes(),
        )
    } else if ft.is_file() {
        ("file", fs::read(p).expect("read"))
    } else if ft.is_dir() {
        ("dir", Vec::new())
    } else if ft.is_char_device() || ft.is_block_device() {
        ("device", m.rdev().to_le_bytes().to_vec())
    } else {
        ("other", Vec::new())
    };
    let mut xattrs = Vec::new();
    let mut names = vec![0u8; 4096];
    if let Ok(n) = rustix::fs::llistxattr(p, &mut names) {
        for name in names[..n].split(|b| *b == 0).filter(|n| !n.is_empty()) {
            let mut v = vec![0u8; 4096];
            let len = rustix::fs::lgetxattr(p, name, &mut v).unwrap_or(0);
            xattrs.push((
                String::from_utf8_lossy(name).into_owned(),
                v[..len].to_vec(),
            ));
        }
    }
    Snap {
        kind: kind.to_string(),
        mode: m.mode(),
        uid: m.uid(),
        gid: m.gid(),
        nlink: m.nlink(),
        ino: m.ino(),
        mtime: (m.mtime(), m.mtime_nsec()),
        content,
        xattrs,
    }
}

/// Snapshot of the tree at `base`, skipping `skip` (the layer directories).
fn tree(base: &Path, skip: &dyn Fn(&Path) -> bool) -> BTreeMap<PathBuf, Snap> {
    let mut out = BTreeMap::new();
    let mut todo = vec![base.to_path_buf()];
    while let Some(p) = todo.pop() {
        if skip(&p) {
            continue;
        }
        let s = snap(&p);
        if s.kind == "dir" {
            for e in fs::read_dir(&p).expect("readdir") {
                todo.push(e.expect("entry").path());
            }
        }
        out.insert(p, s);
    }
    out
}

/// `<base>/canary` with a file, a second file, a subdirectory and a symlink, with distinctive
/// owners, modes, times and an xattr.
fn make_canary(base: &Path) -> PathBuf {
    let c = base.join("canary");
    fs::create_dir_all(c.join("sub")).expect("canary");
    fs::write(c.join("file"), b"canary\n").expect("canary file");
    fs::write(c.join("victim"), b"victim\n").expect("victim");
    fs::write(c.join("sub/deep"), b"deep\n").expect("deep");
    std::os::unix::fs::symlink("file", c.join("link")).expect("link");
    for (p, mode) in [
        ("file", 0o640),
        ("victim", 0o600),
        ("sub/deep", 0o644),
        ("sub", 0o750),
        ("", 0o755),
    ] {
        let p = c.join(p);
        rustix::fs::chown(
            &p,
            Some(rustix::fs::Uid::from_raw(123)),
            Some(rustix::fs::Gid::from_raw(456)),
        )
        .expect("chown");
        rustix::fs::chmod(&p, rustix::fs::Mode::from_raw_mode(mode)).expect("chmod");
    }
    rustix::fs::setxattr(
        c.join("file"),
        "user.canary",
        b"1",
        rustix::fs::XattrFlags::empty(),
    )
    .expect("xattr");
    let t = rustix::fs::Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: 1_234_567_890,
            tv_nsec: 0,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: 1_234_567_890,
            tv_nsec: 0,
        },
    };
    for p in ["file", "victim", "sub/deep", "sub", ""] {
        rustix::fs::utimensat(rustix::fs::CWD, c.join(p), &t, rustix::fs::AtFlags::empty())
            .expect("utimes");
    }
    c
}

fn small_limits() -> UnpackLimits {
    UnpackLimits {
        max_unpacked_bytes: 64 << 20,
        max_ratio: 100,
    }
}

fn host_files() -> Vec<(PathBuf, Snap)> {
    ["/etc/passwd", "/etc/shadow", "/tmp"]
        .iter()
        .filter(|p| Path::new(p).exists())
        .map(|p| {
            let mut s = snap(Path::new(p));
            if s.kind == "dir" {
                s.mtime = (0, 0); // /tmp changes under other processes
                s.nlink = 0;
            }
            (PathBuf::from(p), s)
        })
        .collect()
}

#[test]
fn malicious_corpus_stays_contained() {
    check_corpus();
}

/// The same corpus with the component-wise fallback of kernels without `openat2`.
#[test]
fn malicious_corpus_stays_contained_without_openat2() {
    super::resolve::FORCE_WALK.with(|f| f.set(true));
    check_corpus();
}

fn check_corpus() {
    need_root();
    let escape_existed = Path::new("/tmp/escape").exists();
    let host_before = host_files();
    let mut failures = Vec::new();
    let cases = corpus::malicious_layers_for(Path::new("/placeholder")).len();
    assert!(cases >= 46, "corpus has {cases} cases");
    for i in 0..cases {
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = tmp.path();
        let canary = make_canary(base);
        fs::create_dir(base.join("root")).expect("root");
        let case = corpus::malicious_layers_for(&canary).swap_remove(i);
        let layers_dir = base.join("root");
        // Made beforehand so that creating them does not change `root`'s own metadata.
        for n in 0..case.layers.len() {
            fs::create_dir(layers_dir.join(format!("layer{n}"))).expect("layer dir");
        }
        let skip = |p: &Path| {
            p.parent() == Some(layers_dir.as_path())
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("layer"))
        };
        let before = tree(base, &skip);

        let mut errors = Vec::new();
        for (n, layer) in case.layers.iter().enumerate() {
            let dest = layers_dir.join(format!("layer{n}"));
            if let Err(e) =
                unpack_layer(layer.as_slice(), Compression::None, &dest, &small_limits())
            {
                errors.push(format!("layer{n}: {e}"));
            }
        }
        let after = tree(base, &skip);
        if before != after {
            let changed: Vec<_> = after
                .iter()
                .filter(|(p, s)| before.get(*p) != Some(s))
                .map(|(p, _)| p.clone())
                .collect();
            let gone: Vec<_> = before
                .keys()
                .filter(|p| !after.contains_key(*p))
                .cloned()
                .collect();
            failures.push(format!(
                "{}: outside changed: {changed:?}, gone: {gone:?}",
                case.name
            ));
        }
        if case.expect == Expect::Refused && errors.is_empty() {
            failures.push(format!(
                "{}: expected a refusal, unpack succeeded",
                case.name
            ));
        }
        println!(
            "{:32} {:?}: {}",
            case.name,
            case.expect,
            if errors.is_empty() {
                "ok".to_string()
            } else {
                errors.join("; ")
            }
        );
    }
    assert_eq!(host_files(), host_before, "host files changed");
    if !escape_existed {
        assert!(!Path::new("/tmp/escape").exists(), "/tmp/escape created");
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Unpacks one corpus case into `<tmp>/root/layerN`, returning the layer dirs and results.
fn run_case(name: &str, base: &Path) -> Vec<(PathBuf, Result<UnpackOutcome, UnpackError>)> {
    let canary = make_canary(base);
    let case = corpus::malicious_layers_for(&canary)
        .into_iter()
        .find(|c| c.name == name)
        .expect("case");
    case.layers
        .iter()
        .enumerate()
        .map(|(n, l)| {
            let dest = base.join("root").join(format!("layer{n}"));
            let r = unpack_layer(l.as_slice(), Compression::None, &dest, &small_limits());
            (dest, r)
        })
        .collect()
}

#[test]
fn error_is_send_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<UnpackError>();
}

#[test]
fn corpus_specific_outcomes() {
    need_root();
    let tmp = tempfile::tempdir().expect("tempdir");
    // Layer 2 does not see layer 1's symlink: it gets a real directory.
    let r = run_case("symlink-earlier-layer", &tmp.path().join("a"));
    r[1].1.as_ref().expect("layer 2");
    assert!(fs::symlink_metadata(r[1].0.join("evil"))
        .expect("evil")
        .is_dir());
    assert_eq!(fs::read(r[1].0.join("evil/file")).expect("file"), b"pwned");

    // The entries replace the symlinks instead of chmod-ing their targets.
    let r = run_case("chmod-through-symlink", &tmp.path().join("b"));
    r[0].1.as_ref().expect("unpack");
    let s = fs::symlink_metadata(r[0].0.join("s")).expect("s");
    assert!(s.is_file());
    assert_eq!((s.mode() & 0o7777, s.uid()), (0o4777, 1000));
    let sd = fs::symlink_metadata(r[0].0.join("sd")).expect("sd");
    assert!(sd.is_dir());
    assert_eq!(sd.mode() & 0o7777, 0o777);

    // The host's disk as a device node inside the layer is fine.
    let r = run_case("blockdev-inside", &tmp.path().join("c"));
    r[0].1.as_ref().expect("unpack");
    assert!(fs::symlink_metadata(r[0].0.join("disk"))
        .expect("disk")
        .file_type()
        .is_block_device());

    // A hardlink to a symlink links the symlink; the later file entry replaces the link.
    let r = run_case("hardlink-to-symlink-out", &tmp.path().join("d"));
    r[0].1.as_ref().expect("unpack");
    assert!(fs::symlink_metadata(r[0].0.join("s"))
        .expect("s")
        .file_type()
        .is_symlink());
    assert_eq!(fs::read(r[0].0.join("h")).expect("h"), b"pwned");

    // A symlink to `/` resolves to the layer root.
    let r = run_case("symlink-to-self-dir-write", &tmp.path().join("h"));
    r[0].1.as_ref().expect("unpack");
    assert!(r[0].0.join("escape").is_file() && r[0].0.join("escape2").is_file());

    // A write through a symlink to a missing directory is a typed error.
    let r = run_case("symlink-abs-write", &tmp.path().join("i"));
    assert!(
        matches!(r[0].1, Err(UnpackError::NotADirectory { .. })),
        "{:?}",
        r[0].1
    );

    // Typed errors for the refusals.
    let r = run_case("long-path", &tmp.path().join("e"));
    assert!(
        matches!(
            r[0].1,
            Err(UnpackError::InvalidPath {
                reason: PathProblem::TooLong,
                ..
            })
        ),
        "{:?}",
        r[0].1
    );
    let r = run_case("long-component", &tmp.path().join("f"));
    assert!(
        matches!(
            r[0].1,
            Err(UnpackError::InvalidPath {
                reason: PathProblem::ComponentTooLong,
                ..
            })
        ),
        "{:?}",
        r[0].1
    );
    let r = run_case("pax-path-dotdot", &tmp.path().join("g"));
    assert!(
        matches!(
            r[0].1,
            Err(UnpackError::InvalidPath {
                reason: PathProblem::ParentComponent,
                ..
            })
        ),
        "{:?}",
        r[0].1
    );
}

#[test]
fn size_limit_stops_gzip_and_zstd() {
    need_root();
    let tmp = tempfile::tempdir().expect("tempdir");
    let limits = UnpackLimits {
        max_unpacked_bytes: 16 << 20,
        max_ratio: 1000,
    };
    for comp in [Compression::Gzip, Compression::Zstd] {
        let t = Instant::now();
        let blob = corpus::zeros_layer(comp, 24 << 20).expect("bomb");
        let dest = tmp.path().join(format!("{comp:?}"));
        let err = unpack_layer(blob.as_slice(), comp, &dest, &limits).expect_err("too large");
        assert!(
            matches!(err, UnpackError::TooLarge { limit } if limit == 16 << 20),
            "{err}"
        );
        println!(
            "{comp:?}: {} compressed bytes, refused in {:?}",
            blob.len(),
            t.elapsed()
        );
    }
}

/// The ratio guard, with its 1 GiB grace lowered to 8 MiB so the test inflates little.
#[test]
fn ratio_limit_stops_bombs() {
    need_root();
    let tmp = tempfile::tempdir().expect("tempdir");
    for (comp, max_ratio) in [(Compression::Zstd, 1000), (Compression::Gzip, 100)] {
        let blob = corpus::zeros_layer(comp, 2 << 30).expect("bomb");
        let limits = UnpackLimits {
            max_unpacked_bytes: 64 << 30,
            max_ratio,
        };
        let dest = tmp.path().join(format!("{comp:?}"));
        let err = super::unpack_with_grace(blob.as_slice(), comp, &dest, &limits, 8 << 20)
            .expect_err("bomb");
        match err {
            UnpackError::DecompressionBomb {
                decompressed,
                compressed,
                max_ratio,
            } => {
                assert!(decompressed > 8 << 20 && decompressed > compressed * max_ratio);
                // Decoders read compressed input ahead (zstd: up to 128 KiB), so the ratio is
                // approximate; it must still stop long before the 2 GiB.
                assert!(decompressed < 256 << 20, "stopped early: {decompressed}");
            }
            other => panic!("{comp:?}: expected a bomb, got {other}"),
        }
    }
}

/// The real thing: 2 GiB of zeros with default limits. Slow in debug builds.
#[test]
#[ignore]
fn ratio_limit_stops_2gib_bomb_default_limits() {
    need_root();
    let tmp = tempfile::tempdir().expect("tempdir");
    let blob = corpus::zeros_layer(Compression::Zstd, 2 << 30).expect("bomb");
    let err = unpack_layer(
        blob.as_slice(),
        Compression::Zstd,
        tmp.path(),
        &UnpackLimits::default(),
    )
    .expect_err("bomb");
    assert!(
        matches!(err, UnpackError::DecompressionBomb { .. }),
        "{err}"
    );
}

#[test]
fn huge_long_name_hits_header_budget() {
    need_root();
    let tmp = tempfile::tempdir().expect("tempdir");
    let blob = corpus::long_name_bomb(32 << 20).expect("bomb");
    let err = unpack_layer(
        blob.as_slice(),
        Compression::Gzip,
        tmp.path(),
        &small_limits(),
    )
    .expect_err("bomb");
    assert!(matches!(err, UnpackError::HeaderTooLarge { .. }), "{err}");
}
