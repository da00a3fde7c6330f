//! Webhook payloads for alerts, signed with HMAC-SHA256.
//!
//! The core builds the body and the headers; the bindings POST them to the
//! caller's URL. A delivery attempt carries:
//!
//! | header | value |
//! | --- | --- |
//! | `content-type` | `application/json` |
//! | `x-creditpool-timestamp` | `t`: the time of this delivery attempt, Unix seconds (each retry carries its own) |
//! | `x-creditpool-signature` | `sha256=` and the lower-case hex HMAC-SHA256, keyed with the caller's secret, of the bytes `t`, `.`, then the exact body (`t.body`) |
//! | `x-creditpool-idempotency-key` | the alert's idempotency key (also in the body) |
//!
//! The signature covers the delivery time, so a receiver can refuse replays:
//! it recomputes the HMAC over `t.body` (the timestamp header's text, a dot,
//! the raw body it received, before parsing it), compares in constant time,
//! rejects the delivery if `|now - t|` exceeds its tolerance
//! ([`DEFAULT_TOLERANCE_S`], 5 minutes, is the suggested one;
//! [`verify_delivery`] does all of this), and drops repeats by
//! `idempotency_key`. The alert's own time stays in the body
//! (`occurred_at_ms`): a retry ten minutes later is signed with a fresh `t`
//! and still says when the alert happened.
//!
//! # The body
//!
//! A JSON object (the JSON Schema is `docs/webhook.schema.json`):
//!
//! | field | type | meaning |
//! | --- | --- | --- |
//! | `type` | `"creditpool.alert"` | |
//! | `version` | `1` | the payload's schema version |
//! | `idempotency_key` | string | see [`Alert::idempotency_key`] |
//! | `pool_id` | string | the pool |
//! | `alert` | `"threshold"`, `"committed_threshold"`, `"projected_exhaustion"` | what happened |
//! | `percent` | integer | the threshold (threshold kinds only) |
//! | `projected_exhaustion_at_ms` | integer | the projected instant (projection only) |
//! | `occurred_at_ms` | integer | Unix milliseconds |
//! | `occurred_at` | string | the same, RFC 3339 UTC |
//! | `cycle_start_ms`, `cycle_end_ms` | integer | the cycle, Unix milliseconds |
//! | `limit`, `settled`, `reserved` | integer | nano-USD (10^-9 USD) |
//! | `limit_usd`, `settled_usd`, `reserved_usd` | string | the same in dollars, exact, nine decimals |
//! | `text` | string | a one-line summary; Slack incoming webhooks show it as the message |

use super::alerts::Alert;
use crate::money::Money;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-creditpool-signature";
/// The timestamp header: the delivery attempt's time, Unix seconds (signed).
pub const TIMESTAMP_HEADER: &str = "x-creditpool-timestamp";
/// The idempotency-key header.
pub const IDEMPOTENCY_KEY_HEADER: &str = "x-creditpool-idempotency-key";
/// The payload's `type`.
pub const PAYLOAD_TYPE: &str = "creditpool.alert";
/// The payload's schema version.
pub const PAYLOAD_VERSION: u32 = 1;
/// How many webhook deliveries a pool runs at once by default; the rest wait
/// in alert order (a silent endpoint holds one slot, not the queue).
pub const DEFAULT_DELIVERY_CONCURRENCY: usize = 4;
/// The suggested tolerance of a receiver's age check: a delivery whose
/// timestamp is more than 5 minutes from the receiver's clock is refused.
pub const DEFAULT_TOLERANCE_S: u64 = 300;

/// A webhook signing secret, kept by a webhook call to sign each attempt.
/// Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<Vec<u8>>) -> WebhookSecret {
        WebhookSecret(secret.into())
    }

    /// The secret's bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(****)")
    }
}

/// The JSON body of an alert webhook (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookPayload {
    /// Always `"creditpool.alert"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Always 1.
    pub version: u32,
    /// Stable across deliveries of the same alert.
    pub idempotency_key: String,
    /// The pool.
    pub pool_id: String,
    /// `threshold`, `committed_threshold` or `projected_exhaustion`.
    pub alert: String,
    /// The threshold in percent (threshold kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u32>,
    /// The projected exhaustion instant (projection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projected_exhaustion_at_ms: Option<u64>,
    /// When, Unix milliseconds.
    pub occurred_at_ms: u64,
    /// When, RFC 3339 UTC.
    pub occurred_at: String,
    /// The cycle's start.
    pub cycle_start_ms: u64,
    /// The cycle's end.
    pub cycle_end_ms: u64,
    /// The limit, nano-USD.
    pub limit: Money,
    /// Settled spend, nano-USD.
    pub settled: Money,
    /// Open reservations, nano-USD.
    pub reserved: Money,
    /// The limit in dollars.
    pub limit_usd: String,
    /// Settled spend in dollars.
    pub settled_usd: String,
    /// Open reservations in dollars.
    pub reserved_usd: String,
    /// A one-line summary (Slack's `text`).
    pub text: String,
}

