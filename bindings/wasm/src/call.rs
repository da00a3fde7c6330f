//! `MessagesCall`: `creditpool_core::call::MessagesCall`, one Messages API
//! call with retries as a state machine.
//!
//! Two ways to get one:
//!
//! * `new MessagesCall(apiKey, requestOptions, request, options)`, for
//!   callers who drive it with their own transport: `nextAction` hands out
//!   the whole request, headers (and key) included;
//! * `RawClient.call(request, stream, signal)` ([`crate::client`]), which the
//!   package's `Client` drives with its attempt player (`js/src/player.js`):
//!   `nextAction` shows only the method and path, and `send(signal)` sends the
//!   request from inside the module, so that the key never reaches JS.
//!
//! Either way the call decides everything; the driver reports what happened
//! (`handleHead`, `handleBody` or `handleBodyChunk` then `handleBodyEnd`,
//! `handleChunk`, `handleEnd`,
//! `handleTransportError` with the raw `{type: "connection"}`, and
//! `handleTimeout` once `deadline` has passed).

use std::rc::Rc;

use creditpool_core::api::{Message, StreamEvent};
use creditpool_core::call::{self, AttemptError, AttemptOutcome, CallAction, CallError, CallOptions, CallOutput, Completed, PreflightError, ReadBody, RetryNotice};
use creditpool_core::http::HttpRequest;
use creditpool_core::pool::WebhookDelivery;
use creditpool_core::retry::{Failure, TimeoutPhase};
use creditpool_core::sse::StreamError;
use js_sys::{Array, Promise, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

use crate::client::Config;
use crate::convert::{bytes_from_js, from_js, headers_from_js, object, opt_str, to_js, u64_from_js, u64_js};
use crate::errors;
use crate::request::{builder, http_to_js, message_request};
use crate::transport;

/// The error of an attempt that failed.
pub(crate) fn attempt_error(e: &AttemptError, partial: Option<&Message>) -> JsValue {
    match e {
        AttemptError::Api(api) => errors::api_error(api, partial),
        AttemptError::Stream(s) => errors::stream_error(s),
        AttemptError::Parse(p) => errors::parse_error(p),
        AttemptError::Transport(f) => transport_error(f, partial),
        AttemptError::SelectorRejected(s) => errors::make(
            s.code(),
            s.api.kind.as_str(),
            &format!("{s}{}", errors::SELECTOR_HINT),
            object(&[
                ("field", JsValue::from_str(&s.field)),
                ("status", s.api.status.map_or(JsValue::NULL, JsValue::from)),
                ("requestId", opt_str(s.api.request_id.as_deref())),
                ("apiMessage", JsValue::from_str(&s.api.message)),
                ("partial", errors::partial_js(partial)),
            ]),
        ),
        other => errors::make(other.code(), "connection_error", &other.to_string(), JsValue::UNDEFINED),
    }
}

/// The error for a transport failure the core reported.
pub(crate) fn transport_error(f: &Failure, partial: Option<&Message>) -> JsValue {
    let partial = errors::partial_js(partial);
    match f {
        Failure::Timeout { phase } => {
            let name = match phase {
                TimeoutPhase::Connect => "connect",
                TimeoutPhase::Idle => "idle",
                TimeoutPhase::Total => "total",
                _ => "read",
            };
            errors::make(
                f.code(),
                "connection_timeout",
                &format!("the request timed out ({name})"),
                object(&[("phase", JsValue::from_str(name)), ("partial", partial)]),
            )
        }
        _ => errors::make(f.code(), "connection_error", "the connection failed", object(&[("partial", partial)])),
    }
}

/// A call that failed for good: its last attempt's error, with `attempts`,
/// `giveUp` (the core's `GiveUpReason` JSON) and `partial` (the message a
/// failed stream received, from the core; null otherwise).
///
/// The partial (up to the stream cap) is moved, unconverted, into a
/// [`RawPartial`] set as `partial`; the package (`js/src/wasm.js`) turns
/// that into a property converted on first read, straight into JS values
/// (no JSON text). A caller who never reads it never holds the message in
/// JS: at the peak of a stream that failed at its cap, the message is in the
/// wasm heap once, not also as a JS copy.
pub(crate) fn call_error(mut e: CallError) -> JsValue {
    let err = match (&e.error, &e.connection) {
        // Where the request went and what the OS said, in the core's words.
        (AttemptError::Transport(f @ Failure::Connection), Some(words)) => errors::make(f.code(), "connection_error", words, JsValue::UNDEFINED),
        // A stream error's own copy of the partial is not converted either.
        (AttemptError::Stream(StreamError::Incomplete { reason, .. }), _) => {
            errors::stream_error(&StreamError::Incomplete { partial: None, reason: reason.clone() })
        }
        (AttemptError::Stream(StreamError::Api { error, .. }), _) => errors::api_error(error, None),
        _ => attempt_error(&e.error, None),
    };
    if err.is_object() {
        let _ = Reflect::set(&err, &JsValue::from_str("attempts"), &JsValue::from(e.attempts));
        if let Ok(reason) = to_js(&e.reason) {
            let _ = Reflect::set(&err, &JsValue::from_str("giveUp"), &reason);
        }
        let partial = e.partial.take().map_or(JsValue::NULL, |message| JsValue::from(RawPartial::new(message)));
        let _ = Reflect::set(&err, &JsValue::from_str("partial"), &partial);
    }
    err
}

/// The message a failed stream received, kept in the module until it is
/// read (`take`, once), or freed with the error that holds it.
#[wasm_bindgen]
pub struct RawPartial {
    message: Option<std::sync::Arc<Message>>,
}

impl RawPartial {
    /// A partial message to hand out unconverted (shared with the call's
    /// error or the run's status that holds it, not copied).
    pub(crate) fn new(message: impl Into<std::sync::Arc<Message>>) -> RawPartial {
        RawPartial { message: Some(message.into()) }
    }
}

#[wasm_bindgen]
impl RawPartial {
    /// The message as JS values, built directly (no JSON text); null once
    /// taken. The module's copy is dropped.
    pub fn take(&mut self) -> JsValue {
        partial_direct(self.message.take().as_deref())
    }
}

/// A partial message as JS values, built directly (no JSON text); null when
/// there is none or it cannot be converted.
fn partial_direct(partial: Option<&Message>) -> JsValue {
    use serde::Serialize;
    partial
        .and_then(|m| m.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).ok())
        .unwrap_or(JsValue::NULL)
}

