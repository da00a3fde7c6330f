//! Runs the `retry_decision` vectors: `RetryPolicy::decide`.

mod common;

use creditpool_core::http::Headers;
use creditpool_core::retry::{Failure, RetryPolicy};
use serde_json::Value;

fn field<T: serde::de::DeserializeOwned>(input: &Value, key: &str) -> Result<T, String> {
    serde_json::from_value(input.get(key).cloned().unwrap_or(Value::Null)).map_err(|e| format!("input.{key}: {e}"))
}

#[test]
fn retry_decision_vectors() {
    let n = common::run_kind("retry_decision", |case| {
        let input = &case.input;
        let attempt: u32 = field(input, "attempt")?;
        let failure: Failure = field(input, "failure")?;
        let headers: Option<Headers> = field(input, "headers")?;
        let seed: u64 = field(input, "jitter_seed")?;
        let now_ms: u64 = field(input, "now_ms")?;
        let policy: RetryPolicy = match input.get("policy") {
            Some(p) => serde_json::from_value(p.clone()).map_err(|e| format!("input.policy: {e}"))?,
            None => RetryPolicy::default(),
        };
        let decision = policy.decide(attempt, &failure, headers.as_ref(), seed, now_ms);
        let actual = serde_json::to_value(&decision).map_err(|e| e.to_string())?;
        match common::json_diff("", &actual, &case.expected) {
            Some(d) => Err(d),
            None => Ok(()),
        }
    });
    assert!(n >= 30, "only {n} retry_decision vectors");
}
