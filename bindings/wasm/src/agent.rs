//! `RawAgentRun`: `creditpool_core::agent::AgentRun`, one agent's run, for the
//! JS package's `Agent` (and, as `AgentRun`, for callers who drive a run
//! themselves).
//!
//! The run decides everything (what to send, the pool operations around each
//! attempt, lease renewals, retries, tool-call validity, the words the model
//! reads, when the run ends). It holds no pool: it asks for pool operations
//! (`{type: "pool", op}`, the core's `PoolOp` JSON), which the driver applies
//! to a pool store and hands back with `handlePool(result)`. The package's one
//! attempt player (`js/src/player.js`) drives its requests as it drives a
//! call; `send(signal)` sends from inside the module, so that the key never
//! reaches JS.

use std::rc::Rc;

use creditpool_core::agent::{AgentAction, AgentConfig, AgentError, AgentRun, Outcome, RunStatus, ToolCall, ToolOutput, ToolResult};
use creditpool_core::call::ReadBody;
use creditpool_core::http::HttpRequest;
use creditpool_core::pool::OpResult;
use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

use crate::call::{events_js, failure_from_js, read_body_js, retry_js, send_js, BodyPieces, RawPartial};
use crate::client::{Config, RawClient};
use crate::convert::{bytes_from_js, from_js, headers_from_js, money, object, to_js, u64_from_js, u64_js};
use crate::errors;
use crate::pool::refusal_error;
use crate::request::message_request;
use crate::transport;

fn agent_error(e: &AgentError) -> JsValue {
    match e {
        AgentError::Tool(t) => errors::tool_definition_error(t),
        AgentError::Capability(c) => errors::capability_error(c),
        AgentError::Pricing(p) => errors::pricing_error(p),
        AgentError::Request(r) => errors::request_error(r),
        other => errors::make(other.code(), other.code(), &other.to_string(), JsValue::UNDEFINED),
    }
}

/// The core's `AgentConfig` from JS, with what the client sets. The run's
/// call options are the core's agent defaults (`AgentConfig::default`),
/// then the client's settings (retry policy, timeouts, body limits; not
/// `stream`), then `config.call` as given; every other field is the
/// caller's or the core's default.
fn agent_config(client: &RawClient, config: JsValue) -> Result<AgentConfig, JsValue> {
    let bad = |m: &str| errors::simple("invalid_argument", &format!("agent configuration: {m}"));
    let mut value: serde_json::Value = if config.is_undefined() || config.is_null() {
        serde_json::json!({})
    } else {
        from_js(config, "agent configuration", "invalid_argument")?
    };
    let obj = value.as_object_mut().ok_or_else(|| bad("must be an object"))?;
    let mut call = serde_json::to_value(AgentConfig::default().call).map_err(|e| bad(&e.to_string()))?;
    let client_call = &client.cfg.call;
    if let Some(base) = call.as_object_mut() {
        let set = |base: &mut serde_json::Map<String, serde_json::Value>, k: &str, v: serde_json::Value| {
            base.insert(k.to_owned(), v);
        };
        set(base, "retry", serde_json::to_value(&client_call.retry).map_err(|e| bad(&e.to_string()))?);
        set(base, "idle_timeout_ms", client_call.idle_timeout_ms.into());
        set(base, "read_timeout_ms", client_call.read_timeout_ms.into());
        set(base, "max_body_bytes", client_call.max_body_bytes.into());
        set(base, "max_event_bytes", client_call.max_event_bytes.into());
        set(base, "jitter_seed", transport::jitter_seed().into());
        if let Some(given) = obj.get("call") {
            for (k, v) in given.as_object().ok_or_else(|| bad("call must be an object"))? {
                base.insert(k.clone(), v.clone());
            }
        }
    }
    obj.insert("call".to_owned(), call);
    serde_json::from_value(value).map_err(|e| bad(&e.to_string()))
}

