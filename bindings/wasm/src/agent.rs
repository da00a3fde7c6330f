//! `RawAgentRun`: `creditpool_core::agent::AgentRun`, one agent's run drawing
//! on a `RawPool`, for the JS package's `Agent`.
//!
//! The run decides everything (what to send, what to reserve and settle,
//! retries, tool-call validity, when the run ends). The JS `Agent` drives it:
//! it asks `nextAction`, runs tools, sleeps, and has this module send the
//! request the run asked for (`send`, then `readChunk` / `readAll` on the
//! response), so that the request, which holds the key, never reaches JS.
//! Transport failures come back as the core's `Failure` JSON for
//! `handleTransportError`, not as exceptions.

use std::rc::Rc;
use std::sync::Arc;

use creditpool_core::agent::{AgentAction, AgentConfig, AgentError, AgentRun, ToolResult};
use creditpool_core::call::{CallOptions, ReadBody};
use creditpool_core::http::HttpRequest;
use creditpool_core::pricing::PriceTable;
use creditpool_core::retry::{Failure, TimeoutPhase};
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;
use web_sys::AbortSignal;

use crate::client::{aborted, Config, RawClient};
use crate::convert::{bytes_from_js, from_js, headers_from_js, money, object, pairs_to_js, to_js, u64_from_js, u64_js};
use crate::errors;
use crate::pool::RawPool;
use crate::request::message_request;
use crate::transport::{self, Attempt, BodyReader, TransportError};

fn agent_error(e: &AgentError) -> JsValue {
    match e {
        AgentError::Tool(t) => errors::tool_definition_error(t),
        AgentError::Capability(c) => errors::capability_error(c),
        AgentError::Pricing(p) => errors::pricing_error(p),
        AgentError::Request(r) => errors::request_error(r),
        other => errors::internal(&other.to_string()),
    }
}

/// A transport failure as `{failure}` (the core's `Failure` JSON), or the
/// abort or invalid-request error to throw.
fn failure_js(e: TransportError) -> Result<JsValue, JsValue> {
    let failure = match e {
        TransportError::Aborted => return Err(aborted()),
        TransportError::Invalid(m) => return Err(errors::configuration("invalid_http_request", &m)),
        TransportError::Timeout(phase) => Failure::Timeout { phase },
        TransportError::Connection(_) => Failure::Connection,
    };
    Ok(object(&[("failure", to_js(&failure)?)]))
}

/// The core's `AgentConfig` from JS. Its `call` options start from the
/// client's (retry policy, idle timeout, body limits) with a fresh jitter
/// seed; the fields the caller gives override them.
fn agent_config(client: &RawClient, config: JsValue) -> Result<AgentConfig, JsValue> {
    let bad = |m: &str| errors::simple("invalid_argument", &format!("agent configuration: {m}"));
    let mut value: serde_json::Value = from_js(config, "agent configuration", "invalid_argument")?;
    let mut call = serde_json::to_value(CallOptions { jitter_seed: transport::jitter_seed(), ..client.cfg.call.clone() }).map_err(|e| bad(&e.to_string()))?;
    let obj = value.as_object_mut().ok_or_else(|| bad("must be an object"))?;
    if let Some(given) = obj.get("call") {
        let given = given.as_object().ok_or_else(|| bad("call must be an object"))?;
        if let Some(base) = call.as_object_mut() {
            for (k, v) in given {
                base.insert(k.clone(), v.clone());
            }
        }
    }
    obj.insert("call".to_owned(), call);
    serde_json::from_value(value).map_err(|e| bad(&e.to_string()))
}

/// One agent's run.
#[wasm_bindgen(js_name = RawAgentRun)]
pub struct RawAgentRun {
    run: AgentRun,
    cfg: Rc<Config>,
    pending: Option<HttpRequest>,
}

#[wasm_bindgen(js_class = RawAgentRun)]
impl RawAgentRun {
    /// A run of `request` (a Messages API body: model, max_tokens, the
    /// prompt in `messages`, the tools' definitions) with the core's
    /// `AgentConfig` JSON (`agent_id`, `max_turns`, `max_spend`, `call`,
    /// `estimate`, `lease_ms`), sent through `client`. Checks the tools, the
    /// model's price and capabilities before anything costs money.
    #[wasm_bindgen(constructor)]
    pub fn new(client: &RawClient, config: JsValue, request: JsValue) -> Result<RawAgentRun, JsValue> {
        let config = agent_config(client, config)?;
        let request = message_request(request)?;
        let run = AgentRun::new(config, request, client.cfg.builder.clone(), Arc::new(PriceTable::builtin())).map_err(|e| agent_error(&e))?;
        Ok(RawAgentRun { run, cfg: client.cfg.clone(), pending: None })
    }

