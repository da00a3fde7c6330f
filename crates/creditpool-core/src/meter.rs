//! [`Meter`]: the pool's books for one call made through an official SDK.
//!
//! The official SDKs (Python `anthropic`, TypeScript `@anthropic-ai/sdk`) run
//! a middleware once per HTTP attempt inside their own retry loop. The
//! middleware is a driver: it hands this machine the body the SDK built, what
//! came back for each attempt, and applies the pool operations it asks for.
//! Every rule lives here:
//!
//! * **Which requests.** [`is_metered`]: `POST .../v1/messages` only;
//!   `count_tokens`, batches, models and every other endpoint pass through.
//! * **The bound.** [`Meter::new`] reads the body the SDK built, adds the pool
//!   selector (the same field and value as [`crate::request::RequestBuilder`]:
//!   by default `"credit_pool": "programmatic"`, configurable or off) and
//!   prices the worst case with [`crate::pricing::worst_case`] on the body
//!   that is sent, as [`crate::agent::AgentRun`] does. A body that is not a
//!   Messages request, or a model the table cannot price, is a typed error
//!   before anything is sent. A message-thread continue request (`"thread":
//!   {"type": "continue"}`) is bounded by the model's context window at the
//!   1-hour cache-write rate: its body does not bound the stored thread the
//!   API bills as input (threads are not tracked per message ID yet).
//! * **One hold per call.** The first attempt reserves; the SDK's retries of
//!   the same call keep that hold. An attempt that certainly did not reach the
//!   model (an error status with its body; a connection that never opened)
//!   keeps the hold when the SDK will try again and releases it when it will
//!   not. An attempt the API may have billed (a 2xx whose stream was cut or
//!   abandoned, a transport failure after the request left, a cancellation
//!   while it was out) is settled at the reserved worst case, flagged
//!   `estimated` with what was observed beside it, exactly as
//!   [`crate::call::MessagesCall::may_have_billed`] says; a retry after it
//!   reserves again.
//! * **Whether the SDK will retry** is predicted with [`RetryPolicy::decide`]
//!   with the SDK's `max_retries` (both SDKs retry by the rules that policy
//!   implements; a 2xx handed back is never retried). A wrong guess never
//!   counts less than the API bills: a hold kept for a retry that does not come
//!   lapses at its lease; a retry after a release reserves again.
//! * **Settling.** A JSON body settles from its `usage`; a stream from a copy
//!   of its bytes (`message_delta` usage is cumulative), with the cost
//!   attributed to tools from the request and the response
//!   ([`AttributionInput::from_request_and_response`]).
//!
//! Driving it (the middleware's side):
//!
//! ```text
//! if !is_metered(method, path) { pass through }
//! let mut m = Meter::new(&config, prices, &body)?;      // typed error: raise it
//! body_to_send = m.body();
//! // each attempt:
//! m.begin_attempt(retries_taken, max_retries, now);
//! loop { match m.next_action(now) {
//!     Pool(op)          => m.handle_pool(store.apply(op), now),
//!     Wait { until_ms } => sleep until then,
//!     Refused(r) | Error { .. } => raise it (nothing is sent),
//!     Send              => break,
//!     Idle | Done       => unreachable after begin_attempt,
//! }}
//! // send; then report what happened:
//! //   no response: m.handle_transport_error(NotSent | Lost, now)
//! //   a head:      m.handle_head(status, headers, now) -> Whole: m.handle_body(bytes, now)
//! //                                                   -> Chunks: m.handle_chunk(copy, now)... m.handle_end(now)
//! //   the caller gave up (closed or dropped the stream, cancelled): m.abandon(now)
//! // after every input: apply every Pool(op) next_action asks for, until Idle or Done.
//! ```

use crate::api::{Message, MessageRequest};
use crate::call::{AttemptOutcome, CallOptions, Completed, MessagesCall, ReadBody};
use crate::http::{Headers, HttpRequest, Method};
use crate::money::Money;
use crate::pool::{AttributionInput, OpResult, PoolOp, Refusal, Reservation};
use crate::pricing::{cost, worst_case, CostBreakdown, CostOptions, EstimateMode, PriceTable, PricingError};
use crate::request::{PoolSelector, PoolSelectorOption, RequestError, MESSAGES_PATH};
use crate::retry::{Failure, RetryDecision, RetryPolicy, TimeoutPhase, DEFAULT_MAX_RETRIES};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::Arc;