/// The typed error an outcome's status stands for, or null (`completed`,
/// `stopped`).
fn outcome_error(outcome: &Outcome) -> Result<JsValue, JsValue> {
    Ok(match &outcome.status {
        RunStatus::Completed | RunStatus::Stopped { .. } => JsValue::NULL,
        RunStatus::PoolRefused { refusal } => refusal_error(refusal),
        RunStatus::Failed { code, error, api_error_type, http_status, partial } => {
            let error_type = api_error_type.clone().unwrap_or_else(|| code.clone());
            let error = if code == "pool_selector_rejected" { format!("{error}{}", errors::SELECTOR_HINT) } else { error.clone() };
            errors::make(
                code,
                &error_type,
                &error,
                object(&[
                    ("status", http_status.map_or(JsValue::NULL, JsValue::from)),
                    ("partial", errors::partial_js(partial.as_deref())),
                    ("runStatus", JsValue::from_str("failed")),
                ]),
            )
        }
        RunStatus::Invalid { code, error } => errors::make(code, code, error, object(&[("runStatus", JsValue::from_str("invalid"))])),
        RunStatus::MaxTurns { max_turns } => errors::make(
            "max_turns",
            "max_turns",
            &format!("the run made {max_turns} model calls without the model finishing"),
            object(&[("maxTurns", JsValue::from(*max_turns)), ("runStatus", JsValue::from_str("max_turns"))]),
        ),
        RunStatus::BudgetExhausted { needed, remaining } => errors::make(
            "budget_exhausted",
            "budget_exhausted",
            &format!("the run's budget cannot cover the next request: {needed} needed, {remaining} left"),
            object(&[("needed", money(*needed)), ("remaining", money(*remaining)), ("runStatus", JsValue::from_str("budget_exhausted"))]),
        ),
        RunStatus::Cancelled => errors::make_class(
            "AgentRunError",
            "cancelled",
            "cancelled",
            "the run was cancelled",
            object(&[("runStatus", JsValue::from_str("cancelled"))]),
        ),
        other => {
            let code = other.code().unwrap_or("agent_run");
            errors::make_class("AgentRunError", code, code, "the run ended without an answer", JsValue::UNDEFINED)
        }
    })
}

/// One agent's run.
#[wasm_bindgen(js_name = RawAgentRun)]
pub struct RawAgentRun {
    run: AgentRun,
    cfg: Rc<Config>,
    pending: Option<HttpRequest>,
    /// A whole body being taken in pieces (`handleBodyChunk`).
    body: BodyPieces,
}

impl RawAgentRun {
    fn max_body(&self) -> usize {
        self.run.config().call.max_body_bytes
    }
}

#[wasm_bindgen(js_class = RawAgentRun)]
impl RawAgentRun {
    /// A run of `request` (a Messages API body: model, the prompt in
    /// `messages`, the tools' definitions; `max_tokens` 0 or absent takes the
    /// config's) with the core's `AgentConfig` JSON (`agent_id`, `max_turns`,
    /// `max_spend`, `call`, `estimate`, `lease_ms`, `max_tokens`, `texts`;
    /// what is absent takes the core's defaults), sent through `client`.
    /// Checks the tools, the model's price and capabilities before anything
    /// costs money.
    #[wasm_bindgen(constructor)]
    pub fn new(client: &RawClient, config: JsValue, request: JsValue) -> Result<RawAgentRun, JsValue> {
        let config = agent_config(client, config)?;
        let request = message_request(request)?;
        let run = AgentRun::new(config, request, client.cfg.builder.clone(), client.cfg.prices.clone()).map_err(|e| agent_error(&e))?;
        Ok(RawAgentRun { run, cfg: client.cfg.clone(), pending: None, body: BodyPieces::default() })
    }

    /// What to do next: `{type: "pool", op}` (apply `op`, the core's
    /// `PoolOp` JSON, to the pool store, then `handlePool`), `{type:
    /// "send", request: {method, path}}` (then `send()`), `{type:
    /// "call_tools", calls: [{id, name, input}]}`, `{type: "wait", until_ms,
    /// reason, retry}` or `{type: "done"}`.
    #[wasm_bindgen(js_name = nextAction)]
    pub fn next_action(&mut self, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        Ok(match self.run.next_action(now) {
            AgentAction::Pool(op) => object(&[("type", JsValue::from_str("pool")), ("op", to_js(&op)?)]),
            AgentAction::Send(http) => {
                let shown = send_js(&http, true);
                self.pending = Some(http);
                shown
            }
            AgentAction::CallTools(calls) => object(&[("type", JsValue::from_str("call_tools")), ("calls", to_js(&calls)?)]),
            AgentAction::Wait { until_ms, reason, retry } => object(&[
                ("type", JsValue::from_str("wait")),
                ("until_ms", u64_js(until_ms)),
                ("reason", to_js(&reason)?),
                ("retry", retry_js(retry.as_ref())?),
            ]),
            AgentAction::Done => object(&[("type", JsValue::from_str("done"))]),
            #[allow(unreachable_patterns)]
            _ => return Err(errors::internal("unknown agent action")),
        })
    }

