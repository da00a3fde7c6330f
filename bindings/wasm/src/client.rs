//! `RawClient` and `RawStream`: requests to the Messages API, sent over
//! [`crate::transport`], retried as `creditpool_core::retry::RetryPolicy`
//! decides, read by `creditpool_core::response` and `creditpool_core::sse`.
//!
//! The JS package wraps these in `Client`, `client.messages.create()` and
//! `client.messages.stream()`. The rules all come from the core; this module
//! only sequences the I/O: send, read, ask the policy, sleep, send again.
//!
//! Streams: a failure before any event was handed to the caller (an error
//! status, a refused connection, a cut or failing stream while only
//! `finish()` reads it) is retried as the policy decides. Once the caller has
//! seen events, a failure is thrown (with the message so far as `partial`),
//! because a retried stream would start over.

use std::cell::RefCell;
use std::rc::Rc;

use creditpool_core::api::{Message, StreamEvent};
use creditpool_core::http::{Headers, HttpRequest};
use creditpool_core::pricing;
use creditpool_core::request::{PoolSelectorOption, RequestBuilder, RequestOptions};
use creditpool_core::response::{self, ResponseError, ResponseLimits};
use creditpool_core::retry::{self, Failure, GiveUpReason, RetryDecision, TimeoutPhase};
use creditpool_core::sse::{MessageStream, StreamError};
use creditpool_core::tools;
use creditpool_core::ApiKey;
use js_sys::{Promise, Reflect};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;
use web_sys::AbortSignal;

use crate::convert::{from_js_with, object, opt_str, pairs_to_js, to_js, u64_js};
use crate::errors;
use crate::request::message_request;
use crate::sse::finished_js;
use crate::transport::{self, Attempt, BodyReader, TransportError};

/// Default time allowed for a response (headers and, without streaming, the
/// body): 10 minutes, as the official SDKs.
const DEFAULT_TIMEOUT_MS: f64 = 600_000.0;
/// Default time a stream may stay silent between chunks. The API sends
/// `ping` events while a response is being produced, so a longer silence means
/// a stalled connection.
const DEFAULT_IDLE_TIMEOUT_MS: f64 = 120_000.0;

fn yes() -> bool {
    true
}

/// The client's options as the JS `Client` passes them (camelCase; unknown
/// fields refused). The key travels separately.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClientOptions {
    #[serde(rename = "baseURL")]
    base_url: String,
    #[serde(default)]
    anthropic_version: Option<String>,
    #[serde(default)]
    betas: Vec<String>,
    #[serde(default)]
    browser: bool,
    #[serde(default)]
    pool_selector: Option<PoolSelectorOption>,
    #[serde(default)]
    extra_headers: Vec<(String, String)>,
    #[serde(default)]
    retry: Option<retry::RetryPolicy>,
    #[serde(default)]
    max_retries: Option<u32>,
    #[serde(default)]
    timeout: Option<f64>,
    #[serde(default)]
    idle_timeout: Option<f64>,
    #[serde(default = "yes")]
    check_capabilities: bool,
}

/// What every request of a client shares. Holds the key (inside the builder),
/// which nothing here prints.
struct Config {
    builder: RequestBuilder,
    base_url: String,
    policy: retry::RetryPolicy,
    timeout_ms: f64,
    idle_ms: f64,
    limits: ResponseLimits,
    check_capabilities: bool,
}

fn duration(value: Option<f64>, default: f64, name: &str) -> Result<f64, JsValue> {
    match value {
        None => Ok(default),
        Some(v) if v >= 0.0 && !v.is_nan() => Ok(v),
        Some(_) => Err(errors::configuration("invalid_options", &format!("{name} must be a non-negative number of milliseconds (0: none)"))),
    }
}

/// A Messages API client: the key, the base URL, the headers and pool
/// selector, the retry policy and timeouts.
#[wasm_bindgen]
pub struct RawClient {
    cfg: Rc<Config>,
}

