//! start, exit handling, stop, kill, restart, remove, restart policies.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bollard_stubs::models::RestartPolicyNameEnum;
use serde_json::json;

use super::entry::{Entry, ExitGen};
use super::error::ContainerError;
use super::record::{Container, Status};
use super::shim::{self, WaitConn};
use super::{prepare, signal, ContainerManager};
use crate::fsutil::{now_rfc3339, parse_time};

/// How long `stop` waits for the exit after SIGKILL before giving up on the answer.
const KILL_WAIT: Duration = Duration::from_secs(30);
/// Docker resets the restart back-off once a container ran this long.
const BACKOFF_RESET: Duration = Duration::from_secs(10);

fn blocking_err(e: tokio::task::JoinError) -> ContainerError {
    ContainerError::Shim(format!("internal error: {e}"))
}

impl ContainerManager {
    /// `POST /containers/{id}/start`.
    pub async fn start(self: &Arc<Self>, e: &Arc<Entry>) -> Result<(), ContainerError> {
        let _op = e.op.lock().await;
        if *e.removed.borrow() {
            return Err(ContainerError::NotFound(e.id.clone()));
        }
        if e.with(|c| c.state.paused) {
            return Err(ContainerError::Conflict(
                "cannot start a paused container, try unpause instead".into(),
            ));
        }
        if e.with(Container::running) {
            return Err(ContainerError::NotModified);
        }
        let r = self.start_locked(e).await;
        // As dockerd: a `--rm` container that cannot start is removed (the CLI waits for it).
        if r.is_err() && e.with(|c| c.host_config.auto_remove.unwrap_or(false)) {
            self.forget(e, true).await;
        }
        r
    }

