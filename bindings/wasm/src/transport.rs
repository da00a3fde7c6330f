//! The one piece of I/O that stays inside the wasm module: sending a request
//! the core built, because its headers hold the API key, which must never
//! reach JS. Everything else an attempt needs (waiting within the core's
//! deadline, reading the body, reporting what happened, sleeping) is done by
//! the package's one attempt player, `js/src/player.js`, for calls and agents
//! alike.
//!
//! [`send_js`] sends through `gloo-net` (the global `fetch`, in Node 18+ and
//! browsers) with the caller's `AbortSignal`, and resolves to the response's
//! head and body stream (`{status, headers, body}`, `body` a `ReadableStream`
//! or null) or to `{failure: {type: "connection"}}`: the core's raw
//! `Failure`, whatever `fetch` said. It never times out on its own: the
//! player waits no longer than the machine's `deadline()` and reports
//! `handleTimeout`.
//!
//! It never follows a redirect (`redirect: "manual"`): the key must not reach
//! another host, so a 3xx is handed to the core as the answer.

use creditpool_core::http::{Headers, HttpRequest};
use creditpool_core::retry::Failure;
use gloo_net::http::{Method, RequestBuilder};
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_sys::AbortSignal;

use crate::convert::{object, pairs_to_js, to_js};
use crate::errors;

#[wasm_bindgen(inline_js = r#"
export function jitterSeed() {
    return Math.floor(Math.random() * 9007199254740992);
}
export function fetchRequest(request) {
    return globalThis.fetch(request);
}
export function failureDetail(e) {
    // What the runtime said about a failed fetch: Node's OS error (the
    // cause's syscall and code, e.g. "connect ECONNREFUSED"), else the
    // error's message (a browser's "Failed to fetch"). The core words it
    // with the origin and drops a detail that holds a URL.
    try {
        const c = e && e.cause;
        if (c && typeof c.code === 'string') {
            return [c.syscall, c.code].filter((x) => typeof x === 'string' && x).join(' ');
        }
        if (c && typeof c.message === 'string' && c.message) return c.message;
        return e && typeof e.message === 'string' ? e.message : '';
    } catch {
        return '';
    }
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = jitterSeed)]
    fn jitter_seed_js() -> f64;
    #[wasm_bindgen(js_name = fetchRequest)]
    fn fetch_request(request: &web_sys::Request) -> Promise;
    #[wasm_bindgen(js_name = failureDetail)]
    fn failure_detail(e: &JsValue) -> String;
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

/// Why a request was not sent.
#[derive(Clone, Debug, PartialEq)]
pub enum SendError {
    /// The request cannot go on the wire (a header value `fetch` refuses, an
    /// invalid URL); not a transport failure.
    Invalid(String),
    /// `fetch` failed (refused, reset, DNS, TLS, CORS, aborted), with what
    /// the runtime said (the OS error in Node; never the URL).
    Failed(String),
}

/// Sends `http` to `base_url` + its path with `signal`. Resolves when the
/// response's headers have arrived.
pub async fn send(base_url: &str, http: &HttpRequest, signal: Option<&AbortSignal>) -> Result<web_sys::Response, SendError> {
    let url = format!("{}{}", base_url.trim_end_matches('/'), http.path);
    // Headers are appended one by one so that a value fetch refuses (a
    // character beyond Latin-1, say) is an error here, not a throw from
    // inside gloo-net.
    let headers = web_sys::Headers::new().map_err(|_| SendError::Invalid("cannot make a Headers object".into()))?;
    for (name, value) in &http.headers {
        if headers.append(name, value).is_err() {
            return Err(SendError::Invalid(format!("header {name:?} has a value fetch cannot send")));
        }
    }
    let method = match http.method.as_str() {
        "GET" => Method::GET,
        "OPTIONS" => Method::OPTIONS,
        _ => Method::POST,
    };
    let body = Uint8Array::from(http.body.as_slice());
    let request = RequestBuilder::new(&url)
        .method(method)
        .headers(gloo_net::http::Headers::from_raw(headers))
        .abort_signal(signal)
        // A request holding the key never follows a redirect: the 3xx itself
        // is the answer, and the core reads it as an API error of that status.
        // (A browser hides the status of a redirect it did not follow: an
        // "opaqueredirect" response, status 0.)
        .redirect(web_sys::RequestRedirect::Manual)
        .body(body)
        .map_err(|e| SendError::Invalid(e.to_string()))?;
    // fetch is called here rather than through gloo-net's `send`, which keeps
    // only the error's message: the cause holds the OS error.
    let request: web_sys::Request = request.into();
    match wasm_bindgen_futures::JsFuture::from(fetch_request(&request)).await {
        Ok(response) => response.dyn_into::<web_sys::Response>().map_err(|_| SendError::Failed("fetch did not answer a Response".into())),
        Err(e) => Err(SendError::Failed(failure_detail(&e))),
    }
}

/// A response's headers as the core reads them.
pub fn response_headers(response: &web_sys::Response) -> Headers {
    let mut out = Vec::new();
    if let Ok(Some(iter)) = js_sys::try_iter(&response.headers()) {
        for entry in iter.flatten() {
            let pair = js_sys::Array::from(&entry);
            if let (Some(k), Some(v)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
                out.push((k, v));
            }
        }
    }
    Headers(out)
}

/// [`send`] as a promise for the JS player: `{status, headers, body}` or
/// `{failure, detail}` (the core's `Failure` JSON, and what the runtime said). Rejects only when the request
/// cannot be sent at all (`RequestBuildError`, code `invalid_header`).
pub fn send_js(base_url: String, http: HttpRequest, signal: Option<AbortSignal>) -> Promise {
    future_to_promise(async move {
        match send(&base_url, &http, signal.as_ref()).await {
            Ok(response) => {
                let headers = response_headers(&response);
                let body = response.body().map_or(JsValue::NULL, JsValue::from);
                Ok(object(&[("status", JsValue::from(response.status())), ("headers", pairs_to_js(&headers.0)), ("body", body)]))
            }
            Err(SendError::Failed(detail)) => Ok(object(&[("failure", to_js(&Failure::Connection)?), ("detail", JsValue::from_str(&detail))])),
            Err(SendError::Invalid(m)) => Err(errors::make("invalid_header", "configuration_error", &m, JsValue::UNDEFINED)),
        }
    })
}
