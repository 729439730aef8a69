//! Signal names and numbers as docker accepts them (`SIGKILL`, `KILL`, `9`).

const SIGNALS: &[(&str, i32)] = &[
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("IOT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("POLL", 29),
    ("PWR", 30),
    ("SYS", 31),
];

/// A signal number from a name (with or without `SIG`, any case), a number, or `RTMIN+n`.
pub fn parse(s: &str) -> Option<i32> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if let Some(rest) = name.strip_prefix("RTMIN+") {
        return rest
            .parse::<i32>()
            .ok()
            .map(|n| 34 + n)
            .filter(|n| *n <= 64);
    }
    if name == "RTMIN" {
        return Some(34);
    }
    SIGNALS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_and_numbers() {
        for s in ["SIGKILL", "KILL", "kill", "9"] {
            assert_eq!(super::parse(s), Some(9), "{s}");
        }
        assert_eq!(super::parse("SIGTERM"), Some(15));
        assert_eq!(super::parse("RTMIN+2"), Some(36));
        assert_eq!(super::parse("NOPE"), None);
        assert_eq!(super::parse("0"), None);
        assert_eq!(super::parse("65"), None);
    }
}
