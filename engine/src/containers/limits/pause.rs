//! `pause` / `unpause` with the freezer, and the freezer's state for restore.

use std::sync::Arc;

use rdocker_cgroups::Cgroup;

use super::join_err;
use crate::containers::entry::Entry;
use crate::containers::error::ContainerError;
use crate::containers::record::Status;
use crate::containers::ContainerManager;

/// Whether the kernel has the cgroup frozen (v1 `freezer.state`, v2 `cgroup.freeze`).
pub fn frozen(cg: &Cgroup) -> bool {
    cg.dirs().iter().any(|d| {
        if let Ok(s) = std::fs::read_to_string(d.join("freezer.state")) {
            return matches!(s.trim(), "FROZEN" | "FREEZING");
        }
        std::fs::read_to_string(d.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1")
    })
}

impl ContainerManager {
    /// `POST /containers/{id}/pause` and `/unpause`.
    pub async fn set_paused(&self, e: &Arc<Entry>, pause: bool) -> Result<(), ContainerError> {
        let _op = e.op.lock().await;
        let c = e.rec();
        match c.state.status {
            Status::Running => {}
            Status::Restarting if pause => {
                return Err(ContainerError::Conflict(format!(
                    "Container {} is restarting, wait until the container is running",
                    e.id
                )))
            }
            _ => return Err(ContainerError::NotRunning(e.id.clone())),
        }
        if pause && c.state.paused {
            return Err(ContainerError::Conflict(format!(
                "Container {} is already paused",
                e.id
            )));
        }
        if !pause && !c.state.paused {
            return Err(ContainerError::Conflict(format!(
                "Container {} is not paused",
                e.id
            )));
        }
        let Some(cg) = self.limits.cgroup(&e.id) else {
            return Err(ContainerError::Invalid(
                "cannot pause: cgroups are not available on this host".into(),
            ));
        };
        let (dir, e2) = (self.bundle(&e.id), e.clone());
        tokio::task::spawn_blocking(move || {
            match pause {
                true => cg.freeze()?,
                false => cg.thaw()?,
            }
            e2.update(&dir, |c| c.state.paused = pause)
        })
        .await
        .map_err(join_err)??;
        self.publish(&e.rec(), if pause { "pause" } else { "unpause" }, &[]);
        Ok(())
    }

    /// After a stop or kill signal to a paused container: frozen tasks only act on (or die
    /// of) a signal once thawed, so the signal goes first and the thaw after (docker's order).
    pub(crate) async fn thaw_for_kill(&self, e: &Entry) {
        if !e.with(|c| c.state.paused) {
            return;
        }
        let Some(cg) = self.limits.cgroup(&e.id) else {
            return;
        };
        match tokio::task::spawn_blocking(move || cg.thaw()).await {
            Ok(Ok(())) => {
                let dir = self.bundle(&e.id);
                if let Err(err) = e.update(&dir, |c| c.state.paused = false) {
                    tracing::warn!("recording the unpause of {}: {err}", e.id);
                }
                self.publish(&e.rec(), "unpause", &[]);
            }
            Ok(Err(err)) => tracing::warn!("thawing {} to signal it: {err}", e.id),
            Err(err) => tracing::warn!("thawing {} to signal it: {err}", e.id),
        }
    }

    /// Restore of a running container: the record follows the freezer (a paused container
    /// stays paused across a daemon restart).
    pub(crate) async fn restore_paused(&self, e: &Arc<Entry>) {
        let Some(cg) = self.limits.cgroup(&e.id) else {
            return;
        };
        let is_frozen = tokio::task::spawn_blocking(move || frozen(&cg))
            .await
            .unwrap_or(false);
        if e.with(|c| c.state.paused) != is_frozen {
            let dir = self.bundle(&e.id);
            if let Err(err) = e.update(&dir, |c| c.state.paused = is_frozen) {
                tracing::warn!("recording the pause state of {}: {err}", e.id);
            }
        }
    }
}
