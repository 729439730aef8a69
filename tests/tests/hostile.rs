//! Hostile images: image-store's malicious-layer corpus (path escapes, symlink and hardlink
//! tricks, devices, pax games) aimed at a canary directory outside the data root, and
//! manifests that lie about their blobs. Nothing outside the data root may change, refused
//! pulls record nothing, and the daemon keeps answering.

#[cfg(feature = "evil")]
use std::path::{Path, PathBuf};

use rdocker_tests::e2e::{self, short};
use rdocker_tests::fixtures::{self, evil};
use rdocker_tests::{require_root, RegistryAuth, TestDaemon, TestRegistry};

/// The corpus comes from image-store's `corpus` feature (our feature `evil`).
#[cfg(feature = "evil")]
mod corpus {
    use super::*;

    /// A canary dir of our own (the corpus aims absolute paths at it), holding `file`.
    struct Canary(PathBuf);

    impl Canary {
        fn new() -> Canary {
            let p = PathBuf::from(format!("/tmp/rdocker-canary-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(p.join("sub")).unwrap();
            std::fs::write(p.join("file"), b"canary: must never change\n").unwrap();
            std::fs::write(p.join("sub/deep"), b"deep\n").unwrap();
            Canary(p)
        }
    }

    impl Drop for Canary {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Host files the corpus aims at besides the canary.
    fn host_state() -> Vec<(PathBuf, Option<String>)> {
        ["/etc/passwd", "/tmp/escape", "/escape"]
            .iter()
            .map(|p| (PathBuf::from(p), e2e::file_sha256(Path::new(p))))
            .collect()
    }

    /// Layer files that are the same inode as a host file outside the data root (a hardlink
    /// escape: writing through the container would write the host's file).
    fn host_hardlinks(root: &Path, canary: &Path) -> Vec<String> {
        use std::os::unix::fs::MetadataExt;
        let mut host = std::collections::HashSet::new();
        let mut add = |p: &Path, m: &std::fs::Metadata| {
            if m.is_file() {
                host.insert((m.dev(), m.ino()));
            }
            let _ = p;
        };
        e2e::walk(canary, &mut add);
        for p in ["/etc/passwd", "/etc/shadow", "/etc/hosts"] {
            if let Ok(m) = std::fs::symlink_metadata(p) {
                add(Path::new(p), &m);
            }
        }
        let mut found = Vec::new();
        for dir in e2e::layer_dirs(root) {
            e2e::walk(&dir, &mut |p, m| {
                if m.is_file() && host.contains(&(m.dev(), m.ino())) {
                    found.push(p.display().to_string());
                }
            });
        }
        found
    }

    /// Names the corpus writes that must stay inside layer dirs.
    fn escapes_in_data_root(root: &Path) -> Vec<String> {
        let layers = root.join("layers");
        let mut found = Vec::new();
        e2e::walk(root, &mut |p, _| {
            let inside_layer = p
                .strip_prefix(&layers)
                .map(|r| r.components().count() > 2)
                .unwrap_or(false);
            let n = p.file_name().unwrap().to_string_lossy();
            if !inside_layer
                && ["canary", "escape", "pwned", "disk", "passwd"]
                    .iter()
                    .any(|w| n.contains(w))
            {
                found.push(p.display().to_string());
            }
        });
        found
    }

    #[test]
    fn malicious_corpus_is_contained() {
        require_root!();
        let canary = Canary::new();
        let reg = TestRegistry::start(RegistryAuth::None).unwrap();
        let (pushes, images) = evil::corpus_pushes(&canary.0).unwrap();
        assert!(!images.is_empty(), "the corpus is empty");
        fixtures::push_all(reg.addr(), None, None, &pushes).unwrap();
        let d = TestDaemon::with_registry(&reg).expect("rdockerd starts");
        let before = e2e::snapshot(&canary.0);
        let host_before = host_state();

        let mut failures = Vec::new();
        for img in &images {
            let out = d.cli(&["pull", &format!("{}/{}", reg.addr(), img.repo)]);
            if out.timed_out {
                failures.push(format!("{}: pull hung", img.repo));
            }
            if img.must_fail && out.success() {
                failures.push(format!("{}: must be refused but pulled: {out}", img.repo));
            }
            if e2e::snapshot(&canary.0) != before {
                failures.push(format!(
                    "{}: CHANGED THE CANARY {}",
                    img.repo,
                    canary.0.display()
                ));
            }
            if !d.ping() {
                failures.push(format!("{}: daemon stopped answering", img.repo));
                break;
            }
        }
        assert_eq!(
            host_state(),
            host_before,
            "files outside the data root changed"
        );
        let links = host_hardlinks(&d.data_root(), &canary.0);
        assert!(
            links.is_empty(),
            "layer files hardlinked to host files: {links:?}"
        );
        let escapes = escapes_in_data_root(&d.data_root());
        assert!(
            escapes.is_empty(),
            "written outside the layer dirs: {escapes:?}"
        );
        assert!(
            failures.is_empty(),
            "{}\n--- rdockerd log\n{}",
            failures.join("\n"),
            d.log()
        );
        // Refused pulls left nothing half-done.
        let problems = e2e::store_problems(&d.data_root());
        assert!(problems.is_empty(), "{problems:?}");
    }
}

#[test]
fn lying_manifests_are_refused() {
    require_root!();
    let reg = TestRegistry::start(RegistryAuth::None).unwrap();
    let lies = evil::lie_pushes().unwrap();
    let pushed = fixtures::push_all(reg.addr(), None, Some(reg.storage_dir()), &lies).unwrap();
    let d = TestDaemon::with_registry(&reg).expect("rdockerd starts");
    let layer_digest = |repo: &str| {
        let p = lies.iter().find(|p| p.repo == repo).unwrap();
        let m: serde_json::Value =
            serde_json::from_slice(&p.manifests.last().unwrap().1.data).unwrap();
        m["layers"][0]["digest"].as_str().unwrap().to_string()
    };

    // The registry serves other bytes than the digest names: the error names the digest.
    let digest = layer_digest("evil/digest-lie");
    let out = d.cli(&["pull", &format!("{}/evil/digest-lie", reg.addr())]);
    out.assert_fail();
    assert!(
        out.all().contains(short(&digest)),
        "error should name {digest}: {out}"
    );

    // The blob is longer than its descriptor says.
    let out = d.cli(&["pull", &format!("{}/evil/size-lie", reg.addr())]);
    out.assert_fail();

    // The config's diff_id is not the layer's.
    let out = d.cli(&["pull", &format!("{}/evil/diffid-lie", reg.addr())]);
    out.assert_fail();

    // A manifest stored under a digest it does not hash to, pulled by that digest.
    let fake = &pushed
        .iter()
        .find(|p| p.reference == "evil/manifest-lie:latest")
        .unwrap()
        .digest;
    let out = d.cli(&["pull", &format!("{}/evil/manifest-lie@{fake}", reg.addr())]);
    out.assert_fail();
    assert!(
        out.all().contains(short(fake)),
        "error should name {fake}: {out}"
    );
    // The honest tag of the same image pulls fine.
    d.cli(&["pull", &format!("{}/evil/manifest-lie:real", reg.addr())])
        .assert_ok();

    assert!(d.ping());
    let (_, body) = d.api("GET", "/images/json");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(1),
        "only the honest image is recorded: {body}"
    );
    let problems = e2e::store_problems(&d.data_root());
    assert!(problems.is_empty(), "{problems:?}");
    let planted = e2e::layers_with(&d.data_root(), "pwned.txt");
    assert!(
        planted.is_empty(),
        "the planted layer was unpacked: {planted:?}"
    );
}
