//! `GET /containers/json` filters and `POST /containers/prune`.

use std::collections::HashMap;
use std::sync::Arc;

use bollard_stubs::models::ContainerPruneResponse;

use super::error::ContainerError;
use super::record::{Container, Status};
use super::ContainerManager;
use crate::filters::Filters;
use crate::fsutil::{dir_size, parse_time};

const LIST_KEYS: &[&str] = &[
    "ancestor",
    "before",
    "expose",
    "exited",
    "health",
    "id",
    "isolation",
    "is-task",
    "label",
    "name",
    "network",
    "publish",
    "since",
    "status",
    "volume",
];
const STATUSES: &[&str] = &[
    "created",
    "restarting",
    "running",
    "removing",
    "paused",
    "exited",
    "dead",
];

fn bad(msg: String) -> ContainerError {
    ContainerError::Invalid(msg)
}

/// `label=k`, `label=k=v` all must match.
pub fn labels_match(wanted: &[String], labels: &HashMap<String, String>) -> bool {
    wanted.iter().all(|w| match w.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
        None => labels.contains_key(w.as_str()),
    })
}

/// The list filter, parsed and checked once.
pub struct ListFilter {
    f: Filters,
    names: Vec<regex::Regex>,
    exited: Vec<i64>,
    /// Image ids the `ancestor` values resolve to (plus the values themselves).
    ancestors: Vec<String>,
}

impl ListFilter {
    pub fn new(
        f: Filters,
        resolve_image: impl Fn(&str) -> Option<String>,
    ) -> Result<ListFilter, ContainerError> {
        f.validate(LIST_KEYS).map_err(|e| bad(e.message))?;
        for s in f.get("status") {
            if !STATUSES.contains(&s.as_str()) {
                return Err(bad(format!("invalid filter 'status={s}'")));
            }
        }
        let names = f
            .get("name")
            .iter()
            .map(|n| {
                regex::Regex::new(n).map_err(|e| bad(format!("invalid filter 'name={n}': {e}")))
            })
            .collect::<Result<_, _>>()?;
        let exited = f
            .get("exited")
            .iter()
            .map(|x| {
                x.parse::<i64>()
                    .map_err(|_| bad(format!("invalid filter 'exited={x}'")))
            })
            .collect::<Result<_, _>>()?;
        let mut ancestors = Vec::new();
        for a in f.get("ancestor") {
            ancestors.push(a.clone());
            if let Some(id) = resolve_image(a) {
                ancestors.push(id);
            }
        }
        Ok(ListFilter {
            f,
            names,
            exited,
            ancestors,
        })
    }

    /// Whether `all=false` may be overridden: docker lists stopped ones when a status or
    /// exited filter asks for them.
    pub fn wants_stopped(&self) -> bool {
        self.f.contains("status") || self.f.contains("exited")
    }

    pub fn matches(&self, c: &Container) -> bool {
        let f = &self.f;
        let status = c.state_string();
        if f.contains("status") && !f.get("status").iter().any(|s| s == status) {
            return false;
        }
        if !self.names.is_empty() {
            let n = &c.name;
            if !self
                .names
                .iter()
                .any(|r| r.is_match(n) || r.is_match(n.trim_start_matches('/')))
            {
                return false;
            }
        }
        if f.contains("id") && !f.get("id").iter().any(|p| c.id.starts_with(p.as_str())) {
            return false;
        }
        let labels = c.config.labels.clone().unwrap_or_default();
        if !labels_match(f.get("label"), &labels) {
            return false;
        }
        if !self.exited.is_empty()
            && (c.state.status != Status::Exited || !self.exited.contains(&c.state.exit_code))
        {
            return false;
        }
        if !self.ancestors.is_empty() {
            let image = c.config.image.clone().unwrap_or_default();
            let hit = self.ancestors.iter().any(|a| {
                *a == c.image_id
                    || *a == image
                    || c.image_id
                        .trim_start_matches("sha256:")
                        .starts_with(a.trim_start_matches("sha256:"))
            });
            if !hit {
                return false;
            }
        }
        if f.contains("volume")
            && !f.get("volume").iter().any(|v| {
                c.mounts
                    .iter()
                    .any(|m| m.source == *v || m.destination == *v)
            })
        {
            return false;
        }
        if f.contains("network") {
            let mode = c.host_config.network_mode.clone().unwrap_or_default();
            if !f.get("network").contains(&mode) {
                return false;
            }
        }
        true
    }
}

