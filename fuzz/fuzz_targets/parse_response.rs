//! `response::parse_message` (and `parse_count_tokens`, `parse_error_event`,
//! `RateLimitInfo::from_headers`): an arbitrary status, headers and body.
//!
//! Input: `[status_hi, status_lo, max_body, excerpt, now (8 bytes), n_headers,
//! headers..., body...]`. `max_body` picks `max_body_bytes` (`0x00..=0x7F`:
//! that many bytes, else 32 MiB); `excerpt` is `excerpt_chars`; the low 3 bits
//! of `n_headers` count the headers, each `[name, len, value (len bytes)]`
//! with `name` an index into [`NAMES`] (past it, the name is the value's
//! first half).
//!
//! Checks, besides "never panics":
//! * a non-2xx status is always an `ApiError` carrying that status;
//! * a 2xx body over the cap is `ParseError::TooLarge` and nothing else;
//! * a message read from a body writes back to JSON that reads to the same
//!   message;
//! * an RFC 3339 time that parses (up to year 9999) formats back to itself.
#![no_main]

use creditpool_core::error::ParseError;
use creditpool_core::http::Headers;
use creditpool_core::ratelimit::RateLimitInfo;
use creditpool_core::response::{parse_count_tokens, parse_error_event, parse_message, ResponseError, ResponseLimits, DEFAULT_MAX_BODY_BYTES};
use creditpool_core::time::{format_rfc3339, parse_http_date, parse_rfc3339};
use creditpool_fuzz::{cap_from_byte, json_eq, Input};
use libfuzzer_sys::fuzz_target;

/// Header names the core reads.
const NAMES: &[&str] = &[
    "request-id",
    "retry-after",
    "retry-after-ms",
    "x-should-retry",
    "content-type",
    "anthropic-ratelimit-requests-limit",
    "anthropic-ratelimit-requests-remaining",
    "anthropic-ratelimit-requests-reset",
    "anthropic-ratelimit-tokens-limit",
    "anthropic-ratelimit-tokens-remaining",
    "anthropic-ratelimit-tokens-reset",
    "anthropic-ratelimit-input-tokens-limit",
    "anthropic-ratelimit-input-tokens-remaining",
    "anthropic-ratelimit-input-tokens-reset",
    "anthropic-ratelimit-output-tokens-limit",
    "anthropic-ratelimit-output-tokens-remaining",
    "anthropic-ratelimit-output-tokens-reset",
    "Request-Id",
    "Retry-After",
];

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let status = input.u16();
    let limits = ResponseLimits { max_body_bytes: cap_from_byte(input.u8(), DEFAULT_MAX_BODY_BYTES), excerpt_chars: usize::from(input.u8()) };
    let now_ms = input.u64();
    let n = input.u8() & 7;
    let mut headers = Headers::new();
    for _ in 0..n {
        let name = input.u8();
        let len = input.u8();
        let value = String::from_utf8_lossy(input.bytes(usize::from(len))).into_owned();
        match NAMES.get(usize::from(name)) {
            Some(name) => headers.push(*name, value),
            None => {
                let mid = value.char_indices().nth(value.chars().count() / 2).map_or(value.len(), |(i, _)| i);
                let (n, v) = value.split_at(mid);
                headers.push(n.to_owned(), v.to_owned());
            }
        }
    }
    let body = input.rest();
    let success = (200..300).contains(&status);

    let result = parse_message(status, &headers, body, &limits);
    match &result {
        Err(ResponseError::Api(e)) => assert_eq!(e.status, Some(status), "an API error without the response's status"),
        Err(ResponseError::Parse(ParseError::TooLarge { size, limit, .. })) => {
            assert!(success, "TooLarge on status {status}");
            assert_eq!((*size, *limit), (body.len(), limits.max_body_bytes));
        }
        Err(ResponseError::Parse(_)) => assert!(success, "a parse error on status {status}"),
        Ok(_) => assert!(success, "a message from status {status}"),
        Err(_) => {}
    }
    if !success {
        assert!(matches!(result, Err(ResponseError::Api(_))), "status {status} gave {result:?}");
    } else if body.len() > limits.max_body_bytes {
        assert!(matches!(result, Err(ResponseError::Parse(ParseError::TooLarge { .. }))), "an oversized body gave {result:?}");
    }
    if let Ok(message) = &result {
        let _ = message.text();
        let again = serde_json::to_vec(message).expect("a message serializes");
        match parse_message(200, &Headers::new(), &again, &ResponseLimits::default()) {
            Ok(back) => {
                let (a, b) = (serde_json::to_value(message).unwrap(), serde_json::to_value(&back).unwrap());
                assert!(json_eq(&a, &b), "a message changes when written and read back: {a} / {b}");
            }
            Err(e) => panic!("a parsed message does not read back: {e}\n{}", String::from_utf8_lossy(&again)),
        }
    }

    let _ = parse_count_tokens(status, &headers, body, &limits);
    let event = parse_error_event(&String::from_utf8_lossy(body));
    assert_eq!(event.status, None);

    let info = RateLimitInfo::from_headers(&headers, now_ms);
    let _ = serde_json::to_string(&info).expect("rate-limit info serializes");
    for (_, value) in headers.iter() {
        // Up to 9999-12-31T23:59:59.999Z: later years have five digits, which
        // RFC 3339 has no room for (an offset can push a 9999 date past it).
        if let Some(ms) = parse_rfc3339(value.trim()).filter(|ms| *ms < 253_402_300_800_000) {
            let formatted = format_rfc3339(ms);
            assert_eq!(parse_rfc3339(&formatted), Some(ms), "{value:?} -> {ms} -> {formatted:?} does not read back");
        }
        let _ = parse_http_date(value);
    }
});