    /// The pool store's answer to the last `pool` op (or `pollPool` op): the
    /// core's `OpResult` JSON.
    #[wasm_bindgen(js_name = handlePool)]
    pub fn handle_pool(&mut self, result: JsValue, now_ms: JsValue) -> Result<(), JsValue> {
        let result: OpResult = from_js(result, "pool result", "invalid_argument")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.run.handle_pool(result, now);
        Ok(())
    }

    /// While a response is read: a pool op to apply now (a lease renewal),
    /// or null. Ask after every input; hand the result to `handlePool`.
    #[wasm_bindgen(js_name = pollPool)]
    pub fn poll_pool(&mut self, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.run.poll_pool(now).map_or(Ok(JsValue::NULL), |op| to_js(&op))
    }

    /// Sends the request the last `send` action asked for: resolves to
    /// `{status, headers, body}` or `{failure}`.
    pub fn send(&mut self, signal: Option<AbortSignal>) -> Result<Promise, JsValue> {
        let http = self.pending.take().ok_or_else(|| errors::simple("invalid_argument", "send() without a send action"))?;
        Ok(transport::send_js(self.cfg.base_url.clone(), http, signal))
    }

    /// The response's status and headers arrived: `"whole"` or `"chunks"`.
    #[wasm_bindgen(js_name = handleHead)]
    pub fn handle_head(&mut self, status: u16, headers: JsValue, now_ms: JsValue) -> Result<String, JsValue> {
        let headers = headers_from_js(headers, "headers")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.body.clear();
        let how = self.run.handle_head(status, &headers, now);
        if how == ReadBody::Whole {
            let cap = self.max_body();
            self.body.expect_for(&headers, cap);
        }
        Ok(read_body_js(how))
    }

    /// A piece of a whole body (after `"whole"`), kept inside the module up
    /// to one byte past `maxBodyBytes` (the core reads that as too large), so
    /// that the driver keeps no copy: returns whether more is wanted (false:
    /// stop reading and call `handleBodyEnd`).
    #[wasm_bindgen(js_name = handleBodyChunk)]
    pub fn handle_body_chunk(&mut self, bytes: JsValue) -> Result<bool, JsValue> {
        let cap = self.max_body();
        self.body.push(&bytes, cap)
    }

