//! One Messages API call with retries, as a sans-I/O state machine.
//!
//! [`MessagesCall`] owns the rules of a single `messages.create` or
//! `messages.stream`: which request to send, how to read what comes back,
//! whether and when to try again ([`crate::retry`]), and what the final result
//! is. A binding drives it with its own HTTP client and its own sleep:
//!
//! ```text
//! let mut call = MessagesCall::new(&builder, &request, options)?; // preflight checks here
//! loop {
//!     match call.next_action(now) {
//!         CallAction::Send(http) => {
//!             // send `http`, waiting for the head no later than call.deadline();
//!             // past it: call.handle_timeout(now). A connection failure:
//!             //     call.handle_transport_error(Failure::Connection, now)
//!             match call.handle_head(status, &headers, now) {
//!                 ReadBody::Whole => call.handle_body(&body, now),
//!                 ReadBody::Chunks => {
//!                     // until call.is_reading() is false, wait for the next
//!                     // chunk no later than call.deadline():
//!                     //     a chunk:           call.handle_chunk(&bytes, now)
//!                     //     the body ended:    call.handle_end(now)
//!                     //     the deadline:      call.handle_timeout(now)
//!                     //     the transport failed: call.handle_transport_error(..)
//!                 }
//!             }
//!         }
//!         CallAction::Wait { until_ms, retry } => {
//!             // pass `retry` (a stream_retry notice) to whoever showed events;
//!             // sleep until then
//!         }
//!         CallAction::Done => break,
//!     }
//! }
//! let result = call.take_result();
//! ```
//!
//! The driver decides nothing. It reports what the transport saw, and the
//! call interprets it:
//!
//! * **Timeouts.** [`MessagesCall::deadline`] is the time by which the next
//!   input must arrive (the head and a whole body within
//!   [`CallOptions::read_timeout_ms`], each chunk of a stream within
//!   [`CallOptions::idle_timeout_ms`]). The driver reports the time passing
//!   with [`MessagesCall::handle_timeout`], which fails the attempt with the
//!   right phase; the retry policy decides what follows.
//! * **An overall deadline** ([`CallOptions::total_timeout_ms`], off by
//!   default) bounds the whole call, every attempt and wait included, from
//!   its first [`MessagesCall::next_action`]. [`MessagesCall::deadline`] is
//!   never later than it; when it passes with a request out, the call ends
//!   with a `total_timeout` (never retried; mid-stream it is a cut stream,
//!   keeping the message so far, and may have been billed); a retry whose
//!   wait would end after it is not made (the call ends with the last
//!   failure, give-up reason `total_timeout`).
//! * **A connection lost mid-stream** ([`Failure::Connection`] reported while
//!   a stream is read) is a cut stream: the attempt ends as a stream without
//!   `message_stop`, keeping the message so far.
//! * **The clock.** Time never goes back for a call, and after a
//!   [`CallAction::Wait`] the call's clock is at least the wait's end, so a
//!   sleep that wakes a little early cannot stall it.
//! * **Retries of a stream.** A retried stream starts again from the
//!   beginning. When the failed attempt had already handed out events, the
//!   wait carries a [`RetryNotice`] (also [`RetryNotice::to_event`], a
//!   `stream_retry` event), and [`MessagesCall::handle_chunk`]'s events start
//!   over after it.
//! * **Preflight.** [`MessagesCall::new`] checks tool definitions and the
//!   model's capabilities before anything is sent (see
//!   [`CallOptions::preflight`]).

use crate::api::{Message, MessageRequest, StreamEvent};
use crate::error::{ApiError, ParseError};
use crate::http::{Headers, HttpRequest};
use crate::ratelimit::RateLimitInfo;
use crate::request::{RequestBuilder, RequestError};
use crate::response::{parse_message, ResponseError, ResponseLimits};
use crate::retry::{Failure, GiveUpReason, RetryDecision, RetryPolicy, TimeoutPhase};
use crate::sse::decoder::SseLimits;
use crate::sse::{MessageStream, StreamError, ToolInputIssue};
use serde::{Deserialize, Serialize};

/// The default idle timeout of a stream: 10 minutes without a byte.
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = 10 * 60 * 1_000;
/// The default cap on a whole streamed response: 256 MiB.
pub const DEFAULT_MAX_STREAM_BYTES: usize = 256 * 1024 * 1024;
/// The default wait for a response head (and a whole body): 10 minutes, as
/// the official SDKs.
pub const DEFAULT_READ_TIMEOUT_MS: u64 = 10 * 60 * 1_000;

/// How a call behaves. Read from JSON strictly; missing fields take defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallOptions {
    /// Whether to stream the response.
    pub stream: bool,
    /// When to retry.
    pub retry: RetryPolicy,
    /// How long a stream may go without a byte before the attempt fails.
    pub idle_timeout_ms: u64,
    /// How long to wait for the response head after sending, and then for a
    /// whole (non-streamed) body. Default 10 minutes.
    pub read_timeout_ms: u64,
    /// The largest response body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The largest single stream event accepted, in bytes.
    pub max_event_bytes: usize,
    /// The most bytes one streamed response may hold in all. Default 256 MiB,
    /// far beyond any legal response (128k output tokens is a few MiB of
    /// events); past it the attempt fails with `stream_too_large` and is not
    /// retried.
    pub max_stream_bytes: usize,
    /// An overall deadline for the whole call, in ms from its first attempt:
    /// every attempt, retry wait and stream included. `None` (the default):
    /// no overall bound beyond the per-phase timeouts and the retry policy.
    /// When it passes with a request out, the call fails with
    /// `total_timeout` (`APITimeoutError`, phase `total`) and is not retried;
    /// a stream cut by it keeps the message so far and counts as possibly
    /// billed (settled at its reserved worst case, flagged estimated). A
    /// retry whose wait would end after the deadline is not made: the call
    /// ends with the last failure, give-up reason `total_timeout`.
    pub total_timeout_ms: Option<u64>,
    /// The seed of the backoff jitter; each attempt derives its own from it.
    pub jitter_seed: u64,
    /// Whether [`MessagesCall::new`] checks the request before anything is
    /// sent: tool definitions ([`crate::tools::check_tools`]) and what the
    /// model accepts ([`crate::pricing::check_request`]). Default on; turn it
    /// off only for a model or a tool the tables do not know yet.
    pub preflight: bool,
}

impl Default for CallOptions {
    fn default() -> CallOptions {
        CallOptions {
            stream: false,
            retry: RetryPolicy::default(),
            idle_timeout_ms: DEFAULT_IDLE_TIMEOUT_MS,
            read_timeout_ms: DEFAULT_READ_TIMEOUT_MS,
            max_body_bytes: crate::response::DEFAULT_MAX_BODY_BYTES,
            max_event_bytes: crate::sse::decoder::DEFAULT_MAX_EVENT_BYTES,
            max_stream_bytes: DEFAULT_MAX_STREAM_BYTES,
            total_timeout_ms: None,
            jitter_seed: 0,
            preflight: true,
        }
    }
}

