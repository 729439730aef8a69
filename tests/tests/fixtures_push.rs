//! The fixture sets build deterministically and push into a real registry (no rdockerd, no
//! root needed): what the e2e suites and the demo rely on.

use rdocker_tests::client::RegistryClient;
use rdocker_tests::fixtures::{self, image};
use rdocker_tests::{RegistryAuth, TestRegistry};

fn digests(set: &str) -> Vec<(String, String)> {
    fixtures::set(set)
        .unwrap()
        .iter()
        .flat_map(|p| {
            p.manifests
                .iter()
                .map(|(r, m)| (format!("{}:{r}", p.repo), m.digest.clone()))
        })
        .collect()
}

const PINNED_LAYERED_TARS: [&str; 4] = [
    "sha256:ddadb176fb9d5e863fcc917191de3237fc73baef97ad1578851d5ad303c9dc83",
    "sha256:2aab84f579af1c1bcb3c568fa6582b98ed360f3d3d45c34b33a201e8c16c02a2",
    "sha256:f4be5988fd21a31fcaab530b9d593c5b9f1db83a7695a582a7e31e64b255e9e7",
    "sha256:116eb4262ebeadde7d2a29cd6b0853acf29e417607c9f3d21570d19f6490a3a5",
];

#[test]
fn fixtures_are_deterministic() {
    // Compressed layers are memoised per process, so compare the raw steps too.
    let tars = fixtures::layered::layer_tars().unwrap();
    assert_eq!(
        tars,
        fixtures::layered::layer_tars().unwrap(),
        "layer tars differ"
    );
    let bb = fixtures::busybox::busybox_tar().unwrap();
    assert_eq!(
        image::gzip(bb, 6).unwrap(),
        image::gzip(bb, 6).unwrap(),
        "gzip differs"
    );
    for set in ["busybox", "multiarch", "layered", "zstd"] {
        assert_eq!(
            digests(set),
            digests(set),
            "set {set} differs between two builds"
        );
    }
    // The layered image's tars do not depend on the host at all: pin their digests, so a
    // change (ours or the tar crate's) is noticed and the documented digests updated.
    let got: Vec<_> = tars
        .iter()
        .map(|t| rdocker_tests::util::sha256_digest(t))
        .collect();
    assert_eq!(got, PINNED_LAYERED_TARS);
}

#[test]
fn default_set_pushes_and_reads_back() {
    let reg = TestRegistry::start(RegistryAuth::None).unwrap();
    let pushed = fixtures::push_sets(&reg, &["default"]).unwrap();
    let names: Vec<_> = pushed.iter().map(|p| p.reference.as_str()).collect();
    for want in [
        "busybox:latest",
        "busybox:oci",
        "library/busybox:latest",
        "multiarch:latest",
        "multiarch:list",
        "layered:latest",
        "zstd:latest",
        "uncompressed:latest",
    ] {
        assert!(names.contains(&want), "{want} not pushed: {names:?}");
    }
    let client = RegistryClient::new(reg.addr(), None);
    for (repo, tag, mt) in [
        ("busybox", "latest", image::MT_DOCKER_MANIFEST),
        ("busybox", "oci", image::MT_OCI_MANIFEST),
        ("multiarch", "latest", image::MT_OCI_INDEX),
        ("multiarch", "list", image::MT_DOCKER_LIST),
        ("zstd", "latest", image::MT_OCI_MANIFEST),
    ] {
        let (ct, body) = client.get_manifest(repo, tag).unwrap();
        assert_eq!(ct, mt, "{repo}:{tag}");
        let want = pushed
            .iter()
            .find(|p| p.reference == format!("{repo}:{tag}"))
            .unwrap();
        assert_eq!(rdocker_tests::util::sha256_digest(&body), want.digest);
    }
    // Pushing again is a no-op that yields the same digests.
    let again = fixtures::push_sets(&reg, &["busybox"]).unwrap();
    assert_eq!(again[0].digest, pushed[0].digest);
}

#[test]
fn token_registry_accepts_pushes() {
    let reg = TestRegistry::start(RegistryAuth::token("u", "p")).unwrap();
    fixtures::push_sets(&reg, &["busybox"]).unwrap();
    let reg = TestRegistry::start(RegistryAuth::basic("u", "p")).unwrap();
    fixtures::push_sets(&reg, &["busybox"]).unwrap();
}

#[test]
fn lying_images_are_served_as_planted() {
    let reg = TestRegistry::start(RegistryAuth::None).unwrap();
    let lies = fixtures::evil::lie_pushes().unwrap();
    let pushed = fixtures::push_all(reg.addr(), None, Some(reg.storage_dir()), &lies).unwrap();
    let client = RegistryClient::new(reg.addr(), None);
    // The planted manifest comes back under a digest it does not hash to.
    let lie = pushed
        .iter()
        .find(|p| p.reference == "evil/manifest-lie:latest")
        .unwrap();
    let (_, body) = client
        .get_manifest("evil/manifest-lie", &lie.digest)
        .unwrap();
    assert_ne!(rdocker_tests::util::sha256_digest(&body), lie.digest);
    // The planted layer is served under the honest digest.
    let (_, m) = client.get_manifest("evil/digest-lie", "latest").unwrap();
    let m: serde_json::Value = serde_json::from_slice(&m).unwrap();
    let digest = m["layers"][0]["digest"].as_str().unwrap();
    let mut r = client
        .send(
            ureq::http::Method::GET,
            &format!("/v2/evil/digest-lie/blobs/{digest}"),
            "evil/digest-lie",
            &[],
            None,
        )
        .unwrap();
    assert_eq!(r.status(), 200, "{}", reg.log());
    let blob = r.body_mut().read_to_vec().unwrap();
    assert_ne!(rdocker_tests::util::sha256_digest(&blob), digest);
}
