//! `RawClient` and `RawStream`: Messages API requests driven through the
//! core's `creditpool_core::call::MessagesCall` over [`crate::transport`].
//!
//! The JS package wraps these in `Client`, `client.messages.create()` and
//! `client.messages.stream()`. The call decides everything (what to send, how
//! to read it, whether and when to retry, the result); this module sends,
//! reads, sleeps and reports back.
//!
//! A retried stream starts over. When an attempt that had already handed
//! events to the caller fails and the call retries, the caller gets a
//! `{type: "stream_retry", attempt, delay_ms, reason, error}` item (not an API
//! event): what the failed attempt showed is void, and a new `message_start`
//! follows.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use creditpool_core::api::{Message, StreamEvent};
use creditpool_core::call::{AttemptOutcome, CallAction, CallOptions, MessagesCall, ReadBody};
use creditpool_core::http::{Headers, HttpRequest};
use creditpool_core::pricing;
use creditpool_core::request::{PoolSelectorOption, RequestBuilder, RequestOptions};
use creditpool_core::response::{self, ResponseError, ResponseLimits};
use creditpool_core::retry::{self, Failure, GiveUpReason, RetryDecision, TimeoutPhase};
use creditpool_core::tools;
use creditpool_core::ApiKey;
use js_sys::{Promise, Reflect};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;
use web_sys::AbortSignal;

use crate::call::{attempt_error, call_error, completed_js, transport_error};
use crate::convert::{from_js_with, object, opt_str, pairs_to_js, to_js, u64_js};
use crate::errors;
use crate::request::message_request;
use crate::transport::{self, Attempt, BodyReader, TransportError};

/// Default time allowed for a response's headers (and, without streaming, its
/// whole body): 10 minutes, as the official SDKs.
const DEFAULT_TIMEOUT_MS: f64 = 600_000.0;

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
pub(crate) struct Config {
    pub(crate) builder: RequestBuilder,
    pub(crate) base_url: String,
    /// The template of each call's options (`stream` and `jitter_seed` are set
    /// per call).
    pub(crate) call: CallOptions,
    /// Time allowed for a response's headers (and a whole body), in ms; 0: none.
    pub(crate) timeout_ms: f64,
    pub(crate) check_capabilities: bool,
}

fn millis(value: Option<f64>, name: &str) -> Result<Option<f64>, JsValue> {
    match value {
        None => Ok(None),
        Some(v) if v >= 0.0 && !v.is_nan() => Ok(Some(v)),
        Some(_) => Err(errors::configuration("invalid_options", &format!("{name} must be a non-negative number of milliseconds (0: none)"))),
    }
}

