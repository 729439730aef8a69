//! Docker's pull progress messages (`jsonmessage.JSONMessage`), one JSON object per line.
//!
//! Written by hand rather than with bollard's `CreateImageInfo` because Docker still sends the
//! deprecated `progress` (the rendered bar) and `error` fields that the stock CLI prints, and
//! field order follows Docker's Go struct so output matches byte for byte.

use rdocker_image_store::PullEvent;
use serde::Serialize;

/// `jsonmessage.JSONMessage`, the subset a pull produces, fields in Docker's order.
#[derive(Debug, Default, Serialize)]
struct JsonMessage<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
    #[serde(rename = "progressDetail", skip_serializing_if = "Option::is_none")]
    progress_detail: Option<JsonProgress>,
    #[serde(rename = "progress", skip_serializing_if = "str::is_empty")]
    progress: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "errorDetail", skip_serializing_if = "Option::is_none")]
    error_detail: Option<JsonError<'a>>,
    #[serde(rename = "error", skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// `jsonmessage.JSONProgress`: zero fields are omitted (`omitempty`), so a plain status update
/// carries `"progressDetail":{}` exactly like dockerd's `progress.Update`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
struct JsonProgress {
    #[serde(skip_serializing_if = "is_zero")]
    current: u64,
    #[serde(skip_serializing_if = "is_zero")]
    total: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

#[derive(Debug, Serialize)]
struct JsonError<'a> {
    message: &'a str,
}

/// One progress line (with its trailing newline) for a pull event.
pub fn event_line(ev: &PullEvent) -> Vec<u8> {
    match ev {
        // dockerd's `progress.Message`: status and id, no progressDetail.
        PullEvent::PullingFrom { name, tag } => {
            let status = format!("Pulling from {name}");
            encode(&JsonMessage {
                status: Some(&status),
                id: Some(tag),
                ..Default::default()
            })
        }
        PullEvent::Digest { digest } => {
            let status = format!("Digest: {digest}");
            encode(&JsonMessage {
                status: Some(&status),
                ..Default::default()
            })
        }
        PullEvent::Status { message } => {
            let status = if message.starts_with("Status: ") {
                message.clone()
            } else {
                format!("Status: {message}")
            };
            encode(&JsonMessage {
                status: Some(&status),
                ..Default::default()
            })
        }
        // dockerd's `progress.Update` / progress readers: status, progressDetail, progress, id.
        PullEvent::LayerWaiting { layer } => update(layer, "Pulling fs layer", 0, 0),
        PullEvent::LayerExists { layer } => update(layer, "Already exists", 0, 0),
        PullEvent::Downloading {
            layer,
            current,
            total,
        } => update(layer, "Downloading", *current, *total),
        PullEvent::VerifyingChecksum { layer } => update(layer, "Verifying Checksum", 0, 0),
        PullEvent::DownloadComplete { layer } => update(layer, "Download complete", 0, 0),
        PullEvent::Extracting {
            layer,
            current,
            total,
        } => update(layer, "Extracting", *current, *total),
        PullEvent::PullComplete { layer } => update(layer, "Pull complete", 0, 0),
    }
}

fn update(id: &str, action: &str, current: u64, total: u64) -> Vec<u8> {
    let detail = JsonProgress { current, total };
    encode(&JsonMessage {
        status: Some(action),
        progress_detail: Some(detail),
        progress: progress_string(current, total),
        id: Some(id),
        ..Default::default()
    })
}

/// The last line of a failed stream: `{"errorDetail":{"message":"…"},"error":"…"}`.
pub fn error_line(message: &str) -> Vec<u8> {
    encode(&JsonMessage {
        error_detail: Some(JsonError { message }),
        error: Some(message),
        ..Default::default()
    })
}

fn encode(msg: &JsonMessage<'_>) -> Vec<u8> {
    // Serialising these plain structs cannot fail; fall back to an empty object rather than panic.
    let mut out = serde_json::to_vec(msg).unwrap_or_else(|_| b"{}".to_vec());
    out.push(b'\n');
    out
}

/// `JSONProgress.String()` as dockerd renders it (no terminal, so width 200: bar shown, no ETA).
pub fn progress_string(current: u64, total: u64) -> String {
    if current == 0 && total == 0 {
        return String::new();
    }
    if total == 0 {
        return format!("{:>8}", human_size(current as f64));
    }
    let mut percentage = ((current as f64 / total as f64 * 100.0) as i64 / 2) as usize;
    if percentage > 50 {
        percentage = 50;
    }
    let bar = format!(
        "[{}>{}] ",
        "=".repeat(percentage),
        " ".repeat(50 - percentage)
    );
    let cur = human_size(current as f64);
    let numbers = if current > total {
        // Docker hides the total when the reported current is off.
        format!("{cur:>8}")
    } else {
        format!("{cur:>8}/{}", human_size(total as f64))
    };
    bar + &numbers
}

/// go-units `HumanSize`: decimal units, 4 significant digits (`%.4g`), e.g. `1.049MB`, `512B`.
pub fn human_size(size: f64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = size;
    let mut i = 0;
    while size >= 1000.0 && i < UNITS.len() - 1 {
        size /= 1000.0;
        i += 1;
    }
    format!("{}{}", go_g4(size), UNITS[i])
}

