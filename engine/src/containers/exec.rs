//! Execs: processes started in a running container by `rdocker-shim exec`. Records live in
//! memory only and go with their container.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bollard_stubs::models::{ExecConfig, ExecInspectResponse, ProcessConfig};
use serde_json::json;
use tokio::net::UnixStream;
use tokio::sync::watch;

use super::entry::Entry;
use super::error::ContainerError;
use super::record::Status;
use super::shim::{self, WaitConn};
use super::{spec, ContainerManager};
use crate::fsutil::{random_hex, replace_file};

#[derive(Debug, Clone, Default)]
pub struct ExecState {
    pub started: bool,
    pub running: bool,
    pub exit_code: Option<i64>,
    pub pid: i64,
}

pub struct Exec {
    pub id: String,
    pub container_id: String,
    pub config: ExecConfig,
    pub state: Mutex<ExecState>,
    pub done: watch::Sender<bool>,
}

impl Exec {
    pub fn state(&self) -> ExecState {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    fn set(&self, f: impl FnOnce(&mut ExecState)) {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub fn inspect(&self) -> ExecInspectResponse {
        let st = self.state();
        let cmd = self.config.cmd.clone().unwrap_or_default();
        ExecInspectResponse {
            can_remove: Some(false),
            detach_keys: Some(self.config.detach_keys.clone().unwrap_or_default()),
            id: Some(self.id.clone()),
            running: Some(st.running),
            exit_code: st.exit_code,
            process_config: Some(ProcessConfig {
                privileged: Some(self.config.privileged.unwrap_or(false)),
                user: Some(self.config.user.clone().unwrap_or_default()),
                tty: Some(self.config.tty.unwrap_or(false)),
                entrypoint: cmd.first().cloned(),
                arguments: Some(cmd.iter().skip(1).cloned().collect()),
            }),
            open_stdin: Some(self.config.attach_stdin.unwrap_or(false)),
            open_stderr: Some(self.config.attach_stderr.unwrap_or(false)),
            open_stdout: Some(self.config.attach_stdout.unwrap_or(false)),
            container_id: Some(self.container_id.clone()),
            pid: Some(st.pid),
        }
    }
}

#[derive(Default)]
pub struct ExecTable(Mutex<HashMap<String, Arc<Exec>>>);

impl ExecTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Exec>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub fn get(&self, id: &str) -> Result<Arc<Exec>, ContainerError> {
        self.lock()
            .get(id)
            .cloned()
            .ok_or_else(|| ContainerError::NoSuchExec(id.to_string()))
    }
    pub fn remove_for(&self, container_id: &str) {
        self.lock().retain(|_, e| e.container_id != container_id);
    }
    pub fn ids_for(&self, container_id: &str) -> Vec<String> {
        self.lock()
            .values()
            .filter(|e| e.container_id == container_id)
            .map(|e| e.id.clone())
            .collect()
    }
}

/// A started exec: the attach stream (when asked for) is connected before the process runs.
pub struct StartedExec {
    pub exec: Arc<Exec>,
    pub stream: Option<UnixStream>,
    /// Created and attached, not yet running: [`ContainerManager::exec_run`] starts it.
    pub ready: Option<ExecReady>,
}

pub struct ExecReady {
    entry: Arc<Entry>,
    run_dir: PathBuf,
    waiter: WaitConn,
    pid: i64,
}

fn paused(id: &str) -> ContainerError {
    ContainerError::Conflict(format!(
        "Container {id} is paused, unpause the container before exec"
    ))
}

impl ContainerManager {
    pub fn exec_run_dir(&self, id: &str) -> PathBuf {
        self.exec_root.join("exec").join(&id[..12.min(id.len())])
    }

    /// `POST /containers/{id}/exec`.
    pub fn exec_create(&self, e: &Arc<Entry>, cfg: ExecConfig) -> Result<String, ContainerError> {
        let c = e.rec();
        if c.state.status != Status::Running {
            return Err(ContainerError::NotRunning(e.id.clone()));
        }
        if c.state.paused {
            return Err(paused(&e.id));
        }
        if cfg.cmd.as_ref().is_none_or(|c| c.is_empty()) {
            return Err(ContainerError::Invalid("No exec command specified".into()));
        }
        let id = random_hex(32);
        let exec = Arc::new(Exec {
            id: id.clone(),
            container_id: e.id.clone(),
            config: cfg,
            state: Mutex::new(ExecState::default()),
            done: watch::Sender::new(false),
        });
        self.execs.lock().insert(id.clone(), exec.clone());
        let cmd = exec.config.cmd.clone().unwrap_or_default().join(" ");
        self.publish(
            &c,
            &format!("exec_create: {cmd}"),
            &[("execID", id.clone())],
        );
        Ok(id)
    }