#[wasm_bindgen]
impl RawClient {
    /// A client for `apiKey` with `options` (`{baseURL, anthropicVersion?,
    /// betas?, browser?, poolSelector?, extraHeaders?, retry?, maxRetries?,
    /// timeout?, idleTimeout?, checkCapabilities?}`). Throws
    /// `configuration_error`.
    #[wasm_bindgen(constructor)]
    pub fn new(api_key: &str, options: JsValue) -> Result<RawClient, JsValue> {
        let options: ClientOptions = from_js_with(options, |m| errors::configuration("invalid_options", &format!("invalid client options: {m}")))?;
        let request_options = RequestOptions {
            anthropic_version: options.anthropic_version,
            betas: options.betas,
            browser: options.browser,
            pool_selector: options.pool_selector,
            extra_headers: options.extra_headers,
        };
        let builder = RequestBuilder::new(request_options.into_config(ApiKey::new(api_key))).map_err(|e| errors::request_error(&e))?;
        let mut policy = options.retry.unwrap_or_default();
        if let Some(n) = options.max_retries {
            policy.max_retries = n;
        }
        Ok(RawClient {
            cfg: Rc::new(Config {
                builder,
                base_url: options.base_url,
                policy,
                timeout_ms: duration(options.timeout, DEFAULT_TIMEOUT_MS, "timeout")?,
                idle_ms: duration(options.idle_timeout, DEFAULT_IDLE_TIMEOUT_MS, "idleTimeout")?,
                limits: ResponseLimits::default(),
                check_capabilities: options.check_capabilities,
            }),
        })
    }

    /// The base URL requests go to.
    #[wasm_bindgen(getter, js_name = baseURL)]
    pub fn base_url(&self) -> String {
        self.cfg.base_url.clone()
    }

    /// The retry policy, as the core's JSON.
    #[wasm_bindgen(getter, js_name = retryPolicy)]
    pub fn retry_policy(&self) -> Result<JsValue, JsValue> {
        to_js(&self.cfg.policy)
    }

    /// Sends `request` (a Messages API body) without streaming; resolves to
    /// the message.
    pub fn create(&self, request: JsValue, signal: Option<AbortSignal>) -> Result<Promise, JsValue> {
        let http = self.prepare(request, false)?;
        let cfg = self.cfg.clone();
        Ok(future_to_promise(async move {
            let message = send_with_retries(&cfg, &http, signal, response::parse_message).await?;
            to_js(&message)
        }))
    }

    /// `POST /v1/messages/count_tokens` for `request`; resolves to the input
    /// token count.
    #[wasm_bindgen(js_name = countTokens)]
    pub fn count_tokens(&self, request: JsValue, signal: Option<AbortSignal>) -> Result<Promise, JsValue> {
        let request = message_request(request)?;
        let http = self.cfg.builder.count_tokens(&request).map_err(|e| errors::request_error(&e))?;
        let cfg = self.cfg.clone();
        Ok(future_to_promise(async move {
            let n = send_with_retries(&cfg, &http, signal, response::parse_count_tokens).await?;
            Ok(u64_js(n))
        }))
    }

    /// Starts a streamed request (nothing is sent until `open()`, `next()` or
    /// `finish()`).
    pub fn stream(&self, request: JsValue, signal: Option<AbortSignal>) -> Result<RawStream, JsValue> {
        let http = self.prepare(request, true)?;
        Ok(RawStream {
            inner: Rc::new(RefCell::new(StreamInner {
                cfg: self.cfg.clone(),
                http: Rc::new(http),
                signal,
                phase: Phase::Idle,
                attempt_no: 0,
                delivered: false,
                busy: false,
                headers: None,
                last_message: None,
                failed: None,
                finished: None,
            })),
        })
    }
}

impl RawClient {
    /// Reads and checks a request before anything is sent: the body's shape,
    /// the tool definitions, the model's capabilities (unless switched off),
    /// then the HTTP request.
    fn prepare(&self, request: JsValue, stream: bool) -> Result<HttpRequest, JsValue> {
        let request = message_request(request)?;
        tools::check_tools(&request.tools).map_err(|e| errors::tool_definition_error(&e))?;
        if self.cfg.check_capabilities {
            pricing::check_request(&request).map_err(|e| errors::capability_error(&e))?;
        }
        self.cfg.builder.messages(&request, stream).map_err(|e| errors::request_error(&e))
    }
}

/// The error for an aborted request.
fn aborted() -> JsValue {
    errors::simple("aborted", "the request was aborted")
}

/// Adds what the retry loop knows to a final error: how many attempts were
/// made and, when the policy gave up, why (the core's `GiveUpReason` JSON).
fn with_retry_info(err: JsValue, attempts: u32, reason: Option<&GiveUpReason>) -> JsValue {
    if err.is_object() {
        let _ = Reflect::set(&err, &JsValue::from_str("attempts"), &JsValue::from(attempts));
        if let Some(reason) = reason {
            if let Ok(r) = to_js(reason) {
                let _ = Reflect::set(&err, &JsValue::from_str("giveUp"), &r);
            }
        }
    }
    err
}

