//! One module per command; this file holds what they share: the daemon client and config
//! location, docker-style argument-count errors, exit-status errors, terminal queries.

pub mod attach;
pub mod container;
pub mod create;
pub mod exec;
pub mod history;
pub mod images;
pub mod info;
pub mod inspect;
pub mod kill;
pub mod login;
pub mod logs;
pub mod network;
pub mod pause;
pub mod port;
pub mod prune;
pub mod ps;
pub mod pull;
pub mod rename;
pub mod rm;
pub mod rmi;
pub mod run;
pub mod start;
pub mod stats;
pub mod stop;
pub mod tag;
pub mod top;
pub mod update;
pub mod version;
pub mod volume;
pub mod wait;

use std::fmt;
use std::path::PathBuf;

use crate::client::Client;
use crate::format::TabWriter;
use crate::template::Template;

pub struct Ctx {
    pub client: Client,
    pub config_dir: PathBuf,
}

/// An error that carries its own exit status (docker's cli.StatusError). An empty
/// message prints nothing (the command already reported what went wrong).
#[derive(Debug)]
pub struct StatusError {
    pub code: i32,
    pub message: String,
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for StatusError {}

pub fn status_err(code: i32, message: impl Into<String>) -> anyhow::Error {
    StatusError {
        code,
        message: message.into(),
    }
    .into()
}

pub enum Arity {
    Exactly(usize),
    AtLeast(usize),
    AtMost(usize),
    /// cobra's RequiresRangeArgs.
    Range(usize, usize),
}

/// docker's usage line for a command path ("pull", "image ls"), without the program
/// name; shown with argument-count and flag errors.
pub fn usage_of(cmd: &str) -> &'static str {
    match cmd {
        "pull" | "image pull" => "[OPTIONS] NAME[:TAG|@DIGEST]",
        "images" | "image ls" | "image list" => "[OPTIONS] [REPOSITORY[:TAG]]",
        "rmi" | "image rm" | "image remove" | "image rmi" => "[OPTIONS] IMAGE [IMAGE...]",
        "tag" | "image tag" => "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
        "inspect" => "[OPTIONS] NAME|ID [NAME|ID...]",
        "image inspect" => "[OPTIONS] IMAGE [IMAGE...]",
        "history" | "image history" => "[OPTIONS] IMAGE",
        "login" => "[OPTIONS] [SERVER]",
        "logout" => "[SERVER]",
        "version" | "info" => "[OPTIONS]",
        "image" | "container" | "volume" | "network" => "COMMAND",
        "run" | "create" | "container run" | "container create" => {
            "[OPTIONS] IMAGE [COMMAND] [ARG...]"
        }
        "start" | "stop" | "restart" | "kill" | "rm" | "container start" | "container stop"
        | "container restart" | "container kill" | "container rm" | "container remove" => {
            "[OPTIONS] CONTAINER [CONTAINER...]"
        }
        "ps" | "container ls" | "container ps" | "container list" | "container prune"
        | "volume ls" | "volume list" | "volume prune" => "[OPTIONS]",
        "logs" | "attach" | "container logs" | "container attach" => "[OPTIONS] CONTAINER",
        "wait" | "container wait" | "pause" | "unpause" | "container pause"
        | "container unpause" => "CONTAINER [CONTAINER...]",
        "stats" | "container stats" => "[OPTIONS] [CONTAINER...]",
        "update" | "container update" => "[OPTIONS] CONTAINER [CONTAINER...]",
        "exec" | "container exec" => "[OPTIONS] CONTAINER COMMAND [ARG...]",
        "top" | "container top" => "CONTAINER [ps OPTIONS]",
        "rename" | "container rename" => "CONTAINER NEW_NAME",
        "container inspect" => "[OPTIONS] CONTAINER [CONTAINER...]",
        "volume create" => "[OPTIONS] [VOLUME]",
        "volume inspect" => "[OPTIONS] VOLUME [VOLUME...]",
        "volume rm" | "volume remove" => "[OPTIONS] VOLUME [VOLUME...]",
        "port" | "container port" => "CONTAINER [PRIVATE_PORT[/PROTO]]",
        "network create" => "[OPTIONS] NETWORK",
        "network connect" => "[OPTIONS] NETWORK CONTAINER",
        "network disconnect" => "[OPTIONS] NETWORK CONTAINER",
        "network inspect" => "[OPTIONS] NETWORK [NETWORK...]",
        "network ls" | "network list" | "network prune" => "[OPTIONS]",
        "network rm" | "network remove" => "NETWORK [NETWORK...]",
        _ => "[OPTIONS] COMMAND",
    }
}

/// The text docker 28 appends to a usage error: usage line and where to get help.
/// `name` is the full command, e.g. "rdocker image ls".
pub fn usage_footer(name: &str) -> String {
    let cmd = name.strip_prefix("rdocker").unwrap_or(name).trim();
    format!(
        "\n\nUsage:  {name} {}\n\nRun '{name} --help' for more information",
        usage_of(cmd)
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        "argument"
    } else {
        "arguments"
    }
}

/// docker's cli.ExactArgs / RequiresMinArgs / RequiresMaxArgs / NoArgs errors, exit 1.
pub fn check_args(args: &[String], arity: Arity, name: &str) -> anyhow::Result<()> {
    let n = args.len();
    let what = match arity {
        Arity::Exactly(0) if n != 0 => "accepts no arguments".to_string(),
        Arity::Exactly(k) if n != k => format!("requires {k} {}", plural(k)),
        Arity::AtLeast(k) if n < k => format!("requires at least {k} {}", plural(k)),
        Arity::AtMost(k) if n > k => format!("requires at most {k} {}", plural(k)),
        Arity::Range(lo, hi) if n < lo || n > hi => {
            format!("requires at least {lo} and at most {hi} {}", plural(hi))
        }
        _ => return Ok(()),
    };
    let mut msg = format!("rdocker: '{name}' {what}{}", usage_footer(name));
    if matches!(arity, Arity::AtLeast(_)) {
        // docker 28's RequiresMinArgs alone says "See" where the others say "Run".
        msg = msg.replacen("\n\nRun '", "\n\nSee '", 1);
    }
    Err(status_err(1, msg))
}

