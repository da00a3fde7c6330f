//! Errors the Messages API reports, and errors reading what it sent.

use serde::{Deserialize, Serialize};

/// The kind of an API error, from the `error.type` field of an error body (or,
/// when the body says nothing usable, from the HTTP status).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// 400 `invalid_request_error`: the request is malformed; retrying will not help.
    InvalidRequest,
    /// 401 `authentication_error`: the API key is missing or wrong.
    Authentication,
    /// 402 `billing_error`: the account cannot pay.
    Billing,
    /// 403 `permission_error`: the key may not use this resource.
    Permission,
    /// 404 `not_found_error`: no such resource (often a model name).
    NotFound,
    /// 409 `conflict_error`.
    Conflict,
    /// 413 `request_too_large`: the body is over the API's size cap.
    RequestTooLarge,
    /// 429 `rate_limit_error`: the organization's API rate limit was hit.
    RateLimit,
    /// 500 `api_error`: an internal error on the API's side.
    Api,
    /// 504 `timeout_error`.
    Timeout,
    /// 529 `overloaded_error`: the API is overloaded; retry later.
    Overloaded,
    /// An error type this version does not know, kept verbatim.
    Other(String),
}

impl ApiErrorKind {
    /// The kind named by an `error.type` string.
    pub fn from_type(t: &str) -> ApiErrorKind {
        match t {
            "invalid_request_error" => ApiErrorKind::InvalidRequest,
            "authentication_error" => ApiErrorKind::Authentication,
            "billing_error" => ApiErrorKind::Billing,
            "permission_error" => ApiErrorKind::Permission,
            "not_found_error" => ApiErrorKind::NotFound,
            "conflict_error" => ApiErrorKind::Conflict,
            "request_too_large" => ApiErrorKind::RequestTooLarge,
            "rate_limit_error" => ApiErrorKind::RateLimit,
            "api_error" => ApiErrorKind::Api,
            "timeout_error" => ApiErrorKind::Timeout,
            "overloaded_error" => ApiErrorKind::Overloaded,
            other => ApiErrorKind::Other(other.to_owned()),
        }
    }

    /// The kind an HTTP status implies when the body names none.
    pub fn from_status(status: u16) -> ApiErrorKind {
        match status {
            400 => ApiErrorKind::InvalidRequest,
            401 => ApiErrorKind::Authentication,
            402 => ApiErrorKind::Billing,
            403 => ApiErrorKind::Permission,
            404 => ApiErrorKind::NotFound,
            409 => ApiErrorKind::Conflict,
            413 => ApiErrorKind::RequestTooLarge,
            429 => ApiErrorKind::RateLimit,
            504 => ApiErrorKind::Timeout,
            529 => ApiErrorKind::Overloaded,
            _ => ApiErrorKind::Api,
        }
    }

    /// The `error.type` string for this kind.
    pub fn as_str(&self) -> &str {
        match self {
            ApiErrorKind::Other(s) => s,
            known => known.known_str().unwrap_or_default(),
        }
    }

    /// The `error.type` of a kind this version knows (`None` for `Other`).
    pub(crate) fn known_str(&self) -> Option<&'static str> {
        Some(match self {
            ApiErrorKind::InvalidRequest => "invalid_request_error",
            ApiErrorKind::Authentication => "authentication_error",
            ApiErrorKind::Billing => "billing_error",
            ApiErrorKind::Permission => "permission_error",
            ApiErrorKind::NotFound => "not_found_error",
            ApiErrorKind::Conflict => "conflict_error",
            ApiErrorKind::RequestTooLarge => "request_too_large",
            ApiErrorKind::RateLimit => "rate_limit_error",
            ApiErrorKind::Api => "api_error",
            ApiErrorKind::Timeout => "timeout_error",
            ApiErrorKind::Overloaded => "overloaded_error",
            ApiErrorKind::Other(_) => return None,
        })
    }
}

impl Serialize for ApiErrorKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ApiErrorKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(ApiErrorKind::from_type(&s))
    }
}

/// An error the API reported: an HTTP error status, or an `error` event inside
/// a stream that began with 200.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{} ({}){}: {message}", kind.as_str(), status.map_or_else(|| "in stream".to_owned(), |s| s.to_string()), request_id.as_deref().map(|r| format!(" [request {r}]")).unwrap_or_default())]
pub struct ApiError {
    /// What went wrong.
    pub kind: ApiErrorKind,
    /// The API's message.
    pub message: String,
    /// The HTTP status; `None` for an `error` event mid-stream.
    pub status: Option<u16>,
    /// The `request-id` header or the body's `request_id`.
    pub request_id: Option<String>,
}

/// The API's response could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The body is not valid JSON, or not the expected shape.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being read (`"message"`, `"stream event"`, ...).
        what: &'static str,
        /// serde_json's description, with line and column.
        detail: String,
    },
    /// The body is larger than the configured cap.
    #[error("{what} of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// What was being read.
        what: &'static str,
        /// Its size so far in bytes.
        size: usize,
        /// The cap in bytes.
        limit: usize,
    },
}

impl ParseError {
    pub(crate) fn malformed(what: &'static str, err: impl core::fmt::Display) -> ParseError {
        ParseError::Malformed { what, detail: err.to_string() }
    }
}

/// The words for a request that did not reach its server (a connection
/// refused or reset, a DNS or TLS failure), the same in every language: where
/// it went, as the origin of the base URL only ([`url_origin`](crate::pool::url_origin):
/// never its path, query or user info, which may hold a secret), and what the
/// operating system or the HTTP library said (`detail`, which must not hold
/// the URL or a header). `detail` may be empty.
pub fn connection_failed_message(base_url: &str, detail: &str) -> String {
    let origin = crate::pool::url_origin(base_url);
    match detail.trim() {
        "" => format!("could not connect to {origin}"),
        detail => format!("could not connect to {origin}: {detail}"),
    }
}

#[cfg(test)]
mod connection_words {
    use super::connection_failed_message;

    #[test]
    fn only_the_origin_and_the_detail_are_shown() {
        assert_eq!(
            connection_failed_message("http://user:pw@127.0.0.1:9/proxy/SECRET?token=x", "Connection refused (os error 111)"),
            "could not connect to http://127.0.0.1:9: Connection refused (os error 111)"
        );
        assert_eq!(connection_failed_message("https://api.anthropic.com", " "), "could not connect to https://api.anthropic.com");
    }
}
