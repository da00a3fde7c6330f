//! Runs the `messages_call` vectors: a `MessagesCall` driven through scripted
//! attempts, with a clock that only moves when the call asks to wait (or a
//! stream stalls past its deadline).
mod common;

use creditpool_core::api::MessageRequest;
use creditpool_core::call::{AttemptError, CallAction, CallOptions, CallOutput, MessagesCall};
use creditpool_core::pool::WebhookDelivery;
use creditpool_core::request::{RequestBuilder, RequestConfig};
use creditpool_core::ApiKey;
use serde_json::{json, Value};

fn run(input: &Value) -> Result<Value, String> {
    let options: CallOptions = serde_json::from_value(input["options"].clone()).map_err(|e| e.to_string())?;
    let request: MessageRequest = serde_json::from_value(input["request"].clone()).map_err(|e| e.to_string())?;
    let builder = RequestBuilder::new(RequestConfig::new(ApiKey::new(input["api_key"].as_str().unwrap_or("k")))).map_err(|e| e.to_string())?;
    let kind = input["kind"].as_str().unwrap_or("messages");
    let made = match kind {
        "messages" => MessagesCall::new(&builder, &request, options),
        "count_tokens" => MessagesCall::count_tokens(&builder, &request, options),
        "webhook" => {
            let w = &input["webhook"];
            let delivery = WebhookDelivery {
                body: w["body"].as_str().unwrap_or_default().as_bytes().to_vec(),
                headers: serde_json::from_value(w["headers"].clone()).map_err(|e| format!("webhook headers: {e}"))?,
            };
            Ok(MessagesCall::webhook(&delivery, options))
        }
        other => return Err(format!("unknown kind {other}")),
    };
    let mut call = match made {
        Ok(c) => c,
        Err(e) => {
            let err = json!({"kind": "preflight", "code": e.code(), "class": creditpool_core::codes::class_for_code(e.code())});
            return Ok(json!({"actions": [], "result": {"error": err}}));
        }
    };
    let early = input["early_wake_ms"].as_u64().unwrap_or(0);
    let mut now = input["start_ms"].as_u64().ok_or("start_ms")?;
    let attempts = input["attempts"].as_array().ok_or("attempts")?;
    let mut next = attempts.iter();
    let mut actions = Vec::new();
    for _ in 0..100 {
        match call.next_action(now) {
            CallAction::Send(_) => {
                actions.push(json!({"send": true}));
                let a = next.next().ok_or("the call sent more attempts than scripted")?;
                common::play_attempt(&mut call, a, &mut now)?;
            }
            CallAction::Wait { until_ms, retry } => {
                let mut a = json!({"wait_until": until_ms});
                if let Some(n) = retry {
                    a["retry"] = json!({"attempt": n.attempt, "delay_ms": n.delay_ms, "code": n.code});
                }
                actions.push(a);
                // A sleep may wake a little early; the call's clock makes up for it.
                now = until_ms.saturating_sub(early).max(now);
            }
            CallAction::Done => break,
        }
    }
    let result = match call.take_output().ok_or("no result")? {
        Ok(CallOutput::Message(c)) => json!({"message": c.message, "attempts": c.attempts, "request_id": c.request_id}),
        Ok(CallOutput::InputTokens { input_tokens, attempts, request_id }) => json!({"input_tokens": input_tokens, "attempts": attempts, "request_id": request_id}),
        Ok(CallOutput::Delivered { status, attempts }) => json!({"delivered": status, "attempts": attempts}),
        Err(e) => {
            let (kind, etype) = match &e.error {
                AttemptError::Api(a) => ("api", Some(a.kind.as_str().to_owned())),
                AttemptError::SelectorRejected(s) => ("api", Some(s.api.kind.as_str().to_owned())),
                AttemptError::Stream(_) => ("stream", None),
                AttemptError::Parse(_) => ("parse", None),
                AttemptError::Transport(_) => ("transport", None),
                _ => ("other", None),
            };
            let code = e.code();
            let mut err = json!({"kind": kind, "attempts": e.attempts, "reason": e.reason, "code": code, "class": creditpool_core::codes::class_for_code(code), "partial": e.partial.is_some()});
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
        // The actions exactly; of the result, what the case names.
        if let Some(d) = common::json_diff("actions", &actual["actions"], case.expected.get("actions").unwrap_or(&actual["actions"])) {
            return Err(d);
        }
        common::json_subset_diff("result", &actual["result"], &case.expected["result"]).map_or(Ok(()), Err)
    });
}
