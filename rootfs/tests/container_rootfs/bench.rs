//! How long prepare + pivot take for a busybox-like spec (the engine's default mounts plus the
//! /etc/hosts, /etc/hostname and /etc/resolv.conf binds). Printed, never asserted.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::fixture;

const RUNS: usize = 15;

pub fn run(t: &Path) {
    let b = t.join("bench");
    fixture::busybox_layer(&b.join("layer"));
    for f in ["hosts", "hostname", "resolv.conf"] {
        fs::write(b.join(f), "x\n").unwrap();
    }
    let mut micros = Vec::new();
    for i in 0..RUNS {
        let run = b.join(format!("run{i}"));
        for d in ["upper", "work", "rootfs"] {
            fs::create_dir_all(run.join(d)).unwrap();
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .env(crate::ROLE, "bench")
            .env(crate::DIR, &run)
            .output()
            .unwrap();
        assert!(out.status.success(), "bench run {i} failed: {out:?}");
        let us: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        micros.push(us);
    }
    micros.sort_unstable();
    eprintln!(
        "  busybox-like prepare+pivot over {RUNS} runs: min {} µs, median {} µs, max {} µs",
        micros[0],
        micros[RUNS / 2],
        micros[RUNS - 1]
    );
}

pub fn child(run: &Path) -> i32 {
    crate::util::unshare_mount_ns();
    let b = run.parent().unwrap();
    let mut mounts = fixture::docker_default_mounts();
    for f in ["hosts", "hostname", "resolv.conf"] {
        mounts.push(
            serde_json::json!({"destination": format!("/etc/{f}"), "type": "bind",
            "source": b.join(f), "options": ["rbind", "rprivate"]}),
        );
    }
    let lower: Vec<PathBuf> = vec![b.join("layer")];
    let spec = serde_json::json!({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs"},
        "annotations": fixture::overlay_annotations(&lower, &run.join("upper"), &run.join("work")),
        "mounts": mounts,
    });
    let spec: oci_spec::runtime::Spec = serde_json::from_value(spec).unwrap();
    let t0 = Instant::now();
    let res = rdocker_rootfs::prepare(&spec, run).and_then(|root| rdocker_rootfs::pivot(&root));
    let elapsed = t0.elapsed();
    match res {
        Ok(()) => {
            println!("{}", elapsed.as_micros());
            0
        }
        Err(e) => {
            eprintln!("FAIL: bench prepare/pivot: {e}");
            1
        }
    }
}