/// A whole body taken in pieces (`MessagesCall.handleBodyChunk`,
/// `RawAgentRun.handleBodyChunk`), kept up to one byte past the call's body
/// cap: the one copy of the body, in the wasm heap, handed to the core at
/// the end.
#[derive(Default)]
pub(crate) struct BodyPieces {
    bytes: Vec<u8>,
}

impl BodyPieces {
    /// Appends what fits of `piece` (up to `cap + 1` bytes in all); returns
    /// whether more is wanted (false once past the cap).
    pub(crate) fn push(&mut self, piece: &JsValue, cap: usize) -> Result<bool, JsValue> {
        let limit = cap.saturating_add(1);
        let room = limit.saturating_sub(self.bytes.len());
        if let Some(s) = piece.as_string() {
            let b = s.as_bytes();
            self.grow(b.len().min(room), limit);
            self.bytes.extend_from_slice(b.get(..b.len().min(room)).unwrap_or_default());
        } else if let Some(a) = piece.dyn_ref::<js_sys::Uint8Array>() {
            let take = (a.length() as usize).min(room);
            self.grow(take, limit);
            let start = self.bytes.len();
            self.bytes.resize(start + take, 0);
            if let Some(dst) = self.bytes.get_mut(start..) {
                a.subarray(0, take as u32).copy_to(dst);
            }
        } else {
            return Err(errors::simple("invalid_argument", "bytes must be a Uint8Array or a string"));
        }
        Ok(self.bytes.len() < limit)
    }

    /// Makes room for `more` bytes: doubling while the body is small, then
    /// (past [`BodyPieces::DOUBLE_UP_TO`]) room for all `limit` bytes at
    /// once, so that a large body of unknown length (a gzip body: the
    /// runtime inflates it) is not grown by copying, which would leave every
    /// block it outgrew in the wasm heap (which never shrinks). The room's
    /// pages are zero until written: only what arrives is resident.
    fn grow(&mut self, more: usize, limit: usize) {
        let need = self.bytes.len().saturating_add(more);
        if need > self.bytes.capacity() {
            let doubled = need.max(self.bytes.capacity().saturating_mul(2));
            let target = if doubled > Self::DOUBLE_UP_TO { limit } else { doubled }.min(limit).max(need);
            if self.bytes.try_reserve_exact(target - self.bytes.len()).is_err() {
                self.bytes.reserve(need - self.bytes.len());
            }
        }
    }

