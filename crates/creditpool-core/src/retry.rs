//! Whether and when to retry a failed attempt.
//!
//! [`RetryPolicy::decide`] takes what went wrong ([`Failure`]), the response's
//! headers if there was a response, a seed for jitter and the current time, and
//! answers [`RetryDecision::RetryAfter`] with a delay, or
//! [`RetryDecision::GiveUp`] with a reason. It sleeps on nothing and draws no
//! random numbers: the caller waits, and the caller supplies the seed.
//!
//! [`Failure`], [`RetryDecision`] and [`RetryPolicy`] serialize to plain JSON
//! (snake_case tags), so bindings and the conformance vectors pass them through
//! as they are.

use crate::error::{ApiError, ApiErrorKind};
use crate::http::Headers;
use crate::ratelimit::RateLimitInfo;
use serde::{Deserialize, Serialize};

/// The default number of retries after the first attempt (as the official SDKs).
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// The default longest server-requested delay that is honoured: 10 minutes.
pub const DEFAULT_MAX_RETRY_AFTER_MS: u64 = 10 * 60 * 1_000;
/// The default backoff before the first retry: 0.5 s.
pub const DEFAULT_INITIAL_BACKOFF_MS: u64 = 500;
/// The default longest backoff: 8 s.
pub const DEFAULT_MAX_BACKOFF_MS: u64 = 8_000;
/// The default jitter: up to 25 % is taken off the backoff.
pub const DEFAULT_JITTER: f64 = 0.25;

/// How many times to retry, and how long to wait in between.
///
/// Read from JSON strictly: unknown fields are an error, missing fields take
/// their defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Retries after the first attempt; `0` never retries. Default 2.
    pub max_retries: u32,
    /// The longest delay a server may ask for (`retry-after-ms` or `retry-after`)
    /// that is still honoured. A longer request makes [`RetryPolicy::decide`]
    /// give up with [`GiveUpReason::RetryAfterTooLong`], so that the caller
    /// decides whether to wait that long. Default 10 minutes (600,000 ms).
    pub max_retry_after_ms: u64,
    /// The backoff before the first retry, in ms. Default 500.
    pub initial_backoff_ms: u64,
    /// The longest backoff, in ms. Default 8,000.
    pub max_backoff_ms: u64,
    /// The largest fraction taken off a backoff at random, 0 to 1 (values
    /// outside are clamped, NaN counts as 0). Default 0.25.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_retries: DEFAULT_MAX_RETRIES,
            max_retry_after_ms: DEFAULT_MAX_RETRY_AFTER_MS,
            initial_backoff_ms: DEFAULT_INITIAL_BACKOFF_MS,
            max_backoff_ms: DEFAULT_MAX_BACKOFF_MS,
            jitter: DEFAULT_JITTER,
        }
    }
}

/// Which wait timed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TimeoutPhase {
    /// Establishing the connection.
    Connect,
    /// Waiting for the response (headers or a non-streaming body).
    Read,
    /// A stream went quiet for too long between events.
    Idle,
    /// The call's overall deadline
    /// ([`CallOptions::total_timeout_ms`](crate::call::CallOptions::total_timeout_ms))
    /// passed, across every attempt and wait: never retried.
    Total,
}

/// What went wrong with an attempt.
///
/// JSON: `{"type": "http", "status": 529, "error": {...}?}`, `{"type":
/// "connection"}`, `{"type": "timeout", "phase": "connect" | "read" | "idle"}`,
/// `{"type": "stream_error", "error": {...}}`, `{"type": "stream_truncated"}`,
/// where `error` is an [`ApiError`] as JSON. Unknown fields of the variants with
/// fields are an error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Failure {
    /// A response with an error status.
    Http {
        /// The HTTP status.
        status: u16,
        /// The error read from the body, if any (informative; the status decides).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ApiError>,
    },
    /// The connection failed before a complete response arrived (refused, reset,
    /// DNS, TLS).
    Connection,
    /// A timeout.
    Timeout {
        /// Which wait timed out.
        phase: TimeoutPhase,
    },
    /// An `error` event in a stream that began with HTTP 200.
    StreamError {
        /// The error the event carried.
        error: ApiError,
    },
    /// A stream ended without `message_stop` (and without an `error` event).
    StreamTruncated,
}

impl Failure {
    /// The failure an [`ApiError`] describes: [`Failure::Http`] when it has a
    /// status, else [`Failure::StreamError`].
    pub fn from_api_error(error: ApiError) -> Failure {
        match error.status {
            Some(status) => Failure::Http { status, error: Some(error) },
            None => Failure::StreamError { error },
        }
    }
}

