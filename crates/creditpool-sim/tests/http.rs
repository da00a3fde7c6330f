//! The simulator over real loopback HTTP: JSON and streamed messages, errors,
//! headers, CORS, count_tokens and the usage log.

mod common;

use common::*;
use creditpool_core::api::{ContentBlock, Message, StopReason, StreamEvent};
use creditpool_core::sse::{Finished, MessageStream, StreamError};
use serde_json::{json, Value};

/// Decodes a streamed body with the core's own stream reader.
pub fn decode(body: &[u8]) -> (Vec<StreamEvent>, Result<Finished, StreamError>) {
    let mut s = MessageStream::new();
    s.feed(body);
    s.end_of_input();
    let mut events = Vec::new();
    while let Ok(Some(e)) = s.next_event() {
        events.push(e);
    }
    (events, s.finish())
}

/// Every event is `event: NAME\ndata: JSON\n\n` with NAME equal to the data's type.
fn assert_wire_grammar(body: &str) {
    assert!(body.ends_with("\n\n"), "stream does not end with a blank line");
    for block in body.trim_end().split("\n\n") {
        let mut lines = block.lines();
        let name = lines.next().unwrap().strip_prefix("event: ").expect("event line");
        let data: Value = serde_json::from_str(lines.next().unwrap().strip_prefix("data: ").expect("data line")).unwrap();
        assert_eq!(lines.next(), None, "one data line per event");
        assert_eq!(data["type"], name);
    }
}

fn search_request(stream: bool) -> Value {
    json!({"model": "claude-haiku-4-5", "max_tokens": 300, "stream": stream, "credit_pool": "programmatic",
           "metadata": {"user_id": "agent-a"}, "tools": [search_tool()],
           "messages": [{"role": "user", "content": "Find products under $50"}]})
}

#[test]
fn json_message_calls_the_tool_and_reports_usage() {
    let sim = start();
    let r = messages(sim.addr(), &search_request(false));
    assert_eq!(r.status, 200, "{}", r.text());
    let m: Message = serde_json::from_value(r.json()).unwrap();
    assert_eq!(m.model, "claude-haiku-4-5");
    assert_eq!(m.stop_reason, Some(StopReason::ToolUse));
    let call = m.tool_uses().next().expect("a tool call");
    assert_eq!(call.name, "search_database");
    assert_eq!(call.input, json!({"query": "products under $50"}));
    assert!(m.usage.input_tokens > 0 && m.usage.output_tokens > 0);
    assert_eq!(r.header("request-id"), Some("req_sim_000001"));
    assert_eq!(r.header("x-creditpool-credit-pool"), Some("programmatic"));
    assert_eq!(r.header("x-creditpool-simulator"), Some("true"));
    for h in ["requests-limit", "requests-remaining", "requests-reset", "tokens-limit", "tokens-remaining", "tokens-reset"] {
        assert!(r.header(&format!("anthropic-ratelimit-{h}")).is_some(), "{h}");
    }
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn a_whole_agent_turn_ends_with_text_that_uses_the_tool_result() {
    let sim = start();
    let first: Message = serde_json::from_value(messages(sim.addr(), &search_request(false)).json()).unwrap();
    let call = first.tool_uses().next().unwrap().clone();
    let mut next = search_request(false);
    next["messages"] = json!([
        {"role": "user", "content": "Find products under $50"},
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "Desk lamp ($35), Mug ($12)"}]}
    ]);
    let r = messages(sim.addr(), &next);
    assert_eq!(r.status, 200, "{}", r.text());
    let m: Message = serde_json::from_value(r.json()).unwrap();
    assert_eq!(m.stop_reason, Some(StopReason::EndTurn));
    assert!(m.text().contains("Desk lamp ($35), Mug ($12)"), "{}", m.text());
    assert_eq!(r.header("request-id"), Some("req_sim_000002"));
}

#[test]
fn stream_follows_the_api_grammar_and_accumulates_to_the_json_answer() {
    let sim = start();
    let streamed = messages(sim.addr(), &search_request(true));
    assert_eq!(streamed.status, 200);
    assert!(streamed.complete);
    assert!(streamed.header("content-type").unwrap().starts_with("text/event-stream"));
    assert_wire_grammar(&streamed.text());
    let (events, finished) = decode(&streamed.body);
    let names: Vec<&str> = events.iter().map(StreamEvent::type_tag).collect();
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(&names[names.len() - 2..], ["message_delta", "message_stop"]);
    assert!(names.contains(&"ping"));
    let json_deltas = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::ContentBlockDelta(d) if d.delta.type_tag() == "input_json_delta"))
        .count();
    assert!(json_deltas >= 3, "tool input in several pieces, got {json_deltas}");
    let text_deltas = events.iter().filter(|e| matches!(e, StreamEvent::ContentBlockDelta(d) if d.delta.type_tag() == "text_delta")).count();
    assert!(text_deltas >= 2);
    let StreamEvent::MessageDelta(delta) = &events[events.len() - 2] else { panic!("no message_delta") };
    let finished = finished.expect("complete stream");
    assert!(finished.tool_input_issues.is_empty());
    let m = finished.message;
    assert_eq!(delta.usage["output_tokens"], json!(m.usage.output_tokens));
    assert_eq!(m.stop_reason, Some(StopReason::ToolUse));

    // Same content as the JSON endpoint gives (IDs aside).
    let plain: Message = serde_json::from_value(messages(sim.addr(), &search_request(false)).json()).unwrap();
    assert_eq!(m.text(), plain.text());
    assert_eq!(m.tool_uses().next().unwrap().input, plain.tool_uses().next().unwrap().input);
    assert_eq!(m.usage.output_tokens, plain.usage.output_tokens);
}

