//! Runs the `messages_call` vectors: a `MessagesCall` driven through scripted
//! attempts, with a clock that only moves when the call asks to wait (or a
//! stream stalls past its deadline).
mod common;

use creditpool_core::api::MessageRequest;
use creditpool_core::call::{AttemptError, CallAction, CallOptions, MessagesCall, ReadBody};
use creditpool_core::http::Headers;
use creditpool_core::request::{RequestBuilder, RequestConfig};
use creditpool_core::retry::{Failure, TimeoutPhase};
use creditpool_core::ApiKey;
use serde_json::{json, Value};

fn headers(v: &Value) -> Headers {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

fn run(input: &Value) -> Result<Value, String> {
    let options: CallOptions = serde_json::from_value(input["options"].clone()).map_err(|e| e.to_string())?;
    let request: MessageRequest = serde_json::from_value(input["request"].clone()).map_err(|e| e.to_string())?;
    let builder = RequestBuilder::new(RequestConfig::new(ApiKey::new(input["api_key"].as_str().unwrap_or("k")))).map_err(|e| e.to_string())?;
    let mut call = MessagesCall::new(&builder, &request, options).map_err(|e| e.to_string())?;
    let mut now = input["start_ms"].as_u64().ok_or("start_ms")?;
    let attempts = input["attempts"].as_array().ok_or("attempts")?;
    let mut next = attempts.iter();
    let mut actions = Vec::new();
    for _ in 0..100 {
        match call.next_action(now) {
            CallAction::Send(_) => {
                actions.push(json!({"send": true}));
                let a = next.next().ok_or("the call sent more attempts than scripted")?;
                if let Some(f) = a.get("transport_error") {
                    let failure: Failure = serde_json::from_value(f.clone()).map_err(|e| e.to_string())?;
                    call.handle_transport_error(failure, now);
                    continue;
                }
                let status = a["status"].as_u64().ok_or("status")? as u16;
                match call.handle_head(status, &headers(&a["headers"]), now) {
                    ReadBody::Whole => {
                        let body = match (a.get("body"), a.get("chunks")) {
                            (Some(b), _) => b.as_str().unwrap_or_default().to_owned(),
                            (None, Some(c)) => c.as_array().map(|c| c.iter().filter_map(Value::as_str).collect()).unwrap_or_default(),
                            _ => String::new(),
                        };
                        call.handle_body(body.as_bytes(), now);
                    }
                    ReadBody::Chunks => {
                        let chunks: Vec<String> = match (a.get("chunks"), a.get("body")) {
                            (Some(c), _) => serde_json::from_value(c.clone()).map_err(|e| e.to_string())?,
                            (None, Some(b)) => vec![b.as_str().unwrap_or_default().to_owned()],
                            _ => Vec::new(),
                        };
                        for chunk in &chunks {
                            let _ = call.handle_chunk(chunk.as_bytes(), now);
                            if !call.is_reading() {
                                break;
                            }
                        }
                        if call.is_reading() {
                            if a.get("end") == Some(&Value::Bool(false)) {
                                now = call.deadline().ok_or("a stream without a deadline")?;
                                call.handle_transport_error(Failure::Timeout { phase: TimeoutPhase::Idle }, now);
                            } else {
                                let _ = call.handle_end(now);
                            }
                        }
                    }
                }
            }
            CallAction::Wait { until_ms } => {
                actions.push(json!({"wait_until": until_ms}));
                now = until_ms;
            }
            CallAction::Done => break,
        }
    }
    let result = match call.take_result().ok_or("no result")? {
        Ok(c) => json!({"message": c.message, "attempts": c.attempts, "request_id": c.request_id}),
        Err(e) => {
            let (kind, etype) = match &e.error {
                AttemptError::Api(a) => ("api", Some(a.kind.as_str().to_owned())),
                AttemptError::Stream(_) => ("stream", None),
                AttemptError::Parse(_) => ("parse", None),
                AttemptError::Transport(_) => ("transport", None),
                _ => ("other", None),
            };
            let mut err = json!({"kind": kind, "attempts": e.attempts, "reason": e.reason});
            if let Some(t) = etype {
                err["type"] = json!(t);
            }
            json!({"error": err})
        }
    };
    Ok(json!({"actions": actions, "result": result}))
}

#[test]
fn messages_call_vectors() {
    common::run_kind("messages_call", |case| {
        let actual = run(&case.input)?;
        common::json_diff("", &actual, &case.expected).map_or(Ok(()), Err)
    });
}