/// The lowest version of the official Python SDK (`anthropic`) whose
/// middleware hook creditpool's middleware is built and tested against.
pub const MIN_PYTHON_SDK: &str = "2.17.0";
/// The lowest version of the official TypeScript SDK (`@anthropic-ai/sdk`)
/// whose middleware hook creditpool's middleware is built and tested against.
pub const MIN_TS_SDK: &str = "1.17.0";

/// How a middleware meters its calls. Read from JSON strictly; missing fields
/// take their defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MeterConfig {
    /// The agent the calls are booked to.
    pub agent: String,
    /// The reservation's lease, if not the pool's.
    pub lease_ms: Option<u64>,
    /// How tight a worst case to reserve (default: a true bound).
    pub estimate: EstimateMode,
    /// The pool selector: absent for the default (`"credit_pool":
    /// "programmatic"`), `false` for none, or `{"field", "value"}`.
    pub pool_selector: Option<PoolSelectorOption>,
    /// The SDK's `max_retries` when a call does not give its own (both SDKs
    /// default to 2).
    pub max_retries: u32,
}

impl Default for MeterConfig {
    fn default() -> MeterConfig {
        MeterConfig { agent: "default".into(), lease_ms: None, estimate: EstimateMode::Bound, pool_selector: None, max_retries: DEFAULT_MAX_RETRIES }
    }
}

impl MeterConfig {
    /// The selector this config puts in the body, if any.
    pub fn selector(&self) -> Option<PoolSelector> {
        match &self.pool_selector {
            None | Some(PoolSelectorOption::Enabled(true)) => Some(PoolSelector::default()),
            Some(PoolSelectorOption::Enabled(false)) => None,
            Some(PoolSelectorOption::Custom(s)) => Some(s.clone()),
        }
    }
}

/// Whether a request the SDK is about to send is metered: `POST` to a path
/// ending in `/v1/messages` (a query string is ignored). `count_tokens`,
/// batches and every other endpoint pass through untouched.
pub fn is_metered(method: &str, path: &str) -> bool {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let path = path.strip_suffix('/').unwrap_or(path);
    method.eq_ignore_ascii_case("POST") && (path == MESSAGES_PATH || path.ends_with(MESSAGES_PATH))
}

/// A call that cannot be metered: raised before anything is sent.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MeterError {
    /// The body is not a Messages request, or the selector collides.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The request cannot be priced.
    #[error(transparent)]
    Pricing(#[from] PricingError),
}

impl MeterError {
    /// The stable error code ([`crate::codes`]).
    pub fn code(&self) -> &'static str {
        match self {
            MeterError::Request(e) => e.code(),
            MeterError::Pricing(e) => e.code(),
        }
    }
}

/// How an attempt failed before a response head reached the middleware.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TransportFailure {
    /// The request never left: the connection could not be made (refused,
    /// DNS, TLS, a connect timeout, no free connection). Never billed.
    NotSent,
    /// The transport failed after the request may have gone out (a reset, a
    /// read or write error, a read timeout). The model may have run: settled
    /// at the worst case, flagged estimated.
    Lost,
}

/// What the middleware should do next.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub enum MeterAction {
    /// Apply this operation to the pool store, then hand its result to
    /// [`Meter::handle_pool`]. Until then it is asked for again.
    Pool(PoolOp),
    /// The pool's rate limit says not yet: sleep until then and ask again.
    Wait {
        /// When to ask again, Unix ms.
        until_ms: u64,
    },
    /// The hold is in place: send the attempt (with [`Meter::body`]).
    Send,
    /// The pool refused the call: raise it; nothing is sent.
    Refused(Refusal),
    /// The pool store failed: raise it (by its code); nothing is sent.
    Error {
        /// The stable error code.
        code: String,
        /// What went wrong.
        message: String,
    },
    /// Nothing to do now (an attempt is out, or the next one has not begun).
    Idle,
    /// The call's books are closed.
    Done,
}

/// What the meter ended the call with (for the middleware's own report).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MeterSummary {
    /// Reservations taken.
    pub reservations: u32,
    /// Attempts begun.
    pub attempts: u32,
    /// Money settled (exact and estimated).
    pub settled: Money,
    /// Of which settled at the worst case, flagged estimated.
    pub estimated: Money,
    /// Whether the books are closed.
    pub done: bool,
}