/// A webhook ready to POST: the exact body bytes and the headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// The body (compact JSON).
    pub body: Vec<u8>,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
}

impl WebhookDelivery {
    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Signs the delivery for an attempt at `now_ms`: sets the timestamp
    /// header to `now_ms` in Unix seconds and the signature header to the
    /// HMAC of `t.body` (both replaced if present, added if not).
    pub fn sign_at(&mut self, secret: &[u8], now_ms: u64) {
        sign_headers(&mut self.headers, secret, &self.body, now_ms);
    }
}

/// Sets a delivery's timestamp and signature headers for an attempt at
/// `now_ms` (see [`WebhookDelivery::sign_at`]).
pub(crate) fn sign_headers(headers: &mut Vec<(String, String)>, secret: &[u8], body: &[u8], now_ms: u64) {
    let t = now_ms / 1_000;
    let mut set = |name: &str, value: String| match headers.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
        Some(h) => h.1 = value,
        None => headers.push((name.to_owned(), value)),
    };
    set(TIMESTAMP_HEADER, t.to_string());
    set(SIGNATURE_HEADER, sign(secret, t, body));
}

impl Alert {
    /// The webhook body as a value.
    pub fn payload(&self) -> WebhookPayload {
        let after = match self.kind {
            super::alerts::AlertKind::ProjectedExhaustion { at_ms } => Some(at_ms),
            _ => None,
        };
        WebhookPayload {
            kind: PAYLOAD_TYPE.to_owned(),
            version: PAYLOAD_VERSION,
            idempotency_key: self.idempotency_key(),
            pool_id: self.pool_id.to_string(),
            alert: self.kind.name().to_owned(),
            percent: self.kind.percent(),
            projected_exhaustion_at_ms: after,
            occurred_at_ms: self.occurred_at_ms,
            occurred_at: crate::time::format_rfc3339(self.occurred_at_ms),
            cycle_start_ms: self.cycle.start_ms,
            cycle_end_ms: self.cycle.end_ms,
            limit: self.limit,
            settled: self.settled,
            reserved: self.reserved,
            limit_usd: self.limit.to_decimal_string(),
            settled_usd: self.settled.to_decimal_string(),
            reserved_usd: self.reserved.to_decimal_string(),
            text: self.text(),
        }
    }

    /// The exact body bytes (compact JSON, fields in the documented order).
    pub fn webhook_body(&self) -> Vec<u8> {
        serde_json::to_vec(&self.payload()).unwrap_or_default()
    }

    /// The body and headers of a webhook delivery attempt at `now_ms`,
    /// signed with `secret` (the timestamp header is `now_ms`, not the
    /// alert's time: a webhook call signs each attempt afresh, see
    /// [`crate::call::MessagesCall::signed_webhook`]).
    pub fn webhook(&self, secret: &[u8], now_ms: u64) -> WebhookDelivery {
        let body = self.webhook_body();
        let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        sign_headers(&mut headers, secret, &body, now_ms);
        headers.push((IDEMPOTENCY_KEY_HEADER.to_owned(), self.idempotency_key()));
        WebhookDelivery { body, headers }
    }
}

fn mac(secret: &[u8]) -> Option<Hmac<Sha256>> {
    <Hmac<Sha256> as Mac>::new_from_slice(secret).ok()
}