    /// The size up to which the buffer grows by doubling.
    const DOUBLE_UP_TO: usize = 1 << 20;

    /// A whole body is about to be read: room for all of it at once when
    /// its size is known (`hint`, never past `cap + 1`), so that the buffer
    /// is not grown by copying (the wasm heap keeps every block it ever
    /// held); else a small start, doubled as pieces arrive.
    pub(crate) fn expect(&mut self, hint: Option<usize>, cap: usize) {
        let size = hint.map_or(64 * 1024, |n| n.saturating_add(1)).min(cap.saturating_add(1));
        self.bytes = Vec::with_capacity(size);
    }

    pub(crate) fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }

    /// A whole body is about to be read after a head with these headers
    /// (see [`BodyPieces::expect`]): the length of a body the runtime does
    /// not inflate is a capacity hint (the core reads the bytes).
    pub(crate) fn expect_for(&mut self, headers: &creditpool_core::http::Headers, cap: usize) {
        let hint = if headers.get("content-encoding").is_some() { None } else { headers.get("content-length").and_then(|v| v.trim().parse().ok()) };
        self.expect(hint, cap);
    }

    pub(crate) fn clear(&mut self) {
        self.bytes = Vec::new();
    }
}

/// A request refused before anything was sent.
pub(crate) fn preflight_error(e: &PreflightError) -> JsValue {
    match e {
        PreflightError::Request(r) => errors::request_error(r),
        PreflightError::Tool(t) => errors::tool_definition_error(t),
        PreflightError::Capability(c) => errors::capability_error(c),
        other => errors::make(other.code(), other.code(), &other.to_string(), JsValue::UNDEFINED),
    }
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

/// What any kind of call ended with: a message's `{message,
/// tool_input_issues, attempts, request_id, rate_limit}`, a count's
/// `{input_tokens, attempts, request_id}`, a webhook's `{status, attempts}`.
pub(crate) fn output_js(o: &CallOutput) -> Result<JsValue, JsValue> {
    match o {
        CallOutput::Message(c) => completed_js(c),
        CallOutput::InputTokens { input_tokens, attempts, request_id } => Ok(object(&[
            ("input_tokens", u64_js(*input_tokens)),
            ("attempts", JsValue::from(*attempts)),
            ("request_id", opt_str(request_id.as_deref())),
        ])),
        CallOutput::Delivered { status, attempts } => Ok(object(&[("status", JsValue::from(*status)), ("attempts", JsValue::from(*attempts))])),
        #[allow(unreachable_patterns)]
        _ => Err(errors::internal("unknown call output")),
    }
}

/// A webhook delivery from JS: `{body: string, headers: [[name, value]]}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryIn {
    body: String,
    #[serde(default)]
    headers: Vec<(String, String)>,
}

/// Events as a JS array: the batch crosses as one JSON text read by
/// `JSON.parse` (see `convert::to_js`), not as one conversion per event.
pub(crate) fn events_js(events: &[StreamEvent]) -> Result<JsValue, JsValue> {
    if events.is_empty() {
        return Ok(Array::new().into());
    }
    to_js(events)
}

/// A retry notice as the `stream_retry` event (`RetryNotice::to_event`), or
/// null.
pub(crate) fn retry_js(notice: Option<&RetryNotice>) -> Result<JsValue, JsValue> {
    notice.map_or(Ok(JsValue::NULL), |n| to_js(&n.to_event()))
}

/// A `send` action: the whole request for a caller with its own transport,
/// only `{method, path}` when the module sends it.
pub(crate) fn send_js(http: &HttpRequest, redact: bool) -> JsValue {
    let request = if redact {
        object(&[("method", JsValue::from_str(http.method.as_str())), ("path", JsValue::from_str(&http.path))])
    } else {
        http_to_js(http)
    };
    object(&[("type", JsValue::from_str("send")), ("request", request)])
}

/// `"whole"` or `"chunks"`.
pub(crate) fn read_body_js(r: ReadBody) -> String {
    match r {
        ReadBody::Whole => "whole".to_owned(),
        ReadBody::Chunks => "chunks".to_owned(),
    }
}