/// A Messages API client: the key, the base URL, the headers and pool
/// selector, the retry policy and timeouts.
#[wasm_bindgen]
pub struct RawClient {
    pub(crate) cfg: Rc<Config>,
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
        let mut call = CallOptions { retry: options.retry.unwrap_or_default(), ..CallOptions::default() };
        if let Some(n) = options.max_retries {
            call.retry.max_retries = n;
        }
        if let Some(idle) = millis(options.idle_timeout, "idleTimeout")? {
            // 0 means no idle timeout: the largest representable one.
            call.idle_timeout_ms = if idle == 0.0 { u64::MAX } else { idle as u64 };
        }
        Ok(RawClient {
            cfg: Rc::new(Config {
                builder,
                base_url: options.base_url,
                call,
                timeout_ms: millis(options.timeout, "timeout")?.unwrap_or(DEFAULT_TIMEOUT_MS),
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
        to_js(&self.cfg.call.retry)
    }

    /// Sends `request` (a Messages API body) without streaming; resolves to
    /// `{message, tool_input_issues, attempts, request_id, rate_limit}`.
    pub fn create(&self, request: JsValue, signal: Option<AbortSignal>) -> Result<Promise, JsValue> {
        let driver = self.driver(request, false, signal)?;
        Ok(future_to_promise(async move {
            let _guard = BusyGuard::enter(&driver)?;
            finish(&driver).await
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
            let n = count_with_retries(&cfg, &http, signal).await?;
            Ok(u64_js(n))
        }))
    }

    /// Starts a streamed request (nothing is sent until `open()`, `next()` or
    /// `finish()`).
    pub fn stream(&self, request: JsValue, signal: Option<AbortSignal>) -> Result<RawStream, JsValue> {
        Ok(RawStream { inner: self.driver(request, true, signal)? })
    }
}

impl RawClient {
    /// Reads and checks a request before anything is sent (the body's shape,
    /// the tool definitions, the model's capabilities unless switched off),
    /// and makes its call.
    fn driver(&self, request: JsValue, stream: bool, signal: Option<AbortSignal>) -> Result<Rc<RefCell<Driver>>, JsValue> {
        let request = message_request(request)?;
        tools::check_tools(&request.tools).map_err(|e| errors::tool_definition_error(&e))?;
        if self.cfg.check_capabilities {
            pricing::check_request(&request).map_err(|e| errors::capability_error(&e))?;
        }
        let options = CallOptions { stream, jitter_seed: transport::jitter_seed(), ..self.cfg.call.clone() };
        let call = MessagesCall::new(&self.cfg.builder, &request, options).map_err(|e| errors::request_error(&e))?;
        Ok(Rc::new(RefCell::new(Driver::new(self.cfg.clone(), call, signal))))
    }
}

/// The error for an aborted request.
pub(crate) fn aborted() -> JsValue {
    errors::simple("aborted", "the request was aborted")
}

/// `count_tokens` is not a message call: its retries are decided by the
/// policy directly.
async fn count_with_retries(cfg: &Config, http: &HttpRequest, signal: Option<AbortSignal>) -> Result<u64, JsValue> {
    let policy = &cfg.call.retry;
    let mut attempt_no: u32 = 0;
    loop {
        let attempt = Attempt::start(signal.clone(), cfg.timeout_ms);
        let exchanged = exchange(cfg, http, &attempt).await;
        attempt.close();
        let (failure, headers, error) = match exchanged {
            Ok((status, headers, body)) => {
                let limits = ResponseLimits { max_body_bytes: cfg.call.max_body_bytes, ..ResponseLimits::default() };
                match response::parse_count_tokens(status, &headers, &body, &limits) {
                    Ok(n) => return Ok(n),
                    Err(ResponseError::Api(e)) => {
                        let err = errors::api_error(&e, None);
                        (Failure::from_api_error(e), Some(headers), err)
                    }
                    Err(other) => return Err(with_retry_info(errors::response_error(&other), attempt_no.saturating_add(1), None)),
                }
            }
            Err(TransportError::Aborted) => return Err(aborted()),
            Err(TransportError::Invalid(m)) => return Err(errors::configuration("invalid_http_request", &m)),
            Err(TransportError::Timeout(phase)) => (Failure::Timeout { phase }, None, transport_error(&Failure::Timeout { phase }, None)),
            Err(TransportError::Connection(m)) => {
                (Failure::Connection, None, errors::make("connection_error", &format!("connection error: {m}"), JsValue::UNDEFINED, false))
            }
        };
        match policy.decide(attempt_no, &failure, headers.as_ref(), transport::jitter_seed(), transport::now_ms()) {
            RetryDecision::RetryAfter { delay_ms, .. } => {
                if !transport::sleep(delay_ms, signal.clone()).await {
                    return Err(aborted());
                }
            }
            RetryDecision::GiveUp { reason } => return Err(with_retry_info(error, attempt_no.saturating_add(1), Some(&reason))),
        }
        attempt_no = attempt_no.saturating_add(1);
    }
}

/// Adds how many attempts were made and why the policy gave up.
fn with_retry_info(err: JsValue, attempts: u32, reason: Option<&GiveUpReason>) -> JsValue {
    if err.is_object() {
        let _ = Reflect::set(&err, &JsValue::from_str("attempts"), &JsValue::from(attempts));
        if let Some(reason) = reason.and_then(|r| to_js(r).ok()) {
            let _ = Reflect::set(&err, &JsValue::from_str("giveUp"), &reason);
        }
    }
    err
}

/// One request and its whole response body (read up to the size cap).
async fn exchange(cfg: &Config, http: &HttpRequest, attempt: &Attempt) -> Result<(u16, Headers, Vec<u8>), TransportError> {
    let response = transport::send(&cfg.base_url, http, attempt).await?;
    let status = response.status();
    let headers = transport::response_headers(&response);
    let body = BodyReader::new(&response)?.read_capped(attempt, cfg.call.max_body_bytes).await?;
    Ok((status, headers, body))
}

/// A stream body being read.
struct Io {
    attempt: Attempt,
    reader: BodyReader,
}

/// What the caller gets next.
enum Item {
    /// An API event, with the attempt it belongs to.
    Event(Box<StreamEvent>, u32),
    Retry(JsValue),
}

/// One call being driven.
pub(crate) struct Driver {
    cfg: Rc<Config>,
    call: MessagesCall,
    signal: Option<AbortSignal>,
    /// After a wait, the clock the core sees is at least the wait's end, so
    /// that a timer firing a little early cannot make it wait again forever.
    floor: u64,
    io: Option<Io>,
    queue: VecDeque<Item>,
    /// The attempt whose events were last handed to the caller.
    delivered: Option<u32>,
    busy: bool,
    headers: Option<Headers>,
    /// The message of the last attempt that ended (partial or final).
    last_message: Option<Message>,
    /// The error every later call throws.
    failed: Option<JsValue>,
    /// `{message, tool_input_issues, attempts, request_id, rate_limit}`.
    finished: Option<JsValue>,
}

impl Driver {
    fn new(cfg: Rc<Config>, call: MessagesCall, signal: Option<AbortSignal>) -> Driver {
        Driver {
            cfg,
            call,
            signal,
            floor: 0,
            io: None,
            queue: VecDeque::new(),
            delivered: None,
            busy: false,
            headers: None,
            last_message: None,
            failed: None,
            finished: None,
        }
    }

    fn now(&self) -> u64 {
        transport::now_ms().max(self.floor)
    }

    fn close_io(&mut self) {
        if let Some(io) = self.io.take() {
            io.reader.cancel();
            io.attempt.close();
        }
    }

    /// Fails the call for good.
    fn fail(&mut self, err: JsValue) -> JsValue {
        if let Some(m) = self.call.partial_message() {
            self.last_message = Some(m.clone());
        }
        self.close_io();
        self.queue.clear();
        self.failed = Some(err.clone());
        err
    }

    fn message(&self) -> Option<&Message> {
        self.call.partial_message().or(self.last_message.as_ref())
    }

    /// Events of a new attempt are coming but the caller saw some of an
    /// earlier one: the `stream_retry` item that says so, once.
    fn take_retry_item(&mut self, until_ms: u64, now: u64) -> Option<JsValue> {
        let seen = self.delivered?;
        if self.call.attempt() <= seen {
            return None;
        }
        self.delivered = None;
        Some(self.retry_item(until_ms, now))
    }

    /// The `stream_retry` item for a retry after delivered events.
    fn retry_item(&self, until_ms: u64, now: u64) -> JsValue {
        let (reason, error) = match self.call.last_attempt() {
            Some(AttemptOutcome::Failed { error, decision: RetryDecision::RetryAfter { reason, .. } }) => {
                (to_js(reason).unwrap_or(JsValue::NULL), attempt_error(error, None))
            }
            _ => (JsValue::NULL, JsValue::NULL),
        };
        object(&[
            ("type", JsValue::from_str("stream_retry")),
            ("attempt", JsValue::from(self.call.attempt().saturating_sub(1))),
            ("delay_ms", u64_js(until_ms.saturating_sub(now))),
            ("reason", reason),
            ("error", error),
        ])
    }
}

/// Marks a driver busy for the duration of one call into it.
struct BusyGuard(Rc<RefCell<Driver>>);

impl BusyGuard {
    fn enter(inner: &Rc<RefCell<Driver>>) -> Result<BusyGuard, JsValue> {
        let mut d = inner.try_borrow_mut().map_err(|_| errors::busy("this stream"))?;
        if d.busy {
            return Err(errors::busy("this stream"));
        }
        d.busy = true;
        Ok(BusyGuard(inner.clone()))
    }
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        if let Ok(mut d) = self.0.try_borrow_mut() {
            d.busy = false;
        }
    }
}

fn borrow_mut(inner: &Rc<RefCell<Driver>>) -> Result<std::cell::RefMut<'_, Driver>, JsValue> {
    inner.try_borrow_mut().map_err(|_| errors::busy("this stream"))
}

/// The I/O to do next, decided while the driver is borrowed and done after.
enum Step {
    Send(Box<HttpRequest>),
    Read(BodyReader, Attempt, f64),
    Wait(u64, u64),
}

/// How far [`pump`] goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// To the next item for the caller, which it hands out.
    Deliver,
    /// To the end, applying events without handing them out.
    Drain,
    /// Until a response has begun (or the call ended); nothing is consumed.
    Open,
}

