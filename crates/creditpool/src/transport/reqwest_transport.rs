//! [`ReqwestTransport`]: the default transport (feature `reqwest`).

use super::{join_url, BoxFuture, Transport, TransportError, TransportResponse};
use creditpool_core::http::{Headers, HttpRequest, Method};
use creditpool_core::retry::TimeoutPhase;
use futures_util::TryStreamExt;
use std::time::Duration;

/// The default connection timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`Transport`] over [`reqwest`] with rustls.
///
/// It sets a connection timeout only: the response head, the body and a
/// stream's idle gaps are timed by the core (the call's `read_timeout_ms` and
/// `idle_timeout_ms`), through the driver. It never follows a redirect (a 3xx
/// is answered as it is, and the core makes it an error), so the key never
/// reaches another origin. A client of your own ([`ReqwestTransport::from_client`])
/// should do the same: `.redirect(reqwest::redirect::Policy::none())`.
#[derive(Clone, Debug)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// A transport with the default connection timeout (10 s).
    pub fn new() -> Result<ReqwestTransport, TransportError> {
        ReqwestTransport::with_connect_timeout(DEFAULT_CONNECT_TIMEOUT)
    }

    /// A transport with this connection timeout.
    pub fn with_connect_timeout(timeout: Duration) -> Result<ReqwestTransport, TransportError> {
        // Never follow a redirect: the Messages API does not redirect, and a
        // followed redirect would carry `x-api-key` to another origin.
        let client = reqwest::Client::builder()
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| TransportError::Build { message: e.to_string() })?;
        Ok(ReqwestTransport { client })
    }

    /// A transport over a `reqwest::Client` you configured (proxies, pools, ...).
    pub fn from_client(client: reqwest::Client) -> ReqwestTransport {
        ReqwestTransport { client }
    }
}

fn map_error(e: reqwest::Error) -> TransportError {
    // reqwest's own message names the whole URL (whose path may hold a
    // secret): a connection failure reports only the innermost cause, what
    // the operating system said ("Connection refused (os error 111)"); the
    // client adds the origin (creditpool_core::error::connection_failed_message).
    let message = if e.is_connect() { innermost_cause(&e) } else { e.to_string() };
    if e.is_timeout() {
        let phase = if e.is_connect() { TimeoutPhase::Connect } else { TimeoutPhase::Read };
        TransportError::Timeout { phase }
    } else if e.is_builder() {
        TransportError::InvalidRequest { message }
    } else if e.is_connect() {
        TransportError::Connect { message }
    } else {
        TransportError::Io { message }
    }
}

impl Transport for ReqwestTransport {
    fn send(&self, base_url: &str, request: HttpRequest) -> BoxFuture<'static, Result<TransportResponse, TransportError>> {
        let url = join_url(base_url, &request.path);
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Options => reqwest::Method::OPTIONS,
        };
        let mut builder = self.client.request(method, url);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let builder = builder.body(request.body);
        Box::pin(async move {
            let response = builder.send().await.map_err(map_error)?;
            let status = response.status().as_u16();
            let headers: Headers = response.headers().iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_owned(), v.to_owned()))).collect();
            let body = response.bytes_stream().map_err(map_error);
            Ok(TransportResponse::from_stream(status, headers, body))
        })
    }
}

/// The last error of `e`'s source chain, as text.
fn innermost_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