/// A transport failure as the core's `Failure` JSON.
pub(crate) fn failure_from_js(failure: JsValue) -> Result<Failure, JsValue> {
    from_js(failure, "failure", "invalid_argument")
}

/// Call options from the core's JSON (`stream`, `retry`, `idle_timeout_ms`,
/// `read_timeout_ms`, `max_body_bytes`, `max_event_bytes`, `jitter_seed`,
/// `preflight`; unknown fields refused).
pub(crate) fn call_options(options: JsValue) -> Result<CallOptions, JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(CallOptions::default());
    }
    from_js(options, "call options", "invalid_argument")
}

/// One Messages API call with retries, as a state machine.
#[wasm_bindgen]
pub struct MessagesCall {
    call: call::MessagesCall,
    /// Set when the module sends the request itself (a `Client`'s call).
    sender: Option<Rc<Config>>,
    /// The request of the last `send` action, until `send()`.
    pending: Option<HttpRequest>,
    max_body_bytes: usize,
    /// A whole body being taken in pieces (`handleBodyChunk`).
    body: BodyPieces,
}

impl MessagesCall {
    /// A call the module sends itself, for a client.
    pub(crate) fn with_sender(call: call::MessagesCall, cfg: Rc<Config>, max_body_bytes: usize) -> MessagesCall {
        MessagesCall { call, sender: Some(cfg), pending: None, max_body_bytes, body: BodyPieces::default() }
    }
}

#[wasm_bindgen]
impl MessagesCall {
    /// A call of `POST /v1/messages` for `request`, with the key, the core's
    /// request options (`anthropic_version`, `betas`, ...) and call options.
    /// Throws the preflight error (tools, capabilities) before anything is
    /// sent.
    #[wasm_bindgen(constructor)]
    pub fn new(api_key: &str, request_options: JsValue, request: JsValue, options: JsValue) -> Result<MessagesCall, JsValue> {
        let builder = builder(api_key, request_options)?;
        let options = call_options(options)?;
        let max_body_bytes = options.max_body_bytes;
        let request = message_request(request)?;
        let call = call::MessagesCall::new(&builder, &request, options).map_err(|e| preflight_error(&e))?;
        Ok(MessagesCall { call, sender: None, pending: None, max_body_bytes, body: BodyPieces::default() })
    }

    /// A call of `POST /v1/messages/count_tokens` for `request` (same
    /// arguments as the constructor); its result is `{input_tokens,
    /// attempts, request_id}`.
    #[wasm_bindgen(js_name = countTokens)]
    pub fn count_tokens(api_key: &str, request_options: JsValue, request: JsValue, options: JsValue) -> Result<MessagesCall, JsValue> {
        let builder = builder(api_key, request_options)?;
        let options = call_options(options)?;
        let max_body_bytes = options.max_body_bytes;
        let request = message_request(request)?;
        let call = call::MessagesCall::count_tokens(&builder, &request, options).map_err(|e| preflight_error(&e))?;
        Ok(MessagesCall { call, sender: None, pending: None, max_body_bytes, body: BodyPieces::default() })
    }

    /// A webhook delivery (`{body, headers}`, as a pool's alert made them)
    /// with retries: `options` are the core's CallOptions (null: the core's
    /// webhook defaults, `CallOptions::webhook`). The request's path is
    /// empty: send it to the webhook's URL. Its result is `{status,
    /// attempts}`. With `secret` (a string), every attempt is signed afresh
    /// with its own time (the core's `signed_webhook`).
    pub fn webhook(delivery: JsValue, options: JsValue, secret: Option<String>) -> Result<MessagesCall, JsValue> {
        let delivery: DeliveryIn = from_js(delivery, "webhook delivery", "invalid_argument")?;
        let options = if options.is_undefined() || options.is_null() { CallOptions::webhook() } else { call_options(options)? };
        let max_body_bytes = options.max_body_bytes;
        let delivery = WebhookDelivery { body: delivery.body.into_bytes(), headers: delivery.headers };
        let call = match secret {
            Some(s) => call::MessagesCall::signed_webhook(&delivery, s.as_bytes(), options),
            None => call::MessagesCall::webhook(&delivery, options),
        };
        Ok(MessagesCall { call, sender: None, pending: None, max_body_bytes, body: BodyPieces::default() })
    }