/// A transport failure: a `Failure` for the policy with the error to throw if
/// it gives up, or an error that ends the request at once.
enum Outcome {
    Retryable(Failure, JsValue),
    Fatal(JsValue),
}

fn transport_outcome(e: TransportError, partial: Option<&Message>) -> Outcome {
    match e {
        TransportError::Aborted => Outcome::Fatal(aborted()),
        TransportError::Invalid(m) => Outcome::Fatal(errors::configuration("invalid_http_request", &m)),
        TransportError::Timeout(phase) => {
            let phase_name = match phase {
                TimeoutPhase::Connect => "connect",
                TimeoutPhase::Read => "read",
                TimeoutPhase::Idle => "idle",
                _ => "read",
            };
            let partial = partial.and_then(|m| to_js(m).ok()).unwrap_or(JsValue::NULL);
            let err = errors::make(
                "connection_timeout",
                &format!("the request timed out ({phase_name})"),
                object(&[("phase", JsValue::from_str(phase_name)), ("partial", partial)]),
                false,
            );
            Outcome::Retryable(Failure::Timeout { phase }, err)
        }
        TransportError::Connection(m) => {
            Outcome::Retryable(Failure::Connection, errors::make("connection_error", &format!("connection error: {m}"), JsValue::UNDEFINED, false))
        }
    }
}

/// Asks the policy about a failed attempt and waits if it says retry.
/// `Ok(())`: go again. `Err`: the error to throw.
async fn decide_and_wait(
    cfg: &Config,
    attempt_no: u32,
    failure: &Failure,
    headers: Option<&Headers>,
    error: JsValue,
    signal: Option<AbortSignal>,
) -> Result<(), JsValue> {
    match cfg.policy.decide(attempt_no, failure, headers, transport::jitter_seed(), transport::now_ms()) {
        RetryDecision::RetryAfter { delay_ms, .. } => {
            if transport::sleep(delay_ms, signal).await {
                Ok(())
            } else {
                Err(aborted())
            }
        }
        RetryDecision::GiveUp { reason } => Err(with_retry_info(error, attempt_no.saturating_add(1), Some(&reason))),
    }
}

/// Sends one non-streamed request, reads the whole response, and parses it
/// with `parse`; retries as the policy decides.
async fn send_with_retries<T>(
    cfg: &Config,
    http: &HttpRequest,
    signal: Option<AbortSignal>,
    parse: fn(u16, &Headers, &[u8], &ResponseLimits) -> Result<T, ResponseError>,
) -> Result<T, JsValue> {
    let mut attempt_no: u32 = 0;
    loop {
        let attempt = Attempt::start(signal.clone(), cfg.timeout_ms);
        let exchanged = exchange(cfg, http, &attempt).await;
        attempt.close();
        let (failure, headers, error) = match exchanged {
            Ok((status, headers, body)) => match parse(status, &headers, &body, &cfg.limits) {
                Ok(value) => return Ok(value),
                Err(ResponseError::Api(e)) => {
                    let err = errors::api_error(&e, None);
                    (Failure::from_api_error(e), Some(headers), err)
                }
                Err(other) => return Err(with_retry_info(errors::response_error(&other), attempt_no.saturating_add(1), None)),
            },
            Err(e) => match transport_outcome(e, None) {
                Outcome::Fatal(err) => return Err(err),
                Outcome::Retryable(failure, err) => (failure, None, err),
            },
        };
        decide_and_wait(cfg, attempt_no, &failure, headers.as_ref(), error, signal.clone()).await?;
        attempt_no = attempt_no.saturating_add(1);
    }
}

/// One request and its whole response body (read up to the size cap).
async fn exchange(cfg: &Config, http: &HttpRequest, attempt: &Attempt) -> Result<(u16, Headers, Vec<u8>), TransportError> {
    let response = transport::send(&cfg.base_url, http, attempt).await?;
    let status = response.status();
    let headers = transport::response_headers(&response);
    let body = BodyReader::new(&response)?.read_capped(attempt, cfg.limits.max_body_bytes).await?;
    Ok((status, headers, body))
}

/// An open stream: its attempt, body and parser.
struct Open {
    attempt: Attempt,
    reader: BodyReader,
    parser: MessageStream,
    ended: bool,
}

enum Phase {
    /// Not sent yet, or about to be sent again.
    Idle,
    /// Headers received; the body is being read.
    Open(Box<Open>),
    /// Finished or failed for good.
    Closed,
}

