//! The usage log records what every response billed: the whole usage when it
//! completed, and the tokens generated before the end when it was cut, failed
//! mid-stream, stalled or was abandoned by its client.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const TEXT: &str = "One two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty.";

/// The byte offsets at which each event of an SSE body ends, and whether each is a delta.
fn event_ends(body: &[u8]) -> Vec<(usize, bool)> {
    let text = std::str::from_utf8(body).unwrap();
    let mut out = Vec::new();
    let mut at = 0;
    for event in text.split_inclusive("\n\n") {
        at += event.len();
        out.push((at, event.starts_with("event: content_block_delta")));
    }
    out
}

fn billed(e: &Value) -> (u64, u64) {
    (e["billed"]["input_tokens"].as_u64().unwrap(), e["billed"]["output_tokens"].as_u64().unwrap())
}

fn full(e: &Value) -> (u64, u64) {
    (e["usage"]["input_tokens"].as_u64().unwrap(), e["usage"]["output_tokens"].as_u64().unwrap())
}

/// Output tokens billed after `k` of `d` deltas, as the simulator documents it.
fn share(total: u64, k: u64, d: u64) -> u64 {
    (total * k).div_ceil(d).max(1)
}

#[test]
fn complete_responses_bill_their_usage() {
    let sim = start_with(json!({"steps": [{"text": TEXT}, {"text": TEXT, "event_delay_ms": 1}, {"text": TEXT}]}));
    assert_eq!(messages(sim.addr(), &streaming(body("a"))).status, 200);
    assert!(messages(sim.addr(), &streaming(body("a"))).complete);
    assert!(messages(sim.addr(), &body("a")).complete);
    let log = usage(sim.addr());
    assert_eq!(log.len(), 3);
    for e in &log {
        assert_eq!(e["outcome"], "complete", "{e}");
        assert_eq!(e["billed"], e["usage"], "{e}");
        assert!(full(e).1 > 5, "{e}");
    }
}

#[test]
fn a_cut_stream_bills_the_deltas_generated_before_the_cut() {
    // The same reply three times: once whole (to learn where its events end),
    // then cut right after the third delta, then cut inside the fifth.
    let sim = start_with(json!({"steps": [{"text": TEXT}]}));
    let whole = messages(sim.addr(), &streaming(body("a")));
    let ends = event_ends(&whole.body);
    let deltas: Vec<usize> = ends.iter().filter(|(_, d)| *d).map(|(at, _)| *at).collect();
    let d = deltas.len() as u64;
    assert!(d >= 6, "{d} deltas");
    let scenario = json!({"steps": [{"text": TEXT, "cut_after_bytes": deltas[2]}, {"text": TEXT, "cut_after_bytes": deltas[4] - 3}, {"text": TEXT, "cut_after_bytes": 10}]});
    let r = request(sim.addr(), "POST", "/_sim/scenario", &[], scenario.to_string().as_bytes());
    assert_eq!(r.status, 200);
    for want in [deltas[2], deltas[4] - 3, 10] {
        let r = messages(sim.addr(), &streaming(body("a")));
        assert!(!r.complete);
        assert_eq!(r.body.len(), want);
    }
    let log = usage(sim.addr());
    assert_eq!(log.len(), 4);
    let total = full(&log[0]);
    assert_eq!(billed(&log[0]), total);
    assert_eq!(log[1]["outcome"], "cut");
    assert_eq!(billed(&log[1]), (total.0, share(total.1, 3, d)));
    // A delta cut inside was generated: it is billed.
    assert_eq!(billed(&log[2]), (total.0, share(total.1, 5, d)));
    // Cut inside `message_start`: its input and its one output token.
    assert_eq!(billed(&log[3]), (total.0, 1));
    for e in &log[1..] {
        assert_eq!(full(e), total, "`usage` stays the whole message's: {e}");
        assert!(billed(e).1 < total.1, "{e}");
    }
}

#[test]
fn a_cut_json_body_bills_all_of_it() {
    let sim = start_with(json!({"steps": [{"text": TEXT, "cut_after_bytes": 30}]}));
    let r = messages(sim.addr(), &body("a"));
    assert!(!r.complete);
    let log = usage(sim.addr());
    assert_eq!(log[0]["outcome"], "cut");
    assert_eq!(log[0]["billed"], log[0]["usage"]);
}

#[test]
fn a_mid_stream_error_bills_the_deltas_before_it() {
    let sim = start_with(json!({"steps": [{"text": TEXT}, {"text": TEXT, "stream_error": {"after_deltas": 2}}, {"text": TEXT, "event_delay_ms": 1, "stream_error": {"after_deltas": 4}}]}));
    let whole = messages(sim.addr(), &streaming(body("a")));
    let d = event_ends(&whole.body).iter().filter(|(_, d)| *d).count() as u64;
    for _ in 0..2 {
        let r = messages(sim.addr(), &streaming(body("a")));
        assert!(r.text().contains("event: error"));
    }
    let log = usage(sim.addr());
    let total = full(&log[0]);
    assert_eq!((log[1]["outcome"].as_str(), billed(&log[1])), (Some("stream_error"), (total.0, share(total.1, 2, d))));
    assert_eq!((log[2]["outcome"].as_str(), billed(&log[2])), (Some("stream_error"), (total.0, share(total.1, 4, d))));
}

