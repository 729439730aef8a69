//! The event bus behind `GET /events`: container, image and volume events.

use std::collections::HashMap;

/// Owned by the events work; `publish` is what the rest of the engine calls.
#[derive(Default)]
pub struct Events {}

impl Events {
    pub fn new() -> Events {
        Events {}
    }

    /// Publishes one event. `typ` is Docker's `Type` ("container", "image", "volume"),
    /// `action` its `Action` ("create", "start", "die", ...), `id` the actor's id; attributes
    /// are the actor's (`name`, `image`, `exitCode`, labels, ...).
    pub fn publish(&self, typ: &str, action: &str, id: &str, attributes: HashMap<String, String>) {
        let _ = (typ, action, id, attributes);
    }
}