/// What the driver should do next.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub enum CallAction {
    /// Send this request, then report the response with
    /// [`MessagesCall::handle_head`] (or a failure with
    /// [`MessagesCall::handle_transport_error`]).
    Send(HttpRequest),
    /// Sleep until this Unix time in ms, then ask again. The next call is
    /// taken to happen at `until_ms` at the earliest (a sleep that wakes a
    /// little early cannot stall the call).
    Wait {
        /// When to ask again.
        until_ms: u64,
        /// Set when the attempt that failed had already handed out stream
        /// events: the retry starts the stream again from the beginning, so
        /// a consumer that showed them should discard them.
        retry: Option<RetryNotice>,
    },
    /// The call is over; take the result with [`MessagesCall::take_result`].
    Done,
}

/// A request refused before anything was sent.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PreflightError {
    /// The request cannot be built.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// A tool definition is invalid.
    #[error(transparent)]
    Tool(#[from] crate::tools::ToolDefinitionError),
    /// The model does not accept the request.
    #[error(transparent)]
    Capability(#[from] crate::pricing::CapabilityError),
}

impl PreflightError {
    /// The stable error code (see [`crate::codes`]).
    pub fn code(&self) -> &'static str {
        match self {
            PreflightError::Request(e) => e.code(),
            PreflightError::Tool(e) => e.code(),
            PreflightError::Capability(e) => e.code(),
        }
    }
}

/// What a call asks of the API, and so how its answer is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    /// `POST /v1/messages`: a message, whole or streamed.
    #[default]
    Messages,
    /// `POST /v1/messages/count_tokens`: `{"input_tokens": n}`.
    CountTokens,
    /// A webhook delivery (an alert): any 2xx answer delivers it; the body is
    /// not read for meaning.
    Webhook,
}

/// The default retries of a webhook delivery after the first attempt.
pub const DEFAULT_WEBHOOK_RETRIES: u32 = 3;
/// The default wait for a webhook's answer: 10 seconds.
pub const DEFAULT_WEBHOOK_TIMEOUT_MS: u64 = 10_000;
/// The most of a webhook's answer that is read: 64 KiB.
pub const DEFAULT_WEBHOOK_MAX_BODY_BYTES: usize = 64 * 1024;

impl CallOptions {
    /// The options of a webhook delivery: 3 retries with the usual backoff,
    /// 10 s for an answer, at most 64 KiB of it read.
    pub fn webhook() -> CallOptions {
        CallOptions {
            retry: RetryPolicy { max_retries: DEFAULT_WEBHOOK_RETRIES, ..RetryPolicy::default() },
            read_timeout_ms: DEFAULT_WEBHOOK_TIMEOUT_MS,
            max_body_bytes: DEFAULT_WEBHOOK_MAX_BODY_BYTES,
            preflight: false,
            ..CallOptions::default()
        }
    }
}

/// What any kind of call ended with ([`MessagesCall::take_output`]).
#[derive(Clone, Debug, PartialEq)]
pub enum CallOutput {
    /// A message ([`CallKind::Messages`]).
    Message(Box<Completed>),
    /// A token count ([`CallKind::CountTokens`]).
    InputTokens {
        /// The request's input tokens.
        input_tokens: u64,
        /// Attempts made.
        attempts: u32,
        /// The `request-id` of the answer.
        request_id: Option<String>,
    },
    /// A webhook was delivered ([`CallKind::Webhook`]).
    Delivered {
        /// The receiver's status.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
}

/// How to read the body after [`MessagesCall::handle_head`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum ReadBody {
    /// Read the whole body, then call [`MessagesCall::handle_body`].
    Whole,
    /// Feed chunks as they arrive to [`MessagesCall::handle_chunk`], then call
    /// [`MessagesCall::handle_end`].
    Chunks,
}

/// A successful call.
#[derive(Clone, Debug, PartialEq)]
pub struct Completed {
    /// The message.
    pub message: Message,
    /// Tool inputs of a streamed message that are cut off or malformed: never
    /// run those tools. Always empty for a non-streamed message.
    pub tool_input_issues: Vec<ToolInputIssue>,
    /// Attempts made, 1 or more.
    pub attempts: u32,
    /// The `request-id` of the successful response.
    pub request_id: Option<String>,
    /// The rate-limit headers of the successful response.
    pub rate_limit: RateLimitInfo,
}

/// A stream that already handed out events failed and will be sent again.
/// As an event for a stream's consumer it is
/// `{"type": "stream_retry", "attempt", "delay_ms", "code", "message"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RetryNotice {
    /// The attempt that failed, 0-based.
    pub attempt: u32,
    /// How long until the next attempt, in ms.
    pub delay_ms: u64,
    /// The failure's error code (see [`crate::codes`]).
    pub code: String,
    /// The failure, for people.
    pub message: String,
}

impl RetryNotice {
    /// The notice as a `stream_retry` event object.
    pub fn to_event(&self) -> serde_json::Value {
        serde_json::json!({
            "type": "stream_retry",
            "attempt": self.attempt,
            "delay_ms": self.delay_ms,
            "code": self.code,
            "message": self.message,
        })
    }
}

/// What made the last attempt fail.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AttemptError {
    /// The API answered with an error (an error status, or an `error` event).
    #[error(transparent)]
    Api(ApiError),
    /// A stream failed: cut off, malformed, or over a size cap.
    #[error(transparent)]
    Stream(StreamError),
    /// The response could not be read.
    #[error(transparent)]
    Parse(ParseError),
    /// The connection failed or timed out.
    #[error("{0}")]
    Transport(Failure),
    /// The API does not know the pool selector field: its 400 said so
    /// ([`crate::request::rejects_selector`]). Set on a call's final error only.
    #[error(transparent)]
    SelectorRejected(crate::request::SelectorRejected),
}

/// A call that failed for good.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{} (after {attempts} attempt(s); {reason})", self.message())]
pub struct CallError {
    /// What made the last attempt fail.
    pub error: AttemptError,
    /// When the last attempt's connection failed and the driver said where
    /// it went and why ([`MessagesCall::handle_connection_error`]): the
    /// core's words for it ([`crate::error::connection_failed_message`]:
    /// the URL's origin and the OS error, never the path or a key).
    pub connection: Option<String>,
    /// Why it was not retried.
    pub reason: GiveUpReason,
    /// Attempts made.
    pub attempts: u32,
    /// For a stream that failed part-way (an `error` event, a cut): the
    /// message received before the failure. Shared, not copied, by the
    /// run's status that reports it ([`crate::agent::RunStatus::Failed`]):
    /// a run's outcome holds one message near the stream cap, not two.
    pub partial: Option<std::sync::Arc<Message>>,
}

impl CallError {
    /// The last attempt's error in words: for a failed connection the driver
    /// described, where it went and what the OS said.
    pub fn message(&self) -> String {
        match &self.connection {
            Some(c) => c.clone(),
            None => self.error.to_string(),
        }
    }
}

/// What became of one attempt, as [`MessagesCall::last_attempt`] reports it.
#[derive(Clone, Debug, PartialEq)]
pub enum AttemptOutcome {
    /// The attempt succeeded: the call is done.
    Succeeded,
    /// The attempt failed; the decision says whether the call goes on.
    Failed {
        /// What went wrong.
        error: AttemptError,
        /// Retry (and when) or give up (and why).
        decision: RetryDecision,
    },
}

