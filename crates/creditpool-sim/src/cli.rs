//! The command line:
//! `creditpool-sim [--port N] [--scenario FILE] [--keys K1,K2] [--fault-rate R]
//! [--seed S] [--usage-log FILE] [--reject-pool-selector] [--thread-ttl-ms MS]`.

use crate::{Config, Scenario, SimError};
use std::path::PathBuf;

/// The help text (`--help`).
pub const HELP: &str = "\
creditpool-sim: an offline simulator of the Anthropic Messages API (an emulator, not the API)

USAGE:
    creditpool-sim [--port N] [--scenario FILE] [--keys K1,K2] [--fault-rate R]
                   [--seed S] [--usage-log FILE] [--reject-pool-selector]
                   [--thread-ttl-ms MS]

OPTIONS:
    --port N           port on 127.0.0.1; 0 (the default) picks a free one
    --scenario FILE    scripted responses (JSON; see docs/SIMULATOR.md)
    --keys K1,K2       accepted API keys; without it any non-empty key is accepted
    --fault-rate R     share (0 to 1) of /v1/messages requests replaced by a fault
                       (429, 529, 500 or a cut stream); default 0
    --seed S           seed of the fault generator (an integer); default 0
    --usage-log FILE   append one JSON line per reported usage to FILE
    --reject-pool-selector
                       refuse the pool selector field (credit_pool) like any
                       unknown top-level field, as an API that does not know it:
                       400 `credit_pool: Extra inputs are not permitted`
    --thread-ttl-ms MS how long a message thread lives after its last request;
                       default 300000 (the API's 5 minutes). POST /_sim/clock
                       {\"advance_ms\": N} moves the simulator's clock instead
    -h, --help         print this help
    -V, --version      print the version

The first line on stdout is exactly `listening on http://127.0.0.1:PORT`.
The simulator stops on SIGTERM, SIGINT, or when its stdin (if a pipe or a
socket) reaches end of file.
";

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Run the simulator.
    Run(Args),
    /// Print [`HELP`].
    Help,
    /// Print the version.
    Version,
}

/// The parsed options, before the scenario file is read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Args {
    /// `--port`.
    pub port: u16,
    /// `--scenario`.
    pub scenario: Option<PathBuf>,
    /// `--keys`, split on commas.
    pub keys: Vec<String>,
    /// `--fault-rate`.
    pub fault_rate: f64,
    /// `--seed`.
    pub seed: u64,
    /// `--usage-log`.
    pub usage_log: Option<PathBuf>,
    /// `--reject-pool-selector`.
    pub reject_pool_selector: bool,
    /// `--thread-ttl-ms`.
    pub thread_ttl_ms: Option<u64>,
}

impl Args {
    /// The configuration these options describe; reads the scenario file.
    pub fn into_config(self) -> Result<Config, SimError> {
        let scenario = match &self.scenario {
            Some(path) => Some(Scenario::from_file(path)?),
            None => None,
        };
        Ok(Config {
            port: self.port,
            scenario,
            keys: self.keys,
            fault_rate: self.fault_rate,
            seed: self.seed,
            usage_log: self.usage_log,
            reject_pool_selector: self.reject_pool_selector,
            thread_ttl_ms: self.thread_ttl_ms,
        })
    }
}

/// Parses the arguments (without the program name). Both `--flag value` and
/// `--flag=value` are accepted.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, SimError> {
    let mut out = Args::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--reject-pool-selector" if inline.is_none() => out.reject_pool_selector = true,
            "--port" | "--scenario" | "--keys" | "--fault-rate" | "--seed" | "--usage-log" | "--thread-ttl-ms" => {
                let value = match inline {
                    Some(v) => v,
                    None => args.next().ok_or_else(|| usage(format!("{flag} needs a value")))?,
                };
                apply(&mut out, &flag, &value)?;
            }
            other => return Err(usage(format!("unknown argument `{other}` (see --help)"))),
        }
    }
    Ok(Command::Run(out))
}

fn apply(out: &mut Args, flag: &str, value: &str) -> Result<(), SimError> {
    match flag {
        "--port" => out.port = value.parse().map_err(|_| usage(format!("--port: `{value}` is not a port number (0 to 65535)")))?,
        "--scenario" => out.scenario = Some(PathBuf::from(value)),
        "--keys" => {
            out.keys = value.split(',').map(str::trim).filter(|k| !k.is_empty()).map(str::to_owned).collect();
            if out.keys.is_empty() {
                return Err(usage("--keys: no key given".to_owned()));
            }
        }
        "--fault-rate" => {
            let rate: f64 = value.parse().map_err(|_| usage(format!("--fault-rate: `{value}` is not a number")))?;
            if !(0.0..=1.0).contains(&rate) {
                return Err(usage(format!("--fault-rate: {rate} is not between 0 and 1")));
            }
            out.fault_rate = rate;
        }
        "--seed" => out.seed = value.parse().map_err(|_| usage(format!("--seed: `{value}` is not a non-negative integer")))?,
        "--usage-log" => out.usage_log = Some(PathBuf::from(value)),
        "--thread-ttl-ms" => out.thread_ttl_ms = Some(value.parse().map_err(|_| usage(format!("--thread-ttl-ms: `{value}` is not a non-negative integer")))?),
        _ => return Err(usage(format!("unknown argument `{flag}`"))),
    }
    Ok(())
}

fn usage(detail: String) -> SimError {
    SimError::Usage { detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Args, SimError> {
        match parse(args.iter().map(|s| s.to_string()))? {
            Command::Run(a) => Ok(a),
            other => panic!("not a run: {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        assert_eq!(run(&[]).unwrap(), Args::default());
    }

    #[test]
    fn every_flag_in_both_forms() {
        let a = run(&["--port", "8080", "--scenario=s.json", "--keys", "k1, k2,", "--fault-rate=0.25", "--seed", "7", "--usage-log", "u.jsonl", "--reject-pool-selector"]).unwrap();
        assert!(a.reject_pool_selector);
        assert_eq!(a.port, 8080);
        assert_eq!(a.scenario, Some(PathBuf::from("s.json")));
        assert_eq!(a.keys, vec!["k1".to_owned(), "k2".to_owned()]);
        assert_eq!(a.fault_rate, 0.25);
        assert_eq!(a.seed, 7);
        assert_eq!(a.usage_log, Some(PathBuf::from("u.jsonl")));
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for bad in [&["--port", "70000"][..], &["--fault-rate", "1.5"], &["--fault-rate", "x"], &["--seed", "-1"], &["--keys", ","], &["--port"], &["--bogus"]] {
            assert!(matches!(run(bad), Err(SimError::Usage { .. })), "{bad:?}");
        }
    }

    #[test]
    fn help_and_version() {
        assert_eq!(parse(["--help".to_owned()]).unwrap(), Command::Help);
        assert_eq!(parse(["-V".to_owned()]).unwrap(), Command::Version);
    }
}
