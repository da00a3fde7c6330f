//! [`Client`]: the key, the base URL, the transport, retries and timeouts, and
//! the Messages API calls.

use crate::drive::{drive_call, Io};
use crate::error::Error;
use crate::stream::{MessageStream, StreamItem};
use crate::time::fresh_seed;
use crate::transport::{Transport, TransportError};
use creditpool_core::call::AttemptError;
use creditpool_core::retry::Failure;
use creditpool_core::api::MessageRequest;
use creditpool_core::call::{CallOptions, CallOutput, Completed, MessagesCall};
use creditpool_core::pricing::PriceTable;
use creditpool_core::request::{PoolSelector, RequestBuilder, RequestConfig};
use creditpool_core::retry::RetryPolicy;
use creditpool_core::ApiKey;
use std::sync::Arc;
use std::time::Duration;

/// The API's base URL, the environment variables a client reads (the
/// official SDKs' names) and the rule that picks the base URL: the core's
/// (`creditpool_core::request`), the same in every language.
pub use creditpool_core::request::{API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL};

/// How long a call waits, at most. `read` and `idle` become the core's
/// [`CallOptions::read_timeout_ms`] and [`CallOptions::idle_timeout_ms`]: the
/// core times each attempt (the driver waits no longer than the call's
/// deadline and then tells it), and a timed-out attempt is retried like any
/// other failure (codes `read_timeout`, `idle_timeout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a connection (given to the default transport). Default 10 s.
    pub connect: Duration,
    /// The response head, and then a whole (non-streamed) body. Default 10 min.
    pub read: Duration,
    /// A stream without a byte for this long fails the attempt. Default 10 min.
    pub idle: Duration,
    /// An overall deadline for one call, every attempt and retry wait
    /// included ([`CallOptions::total_timeout_ms`]); default none. Past it the
    /// call fails with code `total_timeout`, not retried.
    pub total: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(10),
            read: Duration::from_millis(creditpool_core::call::DEFAULT_READ_TIMEOUT_MS),
            idle: Duration::from_millis(creditpool_core::call::DEFAULT_IDLE_TIMEOUT_MS),
            total: None,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A Messages API client. Cheap to clone; clones share everything.
///
/// ```no_run
/// # async fn demo() -> Result<(), creditpool::Error> {
/// use creditpool::{Client, MessageRequest};
///
/// // The key comes from ANTHROPIC_API_KEY.
/// let client = Client::new()?;
/// let reply = client.messages().create(&MessageRequest::new("claude-haiku-4-5", 256, "Hello")).await?;
/// println!("{} ({} output tokens)", reply.message.text(), reply.message.usage.output_tokens);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    builder: RequestBuilder,
    base_url: String,
    transport: Arc<dyn Transport>,
    retry: RetryPolicy,
    timeouts: Timeouts,
    preflight: bool,
    prices: Arc<PriceTable>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("request", self.inner.builder.config())
            .field("retry", &self.inner.retry)
            .field("timeouts", &self.inner.timeouts)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with every default: the key from `ANTHROPIC_API_KEY`, the base
    /// URL from `ANTHROPIC_BASE_URL` (else the API's), the default transport.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), creditpool::Error> {
    /// // Or, to name the server in code (a simulator, say):
    /// let client = creditpool::Client::builder().base_url("http://127.0.0.1:8080").build()?;
    /// # Ok(()) }
    /// ```
    pub fn new() -> Result<Client, Error> {
        Client::builder().build()
    }

    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The Messages API.
    pub fn messages(&self) -> Messages<'_> {
        Messages { client: self }
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The request builder (headers, pool selector).
    pub fn request_builder(&self) -> &RequestBuilder {
        &self.inner.builder
    }

    /// The price table used for reservations and costs.
    pub fn prices(&self) -> &Arc<PriceTable> {
        &self.inner.prices
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The timeouts.
    pub fn timeouts(&self) -> Timeouts {
        self.inner.timeouts
    }

    /// The options of one call: this client's retry policy, timeouts and
    /// preflight setting, and a fresh jitter seed; the rest the core's
    /// defaults.
    pub fn call_options(&self, stream: bool) -> CallOptions {
        CallOptions {
            stream,
            retry: self.inner.retry.clone(),
            read_timeout_ms: millis(self.inner.timeouts.read),
            idle_timeout_ms: millis(self.inner.timeouts.idle),
            total_timeout_ms: self.inner.timeouts.total.map(millis),
            jitter_seed: fresh_seed(),
            preflight: self.inner.preflight,
            ..CallOptions::default()
        }
    }

    pub(crate) fn io<'a>(&'a self, max_body_bytes: usize, store: Option<&'a dyn crate::PoolStore>) -> Io<'a> {
        Io { transport: &*self.inner.transport, base_url: &self.inner.base_url, max_body_bytes, store }
    }

    /// Drives a call to its end, handing stream events (and the notice that a
    /// stream starts over) to `on_item`. A call that gave up because the
    /// server could not be reached fails with [`TransportError::Unreachable`]:
    /// the base URL's origin and what the operating system said, in the
    /// core's words, which the core kept when the driver reported the failed
    /// connection ([`MessagesCall::handle_connection_error`], the one way agent
    /// runs use too; [`CallError::connection`](creditpool_core::call::CallError)).
    pub(crate) async fn drive(&self, call: &mut MessagesCall, max_body_bytes: usize, on_item: &mut (dyn FnMut(StreamItem) + Send)) -> Result<Completed, Error> {
        let io = self.io(max_body_bytes, None);
        match drive_call(&io, call, on_item).await? {
            Ok(CallOutput::Message(done)) => Ok(*done),
            Ok(_) => Err(Error::NoResult),
            Err(e) => match (&e.error, e.connection.clone()) {
                (AttemptError::Transport(Failure::Connection), Some(message)) => Err(Error::Transport(TransportError::Unreachable { message, attempts: e.attempts })),
                _ => Err(Error::from(e)),
            },
        }
    }
}

