//! The I/O the core asks for: HTTP through `gloo-net` (the global `fetch`, in
//! Node 18+ and browsers), timers, the clock and jitter seeds.
//!
//! Aborting and timeouts go through one `AbortController` per attempt (an
//! [`Attempt`]), linked to the caller's `AbortSignal`: `fetch` is never handed
//! the caller's signal itself, so that whatever reason the caller aborts with,
//! `fetch` rejects with an `AbortError`, and the attempt records whether the
//! caller or a timer aborted it.

use creditpool_core::http::{Headers, HttpRequest};
use creditpool_core::retry::TimeoutPhase;
use gloo_net::http::{Method, RequestBuilder, Response};
use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, ReadableStreamDefaultReader};

#[wasm_bindgen(inline_js = r#"
const MAX_TIMER_MS = 2147483647;

export class Attempt {
    constructor(userSignal, timeoutMs) {
        this.ctl = new AbortController();
        this.timedOut = false;
        this.userAborted = false;
        this.timer = null;
        this.user = userSignal || null;
        this.onAbort = () => {
            this.userAborted = true;
            this.ctl.abort();
        };
        if (this.user) {
            if (this.user.aborted) this.onAbort();
            else this.user.addEventListener('abort', this.onAbort);
        }
        this.arm(timeoutMs);
    }
    get signal() {
        return this.ctl.signal;
    }
    arm(ms) {
        this.disarm();
        if (ms > 0 && Number.isFinite(ms)) {
            this.timer = setTimeout(() => {
                this.timer = null;
                this.timedOut = true;
                this.ctl.abort();
            }, Math.min(ms, MAX_TIMER_MS));
        }
    }
    disarm() {
        if (this.timer !== null) {
            clearTimeout(this.timer);
            this.timer = null;
        }
    }
    abort() {
        this.ctl.abort();
    }
    close() {
        this.disarm();
        if (this.user) this.user.removeEventListener('abort', this.onAbort);
    }
}

export function sleep(ms, signal) {
    return new Promise((resolve) => {
        if (signal && signal.aborted) return resolve(false);
        let timer = null;
        const onAbort = () => {
            if (timer !== null) clearTimeout(timer);
            resolve(false);
        };
        timer = setTimeout(() => {
            if (signal) signal.removeEventListener('abort', onAbort);
            resolve(true);
        }, Math.max(0, Math.min(ms, MAX_TIMER_MS)));
        if (signal) signal.addEventListener('abort', onAbort, { once: true });
    });
}

export function readChunk(reader, attempt, idleMs) {
    attempt.arm(idleMs);
    return reader.read().then(
        (r) => {
            attempt.disarm();
            return r.done ? null : r.value;
        },
        (e) => {
            attempt.disarm();
            throw e;
        },
    );
}

export function describeError(e) {
    if (e === null || e === undefined) return String(e);
    let text = typeof e === 'object' && typeof e.message === 'string' ? e.message : String(e);
    const cause = typeof e === 'object' ? e.cause : undefined;
    if (cause !== undefined && cause !== null) {
        const c = typeof cause === 'object' && typeof cause.message === 'string' ? cause.message : String(cause);
        if (c && !text.includes(c)) text = `${text}: ${c}`;
    }
    return text;
}

export function cancelQuietly(reader) {
    reader.cancel().catch(() => {});
}

export function nowMs() {
    return Date.now();
}

