//! Webhook payloads for alerts, signed with HMAC-SHA256.
//!
//! The core builds the body and the headers; the bindings POST them to the
//! caller's URL. A delivery carries:
//!
//! | header | value |
//! | --- | --- |
//! | `content-type` | `application/json` |
//! | `x-creditpool-signature` | `sha256=` and the lower-case hex HMAC-SHA256 of the exact body bytes, keyed with the caller's secret |
//! | `x-creditpool-timestamp` | the alert's time in Unix seconds (also in the signed body as `occurred_at_ms`) |
//! | `x-creditpool-idempotency-key` | the alert's idempotency key (also in the body) |
//!
//! A receiver recomputes the HMAC over the raw body it received (before parsing
//! it), compares in constant time ([`verify_signature`] does both), rejects
//! bodies whose `occurred_at_ms` is too old, and drops repeats by
//! `idempotency_key`.
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
/// The timestamp header (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "x-creditpool-timestamp";
/// The idempotency-key header.
pub const IDEMPOTENCY_KEY_HEADER: &str = "x-creditpool-idempotency-key";
/// The payload's `type`.
pub const PAYLOAD_TYPE: &str = "creditpool.alert";
/// The payload's schema version.
pub const PAYLOAD_VERSION: u32 = 1;

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

    /// The body and headers of a webhook delivery, signed with `secret`.
    pub fn webhook(&self, secret: &[u8]) -> WebhookDelivery {
        let body = self.webhook_body();
        let headers = vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            (SIGNATURE_HEADER.to_owned(), sign(secret, &body)),
            (TIMESTAMP_HEADER.to_owned(), (self.occurred_at_ms / 1_000).to_string()),
            (IDEMPOTENCY_KEY_HEADER.to_owned(), self.idempotency_key()),
        ];
        WebhookDelivery { body, headers }
    }
}

fn mac(secret: &[u8]) -> Option<Hmac<Sha256>> {
    <Hmac<Sha256> as Mac>::new_from_slice(secret).ok()
}

/// The signature header's value for a body: `sha256=` and the lower-case hex
/// HMAC-SHA256 of `body` keyed with `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let Some(mut m) = mac(secret) else { return String::new() };
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

/// Whether a signature header's value is right for a body and a secret,
/// compared in constant time.
pub fn verify_signature(secret: &[u8], body: &[u8], header_value: &str) -> bool {
    let Some(hex) = header_value.trim().strip_prefix("sha256=") else { return false };
    let Some(tag) = decode_hex(hex) else { return false };
    let Some(mut m) = mac(secret) else { return false };
    m.update(body);
    m.verify_slice(&tag).is_ok()
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
    fn hmac_sha256_matches_rfc_4231_case_2() {
        let sig = sign(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert!(verify_signature(b"Jefe", b"what do ya want for nothing?", &sig));
        assert!(verify_signature(b"Jefe", b"what do ya want for nothing?", &sig.to_uppercase().replace("SHA256=", "sha256=")));
        assert!(!verify_signature(b"Jeff", b"what do ya want for nothing?", &sig));
        assert!(!verify_signature(b"Jefe", b"what do ya want for nothing!", &sig));
        assert!(!verify_signature(b"Jefe", b"x", "sha256=zz"));
        assert!(!verify_signature(b"Jefe", b"x", "md5=00"));
    }

    #[test]
    fn delivery_is_signed_over_the_body() {
        let a = Alert {
            pool_id: Name::new("p"),
            kind: AlertKind::ProjectedExhaustion { at_ms: 5_000 },
            occurred_at_ms: 2_500,
            cycle: CycleBounds { start_ms: 0, end_ms: 10_000 },
            limit: Money::from_nanos(100),
            settled: Money::from_nanos(50),
            reserved: Money::ZERO,
        };
        let d = a.webhook(b"secret");
        assert!(verify_signature(b"secret", &d.body, d.header(SIGNATURE_HEADER).unwrap()));
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
