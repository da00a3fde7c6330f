//! `RawMeter`: `creditpool_core::meter::Meter`, the books of one call made
//! through the official SDK's middleware, for the JS package's
//! `creditpoolMiddleware` (`js/src/middleware.js`). Every rule (which
//! requests are metered, the selector, the worst case, one hold per call
//! across the SDK's retries, settle or release by how an attempt ended) is
//! the core's; the middleware only reports what happened and applies the pool
//! operations asked for.

use std::sync::Arc;

use creditpool_core::meter::{self, Meter, MeterAction, MeterConfig, MeterError, ThreadBook, TransportFailure};
use creditpool_core::pool::OpResult;
use wasm_bindgen::prelude::*;

use crate::call::read_body_js;
use crate::convert::{bytes_from_js, from_js, headers_from_js, money, object, to_js, u64_from_js, u64_js};
use crate::errors;
use crate::pool::refusal_error;
use crate::pricing::PriceTable;

/// Whether the SDK's request is metered: `POST` to a path ending in
/// `/v1/messages` (`count_tokens` and every other endpoint pass through).
#[wasm_bindgen(js_name = meterApplies)]
pub fn meter_applies(method: &str, url: &str) -> bool {
    meter::is_metered(method, url)
}

/// The lowest `@anthropic-ai/sdk` version the middleware works with.
#[wasm_bindgen(js_name = minTsSdk)]
pub fn min_ts_sdk() -> String {
    meter::MIN_TS_SDK.to_owned()
}

fn meter_error(e: &MeterError) -> JsValue {
    match e {
        MeterError::Request(r) => errors::request_error(r),
        MeterError::Pricing(p) => errors::pricing_error(p),
        MeterError::UnknownThread { previous_message_id, expired } => errors::make(
            e.code(),
            e.code(),
            &e.to_string(),
            object(&[("previousMessageId", JsValue::from_str(previous_message_id)), ("expired", JsValue::from_bool(*expired))]),
        ),
        other => errors::make(other.code(), other.code(), &other.to_string(), JsValue::UNDEFINED),
    }
}

/// The message threads one middleware has seen (the core's `ThreadBook`),
/// handed to each `RawMeter` of the middleware.
#[wasm_bindgen]
pub struct RawThreadBook(ThreadBook);

#[wasm_bindgen]
impl RawThreadBook {
    /// An empty book of at most `capacity` threads (default: the core's
    /// `DEFAULT_MAX_THREADS`).
    #[wasm_bindgen(constructor)]
    pub fn new(capacity: Option<u32>) -> RawThreadBook {
        RawThreadBook(capacity.map_or_else(ThreadBook::new, |c| ThreadBook::with_capacity(c as usize)))
    }

    /// How many entries the book holds.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> u32 {
        u32::try_from(self.0.len()).unwrap_or(u32::MAX)
    }
}

/// The books of one SDK call (all its attempts).
#[wasm_bindgen]
pub struct RawMeter {
    inner: Meter,
}

