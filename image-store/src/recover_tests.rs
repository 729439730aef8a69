//! Recovery of layers left unsynced: same boot (daemon crash) vs another boot (power loss).

use std::path::Path;

use super::*;
use crate::content::sha256_digest;
use crate::index::{ImageRecord, LayerRecord};
use crate::layers::{LayerMarker, MARKER};
use crate::{ErrorKind, ImageStore, StoreConfig};

fn chain(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

/// Commits a one-file layer for `chain_id` and returns its directory name (already flushed).
fn layer(ls: &LayerStore, chain_id: &str) -> LayerRecord {
    let tmp = ls.create_tmp().unwrap();
    fs::create_dir(tmp.join("diff")).unwrap();
    fs::write(tmp.join("diff/f"), chain_id).unwrap();
    let m = LayerMarker {
        chain_id: chain_id.into(),
        diff_id: chain_id.into(),
        digest: chain_id.into(),
        media_type: "application/vnd.oci.image.layer.v1.tar".into(),
        size: 1,
        unpacked_size: 1,
        unsynced_boot_id: None,
    };
    let dir = ls.commit(&tmp, &m).unwrap();
    LayerRecord {
        diff_id: m.diff_id,
        chain_id: m.chain_id,
        dir,
        digest: m.digest,
        media_type: m.media_type,
        size: 1,
        unpacked_size: 1,
    }
}

/// Records an image with its own config and manifest blobs; returns its id and manifest.
fn image(content: &ContentStore, index: &Index, tag: &str, layers: Vec<LayerRecord>) -> String {
    let cfg = format!(
        r#"{{"architecture":"amd64","os":"linux","author":"{tag}","rootfs":{{"type":"layers","diff_ids":[]}}}}"#
    );
    let id = sha256_digest(cfg.as_bytes());
    content.put(&id, cfg.as_bytes()).unwrap();
    let manifest = format!(r#"{{"manifest":"{tag}"}}"#);
    let md = sha256_digest(manifest.as_bytes());
    content.put(&md, manifest.as_bytes()).unwrap();
    let rec = ImageRecord {
        id: id.clone(),
        manifest_digest: md,
        manifest_media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        layers,
        repo_tags: vec![format!("docker.io/library/{tag}:latest")],
        repo_digests: vec![],
        os: "linux".into(),
        architecture: "amd64".into(),
        variant: None,
        created: None,
        extra_blobs: vec![],
    };
    index
        .update(|f| {
            f.images.insert(rec.id.clone(), rec);
            Ok(())
        })
        .unwrap();
    id
}

fn set_unsynced(root: &Path, dir: &str, boot: &str) {
    let p = root.join("layers").join(dir).join(MARKER);
    let mut m: LayerMarker = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
    m.unsynced_boot_id = Some(boot.into());
    fs::write(&p, serde_json::to_vec(&m).unwrap()).unwrap();
}

fn marker(root: &Path, dir: &str) -> LayerMarker {
    let p = root.join("layers").join(dir).join(MARKER);
    serde_json::from_slice(&fs::read(p).unwrap()).unwrap()
}

struct Fixture {
    root: tempfile::TempDir,
    /// Image whose first layer is unsynced from another boot; its second layer is its own.
    lost: (String, Vec<LayerRecord>),
    /// Image whose layer is unsynced from this boot, sharing nothing with `lost`.
    kept: (String, Vec<LayerRecord>),
}

fn fixture() -> Fixture {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let content = ContentStore::new(r.join("blobs"));
    content.init().unwrap();
    let ls = LayerStore::new(r.join("layers"));
    ls.init().unwrap();
    let index = Index::load(r.join("images.json")).unwrap();
    let lost_layers = vec![layer(&ls, &chain('a')), layer(&ls, &chain('b'))];
    let kept_layers = vec![layer(&ls, &chain('c'))];
    let lost = image(&content, &index, "lost", lost_layers.clone());
    let kept = image(&content, &index, "kept", kept_layers.clone());
    ls.flush_pending();
    drop(ls);
    let current = boot_id().expect("boot id readable");
    set_unsynced(
        r,
        &lost_layers[0].dir,
        "00000000-dead-beef-0000-000000000000",
    );
    set_unsynced(r, &kept_layers[0].dir, current);
    Fixture {
        root,
        lost: (lost, lost_layers),
        kept: (kept, kept_layers),
    }
}

#[test]
fn unsynced_layers_synced_after_crash_removed_after_reboot() {
    let fx = fixture();
    let r = fx.root.path();
    let (lost_id, lost_layers) = &fx.lost;
    let (kept_id, kept_layers) = &fx.kept;
    assert_eq!(fs::read_dir(r.join("blobs/sha256")).unwrap().count(), 4);

    let (store, mut actions) = ImageStore::open(StoreConfig {
        root: r.to_path_buf(),
        ..Default::default()
    })
    .unwrap();
    let (a, b, c) = (
        &lost_layers[0].dir,
        &lost_layers[1].dir,
        &kept_layers[0].dir,
    );
    // Blobs of the removed image: its config and manifest.
    let idx = Index::load(r.join("images.json")).unwrap();
    assert!(idx.read(|f| f.images.len() == 1 && f.images.contains_key(kept_id)));
    let kept_blobs: Vec<String> = fs::read_dir(r.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept_blobs.len(), 2, "{kept_blobs:?}");
    assert!(kept_blobs.contains(&kept_id[7..].to_string()));
    let mut removed_blobs: Vec<String> = actions
        .iter()
        .filter(|a| a.starts_with("removed unreferenced blob"))
        .cloned()
        .collect();
    removed_blobs.sort();
    let mut want_blobs = vec![
        format!("removed unreferenced blob blobs/sha256/{}", &lost_id[7..]),
        format!(
            "removed unreferenced blob blobs/sha256/{}",
            sha256_digest(br#"{"manifest":"lost"}"#).trim_start_matches("sha256:")
        ),
    ];
    want_blobs.sort();
    assert_eq!(removed_blobs, want_blobs);
    actions.retain(|a| !a.starts_with("removed unreferenced blob"));
    actions.sort();
    let mut want = vec![
        format!("synced layer layers/{c} left unsynced by a crash"),
        format!("removed layer layers/{a} not flushed before a reboot"),
        format!("removed image {lost_id} whose layer was not flushed before a reboot"),
        format!("removed unreferenced layer layers/{b}"),
    ];
    want.sort();
    assert_eq!(actions, want);

    assert!(!r.join("layers").join(a).exists());
    assert!(!r.join("layers").join(b).exists());
    assert_eq!(marker(r, c).unsynced_boot_id, None);
    assert_eq!(
        fs::read(r.join("layers").join(c).join("diff/f")).unwrap(),
        chain('c').as_bytes()
    );
    let names: Vec<String> = fs::read_dir(r.join("layers"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec![c.clone()]);

    let err = store.get(lost_id).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(matches!(err, StoreError::NoSuchImage(_)), "{err}");
    assert!(matches!(store.get("lost"), Err(StoreError::NoSuchImage(_))));
    assert_eq!(store.get("kept").unwrap().id, *kept_id);
    assert_eq!(store.list().len(), 1);
    drop(store);

    // Nothing left to do on the next start.
    let (_store, actions) = ImageStore::open(StoreConfig {
        root: r.to_path_buf(),
        ..Default::default()
    })
    .unwrap();
    assert!(actions.is_empty(), "{actions:?}");
}

#[test]
fn stale_marker_is_not_reused() {
    let t = tempfile::tempdir().unwrap();
    let ls = LayerStore::new(t.path().join("layers"));
    ls.init().unwrap();
    let l = layer(&ls, &chain('d'));
    ls.flush_pending();
    set_unsynced(t.path(), &l.dir, "00000000-dead-beef-0000-000000000000");
    assert!(ls.lookup(&chain('d')).is_none());
    // A new commit of the same chain replaces the untrusted tree.
    let again = layer(&ls, &chain('d'));
    assert_eq!(again.dir, l.dir);
    ls.flush_pending();
    assert_eq!(ls.lookup(&chain('d')).unwrap().1.unsynced_boot_id, None);
}
