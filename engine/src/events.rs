//! The event bus behind `GET /events`: container, image and volume events.
//!
//! Live subscribers get events through a tokio broadcast channel; a bounded ring of the most
//! recent ones serves `since`. Publishing and subscribing both happen under the ring's lock, so
//! a subscriber's replay and its live feed neither overlap nor leave a gap.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::errors::ApiError;
use crate::filters::Filters;

/// How many past events `since` can reach back to (dockerd keeps 256).
pub const RING_SIZE: usize = 1024;
/// Live events a slow subscriber may fall behind by before it misses some.
const CHANNEL_SIZE: usize = 1024;

/// One event, as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub typ: String,
    pub action: String,
    pub id: String,
    pub attributes: HashMap<String, String>,
    pub time_nano: i64,
}

#[derive(Serialize)]
struct Actor<'a> {
    #[serde(rename = "ID")]
    id: &'a str,
    #[serde(rename = "Attributes")]
    attributes: &'a HashMap<String, String>,
}

/// Docker's `events.Message`, field for field in its order, with the deprecated `status`, `id`
/// and `from` that dockerd still fills for container and image events (old clients read them).
#[derive(Serialize)]
struct Wire<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    status: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    from: &'a str,
    #[serde(rename = "Type")]
    typ: &'a str,
    #[serde(rename = "Action")]
    action: &'a str,
    #[serde(rename = "Actor")]
    actor: Actor<'a>,
    scope: &'a str,
    time: i64,
    #[serde(rename = "timeNano")]
    time_nano: i64,
}

impl Event {
    /// One line of the `/events` stream: the JSON message and a newline.
    pub fn to_line(&self) -> Bytes {
        let legacy = matches!(self.typ.as_str(), "container" | "image");
        let from = match self.typ.as_str() {
            "container" => self.attributes.get("image").map_or("", String::as_str),
            _ => "",
        };
        let wire = Wire {
            status: if legacy { &self.action } else { "" },
            id: if legacy { &self.id } else { "" },
            from,
            typ: &self.typ,
            action: &self.action,
            actor: Actor {
                id: &self.id,
                attributes: &self.attributes,
            },
            scope: "local",
            time: self.time_nano.div_euclid(1_000_000_000),
            time_nano: self.time_nano,
        };
        let mut line = serde_json::to_vec(&wire).unwrap_or_default();
        line.push(b'\n');
        Bytes::from(line)
    }
}

pub struct Events {
    tx: broadcast::Sender<Arc<Event>>,
    ring: Mutex<VecDeque<Arc<Event>>>,
}

impl Default for Events {
    fn default() -> Events {
        Events::new()
    }
}

impl Events {
    pub fn new() -> Events {
        Events {
            tx: broadcast::channel(CHANNEL_SIZE).0,
            ring: Mutex::new(VecDeque::with_capacity(RING_SIZE)),
        }
    }

    /// Publishes one event. `typ` is Docker's `Type` ("container", "image", "volume"),
    /// `action` its `Action` ("create", "start", "die", ...), `id` the actor's id; attributes
    /// are the actor's (`name`, `image`, `exitCode`, labels, ...).
    pub fn publish(&self, typ: &str, action: &str, id: &str, attributes: HashMap<String, String>) {
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        // Times never go backwards in the ring, even if the clock does: `since` relies on it.
        let last = ring.back().map_or(i64::MIN, |e| e.time_nano);
        let event = Arc::new(Event {
            typ: typ.to_string(),
            action: action.to_string(),
            id: id.to_string(),
            attributes,
            time_nano: crate::timestamps::now_nanos().max(last),
        });
        if ring.len() == RING_SIZE {
            ring.pop_front();
        }
        ring.push_back(event.clone());
        // No subscriber is no error.
        let _ = self.tx.send(event);
    }

    /// The recent events and a receiver for everything published after them.
    pub fn subscribe(&self) -> (Vec<Arc<Event>>, broadcast::Receiver<Arc<Event>>) {
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        (ring.iter().cloned().collect(), self.tx.subscribe())
    }

    /// The recent events, oldest first.
    pub fn recent(&self) -> Vec<Arc<Event>> {
        self.subscribe().0
    }
}

/// Filter keys `GET /events` accepts (dockerd's list).
const KEYS: &[&str] = &[
    "container",
    "event",
    "image",
    "label",
    "network",
    "type",
    "volume",
    "daemon",
    "plugin",
    "scope",
    "node",
    "service",
    "secret",
    "config",
];

/// Docker's `daemon/events.Filter`.
pub struct EventFilter(Filters);

impl EventFilter {
    pub fn new(f: Filters) -> Result<EventFilter, ApiError> {
        f.validate(KEYS)?;
        Ok(EventFilter(f))
    }

    /// `ExactMatch`: no value for the key matches everything.
    fn exact(&self, key: &str, source: &str) -> bool {
        let v = self.0.get(key);
        v.is_empty() || v.iter().any(|x| x == source)
    }

    /// `FuzzyMatch`: exact, or a value that is a prefix of the source (short ids).
    fn fuzzy(&self, key: &str, source: &str) -> bool {
        self.exact(key, source)
            || self
                .0
                .get(key)
                .iter()
                .any(|x| source.starts_with(x.as_str()))
    }

    fn name_or_id(&self, key: &str, e: &Event) -> bool {
        let name = e.attributes.get("name").map_or("", String::as_str);
        self.fuzzy(key, &e.id) || self.fuzzy(key, name)
    }

    fn image(&self, e: &Event) -> bool {
        let attr = if e.typ == "image" { "name" } else { "image" };
        let name = e.attributes.get(attr).map_or("", String::as_str);
        [e.id.as_str(), name, strip_tag(&e.id), strip_tag(name)]
            .iter()
            .any(|s| self.exact("image", s))
    }

    fn action(&self, e: &Event) -> bool {
        // `exec_start: sh -c ...`: a bare prefix filter matches these (moby #25798).
        let prefixed = ["health_status", "exec_create", "exec_start"];
        if self
            .0
            .get("event")
            .iter()
            .any(|v| prefixed.contains(&v.as_str()))
        {
            self.fuzzy("event", &e.action)
        } else {
            self.exact("event", &e.action)
        }
    }

    pub fn matches(&self, e: &Event) -> bool {
        self.action(e)
            && self.exact("type", &e.typ)
            && self.exact("scope", "local")
            && [
                "container",
                "volume",
                "network",
                "plugin",
                "daemon",
                "node",
                "service",
            ]
            .iter()
            .chain(&["secret", "config"])
            .all(|k| self.name_or_id(k, e))
            && self.image(e)
            && crate::volumes::match_kv_list(self.0.get("label"), &e.attributes)
    }
}

/// `busybox:latest` → `busybox`; a digest reference or a registry port is left alone.
fn strip_tag(image: &str) -> &str {
    if image.contains('@') {
        return image;
    }
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rfind(':') {
        Some(i) => &image[..last_slash + i],
        None => image,
    }
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
