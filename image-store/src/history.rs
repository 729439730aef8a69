//! `docker history` from the image config: newest first, `empty_layer` entries sized 0, the top
//! entry named by the image id and the others `<missing>` (their intermediate images are not
//! local, as with any pulled image in Docker).

use crate::{HistoryEntry, ImageInfo};

pub fn history(info: &ImageInfo) -> Vec<HistoryEntry> {
    let mut sizes = info.layers.iter().map(|l| l.unpacked_size);
    let mut out: Vec<HistoryEntry> = match info.config.history() {
        Some(h) if !h.is_empty() => h
            .iter()
            .map(|h| HistoryEntry {
                id: String::new(),
                created: unix(h.created().as_deref()),
                created_by: h.created_by().clone().unwrap_or_default(),
                tags: vec![],
                size: if h.empty_layer().unwrap_or(false) {
                    0
                } else {
                    sizes.next().unwrap_or(0)
                },
                comment: h.comment().clone().unwrap_or_default(),
            })
            .collect(),
        // No history in the config: one line per layer, as Docker shows it.
        _ => sizes
            .map(|size| HistoryEntry {
                id: String::new(),
                created: unix(info.created.as_deref()),
                created_by: String::new(),
                tags: vec![],
                size,
                comment: String::new(),
            })
            .collect(),
    };
    out.reverse();
    for (i, e) in out.iter_mut().enumerate() {
        if i == 0 {
            e.id = info.id.clone();
            e.tags = info.repo_tags.clone();
        } else {
            e.id = "<missing>".to_string();
        }
    }
    out
}

fn unix(s: Option<&str>) -> i64 {
    s.and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.timestamp())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LayerInfo;

    #[test]
    fn newest_first_with_empty_layers() {
        let config: oci_spec::image::ImageConfiguration = serde_json::from_str(
            r#"{"architecture":"amd64","os":"linux","created":"2024-01-02T03:04:05Z",
                "rootfs":{"type":"layers","diff_ids":["sha256:aa","sha256:bb"]},
                "history":[
                  {"created":"2024-01-01T00:00:00Z","created_by":"ADD file:x in /"},
                  {"created":"2024-01-01T00:00:01Z","created_by":"CMD [\"sh\"]","empty_layer":true},
                  {"created":"2024-01-02T03:04:05Z","created_by":"RUN x","comment":"c"}]}"#,
        )
        .unwrap();
        let layer = |n: u64| LayerInfo {
            diff_id: String::new(),
            chain_id: String::new(),
            digest: String::new(),
            media_type: String::new(),
            size: 0,
            unpacked_size: n,
        };
        let info = ImageInfo {
            id: "sha256:1234".into(),
            repo_tags: vec!["busybox:latest".into()],
            repo_digests: vec![],
            created: None,
            size: 30,
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
            config,
            manifest_digest: String::new(),
            layers: vec![layer(10), layer(20)],
        };
        let h = history(&info);
        assert_eq!(h.len(), 3);
        assert_eq!(
            (h[0].id.as_str(), h[0].size, h[0].comment.as_str()),
            ("sha256:1234", 20, "c")
        );
        assert_eq!(h[0].tags, vec!["busybox:latest".to_string()]);
        assert_eq!(h[0].created, 1704164645);
        assert_eq!((h[1].id.as_str(), h[1].size), ("<missing>", 0));
        assert_eq!(
            (h[2].size, h[2].created_by.as_str()),
            (10, "ADD file:x in /")
        );
    }
}