    /// What to do next: `{type: "send"}` (then `send()`), `{type:
    /// "call_tools", calls: [{id, name, input}]}`, `{type: "wait", until_ms,
    /// reason}` or `{type: "done"}`.
    #[wasm_bindgen(js_name = nextAction)]
    pub fn next_action(&mut self, pool: &mut RawPool, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        Ok(match self.run.next_action(&mut pool.0, now) {
            AgentAction::Send(http) => {
                let shown = object(&[("method", JsValue::from_str(http.method.as_str())), ("path", JsValue::from_str(&http.path))]);
                self.pending = Some(http);
                object(&[("type", JsValue::from_str("send")), ("request", shown)])
            }
            AgentAction::CallTools(calls) => object(&[("type", JsValue::from_str("call_tools")), ("calls", to_js(&calls)?)]),
            AgentAction::Wait { until_ms, reason } => {
                object(&[("type", JsValue::from_str("wait")), ("until_ms", u64_js(until_ms)), ("reason", to_js(&reason)?)])
            }
            AgentAction::Done => object(&[("type", JsValue::from_str("done"))]),
            #[allow(unreachable_patterns)]
            _ => return Err(errors::internal("unknown agent action")),
        })
    }

    /// Sends the request the last `send` action asked for, through `fetch`.
    /// Resolves to `{response}` (a `RawResponse`) or `{failure}` (for
    /// `handleTransportError`); rejects with an AbortError when `signal`
    /// aborts.
    pub fn send(&mut self, signal: Option<AbortSignal>) -> Result<Promise, JsValue> {
        let http = self.pending.take().ok_or_else(|| errors::simple("invalid_argument", "send() without a send action"))?;
        let cfg = self.cfg.clone();
        Ok(future_to_promise(async move {
            let attempt = Attempt::start(signal, cfg.timeout_ms);
            match transport::send(&cfg.base_url, &http, &attempt).await {
                Ok(response) => {
                    let status = response.status();
                    let headers = transport::response_headers(&response);
                    let reader = match BodyReader::new(&response) {
                        Ok(r) => r,
                        Err(e) => return failure_js(e),
                    };
                    let raw = RawResponse { status, headers: pairs_to_js(&headers.0), reader, attempt, max_body: cfg.call.max_body_bytes };
                    Ok(object(&[("response", raw.into())]))
                }
                Err(e) => {
                    attempt.close();
                    failure_js(e)
                }
            }
        }))
    }

    /// The response's status and headers arrived: `"whole"` (then
    /// `readAll` and `handleBody`) or `"chunks"` (then `readChunk` and
    /// `handleChunk` while `isReading`, and `handleEnd`).
    #[wasm_bindgen(js_name = handleHead)]
    pub fn handle_head(&mut self, status: u16, headers: JsValue, now_ms: JsValue) -> Result<String, JsValue> {
        let headers = headers_from_js(headers, "headers")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        Ok(match self.run.handle_head(status, &headers, now) {
            ReadBody::Whole => "whole".to_owned(),
            ReadBody::Chunks => "chunks".to_owned(),
        })
    }

    /// The whole body arrived.
    #[wasm_bindgen(js_name = handleBody)]
    pub fn handle_body(&mut self, pool: &mut RawPool, body: JsValue, now_ms: JsValue) -> Result<(), JsValue> {
        let body = bytes_from_js(&body, "body")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.run.handle_body(&mut pool.0, &body, now);
        Ok(())
    }

    /// A chunk of a streamed body arrived: the stream events it completed.
    #[wasm_bindgen(js_name = handleChunk)]
    pub fn handle_chunk(&mut self, pool: &mut RawPool, bytes: JsValue, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let bytes = bytes_from_js(&bytes, "bytes")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        to_js(&self.run.handle_chunk(&mut pool.0, &bytes, now))
    }

    /// The streamed body ended: the stream events still pending.
    #[wasm_bindgen(js_name = handleEnd)]
    pub fn handle_end(&mut self, pool: &mut RawPool, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        to_js(&self.run.handle_end(&mut pool.0, now))
    }

