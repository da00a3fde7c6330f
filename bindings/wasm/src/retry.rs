//! `RetryPolicy`: `creditpool_core::retry::RetryPolicy`.

use creditpool_core::http::Headers;
use creditpool_core::retry::{self, Failure};
use wasm_bindgen::prelude::*;

use crate::convert::{from_js, headers_from_js, to_js, u64_from_js, u64_js};

/// Whether and when to retry a failed attempt.
#[wasm_bindgen]
pub struct RetryPolicy(pub(crate) retry::RetryPolicy);

#[wasm_bindgen]
impl RetryPolicy {
    /// A policy from the core's JSON (`{max_retries, max_retry_after_ms,
    /// initial_backoff_ms, max_backoff_ms, jitter}`, each optional, unknown
    /// fields refused); the defaults without one.
    #[wasm_bindgen(constructor)]
    pub fn new(policy: JsValue) -> Result<RetryPolicy, JsValue> {
        if policy.is_undefined() || policy.is_null() {
            return Ok(RetryPolicy(retry::RetryPolicy::default()));
        }
        Ok(RetryPolicy(from_js(policy, "retry policy", "configuration_error")?))
    }

    /// The policy as the core's JSON.
    #[wasm_bindgen(js_name = toJSON)]
    pub fn to_json(&self) -> Result<JsValue, JsValue> {
        to_js(&self.0)
    }

    /// What to do after attempt number `attempt` (0-based) failed with
    /// `failure` (the core's `Failure` JSON). `headers` are the response's
    /// (`[[name, value], ...]`), or `null` when there was no response.
    /// `jitterSeed` and `nowMs` are non-negative integers (numbers or
    /// bigints). Returns `{decision: "retry", delay_ms, source, reason}` or
    /// `{decision: "give_up", reason}`.
    pub fn decide(&self, attempt: u32, failure: JsValue, headers: JsValue, jitter_seed: JsValue, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let failure: Failure = from_js(failure, "failure", "invalid_argument")?;
        let headers: Option<Headers> = if headers.is_undefined() || headers.is_null() { None } else { Some(headers_from_js(headers, "headers")?) };
        let seed = u64_from_js(&jitter_seed, "jitterSeed")?;
        let now_ms = u64_from_js(&now_ms, "nowMs")?;
        to_js(&self.0.decide(attempt, &failure, headers.as_ref(), seed, now_ms))
    }

    /// The backoff after attempt number `attempt` (0-based) failed, in ms.
    #[wasm_bindgen(js_name = backoffMs)]
    pub fn backoff_ms(&self, attempt: u32, jitter_seed: JsValue) -> Result<JsValue, JsValue> {
        let seed = u64_from_js(&jitter_seed, "jitterSeed")?;
        Ok(u64_js(self.0.backoff_ms(attempt, seed)))
    }
}
