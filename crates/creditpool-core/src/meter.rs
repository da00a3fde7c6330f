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
//!   before anything is sent.
//! * **Message threads** (beta `message-threads-2026-08-12`). A request with
//!   `"thread": {"type": "create"}` has the API store the conversation under
//!   its response's `id`; a `"thread": {"type": "continue",
//!   "previous_message_id": ...}` request sends only the new messages (no
//!   `system`, no `tools`) and the API bills the whole stored thread as
//!   input. Its body does not bound its input, so the meter keeps a
//!   [`ThreadBook`] (one per middleware, shared by its calls): for each
//!   response on a thread, keyed by its message ID, a bound on the whole
//!   thread's input so far: the request's input bound, plus what the response
//!   produced (its billed output tokens, for thinking the thread may keep,
//!   plus the bytes of its content, which the next request re-reads as input
//!   at no more than a token per byte), never less than the input the
//!   response was billed. A continue whose previous message the book knows is
//!   bounded by that plus its own body, capped at the model's context window,
//!   at the highest input rate any request of the thread can incur (a
//!   `cache_control` in the create's `system` or `tools` stays with the
//!   thread). The entry also keeps what the create's tools imply for every
//!   request of the thread ([`ThreadTools`]: the web searches its worst case
//!   counted, whether its code execution is container-billed): a continue's
//!   worst case adds those searches and that container time, and its settle
//!   counts the container time when the tool ran (the tools' tokens are in
//!   the thread's input bound already). A continue the book does not know
//!   (never seen, forgotten, expired: [`THREAD_TTL_MS`] after the request
//!   that produced it, or an entry recorded without its tools' facts) is
//!   bounded by the model's context window at the 1-hour cache-write rate
//!   and settled as container-billed, or, with [`UnknownThread::Refuse`],
//!   refused with `unknown_thread` before anything is sent. A 404
//!   `thread_not_found` forgets the thread (the SDK
//!   then replays the conversation with a new create, a new call).
//! * **Where the book is.** In the pool store ([`Meter::with_store_threads`],
//!   what the middlewares use): the book is [`crate::pool::threads`], applied
//!   by the in-memory pool and by the Redis script, so that every process
//!   sharing a pool knows the threads of the others; a continue asks for
//!   [`PoolOp::ThreadLookup`] before its reserve, a response on a thread
//!   [`PoolOp::ThreadRecord`] after its settle. Or in process
//!   ([`Meter::with_threads`] and a [`ThreadBook`]: the same table).
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
use crate::pricing::{cost, worst_case, worst_case_with, CostBreakdown, CostOptions, EstimateMode, PriceTable, PricingError, PricingOptions};
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
    /// What a thread continue request whose thread the [`ThreadBook`] does
    /// not know gets: the context-window bound (default) or a refusal.
    pub unknown_thread: UnknownThread,
    /// Minutes of code execution container time counted for a request whose
    /// code execution is billed by time, reserved and settled (absent: the
    /// 5-minute billing minimum; below it or above 30 days is refused with
    /// `invalid_container_minutes`). See [`crate::pricing::PricingOptions`].
    pub container_minutes: Option<u64>,
}

/// What a message-thread continue request whose previous message the
/// [`ThreadBook`] does not know (never seen, or expired) gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownThread {
    /// Reserved at the model's whole context window at the 1-hour
    /// cache-write rate (never less than the API can bill).
    #[default]
    ContextWindow,
    /// Refused before anything is sent, with `unknown_thread`.
    Refuse,
}

impl Default for MeterConfig {
    fn default() -> MeterConfig {
        MeterConfig {
            agent: "default".into(),
            lease_ms: None,
            estimate: EstimateMode::Bound,
            pool_selector: None,
            max_retries: DEFAULT_MAX_RETRIES,
            unknown_thread: UnknownThread::ContextWindow,
            container_minutes: None,
        }
    }
}