#[derive(Debug, Clone)]
enum State {
    /// Ready to send attempt `attempt`.
    Ready,
    /// Sent at `since_ms`; waiting for the head.
    Sent { since_ms: u64 },
    /// Reading a whole body since `since_ms`.
    ReadingWhole { status: u16, headers: Headers, since_ms: u64 },
    /// Reading a stream.
    Streaming { headers: Headers, stream: Box<MessageStream>, last_activity_ms: u64, received: usize },
    /// Waiting to retry.
    Waiting { until_ms: u64 },
    /// Over.
    Done,
}

/// One Messages API call with retries. See the module docs for how to drive it.
#[derive(Debug, Clone)]
pub struct MessagesCall {
    http: HttpRequest,
    options: CallOptions,
    attempt: u32,
    state: State,
    last: Option<AttemptOutcome>,
    result: Option<Result<CallOutput, CallError>>,
    kind: CallKind,
    /// The message a failed stream attempt received before failing.
    partial: Option<Box<Message>>,
    /// The latest time seen (or the end of the last wait): the call's clock
    /// never goes back.
    clock_ms: u64,
    /// Whether the current attempt has handed out stream events.
    delivered: bool,
    /// The notice the next wait carries.
    pending_notice: Option<RetryNotice>,
    /// Whether the current attempt may have been billed (see
    /// [`MessagesCall::may_have_billed`]).
    answered: bool,
    /// When the first attempt was asked for (the start of
    /// [`CallOptions::total_timeout_ms`]).
    started_ms: Option<u64>,
    /// The `request-id` of the current (or last) attempt's answer, from its
    /// head: the key a possibly billed attempt is settled under.
    attempt_request_id: Option<String>,
    /// Where the current attempt's failed connection went and what the OS
    /// said, in the core's words (see [`MessagesCall::handle_connection_error`]).
    connection_failure: Option<String>,
    /// The pool selector field the request carries: a 400 naming it as an
    /// extra input ends the call as [`AttemptError::SelectorRejected`].
    selector_field: Option<String>,
    /// A signed webhook's secret: each attempt's timestamp and signature
    /// headers are made from that attempt's time.
    webhook_secret: Option<crate::pool::WebhookSecret>,
}

impl MessagesCall {
    /// A call of `POST /v1/messages` for a request. With
    /// [`CallOptions::preflight`] (the default), the tool definitions and the
    /// model's capabilities are checked first: a request the API would refuse
    /// costs nothing.
    pub fn new(builder: &RequestBuilder, request: &MessageRequest, options: CallOptions) -> Result<MessagesCall, PreflightError> {
        if options.preflight {
            crate::tools::check_tools(&request.tools)?;
            crate::pricing::check_request(request)?;
        }
        let http = builder.messages(request, options.stream)?;
        let selector_field = builder.config().pool_selector.as_ref().map(|s| s.field.clone());
        Ok(MessagesCall { selector_field, ..MessagesCall::from_http(http, options) })
    }

    /// A call of an already built request (for example `count_tokens`).
    pub fn from_http(http: HttpRequest, options: CallOptions) -> MessagesCall {
        MessagesCall { http, options, kind: CallKind::Messages, attempt: 0, state: State::Ready, last: None, result: None, partial: None, clock_ms: 0, delivered: false, pending_notice: None, answered: false, started_ms: None, attempt_request_id: None, connection_failure: None, selector_field: None, webhook_secret: None }
    }

    /// A call of `POST /v1/messages/count_tokens` for a request (with the
    /// same preflight as [`MessagesCall::new`]); its result is
    /// [`CallOutput::InputTokens`].
    pub fn count_tokens(builder: &RequestBuilder, request: &MessageRequest, options: CallOptions) -> Result<MessagesCall, PreflightError> {
        if options.preflight {
            crate::tools::check_tools(&request.tools)?;
        }
        let http = builder.count_tokens(request)?;
        let options = CallOptions { stream: false, ..options };
        Ok(MessagesCall { kind: CallKind::CountTokens, ..MessagesCall::from_http(http, options) })
    }

