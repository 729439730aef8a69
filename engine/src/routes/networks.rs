//! Network routes: `GET /networks`, `GET /networks/{id}`, `POST /networks/create`,
//! `DELETE /networks/{id}`, `POST /networks/{id}/connect`, `/disconnect`, `POST /networks/prune`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bollard_stubs::models::{
    NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest,
};
use serde_json::{json, Value};

use crate::containers::list::labels_match;
use crate::errors::ApiError;
use crate::filters::Filters;
use crate::fsutil::parse_time;
use crate::network::manager::{CreateSpec, Net};
use crate::routes::containers::json_body;
use crate::routes::{Params, PathName};
use crate::state::SharedState;

type ApiResult<T> = Result<T, ApiError>;

/// Docker's `Network` object; `containers`: the map inspect shows (empty in lists).
fn network_json(n: &Net, containers: Value) -> Value {
    let r = &n.rec;
    let mut cfg = serde_json::Map::new();
    if let Some(s) = r.subnet {
        cfg.insert("Subnet".into(), json!(s.to_string()));
    }
    if let Some(r) = r.ip_range {
        cfg.insert("IPRange".into(), json!(r.to_string()));
    }
    if let Some(g) = r.gateway {
        cfg.insert("Gateway".into(), json!(g.to_string()));
    }
    let configs: Vec<Value> = if cfg.is_empty() {
        vec![]
    } else {
        vec![Value::Object(cfg)]
    };
    json!({
        "Name": r.name,
        "Id": r.id,
        "Created": r.created,
        "Scope": "local",
        "Driver": r.driver,
        "EnableIPv4": true,
        "EnableIPv6": false,
        "IPAM": {
            "Driver": "default",
            "Options": if r.predefined { Value::Null } else { json!({}) },
            "Config": configs,
        },
        "Internal": r.internal,
        "Attachable": r.attachable,
        "Ingress": false,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": false,
        "Containers": containers,
        "Options": r.options,
        "Labels": r.labels,
    })
}

/// The running containers' endpoints on `n`, keyed by container id.
fn containers_of(st: &SharedState, n: &Net) -> Value {
    let mut m = serde_json::Map::new();
    for (c, ep) in st.containers.network_users(n) {
        let (Some(ip), Some(link)) = (ep.ip, ep.link.as_ref()) else {
            continue;
        };
        if !c.running() {
            continue;
        }
        m.insert(
            c.id.clone(),
            json!({
                "Name": c.name.trim_start_matches('/'),
                "EndpointID": ep.endpoint_id,
                "MacAddress": rdocker_network::endpoint::format_mac(&link.mac),
                "IPv4Address": format!("{ip}/{}", link.prefix),
                "IPv6Address": "",
            }),
        );
    }
    Value::Object(m)
}

fn in_use(st: &SharedState, n: &Net) -> Vec<String> {
    st.containers
        .network_users(n)
        .into_iter()
        .filter(|(c, ep)| c.running() && ep.ip.is_some())
        .map(|(c, _)| c.name.trim_start_matches('/').to_string())
        .collect()
}

/// Does `n` pass the list filters (name, id, driver, label, type, dangling)?
fn matches(st: &SharedState, n: &Net, f: &Filters) -> ApiResult<bool> {
    let r = &n.rec;
    let any = |key: &str, test: &dyn Fn(&str) -> bool| {
        let v = f.get(key);
        v.is_empty() || v.iter().any(|x| test(x))
    };
    if !any("name", &|x| r.name.contains(x)) || !any("id", &|x| r.id.starts_with(x)) {
        return Ok(false);
    }
    if !any("driver", &|x| r.driver == x) {
        return Ok(false);
    }
    for t in f.get("type") {
        if !matches!(t.as_str(), "custom" | "builtin") {
            return Err(ApiError::bad_request(format!(
                "invalid filter: 'type'='{t}'"
            )));
        }
    }
    if !any("type", &|x| (x == "builtin") == r.predefined) {
        return Ok(false);
    }
    if !labels_match(f.get("label"), &r.labels) {
        return Ok(false);
    }
    if let Some(d) = f.get_bool("dangling")? {
        let dangling = !r.predefined && st.containers.network_users(n).is_empty();
        if d != dangling {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `GET /networks?filters=`.
pub async fn list(State(st): State<SharedState>, p: Params) -> ApiResult<Response> {
    let f = Filters::parse(p.get("filters"))?;
    f.validate(&["name", "id", "driver", "label", "type", "dangling", "scope"])?;
    let mut out = Vec::new();
    let mut nets = st.containers.network.all();
    nets.sort_by(|a, b| a.rec.created.cmp(&b.rec.created));
    for n in nets {
        if matches(&st, &n, &f)? {
            out.push(network_json(&n, json!({})));
        }
    }
    Ok(Json(out).into_response())
}

/// `GET /networks/{id}` (`verbose`, `scope` ignored: local networks only).
pub async fn inspect(
    State(st): State<SharedState>,
    PathName(name): PathName,
) -> ApiResult<Response> {
    let n = st.containers.network.find(&name)?;
    Ok(Json(network_json(&n, containers_of(&st, &n))).into_response())
}

fn parse<T: std::str::FromStr>(what: &str, s: Option<&String>) -> ApiResult<Option<T>> {
    match s.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("invalid {what}: {s}"))),
    }
}

