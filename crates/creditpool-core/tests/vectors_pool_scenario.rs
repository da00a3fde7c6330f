//! Runs the `pool_scenario` vectors: a pool configuration and a sequence of
//! operations, with the expected result of each operation, the alerts (as
//! webhook payloads) and, when the case lists it, the ledger.
//!
//! To draft the expectations of a new case, set `CREDITPOOL_POOL_ACTUAL` to a
//! file path: the actual outputs of every case are written there as JSON (then
//! review them by hand before copying them into the vector file).

mod common;

use common::{json_diff, Case};
use creditpool_core::pool::{webhook, Pool, PoolConfig, PoolOp};
use serde_json::{json, Value};
use std::sync::Mutex;

static ACTUALS: Mutex<Vec<(String, Value)>> = Mutex::new(Vec::new());

fn actual(case: &Case) -> Result<Value, String> {
    run(case, false)
}

/// Runs a case; with `roundtrip`, the pool is written to snapshot JSON and read
/// back before every operation.
fn run(case: &Case, roundtrip: bool) -> Result<Value, String> {
    let input = &case.input;
    let config: PoolConfig = serde_json::from_value(input["config"].clone()).map_err(|e| format!("config: {e}"))?;
    let created = input.get("created_at_ms").and_then(Value::as_u64).unwrap_or(0);
    let secret = input.get("webhook_secret").and_then(Value::as_str);
    let ops: Vec<PoolOp> = serde_json::from_value(input["ops"].clone()).map_err(|e| format!("ops: {e}"))?;
    let mut pool = match Pool::new(config, created) {
        Ok(p) => p,
        Err(e) => return Ok(json!({ "error": e })),
    };
    let (mut results, mut events, mut ledger) = (Vec::new(), Vec::new(), Vec::new());
    for (i, op) in ops.iter().enumerate() {
        if roundtrip {
            pool = Pool::restore_json(&pool.snapshot_json()).map_err(|e| format!("restore before op {i}: {e}"))?;
        }
        let r = pool.apply(op);
        results.push(serde_json::to_value(&r).map_err(|e| e.to_string())?);
        while let Some(alert) = pool.poll_event() {
            let body = alert.webhook_body();
            let payload: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
            let mut ev = json!({ "after_op": i, "payload": payload });
            if let Some(s) = secret {
                ev["body"] = Value::String(String::from_utf8_lossy(&body).into_owned());
                // Delivered at `webhook_delivered_at_ms`: the attempt's own time.
                let at = input.get("webhook_delivered_at_ms").and_then(Value::as_u64).unwrap_or(created);
                let d = alert.webhook(s.as_bytes(), at);
                if d.body != body {
                    return Err("the delivery's body is not the alert's".into());
                }
                let t = d.header(webhook::TIMESTAMP_HEADER).unwrap_or_default();
                ev["timestamp"] = t.parse::<u64>().map_or(Value::Null, Value::from);
                ev["signature"] = Value::String(d.header(webhook::SIGNATURE_HEADER).unwrap_or_default().to_owned());
            }
            events.push(ev);
        }
        while let Some(entry) = pool.poll_ledger() {
            ledger.push(serde_json::to_value(&entry).map_err(|e| e.to_string())?);
        }
    }
    let mut out = json!({ "results": results, "events": events });
    if roundtrip || case.expected.get("ledger").is_some() {
        out["ledger"] = Value::Array(ledger);
    }
    Ok(out)
}

fn check(case: &Case) -> Result<(), String> {
    let out = actual(case)?;
    if std::env::var_os("CREDITPOOL_POOL_ACTUAL").is_some() {
        if let Ok(mut a) = ACTUALS.lock() {
            a.push((format!("{}/{}", case.file, case.name), out.clone()));
        }
    }
    match json_diff("", &out, &case.expected) {
        None => Ok(()),
        Some(d) => Err(d),
    }
}

#[test]
fn pool_scenario_vectors() {
    let dump = std::env::var_os("CREDITPOOL_POOL_ACTUAL");
    let result = std::panic::catch_unwind(|| common::run_kind("pool_scenario", check));
    if let Some(path) = dump {
        let all: serde_json::Map<String, Value> = ACTUALS.lock().map(|a| a.iter().cloned().collect()).unwrap_or_default();
        std::fs::write(path, serde_json::to_string_pretty(&all).unwrap()).unwrap();
    }
    let n = result.unwrap_or_else(|e| std::panic::resume_unwind(e));
    assert!(n >= 25, "only {n} pool scenarios");
}

/// A snapshot written and restored before every operation changes nothing.
/// (Cases with thread operations are left out: the book of message threads
/// is a cache of bounds that a snapshot does not hold, see
/// `creditpool_core::pool::threads`.)
#[test]
fn pool_scenarios_survive_a_restore_before_every_op() {
    common::run_kind("pool_scenario", |case| {
        let threads = case.input["ops"].as_array().into_iter().flatten().any(|op| op["op"].as_str().is_some_and(|o| o.starts_with("thread_")));
        if threads {
            return Ok(());
        }
        let plain = run(case, false)?;
        let mut plain_with_ledger = plain.clone();
        if plain_with_ledger.get("ledger").is_none() {
            let mut c = case.clone();
            c.expected = json!({"ledger": []});
            plain_with_ledger = run(&c, false)?;
        }
        let restored = run(case, true)?;
        match json_diff("", &restored, &plain_with_ledger) {
            None => Ok(()),
            Some(d) => Err(d),
        }
    });
}