/// The Messages API of a [`Client`]. These calls do not draw on a pool; an
/// [`Agent`](crate::Agent) does (with no tools and `max_turns(1)`, it makes a
/// single pooled call).
#[derive(Clone, Copy, Debug)]
pub struct Messages<'a> {
    client: &'a Client,
}

impl Messages<'_> {
    /// `POST /v1/messages`, retried by the client's policy. The result holds the
    /// message, the `request-id`, the attempts made and the rate-limit headers.
    /// The request is checked first (tool definitions, what the model accepts;
    /// see [`ClientBuilder::preflight`]): a request the API would refuse fails
    /// here with [`Error::Preflight`], before anything is sent.
    pub async fn create(&self, request: &MessageRequest) -> Result<Completed, Error> {
        let options = self.client.call_options(false);
        let max_body = options.max_body_bytes;
        let mut call = MessagesCall::new(self.client.request_builder(), request, options)?;
        self.client.drive(&mut call, max_body, &mut |_| {}).await
    }

    /// `POST /v1/messages` with `"stream": true`: a [`MessageStream`] of
    /// [`StreamItem`]s, then the final message. A failed attempt is retried
    /// from the start: when it had already handed out events, a
    /// [`StreamItem::Retry`] (the core's `stream_retry` notice) comes first, and
    /// a display should discard what it showed.
    ///
    /// ```no_run
    /// # async fn demo(client: creditpool::Client) -> Result<(), creditpool::Error> {
    /// use creditpool::core::api::{Delta, StreamEvent};
    /// use creditpool::StreamItem;
    /// use futures_util::StreamExt;
    ///
    /// let request = creditpool::MessageRequest::new("claude-haiku-4-5", 256, "Tell me a joke");
    /// let mut stream = client.messages().stream(&request)?;
    /// while let Some(item) = stream.next().await {
    ///     match item? {
    ///         StreamItem::Event(StreamEvent::ContentBlockDelta(d)) => {
    ///             if let Delta::Text(t) = &d.delta {
    ///                 print!("{}", t.text);
    ///             }
    ///         }
    ///         StreamItem::Retry(notice) => println!("\n[{}: starting over]", notice.code),
    ///         _ => {}
    ///     }
    /// }
    /// let done = stream.final_message().await?;
    /// println!("\n{:?}", done.message.stop_reason);
    /// # Ok(()) }
    /// ```
    pub fn stream(&self, request: &MessageRequest) -> Result<MessageStream, Error> {
        let options = self.client.call_options(true);
        let max_body = options.max_body_bytes;
        let call = MessagesCall::new(self.client.request_builder(), request, options)?;
        Ok(MessageStream::start(self.client.clone(), call, max_body))
    }
}

