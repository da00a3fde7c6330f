//! Loader for the cross-language vectors in `tests/vectors/`.
//!
//! Every vector file is `{"kind": K, "description": ..., "cases": [{"name", "input",
//! "expected"}]}`; `tests/vectors/README.md` documents each kind. A Rust test file
//! per kind calls [`run_kind`] with a function that checks one case.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};

/// One vector case.
#[derive(Debug, Clone)]
pub struct Case {
    /// The file it came from, relative to `tests/vectors/`.
    pub file: String,
    /// The case's name, unique within its file.
    pub name: String,
    /// The input.
    pub input: Value,
    /// The expected output.
    pub expected: Value,
    /// The file's top-level fields other than `cases` (for example `sdk`).
    pub meta: Value,
}

/// The repository's `tests/vectors/` directory.
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors")
}

/// Every case of the given kind, from every `*.json` file under `tests/vectors/`.
pub fn load_kind(kind: &str) -> Vec<Case> {
    let mut files = Vec::new();
    collect(&vectors_dir(), &mut files);
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if doc["kind"] != kind {
            continue;
        }
        let rel = path.strip_prefix(vectors_dir()).unwrap_or(&path).display().to_string();
        let mut meta = doc.clone();
        if let Some(m) = meta.as_object_mut() {
            m.remove("cases");
        }
        let list = doc["cases"].as_array().unwrap_or_else(|| panic!("{rel}: no cases array"));
        for c in list {
            cases.push(Case {
                file: rel.clone(),
                name: c["name"].as_str().unwrap_or_else(|| panic!("{rel}: case without a name")).to_owned(),
                input: c["input"].clone(),
                expected: c["expected"].clone(),
                meta: meta.clone(),
            });
        }
    }
    cases
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// Runs `check` on every case of `kind`, then panics listing every failure.
/// Also fails when no case of that kind exists, so that a renamed kind cannot
/// silently run nothing. Returns the number of cases run.
pub fn run_kind(kind: &str, mut check: impl FnMut(&Case) -> Result<(), String>) -> usize {
    let cases = load_kind(kind);
    assert!(!cases.is_empty(), "no vectors of kind {kind:?} in {}", vectors_dir().display());
    let mut failures = Vec::new();
    for case in &cases {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(case)));
        match result {
            Ok(Ok(())) => {}
            Ok(Err(msg)) => failures.push(format!("{} / {}: {msg}", case.file, case.name)),
            Err(_) => failures.push(format!("{} / {}: PANICKED", case.file, case.name)),
        }
    }
    assert!(failures.is_empty(), "{} of {} {kind} vectors failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
    cases.len()
}

/// Compares two JSON values, treating an object key whose value is `null` as
/// absent (the API and the SDKs differ on whether they write explicit nulls).
/// Returns a description of the first difference.
pub fn json_diff(path: &str, actual: &Value, expected: &Value) -> Option<String> {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(e.keys()).collect();
            for k in keys {
                let av = a.get(k).unwrap_or(&Value::Null);
                let ev = e.get(k).unwrap_or(&Value::Null);
                if let Some(d) = json_diff(&format!("{path}.{k}"), av, ev) {
                    return Some(d);
                }
            }
            None
        }
        (Value::Array(a), Value::Array(e)) => {
            if a.len() != e.len() {
                return Some(format!("{path}: array length {} != expected {}", a.len(), e.len()));
            }
            a.iter().zip(e).enumerate().find_map(|(i, (av, ev))| json_diff(&format!("{path}[{i}]"), av, ev))
        }
        (a, e) if a == e => None,
        (Value::Number(a), Value::Number(e)) if a.as_f64() == e.as_f64() => None,
        (a, e) => Some(format!("{path}: got {a}, expected {e}")),
    }
}

/// Like [`json_diff`], but keys of `actual`'s objects that `expected` lacks are
/// ignored: `expected` names what matters.
pub fn json_subset_diff(path: &str, actual: &Value, expected: &Value) -> Option<String> {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e.iter().find_map(|(k, ev)| {
            let av = a.get(k).unwrap_or(&Value::Null);
            json_subset_diff(&format!("{path}.{k}"), av, ev)
        }),
        (Value::Array(a), Value::Array(e)) => {
            if a.len() != e.len() {
                return Some(format!("{path}: array length {} != expected {}", a.len(), e.len()));
            }
            a.iter().zip(e).enumerate().find_map(|(i, (av, ev))| json_subset_diff(&format!("{path}[{i}]"), av, ev))
        }
        _ => json_diff(path, actual, expected),
    }
}

