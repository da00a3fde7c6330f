//! `MessagesCall`: `creditpool_core::call::MessagesCall`, one Messages API
//! call with retries as a state machine, for callers who drive it with their
//! own transport (the package's `Client` drives it in [`crate::client`]).

use creditpool_core::api::StreamEvent;
use creditpool_core::call::{self, AttemptError, AttemptOutcome, CallAction, CallError, CallOptions, Completed, ReadBody};
use creditpool_core::retry::{Failure, TimeoutPhase};
use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;

use crate::convert::{bytes_from_js, from_js, headers_from_js, object, opt_str, to_js, u64_from_js, u64_js};
use crate::errors;
use crate::request::{builder, http_to_js, message_request};

/// The error of an attempt that failed.
pub(crate) fn attempt_error(e: &AttemptError, partial: Option<&creditpool_core::api::Message>) -> JsValue {
    match e {
        AttemptError::Api(api) => errors::api_error(api, partial),
        AttemptError::Stream(s) => errors::stream_error(s),
        AttemptError::Parse(p) => errors::parse_error(p),
        AttemptError::Transport(f) => transport_error(f, partial),
        other => errors::simple("connection_error", &other.to_string()),
    }
}

/// The error for a transport failure the core reported.
pub(crate) fn transport_error(f: &Failure, partial: Option<&creditpool_core::api::Message>) -> JsValue {
    let partial = partial.and_then(|m| to_js(m).ok()).unwrap_or(JsValue::NULL);
    match f {
        Failure::Timeout { phase } => {
            let phase = match phase {
                TimeoutPhase::Connect => "connect",
                TimeoutPhase::Idle => "idle",
                _ => "read",
            };
            errors::make(
                "connection_timeout",
                &format!("the request timed out ({phase})"),
                object(&[("phase", JsValue::from_str(phase)), ("partial", partial)]),
                false,
            )
        }
        _ => errors::make("connection_error", "the connection failed", object(&[("partial", partial)]), false),
    }
}

/// A call that failed for good: its last attempt's error, with `attempts`,
/// `giveUp` (the core's `GiveUpReason` JSON) and `partial` (the message a
/// failed stream received).
pub(crate) fn call_error(e: &CallError) -> JsValue {
    let err = attempt_error(&e.error, e.partial.as_deref());
    if err.is_object() {
        let _ = Reflect::set(&err, &JsValue::from_str("attempts"), &JsValue::from(e.attempts));
        if let Ok(reason) = to_js(&e.reason) {
            let _ = Reflect::set(&err, &JsValue::from_str("giveUp"), &reason);
        }
        if let Some(p) = e.partial.as_deref() {
            if let Ok(p) = to_js(p) {
                let _ = Reflect::set(&err, &JsValue::from_str("partial"), &p);
            }
        }
    }
    err
}

/// `{message, tool_input_issues, attempts, request_id, rate_limit}`.
pub(crate) fn completed_js(c: &Completed) -> Result<JsValue, JsValue> {
    Ok(object(&[
        ("message", to_js(&c.message)?),
        ("tool_input_issues", to_js(&c.tool_input_issues)?),
        ("attempts", JsValue::from(c.attempts)),
        ("request_id", opt_str(c.request_id.as_deref())),
        ("rate_limit", to_js(&c.rate_limit)?),
    ]))
}

/// Events as a JS array.
pub(crate) fn events_js(events: &[StreamEvent]) -> Result<JsValue, JsValue> {
    let out = Array::new();
    for e in events {
        out.push(&to_js(e)?);
    }
    Ok(out.into())
}

/// Call options from the core's JSON (`stream`, `retry`, `idle_timeout_ms`,
/// `max_body_bytes`, `max_event_bytes`, `jitter_seed`; unknown fields refused).
pub(crate) fn call_options(options: JsValue) -> Result<CallOptions, JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(CallOptions::default());
    }
    from_js(options, "call options", "invalid_argument")
}

/// One Messages API call with retries, as a state machine.
#[wasm_bindgen]
pub struct MessagesCall(call::MessagesCall);

#[wasm_bindgen]
impl MessagesCall {
    /// A call of `POST /v1/messages` for `request`, with the key, the core's
    /// request options (`anthropic_version`, `betas`, ...) and call options.
    #[wasm_bindgen(constructor)]
    pub fn new(api_key: &str, request_options: JsValue, request: JsValue, options: JsValue) -> Result<MessagesCall, JsValue> {
        let builder = builder(api_key, request_options)?;
        let options = call_options(options)?;
        let request = message_request(request)?;
        call::MessagesCall::new(&builder, &request, options).map(MessagesCall).map_err(|e| errors::request_error(&e))
    }

