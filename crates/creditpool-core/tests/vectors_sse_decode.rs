//! Runs the `sse_decode` vectors, each with its own chunking and then re-split
//! at every byte boundary (or, for long streams, at seeded pseudo-random
//! points): the result must not depend on how the bytes were chunked.

mod common;

use creditpool_core::sse::decoder::{SseDecoder, SseError, SseEvent, SseLimits};
use serde_json::{json, Value};

/// Streams up to this long are split at every byte boundary.
const EXHAUSTIVE_MAX: usize = 512;

fn b64_decode(s: &str) -> Result<Vec<u8>, String> {
    fn val(c: u8) -> Result<u32, String> {
        Ok(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(format!("bad base64 byte {c:#x}")),
        } as u32)
    }
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::new();
    for group in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in group.iter().enumerate() {
            n |= val(c)? << (18 - 6 * i);
        }
        let take = match group.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return Err("truncated base64".into()),
        };
        out.extend_from_slice(&n.to_be_bytes()[1..1 + take]);
    }
    Ok(out)
}

fn chunks_of(input: &Value) -> Result<Vec<Vec<u8>>, String> {
    if let Some(list) = input.get("chunks").and_then(Value::as_array) {
        list.iter().map(|c| c.as_str().map(|s| s.as_bytes().to_vec()).ok_or("chunk not a string".to_owned())).collect()
    } else if let Some(list) = input.get("chunks_b64").and_then(Value::as_array) {
        list.iter().map(|c| b64_decode(c.as_str().ok_or("chunk not a string")?)).collect()
    } else {
        Err("input has neither chunks nor chunks_b64".into())
    }
}

fn event_json(ev: &SseEvent) -> Value {
    json!({"event": ev.event, "data": ev.data, "id": ev.id, "retry": ev.retry})
}

/// Feeds the chunks, pulling events after each, then finishes. Returns the
/// vector-shaped outcome.
fn run(limits: SseLimits, chunks: &[&[u8]]) -> Value {
    let mut dec = SseDecoder::new(limits);
    let mut events = Vec::new();
    let error = |events: Vec<Value>, e: SseError| match e {
        SseError::EventTooLarge { .. } => json!({"events": events, "error": "event_too_large"}),
        SseError::Truncated { .. } => json!({"events": events, "finish": "mid_event"}),
        other => json!({"events": events, "error": format!("unexpected {other:?}")}),
    };
    for chunk in chunks {
        dec.feed(chunk);
        loop {
            match dec.next_event() {
                Ok(Some(ev)) => events.push(event_json(&ev)),
                Ok(None) => break,
                Err(e) => return error(events, e),
            }
        }
    }
    loop {
        match dec.finish() {
            Ok(Some(ev)) => events.push(event_json(&ev)),
            Ok(None) => return json!({"events": events, "finish": "clean"}),
            Err(e) => return error(events, e),
        }
    }
}

/// A tiny deterministic generator (Knuth's MMIX LCG) for split points.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn check(actual: &Value, expected: &Value, how: &str) -> Result<(), String> {
    let mut actual = actual.clone();
    if expected.get("events").is_none() {
        if let Some(obj) = actual.as_object_mut() {
            obj.remove("events");
        }
    }
    match common::json_diff("", &actual, expected) {
        None => Ok(()),
        Some(d) => Err(format!("{how}: {d}\n  actual: {actual}")),
    }
}

#[test]
fn sse_decode_vectors() {
    let n = common::run_kind("sse_decode", |case| {
        let chunks = chunks_of(&case.input)?;
        let mut limits = SseLimits::default();
        if let Some(limit) = case.input.get("limit") {
            let limit = limit.as_u64().ok_or("limit is not an unsigned integer")?;
            limits = limits.with_max_event_bytes(usize::try_from(limit).map_err(|e| e.to_string())?);
        }
        let refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
        check(&run(limits, &refs), &case.expected, "as given")?;

        let stream: Vec<u8> = chunks.concat();
        check(&run(limits, &[&stream]), &case.expected, "one chunk")?;
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        check(&run(limits, &bytes), &case.expected, "one byte at a time")?;
        if stream.len() <= EXHAUSTIVE_MAX {
            for k in 0..=stream.len() {
                let (a, b) = stream.split_at(k);
                check(&run(limits, &[a, b]), &case.expected, &format!("split at {k}"))?;
            }
        }
        let mut rng = Lcg(0x5eed ^ stream.len() as u64);
        for round in 0..200 {
            let parts = 2 + rng.below(12);
            let mut cuts: Vec<usize> = (0..parts - 1).map(|_| rng.below(stream.len() + 1)).collect();
            cuts.sort_unstable();
            let mut pieces = Vec::new();
            let mut at = 0;
            for c in cuts.into_iter().chain(std::iter::once(stream.len())) {
                pieces.push(&stream[at..c]);
                at = c;
            }
            check(&run(limits, &pieces), &case.expected, &format!("random split round {round}"))?;
        }
        Ok(())
    });
    assert!(n >= 30, "expected at least 30 sse_decode vectors, found {n}");
}