    /// What to do next: `{type: "send", request}`, `{type: "wait",
    /// until_ms, retry}` (`retry`: the `stream_retry` event when the failed
    /// attempt had handed out events, else null) or `{type: "done"}`.
    #[wasm_bindgen(js_name = nextAction)]
    pub fn next_action(&mut self, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        Ok(match self.call.next_action(now) {
            CallAction::Send(http) => {
                let shown = send_js(&http, self.sender.is_some());
                self.pending = Some(http);
                shown
            }
            CallAction::Wait { until_ms, retry } => {
                object(&[("type", JsValue::from_str("wait")), ("until_ms", u64_js(until_ms)), ("retry", retry_js(retry.as_ref())?)])
            }
            CallAction::Done => object(&[("type", JsValue::from_str("done"))]),
        })
    }

    /// Sends the request of the last `send` action from inside the module
    /// (a client's call only): resolves to `{status, headers, body}` or
    /// `{failure}`.
    pub fn send(&mut self, signal: Option<AbortSignal>) -> Result<Promise, JsValue> {
        let cfg = self.sender.clone().ok_or_else(|| errors::simple("invalid_argument", "this call is driven by its caller: send nextAction's request yourself"))?;
        let http = self.pending.take().ok_or_else(|| errors::simple("invalid_argument", "send() without a send action"))?;
        Ok(transport::send_js(cfg.base_url.clone(), http, signal))
    }

    /// The response's status and headers arrived: `"whole"` (read the whole
    /// body, then `handleBody`) or `"chunks"` (feed `handleChunk`, then
    /// `handleEnd`).
    #[wasm_bindgen(js_name = handleHead)]
    pub fn handle_head(&mut self, status: u16, headers: JsValue, now_ms: JsValue) -> Result<String, JsValue> {
        let headers = headers_from_js(headers, "headers")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.body.clear();
        let how = self.call.handle_head(status, &headers, now);
        if how == ReadBody::Whole {
            self.body.expect_for(&headers, self.max_body_bytes);
        }
        Ok(read_body_js(how))
    }

    /// A piece of a whole body (after `"whole"`), kept inside the module up
    /// to one byte past `maxBodyBytes` (the core reads that as too large), so
    /// that the driver keeps no copy: returns whether more is wanted (false:
    /// stop reading and call `handleBodyEnd`).
    #[wasm_bindgen(js_name = handleBodyChunk)]
    pub fn handle_body_chunk(&mut self, bytes: JsValue) -> Result<bool, JsValue> {
        self.body.push(&bytes, self.max_body_bytes)
    }

