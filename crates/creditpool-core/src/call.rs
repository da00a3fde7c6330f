//! One Messages API call with retries, as a sans-I/O state machine.
//!
//! [`MessagesCall`] owns the rules of a single `messages.create` or
//! `messages.stream`: which request to send, how to read what comes back,
//! whether and when to try again ([`crate::retry`]), and what the final result
//! is. A binding drives it with its own HTTP client and its own sleep:
//!
//! ```text
//! loop {
//!     match call.next_action(now) {
//!         CallAction::Send(http) => {
//!             // send `http`; on a connection failure or timeout:
//!             //     call.handle_transport_error(failure, now)
//!             match call.handle_head(status, &headers, now) {
//!                 ReadBody::Whole => call.handle_body(&body, now),
//!                 ReadBody::Chunks => {
//!                     // for each chunk, until call.is_reading() is false:
//!                     let events = call.handle_chunk(&bytes, now);
//!                     // then, if the body ended: call.handle_end(now)
//!                 }
//!             }
//!         }
//!         CallAction::Wait { until_ms } => { /* sleep until then */ }
//!         CallAction::Done => break,
//!     }
//! }
//! let result = call.take_result();
//! ```
//!
//! While a stream is being read, [`MessagesCall::deadline`] is the time by which
//! the next chunk must arrive; past it, report
//! [`Failure::Timeout`]`{ phase: Idle }` with
//! [`MessagesCall::handle_transport_error`]. A stalled stream is a failure like
//! any other and is retried by the same policy.
//!
//! A retried stream starts again from the beginning: the events of a failed
//! attempt were already handed out, so [`MessagesCall::handle_chunk`] tags each
//! batch with its attempt number (see [`MessagesCall::attempt`]) and a
//! consumer that shows text should discard what it showed when the attempt
//! changes.

use crate::api::{Message, MessageRequest, StreamEvent};
use crate::error::{ApiError, ParseError};
use crate::http::{Headers, HttpRequest};
use crate::ratelimit::RateLimitInfo;
use crate::request::{RequestBuilder, RequestError};
use crate::response::{parse_message, ResponseError, ResponseLimits};
use crate::retry::{Failure, GiveUpReason, RetryDecision, RetryPolicy};
use crate::sse::decoder::SseLimits;
use crate::sse::{MessageStream, StreamError, ToolInputIssue};
use serde::{Deserialize, Serialize};

/// The default idle timeout of a stream: 10 minutes without a byte.
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = 10 * 60 * 1_000;

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
    /// The largest response body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The largest single stream event accepted, in bytes.
    pub max_event_bytes: usize,
    /// The seed of the backoff jitter; each attempt derives its own from it.
    pub jitter_seed: u64,
}

