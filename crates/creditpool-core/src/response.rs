//! Reading a non-streaming response: a status, headers and a body become an
//! [`api::Message`] (or a token count), or a typed error.
//!
//! The rules, for every function here:
//!
//! * A 2xx body is parsed strictly into the expected shape; if it is not that
//!   shape the result is [`ParseError::Malformed`] carrying serde's description
//!   (with line and column). A 2xx body that is an API error object
//!   (`{"type": "error", ...}`) is read as that [`ApiError`].
//! * A non-2xx response is always an [`ApiError`], whatever its body: the kind
//!   comes from the body's `error.type`, else from the status
//!   ([`ApiErrorKind::from_status`]); the message from `error.message`, else a
//!   short excerpt of the body (an HTML page from a proxy, an empty body); the
//!   request ID from the `request-id` header, else the body's `request_id`.
//! * A body longer than [`ResponseLimits::max_body_bytes`] is not parsed. On a
//!   2xx response that is [`ParseError::TooLarge`]; on an error status it is
//!   still the [`ApiError`] the status implies (so that, say, a 529 stays
//!   retryable), with an excerpt of the body as its message.
//! * Nesting is bounded: serde_json refuses JSON nested more than 128 levels
//!   deep with an error, and nothing here recurses on its own, so a body of a
//!   hundred thousand `[` is a [`ParseError::Malformed`], not a stack overflow.

use crate::api;
use crate::error::{ApiError, ApiErrorKind, ParseError};
use crate::http::Headers;
use serde::Deserialize;
use serde_json::Value;

/// The default cap on a response body: 32 MiB, the API's own request cap.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The default length, in characters, of a body excerpt used as an error message.
pub const DEFAULT_EXCERPT_CHARS: usize = 200;

/// Limits on what a response may make the core do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseLimits {
    /// The largest body, in bytes, that is parsed ([`DEFAULT_MAX_BODY_BYTES`]).
    /// A transport may stop reading after `max_body_bytes + 1` bytes and pass
    /// what it has: the answer is the same.
    pub max_body_bytes: usize,
    /// How many characters of an unreadable error body become the error's
    /// message ([`DEFAULT_EXCERPT_CHARS`]).
    pub excerpt_chars: usize,
}

impl Default for ResponseLimits {
    fn default() -> ResponseLimits {
        ResponseLimits { max_body_bytes: DEFAULT_MAX_BODY_BYTES, excerpt_chars: DEFAULT_EXCERPT_CHARS }
    }
}

/// Why a response did not yield what was asked for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The API reported an error (an error status, or an error object).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The response could not be read.
    #[error(transparent)]
    Parse(#[from] ParseError),
}

impl ResponseError {
    /// The API error, if that is what this is.
    pub fn as_api_error(&self) -> Option<&ApiError> {
        match self {
            ResponseError::Api(e) => Some(e),
            ResponseError::Parse(_) => None,
        }
    }
}

/// Reads the response of `POST /v1/messages` (without streaming). See the
/// [module documentation](self) for the rules.
pub fn parse_message(status: u16, headers: &Headers, body: &[u8], limits: &ResponseLimits) -> Result<api::Message, ResponseError> {
    parse_success(status, headers, body, limits, "message")
}

/// Reads the response of `POST /v1/messages/count_tokens`:
/// `{"input_tokens": n}` gives `n`. Other fields are ignored. See the
/// [module documentation](self) for the rules.
pub fn parse_count_tokens(status: u16, headers: &Headers, body: &[u8], limits: &ResponseLimits) -> Result<u64, ResponseError> {
    #[derive(Deserialize)]
    struct CountTokens {
        input_tokens: u64,
    }
    parse_success::<CountTokens>(status, headers, body, limits, "token count").map(|c| c.input_tokens)
}

/// Reads the data of an SSE `error` event, which the API may send after HTTP
/// 200: `{"type": "error", "error": {"type": ..., "message": ...}}`. The result
/// has `status: None`. The event itself says that the stream failed, so this
/// never fails: data that is not a readable error object gives an
/// [`ApiErrorKind::Api`] error with an excerpt of the data as its message.
pub fn parse_error_event(data: &str) -> ApiError {
    let value = serde_json::from_str::<Value>(data).ok();
    let mut error = error_from_value(value.as_ref(), data.as_bytes(), DEFAULT_EXCERPT_CHARS)
        .unwrap_or_else(|| ApiError { kind: ApiErrorKind::Api, message: excerpt_message(None, data.as_bytes(), DEFAULT_EXCERPT_CHARS), status: None, request_id: None });
    error.status = None;
    error
}