/// `POST /networks/create` → 201 `{"Id","Warning"}`.
pub async fn create(State(st): State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let req: NetworkCreateRequest = json_body(&body)?;
    if req.enable_ipv6.unwrap_or(false) {
        return Err(ApiError::bad_request(
            "IPv6 networks are not supported by rdocker",
        ));
    }
    let configs = req
        .ipam
        .as_ref()
        .and_then(|i| i.config.clone())
        .unwrap_or_default();
    // IPv6 entries are ignored (EnableIPv6 is refused above).
    let v4 = configs
        .iter()
        .find(|c| !c.subnet.as_deref().unwrap_or("").contains(':'));
    let (mut subnet, mut gateway, mut ip_range) = (None, None, None);
    if let Some(c) = v4 {
        subnet = parse::<ipnet::Ipv4Net>("subnet", c.subnet.as_ref())?;
        gateway = parse("gateway", c.gateway.as_ref())?;
        ip_range = parse::<ipnet::Ipv4Net>("ip-range", c.ip_range.as_ref())?;
        if subnet.is_none() && (gateway.is_some() || ip_range.is_some()) {
            return Err(ApiError::bad_request(
                "invalid pool request: a gateway or ip-range needs a subnet",
            ));
        }
        if let (Some(s), Some(g)) = (subnet, gateway) {
            if !s.contains(&g) {
                return Err(ApiError::bad_request(format!(
                    "no matching subnet for gateway {g}"
                )));
            }
        }
    }
    let spec = CreateSpec {
        name: req.name.clone(),
        driver: req.driver.clone().unwrap_or_default(),
        internal: req.internal.unwrap_or(false),
        attachable: req.attachable.unwrap_or(false),
        labels: req.labels.clone().unwrap_or_default(),
        options: req.options.clone().unwrap_or_default(),
        subnet,
        gateway,
        ip_range,
    };
    let n = st.containers.network.create(spec).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"Id": n.rec.id, "Warning": ""})),
    )
        .into_response())
}

/// `DELETE /networks/{id}` → 204.
pub async fn remove(
    State(st): State<SharedState>,
    PathName(name): PathName,
) -> ApiResult<Response> {
    let n = st.containers.network.find(&name)?;
    let users = in_use(&st, &n);
    st.containers.network.remove(&n, &users).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /networks/{id}/connect` → 200.
pub async fn connect(
    State(st): State<SharedState>,
    PathName(name): PathName,
    body: Bytes,
) -> ApiResult<Response> {
    let req: NetworkConnectRequest = json_body(&body)?;
    let n = st.containers.network.find(&name)?;
    st.containers
        .network_connect(&n, &req.container, req.endpoint_config.unwrap_or_default())
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// `POST /networks/{id}/disconnect` → 200.
pub async fn disconnect(
    State(st): State<SharedState>,
    PathName(name): PathName,
    body: Bytes,
) -> ApiResult<Response> {
    let req: NetworkDisconnectRequest = json_body(&body)?;
    let n = st.containers.network.find(&name)?;
    st.containers.network_disconnect(&n, &req.container).await?;
    Ok(StatusCode::OK.into_response())
}

/// `POST /networks/prune?filters=` → `{"NetworksDeleted": [names]}`.
pub async fn prune(State(st): State<SharedState>, p: Params) -> ApiResult<Response> {
    let f = Filters::parse(p.get("filters"))?;
    f.validate(&["until", "label", "label!"])?;
    let now = crate::timestamps::now_nanos();
    let until = match f.get("until").first() {
        Some(u) => Some(crate::timestamps::parse(u, now).map_err(ApiError::bad_request)?),
        None => None,
    };
    let mut deleted = Vec::new();
    let nets: Vec<Arc<Net>> = st.containers.network.all();
    for n in nets.into_iter().filter(|n| !n.rec.predefined) {
        let labels: &HashMap<String, String> = &n.rec.labels;
        if !labels_match(f.get("label"), labels)
            || (!f.get("label!").is_empty() && labels_match(f.get("label!"), labels))
        {
            continue;
        }
        if let Some(u) = until {
            let created = parse_time(&n.rec.created)
                .and_then(|t| t.timestamp_nanos_opt())
                .unwrap_or(0);
            if created >= u {
                continue;
            }
        }
        if !st.containers.network_users(&n).is_empty() {
            continue;
        }
        match st.containers.network.remove(&n, &[]).await {
            Ok(()) => deleted.push(n.rec.name.clone()),
            Err(e) => tracing::debug!("prune: network {}: {e}", n.rec.name),
        }
    }
    st.events.publish("network", "prune", "", HashMap::new());
    Ok(Json(json!({ "NetworksDeleted": deleted })).into_response())
}
