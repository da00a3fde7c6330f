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

/// A serde message about what a caller wrote (options, a configuration) in
/// plain words, prefixed by the path when known: `invalid type: string "x",
/// expected u64` reads `lease_ms: expected a whole number (0 or more), got
/// the string "x"`; a position in JSON the caller never wrote (`at line 1
/// column 42`) is dropped, and Rust type names (`u64`, `internally tagged
/// enum Cap`) become words. Every binding words such errors through it.
pub fn plain_config_words(path: &str, msg: &str) -> String {
    let msg = match msg.find(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    };
    let words = match msg.strip_prefix("invalid type: ").or_else(|| msg.strip_prefix("invalid value: ")) {
        Some(rest) => match rest.split_once(", expected ") {
            Some((given, expected)) => format!("expected {}, got {}", expected_words(expected), given_words(given)),
            None => rest.to_owned(),
        },
        None => msg.to_owned(),
    };
    if path.is_empty() {
        words
    } else {
        format!("{path}: {words}")
    }
}

fn expected_words(e: &str) -> String {
    match e {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number (0 or more)".to_owned(),
        "i64" | "i32" => "a whole number".to_owned(),
        "a boolean" => "true or false".to_owned(),
        "a sequence" => "a list".to_owned(),
        "a map" => "an object".to_owned(),
        "internally tagged enum Cap" => crate::pool::config_json::CAP_SHAPE.to_owned(),
        "internally tagged enum CycleSpec" => crate::pool::config_json::CYCLE_SHAPE.to_owned(),
        other if other.starts_with("struct ") => "an object".to_owned(),
        other => other.to_owned(),
    }
}

fn given_words(g: &str) -> String {
    let unquote = |s: &str| s.trim_matches('`').to_owned();
    if let Some(n) = g.strip_prefix("integer ").or_else(|| g.strip_prefix("floating point ")) {
        return unquote(n);
    }
    if let Some(b) = g.strip_prefix("boolean ") {
        return unquote(b);
    }
    if let Some(s) = g.strip_prefix("string ") {
        return format!("the string {s}");
    }
    match g {
        "map" => "an object".to_owned(),
        "sequence" => "a list".to_owned(),
        "unit value" | "null" => "null".to_owned(),
        other => other.to_owned(),
    }
}

/// Reads `T` from JSON a caller wrote (options, a configuration, a request),
/// with a mistake in the caller's words: the field by its path
/// (`retry.max_retries: expected a whole number (0 or more), got the string
/// "x"`), the closest known name for an unknown field, no Rust type names and
/// no position in JSON the caller never wrote. Every binding reads the
/// caller's JSON through it.
pub fn from_caller_json<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> Result<T, String> {
    let first = match T::deserialize(value) {
        Ok(t) => return Ok(t),
        Err(e) => e,
    };
    // Where: the same JSON, one field a line, read again for the line the
    // error is on.
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    let e = match serde_json::from_str::<T>(&text) {
        Ok(t) => return Ok(t),
        Err(e) => e,
    };
    let (path, msg) = if e.line() == 0 { (String::new(), first.to_string()) } else { (path_at_line(&text, e.line()), e.to_string()) };
    Err(with_suggestion(plain_config_words(&path, &msg)))
}

/// `unknown field `x`, expected one of `a`, `b`` gains the closest name.
fn with_suggestion(words: String) -> String {
    let Some(i) = words.find("unknown field `") else { return words };
    let rest = &words[i + "unknown field `".len()..];
    let Some(end) = rest.find('`') else { return words };
    let name = &rest[..end];
    let known: Vec<&str> = rest[end + 1..].split('`').skip(1).step_by(2).collect();
    match crate::suggest::closest(name, known.iter().copied()) {
        Some(s) => format!("{words}; did you mean `{s}`?"),
        None => words,
    }
}

/// The dotted path of the field on line `line` (1-based) of pretty-printed
/// JSON (`a.b.0.c`; empty at the top).
fn path_at_line(text: &str, line: usize) -> String {
    // A frame per open object or array: its name, and for an array the
    // index of its next element.
    let mut stack: Vec<(String, Option<usize>)> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let l = raw.trim();
        let (key, rest) = split_key(l);
        let name = match (key, stack.last_mut()) {
            (Some(k), _) => Some(k),
            (None, Some((_, Some(i)))) if !rest.starts_with('}') && !rest.starts_with(']') => {
                let name = i.to_string();
                *i += 1;
                Some(name)
            }
            _ => None,
        };
        let here = |stack: &[(String, Option<usize>)], name: Option<&String>| -> String {
            stack.iter().skip(1).map(|(s, _)| s.clone()).chain(name.cloned()).collect::<Vec<_>>().join(".")
        };
        if n + 1 == line {
            if rest.starts_with('}') || rest.starts_with(']') {
                return here(&stack, None);
            }
            return here(&stack, name.as_ref());
        }
        let rest = rest.trim_end_matches(',');
        if rest == "{" || rest == "[" {
            stack.push((name.unwrap_or_default(), (rest == "[").then_some(0)));
        } else if rest.starts_with('}') || rest.starts_with(']') {
            stack.pop();
        }
    }
    String::new()
}