impl ContainerManager {
    /// Containers for `GET /containers/json`, newest first.
    pub fn list(&self, all: bool, limit: Option<usize>, filter: &ListFilter) -> Vec<Container> {
        let mut cs: Vec<Container> = self.all().iter().map(|e| e.rec()).collect();
        cs.sort_by(|a, b| b.created.cmp(&a.created));
        let before = filter
            .f
            .get("before")
            .first()
            .and_then(|b| self.get(b).ok())
            .map(|e| e.rec().created);
        let since = filter
            .f
            .get("since")
            .first()
            .and_then(|b| self.get(b).ok())
            .map(|e| e.rec().created);
        let show_all = all || filter.wants_stopped() || limit.is_some();
        let mut out: Vec<Container> = cs
            .into_iter()
            .filter(|c| show_all || c.running())
            .filter(|c| before.as_ref().is_none_or(|b| c.created < *b))
            .filter(|c| since.as_ref().is_none_or(|s| c.created > *s))
            .filter(|c| filter.matches(c))
            .collect();
        if let Some(n) = limit.filter(|n| *n > 0) {
            out.truncate(n);
        }
        out
    }

    /// `(SizeRw, SizeRootFs)`: the upper dir, and that plus the image.
    pub fn sizes(&self, c: &Container) -> (i64, i64) {
        let rw = dir_size(&self.bundle(&c.id).join("upper")) as i64;
        let image = self
            .store
            .get(&c.image_id)
            .map(|i| i.size as i64)
            .unwrap_or(0);
        (rw, rw + image)
    }

    /// `POST /containers/prune`: every stopped container matching `until`/`label`.
    pub async fn prune(
        self: &Arc<Self>,
        f: Filters,
    ) -> Result<ContainerPruneResponse, ContainerError> {
        f.validate(&["until", "label", "label!"])
            .map_err(|e| bad(e.message))?;
        let now = crate::timestamps::now_nanos();
        let until = match f.get("until").first() {
            Some(u) => Some(crate::timestamps::parse(u, now).map_err(bad)?),
            None => None,
        };
        let mut deleted = Vec::new();
        let mut reclaimed = 0i64;
        for e in self.all() {
            let c = e.rec();
            if c.running() {
                continue;
            }
            let labels = c.config.labels.clone().unwrap_or_default();
            if !labels_match(f.get("label"), &labels) {
                continue;
            }
            if !f.get("label!").is_empty() && labels_match(f.get("label!"), &labels) {
                continue;
            }
            if let Some(u) = until {
                let created = parse_time(&c.created)
                    .and_then(|t| t.timestamp_nanos_opt())
                    .unwrap_or(0);
                if created >= u {
                    continue;
                }
            }
            let size = dir_size(&self.bundle(&c.id).join("upper")) as i64;
            match self.remove(&e, false, false).await {
                Ok(()) => {
                    deleted.push(c.id.clone());
                    reclaimed += size;
                }
                Err(err) => tracing::debug!("prune: {}: {err}", c.id),
            }
        }
        self.events.publish(
            "container",
            "prune",
            "",
            HashMap::from([("reclaimed".to_string(), reclaimed.to_string())]),
        );
        Ok(ContainerPruneResponse {
            containers_deleted: Some(deleted),
            space_reclaimed: Some(reclaimed),
        })
    }
}
