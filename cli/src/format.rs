//! Output helpers that reproduce docker's formatting byte for byte: Go's text/tabwriter,
//! go-units' HumanSize / HumanDuration / BytesSize (which rely on Go's `%g`), ID truncation.

use std::time::{SystemTime, UNIX_EPOCH};

/// Go's `strconv.FormatFloat(x, 'g', prec, 64)`, i.e. `fmt.Sprintf("%.<prec>g", x)`:
/// `prec` significant digits, trailing zeros dropped, exponent form when the exponent
/// is < -4 or ≥ prec (so 999.9 with prec 3 becomes "1e+03", as docker prints it).
pub fn go_g(x: f64, prec: usize) -> String {
    let prec = prec.max(1);
    if x == 0.0 || !x.is_finite() {
        return if x == 0.0 { "0".into() } else { format!("{x}") };
    }
    // Rust's `{:e}` rounds exactly like Go's fixed-precision formatting.
    let sci = format!("{:.*e}", prec - 1, x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= prec as i32 {
        let m = trim_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{x:.decimals$}")).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

const DECIMAL_UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY_UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

fn scaled(mut size: f64, base: f64, units: &[&'static str]) -> (f64, &'static str) {
    let mut i = 0;
    while size >= base && i < units.len() - 1 {
        size /= base;
        i += 1;
    }
    (size, units[i])
}

/// go-units `HumanSizeWithPrecision`: decimal units ("4.26MB" at precision 3).
pub fn human_size_prec(size: f64, prec: usize) -> String {
    let (s, unit) = scaled(size, 1000.0, &DECIMAL_UNITS);
    format!("{}{unit}", go_g(s, prec))
}

/// go-units `HumanSize` (precision 4), used by the progress bars.
pub fn human_size(size: f64) -> String {
    human_size_prec(size, 4)
}

/// go-units `BytesSize`: binary units, used by `info` for memory.
pub fn bytes_size(size: f64) -> String {
    let (s, unit) = scaled(size, 1024.0, &BINARY_UNITS);
    format!("{}{unit}", go_g(s, 4))
}

/// go-units `HumanDuration`, from a duration in seconds (fractions allowed; negative
/// durations, i.e. clock skew, read as "Less than a second" like Go's int conversion).
pub fn human_duration(secs: f64) -> String {
    let seconds = secs as i64;
    if seconds < 1 {
        return "Less than a second".into();
    } else if seconds == 1 {
        return "1 second".into();
    } else if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = (secs / 60.0) as i64;
    if minutes == 1 {
        return "About a minute".into();
    } else if minutes < 60 {
        return format!("{minutes} minutes");
    }
    // Go: int(d.Round(time.Hour).Hours()) — rounds half away from zero.
    let hours = (secs / 3600.0).round() as i64;
    if hours == 1 {
        "About an hour".into()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        format!("{} days", hours / 24)
    } else if hours < 24 * 30 * 2 {
        format!("{} weeks", hours / 24 / 7)
    } else if hours < 24 * 365 * 2 {
        format!("{} months", hours / 24 / 30)
    } else {
        format!("{} years", (secs / 3600.0) as i64 / 24 / 365)
    }
}

pub fn now_unix_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// "2 weeks ago", as docker's CREATED column; Created 0 (unset) shows "N/A" rather
/// than "56 years ago".
pub fn created_since(created: i64, now: f64) -> String {
    if created <= 0 {
        return "N/A".into();
    }
    format!("{} ago", human_duration(now - created as f64))
}

/// docker's stringid.TruncateID: drop the algorithm prefix, keep 12 characters.
pub fn trunc_id(id: &str) -> String {
    let hex = id.split_once(':').map_or(id, |(_, h)| h);
    hex.chars().take(12).collect()
}

/// docker's formatter.Ellipsis: cut to `max` characters, the last one being "…".
pub fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Go's Duration.String for whole seconds ("0s", "45s", "1m5s", "2h0m3s").
pub fn go_duration_secs(secs: i64) -> String {
    let neg = secs < 0;
    let s = secs.unsigned_abs();
    let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60);
    let body = if h > 0 {
        format!("{h}h{m}m{sec}s")
    } else if m > 0 {
        format!("{m}m{sec}s")
    } else {
        format!("{sec}s")
    };
    if neg {
        format!("-{body}")
    } else {
        body
    }
}

/// Go's text/tabwriter with docker's settings (flags 0, padding char ' ').
/// Lines hold tab-separated cells; like Go, the text after the last tab of a line is
/// not part of any column, and a column's width is set per block of consecutive lines
/// that have that column.
pub struct TabWriter {
    minwidth: usize,
    padding: usize,
    lines: Vec<Vec<String>>,
}

impl TabWriter {
    pub fn new(minwidth: usize, padding: usize) -> Self {
        TabWriter {
            minwidth,
            padding,
            lines: Vec::new(),
        }
    }

    /// docker's table writer: `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`.
    pub fn docker_table() -> Self {
        TabWriter::new(10, 3)
    }

    #[cfg(test)]
    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) {
        self.lines
            .push(cells.iter().map(|c| c.as_ref().to_string()).collect());
    }

    /// Adds text that may hold several lines and tabs (as written into Go's tabwriter).
    pub fn text(&mut self, s: &str) {
        for line in s.lines() {
            self.lines
                .push(line.split('\t').map(str::to_string).collect());
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut widths = Vec::new();
        self.format(&mut out, &mut widths, 0, self.lines.len());
        out
    }

    fn format(&self, out: &mut String, widths: &mut Vec<usize>, mut line0: usize, line1: usize) {
        let column = widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= self.lines[this].len() {
                this += 1;
                continue;
            }
            // A block of lines that all have a cell in `column` starts here.
            self.write_lines(out, widths, line0, this);
            line0 = this;
            let mut width = self.minwidth;
            while this < line1 && column + 1 < self.lines[this].len() {
                let w = self.lines[this][column].chars().count() + self.padding;
                width = width.max(w);
                this += 1;
            }
            widths.push(width);
            self.format(out, widths, line0, this);
            widths.pop();
            line0 = this;
        }
        self.write_lines(out, widths, line0, line1);
    }

    fn write_lines(&self, out: &mut String, widths: &[usize], line0: usize, line1: usize) {
        for line in &self.lines[line0..line1] {
            for (j, cell) in line.iter().enumerate() {
                out.push_str(cell);
                if j + 1 < line.len() && j < widths.len() {
                    let pad = widths[j].saturating_sub(cell.chars().count());
                    out.extend(std::iter::repeat_n(' ', pad));
                } else if j + 1 < line.len() {
                    // Beyond the known columns (cannot happen for well-formed tables).
                    out.push(' ');
                }
            }
            out.push('\n');
        }
    }
}

/// Broken-down local time of a unix timestamp: (tm, UTC offset in seconds, zone name).
fn local_tm(secs: i64) -> Option<(libc::tm, i64, String)> {
    let t = secs as libc::time_t;
    // SAFETY: localtime_r fills the tm we own; all-zero is a valid starting value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return None;
    }
    let zone = if tm.tm_zone.is_null() {
        String::new()
    } else {
        // SAFETY: tm_zone points at a NUL-terminated static zone name set by localtime_r.
        unsafe { std::ffi::CStr::from_ptr(tm.tm_zone) }
            .to_string_lossy()
            .into_owned()
    };
    let off = tm.tm_gmtoff;
    Some((tm, off, zone))
}

fn ymd_hms(tm: &libc::tm, date_time_sep: char) -> String {
    format!(
        "{:04}-{:02}-{:02}{date_time_sep}{:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

fn offset(off: i64, colon: bool) -> String {
    let sign = if off < 0 { '-' } else { '+' };
    let (h, m) = (off.abs() / 3600, (off.abs() % 3600) / 60);
    if colon {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}")
    }
}

/// Go's `time.Unix(s, 0).Format(time.RFC3339)` in the local zone ("Z" for UTC).
pub fn rfc3339_local(secs: i64) -> String {
    match local_tm(secs) {
        Some((tm, 0, _)) => format!("{}Z", ymd_hms(&tm, 'T')),
        Some((tm, off, _)) => format!("{}{}", ymd_hms(&tm, 'T'), offset(off, true)),
        None => secs.to_string(),
    }
}

/// Go's `time.Unix(s, 0).String()`: "2024-01-01 00:00:00 +0000 UTC".
pub fn go_time_string(secs: i64) -> String {
    match local_tm(secs) {
        Some((tm, off, zone)) => format!("{} {} {zone}", ymd_hms(&tm, ' '), offset(off, false)),
        None => secs.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_g_matches_go() {
        assert_eq!(go_g(4.261544, 3), "4.26");
        assert_eq!(go_g(4.0, 3), "4");
        assert_eq!(go_g(12.0, 4), "12");
        assert_eq!(go_g(12.34567, 4), "12.35");
        assert_eq!(go_g(999.9, 3), "1e+03");
        assert_eq!(go_g(100.0, 3), "100");
        assert_eq!(go_g(0.0, 3), "0");
        assert_eq!(go_g(0.00001234, 3), "1.23e-05");
        assert_eq!(go_g(9.995, 3), "9.99"); // 9.995 is 9.99499… in binary
        assert_eq!(go_g(1.5, 1), "2");
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_size_prec(4_261_544.0, 3), "4.26MB");
        assert_eq!(human_size_prec(0.0, 3), "0B");
        assert_eq!(human_size_prec(999.0, 3), "999B");
        assert_eq!(human_size_prec(1000.0, 3), "1kB");
        assert_eq!(human_size_prec(1_234_567_890.0, 3), "1.23GB");
        assert_eq!(human_size_prec(999_999.0, 3), "1e+03kB");
        assert_eq!(human_size(12_345_678.0), "12.35MB");
        assert_eq!(human_size(45_600_000.0), "45.6MB");
        assert_eq!(bytes_size(4_104_392_704.0), "3.823GiB");
        assert_eq!(bytes_size(1024.0), "1KiB");
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(0.5), "Less than a second");
        assert_eq!(human_duration(-3.0), "Less than a second");
        assert_eq!(human_duration(1.0), "1 second");
        assert_eq!(human_duration(59.0), "59 seconds");
        assert_eq!(human_duration(60.0), "About a minute");
        assert_eq!(human_duration(119.0), "About a minute");
        assert_eq!(human_duration(120.0), "2 minutes");
        assert_eq!(human_duration(3599.0), "59 minutes");
        assert_eq!(human_duration(3600.0), "About an hour");
        assert_eq!(human_duration(5399.0), "About an hour");
        assert_eq!(human_duration(5400.0), "2 hours");
        assert_eq!(human_duration(47.0 * 3600.0), "47 hours");
        assert_eq!(human_duration(48.0 * 3600.0), "2 days");
        assert_eq!(human_duration(14.0 * 86400.0), "2 weeks");
        assert_eq!(human_duration(60.0 * 86400.0), "2 months");
        assert_eq!(human_duration(800.0 * 86400.0), "2 years");
        assert_eq!(created_since(1000, 1000.0 + 3.0 * 86400.0), "3 days ago");
        assert_eq!(created_since(0, 1e9), "N/A");
    }

    #[test]
    fn times() {
        // The test machines run in UTC; elsewhere only the shape is checked.
        let r = rfc3339_local(1_704_067_200);
        let g = go_time_string(1_704_067_200);
        if r.ends_with('Z') {
            assert_eq!(r, "2024-01-01T00:00:00Z");
            assert_eq!(g, "2024-01-01 00:00:00 +0000 UTC");
        }
    }

    #[test]
    fn ids_and_ellipsis() {
        assert_eq!(trunc_id("sha256:0123456789abcdef0123"), "0123456789ab");
        assert_eq!(trunc_id("<missing>"), "<missing>");
        assert_eq!(ellipsis("abcdef", 6), "abcdef");
        assert_eq!(ellipsis("abcdefg", 6), "abcde…");
        assert_eq!(go_duration_secs(0), "0s");
        assert_eq!(go_duration_secs(65), "1m5s");
        assert_eq!(go_duration_secs(7203), "2h0m3s");
    }

    #[test]
    fn tabwriter_docker_images_table() {
        let mut t = TabWriter::docker_table();
        t.row(&["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]);
        t.row(&["busybox", "latest", "a416a98b71e2", "2 weeks ago", "4.26MB"]);
        t.row(&[
            "localhost:5000/some/longer/name",
            "v1",
            "0123456789ab",
            "About an hour ago",
            "1.23GB",
        ]);
        assert_eq!(
            t.render(),
            "REPOSITORY                        TAG       IMAGE ID       CREATED             SIZE\n\
             busybox                           latest    a416a98b71e2   2 weeks ago         4.26MB\n\
             localhost:5000/some/longer/name   v1        0123456789ab   About an hour ago   1.23GB\n"
        );
        let mut t = TabWriter::docker_table();
        t.row(&["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]);
        assert_eq!(
            t.render(),
            "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n"
        );
    }

    #[test]
    fn tabwriter_blocks_like_go() {
        // The `docker version` layout: lines without tabs end a column block.
        let mut t = TabWriter::new(20, 1);
        t.text("Client:\n Version:\t0.1.0\n API version:\t1.44\n\nServer:\n Engine:\n  Version:\t0.1.0\n  A somewhat long key here:\tx");
        assert_eq!(
            t.render(),
            "Client:\n Version:           0.1.0\n API version:       1.44\n\nServer:\n Engine:\n  Version:                  0.1.0\n  A somewhat long key here: x\n"
        );
    }
}
