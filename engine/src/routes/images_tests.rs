use super::*;
use rdocker_image_store::LayerInfo;

fn image(id: &str, tags: &[&str], created: &str) -> ImageInfo {
    let config = serde_json::from_value(serde_json::json!({
        "created": created,
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/bin"],
            "Cmd": ["sh"],
            "WorkingDir": "/srv",
            "Labels": {"org.example": "yes"},
            "ExposedPorts": {"80/tcp": {}},
            "StopSignal": "SIGQUIT"
        },
        "rootfs": {"type": "layers", "diff_ids": ["sha256:d1", "sha256:d2"]}
    }))
    .unwrap();
    ImageInfo {
        id: id.to_string(),
        repo_tags: tags.iter().map(|s| s.to_string()).collect(),
        repo_digests: tags
            .iter()
            .map(|t| format!("{}@sha256:abc", familiar_name(t)))
            .collect(),
        created: Some(created.to_string()),
        size: 4242,
        os: "linux".into(),
        architecture: "amd64".into(),
        variant: None,
        config,
        manifest_digest: "sha256:m".into(),
        layers: Vec::<LayerInfo>::new(),
    }
}

fn images() -> Vec<ImageInfo> {
    vec![
        image(
            "sha256:1",
            &["busybox:latest", "busybox:1.36"],
            "2024-01-01T00:00:00Z",
        ),
        image(
            "sha256:2",
            &["127.0.0.1:5000/foo/bar:v1"],
            "2024-06-01T00:00:00Z",
        ),
        image("sha256:3", &[], "2023-01-01T00:00:00Z"),
    ]
}

fn ids(v: &[ImageSummary]) -> Vec<&str> {
    v.iter().map(|s| s.id.as_str()).collect()
}

fn filters(json: &str) -> Filters {
    Filters::parse(Some(json)).unwrap()
}

#[test]
fn familiar_names() {
    assert_eq!(familiar_name("busybox:latest"), "busybox");
    assert_eq!(familiar_name("127.0.0.1:5000/foo:1"), "127.0.0.1:5000/foo");
    assert_eq!(familiar_name("127.0.0.1:5000/foo"), "127.0.0.1:5000/foo");
    assert_eq!(familiar_name("busybox@sha256:abc"), "busybox");
}

#[test]
fn list_shape_and_order() {
    let v = ApiVersion::current();
    let out = summarize(images(), &Filters::default(), &v).unwrap();
    assert_eq!(ids(&out), ["sha256:2", "sha256:1", "sha256:3"]);
    let j = serde_json::to_value(&out[1]).unwrap();
    assert_eq!(j["Id"], "sha256:1");
    assert_eq!(j["ParentId"], "");
    assert_eq!(
        j["RepoTags"],
        serde_json::json!(["busybox:latest", "busybox:1.36"])
    );
    assert_eq!(j["Created"], 1704067200);
    assert_eq!(j["Size"], 4242);
    assert_eq!(j["SharedSize"], -1);
    assert_eq!(j["Containers"], -1);
    assert_eq!(j["Labels"]["org.example"], "yes");
    // Untagged: empty lists for current clients, placeholders before API 1.43.
    assert_eq!(out[2].repo_tags, Vec::<String>::new());
    let old = summarize(images(), &Filters::default(), &ApiVersion::parse("1.41")).unwrap();
    assert_eq!(old[2].repo_tags, ["<none>:<none>"]);
    assert_eq!(old[2].repo_digests, ["<none>@<none>"]);
}

