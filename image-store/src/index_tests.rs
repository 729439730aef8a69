use super::*;
use crate::remove::plan_remove;
use crate::{ErrorKind, RemoveAction};

const A: &str = "sha256:aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111";
const B: &str = "sha256:aaab2222aaab2222aaab2222aaab2222aaab2222aaab2222aaab2222aaab2222";
const M: &str = "sha256:4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d";

fn rec(id: &str, tags: &[&str], digests: &[&str]) -> ImageRecord {
    ImageRecord {
        id: id.into(),
        manifest_digest: M.into(),
        manifest_media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        layers: vec![],
        repo_tags: tags.iter().map(|s| s.to_string()).collect(),
        repo_digests: digests.iter().map(|s| s.to_string()).collect(),
        os: "linux".into(),
        architecture: "amd64".into(),
        variant: None,
        created: None,
        extra_blobs: vec![],
    }
}

fn file(recs: Vec<ImageRecord>) -> IndexFile {
    IndexFile {
        version: 1,
        images: recs.into_iter().map(|r| (r.id.clone(), r)).collect(),
    }
}

fn sample() -> IndexFile {
    file(vec![
        rec(
            A,
            &[
                "docker.io/library/busybox:latest",
                "docker.io/library/busybox:1",
            ],
            &[&format!("docker.io/library/busybox@{M}")],
        ),
        rec(B, &["127.0.0.1:5000/foo:x"], &[]),
    ])
}

#[test]
fn resolves_names_digests_and_ids() {
    let f = sample();
    let id = |s: &str| f.resolve(s).map(|(r, _)| r.id.clone());
    assert_eq!(id("busybox").unwrap(), A);
    assert_eq!(id("busybox:1").unwrap(), A);
    assert_eq!(id("docker.io/library/busybox:latest").unwrap(), A);
    assert_eq!(id(&format!("busybox@{M}")).unwrap(), A);
    assert_eq!(id("127.0.0.1:5000/foo:x").unwrap(), B);
    assert_eq!(id(A).unwrap(), A);
    assert_eq!(id(&A[7..]).unwrap(), A);
    assert_eq!(id("aaaa").unwrap(), A);
    assert_eq!(id("sha256:aaab").unwrap(), B);
    let e = id("aaa").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = id("busybox:nosuch").unwrap_err();
    assert_eq!(e.to_string(), "No such image: busybox:nosuch");
    assert_eq!(
        id("nosuch").unwrap_err().to_string(),
        "No such image: nosuch:latest"
    );
    assert_eq!(id("Bad!").unwrap_err().kind(), ErrorKind::InvalidArgument);
    let full_missing = format!("sha256:{}", "9".repeat(64));
    assert_eq!(id(&full_missing).unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn tag_moves_between_images() {
    let mut f = sample();
    f.set_tag(B, "docker.io/library/busybox:1");
    assert!(!f.images[A]
        .repo_tags
        .contains(&"docker.io/library/busybox:1".to_string()));
    assert!(f.images[B]
        .repo_tags
        .contains(&"docker.io/library/busybox:1".to_string()));
    f.set_tag(B, "docker.io/library/busybox:1");
    assert_eq!(f.images[B].repo_tags.len(), 2);
}

#[test]
fn rmi_tag_only_untags_while_other_tags_remain() {
    let mut f = sample();
    let p = plan_remove(&mut f, "busybox:1", false).unwrap();
    assert_eq!(p.actions, vec![RemoveAction::Untagged("busybox:1".into())]);
    assert!(p.deleted.is_none());
    // Last tag of the repository: its digest refs go too, then the image.
    let p = plan_remove(&mut f, "busybox", false).unwrap();
    assert_eq!(
        p.actions,
        vec![
            RemoveAction::Untagged("busybox:latest".into()),
            RemoveAction::Untagged(format!("busybox@{M}")),
            RemoveAction::Deleted(A.into()),
        ]
    );
    assert_eq!(p.deleted.unwrap().id, A);
    assert!(!f.images.contains_key(A));
}

#[test]
fn rmi_by_id_with_several_repositories_needs_force() {
    let mut f = sample();
    f.set_tag(A, "docker.io/library/other:latest");
    let e = plan_remove(&mut f, &A[7..19], false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert_eq!(
        e.to_string(),
        "conflict: unable to delete aaaa1111aaaa (must be forced) - image is referenced in multiple repositories"
    );
    let p = plan_remove(&mut f, &A[7..19], true).unwrap();
    assert_eq!(p.actions.len(), 5);
    assert_eq!(p.actions.last(), Some(&RemoveAction::Deleted(A.into())));
    // Single repository: by id works without force.
    let p = plan_remove(&mut f, B, false).unwrap();
    assert_eq!(
        p.actions,
        vec![
            RemoveAction::Untagged("127.0.0.1:5000/foo:x".into()),
            RemoveAction::Deleted(B.into())
        ]
    );
    assert!(f.images.is_empty());
}

#[test]
fn rmi_by_digest_keeps_image_with_tags() {
    let mut f = sample();
    let p = plan_remove(&mut f, &format!("busybox@{M}"), false).unwrap();
    assert_eq!(
        p.actions,
        vec![RemoveAction::Untagged(format!("busybox@{M}"))]
    );
    assert!(f.images[A].repo_digests.is_empty());
}

#[test]
fn atomic_persist_and_reload() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("images.json");
    let idx = Index::load(path.clone()).unwrap();
    assert!(idx.read(|f| f.images.is_empty()));
    idx.update(|f| {
        *f = sample();
        Ok(())
    })
    .unwrap();
    // A failing update changes nothing, on disk or in memory.
    let e = idx
        .update(|f| {
            f.images.clear();
            Err::<(), _>(StoreError::Cancelled)
        })
        .unwrap_err();
    assert!(matches!(e, StoreError::Cancelled));
    assert_eq!(idx.read(|f| f.images.len()), 2);
    let again = Index::load(path.clone()).unwrap();
    assert_eq!(again.read(|f| f.images.clone()), sample().images);
    let leftovers: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("images.json")]);
    std::fs::write(&path, b"{not json").unwrap();
    assert!(matches!(Index::load(path), Err(StoreError::Corrupt { .. })));
}