#[test]
fn plain_prompt_without_tools_gets_a_direct_answer() {
    let sim = start();
    let r = messages(sim.addr(), &streaming(body("Say hello")));
    let m = decode(&r.body).1.unwrap().message;
    assert_eq!(m.content.len(), 1);
    assert!(matches!(&m.content[0], ContentBlock::Text(t) if t.text.contains("simulator")));
    assert_eq!(m.stop_reason, Some(StopReason::EndTurn));
}

#[test]
fn authentication() {
    let sim = creditpool_sim::start(creditpool_sim::Config { keys: vec!["good".into(), "other".into()], ..Default::default() }).unwrap();
    let b = body("hi").to_string();
    let v = ("anthropic-version", "2023-06-01");
    let none = request(sim.addr(), "POST", "/v1/messages", &[v], b.as_bytes());
    assert_eq!((none.status, none.error_type().as_str()), (401, "authentication_error"));
    assert_eq!(none.json()["type"], "error");
    assert_eq!(none.json()["request_id"], none.header("request-id").unwrap());
    let wrong = request(sim.addr(), "POST", "/v1/messages", &[v, ("x-api-key", "bad")], b.as_bytes());
    assert_eq!(wrong.status, 401);
    let good = request(sim.addr(), "POST", "/v1/messages", &[v, ("x-api-key", "good")], b.as_bytes());
    assert_eq!(good.status, 200);
    let bearer = request(sim.addr(), "POST", "/v1/messages", &[v, ("authorization", "Bearer other")], b.as_bytes());
    assert_eq!(bearer.status, 200);
    let bad_bearer = request(sim.addr(), "POST", "/v1/messages", &[v, ("authorization", "Bearer nope")], b.as_bytes());
    assert_eq!(bad_bearer.status, 401);
}

#[test]
fn any_non_empty_key_without_keys() {
    let sim = start();
    let b = body("hi").to_string();
    let r = request(sim.addr(), "POST", "/v1/messages", &[("anthropic-version", "2023-06-01"), ("x-api-key", "whatever")], b.as_bytes());
    assert_eq!(r.status, 200);
    let empty = request(sim.addr(), "POST", "/v1/messages", &[("anthropic-version", "2023-06-01"), ("x-api-key", "")], b.as_bytes());
    assert_eq!(empty.status, 401);
}

#[test]
fn invalid_requests_get_api_shaped_400s() {
    let sim = start();
    let missing_version = request(sim.addr(), "POST", "/v1/messages", &[("x-api-key", KEY)], body("hi").to_string().as_bytes());
    assert_eq!((missing_version.status, missing_version.error_type().as_str()), (400, "invalid_request_error"));
    assert!(missing_version.json()["error"]["message"].as_str().unwrap().contains("anthropic-version"));

    let mut no_model = body("hi");
    no_model.as_object_mut().unwrap().remove("model");
    let mut no_max = body("hi");
    no_max.as_object_mut().unwrap().remove("max_tokens");
    let cases: Vec<(Value, &str)> = vec![
        (no_model, "model"),
        (json!({"model": 5, "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}), "model"),
        (no_max, "max_tokens"),
        (json!({"model": "m", "max_tokens": 0, "messages": [{"role": "user", "content": "x"}]}), "max_tokens"),
        (json!({"model": "m", "max_tokens": 10, "messages": []}), "messages"),
        (json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "image"}]}]}), "messages.0.content.0"),
        (
            json!({"model": "m", "max_tokens": 10, "messages": [
                {"role": "user", "content": "x"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_a", "name": "f", "input": {}}]},
                {"role": "user", "content": "no result"}]}),
            "toolu_a",
        ),
        (json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_zz", "content": "r"}]}]}), "toolu_zz"),
    ];
    for (b, needle) in cases {
        let r = messages(sim.addr(), &b);
        assert_eq!(r.status, 400, "{b}");
        let j = r.json();
        assert_eq!(j["type"], "error");
        assert_eq!(j["error"]["type"], "invalid_request_error");
        assert!(j["error"]["message"].as_str().unwrap().contains(needle), "{needle}: {j}");
        assert!(j["request_id"].as_str().unwrap().starts_with("req_sim_"));
    }
    let not_json = request(sim.addr(), "POST", "/v1/messages", &api_headers(), b"{oops");
    assert_eq!(not_json.status, 400);
    // Errors report no usage.
    assert!(usage(sim.addr()).is_empty());
}