/// Where a retry's delay came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DelaySource {
    /// Exponential backoff with jitter ([`RetryPolicy::backoff_ms`]).
    Backoff,
    /// The server's `retry-after-ms` or `retry-after` header.
    Server,
}

/// Why a failure is worth retrying.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RetryReason {
    /// The response said `x-should-retry: true`.
    ShouldRetryHeader,
    /// 408, 409, 429 or a status of 500 and above.
    RetryableStatus {
        /// The status.
        status: u16,
    },
    /// The connection failed.
    Connection,
    /// A timeout.
    Timeout {
        /// Which wait timed out.
        phase: TimeoutPhase,
    },
    /// A transient error event mid-stream (`overloaded_error`, `api_error`,
    /// `rate_limit_error`, `timeout_error`).
    StreamError {
        /// The event's error type.
        error_type: ApiErrorKind,
    },
    /// The stream was cut short.
    StreamTruncated,
}

/// Why no retry will happen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum GiveUpReason {
    /// The status is not one that retrying can fix (400, 401, 403, 404, ...).
    NotRetryable {
        /// The status.
        status: u16,
    },
    /// An error event mid-stream of a type that retrying cannot fix.
    NotRetryableStreamError {
        /// The event's error type.
        error_type: ApiErrorKind,
    },
    /// The response said `x-should-retry: false`.
    ShouldRetryHeaderFalse,
    /// Every allowed attempt has been made.
    AttemptsExhausted {
        /// Attempts made, the first included.
        attempts: u32,
    },
    /// The call's overall deadline
    /// ([`CallOptions::total_timeout_ms`](crate::call::CallOptions::total_timeout_ms))
    /// passed, or the wait before the next attempt would end after it.
    TotalTimeout {
        /// The deadline, in ms from the first attempt.
        total_timeout_ms: u64,
    },
    /// The server asked for a longer wait than the policy's cap.
    RetryAfterTooLong {
        /// The delay the server asked for, in ms.
        retry_after_ms: u64,
        /// [`RetryPolicy::max_retry_after_ms`].
        cap_ms: u64,
    },
}

/// What to do after a failed attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
#[must_use]
pub enum RetryDecision {
    /// Wait `delay_ms`, then send the request again. JSON tag `"retry"`.
    #[serde(rename = "retry")]
    RetryAfter {
        /// How long to wait, in ms.
        delay_ms: u64,
        /// Where the delay came from.
        source: DelaySource,
        /// Why retrying may help.
        reason: RetryReason,
    },
    /// Stop and report the failure. JSON tag `"give_up"`.
    GiveUp {
        /// Why.
        reason: GiveUpReason,
    },
}

impl RetryDecision {
    /// The delay, when the decision is to retry.
    pub fn delay_ms(&self) -> Option<u64> {
        match self {
            RetryDecision::RetryAfter { delay_ms, .. } => Some(*delay_ms),
            RetryDecision::GiveUp { .. } => None,
        }
    }
}

