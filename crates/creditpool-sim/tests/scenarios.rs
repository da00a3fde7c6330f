//! Scripted scenarios and fault injection over real loopback HTTP.

mod common;

use common::*;
use creditpool_core::api::{Message, StopReason, StreamEvent};
use creditpool_core::error::ApiErrorKind;
use creditpool_core::sse::{MessageStream, StreamError};
use serde_json::{json, Value};

fn stream_result(body: &[u8]) -> (Vec<StreamEvent>, Result<creditpool_core::sse::Finished, StreamError>) {
    let mut s = MessageStream::new();
    s.feed(body);
    s.end_of_input();
    let mut events = Vec::new();
    while let Ok(Some(e)) = s.next_event() {
        events.push(e);
    }
    (events, s.finish())
}

#[test]
fn scripted_errors_with_headers() {
    let sim = start_with(json!({"steps": [
        {"error": {"status": 429, "retry_after": 7}},
        {"error": {"status": 529, "message": "Busy", "headers": {"x-should-retry": "true"}}},
        {"error": {"status": 500}},
        {"error": {"status": 401}},
        {"error": {"status": 400, "type": "invalid_request_error", "message": "scripted"}}
    ]}));
    let r = messages(sim.addr(), &body("a"));
    assert_eq!((r.status, r.error_type().as_str()), (429, "rate_limit_error"));
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(r.json()["request_id"], "req_sim_000001");
    let r = messages(sim.addr(), &body("a"));
    assert_eq!((r.status, r.error_type().as_str()), (529, "overloaded_error"));
    assert_eq!(r.json()["error"]["message"], "Busy");
    assert_eq!(r.header("x-should-retry"), Some("true"));
    let r = messages(sim.addr(), &body("a"));
    assert_eq!((r.status, r.error_type().as_str()), (500, "api_error"));
    let r = messages(sim.addr(), &body("a"));
    assert_eq!((r.status, r.error_type().as_str()), (401, "authentication_error"));
    let r = messages(sim.addr(), &body("a"));
    assert_eq!(r.json()["error"]["message"], "scripted");
    // Script used up: the rule model answers.
    assert_eq!(messages(sim.addr(), &body("a")).status, 200);
    assert_eq!(usage(sim.addr()).len(), 1);
}

#[test]
fn a_full_scripted_message_is_filled_in() {
    let sim = start_with(json!({"steps": [
        {"message": {"content": [{"type": "text", "text": "Scripted hello."}]}},
        {"text": "Let me check.", "tool_use": {"name": "search_database", "input": {"query": "lamps"}}},
        {"message": {"id": "msg_fixed", "content": [{"type": "text", "text": "x"}], "stop_reason": "refusal",
                     "usage": {"input_tokens": 5, "output_tokens": 1}, "stop_details": {"type": "refusal"}}}
    ]}));
    let m: Message = serde_json::from_value(messages(sim.addr(), &body("hi")).json()).unwrap();
    assert_eq!(m.text(), "Scripted hello.");
    assert_eq!(m.id, "msg_sim_000001");
    assert_eq!(m.model, "claude-haiku-4-5");
    assert_eq!(m.stop_reason, Some(StopReason::EndTurn));
    assert_eq!(m.usage.output_tokens, 4);

    let r = messages(sim.addr(), &streaming(body("hi")));
    let m = stream_result(&r.body).1.unwrap().message;
    assert_eq!(m.stop_reason, Some(StopReason::ToolUse));
    let call = m.tool_uses().next().unwrap();
    assert_eq!((call.name.as_str(), &call.input), ("search_database", &json!({"query": "lamps"})));
    assert!(call.id.starts_with("toolu_sim_"));

    let r = messages(sim.addr(), &streaming(body("hi")));
    let m = stream_result(&r.body).1.unwrap().message;
    assert_eq!(m.id, "msg_fixed");
    assert_eq!(m.stop_reason, Some(StopReason::Refusal));
    assert_eq!((m.usage.input_tokens, m.usage.output_tokens), (5, 1));
    assert_eq!(m.extra["stop_details"], json!({"type": "refusal"}));
}

#[test]
fn steps_match_on_user_id_and_model() {
    let sim = start_with(json!({"steps": [
        {"match": {"user_id": "agent-b"}, "text": "B's answer", "repeat": 2},
        {"match": {"model": "claude-opus-4-5"}, "text": "Opus answer"},
        {"match": {"user_id": "agent-a"}, "text": "A's answer"}
    ]}));
    let as_user = |user: &str, model: &str| {
        let mut b = body("hi");
        b["metadata"] = json!({"user_id": user});
        b["model"] = json!(model);
        let m: Message = serde_json::from_value(messages(sim.addr(), &b).json()).unwrap();
        m.text()
    };
    assert_eq!(as_user("agent-a", "claude-haiku-4-5"), "A's answer");
    assert_eq!(as_user("agent-b", "claude-haiku-4-5"), "B's answer");
    assert_eq!(as_user("agent-c", "claude-opus-4-5"), "Opus answer");
    assert_eq!(as_user("agent-b", "claude-haiku-4-5"), "B's answer");
    assert!(as_user("agent-b", "claude-haiku-4-5").contains("simulator"));
    let left = request(sim.addr(), "GET", "/_sim/scenario", &[], b"").json();
    assert_eq!(left["remaining"], 0);
}

