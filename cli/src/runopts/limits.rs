//! The resource-limit flags `run`/`create` and `update` share (docker's containerOptions
//! and updateOptions fields of the same names), parsed with docker's parsers and errors.

use clap::Args;

use super::{flag_err, OptsError};
use crate::units::{parse_cpus, parse_int, parse_u16, ram_in_bytes};

/// Kept as text so that a bad value is refused with pflag's words, not clap's.
#[derive(Args, Debug, Default, Clone)]
pub struct LimitFlags {
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)
    #[arg(
        long = "blkio-weight",
        value_name = "uint16",
        allow_hyphen_values = true
    )]
    pub blkio_weight: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period", value_name = "int", allow_hyphen_values = true)]
    pub cpu_period: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long = "cpu-quota", value_name = "int", allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,
    /// CPU shares (relative weight)
    #[arg(
        short = 'c',
        long = "cpu-shares",
        value_name = "int",
        allow_hyphen_values = true
    )]
    pub cpu_shares: Option<String>,
    /// Number of CPUs
    #[arg(long, value_name = "decimal", allow_hyphen_values = true)]
    pub cpus: Option<String>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus", value_name = "string")]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-mems", value_name = "string")]
    pub cpuset_mems: Option<String>,
    /// Memory limit
    #[arg(short = 'm', long, value_name = "bytes", allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory soft limit
    #[arg(
        long = "memory-reservation",
        value_name = "bytes",
        allow_hyphen_values = true
    )]
    pub memory_reservation: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "bytes", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", value_name = "int", allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
}

/// The parsed values; zero where the flag was not given, as docker's option struct.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Limits {
    pub blkio_weight: u16,
    pub cpu_period: i64,
    pub cpu_quota: i64,
    pub cpu_shares: i64,
    pub nano_cpus: i64,
    pub memory: i64,
    pub memory_reservation: i64,
    pub memory_swap: i64,
    pub pids_limit: i64,
}

/// pflag's `-m, --memory` style name of a flag in its error.
fn parse_with<T>(
    flag: &'static str,
    value: Option<&String>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, OptsError> {
    value
        .map(|v| parse(v).map_err(|e| flag_err(flag, v, e)))
        .transpose()
}

/// docker's opts.MemSwapBytes: `-1` (unlimited) or a size.
pub fn mem_swap_bytes(s: &str) -> Result<i64, String> {
    if s == "-1" {
        Ok(-1)
    } else {
        ram_in_bytes(s)
    }
}

impl LimitFlags {
    /// How many of these flags were given (docker's update refuses a call with none).
    pub fn count(&self) -> usize {
        [
            &self.blkio_weight,
            &self.cpu_period,
            &self.cpu_quota,
            &self.cpu_shares,
            &self.cpus,
            &self.cpuset_cpus,
            &self.cpuset_mems,
            &self.memory,
            &self.memory_reservation,
            &self.memory_swap,
            &self.pids_limit,
        ]
        .iter()
        .filter(|f| f.is_some())
        .count()
    }

    pub fn parse(&self) -> Result<Limits, OptsError> {
        let int = |flag, v: &Option<String>| parse_with(flag, v.as_ref(), parse_int);
        Ok(Limits {
            blkio_weight: parse_with("--blkio-weight", self.blkio_weight.as_ref(), parse_u16)?
                .unwrap_or(0),
            cpu_period: int("--cpu-period", &self.cpu_period)?.unwrap_or(0),
            cpu_quota: int("--cpu-quota", &self.cpu_quota)?.unwrap_or(0),
            cpu_shares: int("-c, --cpu-shares", &self.cpu_shares)?.unwrap_or(0),
            nano_cpus: parse_with("--cpus", self.cpus.as_ref(), parse_cpus)?.unwrap_or(0),
            memory: parse_with("-m, --memory", self.memory.as_ref(), ram_in_bytes)?.unwrap_or(0),
            memory_reservation: parse_with(
                "--memory-reservation",
                self.memory_reservation.as_ref(),
                ram_in_bytes,
            )?
            .unwrap_or(0),
            memory_swap: parse_with("--memory-swap", self.memory_swap.as_ref(), mem_swap_bytes)?
                .unwrap_or(0),
            pids_limit: int("--pids-limit", &self.pids_limit)?.unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        l: LimitFlags,
    }

    fn flags(args: &[&str]) -> LimitFlags {
        T::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
            .unwrap()
            .l
    }

    #[test]
    fn limits_parse_as_docker_does() {
        let f = flags(&[
            "-m",
            "64m",
            "--memory-swap",
            "-1",
            "--memory-reservation",
            "32m",
            "--cpus",
            "1.5",
            "-c",
            "512",
            "--cpu-period",
            "100000",
            "--cpu-quota",
            "-1",
            "--cpuset-cpus",
            "0-1",
            "--cpuset-mems",
            "0",
            "--pids-limit",
            "-1",
            "--blkio-weight",
            "300",
        ]);
        assert_eq!(f.count(), 11);
        let l = f.parse().unwrap();
        assert_eq!(
            l,
            Limits {
                blkio_weight: 300,
                cpu_period: 100_000,
                cpu_quota: -1,
                cpu_shares: 512,
                nano_cpus: 1_500_000_000,
                memory: 64 << 20,
                memory_reservation: 32 << 20,
                memory_swap: -1,
                pids_limit: -1,
            }
        );
        assert_eq!(flags(&[]).count(), 0);
        assert_eq!(flags(&[]).parse().unwrap(), Limits::default());
    }

    #[test]
    fn bad_values_are_pflag_errors() {
        let e = |a: &[&str]| flags(a).parse().unwrap_err().to_string();
        assert_eq!(
            e(&["-m", "xx"]),
            "invalid argument \"xx\" for \"-m, --memory\" flag: invalid size: 'xx'"
        );
        assert_eq!(
            e(&["--memory-swap", "-2"]),
            "invalid argument \"-2\" for \"--memory-swap\" flag: invalid size: '-2'"
        );
        assert_eq!(
            e(&["--cpus", "x"]),
            "invalid argument \"x\" for \"--cpus\" flag: failed to parse x as a rational number"
        );
        assert_eq!(
            e(&["-c", "many"]),
            "invalid argument \"many\" for \"-c, --cpu-shares\" flag: strconv.ParseInt: parsing \"many\": invalid syntax"
        );
        assert_eq!(
            e(&["--blkio-weight", "-5"]),
            "invalid argument \"-5\" for \"--blkio-weight\" flag: strconv.ParseUint: parsing \"-5\": invalid syntax"
        );
        assert_eq!(
            e(&["--pids-limit", "ten"]),
            "invalid argument \"ten\" for \"--pids-limit\" flag: strconv.ParseInt: parsing \"ten\": invalid syntax"
        );
    }
}