struct StreamInner {
    cfg: Rc<Config>,
    http: Rc<HttpRequest>,
    signal: Option<AbortSignal>,
    phase: Phase,
    attempt_no: u32,
    /// Whether an event was handed to the caller (no retry after that).
    delivered: bool,
    /// Whether a call is in progress.
    busy: bool,
    /// The headers of the response being read.
    headers: Option<Headers>,
    /// The message of the last closed attempt (partial or final).
    last_message: Option<Message>,
    /// The error every later call throws.
    failed: Option<JsValue>,
    /// `{message, tool_input_issues}` once finished.
    finished: Option<JsValue>,
}

impl StreamInner {
    /// Ends the current attempt, keeping its message so far.
    fn close_attempt(&mut self) {
        if let Phase::Open(open) = std::mem::replace(&mut self.phase, Phase::Idle) {
            open.reader.cancel();
            open.attempt.close();
            if let Some(m) = open.parser.message() {
                self.last_message = Some(m.clone());
            }
        }
    }

    /// Fails the stream for good.
    fn fail(&mut self, err: JsValue) -> JsValue {
        self.close_attempt();
        self.phase = Phase::Closed;
        self.failed = Some(err.clone());
        err
    }

    fn message(&self) -> Option<&Message> {
        match &self.phase {
            Phase::Open(open) => open.parser.message().or(self.last_message.as_ref()),
            _ => self.last_message.as_ref(),
        }
    }
}

/// Marks a stream busy for the duration of one call.
struct BusyGuard(Rc<RefCell<StreamInner>>);

impl BusyGuard {
    fn enter(inner: &Rc<RefCell<StreamInner>>) -> Result<BusyGuard, JsValue> {
        let mut s = inner.try_borrow_mut().map_err(|_| errors::busy("this stream"))?;
        if s.busy {
            return Err(errors::busy("this stream"));
        }
        s.busy = true;
        Ok(BusyGuard(inner.clone()))
    }
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        if let Ok(mut s) = self.0.try_borrow_mut() {
            s.busy = false;
        }
    }
}

/// What to do next, decided while the state is borrowed and done after.
enum Step {
    Open,
    Event(Box<StreamEvent>),
    Drained,
    Read(BodyReader, Attempt),
    Fail(Option<Failure>, JsValue),
}

fn borrow_mut(inner: &Rc<RefCell<StreamInner>>) -> Result<std::cell::RefMut<'_, StreamInner>, JsValue> {
    inner.try_borrow_mut().map_err(|_| errors::busy("this stream"))
}

/// The `Failure` a stream error stands for, when retrying might cure it.
fn stream_failure(e: &StreamError) -> Option<Failure> {
    match e {
        StreamError::Api { error, .. } => Some(Failure::StreamError { error: error.clone() }),
        StreamError::Incomplete { .. } => Some(Failure::StreamTruncated),
        _ => None,
    }
}

/// Sends the request (again) until a 2xx response's headers arrive, retrying
/// as the policy decides.
async fn open(inner: &Rc<RefCell<StreamInner>>) -> Result<(), JsValue> {
    loop {
        let (cfg, http, signal, attempt_no) = {
            let s = borrow_mut(inner)?;
            (s.cfg.clone(), s.http.clone(), s.signal.clone(), s.attempt_no)
        };
        let attempt = Attempt::start(signal.clone(), cfg.timeout_ms);
        let (failure, headers, error) = match transport::send(&cfg.base_url, &http, &attempt).await {
            Ok(response) if (200..300).contains(&response.status()) => {
                let headers = transport::response_headers(&response);
                match BodyReader::new(&response) {
                    Ok(reader) => {
                        attempt.disarm();
                        let mut s = borrow_mut(inner)?;
                        s.headers = Some(headers);
                        s.phase = Phase::Open(Box::new(Open { attempt, reader, parser: MessageStream::new(), ended: false }));
                        return Ok(());
                    }
                    Err(e) => match transport_outcome(e, None) {
                        Outcome::Fatal(err) => return Err(borrow_mut(inner)?.fail(err)),
                        Outcome::Retryable(failure, err) => (failure, Some(headers), err),
                    },
                }
            }
            Ok(response) => {
                let status = response.status();
                let headers = transport::response_headers(&response);
                let body = match BodyReader::new(&response) {
                    Ok(reader) => reader.read_capped(&attempt, cfg.limits.max_body_bytes).await,
                    Err(e) => Err(e),
                };
                match body {
                    Ok(body) => match response::parse_message(status, &headers, &body, &cfg.limits) {
                        Err(ResponseError::Api(e)) => {
                            let err = errors::api_error(&e, None);
                            (Failure::from_api_error(e), Some(headers), err)
                        }
                        Err(other) => return Err(borrow_mut(inner)?.fail(errors::response_error(&other))),
                        Ok(_) => return Err(borrow_mut(inner)?.fail(errors::internal("a non-2xx response parsed as a message"))),
                    },
                    Err(e) => match transport_outcome(e, None) {
                        Outcome::Fatal(err) => return Err(borrow_mut(inner)?.fail(err)),
                        Outcome::Retryable(failure, err) => (failure, Some(headers), err),
                    },
                }
            }
            Err(e) => match transport_outcome(e, None) {
                Outcome::Fatal(err) => {
                    attempt.close();
                    return Err(borrow_mut(inner)?.fail(err));
                }
                Outcome::Retryable(failure, err) => (failure, None, err),
            },
        };
        attempt.close();
        match decide_and_wait(&cfg, attempt_no, &failure, headers.as_ref(), error, signal).await {
            Ok(()) => borrow_mut(inner)?.attempt_no = attempt_no.saturating_add(1),
            Err(err) => return Err(borrow_mut(inner)?.fail(err)),
        }
    }
}

