//! Message threads: create, continue (only the new messages; the whole thread
//! billed as input), expiry after the last request on the simulator's clock,
//! and the 404 `thread_not_found` in the API's error shape that makes the
//! official SDKs replay the conversation with a new create.
mod common;

use common::*;
use creditpool_sim::threads::DEFAULT_THREAD_TTL_MS;
use creditpool_sim::tokens;
use serde_json::{json, Value};

fn create(prompt: &str) -> Value {
    json!({"model": "claude-haiku-4-5", "max_tokens": 256, "system": "You are terse.", "tools": [search_tool()],
           "messages": [{"role": "user", "content": prompt}], "thread": {"type": "create"}})
}

fn cont(previous: &str, messages: Value) -> Value {
    json!({"model": "claude-haiku-4-5", "max_tokens": 256, "messages": messages, "thread": {"type": "continue", "previous_message_id": previous}})
}

fn tool_results(reply: &Value) -> Value {
    let results: Vec<Value> = reply["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "tool_use")
        .map(|b| json!({"type": "tool_result", "tool_use_id": b["id"], "content": "3 widgets in stock"}))
        .collect();
    assert!(!results.is_empty(), "expected a tool call: {reply}");
    json!([{"role": "user", "content": results}])
}

fn advance(addr: std::net::SocketAddr, ms: u64) -> Value {
    let r = post(addr, "/_sim/clock", &json!({"advance_ms": ms}));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

#[test]
fn a_continue_is_answered_and_billed_as_the_whole_thread() {
    let sim = start();
    let first = messages(sim.addr(), &create("search the database for widgets"));
    assert_eq!(first.status, 200, "{}", first.text());
    let first = first.json();
    assert_eq!(first["stop_reason"], "tool_use");
    // Only the tool results: before threads this was a 400 (unexpected tool_use_id).
    let second_body = cont(first["id"].as_str().unwrap(), tool_results(&first));
    let second = messages(sim.addr(), &second_body);
    assert_eq!(second.status, 200, "{}", second.text());
    let second = second.json();
    assert_eq!(second["stop_reason"], "end_turn");
    assert!(second["content"][0]["text"].as_str().unwrap().contains("3 widgets in stock"));

    // Billed as the whole conversation sent at once (system, tools, both turns).
    let whole = json!({"model": "claude-haiku-4-5", "max_tokens": 256, "system": "You are terse.", "tools": [search_tool()],
        "messages": [{"role": "user", "content": "search the database for widgets"}, {"role": "assistant", "content": first["content"]}, tool_results(&first)[0]]});
    let whole_request = serde_json::from_value(whole.clone()).unwrap();
    let expected_input = tokens::input_tokens(&whole_request, whole.to_string().len());
    let log = usage(sim.addr());
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["thread"], "create");
    assert_eq!(log[0]["message_id"], first["id"]);
    assert_eq!(log[1]["thread"], "continue");
    assert_eq!(log[1]["message_id"], second["id"]);
    assert_eq!(second["usage"]["input_tokens"].as_u64().unwrap(), expected_input);
    assert_eq!(log[1]["billed"]["input_tokens"].as_u64().unwrap(), expected_input);
    // More than the continue's own body could hold, and within the whole thread's bytes.
    let body_bytes = log[1]["body_bytes"].as_u64().unwrap();
    assert_eq!(body_bytes, second_body.to_string().len() as u64);
    assert!(expected_input > tokens::input_tokens(&serde_json::from_value(second_body.clone()).unwrap(), second_body.to_string().len()));
    assert!(expected_input <= log[1]["thread_bytes"].as_u64().unwrap());
    // The tool-use overhead of the stored tools is billed on the continue too.
    assert!(expected_input > tokens::TOOL_OVERHEAD_TOKENS);
    sim.stop();
}

#[test]
fn a_thread_continues_turn_after_turn_and_a_used_message_cannot_be_continued_again() {
    let sim = start();
    let a = messages(sim.addr(), &create("hello")).json();
    let b = messages(sim.addr(), &cont(a["id"].as_str().unwrap(), json!([{"role": "user", "content": "and again"}]))).json();
    let c = messages(sim.addr(), &cont(b["id"].as_str().unwrap(), json!([{"role": "user", "content": "once more"}])));
    assert_eq!(c.status, 200, "{}", c.text());
    let log = usage(sim.addr());
    let inputs: Vec<u64> = log.iter().map(|e| e["billed"]["input_tokens"].as_u64().unwrap()).collect();
    assert!(inputs[0] < inputs[1] && inputs[1] < inputs[2], "each turn reads the whole thread: {inputs:?}");
    // `a` was continued already: the API keeps only the thread's latest message.
    let again = messages(sim.addr(), &cont(a["id"].as_str().unwrap(), json!([{"role": "user", "content": "fork"}])));
    assert_eq!(again.status, 404);
    assert_eq!(usage(sim.addr()).len(), 3, "a 404 is not billed");
    sim.stop();
}

#[test]
fn an_unknown_continue_is_a_404_thread_not_found_in_the_api_shape() {
    let sim = start();
    let r = messages(sim.addr(), &cont("msg_never", json!([{"role": "user", "content": "hi"}])));
    assert_eq!(r.status, 404);
    let v = r.json();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "not_found_error");
    assert_eq!(v["error"]["details"]["error_code"], "thread_not_found");
    assert_eq!(v["request_id"].as_str(), r.header("request-id"));
    assert!(usage(sim.addr()).is_empty());
    sim.stop();
}