#[derive(Debug, Clone, Copy)]
struct Held {
    reservation: Reservation,
    lease_ms: u64,
    renew_at_ms: u64,
}

#[derive(Debug, Clone)]
struct Out {
    call: Box<MessagesCall>,
    retries_taken: u32,
    max_retries: u32,
    /// The head, once it arrived.
    head: Option<(u16, Headers)>,
    /// What made the attempt fail before a head arrived.
    transport: Option<TransportFailure>,
}

#[derive(Debug, Clone)]
enum Phase {
    /// No attempt asked for (before the first, or between attempts).
    Idle,
    /// An attempt is asked for: hold, then send.
    Starting { retries_taken: u32, max_retries: u32 },
    /// An attempt is out.
    Out(Out),
    /// The pool refused.
    Refused(Refusal),
    /// The pool store failed.
    Failed { code: String, message: String },
    /// The books are closed.
    Closed,
}

/// The books of one SDK call. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Meter {
    config: MeterConfig,
    prices: Arc<PriceTable>,
    request: MessageRequest,
    body: Vec<u8>,
    body_changed: bool,
    stream: bool,
    amount: Money,
    may_overshoot: bool,
    held: Option<Held>,
    phase: Phase,
    ops: VecDeque<PoolOp>,
    rate_wait: Option<u64>,
    /// A reserve was out when the caller gave up: release what it grants.
    release_on_grant: bool,
    clock_ms: u64,
    summary: MeterSummary,
}

