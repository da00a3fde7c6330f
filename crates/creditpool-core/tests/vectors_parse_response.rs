//! Runs the `parse_response` vectors: `parse_message` and `parse_count_tokens`.

mod common;

use creditpool_core::error::ParseError;
use creditpool_core::http::Headers;
use creditpool_core::response::{parse_count_tokens, parse_message, ResponseError, ResponseLimits};
use serde_json::{json, Value};

/// The error as the vectors describe it, with its full `message`.
fn error_json(err: &ResponseError) -> Value {
    match err {
        ResponseError::Api(e) => json!({
            "kind": "api", "type": e.kind.as_str(), "status": e.status, "request_id": e.request_id, "message": e.message,
        }),
        ResponseError::Parse(p) => {
            let t = match p {
                ParseError::Malformed { .. } => "malformed",
                ParseError::TooLarge { .. } => "too_large",
                _ => "other",
            };
            json!({"kind": "parse", "type": t, "message": p.to_string()})
        }
        _ => json!({"kind": "other", "message": err.to_string()}),
    }
}

#[test]
fn parse_response_vectors() {
    let n = common::run_kind("parse_response", |case| {
        let input = &case.input;
        let status = input["status"].as_u64().and_then(|s| u16::try_from(s).ok()).ok_or("input.status")?;
        let headers: Headers = serde_json::from_value(input["headers"].clone()).map_err(|e| format!("input.headers: {e}"))?;
        let body = input["body"].as_str().ok_or("input.body is not a string")?.as_bytes();
        let mut limits = ResponseLimits::default();
        if let Some(max) = input.get("max_body_bytes").and_then(Value::as_u64) {
            limits.max_body_bytes = usize::try_from(max).map_err(|e| e.to_string())?;
        }
        let actual = match input.get("endpoint").and_then(Value::as_str).unwrap_or("messages") {
            "messages" => match parse_message(status, &headers, body, &limits) {
                Ok(m) => json!({"message": m}),
                Err(e) => json!({"error": error_json(&e)}),
            },
            "count_tokens" => match parse_count_tokens(status, &headers, body, &limits) {
                Ok(n) => json!({"input_tokens": n}),
                Err(e) => json!({"error": error_json(&e)}),
            },
            other => return Err(format!("unknown endpoint {other:?}")),
        };
        let mut expected = case.expected.clone();
        let mut actual = actual;
        if let (Some(exp), Some(act)) = (expected.get_mut("error").and_then(Value::as_object_mut), actual.get_mut("error").and_then(Value::as_object_mut)) {
            let message = act.remove("message").and_then(|m| m.as_str().map(str::to_owned)).unwrap_or_default();
            let contains = exp.remove("message_contains").ok_or("expected.error needs message_contains")?;
            let contains = contains.as_str().ok_or("message_contains is not a string")?;
            if !message.contains(contains) {
                return Err(format!("message {message:?} does not contain {contains:?}"));
            }
        }
        match common::json_diff("", &actual, &expected) {
            Some(d) => Err(d),
            None => Ok(()),
        }
    });
    assert!(n >= 25, "only {n} parse_response vectors");
}
