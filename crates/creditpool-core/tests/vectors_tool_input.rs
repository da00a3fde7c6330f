//! Runs the `tool_input` vectors: `ToolSet::from_specs` then
//! `ToolSet::check_call_with`.
//!
//! `expected` is `{"ok": true}` or `{"error": {...}}`. The error object names a
//! subset of the fields of the error's JSON form (`kind`, `tool`, `known`,
//! `omitted`), plus `paths` (the `path` of each entry of `errors`, in order) and
//! `text_contains` (substrings of the text the model reads).

mod common;

use creditpool_core::api::{ToolSpec, ToolUseBlock};
use creditpool_core::tools::ToolSet;
use serde_json::{json, Map, Value};

fn check(case: &common::Case) -> Result<(), String> {
    let specs: Vec<ToolSpec> =
        serde_json::from_value(case.input["tools"].clone()).map_err(|e| format!("input.tools does not parse: {e}"))?;
    let set = ToolSet::from_specs(&specs).map_err(|e| format!("the tools do not pass their checks: {e}"))?;
    let call: ToolUseBlock =
        serde_json::from_value(case.input["call"].clone()).map_err(|e| format!("input.call does not parse: {e}"))?;
    let truncated = case.input.get("truncated").and_then(Value::as_bool).unwrap_or(false);

    let Some(wanted) = case.expected.get("error").and_then(Value::as_object) else {
        return match set.check_call_with(&call, truncated) {
            Ok(()) => common::json_diff("", &json!({"ok": true}), &case.expected).map_or(Ok(()), Err),
            Err(e) => Err(format!("expected {}, got error {}", case.expected, serde_json::to_value(&e).unwrap_or_default())),
        };
    };
    let err = match set.check_call_with(&call, truncated) {
        Ok(()) => return Err(format!("expected error {}, got ok", Value::Object(wanted.clone()))),
        Err(e) => e,
    };
    let mut actual = serde_json::to_value(&err).map_err(|e| e.to_string())?;
    if let Some(errors) = actual.get("errors").and_then(Value::as_array) {
        let paths: Vec<Value> = errors.iter().map(|v| v["path"].clone()).collect();
        actual["paths"] = Value::Array(paths);
    }
    let text = err.to_tool_result_text();
    for s in wanted.get("text_contains").and_then(Value::as_array).into_iter().flatten() {
        let s = s.as_str().ok_or("text_contains holds a non-string")?;
        if !text.contains(s) {
            return Err(format!("tool result text lacks {s:?}:\n{text}"));
        }
    }
    let shown: Map<String, Value> = wanted
        .keys()
        .filter(|k| *k != "text_contains")
        .map(|k| (k.clone(), actual.get(k).cloned().unwrap_or(Value::Null)))
        .collect();
    let mut expected = wanted.clone();
    expected.remove("text_contains");
    common::json_diff("error", &Value::Object(shown), &Value::Object(expected)).map_or(Ok(()), |d| Err(format!("{d}; actual {actual}")))
}

#[test]
fn tool_input_vectors() {
    let n = common::run_kind("tool_input", check);
    assert!(n >= 30, "only {n} tool_input vectors");
}