/// Drives the call until the next item for the caller (`Some`: an API event,
/// or a `stream_retry` item, in [`Mode::Deliver`]) or the end (`None`, with
/// `finished` set), or in [`Mode::Open`] until a response has begun.
async fn pump(inner: &Rc<RefCell<Driver>>, mode: Mode) -> Result<Option<JsValue>, JsValue> {
    let deliver = mode == Mode::Deliver;
    loop {
        let step = {
            let mut d = borrow_mut(inner)?;
            if let Some(err) = &d.failed {
                return Err(err.clone());
            }
            // Aborted by the caller: nothing more is handed out, not even
            // events already received.
            if d.finished.is_none() && d.signal.as_ref().is_some_and(AbortSignal::aborted) {
                return Err(d.fail(aborted()));
            }
            if mode == Mode::Open && (d.io.is_some() || !d.queue.is_empty() || d.finished.is_some()) {
                return Ok(None);
            }
            match d.queue.pop_front() {
                Some(Item::Event(ev, attempt)) => {
                    if deliver {
                        d.delivered = Some(attempt);
                        return to_js(&*ev).map(Some);
                    }
                    continue;
                }
                Some(Item::Retry(item)) => {
                    if deliver {
                        return Ok(Some(item));
                    }
                    continue;
                }
                None => {}
            }
            if d.finished.is_some() {
                return Ok(None);
            }
            let now = d.now();
            if d.call.is_reading() {
                let deadline = d.call.deadline().unwrap_or(u64::MAX);
                match &d.io {
                    Some(_) if now >= deadline => {
                        d.call.handle_transport_error(Failure::Timeout { phase: TimeoutPhase::Idle }, now);
                        d.close_io();
                        continue;
                    }
                    Some(io) => Step::Read(io.reader.clone(), JsValue::from(&io.attempt).unchecked_into(), deadline.saturating_sub(now) as f64),
                    None => {
                        d.call.handle_transport_error(Failure::Connection, now);
                        continue;
                    }
                }
            } else {
                match d.call.next_action(now) {
                    CallAction::Send(http) => {
                        if let Some(item) = d.take_retry_item(now, now) {
                            // Said before the new attempt's events; the
                            // request goes out on the next pump.
                            d.queue.push_back(Item::Retry(item));
                        }
                        Step::Send(Box::new(http))
                    }
                    CallAction::Wait { until_ms } => {
                        if let Some(item) = d.take_retry_item(until_ms, now) {
                            d.queue.push_back(Item::Retry(item));
                            continue;
                        }
                        Step::Wait(until_ms, now)
                    }
                    CallAction::Done => match d.call.take_result() {
                        Some(Ok(c)) => {
                            let js = completed_js(&c)?;
                            d.last_message = Some(c.message);
                            d.finished = Some(js);
                            return Ok(None);
                        }
                        Some(Err(e)) => {
                            d.last_message = e.partial.as_deref().cloned().or(d.last_message.take());
                            return Err(d.fail(call_error(&e)));
                        }
                        None => return Err(d.fail(errors::internal("a call ended without a result"))),
                    },
                }
            }
        };
        match step {
            Step::Send(http) => send(inner, &http).await?,
            Step::Read(reader, attempt, idle_ms) => {
                let chunk = reader.next_chunk(&attempt, idle_ms, TimeoutPhase::Idle).await;
                let mut d = borrow_mut(inner)?;
                let now = d.now();
                match chunk {
                    Ok(Some(bytes)) => {
                        let attempt = d.call.attempt();
                        let events = d.call.handle_chunk(&bytes, now);
                        d.queue.extend(events.into_iter().map(|e| Item::Event(Box::new(e), attempt)));
                        if !d.call.is_reading() {
                            d.close_io();
                        }
                    }
                    Ok(None) => {
                        let attempt = d.call.attempt();
                        let events = d.call.handle_end(now);
                        d.queue.extend(events.into_iter().map(|e| Item::Event(Box::new(e), attempt)));
                        d.close_io();
                    }
                    Err(TransportError::Aborted) => return Err(d.fail(aborted())),
                    Err(TransportError::Timeout(_)) => {
                        d.call.handle_transport_error(Failure::Timeout { phase: TimeoutPhase::Idle }, now);
                        d.close_io();
                    }
                    Err(TransportError::Connection(_) | TransportError::Invalid(_)) => {
                        // The body ended early (the peer closed or reset the
                        // connection): the core reads that as a cut stream,
                        // with the message so far.
                        let attempt = d.call.attempt();
                        let events = d.call.handle_end(now);
                        d.queue.extend(events.into_iter().map(|e| Item::Event(Box::new(e), attempt)));
                        d.close_io();
                    }
                }
            }
            Step::Wait(until_ms, now) => {
                let signal = borrow_mut(inner)?.signal.clone();
                let completed = transport::sleep(until_ms.saturating_sub(now), signal).await;
                let mut d = borrow_mut(inner)?;
                if !completed {
                    return Err(d.fail(aborted()));
                }
                d.floor = d.floor.max(until_ms);
            }
        }
    }
}