/// After a failure mid-stream: retry (when no event was handed out yet and
/// the policy agrees) or fail for good.
async fn retry_or_fail(inner: &Rc<RefCell<StreamInner>>, failure: Option<Failure>, error: JsValue) -> Result<(), JsValue> {
    let (cfg, headers, signal, attempt_no) = {
        let mut s = borrow_mut(inner)?;
        s.close_attempt();
        let failure_ok = failure.is_some();
        if s.delivered || !failure_ok {
            let attempts = s.attempt_no.saturating_add(1);
            return Err(s.fail(with_retry_info(error, attempts, None)));
        }
        (s.cfg.clone(), s.headers.clone(), s.signal.clone(), s.attempt_no)
    };
    let Some(failure) = failure else { return Err(error) };
    match decide_and_wait(&cfg, attempt_no, &failure, headers.as_ref(), error, signal).await {
        Ok(()) => {
            let mut s = borrow_mut(inner)?;
            s.attempt_no = attempt_no.saturating_add(1);
            s.phase = Phase::Idle;
            Ok(())
        }
        Err(err) => Err(borrow_mut(inner)?.fail(err)),
    }
}

/// Drives the stream until the next event (`Some`) or its end (`None`).
/// `deliver` marks events as handed to the caller.
async fn pump(inner: &Rc<RefCell<StreamInner>>, deliver: bool) -> Result<Option<StreamEvent>, JsValue> {
    loop {
        let step = {
            let mut s = borrow_mut(inner)?;
            if let Some(err) = &s.failed {
                return Err(err.clone());
            }
            // Aborted by the caller: nothing more is handed out, even events
            // already received.
            if s.finished.is_none() && s.signal.as_ref().is_some_and(AbortSignal::aborted) {
                return Err(s.fail(aborted()));
            }
            let step = match &mut s.phase {
                Phase::Idle => Step::Open,
                Phase::Closed => Step::Drained,
                Phase::Open(open) => match open.parser.next_event() {
                    Ok(Some(ev)) => Step::Event(Box::new(ev)),
                    Ok(None) if open.ended => {
                        if open.parser.accumulator().is_complete() {
                            Step::Drained
                        } else {
                            let e =
                                StreamError::Incomplete { partial: open.parser.message().cloned().map(Box::new), reason: "no message_stop".into() };
                            Step::Fail(stream_failure(&e), errors::stream_error(&e))
                        }
                    }
                    Ok(None) => Step::Read(open.reader.clone(), JsValue::from(&open.attempt).unchecked_into()),
                    Err(e) => Step::Fail(stream_failure(&e), errors::stream_error(&e)),
                },
            };
            if deliver && matches!(step, Step::Event(_)) {
                s.delivered = true;
            }
            step
        };
        match step {
            Step::Event(ev) => return Ok(Some(*ev)),
            Step::Drained => return Ok(None),
            Step::Open => open(inner).await?,
            Step::Fail(failure, err) => retry_or_fail(inner, failure, err).await?,
            Step::Read(reader, attempt) => {
                let idle_ms = borrow_mut(inner)?.cfg.idle_ms;
                let chunk = reader.next_chunk(&attempt, idle_ms, TimeoutPhase::Idle).await;
                let outcome = {
                    let mut s = borrow_mut(inner)?;
                    match chunk {
                        Ok(Some(bytes)) => {
                            if let Phase::Open(open) = &mut s.phase {
                                open.parser.feed(&bytes);
                            }
                            None
                        }
                        Ok(None) => {
                            if let Phase::Open(open) = &mut s.phase {
                                open.ended = true;
                                open.parser.end_of_input();
                                open.attempt.close();
                            }
                            None
                        }
                        Err(TransportError::Connection(m)) => {
                            let partial = s.message().cloned().map(Box::new);
                            let e = StreamError::Incomplete { partial, reason: format!("the connection failed: {m}") };
                            Some((Some(Failure::StreamTruncated), errors::stream_error(&e)))
                        }
                        Err(e) => match transport_outcome(e, s.message()) {
                            Outcome::Fatal(err) => return Err(s.fail(err)),
                            Outcome::Retryable(failure, err) => Some((Some(failure), err)),
                        },
                    }
                };
                if let Some((failure, err)) = outcome {
                    retry_or_fail(inner, failure, err).await?;
                }
            }
        }
    }
}

