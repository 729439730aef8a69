use super::*;

fn ev(typ: &str, action: &str, id: &str, attrs: &[(&str, &str)]) -> Event {
    Event {
        typ: typ.into(),
        action: action.into(),
        id: id.into(),
        attributes: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        time_nano: 1_700_000_000_123_456_789,
    }
}

fn filter(raw: &str) -> EventFilter {
    EventFilter::new(Filters::parse(Some(raw)).unwrap()).unwrap()
}

#[test]
fn wire_format_has_dockers_fields() {
    let e = ev(
        "container",
        "start",
        "abc",
        &[("image", "busybox"), ("name", "web")],
    );
    let line = e.to_line();
    assert!(line.ends_with(b"\n"));
    let j: serde_json::Value = serde_json::from_slice(&line).unwrap();
    assert_eq!(j["status"], "start");
    assert_eq!(j["id"], "abc");
    assert_eq!(j["from"], "busybox");
    assert_eq!(j["Type"], "container");
    assert_eq!(j["Action"], "start");
    assert_eq!(j["Actor"]["ID"], "abc");
    assert_eq!(j["Actor"]["Attributes"]["name"], "web");
    assert_eq!(j["scope"], "local");
    assert_eq!(j["time"], 1_700_000_000);
    assert_eq!(j["timeNano"], 1_700_000_000_123_456_789_i64);
    // It parses as bollard's model too.
    let m: bollard_stubs::models::EventMessage = serde_json::from_slice(&line).unwrap();
    assert_eq!(m.action.as_deref(), Some("start"));
    // Volume events carry no legacy fields.
    let v = ev("volume", "create", "data", &[("driver", "local")]).to_line();
    let j: serde_json::Value = serde_json::from_slice(&v).unwrap();
    assert!(j.get("status").is_none() && j.get("id").is_none() && j.get("from").is_none());
}

#[test]
fn filters_by_type_action_and_actor() {
    let start = ev(
        "container",
        "start",
        "abcdef",
        &[("name", "web"), ("image", "busybox:latest")],
    );
    let vol = ev("volume", "create", "data", &[("driver", "local")]);
    assert!(filter("").matches(&start));
    assert!(filter(r#"{"type":["container"]}"#).matches(&start));
    assert!(!filter(r#"{"type":["container"]}"#).matches(&vol));
    assert!(filter(r#"{"event":["start","die"]}"#).matches(&start));
    assert!(!filter(r#"{"event":["die"]}"#).matches(&start));
    // Container by id prefix or by name; other types do not match a container filter.
    assert!(filter(r#"{"container":["abc"]}"#).matches(&start));
    assert!(filter(r#"{"container":["web"]}"#).matches(&start));
    assert!(!filter(r#"{"container":["xyz"]}"#).matches(&start));
    assert!(!filter(r#"{"container":["abc"]}"#).matches(&vol));
    assert!(filter(r#"{"volume":["data"]}"#).matches(&vol));
    assert!(!filter(r#"{"volume":["other"]}"#).matches(&vol));
    // Image: with or without tag, on container and image events.
    assert!(filter(r#"{"image":["busybox"]}"#).matches(&start));
    assert!(filter(r#"{"image":["busybox:latest"]}"#).matches(&start));
    let pull = ev("image", "pull", "busybox:latest", &[("name", "busybox")]);
    assert!(filter(r#"{"image":["busybox"]}"#).matches(&pull));
    assert!(!filter(r#"{"image":["alpine"]}"#).matches(&pull));
    // Labels are the actor's attributes.
    assert!(filter(r#"{"label":["driver=local"]}"#).matches(&vol));
    assert!(!filter(r#"{"label":["driver=nfs"]}"#).matches(&vol));
    assert!(filter(r#"{"scope":["local"]}"#).matches(&vol));
    assert!(!filter(r#"{"scope":["swarm"]}"#).matches(&vol));
}

#[test]
fn exec_events_match_by_prefix() {
    let e = ev("container", "exec_start: sh -c true", "abc", &[]);
    assert!(filter(r#"{"event":["exec_start"]}"#).matches(&e));
    assert!(!filter(r#"{"event":["start"]}"#).matches(&e));
}

#[test]
fn unknown_filter_is_400() {
    let f = Filters::parse(Some(r#"{"colour":["red"]}"#)).unwrap();
    assert_eq!(EventFilter::new(f).err().unwrap().status, 400);
}

#[test]
fn strip_tag_keeps_registry_ports() {
    assert_eq!(strip_tag("busybox:latest"), "busybox");
    assert_eq!(strip_tag("127.0.0.1:5000/foo"), "127.0.0.1:5000/foo");
    assert_eq!(strip_tag("127.0.0.1:5000/foo:1"), "127.0.0.1:5000/foo");
    assert_eq!(strip_tag("foo@sha256:abc"), "foo@sha256:abc");
}

#[tokio::test]
async fn ring_replays_and_subscribers_get_the_rest() {
    let bus = Events::new();
    bus.publish("volume", "create", "a", HashMap::new());
    let (replay, mut rx) = bus.subscribe();
    bus.publish("volume", "destroy", "a", HashMap::new());
    assert_eq!(replay.len(), 1);
    assert_eq!(replay[0].action, "create");
    let live = rx.recv().await.unwrap();
    assert_eq!(live.action, "destroy");
    assert!(live.time_nano >= replay[0].time_nano);
}

#[test]
fn ring_is_bounded() {
    let bus = Events::new();
    for i in 0..RING_SIZE + 10 {
        bus.publish("volume", "create", &i.to_string(), HashMap::new());
    }
    let recent = bus.recent();
    assert_eq!(recent.len(), RING_SIZE);
    assert_eq!(recent[0].id, "10");
    assert!(recent.windows(2).all(|w| w[0].time_nano <= w[1].time_nano));
}
