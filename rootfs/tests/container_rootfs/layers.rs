//! Overlay edge cases: more layers than fit in one page of mount(2) data (the new mount API's
//! `lowerdir+`), and the classic mount(2) path older kernels take.

use std::fs;
use std::path::{Path, PathBuf};

use crate::fixture::overlay_annotations;
use crate::util::{unshare_mount_ns, Checks};

const LAYERS: usize = 40;

fn layer_dirs(t: &Path) -> Vec<PathBuf> {
    let long = "l".repeat(100);
    (0..LAYERS)
        .map(|i| t.join("layers").join(format!("{long}-{i:02}")))
        .collect()
}

/// Layer 0 is the topmost: every layer has `f<i>` and its own version of `who`.
pub fn build(t: &Path) {
    for (i, dir) in layer_dirs(t).iter().enumerate() {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join(format!("f{i}")), "x").unwrap();
        fs::write(dir.join("who"), i.to_string()).unwrap();
    }
    for d in [
        "many/upper",
        "many/work",
        "many/rootfs",
        "legacy/rootfs",
        "toolong/rootfs",
    ] {
        fs::create_dir_all(t.join(d)).unwrap();
    }
}

fn spec(lower: &[PathBuf], upper: &Path, work: &Path, root: &Path) -> oci_spec::runtime::Spec {
    serde_json::from_value(serde_json::json!({
        "ociVersion": "1.0.2",
        "root": {"path": root},
        "annotations": overlay_annotations(lower, upper, work),
    }))
    .unwrap()
}

fn check_merged(c: &mut Checks, root: &Path, layers: usize, what: &str) {
    for i in 0..layers {
        c.check(
            root.join(format!("f{i}")).is_file(),
            format!("{what}: f{i} missing"),
        );
    }
    let who = fs::read_to_string(root.join("who")).unwrap_or_default();
    c.check(
        who == "0",
        format!("{what}: topmost layer must win, got {who:?}"),
    );
}

pub fn child(t: &Path) -> i32 {
    unshare_mount_ns();
    let mut c = Checks::default();
    let lower = layer_dirs(t);
    let data_len: usize = lower.iter().map(|p| p.as_os_str().len() + 1).sum();
    c.check(
        data_len > 4096,
        format!("fixture too small: {data_len} bytes"),
    );

    // Through prepare: lowerdir+ per layer.
    let root = t.join("many/rootfs");
    let s = spec(&lower, &t.join("many/upper"), &t.join("many/work"), &root);
    match rdocker_rootfs::prepare(&s, t) {
        Ok(r) => {
            check_merged(&mut c, &r, LAYERS, "40 layers");
            c.check(
                fs::write(r.join("new"), "n").is_ok(),
                "write to the overlay",
            );
            c.check(t.join("many/upper/new").is_file(), "write landed in upper");
        }
        Err(e) => c.check(false, format!("prepare with {LAYERS} layers: {e}")),
    }

    // The mount(2) fallback: a read-only overlay of a few layers fits in a page.
    let few = &lower[..3];
    let legacy: oci_spec::runtime::Spec = serde_json::from_value(serde_json::json!({
        "ociVersion": "1.0.2",
        "root": {"path": t.join("legacy/rootfs")},
        "annotations": {"io.rdocker.overlay.lowerdir": serde_json::to_string(few).unwrap()},
    }))
    .unwrap();
    match rdocker_rootfs::mount_overlay_legacy(&legacy, &t.join("legacy/rootfs")) {
        Ok(()) => check_merged(&mut c, &t.join("legacy/rootfs"), 3, "legacy mount(2)"),
        Err(e) => c.check(false, format!("legacy overlay mount: {e}")),
    }
    // …and refuses, with a clear message, what does not fit.
    let too_long = spec(
        &lower,
        &t.join("many/upper"),
        &t.join("many/work"),
        &t.join("toolong/rootfs"),
    );
    match rdocker_rootfs::mount_overlay_legacy(&too_long, &t.join("toolong/rootfs")) {
        Ok(()) => c.check(false, "legacy overlay beyond one page must be refused"),
        Err(e) => c.check(e.to_string().contains("4095-byte"), format!("unclear: {e}")),
    }
    c.exit_code("layers")
}
