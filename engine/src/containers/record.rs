//! The persisted container record (`<data-root>/containers/<id>/container.json`).

use std::path::Path;

use bollard_stubs::models::{ContainerConfig, HostConfig, RestartPolicyNameEnum};
use serde::{Deserialize, Serialize};

use crate::fsutil::{parse_time, write_atomic};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Restarting,
    Exited,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Restarting => "restarting",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunState {
    pub status: Status,
    pub pid: i64,
    pub exit_code: i64,
    pub error: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub oom_killed: bool,
    /// Frozen by `pause` (status stays running, as in dockerd's state).
    #[serde(default)]
    pub paused: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    Bind,
    Volume,
    Tmpfs,
}

/// One resolved mount of the container (binds, volumes, tmpfs), as inspect reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountSpec {
    pub kind: MountKind,
    /// Host path (bind) or volume name (volume); empty for tmpfs.
    pub source: String,
    pub destination: String,
    pub rw: bool,
    /// The mode string as given (`ro`, `z`, `rw,nocopy`, ...).
    pub mode: String,
    pub propagation: String,
    /// A volume created for this container only (image VOLUME, `-v /ctr`).
    #[serde(default)]
    pub anonymous: bool,
    /// `-v /host:/ctr`: create the host directory when missing (docker does; `--mount` does not).
    #[serde(default)]
    pub mkdir_source: bool,
    #[serde(default)]
    pub no_copy: bool,
    /// tmpfs mount options (`size=…`, `mode=…`, `noexec`, ...).
    #[serde(default)]
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Container {
    pub id: String,
    /// With the leading "/".
    pub name: String,
    pub created: String,
    /// The image's id (`sha256:…`).
    pub image_id: String,
    pub path: String,
    pub args: Vec<String>,
    pub config: ContainerConfig,
    pub host_config: HostConfig,
    pub mounts: Vec<MountSpec>,
    pub state: RunState,
    #[serde(default)]
    pub restart_count: i64,
    /// Docker's `HasBeenManuallyStopped`: a stop/kill suppresses the restart policy.
    #[serde(default)]
    pub manually_stopped: bool,
}

impl Container {
    pub fn running(&self) -> bool {
        matches!(self.state.status, Status::Running | Status::Restarting)
    }

    /// Docker's `State.StateString()`: the status as inspect, `ps` and filters show it.
    pub fn state_string(&self) -> &'static str {
        match self.state.status {
            Status::Running if self.state.paused => "paused",
            s => s.as_str(),
        }
    }

    pub fn tty(&self) -> bool {
        self.config.tty.unwrap_or(false)
    }

    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }

    /// Entrypoint and command, as `docker ps` shows them.
    pub fn command(&self) -> String {
        // dockerd quotes arguments with spaces ("sh -c 'echo hi'").
        std::iter::once(self.path.clone())
            .chain(self.args.iter().map(|a| match a.contains(' ') {
                true => format!("'{a}'"),
                false => a.clone(),
            }))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn restart_policy(&self) -> (RestartPolicyNameEnum, i64) {
        match &self.host_config.restart_policy {
            Some(p) => (
                p.name.unwrap_or(RestartPolicyNameEnum::NO),
                p.maximum_retry_count.unwrap_or(0),
            ),
            None => (RestartPolicyNameEnum::NO, 0),
        }
    }

    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        write_atomic(&dir.join("container.json"), &bytes)
    }

    pub fn load(dir: &Path) -> std::io::Result<Container> {
        let bytes = std::fs::read(dir.join("container.json"))?;
        serde_json::from_slice(&bytes).map_err(std::io::Error::other)
    }

    /// Docker's `State.String()`: "Up 5 seconds", "Exited (3) 2 minutes ago", "Created".
    pub fn status_text(&self, now: chrono::DateTime<chrono::Utc>) -> String {
        let since = |t: &Option<String>| {
            t.as_deref()
                .and_then(parse_time)
                .map(|t| (now - t).to_std().unwrap_or_default())
        };
        match self.state.status {
            Status::Running => {
                let up = match since(&self.state.started_at) {
                    Some(d) => format!("Up {}", human_duration(d)),
                    None => "Up".to_string(),
                };
                match self.state.paused {
                    true => format!("{up} (Paused)"),
                    false => up,
                }
            }
            Status::Restarting => format!(
                "Restarting ({}) {} ago",
                self.state.exit_code,
                human_duration(since(&self.state.finished_at).unwrap_or_default())
            ),
            Status::Dead => "Dead".to_string(),
            Status::Created => "Created".to_string(),
            Status::Exited => match since(&self.state.finished_at) {
                _ if self.state.started_at.is_none() => "Created".to_string(),
                Some(d) => format!(
                    "Exited ({}) {} ago",
                    self.state.exit_code,
                    human_duration(d)
                ),
                None => String::new(),
            },
        }
    }
}

