//! `GET /containers/{id}/top`: the container's processes in `ps -ef`'s columns, read from the
//! host's /proc (never by running `ps`: the daemon must not depend on procps, and /proc is
//! what ps reads anyway).

use std::collections::HashMap;
use std::io;
use std::path::Path;

use bollard_stubs::models::ContainerTopResponse;
use chrono::{DateTime, Datelike, Local};

const TITLES: [&str; 8] = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"];

/// Every host process in the pid namespace of `init_pid`, in `ps -ef`'s columns and order.
pub fn top(init_pid: i32) -> Result<ContainerTopResponse, io::Error> {
    top_in(Path::new("/proc"), init_pid)
}

fn top_in(proc: &Path, init_pid: i32) -> Result<ContainerTopResponse, io::Error> {
    let ns = std::fs::read_link(proc.join(init_pid.to_string()).join("ns/pid"))?;
    let clock = Clock::read(proc)?;
    let users = host_users();
    let mut pids: Vec<i32> = std::fs::read_dir(proc)?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    let mut rows = Vec::new();
    for pid in pids {
        let dir = proc.join(pid.to_string());
        // A process that exits during the scan simply is not listed.
        if std::fs::read_link(dir.join("ns/pid")).ok().as_ref() != Some(&ns) {
            continue;
        }
        if let Some(row) = row(&dir, pid, &clock, &users) {
            rows.push(row);
        }
    }
    Ok(ContainerTopResponse {
        titles: Some(TITLES.iter().map(|t| t.to_string()).collect()),
        processes: Some(rows),
    })
}

/// What turns clock ticks since boot into wall-clock times.
struct Clock {
    boot_time: i64,
    ticks_per_sec: u64,
}

impl Clock {
    fn read(proc: &Path) -> io::Result<Clock> {
        let stat = std::fs::read_to_string(proc.join("stat"))?;
        let boot_time = stat
            .lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no btime in /proc/stat"))?;
        // SAFETY: sysconf only reads a configuration value; it has no memory effects.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        Ok(Clock {
            boot_time,
            ticks_per_sec: u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100),
        })
    }
}

/// The fields of /proc/<pid>/stat that `ps -ef` shows.
#[derive(Debug, PartialEq, Eq)]
struct Stat {
    comm: String,
    state: char,
    ppid: i32,
    tty_nr: u64,
    cpu_ticks: u64,
    start_ticks: u64,
}

fn parse_stat(text: &str) -> Option<Stat> {
    // comm is in parentheses and may itself contain ") " : the last ')' ends it.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    let f: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // f[0] is field 3 (state) of proc(5).
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    Some(Stat {
        comm,
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        tty_nr: num(4)?,
        cpu_ticks: num(11)? + num(12)?,
        start_ticks: num(19)?,
    })
}

fn row(dir: &Path, pid: i32, clock: &Clock, users: &HashMap<u32, String>) -> Option<Vec<String>> {
    let stat = parse_stat(&std::fs::read_to_string(dir.join("stat")).ok()?)?;
    let uid = effective_uid(&std::fs::read_to_string(dir.join("status")).ok()?)?;
    let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
    let start = clock.boot_time + i64::try_from(stat.start_ticks / clock.ticks_per_sec).ok()?;
    Some(vec![
        users.get(&uid).cloned().unwrap_or_else(|| uid.to_string()),
        pid.to_string(),
        stat.ppid.to_string(),
        "0".to_string(),
        stime(start, Local::now().timestamp()),
        tty_name(stat.tty_nr),
        cpu_time(stat.cpu_ticks / clock.ticks_per_sec),
        command(&cmdline, &stat),
    ])
}

/// The effective uid (the second `Uid:` field), which is what ps shows.
fn effective_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// uid → name from the host's /etc/passwd (ps resolves names on the host, as docker's top).
fn host_users() -> HashMap<u32, String> {
    let text = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    parse_passwd(&text)
}

fn parse_passwd(text: &str) -> HashMap<u32, String> {
    let mut users = HashMap::new();
    for l in text.lines() {
        let mut f = l.split(':');
        if let (Some(name), Some(_), Some(uid)) = (f.next(), f.next(), f.next()) {
            if let Ok(uid) = uid.parse() {
                // The first entry for a uid wins, as with getpwuid.
                users.entry(uid).or_insert_with(|| name.to_string());
            }
        }
    }
    users
}

/// ps's STIME: `HH:MM` today, `MonDD` this year, the year before that.
fn stime(start: i64, now: i64) -> String {
    let (Some(s), Some(n)) = (
        DateTime::from_timestamp(start, 0),
        DateTime::from_timestamp(now, 0),
    ) else {
        return "?".to_string();
    };
    let (s, n) = (s.with_timezone(&Local), n.with_timezone(&Local));
    if s.date_naive() == n.date_naive() {
        s.format("%H:%M").to_string()
    } else if s.year() == n.year() {
        s.format("%b%d").to_string()
    } else {
        s.format("%Y").to_string()
    }
}

/// ps's TIME: `[DD-]HH:MM:SS` of user + system time.
fn cpu_time(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match d {
        0 => format!("{h:02}:{m:02}:{s:02}"),
        d => format!("{d}-{h:02}:{m:02}:{s:02}"),
    }
}

