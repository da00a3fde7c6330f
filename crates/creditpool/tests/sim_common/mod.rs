//! The simulator for this crate's tests: its binary (`CREDITPOOL_SIM`, or
//! built once by cargo), started on a free port with its own directory, and
//! stopped (stdin closed) and cleaned up when dropped.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// The `creditpool-sim` executable.
pub fn simulator_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("CREDITPOOL_SIM") {
            return PathBuf::from(p);
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args(["build", "-p", "creditpool-sim", "--bin", "creditpool-sim", "--message-format=json-render-diagnostics"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stderr(Stdio::inherit())
            .output()
            .expect("run cargo build -p creditpool-sim");
        assert!(out.status.success(), "cargo build -p creditpool-sim failed");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "creditpool-sim")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo named no creditpool-sim executable")
    })
    .clone()
}

/// A running simulator.
pub struct Sim {
    child: Child,
    /// Its base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    /// Its own directory (scenario, usage log), removed when dropped.
    pub dir: PathBuf,
}

impl Drop for Sim {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts the simulator on a free port: with `--keys` when given, the
/// scenario (written into a fresh directory named after `tag`), a usage log
/// in that directory, and any other arguments.
pub fn start(tag: &str, keys: Option<&str>, scenario: Option<&Value>, args: &[&str]) -> Sim {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("creditpool-sim-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new(simulator_binary());
    cmd.args(["--port", "0"]);
    if let Some(k) = keys {
        cmd.args(["--keys", k]);
    }
    if let Some(s) = scenario {
        let path = dir.join("scenario.json");
        std::fs::write(&path, s.to_string()).unwrap();
        cmd.arg("--scenario").arg(&path);
    }
    cmd.arg("--usage-log").arg(dir.join("usage.jsonl")).args(args);
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("start creditpool-sim");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("first line: {line:?}")).to_owned();
    Sim { child, url, dir }
}
