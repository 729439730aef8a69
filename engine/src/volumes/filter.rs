//! The `filters` of `GET /volumes` and `POST /volumes/prune`, with Docker's semantics.

use std::collections::HashMap;

use crate::errors::ApiError;
use crate::filters::Filters;

/// Docker's `Args.MatchKVList`: every `key` or `key=value` must be among the labels.
pub fn match_kv_list(wanted: &[String], labels: &HashMap<String, String>) -> bool {
    if wanted.is_empty() {
        return true;
    }
    wanted.iter().all(|w| match w.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
        None => labels.contains_key(w.as_str()),
    })
}

/// What a listed volume is matched on.
pub struct Candidate<'a> {
    pub name: &'a str,
    pub labels: &'a HashMap<String, String>,
    pub in_use: bool,
    pub anonymous: bool,
}

/// `GET /volumes` filters: name (substring, where Docker takes a regular expression), label,
/// dangling, driver.
pub struct ListFilter {
    names: Vec<String>,
    labels: Vec<String>,
    dangling: Option<bool>,
    drivers: Vec<String>,
}

impl ListFilter {
    pub fn new(f: &Filters) -> Result<ListFilter, ApiError> {
        f.validate(&["name", "label", "dangling", "driver"])?;
        Ok(ListFilter {
            names: f.get("name").to_vec(),
            labels: f.get("label").to_vec(),
            dangling: f.get_bool("dangling")?,
            drivers: f.get("driver").to_vec(),
        })
    }

    pub fn matches(&self, c: &Candidate) -> bool {
        (self.names.is_empty() || self.names.iter().any(|n| c.name.contains(n.as_str())))
            && match_kv_list(&self.labels, c.labels)
            && self.dangling.is_none_or(|d| d != c.in_use)
            && (self.drivers.is_empty() || self.drivers.iter().any(|d| d == "local"))
    }
}

/// `POST /volumes/prune` filters: label, label!, all. Without `all=true` only anonymous
/// volumes go (Docker ≥ 23 for API ≥ 1.42).
pub struct PruneFilter {
    labels: Vec<String>,
    not_labels: Vec<String>,
    all: bool,
}

impl PruneFilter {
    pub fn new(f: &Filters) -> Result<PruneFilter, ApiError> {
        f.validate(&["label", "label!", "all"])?;
        Ok(PruneFilter {
            labels: f.get("label").to_vec(),
            not_labels: f.get("label!").to_vec(),
            all: f.get_bool("all")?.unwrap_or(false),
        })
    }

    /// Named volumes too, as for API < 1.42 clients (their prune had no `all`).
    pub fn include_named(mut self) -> PruneFilter {
        self.all = true;
        self
    }

    pub fn matches(&self, c: &Candidate) -> bool {
        !c.in_use
            && (self.all || c.anonymous)
            && match_kv_list(&self.labels, c.labels)
            && (self.not_labels.is_empty() || !match_kv_list(&self.not_labels, c.labels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(kv: &[(&str, &str)]) -> HashMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn kv_list_needs_every_entry() {
        let l = labels(&[("a", "1"), ("b", "")]);
        assert!(match_kv_list(&[], &l));
        assert!(match_kv_list(&["a".into()], &l));
        assert!(match_kv_list(&["a=1".into(), "b".into()], &l));
        assert!(!match_kv_list(&["a=2".into()], &l));
        assert!(!match_kv_list(&["a".into(), "c".into()], &l));
        assert!(!match_kv_list(&["a".into()], &HashMap::new()));
    }

    #[test]
    fn list_filters() {
        let l = labels(&[("env", "prod")]);
        let c = Candidate {
            name: "web-data",
            labels: &l,
            in_use: false,
            anonymous: false,
        };
        let f = |raw: &str| ListFilter::new(&Filters::parse(Some(raw)).unwrap()).unwrap();
        assert!(f(r#"{"name":{"data":true}}"#).matches(&c));
        assert!(!f(r#"{"name":{"db":true}}"#).matches(&c));
        assert!(f(r#"{"label":{"env=prod":true}}"#).matches(&c));
        assert!(!f(r#"{"label":{"env=dev":true}}"#).matches(&c));
        assert!(f(r#"{"dangling":{"true":true}}"#).matches(&c));
        assert!(!f(r#"{"dangling":{"false":true}}"#).matches(&c));
        assert!(f(r#"{"driver":{"local":true}}"#).matches(&c));
        assert!(!f(r#"{"driver":{"nfs":true}}"#).matches(&c));
        let bad = Filters::parse(Some(r#"{"color":{"x":true}}"#)).unwrap();
        assert_eq!(ListFilter::new(&bad).err().unwrap().status, 400);
    }

    #[test]
    fn prune_filters() {
        let l = labels(&[("keep", "")]);
        let named = Candidate {
            name: "named",
            labels: &l,
            in_use: false,
            anonymous: false,
        };
        let anon = Candidate {
            anonymous: true,
            name: "anon",
            ..named
        };
        let f = |raw: &str| PruneFilter::new(&Filters::parse(Some(raw)).unwrap()).unwrap();
        assert!(!f("").matches(&named));
        assert!(f("").matches(&anon));
        assert!(f(r#"{"all":{"true":true}}"#).matches(&named));
        assert!(!f(r#"{"all":{"true":true},"label!":{"keep":true}}"#).matches(&named));
        assert!(f(r#"{"label":{"keep":true}}"#).matches(&anon));
        let used = Candidate {
            in_use: true,
            ..anon
        };
        assert!(!f(r#"{"all":{"1":true}}"#).matches(&used));
    }
}
