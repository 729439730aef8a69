//! Start-up: load every container record, re-adopt the ones whose shim still runs (live
//! restore), record the exit of the ones whose shim died, apply restart policies.

use std::sync::Arc;

use bollard_stubs::models::RestartPolicyNameEnum;
use serde_json::json;

use super::entry::Entry;
use super::record::{Container, MountKind, Status};
use super::shim::{self, Exit, WaitConn};
use super::ContainerManager;

impl ContainerManager {
    /// Loads the records (blocking I/O on the blocking pool), then reconnects.
    pub async fn load(self: &Arc<Self>) {
        let root = self.root.clone();
        let records = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            let Ok(rd) = std::fs::read_dir(&root) else {
                return out;
            };
            for d in rd.flatten() {
                let path = d.path();
                match Container::load(&path) {
                    Ok(c) => out.push(c),
                    Err(e) => tracing::warn!("skipping container {}: {e}", path.display()),
                }
            }
            out
        })
        .await
        .unwrap_or_default();
        // Networking first: bridges and rules in place, leftovers of containers that are
        // gone swept (containers recorded as running keep theirs; a dead one is unwired by
        // its exit handling below).
        let running: Vec<String> = records
            .iter()
            .filter(|c| c.running())
            .map(|c| c.id.clone())
            .collect();
        if let Err(err) = self.network.init(&running).await {
            tracing::error!("networking: {err}");
        }
        let mut entries = Vec::new();
        for c in records {
            for m in c.mounts.iter().filter(|m| m.kind == MountKind::Volume) {
                self.volumes.acquire(&m.source, &c.id);
            }
            entries.push(self.insert(c));
        }
        for e in entries {
            let mgr = self.clone();
            // Each on its own: one stuck shim must not delay the others or the daemon.
            tokio::spawn(async move { mgr.restore(e).await });
        }
    }

    async fn restore(self: Arc<Self>, e: Arc<Entry>) {
        let c = e.rec();
        if !c.running() {
            let _op = e.op.lock().await;
            // A cgroup left by a daemon that died before handling the exit.
            self.cgroup_remove(&e.id).await;
            if c.host_config.auto_remove.unwrap_or(false) && c.state.status == Status::Exited {
                self.forget(&e, true).await;
            } else if c.state.status == Status::Exited
                && match c.restart_policy().0 {
                    RestartPolicyNameEnum::ALWAYS => true,
                    RestartPolicyNameEnum::UNLESS_STOPPED => !c.manually_stopped,
                    _ => false,
                }
            {
                // As dockerd at start-up: "always" ones run again even after a manual stop,
                // "unless-stopped" ones only when they were not stopped by hand.
                if let Err(err) = self.start_locked(&e).await {
                    tracing::warn!("restarting {} at start-up: {err}", e.id);
                }
            }
            return;
        }
        let run_dir = self.run_dir(&e.id);
        let state = shim::ctl(&run_dir, json!({"op": "state"})).await;
        if let Ok(st) = &state {
            if st.get("status").and_then(|s| s.as_str()) == Some("running") {
                if let Ok(w) = WaitConn::open(&run_dir).await {
                    tracing::info!("live restore: re-adopted container {}", e.id);
                    let c = e.rec();
                    if let Err(err) = self
                        .network
                        .restore_container(&c, &self.bundle(&e.id))
                        .await
                    {
                        tracing::warn!("live restore: network of {}: {err}", e.id);
                    }
                    e.gate().open = true;
                    self.restore_paused(&e).await;
                    e.running.send_replace(true);
                    self.monitor(e, w).await;
                    return;
                }
            }
        }
        let exit = match shim::read_state(&self.bundle(&e.id)) {
            Some(s) if s.status == "exited" => Exit {
                exit_code: s.exit_code.unwrap_or(137),
                finished_at: s.finished_at,
            },
            _ => Exit {
                exit_code: 137,
                finished_at: None,
            },
        };
        tracing::info!(
            "live restore: container {} exited while the daemon was away (code {})",
            e.id,
            exit.exit_code
        );
        // on_exit applies on-failure / always policies like any exit.
        self.on_exit(&e, exit).await;
    }
}