fn parse_success<T: for<'de> Deserialize<'de>>(status: u16, headers: &Headers, body: &[u8], limits: &ResponseLimits, what: &'static str) -> Result<T, ResponseError> {
    let success = (200..300).contains(&status);
    if !success {
        return Err(api_error(status, headers, body, limits).into());
    }
    if body.len() > limits.max_body_bytes {
        return Err(ParseError::TooLarge { what, size: body.len(), limit: limits.max_body_bytes }.into());
    }
    match serde_json::from_slice::<T>(body) {
        Ok(v) => Ok(v),
        Err(e) => {
            // Not the expected shape; perhaps an error object sent with a 2xx.
            if let Ok(v) = serde_json::from_slice::<Value>(body) {
                if v.get("type").and_then(Value::as_str) == Some("error") {
                    if let Some(mut err) = error_from_value(Some(&v), body, limits.excerpt_chars) {
                        err.status = Some(status);
                        err.request_id = header_request_id(headers).or(err.request_id);
                        return Err(err.into());
                    }
                }
            }
            Err(ParseError::malformed(what, e).into())
        }
    }
}

/// The [`ApiError`] of a non-2xx response; never fails.
fn api_error(status: u16, headers: &Headers, body: &[u8], limits: &ResponseLimits) -> ApiError {
    let value = if body.len() <= limits.max_body_bytes { serde_json::from_slice::<Value>(body).ok() } else { None };
    let from_body = error_from_value(value.as_ref(), body, limits.excerpt_chars);
    let body_request_id = value.as_ref().and_then(|v| v.get("request_id")).and_then(Value::as_str).map(str::to_owned);
    let (kind, message) = match from_body {
        Some(e) => (e.kind, e.message),
        None => (ApiErrorKind::from_status(status), excerpt_message(Some(status), body, limits.excerpt_chars)),
    };
    ApiError { kind, message, status: Some(status), request_id: header_request_id(headers).or(body_request_id) }
}