/// The response-side handlers of `MessagesCall`, and of `AgentRun` with its
/// pool: what [`play_attempt`] drives.
pub trait Driven {
    /// `handle_head`.
    fn head(&mut self, status: u16, headers: &creditpool_core::http::Headers, now: u64) -> creditpool_core::call::ReadBody;
    /// `handle_body`.
    fn body(&mut self, body: &[u8], now: u64);
    /// `handle_chunk`.
    fn chunk(&mut self, bytes: &[u8], now: u64);
    /// `handle_end`.
    fn end(&mut self, now: u64);
    /// `handle_transport_error`.
    fn transport_error(&mut self, failure: creditpool_core::retry::Failure, now: u64);
    /// `is_reading`.
    fn reading(&self) -> bool;
    /// `deadline`.
    fn deadline(&self) -> Option<u64>;
    /// `handle_timeout`, then (for a run) any pool operation it asks for
    /// while reading.
    fn timeout(&mut self, now: u64);
}

impl Driven for creditpool_core::call::MessagesCall {
    fn head(&mut self, status: u16, headers: &creditpool_core::http::Headers, now: u64) -> creditpool_core::call::ReadBody {
        self.handle_head(status, headers, now)
    }
    fn body(&mut self, body: &[u8], now: u64) {
        self.handle_body(body, now)
    }
    fn chunk(&mut self, bytes: &[u8], now: u64) {
        let _ = self.handle_chunk(bytes, now);
    }
    fn end(&mut self, now: u64) {
        let _ = self.handle_end(now);
    }
    fn transport_error(&mut self, failure: creditpool_core::retry::Failure, now: u64) {
        self.handle_transport_error(failure, now)
    }
    fn reading(&self) -> bool {
        self.is_reading()
    }
    fn deadline(&self) -> Option<u64> {
        MessagesCall::deadline(self)
    }
    fn timeout(&mut self, now: u64) {
        let _ = self.handle_timeout(now);
    }
}

use creditpool_core::call::MessagesCall;

/// Plays one scripted attempt (see tests/vectors/README.md, `messages_call`):
/// a transport error, a whole body, or a stream in chunks that ends, is
/// reset, or stalls. A stall moves `now` to each deadline in turn and reports
/// the time passing with `handle_timeout` until the attempt is over.
pub fn play_attempt(d: &mut impl Driven, a: &Value, now: &mut u64) -> Result<(), String> {
    use creditpool_core::call::ReadBody;
    use creditpool_core::retry::Failure;
    if let Some(f) = a.get("transport_error") {
        let failure: Failure = serde_json::from_value(f.clone()).map_err(|e| e.to_string())?;
        d.transport_error(failure, *now);
        return Ok(());
    }
    if a.get("no_head") == Some(&Value::Bool(true)) {
        // The server never answers: time passes until the read timeout.
        for _ in 0..100 {
            let Some(deadline) = d.deadline() else { break };
            *now = deadline;
            d.timeout(*now);
        }
        return Ok(());
    }
    let status = a["status"].as_u64().ok_or("status")? as u16;
    let headers = serde_json::from_value(a["headers"].clone()).unwrap_or_default();
    let chunks: Vec<String> = match (a.get("chunks"), a.get("body")) {
        (Some(c), _) => serde_json::from_value(c.clone()).map_err(|e| e.to_string())?,
        (None, Some(b)) => vec![b.as_str().unwrap_or_default().to_owned()],
        _ => Vec::new(),
    };
    match d.head(status, &headers, *now) {
        ReadBody::Whole => d.body(chunks.concat().as_bytes(), *now),
        ReadBody::Chunks => {
            for chunk in &chunks {
                d.chunk(chunk.as_bytes(), *now);
                if !d.reading() {
                    break;
                }
            }
            if d.reading() {
                if a.get("end") == Some(&Value::Bool(false)) {
                    for _ in 0..100 {
                        if !d.reading() {
                            break;
                        }
                        *now = d.deadline().ok_or("a stream without a deadline")?;
                        d.timeout(*now);
                    }
                } else if a.get("reset") == Some(&Value::Bool(true)) {
                    d.transport_error(Failure::Connection, *now);
                } else {
                    d.end(*now);
                }
            }
        }
    }
    Ok(())
}
