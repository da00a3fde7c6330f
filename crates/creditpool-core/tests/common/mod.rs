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