/// Go's `%.4g` for the values `human_size` produces (non-negative, below 1000 except at the top
/// unit): shortest of fixed/exponent form with trailing zeros removed.
fn go_g4(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    // Scientific rendering tells the decimal exponent after rounding to 4 significant digits.
    let sci = format!("{v:.3e}");
    let exp: i32 = sci
        .rsplit_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    if !(-4..4).contains(&exp) {
        let (mantissa, _) = sci.split_once('e').unwrap_or((&sci, ""));
        let mantissa = trim_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    let decimals = (3 - exp).max(0) as usize;
    trim_zeros(&format!("{v:.decimals$}")).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Whether `next` can replace `prev` in a batch of queued events: repeated byte counts of the same
/// layer and phase only matter in their latest value.
pub fn supersedes(prev: &PullEvent, next: &PullEvent) -> bool {
    match (prev, next) {
        (PullEvent::Downloading { layer: a, .. }, PullEvent::Downloading { layer: b, .. }) => {
            a == b
        }
        (PullEvent::Extracting { layer: a, .. }, PullEvent::Extracting { layer: b, .. }) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(ev: PullEvent) -> String {
        String::from_utf8(event_line(&ev)).unwrap()
    }

    #[test]
    fn human_size_matches_go_units() {
        assert_eq!(human_size(0.0), "0B");
        assert_eq!(human_size(512.0), "512B");
        assert_eq!(human_size(999.0), "999B");
        assert_eq!(human_size(1000.0), "1kB");
        assert_eq!(human_size(1048576.0), "1.049MB");
        assert_eq!(human_size(2097152.0), "2.097MB");
        assert_eq!(human_size(2_222_000.0), "2.222MB");
        assert_eq!(human_size(1_500_000.0), "1.5MB");
        assert_eq!(human_size(123_456.0), "123.5kB");
        assert_eq!(human_size(999_960.0), "1000kB");
        assert_eq!(human_size(10_000_000_000.0), "10GB");
        assert_eq!(human_size(772_788.0), "772.8kB");
    }

    #[test]
    fn downloading_line_is_dockers() {
        assert_eq!(
            line(PullEvent::Downloading {
                layer: "0123456789ab".into(),
                current: 1048576,
                total: 2097152
            }),
            "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1048576,\"total\":2097152},\"progress\":\"[=========================>                         ]  1.049MB/2.097MB\",\"id\":\"0123456789ab\"}\n"
        );
    }

    #[test]
    fn bar_edges() {
        assert_eq!(
            progress_string(0, 2_000_000),
            format!("[>{}]       0B/2MB", " ".repeat(50))
        );
        assert_eq!(
            progress_string(2_000_000, 2_000_000),
            format!("[{}>]      2MB/2MB", "=".repeat(50))
        );
        // current beyond total: bar full, total hidden.
        assert_eq!(
            progress_string(3_000_000, 2_000_000),
            format!("[{}>]      3MB", "=".repeat(50))
        );
        assert_eq!(progress_string(1500, 0), "   1.5kB");
        assert_eq!(progress_string(0, 0), "");
    }

    #[test]
    fn status_updates_carry_empty_progress_detail() {
        assert_eq!(
            line(PullEvent::LayerWaiting {
                layer: "a3ed95caeb02".into()
            }),
            "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"a3ed95caeb02\"}\n"
        );
        assert_eq!(
            line(PullEvent::PullComplete {
                layer: "a3ed95caeb02".into()
            }),
            "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"a3ed95caeb02\"}\n"
        );
        assert_eq!(
            line(PullEvent::VerifyingChecksum { layer: "x".into() }),
            "{\"status\":\"Verifying Checksum\",\"progressDetail\":{},\"id\":\"x\"}\n"
        );
        assert_eq!(
            line(PullEvent::DownloadComplete { layer: "x".into() }),
            "{\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"x\"}\n"
        );
        assert_eq!(
            line(PullEvent::LayerExists { layer: "x".into() }),
            "{\"status\":\"Already exists\",\"progressDetail\":{},\"id\":\"x\"}\n"
        );
    }

    #[test]
    fn messages_have_no_progress_detail() {
        assert_eq!(
            line(PullEvent::PullingFrom {
                name: "library/busybox".into(),
                tag: "latest".into()
            }),
            "{\"status\":\"Pulling from library/busybox\",\"id\":\"latest\"}\n"
        );
        assert_eq!(
            line(PullEvent::Digest {
                digest: "sha256:abc".into()
            }),
            "{\"status\":\"Digest: sha256:abc\"}\n"
        );
        let want = "{\"status\":\"Status: Downloaded newer image for busybox:latest\"}\n";
        assert_eq!(
            line(PullEvent::Status {
                message: "Status: Downloaded newer image for busybox:latest".into()
            }),
            want
        );
        assert_eq!(
            line(PullEvent::Status {
                message: "Downloaded newer image for busybox:latest".into()
            }),
            want
        );
    }

    #[test]
    fn extracting_line() {
        assert_eq!(
            line(PullEvent::Extracting {
                layer: "0123456789ab".into(),
                current: 32768,
                total: 2_222_000
            }),
            "{\"status\":\"Extracting\",\"progressDetail\":{\"current\":32768,\"total\":2222000},\"progress\":\"[>                                                  ]  32.77kB/2.222MB\",\"id\":\"0123456789ab\"}\n"
        );
    }

    #[test]
    fn error_line_shape() {
        assert_eq!(
            String::from_utf8(error_line("manifest unknown")).unwrap(),
            "{\"errorDetail\":{\"message\":\"manifest unknown\"},\"error\":\"manifest unknown\"}\n"
        );
    }

    #[test]
    fn only_same_layer_byte_counts_coalesce() {
        let d = |l: &str, c| PullEvent::Downloading {
            layer: l.into(),
            current: c,
            total: 10,
        };
        assert!(supersedes(&d("a", 1), &d("a", 2)));
        assert!(!supersedes(&d("a", 1), &d("b", 2)));
        assert!(!supersedes(
            &d("a", 1),
            &PullEvent::DownloadComplete { layer: "a".into() }
        ));
    }
}