#[wasm_bindgen]
impl RawMeter {
    /// `config` is the core's `MeterConfig` (`agent`, `lease_ms`, `estimate`,
    /// `pool_selector`, `max_retries`); `body` the JSON body the SDK built
    /// (string or bytes). Throws the core's typed error when the body is not a
    /// Messages request or cannot be priced. `threads` is the middleware's
    /// `RawThreadBook` and `nowMs` its clock: a thread continue request is
    /// bounded from the thread the book knows.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue, body: JsValue, prices: &PriceTable, threads: &RawThreadBook, now_ms: JsValue) -> Result<RawMeter, JsValue> {
        let config: MeterConfig = from_js(config, "middleware configuration", "invalid_argument")?;
        let body = match body.as_string() {
            Some(s) => s.into_bytes(),
            None => bytes_from_js(&body, "body")?,
        };
        let now = if now_ms.is_undefined() || now_ms.is_null() { 0 } else { u64_from_js(&now_ms, "nowMs")? };
        let inner = Meter::with_threads(&config, Arc::new(prices.0.clone()), &body, &threads.0, now).map_err(|e| meter_error(&e))?;
        Ok(RawMeter { inner })
    }

    /// As the constructor, with the book of message threads kept in the pool
    /// store (the core's `Meter::with_store_threads`): a continue's lookup
    /// and each thread response's record are pool operations it asks for.
    #[wasm_bindgen(js_name = withStoreThreads)]
    pub fn with_store_threads(config: JsValue, body: JsValue, prices: &PriceTable) -> Result<RawMeter, JsValue> {
        let config: MeterConfig = from_js(config, "middleware configuration", "invalid_argument")?;
        let body = match body.as_string() {
            Some(s) => s.into_bytes(),
            None => bytes_from_js(&body, "body")?,
        };
        let inner = Meter::with_store_threads(&config, Arc::new(prices.0.clone()), &body).map_err(|e| meter_error(&e))?;
        Ok(RawMeter { inner })
    }

    /// The body to send (the SDK's, with the pool selector), as text.
    #[wasm_bindgen(getter)]
    pub fn body(&self) -> String {
        String::from_utf8_lossy(self.inner.body()).into_owned()
    }

    /// Whether `body` differs from the SDK's.
    #[wasm_bindgen(getter, js_name = bodyChanged)]
    pub fn body_changed(&self) -> bool {
        self.inner.body_changed()
    }

    /// The worst case each hold reserves (`{nanos, usd}`).
    #[wasm_bindgen(getter)]
    pub fn amount(&self) -> JsValue {
        money(self.inner.amount())
    }

    /// The SDK begins attempt `retriesTaken` (0 first), with `maxRetries`
    /// (null: the config's).
    #[wasm_bindgen(js_name = beginAttempt)]
    pub fn begin_attempt(&mut self, retries_taken: u32, max_retries: Option<u32>, now_ms: JsValue) -> Result<(), JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.inner.begin_attempt(retries_taken, max_retries, now);
        Ok(())
    }

    /// What to do next: `{type: "pool", op}`, `{type: "wait", until_ms}`,
    /// `{type: "send"}`, `{type: "idle"}` or `{type: "done"}`. A refusal
    /// throws its `PoolRefusedError` subclass; a failed store its error.
    #[wasm_bindgen(js_name = nextAction)]
    pub fn next_action(&mut self, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        let kind = |k: &str| object(&[("type", JsValue::from_str(k))]);
        Ok(match self.inner.next_action(now) {
            MeterAction::Pool(op) => object(&[("type", JsValue::from_str("pool")), ("op", to_js(&op)?)]),
            MeterAction::Wait { until_ms } => object(&[("type", JsValue::from_str("wait")), ("until_ms", u64_js(until_ms))]),
            MeterAction::Send => kind("send"),
            MeterAction::Idle => kind("idle"),
            MeterAction::Done => kind("done"),
            MeterAction::Refused(r) => return Err(refusal_error(&r)),
            MeterAction::Invalid(e) => return Err(meter_error(&e)),
            MeterAction::Error { code, message } => return Err(errors::make(&code, &code, &message, JsValue::UNDEFINED)),
        })
    }

    /// The pool store's answer (the core's `OpResult` JSON).
    #[wasm_bindgen(js_name = handlePool)]
    pub fn handle_pool(&mut self, result: JsValue, now_ms: JsValue) -> Result<(), JsValue> {
        let result: OpResult = from_js(result, "pool result", "invalid_argument")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.inner.handle_pool(result, now);
        Ok(())
    }

    /// The attempt's head: `"chunks"` (feed copies of the stream's chunks) or
    /// `"whole"` (hand over the whole body).
    #[wasm_bindgen(js_name = handleHead)]
    pub fn handle_head(&mut self, status: u16, headers: JsValue, now_ms: JsValue) -> Result<String, JsValue> {
        let headers = headers_from_js(headers, "headers")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        Ok(read_body_js(self.inner.handle_head(status, &headers, now)))
    }

    /// The attempt's whole body.
    #[wasm_bindgen(js_name = handleBody)]
    pub fn handle_body(&mut self, body: JsValue, now_ms: JsValue) -> Result<(), JsValue> {
        let body = match body.as_string() {
            Some(s) => s.into_bytes(),
            None => bytes_from_js(&body, "body")?,
        };
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.inner.handle_body(&body, now);
        Ok(())
    }

    /// A copy of a chunk of the stream.
    #[wasm_bindgen(js_name = handleChunk)]
    pub fn handle_chunk(&mut self, bytes: JsValue, now_ms: JsValue) -> Result<(), JsValue> {
        let bytes = bytes_from_js(&bytes, "bytes")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.inner.handle_chunk(&bytes, now);
        Ok(())
    }

    /// The stream ended.
    #[wasm_bindgen(js_name = handleEnd)]
    pub fn handle_end(&mut self, now_ms: JsValue) -> Result<(), JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.inner.handle_end(now);
        Ok(())
    }

    /// The attempt failed in transport: `"not_sent"` or `"lost"`.
    #[wasm_bindgen(js_name = handleTransportError)]
    pub fn handle_transport_error(&mut self, failure: &str, now_ms: JsValue) -> Result<(), JsValue> {
        let failure: TransportFailure = serde_json::from_value(serde_json::json!({"type": failure}))
            .map_err(|e| errors::simple("invalid_argument", &format!("transport failure: {e}")))?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.inner.handle_transport_error(failure, now);
        Ok(())
    }

    /// The caller gave up (cancelled or dropped the stream, aborted).
    pub fn abandon(&mut self, now_ms: JsValue) -> Result<(), JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.inner.abandon(now);
        Ok(())
    }

    /// Whether an attempt's body is being read.
    #[wasm_bindgen(js_name = isReading)]
    pub fn is_reading(&self) -> bool {
        self.inner.is_reading()
    }

    /// What the meter did: `reservations`, `attempts`, `settled`,
    /// `estimated`, `done`.
    pub fn summary(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.summary())
    }
}
