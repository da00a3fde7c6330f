//! Reading responses: `creditpool_core::response` and
//! `creditpool_core::ratelimit`.

use creditpool_core::ratelimit::RateLimitInfo;
use creditpool_core::response::{self, ResponseLimits};
use wasm_bindgen::prelude::*;

use crate::convert::{bytes_from_js, headers_from_js, to_js, u64_from_js, u64_js};
use crate::errors;

fn limits(max_body_bytes: Option<f64>) -> Result<ResponseLimits, JsValue> {
    let mut limits = ResponseLimits::default();
    if let Some(max) = max_body_bytes {
        if !(max >= 0.0 && max.fract() == 0.0 && max <= 9_007_199_254_740_991.0) {
            return Err(errors::simple("invalid_argument", "maxBodyBytes must be a non-negative integer"));
        }
        limits.max_body_bytes = usize::try_from(max as u64).unwrap_or(usize::MAX);
    }
    Ok(limits)
}

/// Reads the response of `POST /v1/messages`: the message, or a thrown API
/// error (by the API's error type) or `malformed_response` /
/// `response_too_large`. `headers` is `[[name, value], ...]`; `body` a
/// `Uint8Array` or a string.
#[wasm_bindgen(js_name = parseMessage)]
pub fn parse_message(status: u16, headers: JsValue, body: JsValue, max_body_bytes: Option<f64>) -> Result<JsValue, JsValue> {
    let headers = headers_from_js(headers, "headers")?;
    let body = bytes_from_js(&body, "body")?;
    let message = response::parse_message(status, &headers, &body, &limits(max_body_bytes)?).map_err(|e| errors::response_error(&e))?;
    to_js(&message)
}

/// Reads the response of `POST /v1/messages/count_tokens`: the input token count.
#[wasm_bindgen(js_name = parseCountTokens)]
pub fn parse_count_tokens(status: u16, headers: JsValue, body: JsValue, max_body_bytes: Option<f64>) -> Result<JsValue, JsValue> {
    let headers = headers_from_js(headers, "headers")?;
    let body = bytes_from_js(&body, "body")?;
    let n = response::parse_count_tokens(status, &headers, &body, &limits(max_body_bytes)?).map_err(|e| errors::response_error(&e))?;
    Ok(u64_js(n))
}

/// The API error an SSE `error` event's data describes (returned, not thrown).
#[wasm_bindgen(js_name = parseErrorEvent)]
pub fn parse_error_event(data: &str) -> JsValue {
    errors::api_error(&response::parse_error_event(data), None)
}

/// What a response's headers say about rate limits and retrying, read at
/// `nowMs` (Unix ms): `{requests, tokens, input_tokens, output_tokens}` each
/// `{limit, remaining, reset_at_ms}`, and `retry_after_ms`, `should_retry`,
/// `request_id` (null when absent or unreadable).
#[wasm_bindgen(js_name = rateLimitInfo)]
pub fn rate_limit_info(headers: JsValue, now_ms: JsValue) -> Result<JsValue, JsValue> {
    let headers = headers_from_js(headers, "headers")?;
    let now_ms = u64_from_js(&now_ms, "nowMs")?;
    to_js(&RateLimitInfo::from_headers(&headers, now_ms))
}
