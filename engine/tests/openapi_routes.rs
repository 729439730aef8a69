//! `api-spec/openapi.yaml` and `ROUTES` must list the same (method, path) pairs.

use std::collections::BTreeSet;

use rdocker_engine::routes::ROUTES;

const METHODS: &[&str] = &["get", "head", "post", "put", "delete", "patch", "options"];

#[test]
fn spec_and_router_agree() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../api-spec/openapi.yaml");
    let text = std::fs::read_to_string(path).expect("read api-spec/openapi.yaml");
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("valid YAML");
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.0")),
        "OpenAPI 3.0 document expected"
    );
    let paths = doc["paths"].as_mapping().expect("paths is a map");
    let mut in_spec = BTreeSet::new();
    for (p, ops) in paths {
        let p = p.as_str().expect("path is a string");
        for (m, _) in ops.as_mapping().expect("path item is a map") {
            let m = m.as_str().unwrap_or_default();
            if METHODS.contains(&m) {
                in_spec.insert((m.to_uppercase(), p.to_string()));
            }
        }
    }
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = served.difference(&in_spec).collect();
    let extra: Vec<_> = in_spec.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "served but not in openapi.yaml: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "in openapi.yaml but not served: {extra:?}"
    );
}
