//! Runs the `partial_json` vectors: `parse_partial` must give what the
//! official Python SDK's jiter-based accumulator gives (see
//! `scripts/vectors/gen_partial_json.py` for how `expected` was produced).

mod common;

use creditpool_core::partial_json::{parse_partial, PartialJsonError};
use serde_json::{json, Value};

/// Like `common::json_diff`, but an integer never equals a float: jiter (and
/// so the Python SDK) keeps `150` and `1.5E+2` apart, and so must we.
fn strict_diff(path: &str, actual: &Value, expected: &Value) -> Option<String> {
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => {
            if a.is_f64() == e.is_f64() && a.as_f64() == e.as_f64() {
                None
            } else {
                Some(format!("{path}: got {a}, expected {e}"))
            }
        }
        (Value::Array(a), Value::Array(e)) if a.len() == e.len() => {
            a.iter().zip(e).enumerate().find_map(|(i, (x, y))| strict_diff(&format!("{path}[{i}]"), x, y))
        }
        (Value::Object(a), Value::Object(e)) if a.len() == e.len() => a.iter().find_map(|(k, x)| match e.get(k) {
            Some(y) => strict_diff(&format!("{path}.{k}"), x, y),
            None => Some(format!("{path}: unexpected key {k:?}")),
        }),
        (a, e) if a == e => None,
        (a, e) => Some(format!("{path}: got {a}, expected {e}")),
    }
}

#[test]
fn partial_json_vectors() {
    let n = common::run_kind("partial_json", |case| {
        let text = case.input.get("text").and_then(Value::as_str).ok_or("input.text missing")?;
        let actual = match parse_partial(text) {
            Ok(p) => json!({"value": p.value, "complete": p.complete}),
            Err(PartialJsonError::Syntax { .. }) => json!({"error": "syntax"}),
            Err(PartialJsonError::Incomplete { .. }) => json!({"error": "incomplete"}),
            Err(PartialJsonError::TooDeep { .. }) => json!({"error": "too_deep"}),
            Err(PartialJsonError::NonFinite { .. }) => json!({"error": "non_finite"}),
            Err(other) => json!({"error": format!("unexpected {other:?}")}),
        };
        match strict_diff("", &actual, &case.expected) {
            None => Ok(()),
            Some(d) => Err(format!("{d}\n  input: {text:?}\n  actual: {actual}")),
        }
    });
    assert!(n >= 40, "expected at least 40 partial_json vectors, found {n}");
}
