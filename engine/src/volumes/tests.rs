use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::filters::Filters;

fn store() -> (tempfile::TempDir, VolumeStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = VolumeStore::open(dir.path().join("volumes")).unwrap();
    (dir, s)
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn no_filter() -> ListFilter {
    ListFilter::new(&Filters::default()).unwrap()
}

fn prune_filter(raw: &str) -> PruneFilter {
    PruneFilter::new(&Filters::parse(Some(raw)).unwrap()).unwrap()
}

#[test]
fn create_lays_out_dockers_directories() {
    let (_d, s) = store();
    assert_eq!(mode(&s.root), 0o700);
    let labels = HashMap::from([("a".to_string(), "1".to_string())]);
    let v = s
        .create(Some("data"), labels.clone(), HashMap::new())
        .unwrap();
    assert_eq!(v.name, "data");
    assert_eq!(v.driver, "local");
    assert_eq!(v.scope, Some(VolumeScopeEnum::LOCAL));
    assert_eq!(v.labels, labels);
    assert_eq!(Path::new(&v.mountpoint), s.root.join("data/_data"));
    assert_eq!(mode(&s.root.join("data")), 0o700);
    assert_eq!(mode(&s.root.join("data/_data")), 0o755);
    assert!(chrono::DateTime::parse_from_rfc3339(v.created_at.as_deref().unwrap()).is_ok());
    let meta = VolumeMeta::read(&s.root.join("data")).unwrap();
    assert_eq!(meta.labels, labels);
    assert!(!meta.anonymous);
    assert_eq!(s.get("data").unwrap(), v);
    assert_eq!(s.data_dir("data"), s.root.join("data/_data"));
}

#[test]
fn create_is_idempotent() {
    let (_d, s) = store();
    let first = s
        .create(Some("v1"), HashMap::new(), HashMap::new())
        .unwrap();
    std::fs::write(s.data_dir("v1").join("keep"), "x").unwrap();
    let again = s
        .create(
            Some("v1"),
            HashMap::from([("other".to_string(), String::new())]),
            HashMap::new(),
        )
        .unwrap();
    assert_eq!(first, again, "an existing volume is returned unchanged");
    assert!(s.data_dir("v1").join("keep").exists());
    assert_eq!(s.list(&no_filter()).unwrap().len(), 1);
}

#[test]
fn anonymous_volumes() {
    let (_d, s) = store();
    let v = s.create(None, HashMap::new(), HashMap::new()).unwrap();
    assert_eq!(v.name.len(), 64);
    assert!(v.name.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(v.labels.get(ANONYMOUS_LABEL).map(String::as_str), Some(""));
    assert!(VolumeMeta::read(&s.root.join(&v.name)).unwrap().anonymous);
    let empty = s.create(Some(""), HashMap::new(), HashMap::new()).unwrap();
    assert_ne!(empty.name, v.name);
}

#[test]
fn invalid_names_are_400_with_dockers_message() {
    let (_d, s) = store();
    let e = s
        .create(Some("a/b"), HashMap::new(), HashMap::new())
        .unwrap_err();
    let api: ApiError = e.into();
    assert_eq!(api.status, 400);
    assert_eq!(
        api.message,
        "create a/b: \"a/b\" includes invalid characters for a local volume name, only \
         \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, \
         use absolute path"
    );
    assert!(s
        .create(Some(".."), HashMap::new(), HashMap::new())
        .is_err());
    assert!(!s.root.join("a").exists());
}

#[test]
fn unknown_volume_is_404() {
    let (_d, s) = store();
    let api: ApiError = s.get("nope").unwrap_err().into();
    assert_eq!(
        (api.status.as_u16(), api.message.as_str()),
        (404, "get nope: no such volume")
    );
    let api: ApiError = s.remove("nope", false).unwrap_err().into();
    assert_eq!(api.status, 404);
    s.remove("nope", true).unwrap();
    // A path that escapes is no volume either.
    assert!(s.get("../volumes").is_err());
}

#[test]
fn in_use_volume_is_409_until_released() {
    let (_d, s) = store();
    s.create(Some("busy"), HashMap::new(), HashMap::new())
        .unwrap();
    s.acquire("busy", "c2");
    s.acquire("busy", "c1");
    let api: ApiError = s.remove("busy", false).unwrap_err().into();
    assert_eq!(api.status, 409);
    assert_eq!(api.message, "remove busy: volume is in use - [c1, c2]");
    s.release("busy", "c1");
    s.release("busy", "c2");
    assert!(s.users("busy").is_empty());
    s.remove("busy", false).unwrap();
    assert!(!s.root.join("busy").exists());
    assert!(s.get("busy").is_err());
}

#[test]
fn force_does_not_remove_a_volume_in_use() {
    let (_d, s) = store();
    s.create(Some("busy"), HashMap::new(), HashMap::new())
        .unwrap();
    std::fs::create_dir_all(s.data_dir("busy").join("a/b")).unwrap();
    std::fs::write(s.data_dir("busy").join("a/b/f"), "data").unwrap();
    s.acquire("busy", "c1");
    let err = s.remove("busy", true).unwrap_err().to_string();
    assert_eq!(err, "remove busy: volume is in use - [c1]");
    assert_eq!(
        std::fs::read(s.data_dir("busy").join("a/b/f")).unwrap(),
        b"data"
    );
    s.release("busy", "c1");
    s.remove("busy", true).unwrap();
    assert!(!s.root.join("busy").exists());
    assert!(s.users("busy").is_empty());
    // Nothing hidden left behind either.
    assert_eq!(std::fs::read_dir(&s.root).unwrap().count(), 0);
}

#[test]
fn prune_takes_unused_anonymous_by_default_and_named_with_all() {
    let (_d, s) = store();
    let anon = s.create(None, HashMap::new(), HashMap::new()).unwrap().name;
    let used = s.create(None, HashMap::new(), HashMap::new()).unwrap().name;
    s.create(Some("named"), HashMap::new(), HashMap::new())
        .unwrap();
    let keep = HashMap::from([("keep".to_string(), String::new())]);
    s.create(Some("kept"), keep, HashMap::new()).unwrap();
    std::fs::write(s.data_dir(&anon).join("f"), vec![0u8; 1000]).unwrap();
    s.acquire(&used, "c1");

    let r = s.prune(&prune_filter("")).unwrap();
    assert_eq!(r.volumes_deleted, Some(vec![anon.clone()]));
    assert_eq!(r.space_reclaimed, Some(1000));

    let r = s
        .prune(&prune_filter(r#"{"all":["true"],"label!":["keep"]}"#))
        .unwrap();
    assert_eq!(r.volumes_deleted, Some(vec!["named".to_string()]));
    let mut left: Vec<String> = s
        .list(&no_filter())
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect();
    left.sort();
    let mut want = vec!["kept".to_string(), used];
    want.sort();
    assert_eq!(left, want);
}

#[test]
fn list_filters_dangling() {
    let (_d, s) = store();
    s.create(Some("free"), HashMap::new(), HashMap::new())
        .unwrap();
    s.create(Some("taken"), HashMap::new(), HashMap::new())
        .unwrap();
    s.acquire("taken", "c1");
    let f = ListFilter::new(&Filters::parse(Some(r#"{"dangling":["true"]}"#)).unwrap()).unwrap();
    let names: Vec<String> = s.list(&f).unwrap().into_iter().map(|v| v.name).collect();
    assert_eq!(names, vec!["free".to_string()]);
}

#[test]
fn driver_options_checked_like_the_local_driver() {
    let (_d, s) = store();
    let opts = |kv: &[(&str, &str)]| -> HashMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let e = s
        .create(Some("x1"), HashMap::new(), opts(&[("bogus", "1")]))
        .unwrap_err();
    assert_eq!(e.to_string(), "invalid option: \"bogus\"");
    let e = s
        .create(Some("x1"), HashMap::new(), opts(&[("type", "tmpfs")]))
        .unwrap_err();
    assert_eq!(e.to_string(), "missing required option: \"device\"");
    let v = s
        .create(
            Some("x1"),
            HashMap::new(),
            opts(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=1m")]),
        )
        .unwrap();
    assert_eq!(v.options["o"], "size=1m");
    assert_eq!(s.get("x1").unwrap().options["type"], "tmpfs");
}

#[test]
fn open_sweeps_interrupted_removals_and_keeps_volumes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("volumes");
    {
        let s = VolumeStore::open(root.clone()).unwrap();
        s.create(Some("stays"), HashMap::new(), HashMap::new())
            .unwrap();
    }
    std::fs::create_dir_all(root.join(".trash-old-1/_data")).unwrap();
    // A create that crashed before `_data`: not a volume.
    std::fs::create_dir_all(root.join("halfmade")).unwrap();
    let s = VolumeStore::open(root.clone()).unwrap();
    assert!(!root.join(".trash-old-1").exists());
    let names: Vec<String> = s
        .list(&no_filter())
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(names, vec!["stays".to_string()]);
    // It can still be created normally.
    s.create(Some("halfmade"), HashMap::new(), HashMap::new())
        .unwrap();
    assert!(s.get("halfmade").is_ok());
}

#[test]
fn missing_metadata_reads_as_defaults() {
    let (_d, s) = store();
    s.create(Some("old"), HashMap::new(), HashMap::new())
        .unwrap();
    std::fs::write(s.root.join("old").join(meta::FILE), b"garbage").unwrap();
    let v = s.get("old").unwrap();
    assert!(v.labels.is_empty());
    assert_eq!(v.created_at, None);
}

#[tokio::test]
async fn create_and_destroy_publish_events() {
    let dir = tempfile::tempdir().unwrap();
    let events = Arc::new(Events::new());
    let s = VolumeStore::open(dir.path().join("v"))
        .unwrap()
        .with_events(events.clone());
    s.create(Some("ev"), HashMap::new(), HashMap::new())
        .unwrap();
    s.remove("ev", false).unwrap();
    let seen: Vec<(String, String)> = events
        .recent()
        .into_iter()
        .map(|e| (e.action.clone(), e.id.clone()))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("create".to_string(), "ev".to_string()),
            ("destroy".to_string(), "ev".to_string())
        ]
    );
}

#[test]
fn create_for_marks_the_volume_in_use_at_once() {
    let (_d, s) = store();
    let v = s
        .create_for(None, HashMap::new(), HashMap::new(), "c1")
        .unwrap();
    assert_eq!(s.users(&v.name), vec!["c1".to_string()]);
    let r = s.prune(&prune_filter(r#"{"all":["1"]}"#)).unwrap();
    assert_eq!(r.volumes_deleted, Some(vec![]));
    let named = s
        .create_for(Some("n1"), HashMap::new(), HashMap::new(), "c2")
        .unwrap();
    assert!(matches!(
        s.remove(&named.name, false),
        Err(VolumeError::InUse { .. })
    ));
}