/// Sends one attempt and reports the response's head (and, when the call
/// reads it whole, its body) or the failure to the call.
async fn send(inner: &Rc<RefCell<Driver>>, http: &HttpRequest) -> Result<(), JsValue> {
    let (cfg, signal) = {
        let d = borrow_mut(inner)?;
        (d.cfg.clone(), d.signal.clone())
    };
    let attempt = Attempt::start(signal, cfg.timeout_ms);
    let sent = transport::send(&cfg.base_url, http, &attempt).await;
    let whole = {
        let mut d = borrow_mut(inner)?;
        let now = d.now();
        match sent {
            Err(e) => {
                attempt.close();
                return report_transport(&mut d, e, now);
            }
            Ok(response) => {
                let headers = transport::response_headers(&response);
                d.headers = Some(headers.clone());
                match d.call.handle_head(response.status(), &headers, now) {
                    ReadBody::Chunks => {
                        match BodyReader::new(&response) {
                            Ok(reader) => {
                                attempt.disarm();
                                d.io = Some(Io { attempt, reader });
                            }
                            Err(e) => {
                                attempt.close();
                                return report_transport(&mut d, e, now);
                            }
                        }
                        return Ok(());
                    }
                    ReadBody::Whole => response,
                }
            }
        }
    };
    let body = match BodyReader::new(&whole) {
        Ok(reader) => reader.read_capped(&attempt, cfg.call.max_body_bytes).await,
        Err(e) => Err(e),
    };
    attempt.close();
    let mut d = borrow_mut(inner)?;
    let now = d.now();
    match body {
        Ok(body) => {
            d.call.handle_body(&body, now);
            Ok(())
        }
        Err(e) => report_transport(&mut d, e, now),
    }
}

