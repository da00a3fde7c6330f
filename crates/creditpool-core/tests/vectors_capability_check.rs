//! Runs the `capability_check` vectors: `pricing::check_request` on a request.

mod common;

use creditpool_core::api::MessageRequest;
use creditpool_core::pricing::{check_request, CapabilityError};
use serde_json::{json, Value};

fn error_json(e: &CapabilityError) -> Value {
    let mut v = json!({"kind": e.kind(), "model": e.model()});
    match e {
        CapabilityError::SamplingParameter { parameter, .. } => v["parameter"] = json!(parameter),
        CapabilityError::ForcedToolUse { tool_choice, .. } => v["tool_choice"] = json!(tool_choice),
        _ => {}
    }
    v
}

#[test]
fn capability_check_vectors() {
    let n = common::run_kind("capability_check", |case| {
        let request: MessageRequest = serde_json::from_value(case.input["request"].clone()).map_err(|e| format!("request: {e}"))?;
        let actual = match check_request(&request) {
            Ok(()) => json!({"ok": true}),
            Err(e) => json!({"error": error_json(&e), "message": e.to_string()}),
        };
        match common::json_diff("$", &actual, &case.expected) {
            None => Ok(()),
            Some(d) => Err(d),
        }
    });
    assert!(n >= 10, "only {n} capability_check vectors");
}
