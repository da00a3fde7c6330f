//! Runs the `meter` vectors: a `Meter` (the books of one call made through an
//! official SDK's middleware) driven through scripted attempts against a pool.
mod common;

use creditpool_core::call::ReadBody;
use creditpool_core::http::Headers;
use creditpool_core::meter::{Meter, MeterAction, MeterConfig, ThreadBook, TransportFailure};
use creditpool_core::pool::{Pool, PoolConfig};
use creditpool_core::pricing::PriceTable;
use serde_json::{json, Value};
use std::sync::Arc;

/// Applies what the meter asks of the pool; returns the first other action.
fn drain(m: &mut Meter, pool: &mut Pool, ops: &mut Vec<Value>, now: u64) -> MeterAction {
    loop {
        match m.next_action(now) {
            MeterAction::Pool(op) => {
                ops.push(serde_json::to_value(&op).ok().and_then(|v| v.get("op").cloned()).unwrap_or(Value::Null));
                let r = pool.apply(&op);
                m.handle_pool(r, now);
            }
            other => return other,
        }
    }
}

fn action(a: &MeterAction) -> Value {
    match a {
        MeterAction::Send => json!("send"),
        MeterAction::Idle => json!("idle"),
        MeterAction::Done => json!("done"),
        MeterAction::Refused(r) => json!({"refused": r.code()}),
        MeterAction::Error { code, .. } => json!({"error": code}),
        MeterAction::Invalid(e) => json!({"error": e.code()}),
        MeterAction::Wait { until_ms } => json!({"wait_until": until_ms}),
        MeterAction::Pool(_) => json!("pool"),
    }
}

fn headers(v: &Value) -> Headers {
    v.as_object().into_iter().flatten().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect()
}

fn run(input: &Value) -> Result<Value, String> {
    let start = input["start_ms"].as_u64().ok_or("start_ms")?;
    let pool_config: PoolConfig = serde_json::from_value(input["pool"].clone()).map_err(|e| format!("pool: {e}"))?;
    let mut pool = Pool::new(pool_config, start).map_err(|e| e.to_string())?;
    let config: MeterConfig = serde_json::from_value(input["config"].clone()).map_err(|e| format!("config: {e}"))?;
    // `"threads": "pool"`: the book is the pool's (thread ops through the
    // store); else an in-process book.
    let book = if input["threads"] == "pool" { None } else { Some(ThreadBook::new()) };
    let mut now = start;
    let mut ops = Vec::new();
    let mut out = match input.get("calls") {
        // Several calls through one middleware: one book, one pool.
        Some(calls) => {
            let mut results = Vec::new();
            for call in calls.as_array().ok_or("calls")? {
                now += call["advance_ms"].as_u64().unwrap_or(0);
                let r = run_call(call, &config, &book, &mut pool, &mut ops, &mut now)?;
                results.push(match r.get("error") {
                    Some(_) => r,
                    None => json!({"amount": r["amount"], "actions": r["actions"]}),
                });
            }
            json!({"calls": results})
        }
        None => run_call(input, &config, &book, &mut pool, &mut ops, &mut now)?,
    };
    let mut ledger = Vec::new();
    while let Some(e) = pool.poll_ledger() {
        ledger.push(json!({"kind": e.kind, "cost": e.cost, "estimated": e.estimated}));
    }
    if out.get("error").is_none() {
        out["pool_ops"] = json!(ops);
        out["ledger"] = json!(ledger);
        out["pool"] = json!({"settled": pool.state().settled(), "reserved": pool.state().reserved()});
    }
    Ok(out)
}

/// One call: its meter built (with the book) and driven through its attempts.
fn run_call(input: &Value, config: &MeterConfig, book: &Option<ThreadBook>, pool: &mut Pool, ops: &mut Vec<Value>, clock: &mut u64) -> Result<Value, String> {
    let body = serde_json::to_vec(&input["body"]).map_err(|e| e.to_string())?;
    let made = match book {
        Some(book) => Meter::with_threads(config, Arc::new(PriceTable::builtin()), &body, book, *clock),
        None => Meter::with_store_threads(config, Arc::new(PriceTable::builtin()), &body),
    };
    let mut m = match made {
        Ok(m) => m,
        Err(e) => return Ok(json!({"error": e.code()})),
    };
    let sent: Value = serde_json::from_slice(m.body()).map_err(|e| e.to_string())?;
    let mut now = *clock;
    let mut actions = Vec::new();
    for a in input["attempts"].as_array().ok_or("attempts")? {
        now += 1;
        let retries = a["retries_taken"].as_u64().unwrap_or(0) as u32;
        m.begin_attempt(retries, a["max_retries"].as_u64().map(|v| v as u32), now);
        let mut act = drain(&mut m, pool, ops, now);
        while let MeterAction::Wait { until_ms } = act {
            actions.push(action(&act));
            now = until_ms;
            act = drain(&mut m, pool, ops, now);
        }
        actions.push(action(&act));
        if act != MeterAction::Send {
            break;
        }
        now += 1;
        if let Some(t) = a.get("transport") {
            let f: TransportFailure = serde_json::from_value(json!({"type": t})).map_err(|e| e.to_string())?;
            m.handle_transport_error(f, now);
        } else if a["abandon"] == true {
            m.abandon(now);
        } else {
            let status = a["status"].as_u64().ok_or("status")? as u16;
            match m.handle_head(status, &headers(&a["headers"]), now) {
                ReadBody::Whole => m.handle_body(a["body"].as_str().unwrap_or_default().as_bytes(), now),
                ReadBody::Chunks => {
                    for c in a["chunks"].as_array().into_iter().flatten() {
                        now += 1;
                        m.handle_chunk(c.as_str().unwrap_or_default().as_bytes(), now);
                        let _ = drain(&mut m, pool, ops, now);
                    }
                    now += 1;
                    if a["end"] == false {
                        m.abandon(now);
                    } else {
                        m.handle_end(now);
                    }
                }
            }
        }
        let act = drain(&mut m, pool, ops, now);
        actions.push(action(&act));
    }
    if a_abandon_at_end(input) {
        now += 1;
        m.abandon(now);
        let act = drain(&mut m, pool, ops, now);
        actions.push(action(&act));
    }
    *clock = now;
    Ok(json!({"body": sent, "amount": m.amount(), "actions": actions}))
}

fn a_abandon_at_end(input: &Value) -> bool {
    input["abandon_at_end"] == true
}

fn check(actual: &Value, expected: &Value) -> Result<(), String> {
    for (key, want) in expected.as_object().ok_or("expected is not an object")? {
        let diff = if key == "pool" { common::json_subset_diff(key, &actual[key], want) } else { common::json_diff(key, &actual[key], want) };
        if let Some(d) = diff {
            return Err(format!("{d}\nactual: {actual}"));
        }
    }
    Ok(())
}

#[test]
fn meter_vectors() {
    common::run_kind("meter", |case| check(&run(&case.input)?, &case.expected));
}