    /// The connection failed or timed out (`failure`: the core's `Failure`
    /// JSON, `{type: "connection"}` or `{type: "timeout", phase}`).
    #[wasm_bindgen(js_name = handleTransportError)]
    pub fn handle_transport_error(&mut self, pool: &mut RawPool, failure: JsValue, now_ms: JsValue) -> Result<(), JsValue> {
        let failure: Failure = from_js(failure, "failure", "invalid_argument")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.run.handle_transport_error(&mut pool.0, failure, now);
        Ok(())
    }

    /// Whether the body should still be read.
    #[wasm_bindgen(getter, js_name = isReading)]
    pub fn is_reading(&self) -> bool {
        self.run.is_reading()
    }

    /// While a stream is read, the Unix ms by which the next chunk must
    /// arrive (past it: `handleTransportError` with an idle timeout).
    #[wasm_bindgen(getter)]
    pub fn deadline(&self) -> JsValue {
        self.run.deadline().map_or(JsValue::NULL, u64_js)
    }

    /// The results of the last `call_tools` action (`[{tool_use_id,
    /// content, is_error}]`).
    #[wasm_bindgen(js_name = handleToolResults)]
    pub fn handle_tool_results(&mut self, results: JsValue) -> Result<(), JsValue> {
        let results: Vec<ToolResult> = from_js(results, "tool results", "invalid_argument")?;
        self.run.handle_tool_results(results);
        Ok(())
    }

    /// Ends the run now (releasing what it holds).
    pub fn cancel(&mut self, pool: &mut RawPool, now_ms: JsValue) -> Result<(), JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.run.cancel(&mut pool.0, now);
        Ok(())
    }

    /// Money settled by the run so far.
    #[wasm_bindgen(getter)]
    pub fn spent(&self) -> JsValue {
        money(self.run.spent())
    }

    /// The outcome once done (the core's `Outcome` JSON), else null.
    pub fn outcome(&self) -> Result<JsValue, JsValue> {
        self.run.outcome().map_or(Ok(JsValue::NULL), |o| to_js(&o))
    }
}

/// A response to an agent's request, read by the JS driver.
#[wasm_bindgen(js_name = RawResponse)]
pub struct RawResponse {
    status: u16,
    headers: JsValue,
    reader: BodyReader,
    attempt: Attempt,
    max_body: usize,
}

#[wasm_bindgen(js_class = RawResponse)]
impl RawResponse {
    /// The HTTP status.
    #[wasm_bindgen(getter)]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers, `[[name, value], ...]`.
    #[wasm_bindgen(getter)]
    pub fn headers(&self) -> JsValue {
        self.headers.clone()
    }

    /// The next chunk: `{chunk: Uint8Array}`, `{end: true}` or `{failure}`.
    /// Waits at most `idleMs` (0: no limit) before failing as an idle timeout.
    #[wasm_bindgen(js_name = readChunk)]
    pub fn read_chunk(&self, idle_ms: f64) -> Promise {
        let reader = self.reader.clone();
        let attempt: Attempt = JsValue::clone(&self.attempt).unchecked_into();
        future_to_promise(async move {
            match reader.next_chunk(&attempt, idle_ms, TimeoutPhase::Idle).await {
                Ok(Some(c)) => Ok(object(&[("chunk", Uint8Array::from(c.as_slice()).into())])),
                Ok(None) => {
                    attempt.close();
                    Ok(object(&[("end", JsValue::TRUE)]))
                }
                Err(e) => {
                    attempt.close();
                    failure_js(e)
                }
            }
        })
    }

    /// The whole body (capped at the client's body limit): `{body}` or `{failure}`.
    #[wasm_bindgen(js_name = readAll)]
    pub fn read_all(&self) -> Promise {
        let reader = self.reader.clone();
        let attempt: Attempt = JsValue::clone(&self.attempt).unchecked_into();
        let cap = self.max_body;
        future_to_promise(async move {
            let r = reader.read_capped(&attempt, cap).await;
            attempt.close();
            match r {
                Ok(body) => Ok(object(&[("body", Uint8Array::from(body.as_slice()).into())])),
                Err(e) => failure_js(e),
            }
        })
    }

    /// Stops reading; the rest of the body is discarded.
    pub fn cancel(&self) {
        self.reader.cancel();
        self.attempt.close();
    }
}