/// The controlling terminal from `tty_nr` (major in bits 8–15 and 20–31 of the kernel's
/// encoding, minor in 0–7 and 12–19).
fn tty_name(tty_nr: u64) -> String {
    let major = (tty_nr >> 8) & 0xfff;
    let minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
    match major {
        0 => "?".to_string(),
        136..=143 => format!("pts/{}", (major - 136) * 256 + minor),
        4 if minor < 64 => format!("tty{minor}"),
        4 => format!("ttyS{}", minor - 64),
        5 if minor == 1 => "console".to_string(),
        _ => "?".to_string(),
    }
}

/// The command line joined by spaces; `[comm]` when there is none (kernel threads, zombies).
fn command(cmdline: &[u8], stat: &Stat) -> String {
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    match (args.is_empty(), stat.state) {
        (true, 'Z') => format!("[{}] <defunct>", stat.comm),
        (true, _) => format!("[{}]", stat.comm),
        (false, _) => args.join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_test_process_in_its_own_namespace() {
        let me = std::process::id() as i32;
        let r = top(me).unwrap();
        assert_eq!(r.titles.unwrap(), TITLES.map(String::from).to_vec());
        let rows = r.processes.unwrap();
        let mine = rows
            .iter()
            .find(|row| row[1] == me.to_string())
            .expect("the test process is listed");
        let parent = std::os::unix::process::parent_id().to_string();
        assert_eq!(mine[2], parent);
        assert_eq!(mine[3], "0");
        let exe = std::env::args().next().unwrap();
        assert!(mine[7].starts_with(&exe), "{mine:?}");
        let my_uid = rustix::process::geteuid().as_raw();
        let want_user = host_users()
            .get(&my_uid)
            .cloned()
            .unwrap_or(my_uid.to_string());
        assert_eq!(mine[0], want_user);
        assert!(mine[4].len() >= 4);
        assert!(mine[6].contains(':'));
        // Every row has all eight columns, sorted by pid.
        assert!(rows.iter().all(|r| r.len() == 8));
        let pids: Vec<i32> = rows.iter().map(|r| r[1].parse().unwrap()).collect();
        assert!(pids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_missing_process_is_an_error() {
        assert_eq!(top(i32::MAX).unwrap_err().kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn child_in_a_new_pid_namespace_is_listed_alone() {
        // `unshare --pid --fork` puts the sleep in its own pid namespace: only it (and nothing
        // of ours) must be listed. Needs root and util-linux; both are here by design.
        let mut child = std::process::Command::new("unshare")
            .args(["--pid", "--fork", "--kill-child", "sleep", "30"])
            .spawn()
            .unwrap();
        let inner = (0..100)
            .find_map(|_| {
                std::thread::sleep(std::time::Duration::from_millis(20));
                let kids = std::fs::read_to_string(format!(
                    "/proc/{}/task/{}/children",
                    child.id(),
                    child.id()
                ))
                .ok()?;
                kids.split_whitespace().next()?.parse::<i32>().ok()
            })
            .expect("unshare forked");
        let rows = top(inner).unwrap().processes.unwrap();
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0][1], inner.to_string());
        assert_eq!(rows[0][2], child.id().to_string());
        assert_eq!(rows[0][7], "sleep 30");
    }

    #[test]
    fn stat_with_awkward_comm() {
        let s = "42 (a) b (c)) S 7 42 42 34816 42 0 0 0 0 0 150 50 0 0 20 0 1 0 9000 0 0";
        let st = parse_stat(s).unwrap();
        assert_eq!(st.comm, "a) b (c)");
        assert_eq!((st.state, st.ppid), ('S', 7));
        assert_eq!(st.tty_nr, 34816);
        assert_eq!(st.cpu_ticks, 200);
        assert_eq!(st.start_ticks, 9000);
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S"), None);
    }

    #[test]
    fn columns_formatted_like_ps() {
        assert_eq!(tty_name(0), "?");
        assert_eq!(tty_name(34816), "pts/0"); // 136:0
        assert_eq!(tty_name((136 << 8) | 5), "pts/5");
        assert_eq!(tty_name((4 << 8) | 1), "tty1");
        assert_eq!(cpu_time(0), "00:00:00");
        assert_eq!(cpu_time(3723), "01:02:03");
        assert_eq!(cpu_time(2 * 86400 + 61), "2-00:01:01");
        let now = Local::now().timestamp();
        assert_eq!(stime(now, now).len(), 5);
        let st = Stat {
            comm: "kworker".into(),
            state: 'S',
            ppid: 2,
            tty_nr: 0,
            cpu_ticks: 0,
            start_ticks: 0,
        };
        assert_eq!(command(b"", &st), "[kworker]");
        assert_eq!(command(b"sh\0-c\0echo hi\0", &st), "sh -c echo hi");
        let z = Stat { state: 'Z', ..st };
        assert_eq!(command(b"", &z), "[kworker] <defunct>");
        let users = parse_passwd("root:x:0:0::/root:/bin/sh\nbad\nnobody:x:65534:65534::/:/x\n");
        assert_eq!(users[&0], "root");
        assert_eq!(users[&65534], "nobody");
    }
}