    /// Boxed: a restart policy starts the container again from the exit handler, a cycle the
    /// compiler can only check for `Send` through a named future type.
    pub(crate) fn start_locked<'a>(
        self: &'a Arc<Self>,
        e: &'a Arc<Entry>,
    ) -> futures_util::future::BoxFuture<'a, Result<(), ContainerError>> {
        Box::pin(self.start_inner(e))
    }

    /// The cgroup first (limits in force before any container process exists), removed
    /// again when anything after it fails: a failed start leaves nothing behind.
    async fn start_inner(self: &Arc<Self>, e: &Arc<Entry>) -> Result<(), ContainerError> {
        let t0 = std::time::Instant::now();
        let t_cgroup = self.cgroup_create(&e.rec()).await?;
        let r = self.start_in_cgroup(e, t0, t_cgroup).await;
        if r.is_err() {
            self.cgroup_remove(&e.id).await;
            self.net_down(&e.id).await;
        }
        r
    }

    async fn start_in_cgroup(
        self: &Arc<Self>,
        e: &Arc<Entry>,
        t0: std::time::Instant,
        t_cgroup: Duration,
    ) -> Result<(), ContainerError> {
        let c = e.rec();
        let (bundle, run_dir) = (self.bundle(&e.id), self.run_dir(&e.id));
        let (store, volumes) = (self.store.clone(), self.volumes.clone());
        let (b, r, image) = (bundle.clone(), run_dir.clone(), c.image_id.clone());
        let c2 = c.clone();
        let t_net = std::time::Instant::now();
        let net = self.net_up(&c).await?;
        let t_net = t_net.elapsed();
        let ctx = prepare::BundleCtx {
            security: self.security.clone(),
            cgroup_dirs: self.limits.cgroup_dirs(&e.id),
            net: Some(net),
        };
        let mut step_times = tokio::task::spawn_blocking(move || {
            let lower = store.layer_dirs(&image)?;
            prepare::bundle(&c2, &b, &r, &lower, &volumes, &ctx)
        })
        .await
        .map_err(blocking_err)??;
        step_times.insert("cgroup", t_cgroup);
        step_times.insert("network", t_net);

        let t_bundle = t0.elapsed();

        let args = shim::container_args(&e.id, &bundle, &run_dir);
        let spawned = match shim::spawn(&self.shim, &args, &run_dir).await {
            Ok(s) => s,
            Err(err) => {
                e.gate().pending.clear();
                return Err(self.start_failed(e, err).await);
            }
        };
        let t_created = t0.elapsed();
        // Attach clients first, then the process runs: `run` never loses early output.
        let pending = {
            let mut g = e.gate();
            g.open = true;
            std::mem::take(&mut g.pending)
        };
        for p in pending {
            match shim::attach(&run_dir, &p.hello).await {
                Ok(s) => {
                    let _ = p.tx.send(s);
                }
                Err(err) => tracing::warn!("attaching to {}: {err}", e.id),
            }
        }
        let waiter = WaitConn::open(&run_dir).await;
        let started = shim::ctl(&run_dir, json!({"op": "start"})).await;
        let failure = match (&waiter, started) {
            (Err(_), _) | (_, Err(_)) => Some(ContainerError::StartFailed {
                message: "rdocker-shim stopped answering on start".into(),
                exit_code: 125,
            }),
            (Ok(_), Ok(v)) => {
                shim::check(&v)
                    .err()
                    .map(|(message, code)| ContainerError::StartFailed {
                        message,
                        exit_code: code.unwrap_or(125),
                    })
            }
        };
        if let Some(err) = failure {
            e.gate().open = false;
            if let Err(k) = shim::kill(&run_dir, 9).await {
                tracing::debug!("cleaning up a failed start: {k}");
            }
            return Err(self.start_failed(e, err).await);
        }
        let Ok(waiter) = waiter else {
            return Err(ContainerError::Shim("no wait connection".into()));
        };
        let t_exec = t0.elapsed();
        let dir = bundle.clone();
        let pid = spawned.pid;
        let e2 = e.clone();
        tokio::task::spawn_blocking(move || {
            e2.update(&dir, |c| {
                c.state.status = Status::Running;
                c.state.pid = pid;
                c.state.exit_code = 0;
                c.state.error.clear();
                c.state.oom_killed = false;
                c.state.paused = false;
                c.state.started_at = Some(now_rfc3339());
                c.state
                    .finished_at
                    .get_or_insert_with(|| crate::fsutil::ZERO_TIME.to_string());
                c.manually_stopped = false;
            })
        })
        .await
        .map_err(blocking_err)??;
        e.running.send_replace(true);
        self.publish(&e.rec(), "start", &[]);
        // The start path split by step (examples/bench-run reads these from a `-D` daemon):
        // bundle = cgroup, dirs, /etc files and config.json; create = the shim until its
        // {"pid"} line (namespaces, overlay and mounts, pivot_root, user, PATH lookup); exec =
        // attach connections and "start" until execve succeeded; record = container.json.
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        // Sub-steps: the engine's (bundle preparation) and the init's (shim handshake, µs).
        let mut detail = String::new();
        for (k, d) in &step_times {
            detail.push_str(&format!(" {k}={:.2}ms", ms(*d)));
        }
        for (k, us) in &spawned.timings_us {
            detail.push_str(&format!(" init.{k}={:.2}ms", *us as f64 / 1e3));
        }
        tracing::debug!(
            "container {} start timings: bundle={:.2}ms create={:.2}ms exec={:.2}ms record={:.2}ms{detail}",
            &e.id[..12],
            ms(t_bundle),
            ms(t_created - t_bundle),
            ms(t_exec - t_created),
            ms(t0.elapsed() - t_exec),
        );
        let (mgr, e) = (self.clone(), e.clone());
        tokio::spawn(async move { mgr.monitor(e, waiter).await });
        Ok(())
    }

    /// Records a failed start as dockerd does (exit code and error; status unchanged unless it
    /// was restarting) and returns the error for the client.
    async fn start_failed(&self, e: &Arc<Entry>, err: ContainerError) -> ContainerError {
        if let ContainerError::StartFailed { message, exit_code } = &err {
            let (m, code) = (message.clone(), *exit_code);
            let dir = self.bundle(&e.id);
            let e2 = e.clone();
            let saved = tokio::task::spawn_blocking(move || {
                e2.update(&dir, |c| {
                    c.state.exit_code = code;
                    c.state.error = m;
                    if c.state.status != Status::Created {
                        c.state.status = Status::Exited;
                        c.state.pid = 0;
                        c.state.finished_at = Some(now_rfc3339());
                    }
                })
            })
            .await;
            if let Ok(Err(s)) | Err(s) = saved.map_err(blocking_err) {
                tracing::warn!("recording the failed start of {}: {s}", e.id);
            }
            e.running.send_replace(false);
        }
        err
    }

    /// Waits for the exit the shim reports (or its death) and handles it.
    pub(crate) async fn monitor(self: Arc<Self>, e: Arc<Entry>, waiter: WaitConn) {
        let exit = match waiter.exit().await {
            Some(x) => x,
            None => {
                // The shim died: its state.json may still have the exit; else PDEATHSIG
                // killed the container with SIGKILL.
                let st = shim::read_state(&self.bundle(&e.id));
                match st {
                    Some(s) if s.status == "exited" => shim::Exit {
                        exit_code: s.exit_code.unwrap_or(137),
                        finished_at: s.finished_at,
                    },
                    _ => shim::Exit {
                        exit_code: 137,
                        finished_at: None,
                    },
                }
            }
        };
        self.on_exit(&e, exit).await;
    }

    pub(crate) async fn on_exit(self: &Arc<Self>, e: &Arc<Entry>, exit: shim::Exit) {
        e.gate().open = false;
        let code = exit.exit_code;
        let finished = exit.finished_at.unwrap_or_else(now_rfc3339);
        let c = e.rec();
        let (policy, max) = c.restart_policy();
        let ran = c
            .state
            .started_at
            .as_deref()
            .and_then(parse_time)
            .zip(parse_time(&finished))
            .map(|(s, f)| (f - s).to_std().unwrap_or_default())
            .unwrap_or_default();
        if ran >= BACKOFF_RESET {
            e.backoff_ms.store(0, Ordering::Relaxed);
        }
        let restart = !c.manually_stopped
            && !*e.removed.borrow()
            && match policy {
                RestartPolicyNameEnum::ALWAYS | RestartPolicyNameEnum::UNLESS_STOPPED => true,
                RestartPolicyNameEnum::ON_FAILURE => {
                    code != 0 && (max == 0 || c.restart_count < max)
                }
                _ => false,
            };
        // Read before the cgroup goes; removed before waiters learn of the exit, so a
        // restart right after never meets the old cgroup.
        let oom = self.cgroup_oom_kills(&e.id).await > 0;
        self.cgroup_remove(&e.id).await;
        self.net_down(&e.id).await;
        let dir = self.bundle(&e.id);
        let e2 = e.clone();
        let fin = finished.clone();
        let auto_remove = c.host_config.auto_remove.unwrap_or(false);
        let saved = tokio::task::spawn_blocking(move || {
            let set = |c: &mut Container| {
                c.state.status = if restart {
                    Status::Restarting
                } else {
                    Status::Exited
                };
                c.state.exit_code = code;
                c.state.pid = 0;
                c.state.finished_at = Some(fin);
                c.state.oom_killed = oom;
                c.state.paused = false;
            };
            // An auto-remove container is deleted next; after a crash in between, restore
            // finds its shim gone and removes it then.
            if auto_remove {
                e2.update_volatile(set);
                Ok(())
            } else {
                e2.update(&dir, set)
            }
        })
        .await;
        if let Ok(Err(s)) | Err(s) = saved.map_err(blocking_err) {
            tracing::warn!("recording the exit of {}: {s}", e.id);
        }
        e.running.send_replace(restart);
        e.exits.send_modify(|x| {
            *x = ExitGen {
                gen: x.gen + 1,
                code,
            }
        });
        if oom {
            self.publish(&e.rec(), "oom", &[]);
        }
        self.publish(&e.rec(), "die", &[("exitCode", code.to_string())]);
        let _ = std::fs::remove_file(self.run_dir(&e.id).join("shim.log"));
        if auto_remove {
            let (mgr, e) = (self.clone(), e.clone());
            tokio::spawn(async move {
                let _op = e.op.lock().await;
                if !*e.removed.borrow() && !e.with(Container::running) {
                    mgr.forget(&e, true).await;
                }
            });
        } else if restart {
            let delay = Duration::from_millis(e.next_backoff());
            let (mgr, e) = (self.clone(), e.clone());
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _op = e.op.lock().await;
                let c = e.rec();
                if *e.removed.borrow() || c.manually_stopped || c.state.status != Status::Restarting
                {
                    return;
                }
                let dir = mgr.bundle(&e.id);
                if let Err(err) = e.update(&dir, |c| c.restart_count += 1) {
                    tracing::warn!("{err}");
                }
                match mgr.start_locked(&e).await {
                    Ok(()) => mgr.publish(&e.rec(), "restart", &[]),
                    Err(err) => tracing::warn!("restarting {}: {err}", e.id),
                }
            });
        }
    }

    /// Waits for the exit after `gen0` (bounded when `limit` is set). True when it came.
    async fn wait_exit(e: &Entry, gen0: u64, limit: Option<Duration>) -> bool {
        let mut rx = e.exits.subscribe();
        let fut = rx.wait_for(|x| x.gen != gen0);
        match limit {
            Some(d) => matches!(tokio::time::timeout(d, fut).await, Ok(Ok(_))),
            None => fut.await.is_ok(),
        }
    }

    /// Stop signal, up to `timeout` seconds (negative: forever), then SIGKILL (op held).
    async fn stop_locked(&self, e: &Entry, timeout: Option<i64>, sig: Option<i32>) {
        let c = e.rec();
        let run_dir = self.run_dir(&e.id);
        let sig = sig
            .or_else(|| c.config.stop_signal.as_deref().and_then(signal::parse))
            .unwrap_or(15);
        let t = timeout.or(c.config.stop_timeout).unwrap_or(10);
        let gen0 = e.exits.borrow().gen;
        if !e.with(Container::running) {
            return;
        }
        self.publish(&c, "kill", &[("signal", sig.to_string())]);
        if let Err(err) = shim::kill(&run_dir, sig).await {
            tracing::debug!("stop signal to {}: {err}", e.id);
        }
        // A frozen process only sees the signal once thawed (dockerd resumes it here too).
        self.thaw_for_kill(e).await;
        let limit = (t >= 0).then(|| Duration::from_secs(t as u64));
        if sig != 9 && !Self::wait_exit(e, gen0, limit).await {
            self.publish(&c, "kill", &[("signal", "9".to_string())]);
            if let Err(err) = shim::kill(&run_dir, 9).await {
                tracing::debug!("SIGKILL to {}: {err}", e.id);
            }
            self.thaw_for_kill(e).await;
        }
        if e.with(Container::running) && !Self::wait_exit(e, gen0, Some(KILL_WAIT)).await {
            tracing::warn!("container {} did not exit after SIGKILL", e.id);
        }
    }

    /// Sets docker's "manually stopped" flag; a restarting container just stops restarting.
    /// Returns false when nothing runs any more.
    fn mark_stopped(&self, e: &Entry) -> Result<bool, ContainerError> {
        let dir = self.bundle(&e.id);
        let mut was_restarting = false;
        e.update(&dir, |c| {
            c.manually_stopped = true;
            if c.state.status == Status::Restarting {
                was_restarting = true;
                c.state.status = Status::Exited;
            }
        })?;
        if was_restarting {
            e.running.send_replace(false);
        }
        Ok(!was_restarting)
    }

    /// `POST /containers/{id}/stop`.
    pub async fn stop(
        &self,
        e: &Arc<Entry>,
        timeout: Option<i64>,
        sig: Option<i32>,
    ) -> Result<(), ContainerError> {
        let _op = e.op.lock().await;
        if !e.with(Container::running) {
            return Err(ContainerError::NotModified);
        }
        if self.mark_stopped(e)? {
            self.stop_locked(e, timeout, sig).await;
        }
        self.publish(&e.rec(), "stop", &[]);
        Ok(())
    }

    /// `POST /containers/{id}/restart`.
    pub async fn restart(
        self: &Arc<Self>,
        e: &Arc<Entry>,
        timeout: Option<i64>,
        sig: Option<i32>,
    ) -> Result<(), ContainerError> {
        let _op = e.op.lock().await;
        if e.with(Container::running) && self.mark_stopped(e)? {
            self.stop_locked(e, timeout, sig).await;
        }
        self.start_locked(e).await?;
        self.publish(&e.rec(), "restart", &[]);
        Ok(())
    }

    /// `POST /containers/{id}/kill`.
    pub async fn kill(&self, e: &Arc<Entry>, sig: i32) -> Result<(), ContainerError> {
        let c = e.rec();
        if c.state.status != Status::Running {
            return Err(ContainerError::NotRunning(e.id.clone()));
        }
        let dir = self.bundle(&e.id);
        e.update(&dir, |c| c.manually_stopped = true)?;
        self.publish(&c, "kill", &[("signal", sig.to_string())]);
        let sent = shim::kill(&self.run_dir(&e.id), sig).await;
        // dockerd resumes a paused container after SIGKILL or its stop signal (any signal
        // when none is configured): the process must be able to act on it.
        let stop_sig = c.config.stop_signal.as_deref().and_then(signal::parse);
        if sig == 9 || stop_sig.is_none_or(|s| s == sig) {
            self.thaw_for_kill(e).await;
        }
        match sent {
            Ok(()) => Ok(()),
            Err(_) if !e.with(Container::running) => Err(ContainerError::NotRunning(e.id.clone())),
            Err(err) => Err(err),
        }
    }

    /// `DELETE /containers/{id}`.
    pub async fn remove(
        &self,
        e: &Arc<Entry>,
        force: bool,
        volumes: bool,
    ) -> Result<(), ContainerError> {
        let _op = e.op.lock().await;
        if *e.removed.borrow() {
            return Err(ContainerError::NotFound(e.id.clone()));
        }
        let c = e.rec();
        if c.running() {
            if !force {
                return Err(ContainerError::Conflict(format!(
                    "cannot remove container \"{}\": container is running: stop the container before removing or force remove",
                    c.name
                )));
            }
            if self.mark_stopped(e)? {
                self.stop_locked(e, Some(0), Some(9)).await;
            }
        }
        // Normally gone with the exit; this catches a shim killed with -9 whose exit is
        // still being handled, and leftovers of a crash.
        self.cgroup_remove(&e.id).await;
        self.net_down(&e.id).await;
        self.forget(e, volumes).await;
        Ok(())
    }
}
