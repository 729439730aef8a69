//! Concurrent pulls sharing layers: several clients pulling images that share the busybox
//! base at once all succeed, the shared layer is unpacked once, and the store stays sound.

use rdocker_tests::e2e::{self, registry_and_daemon};
use rdocker_tests::{require_root, RegistryAuth};

#[test]
fn concurrent_pulls_share_layers() {
    require_root!();
    let (reg, d) = registry_and_daemon(&["busybox", "layered", "multiarch"], RegistryAuth::None);
    let images = [
        "busybox".to_string(),
        "busybox".to_string(),
        format!("{}/busybox:latest", reg.addr()),
        format!("{}/layered", reg.addr()),
        format!("{}/multiarch", reg.addr()),
    ];
    let outs: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = images
            .iter()
            .map(|i| s.spawn(|| d.cli(&["pull", i])))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    for o in &outs {
        o.assert_ok();
    }
    assert_eq!(
        e2e::layers_with(&d.data_root(), "bin/busybox").len(),
        1,
        "shared layer unpacked once"
    );
    let problems = e2e::store_problems(&d.data_root());
    assert!(problems.is_empty(), "{problems:?}");
    let images = d.cli(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    images.assert_ok();
    for want in ["busybox:latest", &format!("{}/layered:latest", reg.addr())] {
        assert!(images.stdout.lines().any(|l| l == want), "{want}: {images}");
    }
}
