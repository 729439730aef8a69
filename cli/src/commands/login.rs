//! `rdocker login` / `rdocker logout`: credentials are checked by the daemon
//! (`POST /auth`) and kept in the CLI's config file, in docker's format.

use std::io::{self, BufRead, Read, Write};

use anyhow::{Context, Result};
use clap::Args;

use super::{check_args, status_err, stdin_is_tty, Arity, Ctx};
use crate::client::api_path;
use crate::config::{convert_to_hostname, AuthConfig, ConfigFile};
use crate::reference::INDEX_SERVER;

#[derive(Args, Debug, Default)]
pub struct LoginArgs {
    /// Username
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password or Personal Access Token (PAT)
    #[arg(short, long)]
    pub password: Option<String>,
    /// Take the Password or Personal Access Token (PAT) from stdin
    #[arg(long = "password-stdin")]
    pub password_stdin: bool,
    #[arg(value_name = "SERVER")]
    pub args: Vec<String>,
}

#[derive(Args, Debug, Default)]
pub struct LogoutArgs {
    #[arg(value_name = "SERVER")]
    pub args: Vec<String>,
}

/// The key docker stores credentials under: Docker Hub's v1 URL for no server or a
/// Docker Hub name, the server as given otherwise.
pub fn server_key(arg: Option<&str>) -> String {
    match arg.map(str::trim).filter(|s| !s.is_empty()) {
        None | Some("docker.io") | Some("index.docker.io") | Some("registry-1.docker.io") => {
            INDEX_SERVER.to_string()
        }
        Some(s) => s.to_string(),
    }
}

pub fn login(ctx: &Ctx, a: LoginArgs) -> Result<()> {
    check_args(&a.args, Arity::AtMost(1), "rdocker login")?;
    if a.password.is_some() && a.password_stdin {
        return Err(status_err(
            1,
            "--password and --password-stdin are mutually exclusive",
        ));
    }
    let server = server_key(a.args.first().map(String::as_str));
    let mut username = a.username.clone().unwrap_or_default().trim().to_string();
    let mut password = a.password.clone().unwrap_or_default();
    if a.password_stdin {
        if username.is_empty() {
            return Err(status_err(
                1,
                "Must provide --username with --password-stdin",
            ));
        }
        let mut buf = String::new();
        io::stdin()
            .read_to_string(&mut buf)
            .context("reading the password from stdin")?;
        password = buf.trim_end_matches(['\n', '\r']).to_string();
    } else if a.password.is_some() {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
    }
    let mut cfg = ConfigFile::load(&ctx.config_dir)?;
    // No credentials given: try the stored ones first, as docker does.
    if username.is_empty() && password.is_empty() {
        if let Some(stored) = cfg.get_auth(&server).filter(|a| !a.password.is_empty()) {
            println!(
                "Authenticating with existing credentials... [Username: {}]",
                stored.username
            );
            match authenticate(ctx, &stored.username, &stored.password, &server) {
                Ok(status) => {
                    println!("{status}");
                    return Ok(());
                }
                Err(e) if !stdin_is_tty() => return Err(e),
                Err(e) => eprintln!("Login did not succeed, error: {e:#}"),
            }
        }
    }
    if (username.is_empty() || password.is_empty()) && !stdin_is_tty() {
        return Err(status_err(
            1,
            "Error: Cannot perform an interactive login from a non TTY device",
        ));
    }
    if username.is_empty() {
        username = prompt("Username: ", true)?.trim().to_string();
        if username.is_empty() {
            return Err(status_err(1, "Error: Non-null Username Required"));
        }
    }
    if password.is_empty() {
        password = prompt("Password: ", false)?;
        if password.is_empty() {
            return Err(status_err(1, "Error: Password Required"));
        }
    }
    let status = authenticate(ctx, &username, &password, &server)?;

    cfg.set_auth(&server, &username, &password);
    cfg.save()
        .map_err(|e| status_err(1, format!("Error saving credentials: {e:#}")))?;
    eprintln!(
        "WARNING! Your credentials are stored unencrypted in '{}'.\nConfigure a credential helper to remove this warning.\n",
        cfg.path.display()
    );
    println!("{status}");
    Ok(())
}

/// `POST /auth`: the daemon checks the credentials against the registry. Returns the
/// status line to print.
fn authenticate(ctx: &Ctx, username: &str, password: &str, server: &str) -> Result<String> {
    let auth = AuthConfig {
        username: username.to_string(),
        password: password.to_string(),
        serveraddress: server.to_string(),
        identitytoken: String::new(),
    };
    let body = serde_json::to_vec(&auth)?;
    let mut resp = ctx
        .client
        .request("POST", &api_path("/auth"), &[], Some(&body))?;
    let mut raw = Vec::new();
    resp.read_to_end(&mut raw)
        .context("reading the daemon's answer")?;
    // Lenient: only "Status" matters, and an empty 200/204 answer is a success too.
    Ok(serde_json::from_slice::<serde_json::Value>(&raw)
        .ok()
        .and_then(|v| v.get("Status").and_then(|s| s.as_str()).map(str::to_string))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "Login Succeeded".to_string()))
}

pub fn logout(ctx: &Ctx, a: LogoutArgs) -> Result<()> {
    check_args(&a.args, Arity::AtMost(1), "rdocker logout")?;
    let server = server_key(a.args.first().map(String::as_str));
    let shown = if server == INDEX_SERVER {
        server.clone()
    } else {
        convert_to_hostname(&server)
    };
    println!("Removing login credentials for {shown}");
    let mut cfg = ConfigFile::load(&ctx.config_dir)?;
    if cfg.remove_auth(&server) {
        cfg.save()
            .map_err(|e| status_err(1, format!("Error removing credentials: {e:#}")))?;
    }
    Ok(())
}

/// Asks on stdout and reads one line from stdin; `echo` off hides a typed password.
fn prompt(label: &str, echo: bool) -> Result<String> {
    let mut out = io::stdout();
    write!(out, "{label}")?;
    out.flush()?;
    let guard = if !echo && stdin_is_tty() {
        EchoOff::new()
    } else {
        None
    };
    let mut line = String::new();
    io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading from stdin")?;
    if guard.is_some() {
        // The user's Enter was not echoed.
        writeln!(out)?;
    }
    drop(guard);
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Turns terminal echo off on stdin until dropped.
struct EchoOff(libc::termios);

impl EchoOff {
    fn new() -> Option<EchoOff> {
        // SAFETY: tcgetattr/tcsetattr on stdin with a termios we own.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut t) != 0 {
                return None;
            }
            let saved = t;
            t.c_lflag &= !libc::ECHO;
            if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t) != 0 {
                return None;
            }
            Some(EchoOff(saved))
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        // SAFETY: restores the settings saved in new().
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_keys() {
        assert_eq!(server_key(None), INDEX_SERVER);
        assert_eq!(server_key(Some("docker.io")), INDEX_SERVER);
        assert_eq!(server_key(Some("localhost:5000")), "localhost:5000");
    }
}