#[test]
fn reference_filter() {
    let v = ApiVersion::current();
    let out = summarize(images(), &filters(r#"{"reference":{"busybox":true}}"#), &v).unwrap();
    assert_eq!(ids(&out), ["sha256:1"]);
    assert_eq!(out[0].repo_tags.len(), 2);
    // name:tag patterns keep only the matching tag.
    let out = summarize(images(), &filters(r#"{"reference":["busybox:1.*"]}"#), &v).unwrap();
    assert_eq!(out[0].repo_tags, ["busybox:1.36"]);
    let out = summarize(images(), &filters(r#"{"reference":["*/foo/*"]}"#), &v).unwrap();
    assert_eq!(ids(&out), ["sha256:2"]);
    let out = summarize(images(), &filters(r#"{"reference":["nothing"]}"#), &v).unwrap();
    assert!(out.is_empty());
    let e = summarize(images(), &filters(r#"{"reference":["["]}"#), &v).unwrap_err();
    assert_eq!(e.status, StatusCode::BAD_REQUEST);
}

#[test]
fn dangling_filter() {
    let v = ApiVersion::current();
    let out = summarize(images(), &filters(r#"{"dangling":["true"]}"#), &v).unwrap();
    assert_eq!(ids(&out), ["sha256:3"]);
    let out = summarize(images(), &filters(r#"{"dangling":{"false":true}}"#), &v).unwrap();
    assert_eq!(ids(&out), ["sha256:2", "sha256:1"]);
    let e = summarize(images(), &filters(r#"{"label":["a"]}"#), &v).unwrap_err();
    assert_eq!(e.message, "invalid filter 'label'");
}

#[test]
fn inspect_document() {
    let img = image("sha256:1", &["busybox:latest"], "2024-01-01T00:00:00Z");
    let doc = inspect_doc(
        img,
        vec![
            PathBuf::from("/d/layers/a/diff"),
            PathBuf::from("/d/layers/b/diff"),
            PathBuf::from("/d/layers/c/diff"),
        ],
    );
    let j = serde_json::to_value(&doc).unwrap();
    assert_eq!(j["Id"], "sha256:1");
    assert_eq!(j["Created"], "2024-01-01T00:00:00Z");
    assert_eq!(j["Os"], "linux");
    assert_eq!(j["Architecture"], "amd64");
    assert_eq!(j["Size"], 4242);
    assert_eq!(j["Config"]["Cmd"], serde_json::json!(["sh"]));
    assert_eq!(j["Config"]["Env"], serde_json::json!(["PATH=/bin"]));
    assert_eq!(j["Config"]["WorkingDir"], "/srv");
    assert_eq!(j["Config"]["StopSignal"], "SIGQUIT");
    assert_eq!(
        j["Config"]["ExposedPorts"],
        serde_json::json!({"80/tcp": {}})
    );
    assert_eq!(j["RootFS"]["Type"], "layers");
    assert_eq!(
        j["RootFS"]["Layers"],
        serde_json::json!(["sha256:d1", "sha256:d2"])
    );
    assert_eq!(j["GraphDriver"]["Name"], "overlay2");
    assert_eq!(j["GraphDriver"]["Data"]["UpperDir"], "/d/layers/c/diff");
    assert_eq!(
        j["GraphDriver"]["Data"]["LowerDir"],
        "/d/layers/b/diff:/d/layers/a/diff"
    );
    assert_eq!(j["Metadata"]["LastTagTime"], "0001-01-01T00:00:00Z");
}

#[test]
fn tags() {
    assert!(valid_tag("latest") && valid_tag("1.36_x-y") && valid_tag("_a"));
    assert!(!valid_tag("") && !valid_tag("-a") && !valid_tag(".a") && !valid_tag("a/b"));
    assert!(!valid_tag(&"a".repeat(129)));
    assert_eq!(
        tag_target(None, Some("x")).unwrap_err().status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        tag_target(Some("mybox"), Some("bad tag"))
            .unwrap_err()
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        tag_target(Some("mybox"), Some("1")).unwrap().tag(),
        Some("1")
    );
    assert_eq!(
        tag_target(Some("mybox"), None).unwrap().tag(),
        Some("latest")
    );
    assert_eq!(
        tag_target(Some("mybox:2"), Some("")).unwrap().tag(),
        Some("2")
    );
    assert_eq!(
        tag_target(
            Some("mybox@sha256:0000000000000000000000000000000000000000000000000000000000000000"),
            None
        )
        .unwrap_err()
        .message,
        "refusing to create a tag with a digest reference"
    );
}
