//! `docker rmi` semantics on the index (daemon/images/image_delete.go): untag a reference; delete
//! the image once nothing names it; refuse, without force, to delete by id an image that several
//! repositories reference. Pure logic: the caller deletes files after the index is written.

use crate::index::{familiar, ref_name, ImageRecord, IndexFile, Matched};
use crate::{RemoveAction, StoreError};

#[derive(Debug)]
pub struct RemovePlan {
    pub actions: Vec<RemoveAction>,
    /// Set when the image itself goes away (its record, as it was).
    pub deleted: Option<ImageRecord>,
}

pub fn plan_remove(
    file: &mut IndexFile,
    name_or_id: &str,
    force: bool,
) -> Result<RemovePlan, StoreError> {
    let (img, matched) = file.resolve(name_or_id)?;
    let id = img.id.clone();
    let mut actions = Vec::new();
    let Some(img) = file.images.get_mut(&id) else {
        return Err(StoreError::NoSuchImage(name_or_id.to_string()));
    };

    match matched {
        Matched::Tag(full) | Matched::Digest(full) => {
            let was_tag = img.repo_tags.contains(&full);
            img.repo_tags.retain(|t| t != &full);
            img.repo_digests.retain(|t| t != &full);
            actions.push(RemoveAction::Untagged(familiar(&full)));
            // A removed tag was the last one of its repository: its digest refs go too.
            let name = ref_name(&full).to_string();
            if was_tag && !img.repo_tags.iter().any(|t| ref_name(t) == name) {
                let (gone, kept): (Vec<String>, Vec<String>) = img
                    .repo_digests
                    .drain(..)
                    .partition(|d| ref_name(d) == name);
                img.repo_digests = kept;
                actions.extend(gone.iter().map(|d| RemoveAction::Untagged(familiar(d))));
            }
            if !img.repo_tags.is_empty() || !img.repo_digests.is_empty() {
                return Ok(RemovePlan {
                    actions,
                    deleted: None,
                });
            }
        }
        Matched::Id => {
            if !force && !single_repository(img) {
                return Err(StoreError::Conflict(format!(
                    "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                    short_id(&id)
                )));
            }
            for r in img.repo_tags.drain(..).chain(img.repo_digests.drain(..)) {
                actions.push(RemoveAction::Untagged(familiar(&r)));
            }
        }
    }

    let deleted = file.images.remove(&id);
    actions.push(RemoveAction::Deleted(id));
    Ok(RemovePlan { actions, deleted })
}

/// Docker's `isSingleReference`: at most one tag, and every reference in one repository.
fn single_repository(img: &ImageRecord) -> bool {
    if img.repo_tags.len() > 1 {
        return false;
    }
    let mut names = img
        .repo_tags
        .iter()
        .chain(img.repo_digests.iter())
        .map(|r| ref_name(r));
    match names.next() {
        None => true,
        Some(first) => names.all(|n| n == first),
    }
}

/// 12 hex characters, as `docker images` shows ids.
pub fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}
