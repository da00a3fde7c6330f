//! Every `pool_scenario` vector (tests/vectors/pool/) run against the Redis
//! store, in the given-clock mode (the script takes each operation's
//! `now_ms`), on a real redis-server: the same results, the same alerts (as
//! webhook payloads, signed when the case says so) and the same ledger as
//! the in-memory pool, each stream entry byte for byte the file ledger's line. The expected differences, each with its reason, are
//! listed in `EXPECTED_DIFFERENCES` (and in docs/REDIS.md).

mod redis_common;

use creditpool::core::pool::{webhook, LedgerEntry, PoolConfig, PoolOp};
use creditpool::core::redis::RedisError;
use creditpool::redis::{RedisClock, RedisOptions, RedisPool};
use creditpool::Error;
use redis_common::{unique, RedisServer};
use serde_json::{json, Value};

/// Cases whose configuration a Redis pool refuses on purpose, with why.
const EXPECTED_DIFFERENCES: &[(&str, &str)] = &[(
    "fair_share",
    "a configuration with fair_share is refused at connect (fair_share_unsupported_on_redis): a fair-share check would scan every agent inside the atomic script on each reserve",
)];

fn vectors() -> Vec<(String, Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/pool");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("tests/vectors/pool").filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        if f.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        if v["kind"] != "pool_scenario" {
            continue;
        }
        let file = f.file_name().unwrap().to_string_lossy().into_owned();
        for c in v["cases"].as_array().unwrap() {
            out.push((format!("{file}/{}", c["name"].as_str().unwrap_or("?")), c.clone()));
        }
    }
    out
}

/// Compares as the core's vector runner does (a key whose value is null
/// counts as absent).
fn diff(path: &str, a: &Value, e: &Value) -> Option<String> {
    match (a, e) {
        (Value::Object(a), Value::Object(e)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(e.keys()).collect();
            keys.into_iter().find_map(|k| diff(&format!("{path}.{k}"), a.get(k).unwrap_or(&Value::Null), e.get(k).unwrap_or(&Value::Null)))
        }
        (Value::Array(a), Value::Array(e)) if a.len() == e.len() => a.iter().zip(e).enumerate().find_map(|(i, (x, y))| diff(&format!("{path}[{i}]"), x, y)),
        (a, e) if a == e => None,
        (a, e) => Some(format!("{path}: got {a}, expected {e}")),
    }
}

async fn run(url: &str, case: &Value) -> Result<Value, String> {
    let input = &case["input"];
    let config: PoolConfig = serde_json::from_value(input["config"].clone()).map_err(|e| format!("config: {e}"))?;
    let created = input.get("created_at_ms").and_then(Value::as_u64).unwrap_or(0);
    let secret = input.get("webhook_secret").and_then(Value::as_str);
    let ops: Vec<PoolOp> = serde_json::from_value(input["ops"].clone()).map_err(|e| format!("ops: {e}"))?;
    let options = RedisOptions { clock: RedisClock::Given, created_at_ms: created, ..RedisOptions::default() };
    let pool = match RedisPool::connect_with(&[url], &unique("vec"), Some(config), options).await {
        Ok(p) => p,
        Err(Error::Redis(RedisError::Config(e))) => return Ok(json!({ "error": e })),
        Err(e) => return Err(format!("connect: {e}")),
    };
    let (mut results, mut events, mut ledger) = (Vec::new(), Vec::new(), Vec::new());
    let (mut after_alert, mut after_entry) = ("-".to_owned(), "-".to_owned());
    for (i, op) in ops.iter().enumerate() {
        let r = pool.apply_keyed(op, None).await.map_err(|e| format!("op {i}: {e}"))?;
        results.push(serde_json::to_value(&r).unwrap());
        for (id, alert) in pool.alerts_after(&after_alert, 1000).await.map_err(|e| e.to_string())? {
            after_alert = id;
            let body = alert.webhook_body();
            let payload: Value = serde_json::from_slice(&body).unwrap();
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
        for (id, entry) in pool.ledger(&after_entry, 1000).await.map_err(|e| e.to_string())? {
            after_entry = id;
            ledger.push(serde_json::to_value(&entry).unwrap());
        }
    }
    // The stream holds the file ledger's exact line (less its newline).
    let raw = pool.command(&pool.ops().read_ledger("-", 100_000)).await.map_err(|e| e.to_string())?;
    for e in raw.as_array().map_err(|e| e.to_string())? {
        let fields = e.as_array().map_err(|e| e.to_string())?[1].as_array().map_err(|e| e.to_string())?.to_vec();
        let text = fields.chunks(2).find(|c| c[0].as_text().ok().as_deref() == Some("entry")).map(|c| c[1].as_text().unwrap()).ok_or("no entry field")?;
        let entry: LedgerEntry = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        if entry.to_json_line().trim_end() != text {
            return Err(format!("ledger entry is not the file ledger's line:\n{text}\n{}", entry.to_json_line()));
        }
    }
    let mut out = json!({ "results": results, "events": events });
    if case["expected"].get("ledger").is_some() {
        out["ledger"] = Value::Array(ledger);
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pool_scenario_vector_runs_against_redis() {
    let server = RedisServer::start();
    let url = server.url();
    let cases = vectors();
    assert!(cases.len() >= 25, "only {} pool scenarios", cases.len());
    let (mut ran, mut differences, mut failures) = (0, Vec::new(), Vec::new());
    for (name, case) in &cases {
        if case["input"]["config"].get("fair_share").is_some() {
            // The expected difference: refused at connect, with its typed error.
            let config: PoolConfig = serde_json::from_value(case["input"]["config"].clone()).unwrap();
            let options = RedisOptions { clock: RedisClock::Given, ..RedisOptions::default() };
            match RedisPool::connect_with(&[url.as_str()], &unique("fs"), Some(config), options).await {
                Err(e) => assert_eq!(e.code(), "fair_share_unsupported_on_redis", "{name}"),
                Ok(_) => failures.push(format!("{name}: a fair_share configuration was accepted")),
            }
            differences.push(name.clone());
            continue;
        }
        ran += 1;
        match run(&url, case).await {
            Ok(out) => {
                if let Some(d) = diff("", &out, &case["expected"]) {
                    failures.push(format!("{name}: {d}"));
                }
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{} of {ran} vectors differ on Redis:\n{}", failures.len(), failures.join("\n"));
    // Every difference is one of the listed ones.
    assert!(differences.iter().all(|d| d.contains(EXPECTED_DIFFERENCES[0].0)), "{differences:?}");
    assert!(ran >= 20, "only {ran} vectors ran");
}