/// Reads a streamed response until `deltas` deltas arrived, then closes the connection.
fn read_then_abandon(addr: std::net::SocketAddr, deltas: usize) {
    drop(read_until(addr, deltas));
}

/// Sends a streamed request and reads until `deltas` deltas arrived; the
/// connection stays open until the returned stream is dropped.
fn read_until(addr: std::net::SocketAddr, deltas: usize) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = streaming(body("a")).to_string();
    let mut head = format!("POST /v1/messages HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in api_headers() {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    s.write_all(format!("{head}\r\n{body}").as_bytes()).unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while String::from_utf8_lossy(&seen).matches("event: content_block_delta").count() < deltas {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the stream ended early");
        seen.extend_from_slice(&buf[..n]);
    }
    s
}

/// A response still being sent when a test resets the simulator logs its
/// usage to the file only: the in-memory log the next test reads starts
/// empty. (Before, an abandoned stream of one Python test was logged, when it
/// ended, into the next test's log, under a request ID that test also had.)
#[test]
fn a_response_that_ends_after_a_reset_is_not_in_the_new_log() {
    let path = std::env::temp_dir().join(format!("creditpool-sim-reset-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let scenario = creditpool_sim::Scenario::from_json(&json!({"steps": [{"text": TEXT, "event_delay_ms": 40}]}).to_string(), "test").unwrap();
    let sim = creditpool_sim::start(creditpool_sim::Config { scenario: Some(scenario), usage_log: Some(path.clone()), ..creditpool_sim::Config::default() }).unwrap();
    let open = read_until(sim.addr(), 1);
    let reset = request(sim.addr(), "POST", "/_sim/reset", &[], b"");
    assert_eq!(reset.status, 200);
    drop(open);
    assert_eq!(usage(sim.addr()), Vec::<Value>::new());
    // The file keeps what the abandoned response billed.
    let lines = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let entries: Vec<Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(entries.len(), 1, "{lines}");
    assert_eq!(entries[0]["outcome"], "abandoned");
}

#[test]
fn an_abandoned_stream_bills_what_was_generated_until_the_client_left() {
    let sim = start_with(json!({"steps": [{"text": TEXT}, {"text": TEXT, "event_delay_ms": 40}]}));
    let whole = messages(sim.addr(), &streaming(body("a")));
    let d = event_ends(&whole.body).iter().filter(|(_, d)| *d).count() as u64;
    read_then_abandon(sim.addr(), 2);
    let r = request(sim.addr(), "GET", "/_sim/usage", &[], b"");
    assert_eq!(r.header("x-creditpool-sim-open"), Some("0"), "the log waits for open responses");
    let log = r.json().as_array().unwrap().clone();
    assert_eq!(log.len(), 2);
    let total = full(&log[0]);
    let e = &log[1];
    assert_eq!(e["outcome"], "abandoned", "{e}");
    let (input, output) = billed(e);
    assert_eq!(input, total.0);
    // The client saw two deltas; the simulator noticed at most a couple of events later.
    assert!(output >= share(total.1, 2, d) && output < total.1, "{output} of {}", total.1);
}

#[test]
fn injected_stalls_and_stream_errors() {
    let sim = start_with(json!({"fault_rate": 1.0, "seed": 5, "fault_kinds": ["stall"], "fault_stall_ms": 150, "steps": []}));
    let r = messages(sim.addr(), &streaming(body("a")));
    assert!(r.complete && r.text().contains("message_stop"));
    let r = messages(sim.addr(), &body("a"));
    assert_eq!(r.status, 200);
    let log = usage(sim.addr());
    assert!(log.iter().all(|e| e["outcome"] == "complete" && e["billed"] == e["usage"]), "{log:?}");
    // A stalled stream whose client gives up is abandoned, billed for what came before.
    read_then_abandon(sim.addr(), 1);
    let log = usage(sim.addr());
    assert_eq!(log[2]["outcome"], "abandoned");
    assert!(billed(&log[2]).1 < full(&log[2]).1);

    let scenario = json!({"fault_rate": 1.0, "fault_kinds": ["stream_error"], "steps": []});
    request(sim.addr(), "POST", "/_sim/scenario", &[], scenario.to_string().as_bytes());
    let r = messages(sim.addr(), &streaming(body("a")));
    assert!(r.text().contains("event: error") && r.text().contains("overloaded_error"));
    let r = messages(sim.addr(), &body("a"));
    assert_eq!((r.status, r.error_type().as_str()), (529, "overloaded_error"));
    let log = usage(sim.addr());
    assert_eq!(log.len(), 4, "an HTTP error bills nothing: {log:?}");
    assert_eq!(log[3]["outcome"], "stream_error");
    assert!(billed(&log[3]).1 < full(&log[3]).1);

    let bad = json!({"fault_kinds": [], "steps": []});
    assert_eq!(request(sim.addr(), "POST", "/_sim/scenario", &[], bad.to_string().as_bytes()).status, 400);
    let bad = json!({"fault_kinds": ["meteor"], "steps": []});
    assert_eq!(request(sim.addr(), "POST", "/_sim/scenario", &[], bad.to_string().as_bytes()).status, 400);
}