impl RetryPolicy {
    /// Decides what to do after attempt number `attempt` (0-based: `0` is the
    /// first attempt, which has just failed) failed with `failure`. `headers` are
    /// the response's headers when there was a response (for a mid-stream
    /// failure, those of the 200 that began the stream), `jitter_seed` any `u64`
    /// from the caller (a different one per attempt), `now_ms` the current Unix
    /// time in milliseconds (used to read a `retry-after` HTTP date).
    ///
    /// The rules, applied in order:
    ///
    /// 1. **`x-should-retry` decides when present.** `true` makes any failure
    ///    retryable ([`RetryReason::ShouldRetryHeader`]); `false` gives up
    ///    ([`GiveUpReason::ShouldRetryHeaderFalse`]), whatever the status.
    /// 2. **Otherwise, by failure.** An HTTP status of 408, 409, 429 or 500 and
    ///    above is retryable; any other status gives up with
    ///    [`GiveUpReason::NotRetryable`]. Connection failures, timeouts of every
    ///    phase and truncated streams are retryable. A mid-stream error event is
    ///    retryable when its type is transient (`overloaded_error`, `api_error`,
    ///    `rate_limit_error`, `timeout_error`; the official SDKs retry none),
    ///    else [`GiveUpReason::NotRetryableStreamError`].
    /// 3. **Attempts.** When `attempt >= max_retries`, give up with
    ///    [`GiveUpReason::AttemptsExhausted`] (`attempts = attempt + 1`).
    /// 4. **The server's delay.** If the headers carry a readable
    ///    `retry-after-ms`, else `retry-after` (delta-seconds, fractional
    ///    allowed, or an HTTP date, counted from `now_ms` and never negative;
    ///    see [`RateLimitInfo`]), wait exactly that long ([`DelaySource::Server`])
    ///    at any length up to and including `max_retry_after_ms` (`0` means
    ///    retry at once). Longer gives up with
    ///    [`GiveUpReason::RetryAfterTooLong`], leaving the choice to wait to the
    ///    caller. (The Python SDK ignores values above 60 s; they are honoured
    ///    here.)
    /// 5. **Otherwise back off** ([`DelaySource::Backoff`]) for
    ///    [`RetryPolicy::backoff_ms`]`(attempt, jitter_seed)`.
    pub fn decide(&self, attempt: u32, failure: &Failure, headers: Option<&Headers>, jitter_seed: u64, now_ms: u64) -> RetryDecision {
        let info = headers.map(|h| RateLimitInfo::from_headers(h, now_ms));
        let reason = match info.as_ref().and_then(|i| i.should_retry) {
            Some(true) => RetryReason::ShouldRetryHeader,
            Some(false) => return RetryDecision::GiveUp { reason: GiveUpReason::ShouldRetryHeaderFalse },
            None => match retry_reason(failure) {
                Ok(reason) => reason,
                Err(reason) => return RetryDecision::GiveUp { reason },
            },
        };
        if attempt >= self.max_retries {
            return RetryDecision::GiveUp { reason: GiveUpReason::AttemptsExhausted { attempts: attempt.saturating_add(1) } };
        }
        if let Some(retry_after_ms) = info.and_then(|i| i.retry_after_ms) {
            if retry_after_ms > self.max_retry_after_ms {
                return RetryDecision::GiveUp { reason: GiveUpReason::RetryAfterTooLong { retry_after_ms, cap_ms: self.max_retry_after_ms } };
            }
            return RetryDecision::RetryAfter { delay_ms: retry_after_ms, source: DelaySource::Server, reason };
        }
        RetryDecision::RetryAfter { delay_ms: self.backoff_ms(attempt, jitter_seed), source: DelaySource::Backoff, reason }
    }

    /// The backoff after attempt number `attempt` (0-based) failed, in ms:
    ///
    /// ```text
    /// base  = min(initial_backoff_ms * 2^attempt, max_backoff_ms)   (saturating)
    /// u     = (splitmix64(jitter_seed) >> 11) / 2^53                 (in [0, 1))
    /// delay = floor(base * (1 - jitter * u))                         (in f64)
    /// ```
    ///
    /// with `jitter` clamped to `[0, 1]`, so the delay lies in
    /// `[floor(base * (1 - jitter)), base]`. With the defaults: 500, 1000, 2000, 4000,
    /// 8000, 8000, ... ms, each less up to 25 %. `splitmix64` is the standard
    /// mixer (add `0x9E3779B97F4A7C15`, then `z ^= z >> 30; z *=
    /// 0xBF58476D1CE4E5B9; z ^= z >> 27; z *= 0x94D049BB133111EB; z ^= z >> 31`,
    /// wrapping); see [`jitter_unit`].
    pub fn backoff_ms(&self, attempt: u32, jitter_seed: u64) -> u64 {
        let factor = 1u64.checked_shl(attempt).unwrap_or(u64::MAX);
        let base = self.initial_backoff_ms.saturating_mul(factor).min(self.max_backoff_ms);
        let jitter = if self.jitter.is_nan() { 0.0 } else { self.jitter.clamp(0.0, 1.0) };
        let delay = (base as f64) * (1.0 - jitter * jitter_unit(jitter_seed));
        // `as` saturates and the value is finite and non-negative.
        delay.floor() as u64
    }
}

/// The number in `[0, 1)` that a jitter seed stands for:
/// `(splitmix64(seed) >> 11) / 2^53`.
pub fn jitter_unit(seed: u64) -> f64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether a mid-stream error of this kind is transient, so that retrying may
/// cure it: `overloaded_error`, `api_error`, `rate_limit_error` and
/// `timeout_error`. The single source of this rule (rule 2 of
/// [`RetryPolicy::decide`]).
pub fn is_transient_kind(kind: &ApiErrorKind) -> bool {
    matches!(kind, ApiErrorKind::Overloaded | ApiErrorKind::Api | ApiErrorKind::RateLimit | ApiErrorKind::Timeout)
}