#[test]
fn a_thread_expires_five_minutes_after_its_last_request_on_the_sim_clock() {
    let sim = start();
    let clock = advance(sim.addr(), 0);
    assert_eq!(clock["thread_ttl_ms"].as_u64(), Some(DEFAULT_THREAD_TTL_MS));
    let a = messages(sim.addr(), &create("hello")).json();
    advance(sim.addr(), DEFAULT_THREAD_TTL_MS - 60_000);
    let b = messages(sim.addr(), &cont(a["id"].as_str().unwrap(), json!([{"role": "user", "content": "still there?"}])));
    assert_eq!(b.status, 200, "within 5 minutes: {}", b.text());
    let b = b.json();
    // 5 minutes after the thread's last request (the continue), not its create.
    advance(sim.addr(), DEFAULT_THREAD_TTL_MS + 1);
    let c = messages(sim.addr(), &cont(b["id"].as_str().unwrap(), json!([{"role": "user", "content": "and now?"}])));
    assert_eq!(c.status, 404);
    assert_eq!(c.json()["error"]["details"]["error_code"], "thread_not_found");
    assert_eq!(advance(sim.addr(), 0)["threads"], 0, "the expired thread is forgotten");
    // The SDK's replay: the whole conversation with a new create.
    let replay = json!({"model": "claude-haiku-4-5", "max_tokens": 256, "system": "You are terse.", "messages": [
        {"role": "user", "content": "hello"}, {"role": "assistant", "content": a["content"]},
        {"role": "user", "content": "still there?"}, {"role": "assistant", "content": b["content"]},
        {"role": "user", "content": "and now?"}], "thread": {"type": "create"}});
    let d = messages(sim.addr(), &replay);
    assert_eq!(d.status, 200, "{}", d.text());
    assert_eq!(usage(sim.addr()).len(), 3);
    sim.stop();
}

#[test]
fn the_thread_ttl_flag_shortens_the_expiry() {
    let sim = creditpool_sim::start(creditpool_sim::Config { thread_ttl_ms: Some(0), ..Default::default() }).unwrap();
    let a = messages(sim.addr(), &create("hello")).json();
    let r = messages(sim.addr(), &cont(a["id"].as_str().unwrap(), json!([{"role": "user", "content": "x"}])));
    assert_eq!(r.status, 404);
    sim.stop();
}

#[test]
fn a_continue_may_not_carry_system_or_tools_and_reset_forgets_threads() {
    let sim = start();
    let a = messages(sim.addr(), &create("hello")).json();
    let mut bad = cont(a["id"].as_str().unwrap(), json!([{"role": "user", "content": "x"}]));
    bad["system"] = json!("new system");
    let r = messages(sim.addr(), &bad);
    assert_eq!(r.status, 400);
    assert_eq!(r.error_type(), "invalid_request_error");
    let r = request(sim.addr(), "POST", "/_sim/reset", &[], b"");
    assert_eq!(r.status, 200);
    let r = messages(sim.addr(), &cont(a["id"].as_str().unwrap(), json!([{"role": "user", "content": "x"}])));
    assert_eq!(r.status, 404);
    sim.stop();
}

#[test]
fn a_streamed_continue_reports_the_whole_thread_as_input() {
    let sim = start();
    let a = messages(sim.addr(), &create("hello")).json();
    let r = messages(sim.addr(), &streaming(cont(a["id"].as_str().unwrap(), json!([{"role": "user", "content": "stream it"}]))));
    assert_eq!(r.status, 200);
    let log = usage(sim.addr());
    assert_eq!(log[1]["thread"], "continue");
    let input = log[1]["billed"]["input_tokens"].as_u64().unwrap();
    assert!(r.text().contains(&format!("\"input_tokens\":{input}")), "message_start reports the whole thread's input");
    assert!(input > log[0]["billed"]["input_tokens"].as_u64().unwrap());
    sim.stop();
}