impl Default for CallOptions {
    fn default() -> CallOptions {
        CallOptions {
            stream: false,
            retry: RetryPolicy::default(),
            idle_timeout_ms: DEFAULT_IDLE_TIMEOUT_MS,
            max_body_bytes: crate::response::DEFAULT_MAX_BODY_BYTES,
            max_event_bytes: crate::sse::decoder::DEFAULT_MAX_EVENT_BYTES,
            jitter_seed: 0,
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
    /// Sleep until this Unix time in ms, then ask again.
    Wait {
        /// When to ask again.
        until_ms: u64,
    },
    /// The call is over; take the result with [`MessagesCall::take_result`].
    Done,
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
    #[error("transport failure: {0:?}")]
    Transport(Failure),
}

/// A call that failed for good.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{error} (after {attempts} attempt(s); not retried: {reason:?})")]
pub struct CallError {
    /// What made the last attempt fail.
    pub error: AttemptError,
    /// Why it was not retried.
    pub reason: GiveUpReason,
    /// Attempts made.
    pub attempts: u32,
    /// For a stream that failed part-way (an `error` event, a cut): the
    /// message received before the failure.
    pub partial: Option<Box<Message>>,
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
    /// Sent; waiting for the head.
    Sent,
    /// Reading a whole body.
    ReadingWhole { status: u16, headers: Headers },
    /// Reading a stream.
    Streaming { headers: Headers, stream: Box<MessageStream>, last_activity_ms: u64 },
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
    result: Option<Result<Completed, CallError>>,
    /// The message a failed stream attempt received before failing.
    partial: Option<Box<Message>>,
}

impl MessagesCall {
    /// A call of `POST /v1/messages` for a request.
    pub fn new(builder: &RequestBuilder, request: &MessageRequest, options: CallOptions) -> Result<MessagesCall, RequestError> {
        let http = builder.messages(request, options.stream)?;
        Ok(MessagesCall::from_http(http, options))
    }

    /// A call of an already built request (for example `count_tokens`).
    pub fn from_http(http: HttpRequest, options: CallOptions) -> MessagesCall {
        MessagesCall { http, options, attempt: 0, state: State::Ready, last: None, result: None, partial: None }
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

    /// The message so far, while a stream is read.
    pub fn partial_message(&self) -> Option<&Message> {
        match &self.state {
            State::Streaming { stream, .. } => stream.message(),
            _ => None,
        }
    }

    /// While a stream is read: the Unix time in ms by which the next chunk must
    /// arrive.
    pub fn deadline(&self) -> Option<u64> {
        match &self.state {
            State::Streaming { last_activity_ms, .. } => Some(last_activity_ms.saturating_add(self.options.idle_timeout_ms)),
            _ => None,
        }
    }

    /// What to do next.
    pub fn next_action(&mut self, now_ms: u64) -> CallAction {
        match self.state {
            State::Ready | State::Sent => CallAction::Send(self.http.clone()),
            State::Waiting { until_ms } if now_ms >= until_ms => {
                self.state = State::Ready;
                CallAction::Send(self.http.clone())
            }
            State::Waiting { until_ms } => CallAction::Wait { until_ms },
            State::ReadingWhole { .. } | State::Streaming { .. } => {
                // Asked mid-body: the driver lost the body; count it as a
                // dropped connection.
                self.fail(AttemptError::Transport(Failure::Connection), Failure::Connection, None, now_ms);
                self.next_action(now_ms)
            }
            State::Done => CallAction::Done,
        }
    }

    /// The response's status and headers arrived. Says how to read the body.
    pub fn handle_head(&mut self, status: u16, headers: &Headers, now_ms: u64) -> ReadBody {
        self.partial = None;
        let headers = headers.clone();
        if self.http.stream && (200..300).contains(&status) {
            let limits = SseLimits::default().with_max_event_bytes(self.options.max_event_bytes);
            self.state = State::Streaming { headers, stream: Box::new(MessageStream::with_limits(limits)), last_activity_ms: now_ms };
            ReadBody::Chunks
        } else {
            self.state = State::ReadingWhole { status, headers };
            ReadBody::Whole
        }
    }

    /// The whole body arrived (after [`ReadBody::Whole`]).
    pub fn handle_body(&mut self, body: &[u8], now_ms: u64) {
        let State::ReadingWhole { status, headers } = std::mem::replace(&mut self.state, State::Sent) else {
            return;
        };
        let limits = ResponseLimits { max_body_bytes: self.options.max_body_bytes, ..ResponseLimits::default() };
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
        let State::Streaming { stream, last_activity_ms, headers } = &mut self.state else {
            return Vec::new();
        };
        *last_activity_ms = now_ms;
        stream.feed(bytes);
        let (events, failure) = drain(stream);
        if let Some(e) = failure {
            let headers = headers.clone();
            self.stream_failed(e, &headers, now_ms);
        }
        events
    }

    /// The streamed body ended (the connection closed cleanly). Returns the
    /// events still pending.
    pub fn handle_end(&mut self, now_ms: u64) -> Vec<StreamEvent> {
        let State::Streaming { stream, headers, .. } = std::mem::replace(&mut self.state, State::Sent) else {
            return Vec::new();
        };
        let mut stream = *stream;
        stream.end_of_input();
        let (events, failure) = drain(&mut stream);
        if let Some(e) = failure {
            self.stream_failed(e, &headers, now_ms);
            return events;
        }
        match stream.finish() {
            Ok(f) => self.succeed(f.message, f.tool_input_issues, &headers, now_ms),
            Err(e) => self.stream_failed(e, &headers, now_ms),
        }
        events
    }

    /// The connection failed or timed out (at any point of the attempt).
    pub fn handle_transport_error(&mut self, failure: Failure, now_ms: u64) {
        if matches!(self.state, State::Done | State::Waiting { .. }) {
            return;
        }
        let headers = match &self.state {
            State::Streaming { headers, .. } | State::ReadingWhole { headers, .. } => Some(headers.clone()),
            _ => None,
        };
        self.partial = match &self.state {
            State::Streaming { stream, .. } => stream.message().cloned().map(Box::new),
            _ => None,
        };
        self.fail(AttemptError::Transport(failure.clone()), failure, headers.as_ref(), now_ms);
    }

    /// The result, once [`CallAction::Done`] was returned (then `None`).
    pub fn take_result(&mut self) -> Option<Result<Completed, CallError>> {
        self.result.take()
    }

    fn stream_failed(&mut self, error: StreamError, headers: &Headers, now_ms: u64) {
        self.partial = error.partial().cloned().map(Box::new);
        let failure = match &error {
            StreamError::Api { error, .. } => Failure::StreamError { error: error.clone() },
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
        self.last = Some(AttemptOutcome::Succeeded);
        self.state = State::Done;
        let rate_limit = RateLimitInfo::from_headers(headers, now_ms);
        self.result = Some(Ok(Completed {
            message,
            tool_input_issues,
            attempts: self.attempt + 1,
            request_id: rate_limit.request_id.clone(),
            rate_limit,
        }));
    }

    fn fail(&mut self, error: AttemptError, failure: Failure, headers: Option<&Headers>, now_ms: u64) {

        let seed = splitmix64(self.options.jitter_seed ^ u64::from(self.attempt).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let decision = self.options.retry.decide(self.attempt, &failure, headers, seed, now_ms);
        self.last = Some(AttemptOutcome::Failed { error: error.clone(), decision: decision.clone() });
        match decision {
            RetryDecision::RetryAfter { delay_ms, .. } => {
                self.attempt += 1;
                self.state = State::Waiting { until_ms: now_ms.saturating_add(delay_ms) };
            }
            RetryDecision::GiveUp { reason } => {
                self.state = State::Done;
                let partial = self.partial.take();
                self.result = Some(Err(CallError { error, reason, attempts: self.attempt + 1, partial }));
            }
        }
    }

    fn give_up(&mut self, error: AttemptError, reason: GiveUpReason) {
        self.last = Some(AttemptOutcome::Failed { error: error.clone(), decision: RetryDecision::GiveUp { reason: reason.clone() } });
        self.state = State::Done;
        let partial = self.partial.take();
        self.result = Some(Err(CallError { error, reason, attempts: self.attempt + 1, partial }));
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
}