fn header_request_id(headers: &Headers) -> Option<String> {
    headers.get("request-id").map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// The error of an error object `{"error": {"type": T, "message": M}, "request_id": R}`
/// when `error.type` is a non-empty string. A missing or non-string message
/// becomes an excerpt of the raw body. `status` is left `None`.
fn error_from_value(value: Option<&Value>, raw: &[u8], excerpt_chars: usize) -> Option<ApiError> {
    let value = value?;
    let error = value.get("error")?;
    let kind = error.get("type").and_then(Value::as_str).filter(|t| !t.is_empty())?;
    let message = match error.get("message").and_then(Value::as_str) {
        Some(m) => m.to_owned(),
        None => excerpt(raw, excerpt_chars),
    };
    let request_id = value.get("request_id").and_then(Value::as_str).map(str::to_owned);
    Some(ApiError { kind: ApiErrorKind::from_type(kind), message, status: None, request_id })
}

/// A message for an error body that says nothing readable: the status and a
/// short excerpt of the body.
fn excerpt_message(status: Option<u16>, body: &[u8], chars: usize) -> String {
    let text = excerpt(body, chars);
    match (status, text.is_empty()) {
        (Some(s), true) => format!("HTTP {s} with an empty body"),
        (Some(s), false) => format!("HTTP {s}: {text}"),
        (None, true) => "error event without data".to_owned(),
        (None, false) => format!("unreadable error event: {text}"),
    }
}

/// The first `chars` characters of `body` (invalid UTF-8 replaced), with runs of
/// whitespace collapsed to one space, and `…` when cut.
fn excerpt(body: &[u8], chars: usize) -> String {
    // At most 4 bytes a character, plus slack for collapsed whitespace.
    let window = body.get(..body.len().min(chars.saturating_mul(8).saturating_add(8))).unwrap_or(body);
    let text = String::from_utf8_lossy(window);
    let mut out = String::new();
    let mut count = 0usize;
    let mut cut = window.len() < body.len();
    for word in text.split_whitespace() {
        if count > 0 {
            if count >= chars {
                cut = true;
                break;
            }
            out.push(' ');
            count += 1;
        }
        for c in word.chars() {
            if count >= chars {
                cut = true;
                break;
            }
            out.push(c);
            count += 1;
        }
    }
    if cut {
        out.truncate(out.trim_end().len());
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok_body() -> &'static str {
        r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":2}}"#
    }

    #[test]
    fn reads_a_message() {
        let m = parse_message(200, &Headers::new(), ok_body().as_bytes(), &ResponseLimits::default()).unwrap();
        assert_eq!(m.text(), "Hi");
        assert_eq!(m.usage.output_tokens, 2);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        for body in [deep.clone(), format!(r#"{{"id":{deep}"#), format!(r#"{{"type":"error","error":{deep}"#)] {
            let err = parse_message(200, &Headers::new(), body.as_bytes(), &ResponseLimits::default()).unwrap_err();
            assert!(matches!(err, ResponseError::Parse(ParseError::Malformed { .. })), "{err:?}");
            let err = parse_message(500, &Headers::new(), body.as_bytes(), &ResponseLimits::default()).unwrap_err();
            let api = err.as_api_error().unwrap();
            assert_eq!(api.kind, ApiErrorKind::Api);
            assert!(api.message.chars().count() < 250, "{}", api.message);
        }
        let e = parse_error_event(&deep);
        assert_eq!(e.kind, ApiErrorKind::Api);
        assert_eq!(e.status, None);
    }

    #[test]
    fn nesting_just_under_the_limit_is_read() {
        let nested = format!("{}1{}", "[".repeat(120), "]".repeat(120));
        let body = ok_body().replace(r#""stop_sequence":null"#, &format!(r#""stop_sequence":null,"deep":{nested}"#));
        let m = parse_message(200, &Headers::new(), body.as_bytes(), &ResponseLimits::default()).unwrap();
        assert!(m.extra.contains_key("deep"));
    }

    #[test]
    fn too_large() {
        let limits = ResponseLimits { max_body_bytes: 10, ..ResponseLimits::default() };
        let err = parse_message(200, &Headers::new(), ok_body().as_bytes(), &limits).unwrap_err();
        assert_eq!(err, ResponseError::Parse(ParseError::TooLarge { what: "message", size: ok_body().len(), limit: 10 }));
        let err = parse_message(529, &Headers::new(), br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#, &limits).unwrap_err();
        let api = err.as_api_error().unwrap();
        assert_eq!((api.kind.clone(), api.status), (ApiErrorKind::Overloaded, Some(529)));
        assert!(api.message.starts_with("HTTP 529: {\"type\":\"error\""), "{}", api.message);
    }

    #[test]
    fn excerpts() {
        assert_eq!(excerpt(b"", 10), "");
        assert_eq!(excerpt(b"  a \n\t b  ", 10), "a b");
        assert_eq!(excerpt(b"abcdefghijkl", 5), "abcde…");
        assert_eq!(excerpt(b"abc def", 4), "abc…");
        assert_eq!(excerpt(b"abc def", 3), "abc…");
        assert_eq!(excerpt("ééééé".as_bytes(), 3), "ééé…");
        assert_eq!(excerpt(b"\xff\xfeok", 10), "\u{fffd}\u{fffd}ok");
        let big = "x".repeat(10_000);
        assert_eq!(excerpt(big.as_bytes(), 200).chars().count(), 201);
        assert_eq!(excerpt(big.as_bytes(), 0), "…");
    }

    #[test]
    fn error_event() {
        let e = parse_error_event(r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}"#);
        assert_eq!(e, ApiError { kind: ApiErrorKind::Overloaded, message: "Overloaded".into(), status: None, request_id: Some("req_1".into()) });
        let e = parse_error_event("");
        assert_eq!((e.kind, e.message.as_str()), (ApiErrorKind::Api, "error event without data"));
        let e = parse_error_event("{\"error\": \"boom\"}");
        assert_eq!(e.kind, ApiErrorKind::Api);
        assert!(e.message.contains("boom"), "{}", e.message);
    }
}
