//! Pulling the fixture images: through the docker.io mirror, direct by tag and digest, OCI and
//! schema2, gzip/zstd/uncompressed layers, multi-arch indexes, and the layered image's diff
//! features as overlay sees them. Expected outputs are Docker's.

use std::process::Command;
use std::time::Duration;

use rdocker_tests::e2e::{self, registry_and_daemon, short};
use rdocker_tests::fixtures::busybox::{
    busybox_ids, busybox_sha256, multiarch_platforms, platform_string,
};
use rdocker_tests::fixtures::image::Format;
use rdocker_tests::fixtures::layered::CHECK_OK;
use rdocker_tests::{require_root, RegistryAuth};

#[test]
fn busybox_through_mirror_lifecycle() {
    require_root!();
    let (_reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    let (image_id, manifest_digest, diff_id) = busybox_ids(Format::Docker).unwrap();

    let out = d.cli(&["pull", "busybox"]);
    out.assert_ok();
    let all = out.all();
    for want in [
        "Using default tag: latest",
        "latest: Pulling from library/busybox",
        "Pull complete",
        &format!("Digest: {manifest_digest}"),
        "Status: Downloaded newer image for busybox:latest",
        "docker.io/library/busybox:latest",
    ] {
        assert!(all.contains(want), "missing {want:?}: {out}");
    }
    assert_eq!(
        out.stdout.lines().last(),
        Some("docker.io/library/busybox:latest"),
        "{out}"
    );

    let again = d.cli(&["pull", "busybox"]);
    again.assert_ok();
    assert!(
        again
            .all()
            .contains("Status: Image is up to date for busybox:latest"),
        "{again}"
    );
    assert!(!again.all().contains("Pull complete"), "{again}");

    // `images`: a table row for busybox latest with the 12-hex id.
    let images = d.cli(&["images"]);
    images.assert_ok();
    let header = images.stdout.lines().next().unwrap_or_default();
    for col in ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"] {
        assert!(header.contains(col), "{images}");
    }
    let row = images
        .stdout
        .lines()
        .find(|l| l.starts_with("busybox "))
        .unwrap_or_else(|| panic!("{images}"));
    let cols: Vec<_> = row.split_whitespace().collect();
    assert_eq!(
        &cols[..3],
        &["busybox", "latest", short(&image_id)],
        "{images}"
    );
    let q = d.cli(&["images", "-q"]);
    assert_eq!(q.stdout.trim(), short(&image_id), "{q}");

    // The API as curl sees it.
    let (code, body) = d.api("GET", "/images/json");
    assert_eq!(code, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let img = &list.as_array().expect("array")[0];
    assert_eq!(img["Id"], image_id.as_str(), "{body}");
    assert_eq!(
        img["RepoTags"],
        serde_json::json!(["busybox:latest"]),
        "{body}"
    );
    assert_eq!(
        img["RepoDigests"],
        serde_json::json!([format!("busybox@{manifest_digest}")]),
        "{body}"
    );
    let (code, _) = d.api("GET", "/v1.44/images/json");
    assert_eq!(code, 200, "versioned path");

    // inspect
    let inspect = d.cli(&["image", "inspect", "busybox"]);
    inspect.assert_ok();
    let v: serde_json::Value = serde_json::from_str(&inspect.stdout).expect("inspect JSON");
    let i = &v[0];
    assert_eq!(i["Id"], image_id.as_str(), "{inspect}");
    assert_eq!(i["Os"], "linux");
    assert_eq!(
        i["Architecture"],
        rdocker_tests::fixtures::image::Platform::host().architecture
    );
    assert_eq!(i["Config"]["Cmd"], serde_json::json!(["sh"]), "{inspect}");
    assert_eq!(
        i["RootFS"]["Layers"],
        serde_json::json!([diff_id]),
        "{inspect}"
    );
    assert_eq!(i["Created"], "2024-01-01T00:00:00Z", "{inspect}");
    let (code, _) = d.api("GET", "/images/busybox:latest/json");
    assert_eq!(code, 200);

    // history: newest first, the CMD then the ADD.
    let h = d.cli(&["history", "--no-trunc", "busybox"]);
    h.assert_ok();
    let cmd_line = h.stdout.lines().position(|l| l.contains("CMD [\"sh\"]"));
    let add_line = h
        .stdout
        .lines()
        .position(|l| l.contains("ADD busybox-static"));
    assert!(
        cmd_line.is_some() && add_line.is_some() && cmd_line < add_line,
        "{h}"
    );
    assert!(
        h.stdout.contains(&image_id),
        "top entry carries the image id: {h}"
    );

    // The layer is unpacked with the real binary.
    let dirs = e2e::layers_with(&d.data_root(), "bin/busybox");
    assert_eq!(dirs.len(), 1, "one busybox layer dir: {dirs:?}");
    assert_eq!(
        e2e::file_sha256(&dirs[0].join("bin/busybox")),
        Some(busybox_sha256().unwrap())
    );

    // tag + rmi of one tag keeps the image.
    d.cli(&["tag", "busybox", "mybox:v1"]).assert_ok();
    let images = d.cli(&["images"]);
    assert!(
        images
            .stdout
            .lines()
            .any(|l| l.starts_with("mybox ") && l.contains("v1") && l.contains(short(&image_id))),
        "{images}"
    );
    let rmi = d.cli(&["rmi", "mybox:v1"]);
    rmi.assert_ok();
    assert!(rmi.stdout.contains("Untagged: mybox:v1"), "{rmi}");
    assert!(!rmi.stdout.contains("Deleted"), "{rmi}");
    d.cli(&["image", "inspect", "busybox"]).assert_ok();
    assert_eq!(e2e::layers_with(&d.data_root(), "bin/busybox").len(), 1);

    // rmi of the last tag deletes the image and its layers.
    let rmi = d.cli(&["rmi", "busybox"]);
    rmi.assert_ok();
    assert!(rmi.stdout.contains("Untagged: busybox:latest"), "{rmi}");
    assert!(
        rmi.stdout.contains(&format!("Deleted: {image_id}")),
        "{rmi}"
    );
    assert!(
        e2e::layers_with(&d.data_root(), "bin/busybox").is_empty(),
        "layer dir left behind"
    );
    let gone = d.cli(&["image", "inspect", "busybox"]);
    gone.assert_fail();
    assert!(gone.all().contains("No such image"), "{gone}");
    let (code, _) = d.api("GET", "/images/busybox/json");
    assert_eq!(code, 404);
    assert!(
        e2e::store_problems(&d.data_root()).is_empty(),
        "{:?}",
        e2e::store_problems(&d.data_root())
    );
}

#[test]
fn oci_image_direct_by_tag_and_by_digest() {
    require_root!();
    let (reg, d) = registry_and_daemon(&["busybox"], RegistryAuth::None);
    let (image_id, oci_digest, _) = busybox_ids(Format::Oci).unwrap();
    let name = format!("{}/busybox:oci", reg.addr());
    let out = d.cli(&["pull", &name]);
    out.assert_ok();
    assert!(
        out.all().contains(&format!("Digest: {oci_digest}")),
        "{out}"
    );
    assert!(
        out.all()
            .contains(&format!("Status: Downloaded newer image for {name}")),
        "{out}"
    );
    let dirs = e2e::layers_with(&d.data_root(), "bin/busybox");
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    assert_eq!(
        e2e::file_sha256(&dirs[0].join("bin/busybox")),
        Some(busybox_sha256().unwrap())
    );
    let inspect = d.cli(&["image", "inspect", &name]);
    inspect.assert_ok();
    assert!(inspect.stdout.contains(&image_id), "{inspect}");

    // By digest: the same image again, now also reachable by digest.
    let by_digest = format!("{}/busybox@{oci_digest}", reg.addr());
    let out = d.cli(&["pull", &by_digest]);
    out.assert_ok();
    assert!(
        out.all().contains(&format!("Digest: {oci_digest}")),
        "{out}"
    );
    let inspect = d.cli(&["image", "inspect", &by_digest]);
    inspect.assert_ok();
    assert!(inspect.stdout.contains(&image_id), "{inspect}");

    // A digest the registry does not have: not found, nothing recorded.
    let missing = format!("{}/busybox@sha256:{}", reg.addr(), "0".repeat(64));
    let out = d.cli(&["pull", &missing]);
    out.assert_fail();
    assert!(
        out.all().contains("not found") || out.all().contains("unknown"),
        "{out}"
    );
}

fn pull_and_check_binary(repo: &str) {
    let (reg, d) = registry_and_daemon(&["zstd"], RegistryAuth::None);
    let name = format!("{}/{repo}:latest", reg.addr());
    let out = d.cli(&["pull", &name]);
    out.assert_ok();
    assert!(out.all().contains("Pull complete"), "{out}");
    let dirs = e2e::layers_with(&d.data_root(), "bin/busybox");
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    assert_eq!(
        e2e::file_sha256(&dirs[0].join("bin/busybox")),
        Some(busybox_sha256().unwrap())
    );
    assert_eq!(
        std::fs::read_link(dirs[0].join("bin/sh")).unwrap().to_str(),
        Some("busybox")
    );
}

#[test]
fn zstd_layers() {
    require_root!();
    pull_and_check_binary("zstd");
}

#[test]
fn uncompressed_layers() {
    require_root!();
    pull_and_check_binary("uncompressed");
}

#[test]
fn multiarch_index_and_manifest_list() {
    require_root!();
    let (reg, d) = registry_and_daemon(&["multiarch"], RegistryAuth::None);
    let [host, other] = <[_; 2]>::try_from(multiarch_platforms()).unwrap();
    for tag in ["latest", "list"] {
        let name = format!("{}/multiarch:{tag}", reg.addr());
        d.cli(&["pull", &name]).assert_ok();
        let dir = e2e::layer_with_content(
            &d.data_root(),
            "platform",
            platform_string(&host).as_bytes(),
        );
        assert!(dir.is_some(), "{tag}: no layer with /platform = host");
        let inspect = d.cli(&["image", "inspect", &name]);
        let v: serde_json::Value = serde_json::from_str(&inspect.stdout).unwrap_or_default();
        assert_eq!(
            v[0]["Architecture"],
            host.architecture.as_str(),
            "{inspect}"
        );

        let out = d.cli(&[
            "pull",
            "--platform",
            &format!("linux/{}", other.architecture),
            &name,
        ]);
        out.assert_ok();
        let dir = e2e::layer_with_content(
            &d.data_root(),
            "platform",
            platform_string(&other).as_bytes(),
        );
        assert!(
            dir.is_some(),
            "{tag}: no layer with /platform = {other:?}: {out}"
        );
        let inspect = d.cli(&["image", "inspect", &name]);
        let v: serde_json::Value = serde_json::from_str(&inspect.stdout).unwrap_or_default();
        assert_eq!(
            v[0]["Architecture"],
            other.architecture.as_str(),
            "the tag moves to the pulled platform: {inspect}"
        );
    }
    // A platform the index lacks.
    let out = d.cli(&[
        "pull",
        "--platform",
        "linux/s390x",
        &format!("{}/multiarch", reg.addr()),
    ]);
    out.assert_fail();
    assert!(out.all().contains("no matching manifest"), "{out}");
}

#[test]
fn layered_diffs_in_overlay_format() {
    require_root!();
    let (reg, d) = registry_and_daemon(&["layered"], RegistryAuth::None);
    let name = format!("{}/layered", reg.addr());
    d.cli(&["pull", &name]).assert_ok();
    let root = d.data_root();
    let layer = |n: u32| {
        let dirs = e2e::layers_with(&root, &format!("etc/layered/layer-{n}"));
        assert_eq!(dirs.len(), 1, "layer {n}: {dirs:?}");
        dirs[0].clone()
    };
    let (l1, l2, l3, l4) = (layer(1), layer(2), layer(3), layer(4));
    // Whiteouts became 0:0 character devices, opaque dirs got the xattr, markers are gone.
    for p in [
        "data/delete-me.txt",
        "data/dir-to-delete",
        "data/resurrect.txt",
    ] {
        assert!(
            e2e::is_whiteout(&l2.join(p)),
            "{p} in layer 2 is not a whiteout"
        );
    }
    for p in ["data/link-abs", "data/opaque/new1"] {
        assert!(
            e2e::is_whiteout(&l4.join(p)),
            "{p} in layer 4 is not a whiteout"
        );
    }
    assert_eq!(
        e2e::xattr(&l2.join("data/opaque"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    assert_eq!(
        e2e::xattr(&l4.join("data/opaque"), "trusted.overlay.opaque"),
        None,
        "only layer 2's is opaque"
    );
    for dir in e2e::layer_dirs(&root) {
        e2e::walk(&dir, &mut |p, _| {
            let n = p.file_name().unwrap().to_string_lossy();
            assert!(
                !n.starts_with(".wh."),
                "whiteout marker file left: {}",
                p.display()
            );
        });
    }
    // Hardlinks, symlinks, modes as in the tar.
    use std::os::unix::fs::MetadataExt;
    let ino = |p: &std::path::Path| std::fs::symlink_metadata(p).unwrap().ino();
    assert_eq!(
        ino(&l1.join("data/hardlink-src.txt")),
        ino(&l1.join("data/hardlink-dst.txt"))
    );
    assert_eq!(ino(&l2.join("data/hl2-a")), ino(&l2.join("data/hl2-b")));
    assert_eq!(
        std::fs::read_link(l1.join("data/link-to-keep"))
            .unwrap()
            .to_str(),
        Some("keep.txt")
    );
    assert_eq!(
        std::fs::read_link(l1.join("data/abs-link"))
            .unwrap()
            .to_str(),
        Some("/data/keep.txt")
    );
    assert_eq!(
        std::fs::symlink_metadata(l1.join("data/secret"))
            .unwrap()
            .mode()
            & 0o7777,
        0o600
    );
    assert!(
        l3.join("usr/share/layered/version").is_file(),
        "implied parents created"
    );

    // The merged view, as a container would see it: overlay the dirs and run /check.sh.
    let base = e2e::layers_with(&root, "bin/busybox");
    assert_eq!(base.len(), 1);
    let lower = [&l4, &l3, &l2, &l1, &base[0]]
        .map(|p| p.display().to_string())
        .join(":");
    let mnt = d.dir().join("merged");
    std::fs::create_dir_all(&mnt).unwrap();
    let script = format!(
        "mount -t overlay overlay -o lowerdir={lower} {m} && chroot {m} /bin/sh /check.sh",
        m = mnt.display()
    );
    let out = rdocker_tests::daemon::run(
        Command::new("unshare").args(["-m", "--propagation", "private", "sh", "-c", &script]),
        Duration::from_secs(30),
    );
    assert!(out.success() && out.stdout.contains(CHECK_OK), "{out}");
}