    /// What to do next: `{type: "send", request}` (the request as
    /// `buildRequest` returns it), `{type: "wait", until_ms}` or
    /// `{type: "done"}`.
    #[wasm_bindgen(js_name = nextAction)]
    pub fn next_action(&mut self, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        Ok(match self.0.next_action(now) {
            CallAction::Send(http) => object(&[("type", JsValue::from_str("send")), ("request", http_to_js(&http))]),
            CallAction::Wait { until_ms } => object(&[("type", JsValue::from_str("wait")), ("until_ms", u64_js(until_ms))]),
            CallAction::Done => object(&[("type", JsValue::from_str("done"))]),
        })
    }

    /// The response's status and headers arrived: `"whole"` (read the whole
    /// body, then `handleBody`) or `"chunks"` (feed `handleChunk`, then
    /// `handleEnd`).
    #[wasm_bindgen(js_name = handleHead)]
    pub fn handle_head(&mut self, status: u16, headers: JsValue, now_ms: JsValue) -> Result<String, JsValue> {
        let headers = headers_from_js(headers, "headers")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        Ok(match self.0.handle_head(status, &headers, now) {
            ReadBody::Whole => "whole".to_owned(),
            ReadBody::Chunks => "chunks".to_owned(),
        })
    }

    /// The whole body arrived.
    #[wasm_bindgen(js_name = handleBody)]
    pub fn handle_body(&mut self, body: JsValue, now_ms: JsValue) -> Result<(), JsValue> {
        let body = bytes_from_js(&body, "body")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.0.handle_body(&body, now);
        Ok(())
    }

    /// A chunk of a streamed body arrived: the events it completed.
    #[wasm_bindgen(js_name = handleChunk)]
    pub fn handle_chunk(&mut self, bytes: JsValue, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let bytes = bytes_from_js(&bytes, "bytes")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        events_js(&self.0.handle_chunk(&bytes, now))
    }

    /// The streamed body ended: the events still pending.
    #[wasm_bindgen(js_name = handleEnd)]
    pub fn handle_end(&mut self, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        events_js(&self.0.handle_end(now))
    }

    /// The connection failed or timed out: `failure` is the core's `Failure`
    /// JSON (`{type: "connection"}`, `{type: "timeout", phase}`).
    #[wasm_bindgen(js_name = handleTransportError)]
    pub fn handle_transport_error(&mut self, failure: JsValue, now_ms: JsValue) -> Result<(), JsValue> {
        let failure: Failure = from_js(failure, "failure", "invalid_argument")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.0.handle_transport_error(failure, now);
        Ok(())
    }

    /// Whether the body should still be read.
    #[wasm_bindgen(getter, js_name = isReading)]
    pub fn is_reading(&self) -> bool {
        self.0.is_reading()
    }

    /// While a stream is read, the Unix ms by which the next chunk must arrive.
    #[wasm_bindgen(getter)]
    pub fn deadline(&self) -> JsValue {
        self.0.deadline().map_or(JsValue::NULL, u64_js)
    }

    /// The current attempt, 0-based.
    #[wasm_bindgen(getter)]
    pub fn attempt(&self) -> u32 {
        self.0.attempt()
    }

    /// The message so far, while a stream is read.
    #[wasm_bindgen(getter, js_name = partialMessage)]
    pub fn partial_message(&self) -> Result<JsValue, JsValue> {
        self.0.partial_message().map_or(Ok(JsValue::NULL), to_js)
    }

    /// What became of the last attempt: null, `{outcome: "succeeded"}` or
    /// `{outcome: "failed", error, decision}` (`error` an Error object,
    /// `decision` the core's `RetryDecision` JSON).
    #[wasm_bindgen(getter, js_name = lastAttempt)]
    pub fn last_attempt(&self) -> Result<JsValue, JsValue> {
        Ok(match self.0.last_attempt() {
            None => JsValue::NULL,
            Some(AttemptOutcome::Succeeded) => object(&[("outcome", JsValue::from_str("succeeded"))]),
            Some(AttemptOutcome::Failed { error, decision }) => {
                object(&[("outcome", JsValue::from_str("failed")), ("error", attempt_error(error, None)), ("decision", to_js(decision)?)])
            }
        })
    }

    /// The result once `nextAction` said done: `{message, tool_input_issues,
    /// attempts, request_id, rate_limit}`, or the failure thrown (with
    /// `attempts`, `giveUp` and `partial`); null when there is none (yet).
    #[wasm_bindgen(js_name = takeResult)]
    pub fn take_result(&mut self) -> Result<JsValue, JsValue> {
        match self.0.take_result() {
            None => Ok(JsValue::NULL),
            Some(Ok(c)) => completed_js(&c),
            Some(Err(e)) => Err(call_error(&e)),
        }
    }
}