impl Meter {
    /// The books for a call whose body (as the SDK built it) is `body`: the
    /// selector is added and the worst case priced here.
    pub fn new(config: &MeterConfig, prices: Arc<PriceTable>, body: &[u8]) -> Result<Meter, MeterError> {
        let invalid = |reason: String| MeterError::Request(RequestError::InvalidRequest { reason });
        let mut object: serde_json::Map<String, Value> = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err(invalid("the body is not a JSON object".into())),
            Err(e) => return Err(invalid(format!("the body is not JSON: {e}"))),
        };
        let mut body_changed = false;
        if let Some(sel) = config.selector() {
            if sel.field.is_empty() || RESERVED_FIELDS.contains(&sel.field.as_str()) {
                return Err(RequestError::SelectorCollision { field: sel.field }.into());
            }
            if object.get(&sel.field) != Some(&sel.value) {
                object.insert(sel.field, sel.value);
                body_changed = true;
            }
        }
        let value = Value::Object(object);
        let request: MessageRequest = serde_json::from_value(value.clone()).map_err(|e| invalid(format!("the body is not a Messages request: {e}")))?;
        let body = if body_changed { serde_json::to_vec(&value).map_err(|e| invalid(e.to_string()))? } else { body.to_vec() };
        let stream = request.stream == Some(true);
        let estimate = match thread_continue(&request) {
            None => worst_case(&prices, &request, body.len(), config.estimate)?,
            Some(previous) => continue_bound(&prices, &request, &previous)?,
        };
        Ok(Meter {
            config: config.clone(),
            prices,
            request,
            body,
            body_changed,
            stream,
            amount: estimate.cost,
            may_overshoot: estimate.may_overshoot,
            held: None,
            phase: Phase::Idle,
            ops: VecDeque::new(),
            rate_wait: None,
            release_on_grant: false,
            clock_ms: 0,
            summary: MeterSummary::default(),
        })
    }

    /// The body to send: the SDK's, with the pool selector.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Whether [`Meter::body`] differs from the body the SDK built.
    pub fn body_changed(&self) -> bool {
        self.body_changed
    }

    /// Whether the request asks for a stream.
    pub fn is_stream(&self) -> bool {
        self.stream
    }

    /// The worst case reserved for each hold.
    pub fn amount(&self) -> Money {
        self.amount
    }

    /// Whether the worst case can be exceeded (see [`crate::pricing::Estimate`]).
    pub fn may_overshoot(&self) -> bool {
        self.may_overshoot
    }

    /// What the meter did so far.
    pub fn summary(&self) -> MeterSummary {
        MeterSummary { done: matches!(self.phase, Phase::Closed | Phase::Refused(_) | Phase::Failed { .. }) && self.ops.is_empty(), ..self.summary.clone() }
    }

    /// Whether an attempt is out and its body is being read.
    pub fn is_reading(&self) -> bool {
        matches!(&self.phase, Phase::Out(o) if o.call.is_reading())
    }

    fn clock(&mut self, now_ms: u64) -> u64 {
        self.clock_ms = self.clock_ms.max(now_ms);
        self.clock_ms
    }

    /// The SDK begins attempt `retries_taken` (0 for the first) of the call,
    /// with `max_retries` (`None`: the config's). An attempt left unfinished
    /// is abandoned first.
    pub fn begin_attempt(&mut self, retries_taken: u32, max_retries: Option<u32>, now_ms: u64) {
        let now_ms = self.clock(now_ms);
        if matches!(self.phase, Phase::Out(_)) {
            self.abandon(now_ms);
        }
        if matches!(self.phase, Phase::Refused(_) | Phase::Failed { .. }) {
            return;
        }
        self.summary.attempts = self.summary.attempts.saturating_add(1);
        self.phase = Phase::Starting { retries_taken, max_retries: max_retries.unwrap_or(self.config.max_retries) };
    }

    /// What to do next.
    pub fn next_action(&mut self, now_ms: u64) -> MeterAction {
        let now_ms = self.clock(now_ms);
        if let Some(op) = self.ops.front() {
            return MeterAction::Pool(op.clone());
        }
        if let Some(until_ms) = self.rate_wait.take() {
            if now_ms < until_ms {
                self.clock_ms = until_ms;
                return MeterAction::Wait { until_ms };
            }
        }
        match &mut self.phase {
            Phase::Refused(r) => MeterAction::Refused(r.clone()),
            Phase::Failed { code, message } => MeterAction::Error { code: code.clone(), message: message.clone() },
            Phase::Closed => MeterAction::Done,
            Phase::Idle => MeterAction::Idle,
            Phase::Out(out) => {
                // Renew the lease while the response is read.
                if let Some(h) = &mut self.held {
                    if now_ms >= h.renew_at_ms && (out.call.is_reading() || out.head.is_none()) {
                        h.renew_at_ms = now_ms.saturating_add(h.lease_ms / 2);
                        let op = PoolOp::Extend { id: h.reservation.id, lease_ms: h.lease_ms, now_ms };
                        self.ops.push_back(op.clone());
                        return MeterAction::Pool(op);
                    }
                }
                MeterAction::Idle
            }
            Phase::Starting { retries_taken, max_retries } => {
                if self.held.is_none() {
                    let op = PoolOp::Reserve { agent: self.config.agent.clone(), amount: self.amount, now_ms, lease_ms: self.config.lease_ms };
                    self.ops.push_back(op.clone());
                    return MeterAction::Pool(op);
                }
                let options = CallOptions { stream: self.stream, retry: RetryPolicy { max_retries: 0, ..RetryPolicy::default() }, preflight: false, ..CallOptions::default() };
                let http = HttpRequest { method: Method::Post, path: MESSAGES_PATH.into(), headers: Vec::new(), body: self.body.clone(), stream: self.stream };
                let mut call = MessagesCall::from_http(http, options);
                let _ = call.next_action(now_ms);
                self.phase = Phase::Out(Out { call: Box::new(call), retries_taken: *retries_taken, max_retries: *max_retries, head: None, transport: None });
                MeterAction::Send
            }
        }
    }

    /// The pool store's answer to the last [`MeterAction::Pool`].
    pub fn handle_pool(&mut self, result: OpResult, now_ms: u64) {
        let now_ms = self.clock(now_ms);
        let Some(op) = self.ops.pop_front() else { return };
        match op {
            PoolOp::Reserve { .. } => match result {
                OpResult::Reserved(r) => {
                    self.summary.reservations = self.summary.reservations.saturating_add(1);
                    let lease_ms = r.expires_at_ms.saturating_sub(now_ms).max(1);
                    if self.release_on_grant {
                        self.release_on_grant = false;
                        self.ops.push_back(PoolOp::Release { id: r.id, now_ms });
                    } else {
                        self.held = Some(Held { reservation: r, lease_ms, renew_at_ms: now_ms.saturating_add(lease_ms / 2) });
                    }
                }
                OpResult::Refused(refusal) => match refusal.retry_at_ms() {
                    Some(until_ms) if !self.release_on_grant => self.rate_wait = Some(until_ms.max(now_ms)),
                    _ => {
                        if !self.release_on_grant {
                            self.phase = Phase::Refused(refusal);
                        }
                        self.release_on_grant = false;
                    }
                },
                OpResult::Error(e) => self.phase = Phase::Failed { code: e.code().to_owned(), message: e.to_string() },
                other => {
                    let message = format!("the pool answered a reserve with {}", serde_json::to_string(&other).unwrap_or_default());
                    self.phase = Phase::Failed { code: "internal_error".into(), message };
                }
            },
            PoolOp::Extend { .. } => {
                if let (Some(h), OpResult::Extended(r)) = (&mut self.held, &result) {
                    h.reservation.expires_at_ms = r.expires_at_ms;
                }
            }
            // A settle or release is recorded whatever the store answers.
            _ => {}
        }
    }

    /// The response head of the attempt arrived (any status). Says how to
    /// read the body: [`ReadBody::Chunks`] for a 2xx stream (feed a copy of
    /// each chunk), else [`ReadBody::Whole`] (hand over the whole body; an
    /// error body is small).
    pub fn handle_head(&mut self, status: u16, headers: &Headers, now_ms: u64) -> ReadBody {
        let now_ms = self.clock(now_ms);
        let Phase::Out(out) = &mut self.phase else { return ReadBody::Whole };
        out.head = Some((status, headers.clone()));
        out.call.handle_head(status, headers, now_ms)
    }

    /// The whole body of the attempt (after [`ReadBody::Whole`]).
    pub fn handle_body(&mut self, body: &[u8], now_ms: u64) {
        let now_ms = self.clock(now_ms);
        if let Phase::Out(out) = &mut self.phase {
            out.call.handle_body(body, now_ms);
        }
        self.after_attempt(now_ms);
    }

    /// A copy of a chunk of the streamed body (after [`ReadBody::Chunks`]).
    pub fn handle_chunk(&mut self, bytes: &[u8], now_ms: u64) {
        let now_ms = self.clock(now_ms);
        if let Phase::Out(out) = &mut self.phase {
            let _ = out.call.handle_chunk(bytes, now_ms);
        }
        self.after_attempt(now_ms);
    }

    /// The streamed body ended.
    pub fn handle_end(&mut self, now_ms: u64) {
        let now_ms = self.clock(now_ms);
        if let Phase::Out(out) = &mut self.phase {
            if out.call.is_reading() {
                let _ = out.call.handle_end(now_ms);
            }
        }
        self.after_attempt(now_ms);
    }

    /// The attempt failed before a head reached the middleware, or the
    /// transport failed while the body was read (then a cut stream, or a
    /// body lost after the head).
    pub fn handle_transport_error(&mut self, failure: TransportFailure, now_ms: u64) {
        let now_ms = self.clock(now_ms);
        if let Phase::Out(out) = &mut self.phase {
            if out.head.is_none() {
                out.transport = Some(failure);
            }
            let f = match (&out.head, failure) {
                // Past the head the core knows what a lost connection means
                // (a cut stream, a 2xx body lost, an error body lost).
                (Some(_), _) | (None, TransportFailure::NotSent) => Failure::Connection,
                // The request may have left: the model may have run.
                (None, TransportFailure::Lost) => Failure::Timeout { phase: TimeoutPhase::Read },
            };
            out.call.handle_transport_error(f, now_ms);
        }
        self.after_attempt(now_ms);
    }

    /// The caller gave up on the call (closed or dropped a stream before its
    /// end, or cancelled while the request was out). A stream is read as cut
    /// where it stopped (settled exactly if its `message_stop` had arrived);
    /// a request out without a readable answer is settled at the worst case,
    /// flagged estimated; a hold between attempts is released.
    pub fn abandon(&mut self, now_ms: u64) {
        let now_ms = self.clock(now_ms);
        match &mut self.phase {
            Phase::Out(out) if out.call.is_reading() && self.stream && out.head.as_ref().is_some_and(|(s, _)| (200..300).contains(s)) => {
                out.call.handle_transport_error(Failure::Connection, now_ms);
                self.after_attempt(now_ms);
                // A cut stream is never retried by the SDK.
                self.phase = Phase::Closed;
            }
            Phase::Out(out) => {
                let observed = out.call.partial_message().cloned();
                if let Some(h) = self.held.take() {
                    self.settle_estimated(h.reservation, observed.as_ref(), now_ms);
                }
                self.phase = Phase::Closed;
            }
            Phase::Idle | Phase::Starting { .. } => {
                if let Some(h) = self.held.take() {
                    self.ops.push_back(PoolOp::Release { id: h.reservation.id, now_ms });
                }
                if self.ops.iter().any(|o| matches!(o, PoolOp::Reserve { .. })) {
                    self.release_on_grant = true;
                }
                self.phase = Phase::Closed;
            }
            Phase::Refused(_) | Phase::Failed { .. } | Phase::Closed => {}
        }
        self.ops.retain(|o| !matches!(o, PoolOp::Extend { .. }));
    }

    /// Whether the SDK will try again after this failed attempt.
    fn sdk_retries(out: &Out, now_ms: u64) -> bool {
        let failure = match (&out.head, out.transport) {
            (Some((status, _)), _) if (200..300).contains(status) => return false,
            (Some((status, _)), _) => Failure::Http { status: *status, error: None },
            (None, Some(TransportFailure::NotSent)) => Failure::Connection,
            (None, _) => Failure::Timeout { phase: TimeoutPhase::Read },
        };
        let policy = RetryPolicy { max_retries: out.max_retries, max_retry_after_ms: u64::MAX, ..RetryPolicy::default() };
        let headers = out.head.as_ref().map(|(_, h)| h);
        matches!(policy.decide(out.retries_taken, &failure, headers, 0, now_ms), RetryDecision::RetryAfter { .. })
    }

    fn after_attempt(&mut self, now_ms: u64) {
        let Phase::Out(out) = &mut self.phase else { return };
        if out.call.is_reading() {
            return;
        }
        match out.call.last_attempt() {
            Some(AttemptOutcome::Succeeded) => {
                let Some(Ok(completed)) = out.call.take_result() else { return };
                self.phase = Phase::Closed;
                if let Some(h) = self.held.take() {
                    self.settle(h.reservation, completed, now_ms);
                }
            }
            Some(AttemptOutcome::Failed { .. }) => {
                let billed = out.call.may_have_billed();
                let observed = out.call.observed_partial().cloned();
                let retry = Meter::sdk_retries(out, now_ms);
                self.phase = if retry { Phase::Idle } else { Phase::Closed };
                if billed {
                    if let Some(h) = self.held.take() {
                        self.settle_estimated(h.reservation, observed.as_ref(), now_ms);
                    }
                } else if !retry {
                    if let Some(h) = self.held.take() {
                        self.ops.push_back(PoolOp::Release { id: h.reservation.id, now_ms });
                    }
                }
            }
            None => {}
        }
    }

    fn settle_estimated(&mut self, reservation: Reservation, observed: Option<&Message>, now_ms: u64) {
        let mut attribution = match observed {
            Some(m) => AttributionInput::from_request_and_response(&self.request, m),
            None => AttributionInput { input_bytes: crate::pool::attribution::json_len(&self.request), ..AttributionInput::new(self.request.model.clone()) },
        };
        attribution.estimated = true;
        self.ops.push_back(PoolOp::Settle { id: reservation.id, cost: reservation.amount, now_ms, attribution: Some(Box::new(attribution)) });
        self.summary.settled = self.summary.settled.saturating_add(reservation.amount);
        self.summary.estimated = self.summary.estimated.saturating_add(reservation.amount);
    }

    fn settle(&mut self, reservation: Reservation, completed: Completed, now_ms: u64) {
        let message = completed.message;
        let mut options = CostOptions::for_message(&message);
        if let Some(geo) = &self.request.inference_geo {
            options = options.with_inference_geo(geo.clone());
        }
        // A model the table cannot price (a fallback, say): the reserved
        // worst case, which the pool already held.
        let breakdown = cost(&self.prices, &message.model, &message.usage, &options).unwrap_or_else(|_| CostBreakdown::unpriced(reservation.amount));
        let mut attribution = AttributionInput::from_request_and_response(&self.request, &message).with_cost(&breakdown);
        if let Some(id) = completed.request_id {
            attribution = attribution.with_request_id(id);
        }
        self.ops.push_back(PoolOp::Settle { id: reservation.id, cost: breakdown.total, now_ms, attribution: Some(Box::new(attribution)) });
        self.summary.settled = self.summary.settled.saturating_add(breakdown.total);
    }
}

