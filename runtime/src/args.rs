//! The shim's command line (PROTOCOL.md "Starting a shim"); hand-parsed to keep the binary small.

use std::path::PathBuf;

use crate::error::ShimError;

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Container {
        id: String,
        bundle: PathBuf,
        run_dir: PathBuf,
        log_path: Option<PathBuf>,
    },
    Exec {
        id: String,
        container_pid: i32,
        bundle: PathBuf,
        run_dir: PathBuf,
        process: PathBuf,
        /// The exec has an open stdin (docker's AttachStdin); a process.json has no annotations.
        stdin: bool,
    },
}

const USAGE: &str = "rdocker-shim container --id ID --bundle DIR --run-dir DIR [--log-path FILE]\n       \
     rdocker-shim exec --id ID --container-pid PID --bundle DIR --run-dir DIR --process FILE [--stdin]";

pub fn parse(args: &[String]) -> Result<Command, ShimError> {
    let usage = |why: String| ShimError::Usage(format!("{why}\n{USAGE}"));
    let (sub, rest) = args
        .split_first()
        .ok_or_else(|| usage("missing subcommand".into()))?;
    let mut id = None;
    let mut bundle = None;
    let mut run_dir = None;
    let mut log_path = None;
    let mut pid = None;
    let mut process = None;
    let mut stdin = false;
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        if flag == "--stdin" {
            stdin = true;
            continue;
        }
        let value = it
            .next()
            .ok_or_else(|| usage(format!("{flag} needs a value")))?
            .clone();
        match flag.as_str() {
            "--id" => id = Some(value),
            "--bundle" => bundle = Some(PathBuf::from(value)),
            "--run-dir" => run_dir = Some(PathBuf::from(value)),
            "--log-path" => log_path = Some(PathBuf::from(value)),
            "--process" => process = Some(PathBuf::from(value)),
            "--container-pid" => {
                pid = Some(
                    value
                        .parse::<i32>()
                        .map_err(|_| usage(format!("--container-pid {value:?} is not a pid")))?,
                )
            }
            other => return Err(usage(format!("unknown flag {other}"))),
        }
    }
    fn need<T>(v: Option<T>, name: &str) -> Result<T, ShimError> {
        v.ok_or_else(|| ShimError::Usage(format!("missing {name}\n{USAGE}")))
    }
    match sub.as_str() {
        "container" => Ok(Command::Container {
            id: need(id, "--id")?,
            bundle: need(bundle, "--bundle")?,
            run_dir: need(run_dir, "--run-dir")?,
            log_path,
        }),
        "exec" => Ok(Command::Exec {
            id: need(id, "--id")?,
            container_pid: need(pid, "--container-pid")?,
            bundle: need(bundle, "--bundle")?,
            run_dir: need(run_dir, "--run-dir")?,
            process: need(process, "--process")?,
            stdin,
        }),
        other => Err(usage(format!("unknown subcommand {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_both_forms() {
        let c = parse(&s(&[
            "container",
            "--id",
            "a",
            "--bundle",
            "/b",
            "--run-dir",
            "/r",
            "--log-path",
            "/l",
        ]))
        .unwrap();
        assert!(matches!(
            c,
            Command::Container {
                log_path: Some(_),
                ..
            }
        ));
        let e = parse(&s(&[
            "exec",
            "--id",
            "e",
            "--container-pid",
            "42",
            "--bundle",
            "/b",
            "--run-dir",
            "/r",
            "--process",
            "/p",
        ]))
        .unwrap();
        assert!(matches!(
            e,
            Command::Exec {
                container_pid: 42,
                stdin: false,
                ..
            }
        ));
        assert!(parse(&s(&["exec", "--id", "e"])).is_err());
        assert!(parse(&s(&["container", "--bogus", "x"])).is_err());
    }
}