export function jitterSeed() {
    return Math.floor(Math.random() * 9007199254740992);
}
"#)]
extern "C" {
    /// One attempt's abort controller, linked to the caller's signal, with a
    /// timer that aborts it.
    pub type Attempt;

    #[wasm_bindgen(constructor)]
    fn create(user_signal: Option<AbortSignal>, timeout_ms: f64) -> Attempt;

    #[wasm_bindgen(method, getter)]
    fn signal(this: &Attempt) -> AbortSignal;

    /// (Re)starts the timer: `ms` from now the attempt is aborted as timed out.
    #[wasm_bindgen(method)]
    pub fn arm(this: &Attempt, ms: f64);

    /// Stops the timer.
    #[wasm_bindgen(method)]
    pub fn disarm(this: &Attempt);

    /// Aborts the attempt (not as a timeout, not by the caller).
    #[wasm_bindgen(method)]
    pub fn abort(this: &Attempt);

    /// Stops the timer and unlinks the caller's signal.
    #[wasm_bindgen(method)]
    pub fn close(this: &Attempt);

    #[wasm_bindgen(method, getter, js_name = timedOut)]
    fn timed_out(this: &Attempt) -> bool;

    #[wasm_bindgen(method, getter, js_name = userAborted)]
    fn user_aborted(this: &Attempt) -> bool;

    #[wasm_bindgen(js_name = sleep)]
    fn sleep_js(ms: f64, signal: Option<AbortSignal>) -> Promise;

    #[wasm_bindgen(js_name = readChunk)]
    fn read_chunk(reader: &ReadableStreamDefaultReader, attempt: &Attempt, idle_ms: f64) -> Promise;

    #[wasm_bindgen(js_name = cancelQuietly)]
    fn cancel_quietly(reader: &ReadableStreamDefaultReader);

    #[wasm_bindgen(js_name = describeError)]
    fn describe_error(e: &JsValue) -> String;

    #[wasm_bindgen(js_name = nowMs)]
    fn now_ms_js() -> f64;

    #[wasm_bindgen(js_name = jitterSeed)]
    fn jitter_seed_js() -> f64;
}

impl Attempt {
    /// An attempt linked to `user_signal`, timing out after `timeout_ms`
    /// (`0` or less: never).
    pub fn start(user_signal: Option<AbortSignal>, timeout_ms: f64) -> Attempt {
        Attempt::create(user_signal, timeout_ms)
    }

    /// What a rejection during this attempt means.
    fn classify(&self, e: &JsValue, phase: TimeoutPhase) -> TransportError {
        if self.user_aborted() {
            TransportError::Aborted
        } else if self.timed_out() {
            TransportError::Timeout(phase)
        } else {
            TransportError::Connection(describe_error(e))
        }
    }
}

/// Why an attempt produced no (complete) response.
#[derive(Clone, Debug, PartialEq)]
pub enum TransportError {
    /// The caller aborted.
    Aborted,
    /// A timer ran out.
    Timeout(TimeoutPhase),
    /// `fetch` or the body stream failed (refused, reset, DNS, TLS, CORS).
    Connection(String),
    /// The request could not be built (an invalid URL or header); not retryable.
    Invalid(String),
}

/// The current time, Unix milliseconds.
pub fn now_ms() -> u64 {
    let t = now_ms_js();
    if t.is_finite() && t > 0.0 {
        t as u64
    } else {
        0
    }
}

/// A fresh seed for backoff jitter.
pub fn jitter_seed() -> u64 {
    let s = jitter_seed_js();
    if s.is_finite() && s > 0.0 {
        s as u64
    } else {
        0
    }
}

/// Waits `ms` milliseconds; `false` if `signal` aborted first.
pub async fn sleep(ms: u64, signal: Option<AbortSignal>) -> bool {
    match JsFuture::from(sleep_js(ms as f64, signal)).await {
        Ok(v) => v.as_bool().unwrap_or(false),
        Err(_) => false,
    }
}

/// Sends `http` to `base_url` + its path within `attempt`. Resolves when the
/// response's headers have arrived.
pub async fn send(base_url: &str, http: &HttpRequest, attempt: &Attempt) -> Result<Response, TransportError> {
    let url = format!("{}{}", base_url.trim_end_matches('/'), http.path);
    // Headers are appended one by one so that a value fetch refuses (a
    // character beyond Latin-1, say) is an error here, not a throw from
    // inside gloo-net.
    let headers = web_sys::Headers::new().map_err(|e| TransportError::Invalid(describe_error(&e)))?;
    for (name, value) in &http.headers {
        if headers.append(name, value).is_err() {
            return Err(TransportError::Invalid(format!("header {name:?} has a value fetch cannot send")));
        }
    }
    let method = match http.method.as_str() {
        "GET" => Method::GET,
        "OPTIONS" => Method::OPTIONS,
        _ => Method::POST,
    };
    let signal = attempt.signal();
    let body = Uint8Array::from(http.body.as_slice());
    let request = RequestBuilder::new(&url)
        .method(method)
        .headers(gloo_net::http::Headers::from_raw(headers))
        .abort_signal(Some(&signal))
        .body(body)
        .map_err(|e| TransportError::Invalid(e.to_string()))?;
    match request.send().await {
        Ok(response) => Ok(response),
        Err(gloo_net::Error::JsError(e)) => {
            let js: JsValue = JsValue::from_str(&e.message);
            Err(attempt.classify(&js, TimeoutPhase::Read))
        }
        Err(e) => Err(attempt.classify(&JsValue::from_str(&e.to_string()), TimeoutPhase::Read)),
    }
}

