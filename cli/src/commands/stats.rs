//! `rdocker stats`: docker's RunStats. One thread per container reads its stats stream
//! (`stream=0` with `--no-stream`: one sample, precpu filled by the daemon); the main
//! thread waits for a first sample of each, then prints the table once, or redraws it
//! every 500 ms (in place on a terminal) until Ctrl-C, which exits 0.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Deserialize;

use super::{format_rows, status_err, stdout_is_tty, Ctx};
use crate::client::{api_path, Client};
use crate::statsfmt::{self, Entry, StatsJson, DEFAULT_FORMAT, ROOT_TYPE};
use crate::url::path_escape;

/// docker's collect(): a container without a sample for this long shows as "--".
const STALE: Duration = Duration::from_secs(2);
const TICK: Duration = Duration::from_millis(500);

#[derive(clap::Args, Debug, Default)]
pub struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    pub all: bool,
    /// Disable streaming stats and only pull the first result
    #[arg(long = "no-stream")]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Format output using a custom template ('table', 'json' or a Go template)
    #[arg(long, value_name = "string")]
    pub format: Option<String>,
    #[arg(value_name = "CONTAINER")]
    pub args: Vec<String>,
}

/// One container being watched (docker's Stats).
struct Slot {
    entry: Entry,
    err: Option<String>,
    /// When the last sample (or the start of collection) was.
    last: Instant,
    got_first: bool,
}

type Slots = Arc<Mutex<Vec<Slot>>>;

fn lock(s: &Slots) -> MutexGuard<'_, Vec<Slot>> {
    // A panicked collector leaves a usable table: take the data regardless.
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// Updates the slot of `container`; false when it is no longer watched.
fn with_slot(slots: &Slots, container: &str, f: impl FnOnce(&mut Slot)) -> bool {
    let mut g = lock(slots);
    match g.iter_mut().find(|s| s.entry.container == container) {
        Some(s) => {
            f(s);
            true
        }
        None => false,
    }
}

/// Starts watching `container` unless it is already (docker's stats.add + collect).
fn add(slots: &Slots, client: &Client, container: &str, stream: bool) {
    {
        let mut g = lock(slots);
        if g.iter().any(|s| s.entry.container == container) {
            return;
        }
        g.push(Slot {
            entry: Entry {
                container: container.to_string(),
                ..Default::default()
            },
            err: None,
            last: Instant::now(),
            got_first: false,
        });
    }
    let (slots, client, container) = (slots.clone(), client.clone(), container.to_string());
    thread::spawn(move || collect(&slots, &client, &container, stream));
}

fn collect(slots: &Slots, client: &Client, container: &str, stream: bool) {
    let path = api_path(&format!(
        "/containers/{}/stats?stream={}",
        path_escape(container),
        if stream { 1 } else { 0 }
    ));
    let resp = match client.request("GET", &path, &[], None) {
        Ok(r) => r,
        Err(e) => {
            with_slot(slots, container, |s| {
                s.err = Some(format!("{e:#}"));
                s.entry.is_invalid = true;
                s.got_first = true;
            });
            return;
        }
    };
    for sample in serde_json::Deserializer::from_reader(resp).into_iter::<StatsJson>() {
        let alive = with_slot(slots, container, |s| {
            match &sample {
                Ok(v) => {
                    s.entry = Entry::from_stats(container, v);
                    s.err = None;
                    s.last = Instant::now();
                }
                Err(e) => {
                    s.err = Some(e.to_string());
                    s.entry.is_invalid = true;
                }
            }
            s.got_first = true;
        });
        if !alive || !stream || sample.is_err() {
            return;
        }
    }
    // The stream ended (the container stopped): its row shows "--" from now on.
    with_slot(slots, container, |s| {
        s.entry.is_invalid = true;
        s.got_first = true;
    });
}

