//! The two hard rules the credit pool's no-overshoot guarantee relies on,
//! checked over many random requests (property style, seeded):
//! reported input tokens never exceed the request body's bytes, and reported
//! output tokens never exceed `max_tokens`.

mod common;

use common::*;
use creditpool_core::api::{Delta, Message, StopReason, StreamEvent};
use creditpool_core::sse::MessageStream;
use serde_json::{json, Value};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &["find", "products", "under", "$50", "weather", "in", "Paris", "é", "日本語", "search", "the", "database", "🙂", "report", "42", "orders"];

fn text(rng: &mut Rng, max_words: u64) -> String {
    let n = 1 + rng.below(max_words);
    (0..n).map(|_| *rng.pick(WORDS)).collect::<Vec<_>>().join(" ")
}

fn tool(rng: &mut Rng, i: usize) -> Value {
    let name = format!("{}_{i}", rng.pick(&["search_database", "get_weather", "lookup", "report"]));
    json!({"name": name, "description": text(rng, 12), "input_schema": {"type": "object",
        "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}, "mode": {"enum": ["a", "b"]}, "deep": {"type": "boolean"}},
        "required": ["query", "limit", "mode", "deep"]}})
}

fn random_request(rng: &mut Rng) -> Value {
    let max_tokens = if rng.below(2) == 0 { 1 + rng.below(12) } else { 1 + rng.below(4096) };
    let mut b = json!({"model": "claude-haiku-4-5", "max_tokens": max_tokens, "messages": [{"role": "user", "content": text(rng, 200)}]});
    let n_tools = rng.below(4) as usize;
    if n_tools > 0 {
        b["tools"] = Value::Array((0..n_tools).map(|i| tool(rng, i)).collect());
    }
    if rng.below(3) == 0 {
        b["system"] = json!(text(rng, 50));
    }
    if rng.below(2) == 0 {
        b["stream"] = json!(true);
    }
    if rng.below(4) == 0 {
        b["credit_pool"] = json!("programmatic");
    }
    if n_tools > 0 && rng.below(3) == 0 {
        b["messages"] = json!([
            {"role": "user", "content": text(rng, 20)},
            {"role": "assistant", "content": [{"type": "text", "text": "Calling."}, {"type": "tool_use", "id": "toolu_x", "name": "search_database_0", "input": {"query": "q"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": text(rng, 300)}]}
        ]);
    }
    b
}

/// Usage as reported: the JSON body's, or for a stream the last figures seen
/// (message_start, then every message_delta, which are cumulative), with the
/// largest output figure seen anywhere.
fn reported(body: &[u8], streamed: bool) -> (u64, u64, u64, Message) {
    if !streamed {
        let m: Message = serde_json::from_slice(body).unwrap();
        return (m.usage.input_tokens, m.usage.output_tokens, m.usage.output_tokens, m);
    }
    let mut s = MessageStream::new();
    s.feed(body);
    s.end_of_input();
    let mut max_output_seen = 0;
    while let Some(e) = s.next_event().unwrap() {
        match &e {
            StreamEvent::MessageStart(ms) => max_output_seen = max_output_seen.max(ms.message.usage.output_tokens),
            StreamEvent::MessageDelta(d) => max_output_seen = max_output_seen.max(d.usage.get("output_tokens").and_then(Value::as_u64).unwrap_or(0)),
            _ => {}
        }
    }
    let m = s.finish().unwrap().message;
    (m.usage.input_tokens, m.usage.output_tokens, max_output_seen, m)
}

#[test]
fn input_within_body_bytes_and_output_within_max_tokens() {
    let sim = start();
    let mut rng = Rng(0x5EED);
    let mut cut = 0;
    for i in 0..150 {
        let b = random_request(&mut rng);
        let bytes = b.to_string();
        let r = request(sim.addr(), "POST", "/v1/messages", &api_headers(), bytes.as_bytes());
        assert_eq!(r.status, 200, "case {i}: {} for {bytes}", r.text());
        let streamed = b["stream"] == json!(true);
        let (input, output, max_seen, m) = reported(&r.body, streamed);
        let max_tokens = b["max_tokens"].as_u64().unwrap();
        assert!(input >= 1 && input <= bytes.len() as u64, "case {i}: input {input} > body {}", bytes.len());
        assert!(output <= max_tokens && max_seen <= max_tokens, "case {i}: output {output}/{max_seen} > max_tokens {max_tokens}");
        if m.stop_reason == Some(StopReason::MaxTokens) {
            cut += 1;
        }
    }
    assert!(cut > 10, "the property run should exercise max_tokens cuts ({cut})");
    let log = usage(sim.addr());
    assert_eq!(log.len(), 150);
    for e in log {
        assert!(e["usage"]["input_tokens"].as_u64() <= e["body_bytes"].as_u64());
        assert!(e["usage"]["output_tokens"].as_u64() <= e["max_tokens"].as_u64());
    }
}

#[test]
fn a_tool_call_cut_by_max_tokens_is_streamed_cut() {
    let long_query = "products under fifty dollars in the home and garden department ".repeat(4);
    let sim = start_with(json!({"steps": [{"tool_use": {"name": "search_database", "input": {"query": long_query}}, "repeat": 100}]}));
    let full_json = serde_json::to_string(&json!({"query": long_query})).unwrap();
    let mut rng = Rng(99);
    for _ in 0..30 {
        let max_tokens = 5 + rng.below(55);
        let mut b = streaming(body("Find products"));
        b["max_tokens"] = json!(max_tokens);
        b["tools"] = json!([search_tool()]);
        let r = messages(sim.addr(), &b);
        let (_, output, _, m) = reported(&r.body, true);
        assert!(output <= max_tokens);
        assert_eq!(m.stop_reason, Some(StopReason::MaxTokens));
        let mut s = MessageStream::new();
        s.feed(&r.body);
        s.end_of_input();
        let mut json_text = String::new();
        while let Some(e) = s.next_event().unwrap() {
            if let StreamEvent::ContentBlockDelta(d) = e {
                if let Delta::InputJson(j) = d.delta {
                    json_text.push_str(&j.partial_json);
                }
            }
        }
        assert!(json_text.len() < full_json.len() && full_json.starts_with(&json_text), "{json_text}");
        // The core must not run a tool on such an input.
        assert!(!s.finish().unwrap().tool_input_issues.is_empty());
        // The JSON endpoint keeps what can be recovered of the input.
        let mut plain = b.clone();
        plain["stream"] = json!(false);
        let pm: Message = serde_json::from_value(messages(sim.addr(), &plain).json()).unwrap();
        assert_eq!(pm.stop_reason, Some(StopReason::MaxTokens));
        assert!(pm.usage.output_tokens <= max_tokens);
        assert!(pm.tool_uses().all(|call| call.input.is_object()));
    }
}