/// A response's headers as the core reads them.
pub fn response_headers(response: &Response) -> Headers {
    response.headers().entries().collect()
}

/// Reads a response body as it streams in.
#[derive(Clone)]
pub struct BodyReader {
    reader: Option<ReadableStreamDefaultReader>,
}

impl BodyReader {
    /// A reader of `response`'s body (an empty body when it has none).
    pub fn new(response: &Response) -> Result<BodyReader, TransportError> {
        match response.body() {
            None => Ok(BodyReader { reader: None }),
            Some(stream) => ReadableStreamDefaultReader::new(&stream)
                .map(|r| BodyReader { reader: Some(r) })
                .map_err(|e| TransportError::Connection(describe_error(&e))),
        }
    }

    /// The next chunk, `None` at the end. Each wait may last `idle_ms` (0:
    /// forever) before the attempt is aborted as timed out (`phase`).
    pub async fn next_chunk(&self, attempt: &Attempt, idle_ms: f64, phase: TimeoutPhase) -> Result<Option<Vec<u8>>, TransportError> {
        let Some(reader) = &self.reader else { return Ok(None) };
        match JsFuture::from(read_chunk(reader, attempt, idle_ms)).await {
            Ok(v) if v.is_null() || v.is_undefined() => Ok(None),
            Ok(v) => match v.dyn_into::<Uint8Array>() {
                Ok(a) => Ok(Some(a.to_vec())),
                Err(_) => Err(TransportError::Connection("the response body produced a chunk that is not bytes".into())),
            },
            Err(e) => Err(attempt.classify(&e, phase)),
        }
    }

    /// Reads the whole body, stopping once it holds more than `cap` bytes (the
    /// core reads a body of `cap + 1` bytes as "too large", so nothing more is
    /// needed). The attempt's timer, already running, bounds the whole read.
    pub async fn read_capped(&self, attempt: &Attempt, cap: usize) -> Result<Vec<u8>, TransportError> {
        let mut body = Vec::new();
        while let Some(chunk) = self.next_chunk_no_rearm(attempt).await? {
            body.extend_from_slice(&chunk);
            if body.len() > cap {
                self.cancel();
                break;
            }
        }
        Ok(body)
    }

    async fn next_chunk_no_rearm(&self, attempt: &Attempt) -> Result<Option<Vec<u8>>, TransportError> {
        let Some(reader) = &self.reader else { return Ok(None) };
        match JsFuture::from(reader.read()).await {
            Ok(result) => {
                let done = Reflect::get(&result, &JsValue::from_str("done")).ok().and_then(|d| d.as_bool()).unwrap_or(true);
                if done {
                    return Ok(None);
                }
                let value = Reflect::get(&result, &JsValue::from_str("value")).unwrap_or(JsValue::UNDEFINED);
                match value.dyn_into::<Uint8Array>() {
                    Ok(a) => Ok(Some(a.to_vec())),
                    Err(_) => Err(TransportError::Connection("the response body produced a chunk that is not bytes".into())),
                }
            }
            Err(e) => Err(attempt.classify(&e, TimeoutPhase::Read)),
        }
    }

    /// Stops reading; the rest of the body is discarded.
    pub fn cancel(&self) {
        if let Some(reader) = &self.reader {
            // The promise cancel() returns rejects if the stream had already
            // failed; that is not an error here, and nothing waits on it.
            cancel_quietly(reader);
        }
    }
}