/// Whether a failure is retryable by itself (rule 2 of [`RetryPolicy::decide`]).
fn retry_reason(failure: &Failure) -> Result<RetryReason, GiveUpReason> {
    match failure {
        Failure::Http { status, .. } => {
            let status = *status;
            if matches!(status, 408 | 409 | 429) || status >= 500 {
                Ok(RetryReason::RetryableStatus { status })
            } else {
                Err(GiveUpReason::NotRetryable { status })
            }
        }
        Failure::Connection => Ok(RetryReason::Connection),
        Failure::Timeout { phase } => Ok(RetryReason::Timeout { phase: *phase }),
        Failure::StreamTruncated => Ok(RetryReason::StreamTruncated),
        Failure::StreamError { error } => {
            let error_type = error.kind.clone();
            if is_transient_kind(&error.kind) {
                Ok(RetryReason::StreamError { error_type })
            } else {
                Err(GiveUpReason::NotRetryableStreamError { error_type })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn backoff_doubles_to_the_cap_within_jitter_bounds() {
        let p = RetryPolicy::default();
        for (attempt, base) in [(0u32, 500u64), (1, 1_000), (2, 2_000), (3, 4_000), (4, 8_000), (5, 8_000), (64, 8_000), (u32::MAX, 8_000)] {
            for seed in 0..2_000u64 {
                let d = p.backoff_ms(attempt, seed);
                assert!(d <= base && d * 4 >= base * 3, "attempt {attempt} seed {seed}: {d}");
            }
        }
        let none = RetryPolicy { jitter: 0.0, ..RetryPolicy::default() };
        assert_eq!(none.backoff_ms(2, 12_345), 2_000);
        let nan = RetryPolicy { jitter: f64::NAN, ..RetryPolicy::default() };
        assert_eq!(nan.backoff_ms(2, 12_345), 2_000);
        let full = RetryPolicy { jitter: 7.0, ..RetryPolicy::default() };
        assert!(full.backoff_ms(2, 12_345) < 2_000);
        let huge = RetryPolicy { initial_backoff_ms: u64::MAX, max_backoff_ms: u64::MAX, jitter: 0.0, ..RetryPolicy::default() };
        assert_eq!(huge.backoff_ms(3, 0), u64::MAX);
    }

    #[test]
    fn jitter_unit_is_in_range_and_spread() {
        let us: Vec<f64> = (0..10_000u64).map(jitter_unit).collect();
        assert!(us.iter().all(|u| (0.0..1.0).contains(u)));
        let low = us.iter().filter(|u| **u < 0.5).count();
        assert!((4_500..5_500).contains(&low), "{low}");
        assert_eq!(jitter_unit(7), jitter_unit(7));
        assert_ne!(jitter_unit(7), jitter_unit(8));
    }

    #[test]
    fn failure_and_decision_json() {
        let f: Failure = serde_json::from_value(json!({"type": "stream_error", "error": {"kind": "overloaded_error", "message": "Overloaded"}})).unwrap();
        let d = RetryPolicy::default().decide(0, &f, None, 0, 0);
        assert_eq!(
            serde_json::to_value(&d).unwrap(),
            json!({"decision": "retry", "delay_ms": d.delay_ms().unwrap(), "source": "backoff", "reason": {"type": "stream_error", "error_type": "overloaded_error"}})
        );
        assert_eq!(serde_json::from_value::<RetryDecision>(serde_json::to_value(&d).unwrap()).unwrap(), d);
        assert!(serde_json::from_value::<Failure>(json!({"type": "timeout", "phase": "idle", "oops": 1})).is_err());
        assert!(serde_json::from_value::<Failure>(json!({"type": "timeout", "phase": "sleepy"})).is_err());
        assert!(serde_json::from_value::<Failure>(json!({"type": "meteor"})).is_err());
        assert!(serde_json::from_value::<RetryPolicy>(json!({"max_retrys": 1})).is_err());
        assert_eq!(serde_json::from_value::<RetryPolicy>(json!({"max_retries": 5})).unwrap().max_backoff_ms, 8_000);
    }

    #[test]
    fn from_api_error() {
        let e = ApiError { kind: ApiErrorKind::Overloaded, message: String::new(), status: None, request_id: None };
        assert!(matches!(Failure::from_api_error(e.clone()), Failure::StreamError { .. }));
        assert!(matches!(Failure::from_api_error(ApiError { status: Some(529), ..e }), Failure::Http { status: 529, error: Some(_) }));
    }
}