/// A streamed response being read: API events one by one, then the final
/// message.
#[wasm_bindgen]
pub struct RawStream {
    inner: Rc<RefCell<StreamInner>>,
}

#[wasm_bindgen]
impl RawStream {
    /// Sends the request and waits for the response headers (retrying as the
    /// policy decides). Resolves to `undefined`.
    pub fn open(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let _guard = BusyGuard::enter(&inner)?;
            let idle = {
                let s = borrow_mut(&inner)?;
                if let Some(err) = &s.failed {
                    return Err(err.clone());
                }
                matches!(s.phase, Phase::Idle)
            };
            if idle {
                open(&inner).await?;
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The next API event, or `null` at the end of the stream. Throws the
    /// stream's failure.
    pub fn next(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let _guard = BusyGuard::enter(&inner)?;
            match pump(&inner, true).await? {
                Some(ev) => to_js(&ev),
                None => Ok(JsValue::NULL),
            }
        })
    }

    /// Reads the rest of the stream (events not yet pulled are applied, not
    /// converted) and resolves to `{message, tool_input_issues}`.
    pub fn finish(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let _guard = BusyGuard::enter(&inner)?;
            if let Some(done) = &borrow_mut(&inner)?.finished {
                return Ok(done.clone());
            }
            while pump(&inner, false).await?.is_some() {}
            let mut s = borrow_mut(&inner)?;
            if let Some(done) = &s.finished {
                return Ok(done.clone());
            }
            let Phase::Open(open) = std::mem::replace(&mut s.phase, Phase::Closed) else {
                return Err(s.fail(errors::internal("the stream ended without a parser")));
            };
            open.attempt.close();
            match open.parser.finish() {
                Ok(finished) => {
                    let js = finished_js(&finished)?;
                    s.last_message = Some(finished.message);
                    s.finished = Some(js.clone());
                    Ok(js)
                }
                Err(e) => Err(s.fail(errors::stream_error(&e))),
            }
        })
    }

    /// The message so far (`null` before `message_start`).
    #[wasm_bindgen(getter)]
    pub fn message(&self) -> Result<JsValue, JsValue> {
        let s = self.inner.try_borrow().map_err(|_| errors::busy("this stream"))?;
        match s.message() {
            Some(m) => to_js(m),
            None => Ok(JsValue::NULL),
        }
    }

    /// The response's headers (`[[name, value], ...]`), once it has arrived.
    #[wasm_bindgen(getter)]
    pub fn headers(&self) -> JsValue {
        match self.inner.try_borrow() {
            Ok(s) => s.headers.as_ref().map_or(JsValue::NULL, |h| pairs_to_js(&h.0)),
            Err(_) => JsValue::NULL,
        }
    }

    /// The response's `request-id`, once it has arrived.
    #[wasm_bindgen(getter, js_name = requestId)]
    pub fn request_id(&self) -> JsValue {
        match self.inner.try_borrow() {
            Ok(s) => opt_str(s.headers.as_ref().and_then(|h| h.get("request-id"))),
            Err(_) => JsValue::NULL,
        }
    }

    /// Attempts made so far (1 for the first).
    #[wasm_bindgen(getter)]
    pub fn attempts(&self) -> u32 {
        self.inner.try_borrow().map(|s| s.attempt_no.saturating_add(1)).unwrap_or(0)
    }
}