    /// `POST /exec/{id}/start`, first half: spawns the exec shim and connects attach.
    pub async fn exec_start(
        self: &Arc<Self>,
        exec: &Arc<Exec>,
        attach: bool,
    ) -> Result<StartedExec, ContainerError> {
        {
            let mut st = exec.state.lock().unwrap_or_else(|p| p.into_inner());
            if st.started {
                return Err(ContainerError::Conflict(format!(
                    "Error: Exec command {} has already run",
                    exec.id
                )));
            }
            st.started = true;
        }
        let e = self.get(&exec.container_id)?;
        let c = e.rec();
        if c.state.status != Status::Running {
            return Err(ContainerError::NotRunning(e.id.clone()));
        }
        if c.state.paused {
            return Err(paused(&e.id));
        }
        let run_dir = self.exec_run_dir(&exec.id);
        let process = spec::exec_process(&c, &exec.config, &self.security)?;
        let bytes =
            serde_json::to_vec(&process).map_err(|e| ContainerError::Shim(e.to_string()))?;
        let rd = run_dir.clone();
        tokio::task::spawn_blocking(move || {
            super::prepare::mkdir(&rd, 0o700)?;
            let p = rd.join("process.json");
            replace_file(&p, &bytes).map_err(ContainerError::io("write", &p))
        })
        .await
        .map_err(|e| ContainerError::Shim(e.to_string()))??;
        let args = shim::exec_args(
            &exec.id,
            c.state.pid,
            &self.bundle(&e.id),
            &run_dir,
            exec.config.attach_stdin.unwrap_or(false),
        );
        let spawned = match shim::spawn(&self.shim, &args, &run_dir).await {
            Ok(s) => s,
            Err(err) => {
                if let ContainerError::StartFailed { exit_code, .. } = &err {
                    exec.set(|s| s.exit_code = Some(*exit_code));
                }
                exec.done.send_replace(true);
                let _ = std::fs::remove_dir_all(&run_dir);
                return Err(err);
            }
        };
        let cfg = &exec.config;
        let stream = if attach {
            let hello = shim::hello(
                cfg.attach_stdin.unwrap_or(false),
                cfg.attach_stdout.unwrap_or(false),
                cfg.attach_stderr.unwrap_or(false),
                true,
                cfg.tty.unwrap_or(false),
            );
            Some(shim::attach(&run_dir, &hello).await?)
        } else {
            None
        };
        let waiter = WaitConn::open(&run_dir).await?;
        Ok(StartedExec {
            exec: exec.clone(),
            stream,
            ready: Some(ExecReady {
                entry: e,
                run_dir,
                waiter,
                pid: spawned.pid,
            }),
        })
    }

    /// Lets a prepared exec run. The route calls this once the client's connection is
    /// upgraded: a client that reads the 101 through a buffer (docker-py) would otherwise
    /// swallow the first output with it.
    pub async fn exec_run(
        self: &Arc<Self>,
        exec: &Arc<Exec>,
        ready: ExecReady,
    ) -> Result<(), ContainerError> {
        let ExecReady {
            entry: e,
            run_dir,
            waiter,
            pid,
        } = ready;
        let c = e.rec();
        let cfg = &exec.config;
        let v = shim::ctl(&run_dir, json!({"op": "start"})).await?;
        if let Err((message, code)) = shim::check(&v) {
            let code = code.unwrap_or(126);
            exec.set(|s| s.exit_code = Some(code));
            exec.done.send_replace(true);
            return Err(ContainerError::StartFailed {
                message,
                exit_code: code,
            });
        }
        exec.set(|s| {
            s.running = true;
            s.pid = pid;
        });
        let cmd = cfg.cmd.clone().unwrap_or_default().join(" ");
        self.publish(
            &c,
            &format!("exec_start: {cmd}"),
            &[("execID", exec.id.clone())],
        );
        let (mgr, ex) = (self.clone(), exec.clone());
        tokio::spawn(async move {
            let code = match waiter.exit().await {
                Some(x) => x.exit_code,
                None => shim::read_state(&run_dir)
                    .and_then(|s| s.exit_code)
                    .unwrap_or(137),
            };
            ex.set(|s| {
                s.running = false;
                s.exit_code = Some(code);
            });
            ex.done.send_replace(true);
            let c = e.rec();
            mgr.publish(
                &c,
                "exec_die",
                &[("execID", ex.id.clone()), ("exitCode", code.to_string())],
            );
            let _ = tokio::fs::remove_dir_all(&run_dir).await;
        });
        Ok(())
    }

    pub async fn exec_resize(&self, exec: &Exec, h: u64, w: u64) -> Result<(), ContainerError> {
        if !exec.state().running {
            return Err(ContainerError::Conflict(format!(
                "Exec {} is not running",
                exec.id
            )));
        }
        let v = shim::ctl(
            &self.exec_run_dir(&exec.id),
            json!({"op": "resize", "height": h, "width": w}),
        )
        .await?;
        shim::check(&v).map_err(|(m, _)| ContainerError::Shim(m))
    }
}