#[test]
fn count_tokens_matches_the_message_usage() {
    let sim = start();
    // A prompt long enough that the estimate, not the body size, decides.
    let mut b = search_request(false);
    b["messages"][0]["content"] = json!("Find products under $50. ".repeat(100));
    let counted = post(sim.addr(), "/v1/messages/count_tokens", &b);
    assert_eq!(counted.status, 200, "{}", counted.text());
    let n = counted.json()["input_tokens"].as_u64().unwrap();
    assert_eq!(counted.header("x-creditpool-credit-pool"), Some("programmatic"));
    let m: Message = serde_json::from_value(messages(sim.addr(), &b).json()).unwrap();
    assert_eq!(m.usage.input_tokens, n);
    assert!(n > 346 && n < b.to_string().len() as u64);
    b.as_object_mut().unwrap().remove("max_tokens");
    let without_max = post(sim.addr(), "/v1/messages/count_tokens", &b);
    assert_eq!(without_max.status, 200);
    // count_tokens is not billed: the log holds the one message.
    assert_eq!(usage(sim.addr()).len(), 1);
}

#[test]
fn cors_preflight_and_exposed_headers() {
    let sim = start();
    let r = request(
        sim.addr(),
        "OPTIONS",
        "/v1/messages",
        &[("origin", "http://localhost:5173"), ("access-control-request-method", "POST"), ("access-control-request-headers", "x-api-key,anthropic-version,content-type,x-stainless-os")],
        b"",
    );
    assert!(r.status == 204 || r.status == 200, "{}", r.status);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let allowed = r.header("access-control-allow-headers").unwrap().to_owned();
    for h in ["x-api-key", "anthropic-version", "anthropic-beta", "content-type", "anthropic-dangerous-direct-browser-access", "authorization", "x-stainless-os"] {
        assert!(allowed.contains(h), "{h} not in {allowed}");
    }
    assert!(r.header("access-control-allow-methods").unwrap().contains("POST"));
    let real = messages(sim.addr(), &body("hi"));
    let exposed = real.header("access-control-expose-headers").unwrap();
    for h in ["request-id", "retry-after", "anthropic-ratelimit-requests-remaining", "x-creditpool-credit-pool"] {
        assert!(exposed.contains(h), "{h}");
    }
    // A preflight takes no request number.
    assert_eq!(real.header("request-id"), Some("req_sim_000001"));
}

#[test]
fn unknown_paths_and_methods() {
    let sim = start();
    let r = request(sim.addr(), "GET", "/v1/nothing", &api_headers(), b"");
    assert_eq!((r.status, r.error_type().as_str()), (404, "not_found_error"));
    let r = request(sim.addr(), "GET", "/v1/messages", &api_headers(), b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["type"], "error");
}

#[test]
fn usage_log_records_each_success() {
    let path = std::env::temp_dir().join(format!("creditpool-sim-test-usage-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let sim = creditpool_sim::start(creditpool_sim::Config { usage_log: Some(path.clone()), ..Default::default() }).unwrap();
    let a: Message = serde_json::from_value(messages(sim.addr(), &search_request(false)).json()).unwrap();
    let streamed = messages(sim.addr(), &search_request(true));
    let b = decode(&streamed.body).1.unwrap().message;
    let _unauthorised = request(sim.addr(), "POST", "/v1/messages", &[("anthropic-version", "2023-06-01")], b"{}");
    let log = usage(sim.addr());
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["request_id"], "req_sim_000001");
    assert_eq!(log[0]["stream"], false);
    assert_eq!(log[1]["stream"], true);
    assert_eq!(log[0]["credit_pool"], "programmatic");
    assert_eq!(log[0]["user_id"], "agent-a");
    assert_eq!(log[0]["status"], 200);
    assert_eq!(log[0]["outcome"], "complete");
    assert_eq!(log[0]["model"], "claude-haiku-4-5");
    assert_eq!(log[0]["usage"]["input_tokens"], json!(a.usage.input_tokens));
    assert_eq!(log[1]["usage"]["output_tokens"], json!(b.usage.output_tokens));
    let file: Vec<Value> = std::fs::read_to_string(&path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(file, log);
    // Reset empties the in-memory log and restarts request IDs.
    let reset = request(sim.addr(), "POST", "/_sim/reset", &[], b"");
    assert_eq!(reset.status, 200);
    assert!(usage(sim.addr()).is_empty());
    assert_eq!(messages(sim.addr(), &body("hi")).header("request-id"), Some("req_sim_000001"));
    sim.stop();
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_custom_pool_field_is_echoed() {
    let sim = start_with(json!({"pool_field": "billing_pool", "steps": []}));
    let mut b = body("hi");
    b["billing_pool"] = json!("research");
    let r = messages(sim.addr(), &b);
    assert_eq!(r.header("x-creditpool-credit-pool"), Some("research"));
    assert_eq!(usage(sim.addr())[0]["credit_pool"], "research");
}