/// The signature header's value for a body delivered at `timestamp_s` (Unix
/// seconds): `sha256=` and the lower-case hex HMAC-SHA256, keyed with
/// `secret`, of `timestamp_s` in decimal, a `.`, then `body`.
pub fn sign(secret: &[u8], timestamp_s: u64, body: &[u8]) -> String {
    let Some(mut m) = mac(secret) else { return String::new() };
    m.update(timestamp_s.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    let tag = m.finalize().into_bytes();
    let mut s = String::with_capacity(7 + 64);
    s.push_str("sha256=");
    for b in tag {
        s.push(hex_digit(b >> 4));
        s.push(hex_digit(b & 0x0f));
    }
    s
}

/// Whether a signature header's value is right for a body, the timestamp
/// header's text as received and a secret, compared in constant time (the
/// HMAC is recomputed over `timestamp.body`). It does not check the
/// timestamp's age: [`verify_delivery`] does both.
pub fn verify_signature(secret: &[u8], timestamp: &str, body: &[u8], header_value: &str) -> bool {
    let Some(hex) = header_value.trim().strip_prefix("sha256=") else { return false };
    let Some(tag) = decode_hex(hex) else { return false };
    let Some(mut m) = mac(secret) else { return false };
    m.update(timestamp.as_bytes());
    m.update(b".");
    m.update(body);
    m.verify_slice(&tag).is_ok()
}

/// A receiver's whole check of a delivery: the timestamp header is Unix
/// seconds within `tolerance_s` of `now_ms` (either way), and the signature
/// is right for `timestamp.body` ([`verify_signature`]). A late retry passes
/// (it is signed with its own time); a replay of an old delivery does not.
pub fn verify_delivery(secret: &[u8], body: &[u8], signature: &str, timestamp: &str, now_ms: u64, tolerance_s: u64) -> bool {
    let t = timestamp.trim();
    let Ok(t_s) = t.parse::<u64>() else { return false };
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let now_s = now_ms / 1_000;
    now_s.abs_diff(t_s) <= tolerance_s && verify_signature(secret, t, body, signature)
}

fn hex_digit(n: u8) -> char {
    char::from(if n < 10 { b'0' + n } else { b'a' + n - 10 })
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if b.len() % 2 != 0 {
        return None;
    }
    let val = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    b.chunks_exact(2).map(|p| Some((val(*p.first()?)? << 4) | val(*p.get(1)?)?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::alerts::AlertKind;
    use crate::pool::cycle::CycleBounds;
    use crate::pool::name::Name;

    #[test]
    fn hmac_sha256_over_timestamp_dot_body_matches_an_independent_figure() {
        // The figure is Python's hmac.new(b"Jefe", b"1.body", sha256): the
        // signed bytes are the timestamp, a dot and the body.
        let sig = sign(b"Jefe", 1, b"body");
        let mut m = mac(b"Jefe").unwrap();
        m.update(b"1.body");
        let hex: String = m.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(sig, format!("sha256={hex}"));
        assert_eq!(sig, "sha256=25d254c27761adb1423727084ca395476858b2401387226230b6358cf07fad8b");
        assert!(verify_signature(b"Jefe", "1", b"body", &sig));
        assert!(verify_signature(b"Jefe", "1", b"body", &sig.to_uppercase().replace("SHA256=", "sha256=")));
        assert!(!verify_signature(b"Jeff", "1", b"body", &sig));
        assert!(!verify_signature(b"Jefe", "2", b"body", &sig), "the timestamp is signed");
        assert!(!verify_signature(b"Jefe", "1", b"body!", &sig));
        assert!(!verify_signature(b"Jefe", "1", b"x", "sha256=zz"));
        assert!(!verify_signature(b"Jefe", "1", b"x", "md5=00"));
    }

    fn alert() -> Alert {
        Alert {
            pool_id: Name::new("p"),
            kind: AlertKind::ProjectedExhaustion { at_ms: 5_000 },
            occurred_at_ms: 2_500,
            cycle: CycleBounds { start_ms: 0, end_ms: 10_000 },
            limit: Money::from_nanos(100),
            settled: Money::from_nanos(50),
            reserved: Money::ZERO,
        }
    }

    #[test]
    fn a_delivery_is_signed_with_its_own_time_and_a_receiver_checks_its_age() {
        let a = alert();
        // Delivered 10 minutes after the alert: the timestamp is the delivery's.
        let late = 2_500 + 600_000;
        let d = a.webhook(b"secret", late);
        let t = d.header(TIMESTAMP_HEADER).unwrap();
        assert_eq!(t, "602");
        let sig = d.header(SIGNATURE_HEADER).unwrap();
        assert!(verify_delivery(b"secret", &d.body, sig, t, late + 1_000, DEFAULT_TOLERANCE_S));
        // The same delivery replayed 6 minutes later is refused; so is one from the future.
        assert!(!verify_delivery(b"secret", &d.body, sig, t, late + 360_000, DEFAULT_TOLERANCE_S));
        assert!(!verify_delivery(b"secret", &d.body, sig, t, late - 360_000, DEFAULT_TOLERANCE_S));
        // A fresh timestamp on the old signature is refused.
        assert!(!verify_delivery(b"secret", &d.body, sig, "962", late + 360_000, DEFAULT_TOLERANCE_S));
        assert!(!verify_delivery(b"secret", &d.body, sig, "+602", late, DEFAULT_TOLERANCE_S));
        // The alert's own time stays in the body.
        let v: serde_json::Value = serde_json::from_slice(&d.body).unwrap();
        assert_eq!(v["occurred_at_ms"], 2_500);
        // Re-signing for a later attempt replaces both headers.
        let mut again = d.clone();
        again.sign_at(b"secret", late + 60_000);
        assert_eq!(again.header(TIMESTAMP_HEADER), Some("662"));
        assert_eq!(again.headers.len(), d.headers.len());
        assert_ne!(again.header(SIGNATURE_HEADER), d.header(SIGNATURE_HEADER));
        assert_eq!(format!("{:?}", WebhookSecret::new("hunter2")), "WebhookSecret(****)");
    }

    #[test]
    fn delivery_is_signed_over_the_body() {
        let a = alert();
        let d = a.webhook(b"secret", 2_500);
        assert!(verify_signature(b"secret", "2", &d.body, d.header(SIGNATURE_HEADER).unwrap()));
        assert_eq!(d.header(TIMESTAMP_HEADER), Some("2"));
        assert_eq!(d.header(IDEMPOTENCY_KEY_HEADER), Some("p:0:projected_exhaustion:projection"));
        let v: serde_json::Value = serde_json::from_slice(&d.body).unwrap();
        assert_eq!(v["projected_exhaustion_at_ms"], 5_000);
        assert!(v.get("percent").is_none());
        assert_eq!(v["settled_usd"], "0.000000050");
        let back: WebhookPayload = serde_json::from_slice(&d.body).unwrap();
        assert_eq!(back, a.payload());
    }
}

/// A webhook endpoint that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookEndpointError {
    /// The signing secret is empty: an empty-key HMAC signs nothing a receiver
    /// could trust.
    #[error("the webhook secret must not be empty (receivers check the signature with it)")]
    EmptySecret,
    /// The URL is not `http` or `https` with a host. Only its origin is shown.
    #[error("the webhook URL must be http or https with a host, got {origin}")]
    BadUrl {
        /// What the URL's origin reads as (never its path or query).
        origin: String,
    },
}

impl WebhookEndpointError {
    /// The stable error code: `invalid_options`.
    pub fn code(&self) -> &'static str {
        "invalid_options"
    }
}

/// `scheme://host[:port]` of a URL: all that may ever be shown of a webhook
/// URL (for Slack and others the path is the secret). Never its user info,
/// path, query or fragment.
pub fn url_origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    format!("{}://{}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase())
}

/// Checks a webhook endpoint before any alert goes to it, and answers its
/// origin (what logs and errors may show): the secret is not empty and the
/// URL is `http` or `https` with a host.
pub fn check_endpoint(url: &str, secret: &[u8]) -> Result<String, WebhookEndpointError> {
    if secret.is_empty() {
        return Err(WebhookEndpointError::EmptySecret);
    }
    let origin = url_origin(url);
    let host = origin.split_once("://").map_or("", |(_, h)| h);
    let scheme_ok = origin.starts_with("http://") || origin.starts_with("https://");
    if !scheme_ok || host.is_empty() || host.starts_with(':') || url.chars().any(char::is_whitespace) {
        return Err(WebhookEndpointError::BadUrl { origin });
    }
    Ok(origin)
}

#[cfg(test)]
mod endpoint_tests {
    use super::*;

    #[test]
    fn only_the_origin_is_ever_shown() {
        assert_eq!(url_origin("https://hooks.slack.com/services/T0/B0/XSECRET?x=1#f"), "https://hooks.slack.com");
        assert_eq!(url_origin("HTTP://user:pw@Example.com:8080/p"), "http://example.com:8080");
        assert_eq!(check_endpoint("https://hooks.example.com/a/TOKEN", b"s"), Ok("https://hooks.example.com".into()));
    }

    #[test]
    fn empty_secrets_and_bad_urls_are_refused() {
        assert_eq!(check_endpoint("https://h.example/x", b""), Err(WebhookEndpointError::EmptySecret));
        for bad in ["ftp://h.example/x", "h.example/x", "https:///x", "https://:80/x", "https://h .example/x"] {
            let e = check_endpoint(bad, b"s").unwrap_err();
            assert!(matches!(e, WebhookEndpointError::BadUrl { .. }), "{bad}");
            assert_eq!(e.code(), "invalid_options");
            assert!(!e.to_string().contains("/x"), "{e}");
        }
    }
}
