//! The networking commands against a fake daemon: the paths, methods and bodies they
//! send (as docker 28's CLI sends them) and what they print.

mod common;

use common::{err, out, Act, Fake, Req, Shared};

const NET_ID: &str = "72581e4b5a859fe9a3ecf4faeedb51a4d3b4a4e0957750ff43e1223351711d25";

fn routes(r: &Req, _sh: &Shared) -> Act {
    let p = r.path.as_str();
    let ok = |body: &str| Act::Json(200, body.to_string());
    match (r.method.as_str(), p) {
        ("POST", "/v1.44/networks/create") => {
            Act::Json(201, format!(r#"{{"Id":"{NET_ID}","Warning":""}}"#))
        }
        ("GET", "/v1.44/networks/tnet") => ok(&format!(
            r#"{{"Name":"tnet","Id":"{NET_ID}","Driver":"bridge"}}"#
        )),
        ("GET", p) if p.starts_with("/v1.44/networks/") => {
            Act::Json(404, r#"{"message":"network nosuch not found"}"#.into())
        }
        ("GET", p) if p.starts_with("/v1.44/networks") => ok(&format!(
            r#"[{{"Name":"tnet","Id":"{NET_ID}","Driver":"bridge","Scope":"local","EnableIPv4":true}}]"#
        )),
        ("DELETE", "/v1.44/networks/tnet") => Act::Json(204, String::new()),
        ("DELETE", _) => Act::Json(404, r#"{"message":"network nosuch not found"}"#.into()),
        ("POST", "/v1.44/networks/tnet/connect" | "/v1.44/networks/tnet/disconnect") => {
            Act::Json(200, String::new())
        }
        ("POST", p) if p.starts_with("/v1.44/networks/prune") => {
            ok(r#"{"NetworksDeleted":["n1","n2"]}"#)
        }
        ("GET", "/v1.44/containers/web/json") => ok(
            r#"{"Id":"w","NetworkSettings":{"Ports":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}],"443/tcp":null}}}"#,
        ),
        _ => Act::Json(
            404,
            format!(r#"{{"message":"unexpected {} {p}"}}"#, r.method),
        ),
    }
}

#[test]
fn network_commands_on_the_wire() {
    let f = Fake::start(routes);
    let o = f.run(&[
        "network",
        "create",
        "--subnet",
        "10.7.0.0/16",
        "--gateway",
        "10.7.0.1",
        "tnet",
    ]);
    assert_eq!(out(&o), format!("{NET_ID}\n"), "{}", err(&o));
    let body: serde_json::Value =
        serde_json::from_str(&f.req("POST /v1.44/networks/create").body).unwrap();
    assert_eq!(body["Name"], "tnet");
    assert_eq!(
        body["IPAM"]["Config"],
        serde_json::json!([{"Subnet": "10.7.0.0/16", "Gateway": "10.7.0.1"}])
    );

    let o = f.run(&["network", "ls"]);
    assert_eq!(
        out(&o),
        "NETWORK ID     NAME      DRIVER    SCOPE\n72581e4b5a85   tnet      bridge    local\n"
    );
    let o = f.run(&["network", "inspect", "-f", "{{.Name}}", "tnet"]);
    assert_eq!(out(&o), "tnet\n", "{}", err(&o));
    assert!(f.lines().contains(&"GET /v1.44/networks/tnet".to_string()));

    let o = f.run(&["network", "connect", "--alias", "a", "tnet", "c1"]);
    assert!(o.status.success(), "{}", err(&o));
    let body: serde_json::Value =
        serde_json::from_str(&f.req("POST /v1.44/networks/tnet/connect").body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"Container": "c1", "EndpointConfig":
            {"IPAMConfig": {}, "Aliases": ["a"], "DriverOpts": {}}})
    );
    let o = f.run(&["network", "disconnect", "-f", "tnet", "c1"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        f.req("POST /v1.44/networks/tnet/disconnect").body,
        r#"{"Container":"c1","Force":true}"#
    );

    let o = f.run(&["network", "rm", "tnet", "nosuch"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(out(&o), "tnet\n");
    assert_eq!(
        err(&o),
        "Error response from daemon: network nosuch not found\nexit status 1\n"
    );
    let o = f.run(&["network", "prune", "-f"]);
    assert_eq!(out(&o), "Deleted Networks:\nn1\nn2\n\n");
}

#[test]
fn port_on_the_wire() {
    let f = Fake::start(routes);
    let o = f.run(&["port", "web"]);
    assert_eq!(out(&o), "80/tcp -> 127.0.0.1:8080\n", "{}", err(&o));
    let o = f.run(&["port", "web", "443"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(err(&o), "Error: No public port '443' published for web\n");
}