/// Builds a [`Client`].
#[derive(Default)]
pub struct ClientBuilder {
    api_key: Option<ApiKey>,
    base_url: Option<String>,
    anthropic_version: Option<String>,
    betas: Vec<String>,
    pool_selector: Option<Option<PoolSelector>>,
    headers: Vec<(String, String)>,
    retry: Option<RetryPolicy>,
    timeouts: Timeouts,
    no_preflight: bool,
    transport: Option<Arc<dyn Transport>>,
    prices: Option<Arc<PriceTable>>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key)
            .field("base_url", &self.base_url)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The API key. Without one, `ANTHROPIC_API_KEY` is read at
    /// [`build`](ClientBuilder::build).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key));
        self
    }

    /// The base URL; default `ANTHROPIC_BASE_URL` if set and not empty, else
    /// `https://api.anthropic.com`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The `anthropic-version` header; default `2023-06-01`.
    pub fn anthropic_version(mut self, version: impl Into<String>) -> Self {
        self.anthropic_version = Some(version.into());
        self
    }

    /// Adds a beta feature (sent in `anthropic-beta`).
    pub fn beta(mut self, beta: impl Into<String>) -> Self {
        self.betas.push(beta.into());
        self
    }

    /// The pool selector put in every request body; default
    /// `"credit_pool": "programmatic"`.
    pub fn pool_selector(mut self, selector: PoolSelector) -> Self {
        self.pool_selector = Some(Some(selector));
        self
    }

    /// Sends no pool selector (for endpoints that reject unknown fields).
    pub fn no_pool_selector(mut self) -> Self {
        self.pool_selector = Some(None);
        self
    }

    /// Adds a header to every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The retry policy; default: the core's (2 retries, 0.5 s to 8 s backoff).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Retries after the first attempt (keeps the rest of the policy).
    pub fn max_retries(mut self, retries: u32) -> Self {
        let mut policy = self.retry.take().unwrap_or_default();
        policy.max_retries = retries;
        self.retry = Some(policy);
        self
    }

    /// All timeouts at once.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The connection timeout of the default transport.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.connect = timeout;
        self
    }

    /// The longest wait for a response head, and then for a whole body
    /// ([`CallOptions::read_timeout_ms`]); default 10 min.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.read = timeout;
        self
    }

    /// The longest silence of a stream before the attempt fails
    /// ([`CallOptions::idle_timeout_ms`]); default 10 min.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.idle = timeout;
        self
    }

    /// An overall deadline for each call, every attempt, retry wait and
    /// stream included ([`CallOptions::total_timeout_ms`]); default none.
    /// Past it the call fails with code `total_timeout` (a stream cut by it
    /// keeps its partial message), not retried.
    pub fn total_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.total = Some(timeout);
        self
    }

    /// Whether requests are checked before they are sent (tool definitions,
    /// the model's capabilities: [`CallOptions::preflight`]); default on. Turn
    /// it off only for a model or a tool the core's tables do not know yet.
    pub fn preflight(mut self, on: bool) -> Self {
        self.no_preflight = !on;
        self
    }

    /// The transport; default [`ReqwestTransport`](crate::transport::ReqwestTransport)
    /// (feature `reqwest`).
    pub fn transport(mut self, transport: impl Transport) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// A shared transport.
    pub fn shared_transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The price table; default the built-in one.
    pub fn prices(mut self, prices: PriceTable) -> Self {
        self.prices = Some(Arc::new(prices));
        self
    }

    /// The client. Fails without a key, with a malformed base URL, header or
    /// beta, or (without the `reqwest` feature) without a transport.
    pub fn build(self) -> Result<Client, Error> {
        let api_key = match self.api_key {
            Some(k) => k,
            None => ApiKey::new(std::env::var(API_KEY_ENV).unwrap_or_default()),
        };
        // The core's one rule: given, else a non-empty variable, else the API.
        let env = std::env::var(BASE_URL_ENV).ok();
        let base_url = creditpool_core::request::resolve_base_url(self.base_url.as_deref(), env.as_deref()).map_err(|e| Error::Config { reason: e.to_string() })?;
        let mut config = RequestConfig::new(api_key);
        if let Some(v) = self.anthropic_version {
            config.anthropic_version = v;
        }
        config.betas = self.betas;
        if let Some(sel) = self.pool_selector {
            config.pool_selector = sel;
        }
        config.extra_headers = self.headers;
        let builder = RequestBuilder::new(config)?;
        let transport = match self.transport {
            Some(t) => t,
            None => default_transport(self.timeouts.connect)?,
        };
        Ok(Client {
            inner: Arc::new(ClientInner {
                builder,
                base_url: base_url.trim_end_matches('/').to_owned(),
                transport,
                retry: self.retry.unwrap_or_default(),
                timeouts: self.timeouts,
                preflight: !self.no_preflight,
                prices: self.prices.unwrap_or_else(|| Arc::new(PriceTable::builtin())),
            }),
        })
    }
}

#[cfg(feature = "reqwest")]
pub(crate) fn default_transport(connect: Duration) -> Result<Arc<dyn Transport>, Error> {
    Ok(Arc::new(crate::transport::ReqwestTransport::with_connect_timeout(connect)?))
}

#[cfg(not(feature = "reqwest"))]
pub(crate) fn default_transport(_connect: Duration) -> Result<Arc<dyn Transport>, Error> {
    Err(Error::Config { reason: "no transport: enable the `reqwest` feature or pass one with .transport(...)".into() })
}
