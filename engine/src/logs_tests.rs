use std::collections::HashMap;
use std::io::Write;

use super::*;

const T0: &str = "2026-11-29T19:24:24.123456789Z";
const T0_NANOS: i64 = 1_795_980_264_123_456_789;

fn line(log: &str, stream: &str, time: &str) -> String {
    serde_json::json!({"log": log, "stream": stream, "time": time}).to_string() + "\n"
}

fn opts() -> LogOptions {
    LogOptions {
        stdout: true,
        stderr: true,
        ..Default::default()
    }
}

fn frame(stream: u8, payload: &str) -> Vec<u8> {
    let mut v = vec![stream, 0, 0, 0];
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload.as_bytes());
    v
}

async fn collect(path: &Path, tty: bool, o: LogOptions) -> Vec<u8> {
    let (_tx, rx) = watch::channel(false);
    let body = stream(path.to_path_buf(), tty, o, rx);
    axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap()
        .to_vec()
}

fn log_file(lines: &[String]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-json.log");
    std::fs::write(&path, lines.concat()).unwrap();
    (dir, path)
}

fn params(kv: &[(&str, &str)]) -> Params {
    Params(
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<HashMap<_, _>>(),
    )
}

#[test]
fn time_format_keeps_nine_digits() {
    assert_eq!(format_time(T0_NANOS), T0);
    assert_eq!(format_time(1_000_000_000), "1970-01-01T00:00:01.000000000Z");
}

#[tokio::test]
async fn multiplexed_frames_exact_bytes() {
    let (_d, path) = log_file(&[line("hi\n", "stdout", T0), line("err\n", "stderr", T0)]);
    let got = collect(&path, false, opts()).await;
    let want = [frame(1, "hi\n"), frame(2, "err\n")].concat();
    assert_eq!(got, want);
    assert_eq!(&got[..8], &[1, 0, 0, 0, 0, 0, 0, 3]);
}

#[tokio::test]
async fn stream_selection_and_tty_raw() {
    let (_d, path) = log_file(&[line("out\n", "stdout", T0), line("err\n", "stderr", T0)]);
    let only_err = LogOptions {
        stdout: false,
        ..opts()
    };
    assert_eq!(collect(&path, false, only_err).await, frame(2, "err\n"));
    // With a terminal: no headers at all.
    let (_d2, tty_path) = log_file(&[line("a\r\n", "stdout", T0), line("b\r\n", "stdout", T0)]);
    assert_eq!(collect(&tty_path, true, opts()).await, b"a\r\nb\r\n");
}

#[tokio::test]
async fn timestamps_prefix_in_utc_with_nine_digits() {
    let (_d, path) = log_file(&[
        line("x\n", "stdout", "2026-11-29T19:24:24.1Z"),
        line("y\n", "stdout", "2026-11-29T20:24:24.5+01:00"),
    ]);
    let o = LogOptions {
        timestamps: true,
        ..opts()
    };
    let got = collect(&path, true, o).await;
    assert_eq!(
        String::from_utf8(got).unwrap(),
        "2026-11-29T19:24:24.100000000Z x\n2026-11-29T19:24:24.500000000Z y\n"
    );
}

#[tokio::test]
async fn tail_reads_the_last_lines() {
    let lines: Vec<String> = (0..5)
        .map(|i| line(&format!("{i}\n"), "stdout", T0))
        .collect();
    let (_d, path) = log_file(&lines);
    let tail = |n| LogOptions {
        tail: Some(n),
        ..opts()
    };
    assert_eq!(collect(&path, true, tail(2)).await, b"3\n4\n");
    assert_eq!(collect(&path, true, tail(0)).await, b"");
    assert_eq!(collect(&path, true, tail(9)).await, b"0\n1\n2\n3\n4\n");
    assert_eq!(collect(&path, true, opts()).await, b"0\n1\n2\n3\n4\n");
}

#[tokio::test]
async fn tail_of_a_large_log_spans_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    let mut f = std::fs::File::create(&path).unwrap();
    for i in 0..20_000 {
        f.write_all(line(&format!("line {i}\n"), "stdout", T0).as_bytes())
            .unwrap();
    }
    // An unfinished last line is not one of the last N.
    f.write_all(b"{\"log\":\"unfini").unwrap();
    drop(f);
    assert!(std::fs::metadata(&path).unwrap().len() > 2 * TAIL_CHUNK as u64);
    let o = LogOptions {
        tail: Some(3),
        ..opts()
    };
    assert_eq!(
        collect(&path, true, o).await,
        b"line 19997\nline 19998\nline 19999\n"
    );
}

#[tokio::test]
async fn since_and_until() {
    let (_d, path) = log_file(&[
        line("a\n", "stdout", "2026-01-01T00:00:01Z"),
        line("b\n", "stdout", "2026-01-01T00:00:02Z"),
        line("c\n", "stdout", "2026-01-01T00:00:03Z"),
    ]);
    let at = |s: &str| timestamps::parse(s, 0).unwrap();
    let o = LogOptions {
        since: Some(at("2026-01-01T00:00:02Z")),
        ..opts()
    };
    assert_eq!(collect(&path, true, o).await, b"b\nc\n");
    let o = LogOptions {
        until: Some(at("2026-01-01T00:00:02Z")),
        ..opts()
    };
    assert_eq!(collect(&path, true, o).await, b"a\nb\n");
    let o = LogOptions {
        since: Some(at("2026-01-01T00:00:02Z")),
        until: Some(at("2026-01-01T00:00:02.5Z")),
        ..opts()
    };
    assert_eq!(collect(&path, true, o).await, b"b\n");
}

