//! The rate-limit and retry headers of an API response.
//!
//! [`RateLimitInfo::from_headers`] reads them into plain values. It never fails:
//! a header that is missing or unreadable is `None`, because a response must not
//! become an error over a header the API merely advises with.

use crate::http::Headers;
use crate::time::{parse_http_date, parse_rfc3339};
use serde::{Deserialize, Serialize};

/// One rate-limited resource (requests, tokens, input tokens or output tokens),
/// from `anthropic-ratelimit-<resource>-{limit,remaining,reset}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitBucket {
    /// The most the organization may use in the window.
    pub limit: Option<u64>,
    /// What is left of it now.
    pub remaining: Option<u64>,
    /// When the bucket is fully replenished, in Unix milliseconds (the header is
    /// RFC 3339).
    pub reset_at_ms: Option<u64>,
}

impl RateLimitBucket {
    /// Whether none of the three headers was present and readable.
    pub fn is_empty(&self) -> bool {
        self.limit.is_none() && self.remaining.is_none() && self.reset_at_ms.is_none()
    }

    fn from_headers(headers: &Headers, resource: &str) -> RateLimitBucket {
        let get = |field: &str| headers.get(&format!("anthropic-ratelimit-{resource}-{field}"));
        RateLimitBucket {
            limit: get("limit").and_then(parse_u64),
            remaining: get("remaining").and_then(parse_u64),
            reset_at_ms: get("reset").and_then(|v| parse_rfc3339(v.trim())),
        }
    }
}

/// What a response's headers say about rate limits and retrying. Serializes to
/// a plain JSON object (every field always present, `null` when unknown), which
/// is the shape the bindings hand to Python and JS.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitInfo {
    /// `anthropic-ratelimit-requests-*`.
    pub requests: RateLimitBucket,
    /// `anthropic-ratelimit-tokens-*` (the most restrictive token limit).
    pub tokens: RateLimitBucket,
    /// `anthropic-ratelimit-input-tokens-*`.
    pub input_tokens: RateLimitBucket,
    /// `anthropic-ratelimit-output-tokens-*`.
    pub output_tokens: RateLimitBucket,
    /// How long the server asks the client to wait before retrying, in
    /// milliseconds from `now_ms`: `retry-after-ms` when readable, else
    /// `retry-after` (delta-seconds, fractional allowed, or an IMF-fixdate HTTP
    /// date; a date in the past gives 0). Fractions of a millisecond round up.
    pub retry_after_ms: Option<u64>,
    /// `x-should-retry`: the server's own verdict on retrying, when it gives one.
    pub should_retry: Option<bool>,
    /// `request-id`.
    pub request_id: Option<String>,
}

impl RateLimitInfo {
    /// Reads the headers of a response received at `now_ms` (Unix milliseconds).
    ///
    /// Header names are matched case-insensitively and the first occurrence
    /// wins. Values are trimmed of surrounding whitespace. Counts must be plain
    /// non-negative integers; `x-should-retry` must be `true` or `false` (any
    /// ASCII case). Anything else is ignored, never an error.
    pub fn from_headers(headers: &Headers, now_ms: u64) -> RateLimitInfo {
        RateLimitInfo {
            requests: RateLimitBucket::from_headers(headers, "requests"),
            tokens: RateLimitBucket::from_headers(headers, "tokens"),
            input_tokens: RateLimitBucket::from_headers(headers, "input-tokens"),
            output_tokens: RateLimitBucket::from_headers(headers, "output-tokens"),
            retry_after_ms: retry_after_ms(headers, now_ms),
            should_retry: headers.get("x-should-retry").and_then(|v| {
                let v = v.trim();
                if v.eq_ignore_ascii_case("true") {
                    Some(true)
                } else if v.eq_ignore_ascii_case("false") {
                    Some(false)
                } else {
                    None
                }
            }),
            request_id: headers.get("request-id").map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()),
        }
    }
}

/// The server's requested delay: `retry-after-ms`, else `retry-after`.
fn retry_after_ms(headers: &Headers, now_ms: u64) -> Option<u64> {
    if let Some(ms) = headers.get("retry-after-ms").and_then(|v| parse_decimal(v.trim(), 0)) {
        return Some(ms);
    }
    let v = headers.get("retry-after")?.trim();
    parse_decimal(v, 3).or_else(|| parse_http_date(v).map(|at| at.saturating_sub(now_ms)))
}

/// A plain non-negative integer (`1*DIGIT`).
fn parse_u64(v: &str) -> Option<u64> {
    let v = v.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// A non-negative decimal `1*DIGIT ["." 1*DIGIT]` multiplied by `10^scale` and
/// rounded up to an integer (`scale` 3 turns seconds into milliseconds).
/// Saturates at `u64::MAX` rather than failing on a huge value.
fn parse_decimal(v: &str, scale: u32) -> Option<u64> {
    let (int, frac) = match v.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (v, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || !frac.is_none_or(all_digits) {
        return None;
    }
    let mut value = int.bytes().fold(0u64, |acc, b| acc.saturating_mul(10).saturating_add(u64::from(b - b'0')));
    let frac = frac.unwrap_or("");
    let mut digits = frac.bytes();
    for _ in 0..scale {
        let d = digits.next().map_or(0, |b| b - b'0');
        value = value.saturating_mul(10).saturating_add(u64::from(d));
    }
    if digits.any(|b| b != b'0') {
        value = value.saturating_add(1);
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Headers {
        pairs.iter().copied().collect()
    }

    #[test]
    fn decimal_grammar() {
        assert_eq!(parse_decimal("2", 3), Some(2_000));
        assert_eq!(parse_decimal("1.5", 3), Some(1_500));
        assert_eq!(parse_decimal("0.0001", 3), Some(1));
        assert_eq!(parse_decimal("0.0010", 3), Some(1));
        assert_eq!(parse_decimal("250.5", 0), Some(251));
        assert_eq!(parse_decimal("99999999999999999999999", 3), Some(u64::MAX));
        for bad in ["", ".5", "5.", "-1", "+1", "1e3", "inf", "NaN", "1 2", "1.2.3", "٣"] {
            assert_eq!(parse_decimal(bad, 3), None, "{bad}");
        }
    }

    #[test]
    fn retry_after_ms_wins_over_retry_after_unless_unreadable() {
        let h = headers(&[("retry-after", "30"), ("Retry-After-Ms", "1200")]);
        assert_eq!(RateLimitInfo::from_headers(&h, 0).retry_after_ms, Some(1_200));
        let h = headers(&[("retry-after", "30"), ("retry-after-ms", "soon")]);
        assert_eq!(RateLimitInfo::from_headers(&h, 0).retry_after_ms, Some(30_000));
    }

    #[test]
    fn http_date_is_relative_to_now_and_never_negative() {
        let h = headers(&[("retry-after", "Wed, 25 Nov 2026 01:29:41 GMT")]);
        assert_eq!(RateLimitInfo::from_headers(&h, 1_795_570_171_000).retry_after_ms, Some(10_000));
        assert_eq!(RateLimitInfo::from_headers(&h, 1_795_570_191_000).retry_after_ms, Some(0));
    }

    #[test]
    fn empty_headers_give_empty_info() {
        let info = RateLimitInfo::from_headers(&Headers::new(), 0);
        assert_eq!(info, RateLimitInfo::default());
        assert!(info.requests.is_empty());
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["requests"]["limit"], serde_json::Value::Null);
        assert!(json.as_object().unwrap().contains_key("retry_after_ms"));
    }
}