    /// A webhook delivery of `delivery` (its body and headers, as the pool
    /// built them), retried by `options` (usually [`CallOptions::webhook`]).
    /// The request's `path` is empty: the driver sends it to the webhook's
    /// URL, which never appears in the request, an error or a log.
    pub fn webhook(delivery: &crate::pool::WebhookDelivery, options: CallOptions) -> MessagesCall {
        let mut headers = delivery.headers.clone();
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
            headers.push(("content-type".into(), "application/json".into()));
        }
        let http = HttpRequest { method: crate::http::Method::Post, path: String::new(), headers, body: delivery.body.clone(), stream: false };
        let options = CallOptions { stream: false, ..options };
        MessagesCall { kind: CallKind::Webhook, ..MessagesCall::from_http(http, options) }
    }

    /// A webhook delivery signed per attempt: like [`MessagesCall::webhook`],
    /// but every attempt's `x-creditpool-timestamp` is that attempt's time and
    /// its `x-creditpool-signature` the HMAC of `t.body` keyed with `secret`
    /// (see [`crate::pool::webhook`]), so a retry ten minutes later passes a
    /// receiver's age check. The secret never appears in the call's `Debug`.
    pub fn signed_webhook(delivery: &crate::pool::WebhookDelivery, secret: &[u8], options: CallOptions) -> MessagesCall {
        MessagesCall { webhook_secret: Some(crate::pool::WebhookSecret::new(secret)), ..MessagesCall::webhook(delivery, options) }
    }

    /// What the call asks of the API.
    pub fn kind(&self) -> CallKind {
        self.kind
    }

    /// The request this call sends.
    pub fn request(&self) -> &HttpRequest {
        &self.http
    }

    /// The current attempt, 0-based.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// What became of the last attempt that ended.
    pub fn last_attempt(&self) -> Option<&AttemptOutcome> {
        self.last.as_ref()
    }

    /// Whether the driver should keep reading the body.
    pub fn is_reading(&self) -> bool {
        matches!(self.state, State::ReadingWhole { .. } | State::Streaming { .. })
    }

    /// Whether the last attempt that ended may have been billed although it
    /// failed: the server had started to answer (a 2xx head), or the request
    /// was out when the head or the stream timed out (the model may have been
    /// generating). An attempt that certainly did not reach the model (an
    /// error status with its body, a failed connection before any answer, a
    /// connect timeout) may not have been billed. Such an attempt is never
    /// released for free (see [`crate::agent`]).
    pub fn may_have_billed(&self) -> bool {
        self.answered
    }

    /// The `request-id` header of the current (or last) attempt's answer, if
    /// its head arrived: a possibly billed attempt is settled under it, so the
    /// ledger can be reconciled with the API's usage request by request.
    pub fn attempt_request_id(&self) -> Option<&str> {
        self.attempt_request_id.as_deref()
    }

    /// The message the last failed attempt received before failing, if any
    /// (a cut or failed stream): what was observed of a possibly billed
    /// attempt.
    pub fn observed_partial(&self) -> Option<&Message> {
        let failed = match &self.result {
            Some(Err(e)) => e.partial.as_deref(),
            _ => None,
        };
        self.partial.as_deref().or(failed)
    }

    /// The message so far, while a stream is read.
    pub fn partial_message(&self) -> Option<&Message> {
        match &self.state {
            State::Streaming { stream, .. } => stream.message(),
            _ => None,
        }
    }

    /// The Unix time in ms by which the next input must arrive while a
    /// request is out: the head and a whole body within
    /// [`CallOptions::read_timeout_ms`] of sending, each chunk of a stream
    /// within [`CallOptions::idle_timeout_ms`] of the last. When it passes
    /// with nothing read, call [`MessagesCall::handle_timeout`].
    /// Never later than the overall deadline
    /// ([`MessagesCall::total_deadline`]).
    pub fn deadline(&self) -> Option<u64> {
        let phase = match &self.state {
            State::Sent { since_ms } | State::ReadingWhole { since_ms, .. } => since_ms.saturating_add(self.options.read_timeout_ms),
            State::Streaming { last_activity_ms, .. } => last_activity_ms.saturating_add(self.options.idle_timeout_ms),
            _ => return None,
        };
        Some(self.total_deadline().map_or(phase, |t| t.min(phase)))
    }

    /// The Unix time in ms at which the whole call times out
    /// ([`CallOptions::total_timeout_ms`] after its first attempt), if it has
    /// an overall deadline and has started.
    pub fn total_deadline(&self) -> Option<u64> {
        Some(self.started_ms?.saturating_add(self.options.total_timeout_ms?))
    }

    /// The call's clock: `now_ms`, but never earlier than a time already seen
    /// or the end of the last wait.
    fn clock(&mut self, now_ms: u64) -> u64 {
        self.clock_ms = self.clock_ms.max(now_ms);
        self.clock_ms
    }

    /// What to do next.
    pub fn next_action(&mut self, now_ms: u64) -> CallAction {
        let now_ms = self.clock(now_ms);
        match self.state {
            State::Ready => {
                let started = *self.started_ms.get_or_insert(now_ms);
                if let Some(total_timeout_ms) = self.options.total_timeout_ms {
                    if self.attempt > 0 && now_ms >= started.saturating_add(total_timeout_ms) {
                        // The driver came back after the deadline: no new attempt.
                        if let Some(AttemptOutcome::Failed { error, .. }) = self.last.clone() {
                            self.give_up(error, GiveUpReason::TotalTimeout { total_timeout_ms });
                            return CallAction::Done;
                        }
                    }
                }
                self.state = State::Sent { since_ms: now_ms };
                self.delivered = false;
                self.answered = false;
                self.attempt_request_id = None;
                self.connection_failure = None;
                if let Some(secret) = &self.webhook_secret {
                    crate::pool::webhook::sign_headers(&mut self.http.headers, secret.expose(), &self.http.body, now_ms);
                }
                CallAction::Send(self.http.clone())
            }
            State::Sent { .. } => CallAction::Send(self.http.clone()),
            State::Waiting { until_ms } if now_ms >= until_ms && self.pending_notice.is_none() => {
                self.state = State::Ready;
                self.next_action(now_ms)
            }
            State::Waiting { until_ms } => {
                // The driver sleeps until then; its next call is at that time
                // at the earliest.
                self.clock_ms = self.clock_ms.max(until_ms);
                CallAction::Wait { until_ms, retry: self.pending_notice.take() }
            }
            State::ReadingWhole { .. } | State::Streaming { .. } => {
                // Asked mid-body: the driver lost the body; count it as a
                // dropped connection.
                self.handle_transport_error(Failure::Connection, now_ms);
                self.next_action(now_ms)
            }
            State::Done => CallAction::Done,
        }
    }

    /// The response's status and headers arrived. Says how to read the body.
    pub fn handle_head(&mut self, status: u16, headers: &Headers, now_ms: u64) -> ReadBody {
        let now_ms = self.clock(now_ms);
        self.partial = None;
        self.attempt_request_id = RateLimitInfo::from_headers(headers, now_ms).request_id;
        let headers = headers.clone();
        if (200..300).contains(&status) {
            self.answered = true;
        }
        if self.kind == CallKind::Messages && self.http.stream && (200..300).contains(&status) {
            let limits = SseLimits::default().with_max_event_bytes(self.options.max_event_bytes);
            self.state = State::Streaming { headers, stream: Box::new(MessageStream::with_limits(limits).with_max_stream_bytes(self.options.max_stream_bytes)), last_activity_ms: now_ms, received: 0 };
            ReadBody::Chunks
        } else {
            self.state = State::ReadingWhole { status, headers, since_ms: now_ms };
            ReadBody::Whole
        }
    }

    /// The whole body arrived (after [`ReadBody::Whole`]).
    pub fn handle_body(&mut self, body: &[u8], now_ms: u64) {
        let now_ms = self.clock(now_ms);
        let State::ReadingWhole { status, headers, .. } = std::mem::replace(&mut self.state, State::Sent { since_ms: now_ms }) else {
            return;
        };
        let limits = ResponseLimits { max_body_bytes: self.options.max_body_bytes, ..ResponseLimits::default() };
        match self.kind {
            CallKind::Messages => {}
            CallKind::CountTokens => return self.count_tokens_body(status, &headers, body, &limits, now_ms),
            CallKind::Webhook => return self.webhook_body(status, &headers, now_ms),
        }
        match parse_message(status, &headers, body, &limits) {
            Ok(message) => self.succeed(message, Vec::new(), &headers, now_ms),
            Err(ResponseError::Api(error)) => {
                let failure = Failure::Http { status, error: Some(error.clone()) };
                self.fail(AttemptError::Api(error), failure, Some(&headers), now_ms);
            }
            Err(ResponseError::Parse(e)) => {
                // A 2xx body we cannot read: retrying will not make it readable.
                self.give_up(AttemptError::Parse(e), GiveUpReason::NotRetryable { status });
            }
        }
    }

    /// A chunk of a streamed body arrived (after [`ReadBody::Chunks`]). Returns
    /// the events it completed, already applied to the message. When the
    /// stream fails, the attempt ends ([`MessagesCall::is_reading`] turns false)
    /// and the events before the failure are still returned.
    pub fn handle_chunk(&mut self, bytes: &[u8], now_ms: u64) -> Vec<StreamEvent> {
        let now_ms = self.clock(now_ms);
        let State::Streaming { stream, last_activity_ms, received, .. } = &mut self.state else {
            return Vec::new();
        };
        *last_activity_ms = now_ms;
        *received = received.saturating_add(bytes.len());
        if *received > self.options.max_stream_bytes {
            // The message so far is up to the cap: it is moved out of the
            // stream (ended like a cut stream's) and kept once, as the call's
            // `partial` (`CallError::partial`, what every binding reports and
            // what a possibly billed attempt observed). The error does not
            // carry a second copy (nor does `last_attempt`, which clones it).
            let limit = self.options.max_stream_bytes;
            // `cut`, not `finish`: finishing would read the incomplete event
            // the decoder holds, and a body cut mid-event copies the message
            // into its error (twice): three caps at once.
            let State::Streaming { stream, .. } = std::mem::replace(&mut self.state, State::Done) else { return Vec::new() };
            self.partial = match stream.cut() {
                Ok(finished) => Some(Box::new(finished.message)),
                Err(mut e) => e.take_partial().map(Box::new),
            };
            let error = StreamError::TooLarge { limit, partial: None };
            self.give_up(AttemptError::Stream(error), GiveUpReason::NotRetryable { status: 200 });
            return Vec::new();
        }
        stream.feed(bytes);
        let (events, failure) = drain(stream);
        if !events.is_empty() {
            self.delivered = true;
        }
        if let Some(e) = failure {
            // The stream goes first: it keeps its failure, which shares the
            // message so far with `e`; gone, `e` holds the only reference and
            // the message moves out of it uncopied.
            let State::Streaming { headers, .. } = std::mem::replace(&mut self.state, State::Sent { since_ms: now_ms }) else { return events };
            self.stream_failed(e, &headers, now_ms);
        }
        events
    }

    /// The streamed body ended (the connection closed cleanly). Returns the
    /// events still pending.
    pub fn handle_end(&mut self, now_ms: u64) -> Vec<StreamEvent> {
        let now_ms = self.clock(now_ms);
        let State::Streaming { stream, headers, .. } = std::mem::replace(&mut self.state, State::Sent { since_ms: now_ms }) else {
            return Vec::new();
        };
        let mut stream = *stream;
        stream.end_of_input();
        let (events, failure) = drain(&mut stream);
        if !events.is_empty() {
            self.delivered = true;
        }
        if let Some(e) = failure {
            // As in handle_chunk: the stream goes first, so that the message
            // so far moves out of `e` uncopied.
            drop(stream);
            self.stream_failed(e, &headers, now_ms);
            return events;
        }
        match stream.finish() {
            Ok(f) => self.succeed(f.message, f.tool_input_issues, &headers, now_ms),
            Err(e) => self.stream_failed(e, &headers, now_ms),
        }
        events
    }

    /// The transport failed, at any point of the attempt: report what it saw
    /// and the core decides what it means. A connection that fails (reset,
    /// closed early) while a stream is read is a cut stream: the attempt ends
    /// like a stream without `message_stop`, keeping the message so far. A
    /// timeout the driver measured itself is read the same as
    /// [`MessagesCall::handle_timeout`].
    pub fn handle_transport_error(&mut self, failure: Failure, now_ms: u64) {
        let now_ms = self.clock(now_ms);
        if matches!(self.state, State::Done | State::Waiting { .. } | State::Ready) {
            return;
        }
        if matches!(failure, Failure::Timeout { phase: TimeoutPhase::Read | TimeoutPhase::Idle }) {
            self.answered = true;
        }
        if matches!(self.state, State::Streaming { .. }) && failure == Failure::Connection {
            let _ = self.handle_end(now_ms);
            return;
        }
        let headers = match &self.state {
            State::Streaming { headers, .. } | State::ReadingWhole { headers, .. } => Some(headers.clone()),
            _ => None,
        };
        self.partial = self.abandon_stream(now_ms);
        self.fail(AttemptError::Transport(failure.clone()), failure, headers.as_ref(), now_ms);
    }

    /// The connection failed (refused, reset, DNS, TLS), and the driver says
    /// where it sent the request (`base_url`, the client's base URL: only its
    /// origin is kept) and what the operating system or HTTP library said
    /// (`detail`, which must not hold the URL or a header; cut to
    /// [`crate::error::MAX_CONNECTION_DETAIL`] characters). The same as
    /// [`MessagesCall::handle_transport_error`] with [`Failure::Connection`],
    /// and a call that ends on it says where and why
    /// ([`CallError::connection`], [`MessagesCall::connection_failure`]).
    pub fn handle_connection_error(&mut self, base_url: &str, detail: &str, now_ms: u64) {
        if matches!(self.state, State::Sent { .. } | State::ReadingWhole { .. } | State::Streaming { .. }) {
            self.connection_failure = Some(crate::error::bounded_connection_message(base_url, detail));
        }
        self.handle_transport_error(Failure::Connection, now_ms);
    }

    /// The words for the current (or last) attempt's failed connection, when
    /// the driver reported it with [`MessagesCall::handle_connection_error`].
    pub fn connection_failure(&self) -> Option<&str> {
        self.connection_failure.as_deref()
    }

    /// Time passed with nothing read. If [`MessagesCall::deadline`] has
    /// passed, the attempt fails with a timeout (`read` while waiting for the
    /// head or a whole body, `idle` while a stream is read) and the retry
    /// policy decides what follows; returns whether it did.
    ///
    /// Past the overall deadline ([`MessagesCall::total_deadline`]) the call
    /// ends with a `total` timeout, not retried: a stream is cut there (the
    /// message so far is kept) and the attempt counts as possibly billed.
    pub fn handle_timeout(&mut self, now_ms: u64) -> bool {
        let now_ms = self.clock(now_ms);
        let Some(deadline) = self.deadline() else { return false };
        if now_ms < deadline {
            return false;
        }
        if let (Some(total), Some(total_timeout_ms)) = (self.total_deadline(), self.options.total_timeout_ms) {
            if now_ms >= total {
                self.answered = true;
                self.partial = self.abandon_stream(now_ms);
                self.give_up(AttemptError::Transport(Failure::Timeout { phase: TimeoutPhase::Total }), GiveUpReason::TotalTimeout { total_timeout_ms });
                return true;
            }
        }
        let phase = match self.state {
            State::Streaming { .. } => TimeoutPhase::Idle,
            _ => TimeoutPhase::Read,
        };
        // The request was out: the model may have been generating.
        self.answered = true;
        self.handle_transport_error(Failure::Timeout { phase }, now_ms);
        true
    }

    /// The result of a [`CallKind::Messages`] call, once [`CallAction::Done`]
    /// was returned (then `None`; always `None` for other kinds: use
    /// [`MessagesCall::take_output`]).
    pub fn take_result(&mut self) -> Option<Result<Completed, CallError>> {
        match self.result.take()? {
            Ok(CallOutput::Message(c)) => Some(Ok(*c)),
            Ok(other) => {
                self.result = Some(Ok(other));
                None
            }
            Err(e) => Some(Err(e)),
        }
    }

    /// The result of any kind of call, once [`CallAction::Done`] was returned
    /// (then `None`).
    pub fn take_output(&mut self) -> Option<Result<CallOutput, CallError>> {
        self.result.take()
    }

    fn count_tokens_body(&mut self, status: u16, headers: &Headers, body: &[u8], limits: &ResponseLimits, now_ms: u64) {
        if (200..300).contains(&status) {
            #[derive(Deserialize)]
            struct Count {
                input_tokens: u64,
            }
            if body.len() > limits.max_body_bytes {
                let e = ParseError::TooLarge { what: "count_tokens response", size: body.len(), limit: limits.max_body_bytes };
                return self.give_up(AttemptError::Parse(e), GiveUpReason::NotRetryable { status });
            }
            match serde_json::from_slice::<Count>(body) {
                Ok(c) => {
                    let request_id = RateLimitInfo::from_headers(headers, now_ms).request_id;
                    self.finish_ok(CallOutput::InputTokens { input_tokens: c.input_tokens, attempts: self.attempt + 1, request_id });
                }
                Err(e) => self.give_up(AttemptError::Parse(ParseError::malformed("count_tokens response", e)), GiveUpReason::NotRetryable { status }),
            }
            return;
        }
        match parse_message(status, headers, body, limits) {
            Err(ResponseError::Api(error)) => {
                let failure = Failure::Http { status, error: Some(error.clone()) };
                self.fail(AttemptError::Api(error), failure, Some(headers), now_ms);
            }
            Err(ResponseError::Parse(e)) => self.give_up(AttemptError::Parse(e), GiveUpReason::NotRetryable { status }),
            Ok(_) => {}
        }
    }

    fn webhook_body(&mut self, status: u16, headers: &Headers, now_ms: u64) {
        if (200..300).contains(&status) {
            self.finish_ok(CallOutput::Delivered { status, attempts: self.attempt + 1 });
            return;
        }
        // The receiver's answer is not an API error: only its status counts.
        let kind = crate::error::ApiErrorKind::from_status(status);
        let error = ApiError { kind, message: format!("the webhook receiver answered HTTP {status}"), status: Some(status), request_id: None };
        let failure = Failure::Http { status, error: None };
        self.fail(AttemptError::Api(error), failure, Some(headers), now_ms);
    }

    fn finish_ok(&mut self, output: CallOutput) {
        self.last = Some(AttemptOutcome::Succeeded);
        self.state = State::Done;
        self.result = Some(Ok(output));
    }

    /// The [`RetryNotice`] for the wait that follows an attempt which had
    /// handed out events, once: the next [`CallAction::Wait`] carries it.
    fn notice(&mut self, delay_ms: u64, error: &AttemptError) -> Option<RetryNotice> {
        if !self.delivered {
            return None;
        }
        self.delivered = false;
        Some(RetryNotice { attempt: self.attempt.saturating_sub(1), delay_ms, code: error.code().to_owned(), message: error.to_string() })
    }

    /// A stream read while the attempt ends (a timeout, a lost connection):
    /// the message so far moves out of it (uncopied, as
    /// [`MessagesCall::observed_partial`] shows it), and the stream is gone.
    fn abandon_stream(&mut self, now_ms: u64) -> Option<Box<Message>> {
        if !matches!(self.state, State::Streaming { .. }) {
            return None;
        }
        match std::mem::replace(&mut self.state, State::Sent { since_ms: now_ms }) {
            State::Streaming { stream, .. } => stream.into_message().map(Box::new),
            _ => None,
        }
    }

    /// A stream failed (the stream itself is gone). The message so far, up
    /// to the stream's cap, moves out of `error` (which holds the only
    /// reference) into the call's `partial`, uncopied: the attempt's error
    /// keeps no partial, so cloning it into `last_attempt` and converting it
    /// in a binding cost only its small fields.
    fn stream_failed(&mut self, mut error: StreamError, headers: &Headers, now_ms: u64) {
        self.partial = error.take_partial().map(Box::new);
        let failure = match &error {
            // The retry policy reads only the kind: the message stays with
            // the attempt's error, not copied.
            StreamError::Api { error, .. } => Failure::StreamError { error: ApiError { kind: error.kind.clone(), message: String::new(), status: None, request_id: None } },
            StreamError::Incomplete { .. } => Failure::StreamTruncated,
            _ => {
                // Malformed or out-of-grammar data: retrying the same request
                // may well get a well-formed stream, but the failure is not the
                // API's; treat it as a cut stream.
                Failure::StreamTruncated
            }
        };
        let error = match error {
            StreamError::Api { error, .. } => AttemptError::Api(error),
            other => AttemptError::Stream(other),
        };
        self.fail(error, failure, Some(headers), now_ms);
    }

    fn succeed(&mut self, message: Message, tool_input_issues: Vec<ToolInputIssue>, headers: &Headers, now_ms: u64) {
        let rate_limit = RateLimitInfo::from_headers(headers, now_ms);
        self.finish_ok(CallOutput::Message(Box::new(Completed {
            message,
            tool_input_issues,
            attempts: self.attempt + 1,
            request_id: rate_limit.request_id.clone(),
            rate_limit,
        })));
    }

    fn fail(&mut self, error: AttemptError, failure: Failure, headers: Option<&Headers>, now_ms: u64) {
        let seed = splitmix64(self.options.jitter_seed ^ u64::from(self.attempt).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let decision = self.options.retry.decide(self.attempt, &failure, headers, seed, now_ms);
        self.last = Some(AttemptOutcome::Failed { error: error.clone(), decision: decision.clone() });
        match decision {
            RetryDecision::RetryAfter { delay_ms, .. } => {
                let until_ms = now_ms.saturating_add(delay_ms);
                if let (Some(total), Some(total_timeout_ms)) = (self.total_deadline(), self.options.total_timeout_ms) {
                    if until_ms >= total {
                        // The next attempt would start after the deadline.
                        return self.give_up(error, GiveUpReason::TotalTimeout { total_timeout_ms });
                    }
                }
                self.attempt += 1;
                self.pending_notice = self.notice(delay_ms, &error);
                self.state = State::Waiting { until_ms };
            }
            RetryDecision::GiveUp { reason } => {
                self.state = State::Done;
                let partial = self.partial.take().map(std::sync::Arc::from);
                let error = self.final_error(error);
                let connection = self.connection_words(&error);
                self.result = Some(Err(CallError { error, connection, reason, attempts: self.attempt + 1, partial }));
            }
        }
    }

    fn give_up(&mut self, error: AttemptError, reason: GiveUpReason) {
        self.last = Some(AttemptOutcome::Failed { error: error.clone(), decision: RetryDecision::GiveUp { reason: reason.clone() } });
        self.state = State::Done;
        let partial = self.partial.take().map(std::sync::Arc::from);
        let error = self.final_error(error);
        let connection = self.connection_words(&error);
        self.result = Some(Err(CallError { error, connection, reason, attempts: self.attempt + 1, partial }));
    }

    /// The words for a call that ends on a failed connection, if the driver
    /// said where and why.
    fn connection_words(&self, error: &AttemptError) -> Option<String> {
        match error {
            AttemptError::Transport(Failure::Connection) => self.connection_failure.clone(),
            _ => None,
        }
    }

    /// The error a call ends with: an API error that refuses the pool
    /// selector becomes [`AttemptError::SelectorRejected`].
    fn final_error(&self, error: AttemptError) -> AttemptError {
        match (error, &self.selector_field) {
            (AttemptError::Api(api), Some(field)) if crate::request::rejects_selector(field, &api) => {
                AttemptError::SelectorRejected(crate::request::SelectorRejected { field: field.clone(), api })
            }
            (error, _) => error,
        }
    }
}

