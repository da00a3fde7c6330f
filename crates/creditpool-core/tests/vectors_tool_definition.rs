//! Runs the `tool_definition` vectors: `check_tool` and `check_tools`.
//!
//! `expected` is `{"ok": true}` or `{"error": {...}}`, where the error object
//! lists a subset of the fields of the error's JSON form (`rule`, `tool`, ...).

mod common;

use creditpool_core::api::{Tool, ToolSpec};
use creditpool_core::tools::{check_tool, check_tools};
use serde_json::{json, Value};

#[test]
fn tool_definition_vectors() {
    let n = common::run_kind("tool_definition", |case| {
        let result = if let Some(tool) = case.input.get("tool") {
            let tool: Tool = serde_json::from_value(tool.clone()).map_err(|e| format!("input.tool does not parse: {e}"))?;
            check_tool(&tool)
        } else if let Some(tools) = case.input.get("tools") {
            let tools: Vec<ToolSpec> =
                serde_json::from_value(tools.clone()).map_err(|e| format!("input.tools does not parse: {e}"))?;
            check_tools(&tools)
        } else {
            return Err("input has neither `tool` nor `tools`".into());
        };
        let actual = match result {
            Ok(()) => json!({"ok": true}),
            Err(e) => json!({"error": serde_json::to_value(&e).map_err(|e| e.to_string())?}),
        };
        // Compare only the error fields the case names.
        let shown = match (actual.get("error"), case.expected.get("error").and_then(Value::as_object)) {
            (Some(Value::Object(err)), Some(wanted)) => {
                json!({"error": err.iter().filter(|(k, _)| wanted.contains_key(*k)).map(|(k, v)| (k.clone(), v.clone())).collect::<serde_json::Map<_, _>>()})
            }
            _ => actual.clone(),
        };
        common::json_diff("", &shown, &case.expected).map_or(Ok(()), |d| Err(format!("{d}; actual {actual}")))
    });
    assert!(n >= 25, "only {n} tool_definition vectors");
}

#[test]
fn serialized_definition_error_message_matches_display() {
    let tool = Tool::new("f", "", json!({"type": "object"}));
    let err = check_tool(&tool).unwrap_err();
    let v: Value = serde_json::to_value(&err).unwrap();
    assert_eq!(v["message"], err.to_string());
    assert_eq!(v["rule"], "missing_description");
}