/// docker's formatter.Context: a `table` format goes through the tabwriter under a header
/// line (the template run on `header`), `json` means `{{json .}}`, and `\t`/`\n` written
/// literally in a format are escapes. `root_type` is the Go type docker names when a
/// placeholder does not exist.
pub fn format_rows(
    format: &str,
    header: &serde_json::Value,
    rows: &[serde_json::Value],
    root_type: &str,
) -> anyhow::Result<String> {
    let (table, body) = match format.strip_prefix("table") {
        Some(rest) => (true, rest),
        None if format == "json" => (false, "{{json .}}"),
        None => (false, format),
    };
    let body = body
        .trim_matches(' ')
        .replace("\\t", "\t")
        .replace("\\n", "\n");
    let err = |e: String| status_err(1, format!("template parsing error: {e}"));
    let t = Template::parse(&body).map_err(err)?;
    let mut out = String::new();
    if table {
        out.push_str(&t.execute_typed(header, Some(root_type)).map_err(err)?);
        out.push('\n');
    }
    for r in rows {
        out.push_str(&t.execute_typed(r, Some(root_type)).map_err(err)?);
        out.push('\n');
    }
    if !table {
        return Ok(out);
    }
    let mut tw = TabWriter::docker_table();
    tw.text(&out);
    Ok(tw.render())
}

/// Runs `f` on each name in turn, printing the name back when it succeeded; the errors
/// are joined one per line (docker's errors.Join), exit status 1.
pub fn for_each(
    names: &[String],
    mut f: impl FnMut(&str) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut errs = Vec::new();
    for n in names {
        match f(n) {
            Ok(()) => println!("{n}"),
            Err(e) => errs.push(format!("{e:#}")),
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(status_err(1, errs.join("\n")))
    }
}

/// `--filter k=v` flags as the daemon's `filters` JSON (`{"k":{"v":true}}`), or None.
pub fn filters_param(filters: &[String]) -> anyhow::Result<Option<String>> {
    let mut map: std::collections::BTreeMap<String, std::collections::BTreeMap<String, bool>> =
        Default::default();
    for f in filters {
        let (k, v) = f.split_once('=').ok_or_else(|| {
            status_err(
                125,
                format!("invalid argument \"{f}\" for \"-f, --filter\" flag: bad format of filter (expected name=value)"),
            )
        })?;
        map.entry(k.trim().to_lowercase())
            .or_default()
            .insert(v.to_string(), true);
    }
    if map.is_empty() {
        return Ok(None);
    }
    Ok(Some(serde_json::to_string(&map)?))
}

/// docker's prompt.Confirm: the warning, "Are you sure you want to continue? [y/N] ",
/// and a line from stdin; only "y"/"Y" confirms.
pub fn confirm(warning: &str) -> anyhow::Result<bool> {
    use std::io::{BufRead, Write};
    let mut out = std::io::stdout().lock();
    write!(out, "{warning}\nAre you sure you want to continue? [y/N] ")?;
    out.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let answer = line.trim();
    Ok(answer == "y" || answer == "Y")
}

pub fn stdout_is_tty() -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(libc::STDOUT_FILENO) == 1 }
}

pub fn stdin_is_tty() -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(libc::STDIN_FILENO) == 1 }
}

/// Width of the terminal on stdout, if it is one.
pub fn term_width() -> Option<usize> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize into the struct we own.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_col > 0).then_some(ws.ws_col as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arg_count_messages() {
        let err = check_args(&[], Arity::Exactly(1), "rdocker pull").expect_err("error");
        assert_eq!(
            err.to_string(),
            "rdocker: 'rdocker pull' requires 1 argument\n\nUsage:  rdocker pull [OPTIONS] NAME[:TAG|@DIGEST]\n\nRun 'rdocker pull --help' for more information"
        );
        assert!(check_args(&["a".into()], Arity::Exactly(1), "rdocker pull").is_ok());
        let two = ["a".to_string(), "b".to_string()];
        let e = check_args(&two, Arity::AtMost(1), "rdocker image ls").expect_err("error");
        assert_eq!(
            e.to_string(),
            "rdocker: 'rdocker image ls' requires at most 1 argument\n\nUsage:  rdocker image ls [OPTIONS] [REPOSITORY[:TAG]]\n\nRun 'rdocker image ls --help' for more information"
        );
        let e = check_args(&two, Arity::Exactly(0), "rdocker version").expect_err("error");
        assert!(e
            .to_string()
            .starts_with("rdocker: 'rdocker version' accepts no arguments\n"));
        let e = check_args(&[], Arity::AtLeast(1), "rdocker rmi").expect_err("error");
        assert_eq!(e.downcast_ref::<StatusError>().map(|s| s.code), Some(1));
        assert_eq!(
            e.to_string(),
            "rdocker: 'rdocker rmi' requires at least 1 argument\n\nUsage:  rdocker rmi [OPTIONS] IMAGE [IMAGE...]\n\nSee 'rdocker rmi --help' for more information"
        );
        let e = check_args(&[], Arity::Exactly(2), "rdocker tag").expect_err("error");
        assert!(e.to_string().starts_with(
            "rdocker: 'rdocker tag' requires 2 arguments\n\nUsage:  rdocker tag SOURCE_IMAGE"
        ));
    }
}
