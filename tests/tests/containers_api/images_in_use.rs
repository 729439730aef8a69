//! An image a container uses cannot be deleted from under it (dockerd's conflicts); a tag that
//! another tag shares can be removed.

use rdocker_tests::require_root;
use serde_json::json;

use crate::http::*;

#[test]
fn rmi_of_an_image_in_use_is_a_conflict() {
    require_root!();
    let (_reg, d) = setup();
    let id = create(&d, "user", json!({"Image": "busybox", "Cmd": ["true"]}));
    let short = &id[..12];
    let image = inspect(&d, &id)["Image"].as_str().unwrap().to_string();
    let image_short = &image["sha256:".len()..][..12];

    // By its only tag: 409, image intact.
    let r = api(&d, "DELETE", "/images/busybox", None);
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        format!(
            "conflict: unable to remove repository reference \"busybox\" (must force) - container {short} is using its referenced image {image_short}"
        )
    );
    // By id, even forced: 409 (a stopped container's root file system is those layers).
    let r = api(&d, "DELETE", &format!("/images/{image}?force=1"), None);
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(
        r.text()
            .contains("image is being used by stopped container"),
        "{}",
        r.text()
    );
    // A second tag can go: the image stays.
    let r = api(&d, "POST", "/images/busybox/tag?repo=other&tag=v1", None);
    assert_eq!(r.status, 201, "{}", r.text());
    let r = api(&d, "DELETE", "/images/other:v1", None);
    assert_eq!(r.status, 200, "{}", r.text());
    // The container still runs from its image.
    assert_eq!(
        api(&d, "POST", &format!("/containers/{id}/start"), None).status,
        204
    );
    let r = api(&d, "POST", &format!("/containers/{id}/wait"), None);
    assert_eq!(r.json()["StatusCode"], 0);
    // Once the container is gone the image can be deleted.
    assert_eq!(
        api(&d, "DELETE", &format!("/containers/{id}"), None).status,
        204
    );
    let r = api(&d, "DELETE", "/images/busybox", None);
    assert_eq!(r.status, 200, "{}", r.text());
}