/// Reports a transport failure to the call, or fails for good (an abort, a
/// request fetch cannot send).
fn report_transport(d: &mut Driver, e: TransportError, now: u64) -> Result<(), JsValue> {
    match e {
        TransportError::Aborted => Err(d.fail(aborted())),
        TransportError::Invalid(m) => Err(d.fail(errors::configuration("invalid_http_request", &m))),
        TransportError::Timeout(phase) => {
            d.call.handle_transport_error(Failure::Timeout { phase }, now);
            Ok(())
        }
        TransportError::Connection(_) => {
            d.call.handle_transport_error(Failure::Connection, now);
            Ok(())
        }
    }
}

/// Drives the call to its end without handing out events; resolves to
/// `finished`.
async fn finish(inner: &Rc<RefCell<Driver>>) -> Result<JsValue, JsValue> {
    while pump(inner, Mode::Drain).await?.is_some() {}
    let d = borrow_mut(inner)?;
    match (&d.finished, &d.failed) {
        (Some(done), _) => Ok(done.clone()),
        (None, Some(err)) => Err(err.clone()),
        (None, None) => Err(errors::internal("a call ended without a result")),
    }
}

/// A streamed response being read: API events one by one, then the final
/// message.
#[wasm_bindgen]
pub struct RawStream {
    inner: Rc<RefCell<Driver>>,
}

