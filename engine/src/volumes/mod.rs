//! Named and anonymous volumes under `<data-root>/volumes/<name>/_data`.

use std::path::PathBuf;

pub struct VolumeStore {
    pub root: PathBuf,
}
