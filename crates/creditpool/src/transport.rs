//! The HTTP transport: how a [`HttpRequest`] from the core reaches a server.
//!
//! The core builds every request as a plain value; a [`Transport`] sends it and
//! hands back the status, the headers and the body as a stream of byte chunks.
//! It does nothing else: no retries, no timeouts beyond the connection's own, no
//! parsing. The core decides everything else (how long to wait for the head, a
//! body or a stream's next chunk, and what a failure means); the driver in this
//! crate only reports to it what the transport saw.
//!
//! A transport reports a body that breaks off (a reset, a connection closed
//! before the end) as an error of the body stream ([`TransportError::Io`]):
//! the core reads it as a cut stream when a stream was being read.
//!
//! With the default feature `reqwest`, [`ReqwestTransport`] (rustls, no OpenSSL)
//! is used unless the client is given another. To bring your own, implement
//! [`Transport`], or wrap an async closure with [`from_fn`]:
//!
//! ```
//! use creditpool::transport::{from_fn, TransportResponse};
//! use creditpool::core::http::Headers;
//!
//! // A transport that answers every request with a canned message (for tests).
//! let canned = from_fn(|url: String, _request| async move {
//!     assert!(url.ends_with("/v1/messages"));
//!     let body = r#"{"id":"msg_1","type":"message","role":"assistant","model":"m",
//!         "content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn",
//!         "usage":{"input_tokens":3,"output_tokens":1}}"#;
//!     Ok(TransportResponse::from_bytes(200, Headers::new(), body))
//! });
//! let client = creditpool::Client::builder().api_key("sk-test").transport(canned).build()?;
//! # Ok::<(), creditpool::Error>(())
//! ```

use bytes::Bytes;
use creditpool_core::http::{Headers, HttpRequest};
use creditpool_core::retry::{Failure, TimeoutPhase};
use futures_util::Stream;
use std::future::Future;
use std::pin::Pin;

#[cfg(feature = "reqwest")]
mod reqwest_transport;
#[cfg(feature = "reqwest")]
pub use reqwest_transport::ReqwestTransport;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A response body as a stream of byte chunks.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, TransportError>> + Send>>;

/// What a transport got back: the head, and the body still to be read.
pub struct TransportResponse {
    /// The HTTP status.
    pub status: u16,
    /// The response headers (names in any case; lookups ignore case).
    pub headers: Headers,
    /// The body, chunk by chunk, as it arrives.
    pub body: BodyStream,
}

impl std::fmt::Debug for TransportResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportResponse").field("status", &self.status).field("headers", &self.headers).finish_non_exhaustive()
    }
}

impl TransportResponse {
    /// A response whose body is already in memory (one chunk).
    pub fn from_bytes(status: u16, headers: Headers, body: impl Into<Bytes>) -> TransportResponse {
        let body: Bytes = body.into();
        TransportResponse { status, headers, body: Box::pin(futures_util::stream::iter([Ok(body)])) }
    }

    /// A response with a body stream of your own.
    pub fn from_stream<S>(status: u16, headers: Headers, body: S) -> TransportResponse
    where
        S: Stream<Item = Result<Bytes, TransportError>> + Send + 'static,
    {
        TransportResponse { status, headers, body: Box::pin(body) }
    }
}

/// Sends one HTTP request.
///
/// `base_url` is the client's base URL (`https://api.anthropic.com`), or a
/// webhook's full URL; the request's `path` is appended to it (see
/// [`join_url`]). The request's headers carry the API key: an implementation
/// must never log them.
pub trait Transport: Send + Sync + 'static {
    /// Sends `request` and resolves once the response's status and headers have
    /// arrived; the body is read from [`TransportResponse::body`].
    fn send(&self, base_url: &str, request: HttpRequest) -> BoxFuture<'static, Result<TransportResponse, TransportError>>;
}

