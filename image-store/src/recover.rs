//! Start-up cleanup of what a crash (or kill) during a pull or rmi left behind. Everything the
//! index does not reach is debris: blob and layer temp dirs, unmarked layer dirs, committed
//! layers and blobs of pulls that never got recorded. Runs before any pull can start.

use std::fs;
use std::path::Path;

use crate::content::ContentStore;
use crate::error::io_err;
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
