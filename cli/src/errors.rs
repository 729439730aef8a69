//! How errors reach the user, as docker prints them: clap's flag and command errors in
//! docker's words and exit codes, and a command's error with its status.

use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::commands::{self, StatusError};

/// The subcommand path of a command line ("pull", "image ls", "" for none), found by
/// skipping the global options; used to print the right usage line with a flag error.
pub fn command_path(argv: &[String]) -> String {
    let mut words = Vec::new();
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "-H" | "--host" | "--config" | "-l" | "--log-level" if words.is_empty() => {
                it.next();
            }
            s if s.starts_with('-') => {}
            s => {
                words.push(s.to_string());
                let group = matches!(
                    words[0].as_str(),
                    "image" | "container" | "volume" | "network"
                );
                if words.len() == 2 || !group {
                    break;
                }
            }
        }
    }
    words.join(" ")
}

/// Docker's conventions: help and version exit 0, an unknown command exits 1, flag
/// errors exit 125, each with the command's usage line.
pub fn clap_error(e: clap::Error, argv: &[String]) -> ExitCode {
    let path = command_path(argv);
    let name = if path.is_empty() {
        "rdocker".to_string()
    } else {
        format!("rdocker {path}")
    };
    let ctx_str = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // Help goes to stdout, also for `rdocker image` without a subcommand.
            print!("{}", e.render());
            ExitCode::SUCCESS
        }
        ErrorKind::InvalidSubcommand => {
            let cmd = ctx_str(ContextKind::InvalidSubcommand);
            let group = path.split(' ').next().unwrap_or("");
            if matches!(group, "image" | "container" | "volume" | "network") && cmd != group {
                eprintln!(
                    "rdocker: unknown command: rdocker {group} {cmd}\n\nUsage:  rdocker {group}\n\nRun 'rdocker {group} --help' for more information"
                );
            } else {
                eprintln!(
                    "rdocker: unknown command: rdocker {cmd}\n\nRun 'rdocker --help' for more information"
                );
            }
            ExitCode::from(1)
        }
        ErrorKind::UnknownArgument => {
            let arg = ctx_str(ContextKind::InvalidArg);
            let flag = arg.split('=').next().unwrap_or(&arg).to_string();
            let what = match flag.strip_prefix('-').filter(|s| !s.starts_with('-')) {
                Some(short) => {
                    let c = short.chars().next().unwrap_or('?');
                    format!("unknown shorthand flag: '{c}' in {flag}")
                }
                None => format!("unknown flag: {flag}"),
            };
            eprintln!("{what}{}", commands::usage_footer(&name));
            ExitCode::from(125)
        }
        _ => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("{first}{}", commands::usage_footer(&name));
            ExitCode::from(125)
        }
    }
}

/// Prints the error as docker does (the message alone, on stderr) and picks the status.
pub fn report(e: anyhow::Error) -> ExitCode {
    if let Some(s) = e.downcast_ref::<StatusError>() {
        if !s.message.is_empty() {
            eprintln!("{}", s.message);
        }
        return ExitCode::from(u8::try_from(s.code).unwrap_or(1));
    }
    eprintln!("{e:#}");
    ExitCode::from(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_paths() {
        let p = |a: &[&str]| {
            let v: Vec<String> = std::iter::once("rdocker")
                .chain(a.iter().copied())
                .map(String::from)
                .collect();
            command_path(&v)
        };
        assert_eq!(p(&["-H", "unix:///x", "pull", "-q", "x"]), "pull");
        assert_eq!(p(&["--config", "/c", "image", "-x", "ls", "a"]), "image ls");
        assert_eq!(p(&["image"]), "image");
        assert_eq!(p(&["network", "create", "--subnet", "x"]), "network create");
        assert_eq!(p(&["-D"]), "");
    }
}
