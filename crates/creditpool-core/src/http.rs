//! Plain HTTP values: what the core asks a transport to send, and the headers it
//! reads back. No I/O happens here.

use serde::{Deserialize, Serialize};

/// An HTTP method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `OPTIONS`
    Options,
}

impl Method {
    /// The method as it goes on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Options => "OPTIONS",
        }
    }
}

/// A request for a transport to send: a plain value, like quinn's `Transmit`.
///
/// `path` is relative to the transport's base URL (`/v1/messages`). The headers
/// include `x-api-key`, so a transport must not log them; `Debug` masks that
/// header's value.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The HTTP method.
    pub method: Method,
    /// The path, starting with `/`.
    pub path: String,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body bytes (JSON).
    pub body: Vec<u8>,
    /// Whether the response is an SSE stream.
    pub stream: bool,
}

/// Header names whose values are secrets and never printed.
pub const SECRET_HEADERS: &[&str] = &["x-api-key", "authorization"];

/// Whether a header's value may be a secret and must never be printed: the
/// [`SECRET_HEADERS`], and any name that speaks of a key, a token, a secret,
/// a signature, a cookie, a password or auth (`proxy-authorization`,
/// `x-goog-api-key`, `x-auth-token`, ...).
pub fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    SECRET_HEADERS.contains(&n.as_str()) || ["key", "token", "secret", "auth", "cookie", "signature", "password", "credential"].iter().any(|w| n.contains(w))
}

impl core::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let masked = is_secret_header(k);
                (k.as_str(), if masked { "****" } else { v.as_str() })
            })
            .collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("headers", &headers)
            .field("body_len", &self.body.len())
            .field("stream", &self.stream)
            .finish()
    }
}

impl HttpRequest {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Response headers as the transport received them: a list of name/value pairs
/// looked up case-insensitively.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    /// An empty header list.
    pub fn new() -> Headers {
        Headers(Vec::new())
    }

    /// Adds a header.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// The first value of a header, by case-insensitive name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Iterates over the headers.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Headers {
        Headers(iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}