/// Blocks until each container has its first sample, an error, or went stale.
fn wait_first(slots: &Slots) {
    loop {
        let done = lock(slots)
            .iter()
            .all(|s| s.got_first || s.last.elapsed() >= STALE);
        if done {
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

#[derive(Deserialize)]
struct Listed {
    #[serde(rename = "Id")]
    id: String,
}

/// Without arguments: watch what `ps` (`ps -a`) lists; without `-a`, containers that
/// stopped are dropped (docker's start/die event handlers, by polling the list).
fn relist(ctx: &Ctx, slots: &Slots, all: bool, stream: bool) -> Result<()> {
    let q = if all { "?all=1" } else { "" };
    let list: Vec<Listed> = ctx
        .client
        .get_json(&api_path(&format!("/containers/json{q}")))?;
    for c in &list {
        add(slots, &ctx.client, &c.id, stream);
    }
    if !all {
        let ids: HashSet<&str> = list.iter().map(|c| c.id.as_str()).collect();
        lock(slots).retain(|s| ids.contains(s.entry.container.as_str()));
    }
    Ok(())
}

fn snapshot(slots: &Slots) -> Vec<Entry> {
    lock(slots)
        .iter()
        .map(|s| {
            let mut e = s.entry.clone();
            if !s.got_first || s.last.elapsed() >= STALE {
                e.reset();
            }
            e
        })
        .collect()
}

fn render(entries: &[Entry], format: &str, trunc: bool) -> Result<String> {
    let rows: Vec<serde_json::Value> = entries.iter().map(|e| statsfmt::row(e, trunc)).collect();
    format_rows(format, &statsfmt::header(), &rows, ROOT_TYPE)
}

/// A frame drawn over the previous one: cursor home, each line ending with "erase to
/// end of line", and what is left of the old frame erased below (docker's sequences).
pub fn in_place(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in format!("\x1b[H{text}").split('\n') {
        out.push_str(line);
        out.push_str("\x1b[K\n");
    }
    out.push_str("\x1b[J");
    out
}

extern "C" fn exit_quietly(_: libc::c_int) {
    // SAFETY: _exit is async-signal-safe; nothing needs flushing (frames are written
    // and flushed whole).
    unsafe { libc::_exit(0) }
}

pub fn run(ctx: &Ctx, _name: &str, a: StatsArgs) -> Result<()> {
    let format = match a.format.as_deref().filter(|f| !f.is_empty()) {
        None | Some("table") => DEFAULT_FORMAT.to_string(),
        Some(f) => f.to_string(),
    };
    let stream = !a.no_stream;
    let show_all = a.args.is_empty();
    let slots: Slots = Arc::default();
    if show_all {
        relist(ctx, &slots, a.all, stream)?;
        wait_first(&slots);
    } else {
        for c in &a.args {
            add(&slots, &ctx.client, c, stream);
        }
        wait_first(&slots);
        let errs: Vec<String> = lock(&slots).iter().filter_map(|s| s.err.clone()).collect();
        if !errs.is_empty() {
            return Err(status_err(1, errs.join("\n")));
        }
    }
    let trunc = !a.no_trunc;
    let stdout = std::io::stdout();
    if !stream {
        // docker 28 prints the header even when there is nothing to show.
        let entries = snapshot(&slots);
        let mut out = stdout.lock();
        out.write_all(render(&entries, &format, trunc)?.as_bytes())?;
        out.flush()?;
        return Ok(());
    }
    let handler: extern "C" fn(libc::c_int) = exit_quietly;
    // SAFETY: installs a handler that only calls _exit.
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
    }
    let tty = stdout_is_tty();
    let mut last_list = Instant::now();
    loop {
        thread::sleep(TICK);
        if show_all && last_list.elapsed() >= Duration::from_secs(1) {
            // A failed re-list (daemon restarting) keeps the current rows, as docker
            // keeps them when its event stream breaks.
            let _ = relist(ctx, &slots, a.all, stream);
            last_list = Instant::now();
        }
        let entries = snapshot(&slots);
        let table = render(&entries, &format, trunc)?;
        let frame = if tty { in_place(&table) } else { table };
        let mut out = stdout.lock();
        out.write_all(frame.as_bytes())?;
        out.flush()?;
        if entries.is_empty() && !show_all {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_overwrite_in_place() {
        assert_eq!(
            in_place("A   B\n1   2\n"),
            "\x1b[HA   B\x1b[K\n1   2\x1b[K\n\x1b[K\n\x1b[J"
        );
    }

    #[test]
    fn stale_entries_show_dashes() {
        let slots: Slots = Arc::default();
        lock(&slots).push(Slot {
            entry: Entry {
                container: "c".into(),
                name: "/c".into(),
                memory: 5.0,
                ..Default::default()
            },
            err: None,
            last: Instant::now() - STALE,
            got_first: true,
        });
        let e = snapshot(&slots);
        assert!(e[0].is_invalid);
        assert_eq!(e[0].memory, 0.0);
        assert_eq!(e[0].name, "/c");
        wait_first(&slots);
    }
}
