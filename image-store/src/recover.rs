//! Start-up cleanup of what a crash (or kill) during a pull or rmi left behind. Everything the
//! index does not reach is debris: blob and layer temp dirs, unmarked layer dirs, committed
//! layers and blobs of pulls that never got recorded. Runs before any pull can start.
//!
//! First, layers committed but not yet flushed (`unsynced_boot_id` in their marker; commits
//! no longer `syncfs` inline, see `layers.rs`). Same boot id: only the process died, the
//! kernel's page cache still holds the tree, so one `syncfs` makes them durable. Another boot
//! id: the machine restarted before the flush and the tree may be garbage, so the layer goes,
//! and with it every image using it — an image is absent or whole after a crash, never
//! half-there. The sweep below then removes what only those images used.

use std::fs;
use std::path::Path;

use crate::content::ContentStore;
use crate::error::io_err;
use crate::flush::boot_id;
use crate::fsutil::remove_tree;
use crate::index::Index;
use crate::layers::{LayerStore, TMP_PREFIX};
use crate::StoreError;

pub fn recover(
    root: &Path,
    content: &ContentStore,
    layers: &LayerStore,
    index: &Index,
) -> Result<Vec<String>, StoreError> {
    let mut actions = Vec::new();

    // Temp files of atomic writes (images.json) in the root.
    for e in fs::read_dir(root).map_err(io_err("read dir", root))? {
        let e = e.map_err(io_err("read dir", root))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(".tmp-") {
            remove_tree(&e.path())?;
            actions.push(format!("removed temporary file {name}"));
        }
    }

    let tmp = content.tmp_dir();
    for e in fs::read_dir(&tmp).map_err(io_err("read dir", &tmp))? {
        let e = e.map_err(io_err("read dir", &tmp))?;
        remove_tree(&e.path())?;
        actions.push(format!(
            "removed temporary blob blobs/tmp/{}",
            e.file_name().to_string_lossy()
        ));
    }

    recover_unsynced(layers, index, &mut actions)?;

    let (used_chains, used_dirs, used_blobs) = index.read(|f| {
        let dirs: std::collections::HashSet<String> = f
            .images
            .values()
            .flat_map(|i| i.layers.iter().map(|l| l.dir.clone()))
            .collect();
        let chains: std::collections::HashSet<String> =
            f.used_chain_ids().into_iter().map(str::to_string).collect();
        let blobs: std::collections::HashSet<String> =
            f.used_blobs().into_iter().map(str::to_string).collect();
        (chains, dirs, blobs)
    });

    for name in layers.entries()? {
        let path = layers.dir().join(&name);
        if name.starts_with(TMP_PREFIX) {
            remove_tree(&path)?;
            actions.push(format!("removed incomplete layer layers/{name}"));
            continue;
        }
        match layers.read_marker(&name) {
            None => {
                remove_tree(&path)?;
                actions.push(format!("removed incomplete layer layers/{name}"));
            }
            Some(m) if !used_chains.contains(&m.chain_id) || !used_dirs.contains(&name) => {
                layers.remove(&name)?;
                actions.push(format!("removed unreferenced layer layers/{name}"));
            }
            Some(_) => {}
        }
    }

    for d in content.list()? {
        if !used_blobs.contains(&d) {
            content.delete(&d)?;
            let hex = d.trim_start_matches("sha256:");
            actions.push(format!("removed unreferenced blob blobs/sha256/{hex}"));
        }
    }

    // Images whose layers vanished cannot run; say so (a new pull repairs them).
    index.read(|f| {
        for img in f.images.values() {
            for l in &img.layers {
                if layers.read_marker(&l.dir).is_none() {
                    actions.push(format!(
                        "image {} is missing layer layers/{}: pull it again",
                        img.id, l.dir
                    ));
                }
            }
        }
    });
    Ok(actions)
}

/// Layers whose flush had not happened when the process (or the machine) stopped.
fn recover_unsynced(
    layers: &LayerStore,
    index: &Index,
    actions: &mut Vec<String>,
) -> Result<(), StoreError> {
    let current = boot_id();
    let mut same = Vec::new();
    let mut lost = Vec::new();
    for name in layers.entries()? {
        if name.starts_with(TMP_PREFIX) {
            continue;
        }
        let Some(m) = layers.read_marker(&name) else {
            continue;
        };
        match m.unsynced_boot_id.as_deref() {
            None => {}
            Some(b) if Some(b) == current => same.push((name, m.chain_id)),
            // Rebooted since, or the boot id is unreadable now: nothing vouches for the tree.
            Some(_) => lost.push((name, m.chain_id)),
        }
    }
    if !same.is_empty() {
        layers.sync_all()?;
        for (name, chain_id) in &same {
            layers.mark_synced(name, chain_id)?;
            actions.push(format!(
                "synced layer layers/{name} left unsynced by a crash"
            ));
        }
    }
    if lost.is_empty() {
        return Ok(());
    }
    let doomed = |f: &crate::index::IndexFile| -> Vec<String> {
        f.images
            .values()
            .filter(|i| {
                i.layers
                    .iter()
                    .any(|l| lost.iter().any(|(n, c)| l.dir == *n && l.chain_id == *c))
            })
            .map(|i| i.id.clone())
            .collect()
    };
    // Index first: a crash in between leaves a layer that the next start removes again, never
    // a recorded image whose layer is gone.
    let removed = if index.read(|f| doomed(f).is_empty()) {
        Vec::new()
    } else {
        index.update(|f| {
            let ids = doomed(f);
            f.images.retain(|id, _| !ids.contains(id));
            Ok(ids)
        })?
    };
    for (name, _) in &lost {
        layers.remove(name)?;
        actions.push(format!(
            "removed layer layers/{name} not flushed before a reboot"
        ));
    }
    for id in removed {
        actions.push(format!(
            "removed image {id} whose layer was not flushed before a reboot"
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "recover_tests.rs"]
mod tests;
