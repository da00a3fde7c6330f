//! Runs the `sse_accumulate` vectors: each transcript whole, then split at
//! pseudo-random byte boundaries, must give the same events and final message.
mod common;

use creditpool_core::sse::{MessageStream, StreamError};
use serde_json::{json, Value};

/// What a transcript yields: the raw event types and the final message, or the
/// failure kind.
fn run(chunks: &[&[u8]]) -> (Vec<String>, Result<Value, (String, Option<Value>)>) {
    let mut stream = MessageStream::new();
    let mut types = Vec::new();
    let mut failure = None;
    'outer: for chunk in chunks {
        stream.feed(chunk);
        loop {
            match stream.next_event() {
                Ok(Some(ev)) => types.push(ev.type_tag().to_owned()),
                Ok(None) => break,
                Err(e) => {
                    failure = Some(e);
                    break 'outer;
                }
            }
        }
    }
    if failure.is_none() {
        stream.end_of_input();
        loop {
            match stream.next_event() {
                Ok(Some(ev)) => types.push(ev.type_tag().to_owned()),
                Ok(None) => break,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
    }
    let result = match failure {
        Some(e) => Err(e),
        None => stream.finish().map(|f| serde_json::to_value(&f.message).unwrap()),
    };
    let result = result.map_err(|e| {
        let partial = e.partial().map(|m| serde_json::to_value(m).unwrap());
        let kind = match e {
            StreamError::Api { .. } => "api",
            StreamError::Incomplete { .. } => "incomplete",
            StreamError::Malformed { .. } => "malformed",
            StreamError::Protocol { .. } => "protocol",
            StreamError::Decode(_) => "decode",
            _ => "other",
        };
        (kind.to_owned(), partial)
    });
    (types, result)
}

/// Removes from `actual` the paths the vector file says the SDK drops (our
/// accumulator keeps them, as the non-streaming endpoint would send them).
fn drop_paths(actual: &mut Value, paths: &[String]) {
    for p in paths {
        let mut parts: Vec<&str> = p.split('.').collect();
        let Some(last) = parts.pop() else { continue };
        let mut cur = &mut *actual;
        let mut ok = true;
        for part in parts {
            match cur.get_mut(part) {
                Some(next) => cur = next,
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            if let Some(m) = cur.as_object_mut() {
                m.remove(last);
            }
        }
    }
}

fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |cur, part| cur.get(part)).filter(|v| !v.is_null())
}

fn splits(len: usize, seed: u64, n: usize) -> Vec<usize> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut cuts: Vec<usize> = (0..n)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((x >> 33) as usize) % len.max(1)
        })
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

#[test]
fn sse_accumulate_vectors() {
    common::run_kind("sse_accumulate", |case| {
        // Paths where our message may hold a field the SDK's lacks: fields of
        // message_delta that the SDK does not copy (see the file's `sdk_drops`).
        let sdk_drops: Vec<String> = serde_json::from_value(case.meta["sdk_drops"].clone()).unwrap_or_default();
        let sse = case.input["sse"].as_str().ok_or("input.sse is not a string")?.as_bytes();
        let (types, result) = run(&[sse]);
        let expected = &case.expected;
        let check = |types: &[String], result: &Result<Value, (String, Option<Value>)>| -> Result<(), String> {
            if let Some(et) = expected.get("event_types") {
                let et: Vec<String> = serde_json::from_value(et.clone()).map_err(|e| e.to_string())?;
                // The SDK drops a final event that lacks its closing blank line;
                // we dispatch it when it is a complete event. Allow exactly that.
                let mut ours = types.to_vec();
                if ours.len() == et.len() + 1 && ours.last().map(String::as_str) == Some("message_stop") {
                    ours.pop();
                }
                if ours != et {
                    return Err(format!("event types {ours:?} != expected {et:?}"));
                }
            }
            match (result, expected.get("message"), expected.get("error")) {
                (Ok(msg), Some(want), _) => {
                    let mut msg = msg.clone();
                    let absent: Vec<String> = sdk_drops.iter().filter(|p| lookup(want, p).is_none()).cloned().collect();
                    drop_paths(&mut msg, &absent);
                    common::json_diff("message", &msg, want).map_or(Ok(()), Err)
                }
                (Err((kind, _)), _, Some(err)) => {
                    let want = err.get("kind").and_then(Value::as_str);
                    match want {
                        Some(w) if w != kind => Err(format!("error kind {kind} != expected {w}")),
                        _ => Ok(()),
                    }
                }
                (Ok(_), None, Some(err)) => Err(format!("expected error {err}, got a message")),
                (Err((kind, _)), Some(_), _) => Err(format!("expected a message, got error {kind}")),
                _ => Err("vector has neither message nor error".into()),
            }
        };
        check(&types, &result)?;
        for seed in 0..24u64 {
            let cuts = splits(sse.len(), seed, 1 + (seed as usize % 12));
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut start = 0;
            for c in cuts {
                chunks.push(&sse[start..c]);
                start = c;
            }
            chunks.push(&sse[start..]);
            let (t2, r2) = run(&chunks);
            if t2 != types || r2 != result {
                return Err(format!("split at seed {seed} differs: {:?}", json!({"types": t2})));
            }
        }
        Ok(())
    });
}