#[tokio::test]
async fn corrupt_and_partial_lines_are_skipped() {
    let (_d, path) = log_file(&[
        line("a\n", "stdout", T0),
        "{\"log\":\"torn\n".to_string(),
        "not json at all\n".to_string(),
        line("bad time\n", "stdout", "yesterday"),
        "\u{0}\u{0}\u{0}\n".to_string(),
        line("b\n", "stdout", T0),
        "{\"log\":\"half".to_string(),
    ]);
    assert_eq!(collect(&path, true, opts()).await, b"a\nb\n");
}

#[tokio::test]
async fn last_line_without_newline_is_used_when_whole() {
    let whole = line("end", "stdout", T0);
    let (_d, path) = log_file(&[line("a\n", "stdout", T0), whole.trim_end().to_string()]);
    assert_eq!(collect(&path, true, opts()).await, b"a\nend");
}

#[tokio::test]
async fn missing_log_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let o = LogOptions {
        follow: true,
        ..opts()
    };
    assert_eq!(collect(&dir.path().join("none.log"), false, o).await, b"");
}

#[tokio::test]
async fn follow_ends_when_the_container_stops_and_the_file_is_drained() {
    let (_d, path) = log_file(&[line("first\n", "stdout", T0)]);
    let (running_tx, running) = watch::channel(true);
    let o = LogOptions {
        follow: true,
        ..opts()
    };
    let body = stream(path.clone(), true, o, running);
    let reader = tokio::spawn(axum::body::to_bytes(body, usize::MAX));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!reader.is_finished(), "follow must wait while running");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    // A line written in two parts: the reader must wait for its end, not drop it.
    let second = line("second\n", "stdout", T0);
    let (head, rest) = second.split_at(10);
    f.write_all(head.as_bytes()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    f.write_all(rest.as_bytes()).unwrap();
    // Written just before the stop is announced: still delivered.
    f.write_all(line("last\n", "stdout", T0).as_bytes())
        .unwrap();
    running_tx.send(false).unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), reader)
        .await
        .expect("follow did not end after the container stopped")
        .unwrap()
        .unwrap();
    assert_eq!(&got[..], b"first\nsecond\nlast\n");
}

#[tokio::test]
async fn follow_waits_for_a_log_that_does_not_exist_yet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("later.log");
    let (running_tx, running) = watch::channel(true);
    let o = LogOptions {
        follow: true,
        ..opts()
    };
    let reader = tokio::spawn(axum::body::to_bytes(
        stream(path.clone(), false, o, running),
        usize::MAX,
    ));
    tokio::time::sleep(Duration::from_millis(150)).await;
    std::fs::write(&path, line("hi\n", "stdout", T0)).unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    drop(running_tx); // the sender going away counts as stopped
    let got = tokio::time::timeout(Duration::from_secs(5), reader)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(&got[..], &frame(1, "hi\n")[..]);
}

#[test]
fn params_like_docker() {
    let e = LogOptions::from_params(&params(&[])).unwrap_err();
    assert_eq!(e.status, 400);
    assert_eq!(
        e.message,
        "Bad parameters: you must choose at least one stream"
    );
    let o = LogOptions::from_params(&params(&[
        ("stdout", "1"),
        ("tail", "10"),
        ("timestamps", "true"),
        ("follow", "1"),
        ("since", "1700000000.5"),
        ("until", "2026-01-01T00:00:00Z"),
    ]))
    .unwrap();
    assert!(o.stdout && !o.stderr && o.timestamps && o.follow);
    assert_eq!(o.tail, Some(10));
    assert_eq!(o.since, Some(1_700_000_000_500_000_000));
    assert_eq!(o.until, Some(1_767_225_600_000_000_000));
    let all = LogOptions::from_params(&params(&[("stderr", "1"), ("tail", "all")])).unwrap();
    assert_eq!(all.tail, None);
    let zero = LogOptions::from_params(&params(&[("stderr", "1"), ("since", "0")])).unwrap();
    assert_eq!(zero.since, None);
    let bad = LogOptions::from_params(&params(&[("stderr", "1"), ("since", "soon")]));
    assert_eq!(bad.unwrap_err().status, 400);
}

#[tokio::test]
async fn overlong_lines_are_dropped_not_buffered() {
    let huge = format!("{{\"log\":\"{}\"}}\n", "x".repeat(MAX_LINE + 10));
    let (_d, path) = log_file(&[line("a\n", "stdout", T0), huge, line("b\n", "stdout", T0)]);
    assert_eq!(collect(&path, true, opts()).await, b"a\nb\n");
    // A valid line just under the limit still goes through whole.
    let big = "y".repeat(MAX_LINE - 200);
    let (_d2, path) = log_file(&[line(&big, "stdout", T0)]);
    assert_eq!(collect(&path, true, opts()).await, big.as_bytes());
}