    /// The whole body taken with `handleBodyChunk` has arrived (or the read
    /// stopped past the cap): the core reads it (as `handleBody`).
    #[wasm_bindgen(js_name = handleBodyEnd)]
    pub fn handle_body_end(&mut self, now_ms: JsValue) -> Result<(), JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        let body = self.body.take();
        self.call.handle_body(&body, now);
        Ok(())
    }

    /// The whole body arrived.
    #[wasm_bindgen(js_name = handleBody)]
    pub fn handle_body(&mut self, body: JsValue, now_ms: JsValue) -> Result<(), JsValue> {
        let body = bytes_from_js(&body, "body")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.call.handle_body(&body, now);
        Ok(())
    }

    /// A chunk of a streamed body arrived: the events it completed.
    #[wasm_bindgen(js_name = handleChunk)]
    pub fn handle_chunk(&mut self, bytes: JsValue, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let bytes = bytes_from_js(&bytes, "bytes")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        events_js(&self.call.handle_chunk(&bytes, now))
    }

    /// The streamed body ended: the events still pending.
    #[wasm_bindgen(js_name = handleEnd)]
    pub fn handle_end(&mut self, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        events_js(&self.call.handle_end(now))
    }

    /// `handleChunk` for a caller who will not read the events (a stream
    /// whose final message alone was asked for): the core applies them all
    /// the same; they are not converted to JS. Returns how many there were.
    #[wasm_bindgen(js_name = handleChunkQuiet)]
    pub fn handle_chunk_quiet(&mut self, bytes: JsValue, now_ms: JsValue) -> Result<u32, JsValue> {
        let bytes = bytes_from_js(&bytes, "bytes")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        Ok(u32::try_from(self.call.handle_chunk(&bytes, now).len()).unwrap_or(u32::MAX))
    }

    /// `handleEnd` without converting the events (see `handleChunkQuiet`).
    #[wasm_bindgen(js_name = handleEndQuiet)]
    pub fn handle_end_quiet(&mut self, now_ms: JsValue) -> Result<u32, JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        Ok(u32::try_from(self.call.handle_end(now).len()).unwrap_or(u32::MAX))
    }

    /// The transport failed: `failure` is the core's `Failure` JSON, as the
    /// transport saw it (`{type: "connection"}` whenever the connection
    /// failed; the call knows whether a stream was being read).
    #[wasm_bindgen(js_name = handleTransportError)]
    pub fn handle_transport_error(&mut self, failure: JsValue, now_ms: JsValue) -> Result<(), JsValue> {
        let failure = failure_from_js(failure)?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.body.clear();
        self.call.handle_transport_error(failure, now);
        Ok(())
    }

    /// The connection failed, and `detail` is what the runtime said (`send`'s
    /// `detail`): the call ends, if it ends on it, with an `APIConnectionError`
    /// naming the base URL's origin and that detail (never the path or key).
    #[wasm_bindgen(js_name = handleConnectionError)]
    pub fn handle_connection_error(&mut self, detail: String, now_ms: JsValue) -> Result<(), JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        match &self.sender {
            Some(cfg) => self.call.handle_connection_error(&cfg.base_url, &detail, now),
            None => self.call.handle_transport_error(Failure::Connection, now),
        }
        Ok(())
    }

    /// Time passed with nothing read: past `deadline` the attempt times
    /// out. Returns whether it did.
    #[wasm_bindgen(js_name = handleTimeout)]
    pub fn handle_timeout(&mut self, now_ms: JsValue) -> Result<bool, JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        let timed_out = self.call.handle_timeout(now);
        if timed_out {
            self.body.clear();
        }
        Ok(timed_out)
    }

    /// Whether the body should still be read.
    #[wasm_bindgen(getter, js_name = isReading)]
    pub fn is_reading(&self) -> bool {
        self.call.is_reading()
    }

    /// While a request is out, the Unix ms by which the next input must
    /// arrive (the head or a whole body within the read timeout, each chunk
    /// within the idle timeout); null otherwise.
    #[wasm_bindgen(getter)]
    pub fn deadline(&self) -> JsValue {
        self.call.deadline().map_or(JsValue::NULL, u64_js)
    }

    /// The largest body the call reads; a driver may stop reading a whole
    /// body one byte past it.
    #[wasm_bindgen(getter, js_name = maxBodyBytes)]
    pub fn max_body_bytes(&self) -> f64 {
        self.max_body_bytes as f64
    }

    /// The current attempt, 0-based.
    #[wasm_bindgen(getter)]
    pub fn attempt(&self) -> u32 {
        self.call.attempt()
    }

    /// The message so far, while a stream is read.
    #[wasm_bindgen(getter, js_name = partialMessage)]
    pub fn partial_message(&self) -> Result<JsValue, JsValue> {
        self.call.partial_message().map_or(Ok(JsValue::NULL), to_js)
    }

    /// What became of the last attempt: null, `{outcome: "succeeded"}` or
    /// `{outcome: "failed", error, decision}` (`error` an Error object,
    /// `decision` the core's `RetryDecision` JSON).
    #[wasm_bindgen(getter, js_name = lastAttempt)]
    pub fn last_attempt(&self) -> Result<JsValue, JsValue> {
        Ok(match self.call.last_attempt() {
            None => JsValue::NULL,
            Some(AttemptOutcome::Succeeded) => object(&[("outcome", JsValue::from_str("succeeded"))]),
            Some(AttemptOutcome::Failed { error, decision }) => {
                object(&[("outcome", JsValue::from_str("failed")), ("error", attempt_error(error, None)), ("decision", to_js(decision)?)])
            }
        })
    }

    /// The result once `nextAction` said done: for a message `{message,
    /// tool_input_issues, attempts, request_id, rate_limit}`, for a count
    /// `{input_tokens, attempts, request_id}`, for a webhook `{status,
    /// attempts}`; or the failure thrown (with `code`, `attempts`, `giveUp`
    /// and `partial`); null when there is none (yet).
    #[wasm_bindgen(js_name = takeResult)]
    pub fn take_result(&mut self) -> Result<JsValue, JsValue> {
        match self.call.take_output() {
            None => Ok(JsValue::NULL),
            Some(Ok(o)) => output_js(&o),
            Some(Err(e)) => Err(call_error(e)),
        }
    }
}