/// Pulls every event the stream has ready, stopping at the first failure.
fn drain(stream: &mut MessageStream) -> (Vec<StreamEvent>, Option<StreamError>) {
    let mut events = Vec::new();
    loop {
        match stream.next_event() {
            Ok(Some(ev)) => events.push(ev),
            Ok(None) => return (events, None),
            Err(e) => return (events, Some(e)),
        }
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::RequestConfig;
    use crate::ApiKey;

    fn call(stream: bool) -> MessagesCall {
        let builder = RequestBuilder::new(RequestConfig::new(ApiKey::new("k"))).unwrap();
        let options = CallOptions { stream, retry: RetryPolicy { max_retries: 0, ..RetryPolicy::default() }, ..CallOptions::default() };
        MessagesCall::new(&builder, &MessageRequest::new("claude-haiku-4-5", 10, "hi"), options).unwrap()
    }

    #[test]
    fn a_stream_error_keeps_the_partial_message() {
        let mut c = call(true);
        assert!(matches!(c.next_action(0), CallAction::Send(_)));
        assert_eq!(c.handle_head(200, &Headers::new(), 0), ReadBody::Chunks);
        let body = concat!(
            "data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n",
            "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"Half\"}}\n\n",
            "data: {\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"no\"}}\n\n",
        );
        let _ = c.handle_chunk(body.as_bytes(), 0);
        assert!(!c.is_reading());
        assert_eq!(c.next_action(0), CallAction::Done);
        let err = c.take_result().unwrap().unwrap_err();
        assert!(matches!(err.error, AttemptError::Api(_)));
        assert_eq!(err.partial.unwrap().text(), "Half");
    }

    /// Issue 10, item 13: a stream past `max_stream_bytes` ends at once with
    /// the message so far kept once, as the call's `partial` (the largest
    /// thing a call holds, up to the cap: before, the error, the call's
    /// `partial` and `last_attempt` each held a copy, and the bindings
    /// converted two of them).
    #[test]
    fn a_stream_over_its_cap_keeps_the_message_so_far_once() {
        let builder = RequestBuilder::new(RequestConfig::new(ApiKey::new("k"))).unwrap();
        let options = CallOptions { stream: true, max_stream_bytes: 400, ..CallOptions::default() };
        let mut c = MessagesCall::new(&builder, &MessageRequest::new("claude-haiku-4-5", 10, "hi"), options).unwrap();
        assert!(matches!(c.next_action(0), CallAction::Send(_)));
        assert_eq!(c.handle_head(200, &Headers::new(), 0), ReadBody::Chunks);
        let start = concat!(
            "data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n",
            "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"So far\"}}\n\n",
        );
        assert!(start.len() < 400);
        let _ = c.handle_chunk(start.as_bytes(), 0);
        assert!(c.is_reading());
        let _ = c.handle_chunk(&[b' '; 200], 0);
        assert!(!c.is_reading());
        assert!(matches!(c.last_attempt(), Some(AttemptOutcome::Failed { error: AttemptError::Stream(StreamError::TooLarge { partial: None, .. }), .. })));
        assert_eq!(c.observed_partial().map(Message::text).as_deref(), Some("So far"));
        let err = c.take_result().unwrap().unwrap_err();
        assert!(matches!(err.error, AttemptError::Stream(StreamError::TooLarge { limit: 400, partial: None })), "{:?}", err.error);
        assert_eq!(err.partial.unwrap().text(), "So far");
    }

    /// Issue 10, item 13: a stream that keeps sending valid events is still
    /// bounded in time by the call's overall deadline; cut there, it keeps
    /// its partial message and counts as possibly billed (settled at its
    /// reserved worst case by the agent loop), and it is not retried.
    #[test]
    fn the_total_deadline_cuts_a_stream_that_never_goes_quiet() {
        let builder = RequestBuilder::new(RequestConfig::new(ApiKey::new("k"))).unwrap();
        let options = CallOptions { stream: true, total_timeout_ms: Some(10_000), ..CallOptions::default() };
        let mut c = MessagesCall::new(&builder, &MessageRequest::new("claude-haiku-4-5", 10, "hi"), options).unwrap();
        assert!(matches!(c.next_action(1_000), CallAction::Send(_)));
        assert_eq!(c.total_deadline(), Some(11_000));
        assert_eq!(c.handle_head(200, &Headers::new(), 1_000), ReadBody::Chunks);
        let start = concat!(
            "data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n",
            "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        );
        let _ = c.handle_chunk(start.as_bytes(), 1_000);
        let delta = "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\"}}\n\n";
        let mut now = 1_000;
        // A delta every second: the idle timeout never passes.
        while now < 10_999 {
            now += 1_000;
            let _ = c.handle_chunk(delta.as_bytes(), now.min(10_999));
            assert!(c.deadline().unwrap() <= 11_000);
        }
        assert!(!c.handle_timeout(10_999));
        assert!(c.handle_timeout(11_000));
        assert!(c.may_have_billed());
        assert_eq!(c.next_action(11_000), CallAction::Done);
        let err = c.take_result().unwrap().unwrap_err();
        assert_eq!(err.error, AttemptError::Transport(Failure::Timeout { phase: TimeoutPhase::Total }));
        assert_eq!(err.error.code(), "total_timeout");
        assert_eq!(err.reason, GiveUpReason::TotalTimeout { total_timeout_ms: 10_000 });
        assert_eq!(err.partial.unwrap().text(), "aaaaaaaaaa");
    }

    /// Issue 10, item 13: however a stream fails part-way (an `error`
    /// event, a body cut mid-event, a lost connection, an idle timeout), the
    /// message so far moves from the stream into the call's `partial`: the
    /// text is still where the stream built it, and neither the attempt's
    /// error nor `last_attempt` holds a copy. Before, a failure near the cap
    /// held the message three to five times at once.
    #[test]
    fn a_failed_stream_moves_its_message_into_the_call_error() {
        fn text_at(m: &Message) -> *const u8 {
            match m.content.first() {
                Some(crate::api::ContentBlock::Text(t)) => t.text.as_ptr(),
                other => panic!("no text block: {other:?}"),
            }
        }
        let start = concat!(
            "data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n",
            "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
            "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"so far\"}}\n\n",
        );
        let error_event = "data: {\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"no\"}}\n\n";
        let cut = "data: {\"type\":\"content_block_delta\",\"ind";
        for how in ["error event", "cut mid-event", "connection lost", "idle timeout"] {
            let mut c = call(true);
            let _ = c.next_action(0);
            let _ = c.handle_head(200, &Headers::new(), 0);
            let _ = c.handle_chunk(start.as_bytes(), 0);
            let at = text_at(c.partial_message().unwrap());
            match how {
                "error event" => drop(c.handle_chunk(error_event.as_bytes(), 0)),
                "cut mid-event" => {
                    let _ = c.handle_chunk(cut.as_bytes(), 0);
                    let _ = c.handle_end(0);
                }
                "connection lost" => c.handle_transport_error(Failure::Connection, 0),
                _ => assert!(c.handle_timeout(DEFAULT_IDLE_TIMEOUT_MS)),
            }
            assert!(!c.is_reading(), "{how}");
            assert_eq!(c.observed_partial().map(text_at), Some(at), "{how}: the message is moved, not copied");
            let Some(AttemptOutcome::Failed { error, .. }) = c.last_attempt() else { panic!("{how}: no failed attempt") };
            assert!(!matches!(error, AttemptError::Stream(e) if e.partial().is_some()), "{how}: last_attempt holds a copy");
            let err = c.take_result().unwrap().unwrap_err();
            assert!(!matches!(&err.error, AttemptError::Stream(e) if e.partial().is_some()), "{how}: the error holds a copy");
            let expected = match how {
                "error event" => "invalid_request_error",
                "idle timeout" => "idle_timeout",
                _ => "stream_incomplete",
            };
            assert_eq!(err.code(), expected, "{how}");
            let partial = err.partial.unwrap();
            assert_eq!((partial.text(), text_at(&partial)), ("so far".to_owned(), at), "{how}");
        }
    }

    #[test]
    fn an_http_error_has_no_partial() {
        let mut c = call(false);
        let _ = c.next_action(0);
        assert_eq!(c.handle_head(400, &Headers::new(), 0), ReadBody::Whole);
        c.handle_body(br#"{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}"#, 0);
        let err = c.take_result().unwrap().unwrap_err();
        assert!(err.partial.is_none());
        assert_eq!(err.attempts, 1);
    }

    #[test]
    fn a_webhook_call_posts_the_delivery_and_reads_only_the_status() {
        let delivery = crate::pool::WebhookDelivery { body: b"{}".to_vec(), headers: vec![("x-creditpool-signature".into(), "sha256=00".into())] };
        let mut c = MessagesCall::webhook(&delivery, CallOptions::webhook());
        assert_eq!(c.kind(), CallKind::Webhook);
        let CallAction::Send(http) = c.next_action(0) else { panic!("no send") };
        assert_eq!(http.path, "");
        assert_eq!(http.body, b"{}");
        assert!(http.headers.iter().any(|(k, v)| k == "content-type" && v == "application/json"));
        assert_eq!(c.deadline(), Some(DEFAULT_WEBHOOK_TIMEOUT_MS));
        assert_eq!(c.handle_head(500, &Headers::new(), 0), ReadBody::Whole);
        c.handle_body(b"<html>oops</html>", 0);
        assert!(matches!(c.next_action(0), CallAction::Wait { .. }));
        assert_eq!(CallOptions::webhook().retry.max_retries, DEFAULT_WEBHOOK_RETRIES);
    }

    #[test]
    fn a_signed_webhook_signs_each_attempt_with_its_own_time() {
        use crate::pool::webhook::{verify_delivery, DEFAULT_TOLERANCE_S, SIGNATURE_HEADER, TIMESTAMP_HEADER};
        let header = |h: &HttpRequest, n: &str| h.headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap();
        let delivery = crate::pool::WebhookDelivery { body: br#"{"occurred_at_ms":1000}"#.to_vec(), headers: vec![("x-creditpool-timestamp".into(), "1".into()), ("x-creditpool-signature".into(), "sha256=00".into())] };
        let mut c = MessagesCall::signed_webhook(&delivery, b"k", CallOptions::webhook());
        assert!(!format!("{c:?}").contains("[107]"), "the secret's bytes are not in Debug");
        let CallAction::Send(first) = c.next_action(1_000) else { panic!("no send") };
        assert_eq!(header(&first, TIMESTAMP_HEADER), "1");
        assert!(verify_delivery(b"k", &first.body, &header(&first, SIGNATURE_HEADER), "1", 1_000, DEFAULT_TOLERANCE_S));
        let _ = c.handle_head(503, &Headers::new(), 1_000);
        c.handle_body(b"", 1_000);
        let CallAction::Wait { until_ms, .. } = c.next_action(1_000) else { panic!("no wait") };
        // The driver comes back 10 minutes later: a fresh timestamp, a fresh signature.
        let later = until_ms.max(601_000);
        let CallAction::Send(retry) = c.next_action(later) else { panic!("no retry") };
        let t = header(&retry, TIMESTAMP_HEADER);
        assert_eq!(t, (later / 1_000).to_string());
        assert_eq!(retry.headers.len(), first.headers.len());
        assert!(verify_delivery(b"k", &retry.body, &header(&retry, SIGNATURE_HEADER), &t, later, DEFAULT_TOLERANCE_S));
        // The first attempt's headers would fail a receiver's age check by then.
        assert!(!verify_delivery(b"k", &first.body, &header(&first, SIGNATURE_HEADER), "1", later, DEFAULT_TOLERANCE_S));
        assert_eq!(retry.body, delivery.body);
    }

    #[test]
    fn take_result_leaves_other_kinds_to_take_output() {
        let builder = RequestBuilder::new(RequestConfig::new(ApiKey::new("k"))).unwrap();
        let mut c = MessagesCall::count_tokens(&builder, &MessageRequest::new("claude-haiku-4-5", 10, "hi"), CallOptions::default()).unwrap();
        let _ = c.next_action(0);
        let _ = c.handle_head(200, &Headers::new(), 0);
        c.handle_body(br#"{"input_tokens": 12}"#, 0);
        assert!(c.take_result().is_none());
        assert!(matches!(c.take_output(), Some(Ok(CallOutput::InputTokens { input_tokens: 12, attempts: 1, .. }))));
    }

    #[test]
    fn a_failed_connection_says_where_it_went_and_what_the_os_said() {
        let http = HttpRequest { method: crate::http::Method::Post, path: "/v1/messages".into(), headers: Vec::new(), body: b"{}".to_vec(), stream: false };
        let options = CallOptions { retry: crate::retry::RetryPolicy { max_retries: 1, ..crate::retry::RetryPolicy::default() }, ..CallOptions::default() };
        let mut call = MessagesCall::from_http(http, options);
        let secret_url = "http://user:pw@127.0.0.1:9/proxy/SECRET?key=plain-test-key";
        let mut now = 0;
        loop {
            match call.next_action(now) {
                CallAction::Send(_) => call.handle_connection_error(secret_url, "Connection refused (os error 111)", now),
                CallAction::Wait { until_ms, .. } => now = until_ms,
                CallAction::Done => break,
            }
        }
        assert_eq!(call.connection_failure(), Some("could not connect to http://127.0.0.1:9: Connection refused (os error 111)"));
        let e = call.take_result().unwrap().unwrap_err();
        assert_eq!(e.connection.as_deref(), Some("could not connect to http://127.0.0.1:9: Connection refused (os error 111)"));
        assert_eq!(e.code(), "connection_error");
        let text = e.to_string();
        assert_eq!(text, "could not connect to http://127.0.0.1:9: Connection refused (os error 111) (after 2 attempt(s); every allowed attempt was made)");
        assert!(!text.contains("SECRET") && !text.contains("plain-test-key") && !text.contains("pw"));

        // A detail holding a URL is not shown; a plain failure keeps the old words.
        let http = HttpRequest { method: crate::http::Method::Post, path: "/v1/messages".into(), headers: Vec::new(), body: b"{}".to_vec(), stream: false };
        let mut call = MessagesCall::from_http(http, CallOptions { retry: crate::retry::RetryPolicy { max_retries: 0, ..crate::retry::RetryPolicy::default() }, ..CallOptions::default() });
        let _ = call.next_action(0);
        call.handle_connection_error("https://api.anthropic.com", "error sending request for url (https://api.anthropic.com/v1/messages?k=1)", 0);
        assert_eq!(call.connection_failure(), Some("could not connect to https://api.anthropic.com"));
    }

}