/// `base_url` and `path` joined with exactly one `/` between them (`path` may be
/// empty).
pub fn join_url(base_url: &str, path: &str) -> String {
    if path.is_empty() {
        return base_url.to_owned();
    }
    format!("{}/{}", base_url.trim_end_matches('/'), path.trim_start_matches('/'))
}

/// Why a request did not get a (complete) response.
///
/// Messages never contain the API key: transports see it only in a header and
/// do not report headers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// No connection could be made (refused, DNS, TLS).
    #[error("could not connect: {message}")]
    Connect {
        /// What the HTTP library said.
        message: String,
    },
    /// A wait ran out.
    #[error("timed out waiting for the {phase:?} phase")]
    Timeout {
        /// Which wait.
        phase: TimeoutPhase,
    },
    /// The connection broke after it was made (reset, closed mid-body).
    #[error("connection failed: {message}")]
    Io {
        /// What the HTTP library said.
        message: String,
    },
    /// The request could not be put on the wire (a bad URL or header).
    #[error("invalid request: {message}")]
    InvalidRequest {
        /// Why.
        message: String,
    },
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client: {message}")]
    Build {
        /// Why.
        message: String,
    },
    /// A call gave up on a server it could not reach, after its retries:
    /// `message` says where the request went (the base URL's origin only) and
    /// what the operating system said, in the core's words
    /// ([`creditpool_core::error::connection_failed_message`]). Code
    /// `connection_error`.
    #[error("{message} (after {attempts} attempt(s))")]
    Unreachable {
        /// `could not connect to http://127.0.0.1:9: Connection refused (os error 111)`.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
}

impl TransportError {
    /// The failure as the core's retry policy reads it.
    pub fn to_failure(&self) -> Failure {
        match self {
            TransportError::Timeout { phase } => Failure::Timeout { phase: *phase },
            _ => Failure::Connection,
        }
    }

    /// The stable error code (see [`creditpool_core::codes`]): the failure's
    /// for a connection that failed or timed out (`connection_error`,
    /// `connect_timeout`, ...), `invalid_request` for a request that could not
    /// be put on the wire, `invalid_options` for an HTTP client that could not
    /// be built.
    pub fn code(&self) -> &'static str {
        match self {
            TransportError::InvalidRequest { .. } => "invalid_request",
            TransportError::Build { .. } => "invalid_options",
            other => other.to_failure().code(),
        }
    }
}

/// A [`Transport`] made from an async closure; see [`from_fn`].
pub struct FnTransport<F> {
    f: F,
}

impl<F> std::fmt::Debug for FnTransport<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnTransport")
    }
}

/// A transport from an async closure that gets the full URL and the request.
pub fn from_fn<F, Fut>(f: F) -> FnTransport<F>
where
    F: Fn(String, HttpRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<TransportResponse, TransportError>> + Send + 'static,
{
    FnTransport { f }
}

impl<F, Fut> Transport for FnTransport<F>
where
    F: Fn(String, HttpRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<TransportResponse, TransportError>> + Send + 'static,
{
    fn send(&self, base_url: &str, request: HttpRequest) -> BoxFuture<'static, Result<TransportResponse, TransportError>> {
        let url = join_url(base_url, &request.path);
        Box::pin((self.f)(url, request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join_with_one_slash() {
        assert_eq!(join_url("http://h:1", "/v1/messages"), "http://h:1/v1/messages");
        assert_eq!(join_url("http://h:1/", "/v1/messages"), "http://h:1/v1/messages");
        assert_eq!(join_url("http://h:1/hook", ""), "http://h:1/hook");
    }

    #[test]
    fn only_timeouts_keep_their_phase() {
        assert_eq!(TransportError::Timeout { phase: TimeoutPhase::Idle }.to_failure(), Failure::Timeout { phase: TimeoutPhase::Idle });
        assert_eq!(TransportError::Io { message: "reset".into() }.to_failure(), Failure::Connection);
    }
}