/// A pretty-printed JSON line's key, if it has one, and the rest.
fn split_key(l: &str) -> (Option<String>, &str) {
    if !l.starts_with('"') {
        return (None, l);
    }
    let mut escaped = false;
    for (i, c) in l.char_indices().skip(1) {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => {
                let (k, after) = l.split_at(i + 1);
                return match after.strip_prefix(": ") {
                    Some(rest) => (serde_json::from_str::<String>(k).ok(), rest),
                    None => (None, l),
                };
            }
            _ => escaped = false,
        }
    }
    (None, l)
}

/// The longest OS or library detail kept for a failed connection, in
/// characters: the words stay bounded whatever a transport reports.
pub const MAX_CONNECTION_DETAIL: usize = 300;

/// [`connection_failed_message`] with `detail` cut to
/// [`MAX_CONNECTION_DETAIL`] characters.
/// A detail that holds a URL (`://`) is not shown: its path or query may hold
/// a secret, and the origin is said anyway.
pub(crate) fn bounded_connection_message(base_url: &str, detail: &str) -> String {
    let detail: String = if detail.contains("://") { String::new() } else { detail.chars().take(MAX_CONNECTION_DETAIL).collect() };
    connection_failed_message(base_url, &detail)
}

/// Words a user reads, in any language: what a transport failure was.
impl core::fmt::Display for crate::retry::Failure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use crate::retry::{Failure, TimeoutPhase};
        match self {
            Failure::Http { status, error: Some(e) } => write!(f, "HTTP {status}: {}", e.message),
            Failure::Http { status, error: None } => write!(f, "HTTP {status}"),
            Failure::Connection => f.write_str("the connection failed"),
            Failure::Timeout { phase } => {
                let phase = match phase {
                    TimeoutPhase::Connect => "while connecting",
                    TimeoutPhase::Read => "waiting for the response",
                    TimeoutPhase::Idle => "a stream went quiet",
                    TimeoutPhase::Total => "the call's total time ran out",
                };
                write!(f, "the request timed out ({phase})")
            }
            Failure::StreamError { error } => write!(f, "the stream reported an error: {}", error.message),
            Failure::StreamTruncated => f.write_str("the stream ended before message_stop"),
        }
    }
}

/// Words a user reads, in any language: why a failed call was not retried
/// (never the variant's Rust name).
impl core::fmt::Display for crate::retry::GiveUpReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use crate::retry::GiveUpReason;
        match self {
            GiveUpReason::NotRetryable { status } => write!(f, "not retried: an HTTP {status} answer does not change on retry"),
            GiveUpReason::NotRetryableStreamError { error_type } => {
                write!(f, "not retried: a {} error in a stream does not change on retry", error_type.as_str())
            }
            GiveUpReason::ShouldRetryHeaderFalse => f.write_str("not retried: the API answered x-should-retry: false"),
            GiveUpReason::AttemptsExhausted { .. } => f.write_str("every allowed attempt was made"),
            GiveUpReason::TotalTimeout { total_timeout_ms } => write!(f, "the call's total timeout of {total_timeout_ms} ms passed"),
            GiveUpReason::RetryAfterTooLong { retry_after_ms, cap_ms } => {
                write!(f, "not retried: the API asked to wait {retry_after_ms} ms, longer than the retry policy allows ({cap_ms} ms)")
            }
        }
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

    #[test]
    fn a_mistake_in_the_callers_json_names_the_field_by_its_path() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Retry {
            max_retries: u32,
            #[serde(default)]
            jitter: bool,
        }
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Options {
            model: String,
            #[serde(default)]
            retry: Option<Retry>,
            #[serde(default)]
            stops: Vec<u32>,
        }
        let read = |v: serde_json::Value| super::from_caller_json::<Options>(&v).unwrap_err();
        assert_eq!(
            read(serde_json::json!({"model": "m", "retry": {"max_retries": "x"}})),
            r#"retry.max_retries: expected a whole number (0 or more), got the string "x""#
        );
        assert_eq!(read(serde_json::json!({"model": "m", "stops": [1, "two"]})), r#"stops.1: expected a whole number (0 or more), got the string "two""#);
        assert_eq!(read(serde_json::json!({"model": "m", "retry": {"max_retries": 1, "jiter": true}})), "retry.jiter: unknown field `jiter`, expected `max_retries` or `jitter`; did you mean `jitter`?");
        assert_eq!(read(serde_json::json!({"retry": null})), "missing field `model`");
        assert!(super::from_caller_json::<Options>(&serde_json::json!({"model": "m"})).is_ok());
    }

    #[test]
    fn a_give_up_reason_reads_as_words_not_a_rust_variant() {
        use crate::retry::GiveUpReason;
        let r = GiveUpReason::NotRetryable { status: 401 }.to_string();
        assert_eq!(r, "not retried: an HTTP 401 answer does not change on retry");
        assert!(!r.contains("NotRetryable") && !r.contains('{'));
        assert_eq!(crate::retry::Failure::Connection.to_string(), "the connection failed");
    }
}
