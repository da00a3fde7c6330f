#![allow(missing_docs)] // criterion_group! generates undocumented items
//! SSE accumulation and message parsing on a large stream, each beside a bare
//! `serde_json` parse of the same payloads.
//!
//! The stream: a message with a long text block (4,000 `text_delta`s), then
//! eight `tool_use` blocks whose inputs (about 64 KiB of JSON each) arrive as
//! 80-byte `input_json_delta`s, with pings in between: about 11,000 events and
//! 2.5 MB. Run with `cargo bench -p creditpool-core --bench sse`.

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use creditpool_core::api::Message;
use creditpool_core::sse::MessageStream;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::hint::black_box;

fn event(out: &mut String, name: &str, data: &Value) {
    let _ = write!(out, "event: {name}\ndata: {data}\n\n");
}

/// The stream's bytes and the `data` payload of each event.
fn long_tool_stream() -> (String, Vec<String>) {
    let mut s = String::new();
    event(
        &mut s,
        "message_start",
        &json!({"type": "message_start", "message": {"id": "msg_bench", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-5", "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 2048, "output_tokens": 1}}}),
    );
    event(&mut s, "content_block_start", &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}));
    for i in 0..4000 {
        event(
            &mut s,
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": format!("word{i} and some more text, ")}}),
        );
        if i % 500 == 0 {
            event(&mut s, "ping", &json!({"type": "ping"}));
        }
    }
    event(&mut s, "content_block_stop", &json!({"type": "content_block_stop", "index": 0}));
    for b in 1..=8 {
        let rows: Vec<Value> = (0..700)
            .map(|r| json!({"sku": format!("SKU-{b}-{r:05}"), "name": "Widget \"deluxe\" \u{e9}dition", "price_cents": r * 37, "tags": ["a", "b\nc"]}))
            .collect();
        let input = serde_json::to_string(&json!({"table": "inventory", "rows": rows})).unwrap();
        event(
            &mut s,
            "content_block_start",
            &json!({"type": "content_block_start", "index": b, "content_block": {"type": "tool_use", "id": format!("toolu_{b}"), "name": "upsert_rows", "input": {}}}),
        );
        let bytes = input.as_bytes();
        let mut start = 0;
        while start < bytes.len() {
            let mut end = (start + 80).min(bytes.len());
            while !input.is_char_boundary(end) {
                end += 1;
            }
            event(
                &mut s,
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": b, "delta": {"type": "input_json_delta", "partial_json": &input[start..end]}}),
            );
            start = end;
        }
        event(&mut s, "content_block_stop", &json!({"type": "content_block_stop", "index": b}));
    }
    event(&mut s, "message_delta", &json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 150000}}));
    event(&mut s, "message_stop", &json!({"type": "message_stop"}));
    let payloads = s.split("\n\n").filter_map(|e| e.split_once("data: ").map(|(_, d)| d.to_owned())).collect();
    (s, payloads)
}

fn accumulate(bytes: &[u8]) -> Message {
    let mut stream = MessageStream::new();
    for chunk in bytes.chunks(16 * 1024) {
        stream.feed(chunk);
        while let Some(ev) = stream.next_event().unwrap() {
            black_box(&ev);
        }
    }
    stream.end_of_input();
    stream.finish().unwrap().message
}

fn bench(c: &mut Criterion) {
    let (stream, payloads) = long_tool_stream();
    let bytes = stream.as_bytes();
    let mut g = c.benchmark_group("sse_accumulate");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.sample_size(20);
    g.bench_function(BenchmarkId::new("creditpool_message_stream", bytes.len()), |b| b.iter(|| black_box(accumulate(black_box(bytes)))));
    g.bench_function(BenchmarkId::new("bare_serde_json_value_per_event", bytes.len()), |b| {
        b.iter(|| {
            for p in &payloads {
                black_box(serde_json::from_str::<Value>(black_box(p)).unwrap());
            }
        })
    });
    g.finish();

    let message = serde_json::to_vec(&accumulate(bytes)).unwrap();
    let mut g = c.benchmark_group("message_parse");
    g.throughput(Throughput::Bytes(message.len() as u64));
    g.sample_size(20);
    g.bench_function(BenchmarkId::new("creditpool_message", message.len()), |b| {
        b.iter(|| black_box(serde_json::from_slice::<Message>(black_box(&message)).unwrap()))
    });
    g.bench_function(BenchmarkId::new("bare_serde_json_value", message.len()), |b| {
        b.iter(|| black_box(serde_json::from_slice::<Value>(black_box(&message)).unwrap()))
    });
    g.finish();
}

/// `SSE_BENCH_ONLY=<case>:<n>` runs one case `n` times and skips criterion,
/// for counting instructions under `valgrind --tool=callgrind` (repeatable on a
/// loaded machine, unlike wall-clock time): run with n = 1 and n = 11 and
/// divide the difference by 10 to leave out building the input. Cases:
/// `stream`, `stream_bare`, `message`, `message_bare`, `inputs`.
fn only(spec: &str) {
    let (case, n) = spec.split_once(':').unwrap_or((spec, "1"));
    let n: usize = n.parse().expect("SSE_BENCH_ONLY=<case>:<n>");
    let (stream, payloads) = long_tool_stream();
    let bytes = stream.as_bytes();
    let message = serde_json::to_vec(&accumulate(bytes)).unwrap();
    let inputs: Vec<String> = accumulate(bytes)
        .content
        .iter()
        .filter_map(|b| match b {
            creditpool_core::api::ContentBlock::ToolUse(t) => Some(t.input.to_string()),
            _ => None,
        })
        .collect();
    for _ in 0..n {
        match case {
            "stream" => drop(black_box(accumulate(black_box(bytes)))),
            "stream_bare" => {
                for p in &payloads {
                    black_box(serde_json::from_str::<Value>(black_box(p)).unwrap());
                }
            }
            "message" => drop(black_box(serde_json::from_slice::<Message>(black_box(&message)).unwrap())),
            "message_bare" => drop(black_box(serde_json::from_slice::<Value>(black_box(&message)).unwrap())),
            // What the stream does beyond the bare per-event parse: reading the
            // eight assembled tool inputs into `Value`s and dropping them.
            "inputs" => {
                for input in &inputs {
                    drop(black_box(serde_json::from_str::<Value>(black_box(input)).unwrap()));
                }
            }
            other => panic!("unknown case {other}"),
        }
    }
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(spec) = std::env::var("SSE_BENCH_ONLY") {
        only(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