/// Docker's `units.HumanDuration`.
pub fn human_duration(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    let hours_f = d.as_secs_f64() / 3600.0;
    if secs < 1 {
        return "Less than a second".to_string();
    } else if secs == 1 {
        return "1 second".to_string();
    } else if secs < 60 {
        return format!("{secs} seconds");
    }
    let minutes = secs / 60;
    if minutes == 1 {
        return "About a minute".to_string();
    } else if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours = hours_f.round() as u64;
    if hours == 1 {
        "About an hour".to_string()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        format!("{} days", hours / 24)
    } else if hours < 24 * 30 * 2 {
        format!("{} weeks", hours / 24 / 7)
    } else if hours < 24 * 365 * 2 {
        format!("{} months", hours / 24 / 30)
    } else {
        format!("{} years", (hours_f as u64) / 24 / 365)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn human_durations_like_docker() {
        let s = |n| human_duration(Duration::from_secs(n));
        assert_eq!(
            human_duration(Duration::from_millis(300)),
            "Less than a second"
        );
        assert_eq!(s(1), "1 second");
        assert_eq!(s(5), "5 seconds");
        assert_eq!(s(60), "About a minute");
        assert_eq!(s(119), "About a minute");
        assert_eq!(s(120), "2 minutes");
        assert_eq!(s(3600), "About an hour");
        assert_eq!(s(3 * 3600), "3 hours");
        assert_eq!(s(3 * 86400), "3 days");
        assert_eq!(s(20 * 86400), "2 weeks");
        assert_eq!(s(90 * 86400), "3 months");
        assert_eq!(s(800 * 86400), "2 years");
    }

    fn sample() -> Container {
        Container {
            id: "a".repeat(64),
            name: "/x".into(),
            created: "2026-01-01T00:00:00Z".into(),
            image_id: "sha256:b".into(),
            path: "sh".into(),
            args: vec!["-c".into(), "exit 3".into()],
            config: Default::default(),
            host_config: Default::default(),
            mounts: vec![],
            state: RunState::default(),
            restart_count: 0,
            manually_stopped: false,
        }
    }

    #[test]
    fn status_texts() {
        let now = parse_time("2026-01-01T00:10:00Z").unwrap();
        let mut c = sample();
        assert_eq!(c.status_text(now), "Created");
        c.state.status = Status::Running;
        c.state.started_at = Some("2026-01-01T00:09:55.5Z".into());
        assert_eq!(c.status_text(now), "Up 4 seconds");
        c.state.paused = true;
        assert_eq!(c.status_text(now), "Up 4 seconds (Paused)");
        assert_eq!(c.state_string(), "paused");
        c.state.paused = false;
        assert_eq!(c.state_string(), "running");
        c.state.status = Status::Exited;
        c.state.exit_code = 3;
        c.state.finished_at = Some("2026-01-01T00:08:00Z".into());
        assert_eq!(c.status_text(now), "Exited (3) 2 minutes ago");
        assert_eq!(c.command(), "sh -c 'exit 3'");
    }

    #[test]
    fn record_round_trips() {
        let d = tempfile::tempdir().unwrap();
        let mut c = sample();
        c.state.status = Status::Running;
        c.save(d.path()).unwrap();
        let back = Container::load(d.path()).unwrap();
        assert_eq!(back.id, c.id);
        assert_eq!(back.state.status, Status::Running);
    }
}