    /// The whole body taken with `handleBodyChunk` has arrived (or the read
    /// stopped past the cap): the run reads it (as `handleBody`).
    #[wasm_bindgen(js_name = handleBodyEnd)]
    pub fn handle_body_end(&mut self, now_ms: JsValue) -> Result<(), JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        let body = self.body.take();
        self.run.handle_body(&body, now);
        Ok(())
    }

    /// The whole body arrived (in one buffer).
    #[wasm_bindgen(js_name = handleBody)]
    pub fn handle_body(&mut self, body: JsValue, now_ms: JsValue) -> Result<(), JsValue> {
        let body = bytes_from_js(&body, "body")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.run.handle_body(&body, now);
        Ok(())
    }

    /// A chunk of a streamed body arrived: the stream events it completed.
    #[wasm_bindgen(js_name = handleChunk)]
    pub fn handle_chunk(&mut self, bytes: JsValue, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let bytes = bytes_from_js(&bytes, "bytes")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        events_js(&self.run.handle_chunk(&bytes, now))
    }

    /// The streamed body ended: the stream events still pending.
    #[wasm_bindgen(js_name = handleEnd)]
    pub fn handle_end(&mut self, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        events_js(&self.run.handle_end(now))
    }

    /// The transport failed (the core's `Failure` JSON, as seen:
    /// `{type: "connection"}`).
    #[wasm_bindgen(js_name = handleTransportError)]
    pub fn handle_transport_error(&mut self, failure: JsValue, now_ms: JsValue) -> Result<(), JsValue> {
        let failure = failure_from_js(failure)?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.body.clear();
        self.run.handle_transport_error(failure, now);
        Ok(())
    }

    /// The connection failed, and `detail` is what the runtime said (`send`'s
    /// `detail`): a run that fails on it names the base URL's origin and that
    /// detail (never the path or key).
    #[wasm_bindgen(js_name = handleConnectionError)]
    pub fn handle_connection_error(&mut self, detail: String, now_ms: JsValue) -> Result<(), JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.body.clear();
        self.run.handle_connection_error(&self.cfg.base_url, &detail, now);
        Ok(())
    }

    /// Time passed with nothing read: past the call's deadline the attempt
    /// times out. Returns whether it did.
    #[wasm_bindgen(js_name = handleTimeout)]
    pub fn handle_timeout(&mut self, now_ms: JsValue) -> Result<bool, JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        let timed_out = self.run.handle_timeout(now);
        if timed_out {
            self.body.clear();
        }
        Ok(timed_out)
    }

    /// Whether the body should still be read.
    #[wasm_bindgen(getter, js_name = isReading)]
    pub fn is_reading(&self) -> bool {
        self.run.is_reading()
    }

    /// While a request is out: the Unix ms by which the next input must
    /// arrive, or earlier when the lease is due for renewal; null otherwise.
    #[wasm_bindgen(getter)]
    pub fn deadline(&self) -> JsValue {
        self.run.deadline().map_or(JsValue::NULL, u64_js)
    }

    /// The largest body a call reads.
    #[wasm_bindgen(getter, js_name = maxBodyBytes)]
    pub fn max_body_bytes(&self) -> f64 {
        self.run.config().call.max_body_bytes as f64
    }

    /// The `tool_result` for `call` (`{id, name, input}`) from what its tool
    /// did: `output` is `{value}`, `{content}`, `{failed: message}` or
    /// `"unknown"` (the core's `ToolOutput`); the words and the
    /// value-to-content rule are the core's.
    #[wasm_bindgen(js_name = toolResult)]
    pub fn tool_result(&self, call: JsValue, output: JsValue) -> Result<JsValue, JsValue> {
        let call: ToolCall = from_js(call, "tool call", "invalid_argument")?;
        let output: ToolOutput = from_js(output, "tool output", "invalid_argument")?;
        to_js(&self.run.tool_result(&call, output))
    }

    /// The results of the last `call_tools` action (`[{tool_use_id,
    /// content, is_error}]`).
    #[wasm_bindgen(js_name = handleToolResults)]
    pub fn handle_tool_results(&mut self, results: JsValue) -> Result<(), JsValue> {
        let results: Vec<ToolResult> = from_js(results, "tool results", "invalid_argument")?;
        self.run.handle_tool_results(results);
        Ok(())
    }

    /// Ends the run now. A reservation it holds is released through the
    /// next actions: keep applying what `nextAction` asks until done.
    pub fn cancel(&mut self, now_ms: JsValue) -> Result<(), JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.run.cancel(now);
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

    /// `{outcome, error}` (as `outcome()` and `outcomeError()`) from one
    /// copy of the outcome, for the package's `Agent`: a failed stream's
    /// message so far (up to the stream cap) is not converted but set, as
    /// one `RawPartial`, as `partial` on both (the package converts it when
    /// it is read, once); null before the run is done.
    #[wasm_bindgen(js_name = outcomeAndError)]
    pub fn outcome_and_error(&self) -> Result<JsValue, JsValue> {
        let Some(mut outcome) = self.run.outcome() else { return Ok(JsValue::NULL) };
        let partial = match &mut outcome.status {
            RunStatus::Failed { partial, .. } => partial.take(),
            _ => None,
        };
        let json = to_js(&outcome)?;
        let error = outcome_error(&outcome)?;
        if let Some(message) = partial {
            let raw = JsValue::from(RawPartial::new(message));
            let _ = Reflect::set(&json, &JsValue::from_str("partial"), &raw);
            if error.is_object() {
                let _ = Reflect::set(&error, &JsValue::from_str("partial"), &raw);
            }
        }
        Ok(object(&[("outcome", json), ("error", error)]))
    }

    /// The error the outcome's status stands for (a `PoolRefusedError`
    /// subclass, the call's error class, `MaxTurnsError`,
    /// `BudgetExhaustedError`, `AgentRunError`), or null.
    #[wasm_bindgen(js_name = outcomeError)]
    pub fn outcome_error(&self) -> Result<JsValue, JsValue> {
        self.run.outcome().map_or(Ok(JsValue::NULL), |o| outcome_error(&o))
    }
}