/// The `previous_message_id` of a message-thread continue request
/// (`"thread": {"type": "continue", ...}`), if the request is one.
fn thread_continue(request: &MessageRequest) -> Option<String> {
    let thread = request.extra.get("thread")?;
    if thread.get("type").and_then(Value::as_str) != Some("continue") {
        return None;
    }
    Some(thread.get("previous_message_id").and_then(Value::as_str).unwrap_or_default().to_owned())
}

/// The worst case of a message-thread continue request. Its body holds only
/// the new messages, while the API reads (and bills as input) the whole
/// stored thread, which this meter does not track yet: the input is bounded
/// by the model's context window, priced at the highest input rate (the
/// 1-hour cache write, since the stored thread may ask for it), so that the
/// hold is never less than the request can cost. A model without a known
/// context window cannot be bounded: a typed error.
fn continue_bound(prices: &PriceTable, request: &MessageRequest, previous: &str) -> Result<crate::pricing::Estimate, MeterError> {
    if prices.facts(&request.model).is_none() {
        prices.prices(&request.model)?;
        return Err(MeterError::Request(RequestError::InvalidRequest {
            reason: format!("the thread continue request (previous message {previous:?}) cannot be bounded: {} has no known context window", request.model),
        }));
    }
    let mut bounded = request.clone();
    let marker = serde_json::json!([{"type": "text", "text": "", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]);
    bounded.system = serde_json::from_value(marker).ok();
    // A body "larger" than any window: the input bound is the window itself.
    Ok(worst_case(prices, &bounded, usize::MAX, EstimateMode::Bound)?)
}

/// Body fields the selector may not take (the Messages API's own).
const RESERVED_FIELDS: &[&str] = &[
    "model", "max_tokens", "messages", "system", "tools", "tool_choice", "temperature", "top_p", "top_k",
    "stop_sequences", "stream", "metadata", "thinking", "service_tier", "inference_geo", "container", "mcp_servers",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::{LedgerKind, Pool, PoolConfig};

    fn body(stream: bool) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"model": "claude-haiku-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}], "stream": stream})).unwrap()
    }

    fn drain(m: &mut Meter, pool: &mut Pool, now: u64) -> MeterAction {
        loop {
            match m.next_action(now) {
                MeterAction::Pool(op) => {
                    let r = pool.apply(&op);
                    m.handle_pool(r, now);
                }
                other => return other,
            }
        }
    }

    #[test]
    fn only_posts_to_messages_are_metered() {
        assert!(is_metered("POST", "/v1/messages"));
        assert!(is_metered("post", "/v1/messages?beta=true"));
        assert!(is_metered("POST", "https://api.example/proxy/v1/messages"));
        assert!(!is_metered("POST", "/v1/messages/count_tokens"));
        assert!(!is_metered("POST", "/v1/messages/batches"));
        assert!(!is_metered("GET", "/v1/messages"));
    }

    #[test]
    fn a_529_then_a_success_reserves_once_and_settles_once() {
        let mut pool = Pool::new(PoolConfig::new(Money::from_nanos(1_000_000_000)), 0).unwrap();
        let mut m = Meter::new(&MeterConfig::default(), Arc::new(PriceTable::builtin()), &body(false)).unwrap();
        assert!(m.body_changed());
        m.begin_attempt(0, None, 1);
        assert_eq!(drain(&mut m, &mut pool, 1), MeterAction::Send);
        let _ = m.handle_head(529, &Headers::new(), 2);
        m.handle_body(br#"{"type":"error","error":{"type":"overloaded_error","message":"x"}}"#, 2);
        assert_eq!(drain(&mut m, &mut pool, 2), MeterAction::Idle);
        assert!(!pool.state().reserved().is_zero());
        m.begin_attempt(1, None, 3);
        assert_eq!(drain(&mut m, &mut pool, 3), MeterAction::Send);
        let _ = m.handle_head(200, &Headers::new(), 4);
        m.handle_body(br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":5}}"#, 4);
        assert_eq!(drain(&mut m, &mut pool, 4), MeterAction::Done);
        assert_eq!(m.summary().reservations, 1);
        assert_eq!(pool.state().reserved(), Money::ZERO);
        let e = pool.poll_ledger().unwrap();
        assert_eq!(e.kind, LedgerKind::Settle);
        assert!(!e.estimated);
        assert!(pool.poll_ledger().is_none());
    }
}