#[test]
fn a_cut_stream_ends_without_message_stop() {
    let sim = start_with(json!({"steps": [{"cut_after_bytes": 700}, {"cut_after_bytes": 40}]}));
    let r = messages(sim.addr(), &streaming(body("Tell me something long enough to be cut")));
    assert_eq!(r.status, 200);
    assert!(!r.complete, "the chunked body must not end cleanly");
    assert_eq!(r.body.len(), 700);
    let (events, finished) = stream_result(&r.body);
    assert_eq!(events.first().map(StreamEvent::type_tag), Some("message_start"));
    assert!(matches!(finished, Err(StreamError::Incomplete { .. })), "{finished:?}");
    // A JSON body can be cut too.
    let r = messages(sim.addr(), &body("hi"));
    assert!(!r.complete);
    assert_eq!(r.body.len(), 40);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    let log = usage(sim.addr());
    assert_eq!(log.iter().map(|e| e["outcome"].as_str().unwrap()).collect::<Vec<_>>(), ["cut", "cut"]);
}

#[test]
fn a_mid_stream_error_follows_some_deltas() {
    let sim = start_with(json!({"steps": [
        {"stream_error": {"after_deltas": 2}},
        {"stream_error": {"type": "api_error", "message": "boom"}}
    ]}));
    let r = messages(sim.addr(), &streaming(body("Tell me a story")));
    assert_eq!(r.status, 200);
    assert!(r.complete);
    let text = r.text();
    assert!(text.contains("event: error\ndata: {"), "{text}");
    assert!(!text.contains("message_stop"));
    let (events, finished) = stream_result(&r.body);
    let deltas = events.iter().filter(|e| e.type_tag() == "content_block_delta").count();
    assert_eq!(deltas, 2);
    match finished {
        Err(StreamError::Api { error, partial }) => {
            assert_eq!(error.kind, ApiErrorKind::Overloaded);
            assert!(partial.is_some());
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    assert_eq!(usage(sim.addr())[0]["outcome"], "stream_error");
    // Without streaming the same step is an HTTP error.
    let r = messages(sim.addr(), &body("x"));
    assert_eq!((r.status, r.error_type().as_str()), (500, "api_error"));
    assert_eq!(r.json()["error"]["message"], "boom");
}

#[test]
fn delays_and_slow_streams_still_complete() {
    let sim = start_with(json!({"steps": [{"delay_ms": 50, "event_delay_ms": 5}]}));
    let r = messages(sim.addr(), &streaming(body("hi there")));
    assert!(r.complete);
    assert!(stream_result(&r.body).1.is_ok());
}

#[test]
fn scenarios_load_and_reset_at_runtime() {
    let sim = start_with(json!({"steps": [{"text": "from the command line"}]}));
    let bad = request(sim.addr(), "POST", "/_sim/scenario", &[], br#"{"steps": [{"nonsense": true}]}"#);
    assert_eq!((bad.status, bad.error_type().as_str()), (400, "invalid_request_error"));
    let ok = request(sim.addr(), "POST", "/_sim/scenario", &[], json!({"steps": [{"text": "loaded", "repeat": 2}]}).to_string().as_bytes());
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.json()["remaining"], 2);
    let text = |sim: &creditpool_sim::Running| serde_json::from_value::<Message>(messages(sim.addr(), &body("hi")).json()).unwrap().text();
    assert_eq!(text(&sim), "loaded");
    request(sim.addr(), "POST", "/_sim/reset", &[], b"");
    assert_eq!(text(&sim), "from the command line");
}

#[test]
fn faults_are_deterministic_for_a_seed() {
    let run = |seed: u64| -> Vec<(u16, bool)> {
        let sim = start_with(json!({"fault_rate": 0.5, "seed": seed, "fault_retry_after": 0, "steps": []}));
        let out = (0..40)
            .map(|_| {
                let r = messages(sim.addr(), &streaming(body("Tell me about faults")));
                if r.status == 429 || r.status == 529 {
                    assert_eq!(r.header("retry-after"), Some("0"));
                }
                (r.status, r.complete)
            })
            .collect();
        sim.stop();
        out
    };
    let a = run(11);
    assert_eq!(a, run(11));
    assert_ne!(a, run(12));
    for status in [200, 429, 529, 500] {
        assert!(a.iter().any(|(s, _)| *s == status), "no {status} in {a:?}");
    }
    assert!(a.contains(&(200, false)), "no cut stream in {a:?}");
    assert!(a.contains(&(200, true)));
}

#[test]
fn command_line_fault_rate_applies_without_a_scenario() {
    let sim = creditpool_sim::start(creditpool_sim::Config { fault_rate: 1.0, seed: 3, ..Default::default() }).unwrap();
    let faulted = (0..10).filter(|_| {
        let r = messages(sim.addr(), &body("x"));
        r.status != 200 || !r.complete
    });
    assert_eq!(faulted.count(), 10);
}