impl MeterConfig {
    /// The pricing options this config sets (container minutes).
    pub fn pricing(&self) -> PricingOptions {
        PricingOptions::new().with_container_minutes(self.container_minutes)
    }

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
    /// A thread continue request whose thread the book does not know, with
    /// [`UnknownThread::Refuse`].
    #[error("the thread continue request's previous message {previous_message_id:?} is {}: its input (the whole stored thread) cannot be bounded tighter than the model's context window, and the middleware was asked to refuse such requests (send the whole conversation with a new thread create, or allow unknown threads)", if *.expired { "on a thread that expired" } else { "not on a thread the book of threads has seen" })]
    UnknownThread {
        /// The `previous_message_id` of the request.
        previous_message_id: String,
        /// Whether the book knew the thread but it expired.
        expired: bool,
    },
}

impl MeterError {
    /// The stable error code ([`crate::codes`]).
    pub fn code(&self) -> &'static str {
        match self {
            MeterError::Request(e) => e.code(),
            MeterError::Pricing(e) => e.code(),
            MeterError::UnknownThread { .. } => "unknown_thread",
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
    /// The call cannot be metered, known only from the pool store's answer
    /// (a thread continue whose thread the store's book does not hold, with
    /// [`UnknownThread::Refuse`]): raise it as [`Meter::new`]'s errors are;
    /// nothing is sent.
    Invalid(MeterError),
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

pub use crate::pool::threads::{ThreadEntry, ThreadLookup, ThreadTools, DEFAULT_MAX_THREADS, THREAD_TTL_MS};
use crate::pool::threads::ThreadTable;

/// The message threads one middleware has seen, keyed by the ID of each
/// response on a thread: a bound on each thread's input so far, for the
/// [`Meter`]s of continue requests. A handle: clones share one book. Bounded
/// in memory ([`DEFAULT_MAX_THREADS`] or [`ThreadBook::with_capacity`]; the
/// entry that expires first goes first); an entry expires [`THREAD_TTL_MS`]
/// after the request that produced it, by the times the caller hands in
/// (like the pool's clock). In-process: a continue sent from another process
/// than its create is bounded as unknown; the pool store's book
/// ([`Meter::with_store_threads`]) is shared by every process on the pool.
#[derive(Clone, Debug)]
pub struct ThreadBook {
    inner: Arc<std::sync::Mutex<ThreadTable>>,
}

impl Default for ThreadBook {
    fn default() -> ThreadBook {
        ThreadBook::with_capacity(DEFAULT_MAX_THREADS)
    }
}

impl ThreadBook {
    /// An empty book of at most [`DEFAULT_MAX_THREADS`] threads.
    pub fn new() -> ThreadBook {
        ThreadBook::default()
    }

    /// An empty book of at most `cap` threads (at least 1).
    pub fn with_capacity(cap: usize) -> ThreadBook {
        ThreadBook { inner: Arc::new(std::sync::Mutex::new(ThreadTable::with_capacity(cap))) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ThreadTable> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many entries the book holds (expired ones included until they are
    /// looked up or pushed out).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the book is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the book knows of `message_id` at `now_ms`. An expired entry is
    /// forgotten as it is reported.
    pub fn lookup(&self, message_id: &str, now_ms: u64) -> ThreadLookup {
        self.lock().lookup(message_id, now_ms)
    }

    /// Records the thread up to `message_id`. Expired entries and, past the
    /// cap, those that expire first are forgotten (the rules of the pool's
    /// own book, [`crate::pool::threads`]).
    pub fn record(&self, message_id: &str, entry: ThreadEntry, now_ms: u64) {
        self.lock().record(message_id, entry, now_ms);
    }

    /// Forgets `message_id` (the API answered `thread_not_found` for it).
    pub fn forget(&self, message_id: &str) {
        self.lock().forget(message_id);
    }
}

/// Where a meter's book of message threads is.
#[derive(Clone, Debug)]
enum Book {
    /// No book: every continue is unknown.
    None,
    /// An in-process book (the middleware's [`ThreadBook`]).
    Local(ThreadBook),
    /// The pool store's (`thread_lookup` and `thread_record` operations).
    Store,
}

/// A continue's lookup in the pool store's book.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Lookup {
    /// Nothing to look up (not a continue, or not the store's book).
    None,
    /// To ask before the first reserve.
    Needed(String),
    /// Asked; its answer not yet handed back.
    Asked(String),
    /// Answered: the bound is known.
    Done,
}

/// Which part a request plays on a message thread.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ThreadRole {
    /// Not on a thread.
    None,
    /// `{"type": "create"}`.
    Create,
    /// `{"type": "continue"}` from this message.
    Continue(String),
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
    /// The call cannot be metered (known after the thread lookup).
    Invalid(MeterError),
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
    /// The book of message threads, if the middleware keeps one.
    threads: Book,
    /// A continue's lookup in the pool store's book: not yet asked, asked,
    /// or answered.
    lookup: Lookup,
    /// The part this request plays on a thread.
    thread: ThreadRole,
    /// The request's input bound, tokens (a continue's: the whole thread's).
    input_bound: u64,
    /// Whether the request (a continue: its thread) may write the cache:
    /// (any `cache_control`, any 1-hour one).
    cache: (bool, bool),
    /// What the request's tools (a continue: its thread create's) imply for
    /// its price (web searches, container billing); `None` for a continue
    /// whose thread's tools are not known (then settled as container-billed,
    /// and recorded as not known).
    tools: Option<ThreadTools>,
}

impl Meter {
    /// The books for a call whose body (as the SDK built it) is `body`: the
    /// selector is added and the worst case priced here. Without a
    /// [`ThreadBook`], every thread continue request is unknown.
    pub fn new(config: &MeterConfig, prices: Arc<PriceTable>, body: &[u8]) -> Result<Meter, MeterError> {
        Meter::build(config, prices, body, Book::None, 0)
    }

    /// [`Meter::new`] with the middleware's book of message threads: a
    /// continue request is bounded from the thread the book knows, and the
    /// response of a create or continue is recorded in it. `now_ms` is the
    /// caller's clock (for the threads' expiry).
    pub fn with_threads(config: &MeterConfig, prices: Arc<PriceTable>, body: &[u8], threads: &ThreadBook, now_ms: u64) -> Result<Meter, MeterError> {
        Meter::build(config, prices, body, Book::Local(threads.clone()), now_ms)
    }

    /// [`Meter::new`] with the book of message threads kept in the pool
    /// store ([`crate::pool::threads`]), so that every process sharing the
    /// pool knows the threads of the others. A continue request's first
    /// attempt asks the store for its thread ([`PoolOp::ThreadLookup`],
    /// through [`MeterAction::Pool`]) before it reserves, and its worst case
    /// ([`Meter::amount`]) is known from the answer; an unknown thread with
    /// [`UnknownThread::Refuse`] is then [`MeterAction::Invalid`]. The
    /// response of a create or continue is recorded in the store after its
    /// settle ([`PoolOp::ThreadRecord`]). A store that cannot answer a
    /// lookup (an error) leaves the thread unknown; a failed record is
    /// ignored: either way never less than the API bills. A 404
    /// `thread_not_found` leaves the entry to expire (the API bills nothing
    /// for a continue it cannot serve).
    pub fn with_store_threads(config: &MeterConfig, prices: Arc<PriceTable>, body: &[u8]) -> Result<Meter, MeterError> {
        Meter::build(config, prices, body, Book::Store, 0)
    }

    fn build(config: &MeterConfig, prices: Arc<PriceTable>, body: &[u8], threads: Book, now_ms: u64) -> Result<Meter, MeterError> {
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
        let thread = thread_role(&request);
        let mut cache = crate::pricing::cache_writes(&request);
        let mut tools = Some(crate::pricing::thread_tools(&prices, &request));
        let mut lookup = Lookup::None;
        config.pricing().validate(&prices)?;
        let estimate = match (&thread, &threads) {
            (ThreadRole::Continue(previous), Book::Store) => {
                // Bounded once the store answers; the model must be one the
                // table prices.
                prices.prices(&request.model)?;
                lookup = Lookup::Needed(previous.clone());
                crate::pricing::Estimate::default()
            }
            (ThreadRole::Continue(previous), book) => {
                let found = match book {
                    Book::Local(b) => b.lookup(previous, now_ms),
                    _ => ThreadLookup::Unknown,
                };
                continue_estimate(config, &prices, &request, body.len(), previous, found, &mut cache, &mut tools)?
            }
            _ => worst_case_with(&prices, &request, body.len(), config.estimate, &config.pricing())?,
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
            threads,
            lookup,
            thread,
            input_bound: estimate.input_tokens_bound,
            cache,
            tools,
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

    /// The worst case reserved for each hold. For a continue whose book is
    /// the pool store's ([`Meter::with_store_threads`]), known once the
    /// store answered its lookup (zero before).
    pub fn amount(&self) -> Money {
        self.amount
    }

    /// Whether the worst case can be exceeded (see [`crate::pricing::Estimate`]).
    pub fn may_overshoot(&self) -> bool {
        self.may_overshoot
    }

    /// What the meter did so far.
    pub fn summary(&self) -> MeterSummary {
        MeterSummary { done: matches!(self.phase, Phase::Closed | Phase::Refused(_) | Phase::Failed { .. } | Phase::Invalid(_)) && self.ops.is_empty(), ..self.summary.clone() }
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
        if matches!(self.phase, Phase::Refused(_) | Phase::Failed { .. } | Phase::Invalid(_)) {
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
            Phase::Invalid(e) => MeterAction::Invalid(e.clone()),
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
                if let Lookup::Needed(id) = &self.lookup {
                    let op = PoolOp::ThreadLookup { message_id: id.clone(), now_ms };
                    self.lookup = Lookup::Asked(id.clone());
                    self.ops.push_back(op.clone());
                    return MeterAction::Pool(op);
                }
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
            PoolOp::ThreadLookup { .. } => self.handle_lookup(result),
            PoolOp::Extend { .. } => {
                if let (Some(h), OpResult::Extended(r)) = (&mut self.held, &result) {
                    h.reservation.expires_at_ms = r.expires_at_ms;
                }
            }
            // A settle or release is recorded whatever the store answers.
            _ => {}
        }
    }

    /// The store's answer to the continue's thread lookup: the worst case.
    fn handle_lookup(&mut self, result: OpResult) {
        let Lookup::Asked(previous) = std::mem::replace(&mut self.lookup, Lookup::Done) else { return };
        let found = match result {
            OpResult::Thread(entry) => ThreadLookup::Known(entry),
            OpResult::NoThread { expired: true } => ThreadLookup::Expired,
            // Not known, or a store that cannot answer: unknown.
            _ => ThreadLookup::Unknown,
        };
        let mut cache = self.cache;
        let mut tools = self.tools;
        match continue_estimate(&self.config, &self.prices, &self.request, self.body.len(), &previous, found, &mut cache, &mut tools) {
            Ok(estimate) => {
                self.cache = cache;
                self.tools = tools;
                self.amount = estimate.cost;
                self.may_overshoot = estimate.may_overshoot;
                self.input_bound = estimate.input_tokens_bound;
            }
            Err(e) => {
                if matches!(self.phase, Phase::Starting { .. }) {
                    self.phase = Phase::Invalid(e);
                }
            }
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
            if let (ThreadRole::Continue(previous), Some((404, _)), Book::Local(threads)) = (&self.thread, &out.head, &self.threads) {
                if thread_not_found(body) {
                    threads.forget(previous);
                }
            }
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
            Phase::Refused(_) | Phase::Failed { .. } | Phase::Invalid(_) | Phase::Closed => {}
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

    /// Records the thread up to `message` (the response of a create or a
    /// continue) in the book: this request's input bound (never less than
    /// the input it was billed), plus what the response produced, which the
    /// next continue reads as input: its output tokens (thinking the API may
    /// keep whole) and the bytes of its content (at most a token per byte).
    fn record_thread(&mut self, message: &Message, now_ms: u64) {
        if self.thread == ThreadRole::None || message.id.is_empty() || matches!(self.threads, Book::None) {
            return;
        }
        let u = &message.usage;
        let billed_input = u.input_tokens.saturating_add(u.cache_creation_input_tokens.unwrap_or(0)).saturating_add(u.cache_read_input_tokens.unwrap_or(0));
        let content = crate::pool::attribution::json_len(&message.content);
        let input_tokens = self.input_bound.max(billed_input).saturating_add(u.output_tokens).saturating_add(content);
        let bound = crate::pool::ThreadBound { input_tokens, cache_write: self.cache.0, cache_write_1h: self.cache.1, may_overshoot: self.may_overshoot, tools: self.tools };
        match &self.threads {
            Book::Local(threads) => threads.record(&message.id, bound.entry_at(now_ms), now_ms),
            Book::Store => self.ops.push_back(PoolOp::ThreadRecord {
                message_id: message.id.clone(),
                input_tokens: bound.input_tokens,
                cache_write: bound.cache_write,
                cache_write_1h: bound.cache_write_1h,
                may_overshoot: bound.may_overshoot,
                tools: bound.tools,
                now_ms,
            }),
            Book::None => {}
        }
    }

    fn settle(&mut self, reservation: Reservation, completed: Completed, now_ms: u64) {
        let message = completed.message;
        let mut options = CostOptions::for_message(&message).with_request(&self.prices, &self.request, &self.config.pricing());
        // A continue's code execution is billed as its thread's create's
        // (its body holds no `tools`); a thread whose tools are not known
        // is counted as container-billed: never less than the API bills.
        if self.thread != ThreadRole::None && !matches!(self.tools, Some(t) if !t.container_billed) && !options.container_billed {
            options.container_billed = true;
            options.container_files = crate::pricing::has_container_upload(&self.request);
        }
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
        self.record_thread(&message, now_ms);
    }
}

/// The part a request plays on a message thread (`"thread": {"type":
/// "create"}` or `{"type": "continue", "previous_message_id": ...}`).
fn thread_role(request: &MessageRequest) -> ThreadRole {
    let Some(thread) = request.extra.get("thread") else { return ThreadRole::None };
    match thread.get("type").and_then(Value::as_str) {
        Some("create") => ThreadRole::Create,
        Some("continue") => ThreadRole::Continue(thread.get("previous_message_id").and_then(Value::as_str).unwrap_or_default().to_owned()),
        _ => ThreadRole::None,
    }
}

/// The worst case of a continue request from what the book says of its
/// thread (`cache` takes the thread's cache writes, or both for an unknown
/// thread; `tools` the thread's tools' facts merged with the request's own,
/// or `None` for an unknown thread), or the refusal of an unknown one. An
/// entry that does not hold its tools' facts (recorded by an older version)
/// counts as unknown: its tools may have web searches or container time.
#[allow(clippy::too_many_arguments)]
fn continue_estimate(
    config: &MeterConfig, prices: &PriceTable, request: &MessageRequest, body_len: usize, previous: &str, found: ThreadLookup, cache: &mut (bool, bool),
    tools: &mut Option<ThreadTools>,
) -> Result<crate::pricing::Estimate, MeterError> {
    let found = match found {
        ThreadLookup::Known(entry) if entry.tools.is_none() => ThreadLookup::Unknown,
        other => other,
    };
    match found {
        ThreadLookup::Known(entry) => {
            *cache = (cache.0 || entry.cache_write, cache.1 || entry.cache_write_1h);
            let inherited = entry.tools.unwrap_or_default();
            let own = tools.unwrap_or_default();
            let merged = ThreadTools { web_search_uses: own.web_search_uses.saturating_add(inherited.web_search_uses), container_billed: own.container_billed || inherited.container_billed };
            *tools = Some(merged);
            known_continue_bound(config, prices, request, body_len, &entry, *cache)
        }
        other if config.unknown_thread == UnknownThread::Refuse => {
            // The model must still be one the table prices.
            prices.prices(&request.model)?;
            Err(MeterError::UnknownThread { previous_message_id: previous.to_owned(), expired: other == ThreadLookup::Expired })
        }
        _ => {
            *cache = (true, true);
            *tools = None;
            continue_bound(config, prices, request, previous)
        }
    }
}

/// The worst case of a continue request whose thread the book knows: the
/// thread's input bound plus the request's own body (its new messages), at
/// no more than the model's context window, at the highest input rate the
/// thread can incur (`cache`: any `cache_control` of the thread or the
/// request, any 1-hour one).
fn known_continue_bound(config: &MeterConfig, prices: &PriceTable, request: &MessageRequest, body_len: usize, entry: &ThreadEntry, cache: (bool, bool)) -> Result<crate::pricing::Estimate, MeterError> {
    let mut bounded = request.clone();
    if cache.0 {
        let ttl = if cache.1 { serde_json::json!({"type": "ephemeral", "ttl": "1h"}) } else { serde_json::json!({"type": "ephemeral"}) };
        bounded.system = serde_json::from_value(serde_json::json!([{"type": "text", "text": "", "cache_control": ttl}])).ok();
    }
    let body_tokens = u64::try_from(body_len).unwrap_or(u64::MAX);
    let total = usize::try_from(entry.input_tokens.saturating_add(body_tokens)).unwrap_or(usize::MAX);
    // The create's tools: its web searches and container time, on every
    // request of the thread (their tokens are in the thread's input).
    let inherited = entry.tools.unwrap_or_default();
    let mut estimate = crate::pricing::worst_case_on_thread(prices, &bounded, total, EstimateMode::Bound, &config.pricing(), inherited)?;
    estimate.may_overshoot |= entry.may_overshoot;
    Ok(estimate)
}

/// Whether an error body is the API's `thread_not_found`
/// (`error.details.error_code`).
fn thread_not_found(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body).ok().is_some_and(|v| v.pointer("/error/details/error_code").and_then(Value::as_str) == Some("thread_not_found"))
}

/// The worst case of a message-thread continue request whose thread the book
/// does not know. Its body holds only the new messages, while the API reads
/// (and bills as input) the whole stored thread: the input is bounded
/// by the model's context window, priced at the highest input rate (the
/// 1-hour cache write, since the stored thread may ask for it), plus what the
/// unknown create's tools may add on every request of the thread (the
/// default number of web searches and `container_minutes` of container
/// time, flagged `may_overshoot`), so that the hold is never less than the
/// request can cost. A model without a known context window cannot be
/// bounded: a typed error.
fn continue_bound(config: &MeterConfig, prices: &PriceTable, request: &MessageRequest, previous: &str) -> Result<crate::pricing::Estimate, MeterError> {
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
    // The thread's create is unknown, so are its tools: it may have had a web
    // search tool without max_uses (the documented default number of searches
    // is assumed, flagged) and code execution billed by container time.
    let unknown_tools = ThreadTools { web_search_uses: prices.web_search_default_max_uses, container_billed: true };
    let mut estimate = crate::pricing::worst_case_on_thread(prices, &bounded, usize::MAX, EstimateMode::Bound, &config.pricing(), unknown_tools)?;
    estimate.notes.push(format!(
        "the thread's create is unknown: {} web searches (the documented server-side loop limit) and container time for code execution are assumed",
        prices.web_search_default_max_uses
    ));
    estimate.may_overshoot = true;
    Ok(estimate)
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

    /// An unknown thread's continue on Haiku 4.5 with max_tokens 100: the
    /// 200k-token window at the 1-hour cache-write rate, the output, and the
    /// unknown create's tools: 10 web searches and 5 minutes of container time.
    const UNKNOWN_THREAD_HOLD: u64 = 200_000 * 2_000 + 100 * 5_000 + 10 * 10_000_000 + 4_166_667;

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

    fn entry(expires_at_ms: u64) -> ThreadEntry {
        ThreadEntry { input_tokens: 10, cache_write: false, cache_write_1h: false, may_overshoot: false, tools: Some(ThreadTools::default()), expires_at_ms }
    }

    #[test]
    fn the_thread_book_is_bounded_and_forgets_the_oldest_first() {
        let book = ThreadBook::with_capacity(2);
        book.record("msg_a", entry(1_000), 0);
        book.record("msg_b", entry(1_000), 1);
        book.record("msg_c", entry(1_000), 2);
        assert_eq!(book.len(), 2);
        assert_eq!(book.lookup("msg_a", 3), ThreadLookup::Unknown);
        assert!(matches!(book.lookup("msg_b", 3), ThreadLookup::Known(_)));
        assert!(matches!(book.lookup("msg_c", 3), ThreadLookup::Known(_)));
        // A clone is a handle on the same book.
        let other = book.clone();
        other.forget("msg_b");
        assert_eq!(book.lookup("msg_b", 3), ThreadLookup::Unknown);
    }

    #[test]
    fn a_thread_expires_at_its_time_and_expired_entries_are_dropped_on_record() {
        let book = ThreadBook::new();
        book.record("msg_a", entry(100), 0);
        assert!(matches!(book.lookup("msg_a", 99), ThreadLookup::Known(_)));
        assert_eq!(book.lookup("msg_a", 100), ThreadLookup::Expired);
        // Reported once, then forgotten.
        assert_eq!(book.lookup("msg_a", 100), ThreadLookup::Unknown);
        book.record("msg_b", entry(100), 0);
        book.record("msg_c", entry(10_000), 500);
        assert_eq!(book.len(), 1, "the expired entry at the front went when msg_c was recorded");
    }

    #[test]
    fn a_continue_without_a_book_is_bounded_by_the_context_window() {
        let body = serde_json::to_vec(&serde_json::json!({"model": "claude-haiku-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}],
            "thread": {"type": "continue", "previous_message_id": "msg_x"}})).unwrap();
        let m = Meter::new(&MeterConfig::default(), Arc::new(PriceTable::builtin()), &body).unwrap();
        assert_eq!(m.amount(), Money::from_nanos(UNKNOWN_THREAD_HOLD));
        let refuse = MeterConfig { unknown_thread: UnknownThread::Refuse, ..MeterConfig::default() };
        let e = Meter::new(&refuse, Arc::new(PriceTable::builtin()), &body).unwrap_err();
        assert_eq!(e.code(), "unknown_thread");
        assert!(e.to_string().contains("msg_x"), "{e}");
    }

    #[test]
    fn a_store_that_cannot_answer_a_thread_lookup_leaves_the_continue_unknown() {
        let body = serde_json::to_vec(&serde_json::json!({"model": "claude-haiku-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}],
            "thread": {"type": "continue", "previous_message_id": "msg_x"}})).unwrap();
        let mut m = Meter::with_store_threads(&MeterConfig::default(), Arc::new(PriceTable::builtin()), &body).unwrap();
        m.begin_attempt(0, None, 1);
        let MeterAction::Pool(PoolOp::ThreadLookup { message_id, .. }) = m.next_action(1) else { panic!("the lookup first") };
        assert_eq!(message_id, "msg_x");
        // A store without the thread operations (an error): unknown, the context window.
        m.handle_pool(OpResult::Error(crate::pool::PoolError::UnknownReservation { id: 0 }), 1);
        assert_eq!(m.amount(), Money::from_nanos(UNKNOWN_THREAD_HOLD));
        assert!(matches!(m.next_action(1), MeterAction::Pool(PoolOp::Reserve { amount, .. }) if amount == m.amount()));
        // With refuse: the typed error after the lookup, nothing reserved.
        let refuse = MeterConfig { unknown_thread: UnknownThread::Refuse, ..MeterConfig::default() };
        let mut m = Meter::with_store_threads(&refuse, Arc::new(PriceTable::builtin()), &body).unwrap();
        m.begin_attempt(0, None, 1);
        let _ = m.next_action(1);
        m.handle_pool(OpResult::NoThread { expired: true }, 1);
        let MeterAction::Invalid(e) = m.next_action(1) else { panic!("invalid") };
        assert_eq!(e, MeterError::UnknownThread { previous_message_id: "msg_x".into(), expired: true });
        assert!(m.summary().done);
        // An unpriced model is still a typed error when the meter is made.
        let unpriced = serde_json::to_vec(&serde_json::json!({"model": "claude-nope", "max_tokens": 1, "messages": [],
            "thread": {"type": "continue", "previous_message_id": "msg_x"}})).unwrap();
        assert!(Meter::with_store_threads(&MeterConfig::default(), Arc::new(PriceTable::builtin()), &unpriced).is_err());
    }

    #[test]
    fn an_entry_without_its_tools_facts_is_an_unknown_thread_whose_container_time_is_settled() {
        let mut pool = Pool::new(PoolConfig::new(Money::from_nanos(1_000_000_000)), 0).unwrap();
        let body = serde_json::to_vec(&serde_json::json!({"model": "claude-haiku-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}],
            "thread": {"type": "continue", "previous_message_id": "msg_old"}})).unwrap();
        // An entry recorded by a version that did not keep the tools' facts
        // (an older Redis book): its tools may search or run containers.
        let book = ThreadBook::new();
        book.record("msg_old", ThreadEntry { tools: None, ..entry(10_000) }, 0);
        let mut m = Meter::with_threads(&MeterConfig::default(), Arc::new(PriceTable::builtin()), &body, &book, 1).unwrap();
        assert_eq!(m.amount(), Money::from_nanos(UNKNOWN_THREAD_HOLD), "bounded as an unknown thread");
        let refuse = MeterConfig { unknown_thread: UnknownThread::Refuse, ..MeterConfig::default() };
        assert_eq!(Meter::with_threads(&refuse, Arc::new(PriceTable::builtin()), &body, &book, 1).unwrap_err().code(), "unknown_thread");
        // The thread's code execution ran: its container time is counted
        // (the 5-minute default), flagged estimated, though the body has no tools.
        m.begin_attempt(0, None, 2);
        assert_eq!(drain(&mut m, &mut pool, 2), MeterAction::Send);
        let _ = m.handle_head(200, &Headers::new(), 3);
        m.handle_body(br#"{"id":"msg_2","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[],"stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":5,"server_tool_use":{"web_search_requests":1,"code_execution_requests":1}}}"#, 3);
        assert_eq!(drain(&mut m, &mut pool, 3), MeterAction::Done);
        let e = pool.poll_ledger().unwrap();
        assert_eq!((e.cost, e.estimated), (Money::from_nanos(35_000 + 10_000_000 + 4_166_667), true));
        // Its own response is recorded without tools' facts: still unknown.
        let ThreadLookup::Known(next) = book.lookup("msg_2", 4) else { panic!("recorded") };
        assert_eq!(next.tools, None);
    }

    #[test]
    fn container_time_is_settled_estimated_and_charged_to_code_execution() {
        let mut pool = Pool::new(PoolConfig::new(Money::from_nanos(1_000_000_000)), 0).unwrap();
        let body = serde_json::to_vec(&serde_json::json!({"model": "claude-haiku-4-5", "max_tokens": 100,
            "tools": [{"type": "code_execution_20250825", "name": "code_execution"}], "messages": [{"role": "user", "content": "hi"}]}))
        .unwrap();
        let config = MeterConfig { container_minutes: Some(60), ..MeterConfig::default() };
        let mut m = Meter::new(&config, Arc::new(PriceTable::builtin()), &body).unwrap();
        m.begin_attempt(0, None, 1);
        assert_eq!(drain(&mut m, &mut pool, 1), MeterAction::Send);
        let _ = m.handle_head(200, &Headers::new(), 2);
        m.handle_body(br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":5,"server_tool_use":{"web_search_requests":0,"code_execution_requests":1}}}"#, 2);
        assert_eq!(drain(&mut m, &mut pool, 2), MeterAction::Done);
        let e = pool.poll_ledger().unwrap();
        // 10 x 1000 + 5 x 5000 = 35,000 of tokens; an hour of container time is 50,000,000.
        assert_eq!((e.kind, e.cost, e.estimated), (LedgerKind::Settle, Money::from_nanos(35_000 + 50_000_000), true));
        let a = e.attribution.expect("attribution");
        let ce: Vec<_> = a.tools.iter().filter(|t| t.tool.as_str() == "code_execution" && t.part == crate::pool::ToolPart::Use).collect();
        assert_eq!(ce.len(), 1);
        assert_eq!(ce[0].cost, Money::from_nanos(50_000_000));
        // Too few minutes: a typed error before anything is sent.
        let low = MeterConfig { container_minutes: Some(4), ..MeterConfig::default() };
        assert_eq!(Meter::new(&low, Arc::new(PriceTable::builtin()), &body).unwrap_err().code(), "invalid_container_minutes");
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