#[wasm_bindgen]
impl RawStream {
    /// Sends the request and waits until a response begins (or the call
    /// ends). Resolves to `undefined`.
    pub fn open(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let _guard = BusyGuard::enter(&inner)?;
            pump(&inner, Mode::Open).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The next API event (or `stream_retry` item), or `null` at the end of
    /// the stream. Throws the call's failure.
    pub fn next(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let _guard = BusyGuard::enter(&inner)?;
            Ok(pump(&inner, Mode::Deliver).await?.unwrap_or(JsValue::NULL))
        })
    }

    /// Reads the rest of the stream (events not yet pulled are applied, not
    /// converted) and resolves to `{message, tool_input_issues, attempts,
    /// request_id, rate_limit}`.
    pub fn finish(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let _guard = BusyGuard::enter(&inner)?;
            finish(&inner).await
        })
    }

    /// The message so far (`null` before `message_start`).
    #[wasm_bindgen(getter)]
    pub fn message(&self) -> Result<JsValue, JsValue> {
        let d = self.inner.try_borrow().map_err(|_| errors::busy("this stream"))?;
        d.message().map_or(Ok(JsValue::NULL), to_js)
    }

    /// The headers of the latest response (`[[name, value], ...]`).
    #[wasm_bindgen(getter)]
    pub fn headers(&self) -> JsValue {
        match self.inner.try_borrow() {
            Ok(d) => d.headers.as_ref().map_or(JsValue::NULL, |h| pairs_to_js(&h.0)),
            Err(_) => JsValue::NULL,
        }
    }

    /// The latest response's `request-id`.
    #[wasm_bindgen(getter, js_name = requestId)]
    pub fn request_id(&self) -> JsValue {
        match self.inner.try_borrow() {
            Ok(d) => opt_str(d.headers.as_ref().and_then(|h| h.get("request-id"))),
            Err(_) => JsValue::NULL,
        }
    }

    /// Attempts made so far (1 for the first).
    #[wasm_bindgen(getter)]
    pub fn attempts(&self) -> u32 {
        self.inner.try_borrow().map(|d| d.call.attempt().saturating_add(1)).unwrap_or(0)
    }
}
