//! Stable error codes, and the one table from a code to the class a binding
//! raises.
//!
//! Every error of this crate has a `code()`: a short snake_case string that
//! names the fault and never changes between versions (a new fault gets a new
//! code). [`CODES`] maps each code to the name of an exception class, and
//! [`CLASSES`] lists those classes with their parents and doc lines, so that
//! the same fault gives the same code and the same class name in Rust, Python
//! and JS. `docs/errors.md` describes every code.
//!
//! The codes, by source:
//!
//! * an API error ([`ApiError`], [`ApiErrorKind`]): the API's own `error.type`
//!   (`overloaded_error`, `rate_limit_error`, ...), and `api_error_unknown` for
//!   a type this version does not know;
//! * reading a response ([`ParseError`], [`ResponseError`]):
//!   `malformed_response`, `response_too_large` (or the API error's code);
//! * a stream ([`StreamError`], [`SseError`]): `stream_incomplete`,
//!   `stream_malformed`, `stream_protocol`, `stream_event_too_large` (or the
//!   code of the API error an `error` event carried);
//! * the transport ([`Failure`]): `connection_error`, `connect_timeout`,
//!   `read_timeout`, `idle_timeout`; an HTTP failure gives the code of its API
//!   error (or of its status), a cut stream `stream_incomplete`;
//! * a call ([`AttemptError`], [`CallError`]): the code of what failed;
//! * building a request ([`RequestError`]): `missing_api_key`,
//!   `invalid_api_key`, `invalid_header`, `invalid_beta`, `invalid_base_url`, `invalid_request`,
//!   `selector_collision`, `unknown_parameter`;
//! * tools ([`ToolDefinitionError`], [`ToolInputError`]): `invalid_tool_name`,
//!   ..., `unknown_tool`, `invalid_tool_input`, `truncated_tool_input`;
//! * pricing ([`PricingError`], [`CapabilityError`]): `unknown_model`,
//!   `unpriced_model`, `invalid_price`, ..., and `capability_` followed by the
//!   capability error's kind;
//! * partial JSON ([`PartialJsonError`]): `partial_json_` followed by its kind;
//! * a pool in Redis ([`RedisError`](crate::redis::RedisError)):
//!   `redis_config_conflict`, `fair_share_unsupported_on_redis`,
//!   `redis_out_of_range`, `redis_invalid_pool_name`, `redis_unsupported`,
//!   `redis_invalid_stream_id`,
//!   `redis_pool_missing`, `redis_reply`;
//! * the pool ([`Refusal`], [`PoolError`]): their serde tags (`pool_exhausted`,
//!   `agent_cap`, ..., `unknown_reservation`, `invalid_config`, ...);
//! * an agent run ([`AgentError`], and [`RunStatus::code`](crate::agent::RunStatus::code) for a run that
//!   ended without an answer): the code of the error inside, or `max_turns`,
//!   `budget_exhausted`;
//! * the bindings' own faults: `invalid_options`, `internal_error`,
//!   `sdk_unsupported` (an official SDK without the middleware hook);
//! * the SDK middleware's meter ([`MeterError`](crate::meter::MeterError)):
//!   the request's or pricing's code, or `unknown_thread`.
//!
//! [`GiveUpReason::code`] is not an error code: it says why a failed call was
//! not retried, next to the error's own code, and is not in [`CODES`].
//!
//! # Class names
//!
//! [`CLASSES`] holds the Python binding's exception hierarchy
//! (`bindings/python/src/errors.rs`), with its doc lines. The JS package
//! (`js/src/errors.js`) uses other names for some of these classes, which are
//! to become deprecated aliases of the names here:
//!
//! | Here (and Python)                      | JS today                                       |
//! |----------------------------------------|------------------------------------------------|
//! | `BadRequestError`                      | `InvalidRequestError`                          |
//! | `APIConnectionError`                   | `ConnectionError`                              |
//! | `APITimeoutError`                      | `ConnectionTimeoutError`                       |
//! | `ResponseParseError`                   | `ResponseError`                                |
//! | `StreamProtocolError`                  | `StreamError` (no subclass)                    |
//! | `StreamEventTooLargeError`             | `StreamError` (no subclass)                    |
//! | `RequestBuildError`                    | `ConfigurationError` (`InvalidRequestError` for `invalid_request`) |
//! | `InvalidOptionsError`                  | `ConfigurationError`, `InvalidArgumentError`   |
//! | `ToolInputInvalidError`                | `ToolInputError`                               |
//! | `UnpricedModelError`, `InvalidPriceError` | `PricingError` (no subclass)                |
//! | `AgentRunError`, `MaxTurnsError`, `BudgetExhaustedError` | none                         |
//!
//! JS also has classes with no counterpart here: `ConfigurationError`,
//! `AbortError` (`aborted`), `InvalidArgumentError` (`invalid_argument`) and
//! `BusyError` (`busy`); their codes are not in [`CODES`] yet. The JS `type`
//! strings that differ from the codes here: `connection_timeout` (here
//! `connect_timeout`, `read_timeout`, `idle_timeout`), `event_too_large`
//! (`stream_event_too_large`), `tool_definition_invalid`,
//! `tool_input_invalid`, `pricing_error`, `capability_error`,
//! `partial_json_error` (here one code per variant) and `configuration_error`
//! (here the request error's kind).

use crate::agent::AgentError;
use crate::call::{AttemptError, CallError};
use crate::error::{ApiError, ApiErrorKind, ParseError};
use crate::partial_json::PartialJsonError;
use crate::pool::{PoolError, Refusal};
use crate::pricing::{CapabilityError, PricingError};
use crate::request::RequestError;
use crate::response::ResponseError;
use crate::retry::{Failure, GiveUpReason, TimeoutPhase};
use crate::sse::decoder::SseError;
use crate::sse::StreamError;
use crate::tools::{ToolDefinitionError, ToolInputError};

impl ApiErrorKind {
    /// The stable error code: the API's `error.type` for the types this
    /// version knows, `api_error_unknown` for any other.
    pub fn code(&self) -> &'static str {
        match self {
            // `from_type` never keeps a known type as `Other`, but a value
            // built by hand may: read it the way the API's string would be.
            ApiErrorKind::Other(t) => ApiErrorKind::from_type(t).known_str().unwrap_or("api_error_unknown"),
            known => known.known_str().unwrap_or("api_error_unknown"),
        }
    }
}

impl ApiError {
    /// The stable error code: its kind's ([`ApiErrorKind::code`]).
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

impl ParseError {
    /// The stable error code: `malformed_response` or `response_too_large`.
    pub fn code(&self) -> &'static str {
        match self {
            ParseError::Malformed { .. } => "malformed_response",
            ParseError::TooLarge { .. } => "response_too_large",
        }
    }
}

impl ResponseError {
    /// The stable error code: the API error's or the parse error's.
    pub fn code(&self) -> &'static str {
        match self {
            ResponseError::Api(e) => e.code(),
            ResponseError::Parse(e) => e.code(),
        }
    }
}

impl SseError {
    /// The stable error code: `stream_event_too_large`, or
    /// `stream_incomplete` for input that ended inside an event (a cut
    /// stream, as [`StreamError::Incomplete`]).
    pub fn code(&self) -> &'static str {
        match self {
            SseError::EventTooLarge { .. } => "stream_event_too_large",
            SseError::Truncated { .. } => "stream_incomplete",
        }
    }
}

impl StreamError {
    /// The stable error code: the API error's for an `error` event, else
    /// `stream_incomplete`, `stream_malformed`, `stream_protocol` or the SSE
    /// error's.
    pub fn code(&self) -> &'static str {
        match self {
            StreamError::Api { error, .. } => error.code(),
            StreamError::Incomplete { .. } => "stream_incomplete",
            StreamError::Malformed { .. } => "stream_malformed",
            StreamError::Protocol { .. } => "stream_protocol",
            StreamError::Decode(e) => e.code(),
            StreamError::TooLarge { .. } => "stream_too_large",
        }
    }
}

impl TimeoutPhase {
    /// The stable error code of a timeout in this phase: `connect_timeout`,
    /// `read_timeout` or `idle_timeout`.
    pub fn code(&self) -> &'static str {
        match self {
            TimeoutPhase::Connect => "connect_timeout",
            TimeoutPhase::Read => "read_timeout",
            TimeoutPhase::Idle => "idle_timeout",
            TimeoutPhase::Total => "total_timeout",
        }
    }
}

impl Failure {
    /// The stable error code: `connection_error`, a timeout's
    /// ([`TimeoutPhase::code`]), an API error's (for an HTTP failure without a
    /// readable error, the code its status implies, as
    /// [`ApiErrorKind::from_status`]), or `stream_incomplete` for a cut stream.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Http { error: Some(error), .. } => error.code(),
            Failure::Http { status, error: None } => ApiErrorKind::from_status(*status).code(),
            Failure::Connection => "connection_error",
            Failure::Timeout { phase } => phase.code(),
            Failure::StreamError { error } => error.code(),
            Failure::StreamTruncated => "stream_incomplete",
        }
    }
}

impl GiveUpReason {
    /// Why a failure was not retried, as its serde tag: `not_retryable`,
    /// `not_retryable_stream_error`, `should_retry_header_false`,
    /// `attempts_exhausted` or `retry_after_too_long`. Not an error code (the
    /// failure has its own); not in [`CODES`].
    pub fn code(&self) -> &'static str {
        match self {
            GiveUpReason::NotRetryable { .. } => "not_retryable",
            GiveUpReason::NotRetryableStreamError { .. } => "not_retryable_stream_error",
            GiveUpReason::ShouldRetryHeaderFalse => "should_retry_header_false",
            GiveUpReason::AttemptsExhausted { .. } => "attempts_exhausted",
            GiveUpReason::RetryAfterTooLong { .. } => "retry_after_too_long",
            GiveUpReason::TotalTimeout { .. } => "total_timeout",
        }
    }
}

impl AttemptError {
    /// The stable error code of what failed.
    pub fn code(&self) -> &'static str {
        match self {
            AttemptError::Api(e) => e.code(),
            AttemptError::Stream(e) => e.code(),
            AttemptError::Parse(e) => e.code(),
            AttemptError::Transport(f) => f.code(),
            AttemptError::SelectorRejected(e) => e.code(),
        }
    }
}

impl crate::request::SelectorRejected {
    /// The stable error code: `pool_selector_rejected`.
    pub fn code(&self) -> &'static str {
        "pool_selector_rejected"
    }
}

impl CallError {
    /// The stable error code of the last attempt's error.
    pub fn code(&self) -> &'static str {
        self.error.code()
    }
}

impl RequestError {
    /// The stable error code: `missing_api_key`, `invalid_api_key`,
    /// `invalid_header`, `invalid_beta`, `invalid_request` or
    /// `selector_collision`.
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::MissingApiKey => "missing_api_key",
            RequestError::InvalidApiKey => "invalid_api_key",
            RequestError::InvalidHeader { .. } => "invalid_header",
            RequestError::InvalidBeta { .. } => "invalid_beta",
            RequestError::InvalidBaseUrl { .. } => "invalid_base_url",
            RequestError::InvalidRequest { .. } => "invalid_request",
            RequestError::SelectorCollision { .. } => "selector_collision",
            RequestError::UnknownParameter { .. } => "unknown_parameter",
        }
    }
}

impl PricingError {
    /// The stable error code: `unknown_model`, `unpriced_model`,
    /// `invalid_price`, `invalid_price_table`, `unsupported_usage`,
    /// `pricing_overflow` or `invalid_container_minutes`
    /// ([`PricingError::kind`] is the shorter name within pricing).
    pub fn code(&self) -> &'static str {
        match self {
            PricingError::UnknownModel { .. } => "unknown_model",
            PricingError::Unpriced { .. } => "unpriced_model",
            PricingError::InvalidPrice { .. } => "invalid_price",
            PricingError::InvalidTable { .. } => "invalid_price_table",
            PricingError::UnsupportedUsage { .. } => "unsupported_usage",
            PricingError::Overflow => "pricing_overflow",
            PricingError::InvalidContainerMinutes { .. } => "invalid_container_minutes",
        }
    }
}

impl CapabilityError {
    /// The stable error code: `capability_` followed by
    /// [`CapabilityError::kind`].
    pub fn code(&self) -> &'static str {
        match self {
            CapabilityError::SamplingParameter { .. } => "capability_sampling_parameter",
            CapabilityError::SamplingTogether { .. } => "capability_sampling_together",
            CapabilityError::ManualThinking { .. } => "capability_manual_thinking",
            CapabilityError::ThinkingDisabled { .. } => "capability_thinking_disabled",
            CapabilityError::ForcedToolUse { .. } => "capability_forced_tool_use",
            CapabilityError::AssistantPrefill { .. } => "capability_assistant_prefill",
            CapabilityError::InferenceGeo { .. } => "capability_inference_geo",
        }
    }
}

impl ToolDefinitionError {
    /// The stable error code, one per [rule](ToolDefinitionError::rule):
    /// `invalid_tool_name`, `missing_tool_description`,
    /// `tool_schema_not_object`, `tool_schema_type_not_object`,
    /// `tool_schema_top_level_combinator`, `tool_schema_external_ref`,
    /// `invalid_tool_schema`, `duplicate_tool_name`.
    pub fn code(&self) -> &'static str {
        match self {
            ToolDefinitionError::InvalidName { .. } => "invalid_tool_name",
            ToolDefinitionError::MissingDescription { .. } => "missing_tool_description",
            ToolDefinitionError::SchemaNotObject { .. } => "tool_schema_not_object",
            ToolDefinitionError::SchemaTypeNotObject { .. } => "tool_schema_type_not_object",
            ToolDefinitionError::TopLevelCombinator { .. } => "tool_schema_top_level_combinator",
            ToolDefinitionError::ExternalRef { .. } => "tool_schema_external_ref",
            ToolDefinitionError::InvalidSchema { .. } => "invalid_tool_schema",
            ToolDefinitionError::DuplicateName { .. } => "duplicate_tool_name",
        }
    }
}

impl ToolInputError {
    /// The stable error code, one per [kind](ToolInputError::kind):
    /// `unknown_tool`, `invalid_tool_input` or `truncated_tool_input`.
    pub fn code(&self) -> &'static str {
        match self {
            ToolInputError::UnknownTool { .. } => "unknown_tool",
            ToolInputError::InvalidInput { .. } => "invalid_tool_input",
            ToolInputError::Truncated { .. } => "truncated_tool_input",
        }
    }
}

impl PartialJsonError {
    /// The stable error code: `partial_json_syntax`,
    /// `partial_json_incomplete`, `partial_json_too_deep` or
    /// `partial_json_non_finite`.
    pub fn code(&self) -> &'static str {
        match self {
            PartialJsonError::Syntax { .. } => "partial_json_syntax",
            PartialJsonError::Incomplete { .. } => "partial_json_incomplete",
            PartialJsonError::TooDeep { .. } => "partial_json_too_deep",
            PartialJsonError::NonFinite { .. } => "partial_json_non_finite",
        }
    }
}

impl Refusal {
    /// The stable error code: the refusal's serde `reason` tag
    /// ([`Refusal::reason`]): `pool_exhausted`, `agent_cap`, `rate_limited`,
    /// `fair_share` or `unknown_agent`.
    pub fn code(&self) -> &'static str {
        self.reason()
    }
}

impl PoolError {
    /// The stable error code: the error's serde `error` tag:
    /// `unknown_reservation`, `invalid_config`, `invalid_snapshot` or
    /// `unsupported_snapshot_version`.
    pub fn code(&self) -> &'static str {
        match self {
            PoolError::UnknownReservation { .. } => "unknown_reservation",
            PoolError::InvalidConfig { .. } => "invalid_config",
            PoolError::InvalidSnapshot { .. } => "invalid_snapshot",
            PoolError::UnsupportedSnapshotVersion { .. } => "unsupported_snapshot_version",
            PoolError::ClockJump { .. } => "clock_jump",
        }
    }
}

impl AgentError {
    /// The stable error code of the error inside.
    pub fn code(&self) -> &'static str {
        match self {
            AgentError::Tool(e) => e.code(),
            AgentError::Capability(e) => e.code(),
            AgentError::Pricing(e) => e.code(),
            AgentError::Request(e) => e.code(),
        }
    }
}

/// One exception (Python) or `Error` (JS) class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorClass {
    /// The class name.
    pub name: &'static str,
    /// The parent class, earlier in [`CLASSES`]; `None` for the root,
    /// `CreditpoolError` (which derives from the language's base: `Exception`,
    /// `Error`).
    pub parent: Option<&'static str>,
    /// The class's doc line.
    pub doc: &'static str,
    /// Whether the class is about the caller's own values: in Python it also
    /// derives from `ValueError` (as pydantic-core's errors do).
    pub value_error: bool,
}

const fn class(name: &'static str, parent: &'static str, doc: &'static str) -> ErrorClass {
    ErrorClass { name, parent: Some(parent), doc, value_error: false }
}

const fn value_class(name: &'static str, parent: &'static str, doc: &'static str) -> ErrorClass {
    ErrorClass { name, parent: Some(parent), doc, value_error: true }
}

/// The name of the root class.
pub const ROOT_CLASS: &str = "CreditpoolError";

/// Every class, parents before children; the first is the root.
pub const CLASSES: &[ErrorClass] = &[
    ErrorClass {
        name: ROOT_CLASS,
        parent: None,
        doc: "Base class of every error raised by creditpool. After a call with retries, `attempts` counts the attempts made and `give_up_reason` says why the last was not retried.",
        value_error: false,
    },
    class("APIError", "CreditpoolError", "The Messages API reported an error (an error status, or an `error` event mid-stream, when `status` is None and `partial` holds the message so far)."),
    class("BadRequestError", "APIError", "400 `invalid_request_error`: the request is malformed."),
    class("PoolSelectorRejectedError", "BadRequestError", "The API answered 400 `<field>: Extra inputs are not permitted` to the pool selector field (`field`): the endpoint does not know creditpool's selector. Switch the selector off or rename its field (the message names the argument)."),
    class("AuthenticationError", "APIError", "401 `authentication_error`: the API key is missing or wrong."),
    class("BillingError", "APIError", "402 `billing_error`: the account cannot pay."),
    class("PermissionDeniedError", "APIError", "403 `permission_error`: the key may not use this resource."),
    class("NotFoundError", "APIError", "404 `not_found_error`: no such resource (often a model name)."),
    class("ConflictError", "APIError", "409 `conflict_error`."),
    class("RequestTooLargeError", "APIError", "413 `request_too_large`: the body is over the API's size cap."),
    class("RateLimitError", "APIError", "429 `rate_limit_error`: the organization's API rate limit was hit."),
    class("InternalServerError", "APIError", "500 `api_error`: an internal error on the API's side."),
    class("ServerTimeoutError", "APIError", "504 `timeout_error`: the API timed out."),
    class("OverloadedError", "APIError", "529 `overloaded_error`: the API is overloaded."),
    class("APIConnectionError", "CreditpoolError", "The connection failed before a complete response arrived."),
    class("APITimeoutError", "APIConnectionError", "A timeout: `phase` is 'connect', 'read', 'idle' (a stream went quiet) or 'total' (the call's overall deadline, `total_timeout`, passed: never retried)."),
    class("ResponseParseError", "CreditpoolError", "A response could not be read: `reason` is 'malformed' or 'too_large'."),
    class("StreamError", "CreditpoolError", "A streamed response failed."),
    class("StreamIncompleteError", "StreamError", "The stream ended before `message_stop`; `partial` holds the message so far (or None)."),
    class("StreamProtocolError", "StreamError", "The stream broke the API's grammar: `reason` is 'malformed' or 'protocol'."),
    class("StreamEventTooLargeError", "StreamError", "One server-sent event grew past the size cap."),
    class("StreamTooLargeError", "StreamError", "A whole stream grew past its size cap."),
    value_class("RequestBuildError", "CreditpoolError", "A request that cannot be built: `kind` is 'missing_api_key', 'invalid_api_key', 'invalid_header', 'invalid_beta', 'invalid_request' or 'selector_collision'."),
    class("UnknownParameterError", "RequestBuildError", "A request parameter the Messages API does not have (often a misspelling), refused before anything is sent: `parameter` is the name as written, `suggestion` the closest known one (or None). A field newer than this library goes in `extra_body`."),
    value_class("InvalidOptionsError", "CreditpoolError", "Options that do not have the expected shape (unknown fields are refused)."),
    class("UnknownThreadError", "CreditpoolError", "A message-thread continue request whose thread the middleware does not know (never seen, or expired: `expired`), refused before anything is sent because the middleware was asked to (`unknown_thread=\"refuse\"`): its input, the whole stored thread, cannot be bounded tighter than the model's context window. `previous_message_id` names the message it continues."),
    class("SdkUnsupportedError", "CreditpoolError", "The installed official SDK has no middleware hook, or is older than creditpool's middleware supports: `minimum` names the lowest version that works (see `meter::MIN_PYTHON_SDK`, `meter::MIN_TS_SDK`)."),
    value_class("ToolDefinitionError", "CreditpoolError", "A tool definition the API would refuse: `rule` names the rule, `details` is the core's JSON form."),
    value_class("ToolInputInvalidError", "CreditpoolError", "A tool_use input that must not run: `kind` is 'unknown_tool', 'invalid_input' or 'truncated'; `tool_result` is the is_error block for the model (when the call's id is known)."),
    class("PricingError", "CreditpoolError", "A price could not be determined: `kind` is the core's stable kind name."),
    class("UnknownModelError", "PricingError", "The price table does not know the model and no override prices it."),
    class("UnpricedModelError", "PricingError", "The model is known but has no published price in the table."),
    value_class("InvalidPriceError", "PricingError", "A price string is not an exact decimal amount."),
    value_class("CapabilityError", "CreditpoolError", "A request parameter the model would answer 400 to, refused before anything is spent."),
    value_class("PartialJsonError", "CreditpoolError", "Text that is not a prefix of JSON: `kind` is 'syntax', 'incomplete', 'too_deep' or 'non_finite'."),
    class("PoolRefusedError", "CreditpoolError", "The pool refused a reservation: `reason` is 'pool_exhausted', 'agent_cap', 'rate_limited', 'fair_share' or 'unknown_agent', `details` the core's JSON form of the refusal. Only a rate limit lifts with time: then `retry_at_ms` (Unix ms) and `retry_at` (Unix seconds) say when."),
    class("PoolExhaustedError", "PoolRefusedError", "The pool cannot cover the amount: settled plus reserved plus the request would exceed the limit."),
    class("AgentCapError", "PoolRefusedError", "The agent's cap for the cycle would be exceeded."),
    class("PoolRateLimitedError", "PoolRefusedError", "The agent's rate limit says not yet (`which` is 'credits' or 'requests'): the same request is admitted at `retry_at`."),
    class("FairShareError", "PoolRefusedError", "The pool is nearly spent and the request would take the agent beyond its fair share of what remains."),
    class("UnknownAgentError", "PoolRefusedError", "The agent is not named by a pool that names its agents (or does not allow unknown agents): `known` lists the named agents, `suggestion` the closest to `agent`."),
    class("PoolError", "CreditpoolError", "A misuse of the pool, or a configuration or snapshot it cannot accept."),
    class("UnknownReservationError", "PoolError", "No reservation with this `id` was ever made by this pool."),
    class("PoolStoreError", "PoolError", "The pool store could not be reached or failed (a file, Redis): the operation's outcome is unknown; operations are idempotent, so it may be retried."),
    class("WebhookError", "CreditpoolError", "An alert's webhook could not be delivered after every retry."),
    value_class("PoolConfigError", "PoolError", "The pool's configuration (or an agent's policy) is invalid: `reason` names the field."),
    class("ClockJumpError", "PoolError", "A time (`now_ms`) further beyond the latest the pool saw (`last_now_ms`) than its `max_clock_jump_ms` allows: a clock fault, or a pool idle that long. Nothing changed; if the time is right, accept it with the pool's `advance_clock` and retry."),
    class("RedisConfigConflictError", "PoolError", "A process joined a Redis pool with a configuration that differs from the one stored with the pool (`stored`, `given`: JSON). Join without a configuration to take the pool's own, bring the same one, or ask for an explicit update."),
    value_class("PoolSnapshotError", "PoolError", "A snapshot is malformed or inconsistent, or has a `version` this library does not read."),
    class("AgentRunError", "CreditpoolError", "An agent run ended without an answer: `status` is the outcome's status ('max_turns', 'budget_exhausted', 'failed' without an API error, 'invalid', 'cancelled')."),
    class("MaxTurnsError", "AgentRunError", "The run made `max_turns` model calls without the model finishing."),
    class("BudgetExhaustedError", "AgentRunError", "The run's own budget (`max_spend`) cannot cover the next request's worst case."),
    class("InternalError", "CreditpoolError", "A bug in creditpool (a Rust panic, caught at the boundary). Please report it."),
];

/// Every error code and the name of its class in [`CLASSES`]: the one table
/// the bindings raise by. `docs/errors.md` says what each code means.
pub const CODES: &[(&str, &str)] = &[
    // Errors the API reported (`ApiErrorKind`).
    ("invalid_request_error", "BadRequestError"),
    ("authentication_error", "AuthenticationError"),
    ("billing_error", "BillingError"),
    ("permission_error", "PermissionDeniedError"),
    ("not_found_error", "NotFoundError"),
    ("conflict_error", "ConflictError"),
    ("request_too_large", "RequestTooLargeError"),
    ("rate_limit_error", "RateLimitError"),
    ("api_error", "InternalServerError"),
    ("timeout_error", "ServerTimeoutError"),
    ("overloaded_error", "OverloadedError"),
    ("api_error_unknown", "APIError"),
    // The transport (`Failure`).
    ("connection_error", "APIConnectionError"),
    ("connect_timeout", "APITimeoutError"),
    ("read_timeout", "APITimeoutError"),
    ("idle_timeout", "APITimeoutError"),
    ("total_timeout", "APITimeoutError"),
    // Reading a response (`ParseError`).
    ("malformed_response", "ResponseParseError"),
    ("response_too_large", "ResponseParseError"),
    // Streams (`StreamError`, `SseError`).
    ("stream_incomplete", "StreamIncompleteError"),
    ("stream_malformed", "StreamProtocolError"),
    ("stream_protocol", "StreamProtocolError"),
    ("stream_event_too_large", "StreamEventTooLargeError"),
    ("stream_too_large", "StreamTooLargeError"),
    // A binding's: a stream read after it was finished.
    ("stream_finished", "StreamError"),
    // Building a request (`RequestError`).
    ("missing_api_key", "RequestBuildError"),
    ("invalid_api_key", "RequestBuildError"),
    ("invalid_base_url", "InvalidOptionsError"),
    ("invalid_header", "RequestBuildError"),
    ("invalid_beta", "RequestBuildError"),
    ("invalid_request", "RequestBuildError"),
    ("selector_collision", "RequestBuildError"),
    ("unknown_parameter", "UnknownParameterError"),
    // The API does not know the pool selector (`SelectorRejected`).
    ("pool_selector_rejected", "PoolSelectorRejectedError"),
    // Options a binding was given.
    ("invalid_options", "InvalidOptionsError"),
    // A binding's: the official SDK it was handed is too old for its middleware.
    ("sdk_unsupported", "SdkUnsupportedError"),
    // A thread continue request the middleware does not know and was asked
    // to refuse (`meter::MeterError::UnknownThread`).
    ("unknown_thread", "UnknownThreadError"),
    // Tool definitions (`ToolDefinitionError`).
    ("invalid_tool_name", "ToolDefinitionError"),
    ("missing_tool_description", "ToolDefinitionError"),
    ("tool_schema_not_object", "ToolDefinitionError"),
    ("tool_schema_type_not_object", "ToolDefinitionError"),
    ("tool_schema_top_level_combinator", "ToolDefinitionError"),
    ("tool_schema_external_ref", "ToolDefinitionError"),
    ("invalid_tool_schema", "ToolDefinitionError"),
    ("duplicate_tool_name", "ToolDefinitionError"),
    // Tool inputs (`ToolInputError`).
    ("unknown_tool", "ToolInputInvalidError"),
    ("invalid_tool_input", "ToolInputInvalidError"),
    ("truncated_tool_input", "ToolInputInvalidError"),
    // Pricing (`PricingError`).
    ("unknown_model", "UnknownModelError"),
    ("unpriced_model", "UnpricedModelError"),
    ("invalid_price", "InvalidPriceError"),
    ("invalid_price_table", "PricingError"),
    ("unsupported_usage", "PricingError"),
    ("pricing_overflow", "PricingError"),
    // A `container_minutes` pricing option out of range (code execution).
    ("invalid_container_minutes", "InvalidOptionsError"),
    // Capabilities (`CapabilityError`).
    ("capability_sampling_parameter", "CapabilityError"),
    ("capability_sampling_together", "CapabilityError"),
    ("capability_manual_thinking", "CapabilityError"),
    ("capability_thinking_disabled", "CapabilityError"),
    ("capability_forced_tool_use", "CapabilityError"),
    ("capability_assistant_prefill", "CapabilityError"),
    ("capability_inference_geo", "CapabilityError"),
    // Partial JSON (`PartialJsonError`).
    ("partial_json_syntax", "PartialJsonError"),
    ("partial_json_incomplete", "PartialJsonError"),
    ("partial_json_too_deep", "PartialJsonError"),
    ("partial_json_non_finite", "PartialJsonError"),
    // Pool refusals (`Refusal`).
    ("pool_exhausted", "PoolExhaustedError"),
    ("agent_cap", "AgentCapError"),
    ("rate_limited", "PoolRateLimitedError"),
    ("fair_share", "FairShareError"),
    ("unknown_agent", "UnknownAgentError"),
    // Pool misuse (`PoolError`).
    ("unknown_reservation", "UnknownReservationError"),
    ("pool_store", "PoolStoreError"),
    ("file_io", "PoolStoreError"),
    ("webhook_delivery", "WebhookError"),
    ("invalid_config", "PoolConfigError"),
    ("invalid_snapshot", "PoolSnapshotError"),
    ("unsupported_snapshot_version", "PoolSnapshotError"),
    ("clock_jump", "ClockJumpError"),
    // A pool in Redis (`redis::RedisError`; `redis_reply` and
    // `redis_pool_missing` are the store failing or missing).
    ("redis_config_conflict", "RedisConfigConflictError"),
    ("fair_share_unsupported_on_redis", "PoolConfigError"),
    ("redis_out_of_range", "PoolConfigError"),
    ("redis_invalid_pool_name", "PoolConfigError"),
    ("redis_unsupported", "PoolConfigError"),
    ("redis_invalid_stream_id", "InvalidOptionsError"),
    ("redis_pool_missing", "PoolStoreError"),
    ("redis_reply", "PoolStoreError"),
    // Agent runs that ended without an answer (`RunStatus::code`; a failed
    // or invalid run gives the code of its error).
    ("max_turns", "MaxTurnsError"),
    ("budget_exhausted", "BudgetExhaustedError"),
    // A bug (a panic caught at a binding's boundary).
    ("internal_error", "InternalError"),
];

/// The class name for an error code, from [`CODES`]. A code not in the table
/// (from a newer version, or an API error type this version does not know)
/// gets the nearest base that fits it: `StreamError` for `stream_*`,
/// `CapabilityError` for `capability_*`, `PartialJsonError` for
/// `partial_json_*`, `PricingError` for `pricing_*`, `PoolError` for
/// `pool_*`, `InternalError` for `internal*`, `APITimeoutError` for
/// `*_timeout`, `APIError` for other
/// `*_error` codes (the API's error types end so), else `CreditpoolError`.
/// Never panics.
pub fn class_for_code(code: &str) -> &'static str {
    if let Some((_, class)) = CODES.iter().find(|(c, _)| *c == code) {
        return class;
    }
    const PREFIXES: &[(&str, &str)] = &[
        ("stream_", "StreamError"),
        ("capability_", "CapabilityError"),
        ("partial_json_", "PartialJsonError"),
        ("pricing_", "PricingError"),
        ("pool_", "PoolError"),
        ("internal", "InternalError"),
    ];
    if let Some((_, class)) = PREFIXES.iter().find(|(p, _)| code.starts_with(p)) {
        return class;
    }
    if code.ends_with("_timeout") {
        "APITimeoutError"
    } else if code.ends_with("_error") {
        "APIError"
    } else {
        ROOT_CLASS
    }
}

/// The class named `name` in [`CLASSES`].
pub fn find_class(name: &str) -> Option<&'static ErrorClass> {
    CLASSES.iter().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::RunStatus;
    use crate::money::Money;
    use crate::pool::{Name, RateLimitKind};
    use std::collections::BTreeSet;

    /// Whether `name` is `base` or one of its descendants.
    fn is_a(name: &str, base: &str) -> bool {
        let mut cur = Some(name);
        while let Some(n) = cur {
            if n == base {
                return true;
            }
            cur = find_class(n).and_then(|c| c.parent);
        }
        false
    }

    fn is_snake_case(s: &str) -> bool {
        !s.is_empty()
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && s.as_bytes()[0].is_ascii_lowercase()
            && !s.ends_with('_')
            && !s.contains("__")
    }

    fn api(kind: ApiErrorKind, status: Option<u16>) -> ApiError {
        ApiError { kind, message: "m".into(), status, request_id: None }
    }

    fn name(s: &str) -> Name {
        Name::new(s)
    }

    /// One value of every variant of every error enum (so that a code a
    /// variant returns is checked against the table).
    fn samples() -> Vec<(&'static str, &'static str)> {
        let m = Money::from_nanos;
        let mut out: Vec<(&'static str, &'static str)> = Vec::new();
        for t in [
            "invalid_request_error",
            "authentication_error",
            "billing_error",
            "permission_error",
            "not_found_error",
            "conflict_error",
            "request_too_large",
            "rate_limit_error",
            "api_error",
            "timeout_error",
            "overloaded_error",
            "brand_new_error",
        ] {
            let kind = ApiErrorKind::from_type(t);
            out.push((t, kind.code()));
        }
        let parse = [
            ParseError::Malformed { what: "message", detail: "x".into() },
            ParseError::TooLarge { what: "message", size: 2, limit: 1 },
        ];
        for p in &parse {
            out.push(("parse", p.code()));
            out.push(("response", ResponseError::Parse(p.clone()).code()));
            out.push(("attempt", AttemptError::Parse(p.clone()).code()));
        }
        let sse = [SseError::EventTooLarge { size: 2, limit: 1 }, SseError::Truncated { discarded_bytes: 1 }];
        let mut streams = vec![
            StreamError::Api { error: api(ApiErrorKind::Overloaded, None), partial: None },
            StreamError::Incomplete { partial: None, reason: "r".into() },
            StreamError::Malformed { detail: "d".into() },
            StreamError::Protocol { detail: "d".into() },
            StreamError::TooLarge { limit: 1, partial: None },
        ];
        streams.extend(sse.iter().cloned().map(StreamError::Decode));
        for s in &streams {
            out.push(("stream", s.code()));
            out.push(("attempt", AttemptError::Stream(s.clone()).code()));
        }
        let failures = [
            Failure::Http { status: 418, error: None },
            Failure::Http { status: 529, error: Some(api(ApiErrorKind::Overloaded, Some(529))) },
            Failure::Connection,
            Failure::Timeout { phase: TimeoutPhase::Connect },
            Failure::Timeout { phase: TimeoutPhase::Read },
            Failure::Timeout { phase: TimeoutPhase::Idle },
            Failure::Timeout { phase: TimeoutPhase::Total },
            Failure::StreamError { error: api(ApiErrorKind::Api, None) },
            Failure::StreamTruncated,
        ];
        for f in &failures {
            out.push(("failure", f.code()));
            out.push(("attempt", AttemptError::Transport(f.clone()).code()));
        }
        let rejected = crate::request::SelectorRejected { field: "credit_pool".into(), api: api(ApiErrorKind::InvalidRequest, Some(400)) };
        out.push(("attempt", AttemptError::SelectorRejected(rejected).code()));
        let requests = [
            RequestError::MissingApiKey,
            RequestError::InvalidApiKey,
            RequestError::InvalidHeader { name: "h".into(), part: "value" },
            RequestError::InvalidBeta { beta: "a,b".into() },
            RequestError::InvalidBaseUrl { url: "x".into(), from_env: false },
            RequestError::InvalidRequest { reason: "r".into() },
            RequestError::SelectorCollision { field: "model".into() },
            RequestError::UnknownParameter { name: "temprature".into(), suggestion: Some("temperature".into()) },
        ];
        out.push(("meter", crate::meter::MeterError::UnknownThread { previous_message_id: "msg_1".into(), expired: false }.code()));
        let pricing = [
            PricingError::UnknownModel { model: "m".into(), suggestion: None },
            PricingError::Unpriced { model: "m".into(), note: "n".into() },
            PricingError::InvalidPrice { value: "v".into(), reason: "r".into() },
            PricingError::InvalidTable { reason: "r".into() },
            PricingError::UnsupportedUsage { model: "m".into(), feature: "f".into() },
            PricingError::Overflow,
            PricingError::InvalidContainerMinutes { minutes: 4, minimum: 5, maximum: 43_200 },
        ];
        let reason = || "r".to_owned();
        let model = || "m".to_owned();
        let capability = [
            CapabilityError::SamplingParameter { model: model(), parameter: "top_k".into(), value: "1".into(), reason: reason() },
            CapabilityError::SamplingTogether { model: model(), reason: reason() },
            CapabilityError::ManualThinking { model: model(), reason: reason() },
            CapabilityError::ThinkingDisabled { model: model(), reason: reason() },
            CapabilityError::ForcedToolUse { model: model(), tool_choice: "any".into(), reason: reason() },
            CapabilityError::AssistantPrefill { model: model(), reason: reason() },
            CapabilityError::InferenceGeo { model: model(), reason: reason() },
        ];
        let tool = || "t".to_owned();
        let tools = [
            ToolDefinitionError::InvalidName { tool: tool(), reason: reason() },
            ToolDefinitionError::MissingDescription { tool: tool() },
            ToolDefinitionError::SchemaNotObject { tool: tool(), found: "an array" },
            ToolDefinitionError::SchemaTypeNotObject { tool: tool(), found: None },
            ToolDefinitionError::TopLevelCombinator { tool: tool(), keyword: "oneOf".into() },
            ToolDefinitionError::ExternalRef { tool: tool(), reference: "http://x".into(), location: String::new() },
            ToolDefinitionError::InvalidSchema { tool: tool(), location: String::new(), detail: "d".into() },
            ToolDefinitionError::DuplicateName { tool: tool() },
        ];
        for e in &requests {
            out.push(("request", e.code()));
            out.push(("agent", AgentError::Request(e.clone()).code()));
        }
        for e in &pricing {
            out.push(("pricing", e.code()));
            out.push(("agent", AgentError::Pricing(e.clone()).code()));
        }
        for e in &capability {
            out.push(("capability", e.code()));
            out.push(("agent", AgentError::Capability(e.clone()).code()));
        }
        for e in &tools {
            out.push(("tool", e.code()));
            out.push(("agent", AgentError::Tool(e.clone()).code()));
        }
        for e in [
            ToolInputError::UnknownTool { name: tool(), known: vec![] },
            ToolInputError::InvalidInput { tool: tool(), errors: vec![], omitted: 0 },
            ToolInputError::Truncated { tool: tool() },
        ] {
            out.push(("tool_input", e.code()));
        }
        for e in [
            PartialJsonError::Syntax { offset: 0, reason: "r" },
            PartialJsonError::Incomplete { what: "string" },
            PartialJsonError::TooDeep { offset: 0, limit: 1 },
            PartialJsonError::NonFinite { offset: 0 },
        ] {
            out.push(("partial_json", e.code()));
        }
        for r in refusals() {
            out.push(("refusal", r.code()));
        }
        for e in pool_errors() {
            out.push(("pool", e.code()));
        }
        for e in [
            crate::redis::RedisError::ConfigConflict { stored: "{}".into(), given: "{}".into() },
            crate::redis::RedisError::FairShareUnsupported,
            crate::redis::RedisError::OutOfRange { field: "limit".into(), value: 1 << 60 },
            crate::redis::RedisError::InvalidPoolName { name: "a{b".into(), reason: "r".into() },
            crate::redis::RedisError::Unsupported { op: "x".into() },
            crate::redis::RedisError::InvalidStreamId { id: "x".into() },
            crate::redis::RedisError::PoolMissing,
            crate::redis::RedisError::Reply { reason: "r".into() },
        ] {
            out.push(("redis", e.code()));
        }
        let statuses = [
            RunStatus::MaxTurns { max_turns: 3 },
            RunStatus::BudgetExhausted { needed: m(2), remaining: m(1) },
            RunStatus::PoolRefused { refusal: refusals().remove(0) },
        ];
        for s in &statuses {
            let code = s.code().expect("an error status");
            let code = CODES.iter().map(|(c, _)| *c).find(|c| *c == code).unwrap_or("not in CODES");
            out.push(("run", code));
        }
        out
    }

    fn refusals() -> Vec<Refusal> {
        let m = Money::from_nanos;
        vec![
            Refusal::PoolExhausted { requested: m(5), available: m(1) },
            Refusal::AgentCap { agent: name("a"), cap: m(1), spent: m(1), reserved: m(0), requested: m(1) },
            Refusal::RateLimited { agent: name("a"), which: RateLimitKind::Requests, retry_at_ms: 10 },
            Refusal::FairShare { agent: name("a"), share: m(1), held: m(1), requested: m(1), active_agents: 2 },
            Refusal::UnknownAgent { agent: name("a"), known: vec![name("b")], suggestion: Some(name("b")) },
        ]
    }

    fn pool_errors() -> Vec<PoolError> {
        vec![
            PoolError::UnknownReservation { id: 7 },
            PoolError::InvalidConfig { reason: "r".into() },
            PoolError::InvalidSnapshot { reason: "r".into() },
            PoolError::UnsupportedSnapshotVersion { version: 99 },
            PoolError::ClockJump { now_ms: 9, last_now_ms: 1, max_clock_jump_ms: 2 },
        ]
    }

    #[test]
    fn classes_form_a_tree_with_parents_first() {
        assert_eq!(CLASSES[0].name, ROOT_CLASS);
        assert_eq!(CLASSES[0].parent, None);
        let mut seen = BTreeSet::new();
        for c in CLASSES {
            assert!(seen.insert(c.name), "class {} listed twice", c.name);
            assert!(!c.doc.is_empty(), "class {} has no doc", c.name);
            match c.parent {
                None => assert_eq!(c.name, ROOT_CLASS, "only the root has no parent"),
                Some(p) => assert!(seen.contains(p), "parent {p} of {} is not listed before it", c.name),
            }
            assert!(is_a(c.name, ROOT_CLASS));
        }
    }

    #[test]
    fn every_code_maps_to_a_class() {
        for (code, class) in CODES {
            assert!(find_class(class).is_some(), "code {code} maps to unknown class {class}");
            assert_eq!(class_for_code(code), *class);
        }
    }

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = BTreeSet::new();
        for (code, _) in CODES {
            assert!(is_snake_case(code), "code {code:?} is not snake_case");
            assert!(seen.insert(*code), "code {code} listed twice");
        }
    }

    #[test]
    fn every_variant_has_a_code_in_the_table() {
        let known: BTreeSet<&str> = CODES.iter().map(|(c, _)| *c).collect();
        let produced: BTreeSet<&str> = samples().into_iter().map(|(_, c)| c).collect();
        for (what, code) in samples() {
            assert!(known.contains(code), "{what} gives code {code}, which is not in CODES");
        }
        // Every code but the bindings' own is produced by some core error.
        for code in &known {
            if !["invalid_options", "internal_error", "pool_store", "file_io", "webhook_delivery", "stream_finished", "sdk_unsupported"].contains(code) {
                assert!(produced.contains(code), "no core error gives code {code}");
            }
        }
    }

    #[test]
    fn every_python_exception_class_is_listed() {
        // `InvalidOptionsError` and `InternalError` are raised by the
        // bindings; every other class is reached by some code.
        let reached: BTreeSet<&str> = CODES.iter().map(|(_, c)| *c).collect();
        for c in CLASSES {
            let is_base = CLASSES.iter().any(|d| d.parent == Some(c.name));
            assert!(is_base || reached.contains(c.name), "leaf class {} has no code", c.name);
        }
    }

    #[test]
    fn api_errors() {
        let overloaded = api(ApiErrorKind::from_status(529), Some(529));
        assert_eq!(overloaded.code(), "overloaded_error");
        assert_eq!(class_for_code(overloaded.code()), "OverloadedError");
        assert!(is_a("OverloadedError", "APIError"));
        assert_eq!(ResponseError::Api(overloaded.clone()).code(), "overloaded_error");
        let bad = api(ApiErrorKind::InvalidRequest, Some(400));
        assert_eq!(class_for_code(bad.code()), "BadRequestError");
        assert_eq!(class_for_code(ApiErrorKind::Api.code()), "InternalServerError");
        // An API error type this version does not know: the APIError base.
        let new = ApiErrorKind::from_type("quota_melted_error");
        assert_eq!(new.code(), "api_error_unknown");
        assert_eq!(class_for_code(new.code()), "APIError");
        // A known type kept as `Other` by hand still gives its own code.
        assert_eq!(ApiErrorKind::Other("rate_limit_error".into()).code(), "rate_limit_error");
        // Every known kind's code is its `error.type`.
        for (code, _) in &CODES[..11] {
            assert_eq!(ApiErrorKind::from_type(code).code(), *code);
            assert_eq!(ApiErrorKind::from_type(code).as_str(), *code);
        }
    }

    #[test]
    fn transport_failures() {
        assert_eq!(Failure::Connection.code(), "connection_error");
        assert_eq!(class_for_code(Failure::Connection.code()), "APIConnectionError");
        let idle = Failure::Timeout { phase: TimeoutPhase::Idle };
        assert_eq!(idle.code(), "idle_timeout");
        assert_eq!(class_for_code(idle.code()), "APITimeoutError");
        assert!(is_a("APITimeoutError", "APIConnectionError"));
        assert_eq!(class_for_code(Failure::Timeout { phase: TimeoutPhase::Connect }.code()), "APITimeoutError");
        // An HTTP failure: its error's code, or its status's.
        assert_eq!(Failure::Http { status: 429, error: None }.code(), "rate_limit_error");
        assert_eq!(Failure::Http { status: 500, error: Some(api(ApiErrorKind::Overloaded, Some(500))) }.code(), "overloaded_error");
        assert_eq!(Failure::from_api_error(api(ApiErrorKind::Overloaded, None)).code(), "overloaded_error");
        // A cut stream is the same fault however it is seen.
        assert_eq!(Failure::StreamTruncated.code(), "stream_incomplete");
        assert_eq!(StreamError::Incomplete { partial: None, reason: "r".into() }.code(), "stream_incomplete");
        assert_eq!(SseError::Truncated { discarded_bytes: 3 }.code(), "stream_incomplete");
    }

    #[test]
    fn streams_and_calls() {
        let mid = StreamError::Api { error: api(ApiErrorKind::Overloaded, None), partial: None };
        assert_eq!(mid.code(), "overloaded_error");
        let big = StreamError::Decode(SseError::EventTooLarge { size: 10, limit: 5 });
        assert_eq!(class_for_code(big.code()), "StreamEventTooLargeError");
        assert_eq!(class_for_code(StreamError::Malformed { detail: "d".into() }.code()), "StreamProtocolError");
        assert_eq!(class_for_code(StreamError::Protocol { detail: "d".into() }.code()), "StreamProtocolError");
        let call = CallError {
            connection: None,
            error: AttemptError::Transport(Failure::Timeout { phase: TimeoutPhase::Read }),
            reason: GiveUpReason::AttemptsExhausted { attempts: 3 },
            attempts: 3,
            partial: None,
        };
        assert_eq!(call.code(), "read_timeout");
        assert_eq!(class_for_code(call.code()), "APITimeoutError");
        let call = CallError { error: AttemptError::Api(api(ApiErrorKind::Authentication, Some(401))), connection: None, reason: GiveUpReason::NotRetryable { status: 401 }, attempts: 1, partial: None };
        assert_eq!(class_for_code(call.code()), "AuthenticationError");
    }

    #[test]
    fn pool_codes_are_the_serde_tags() {
        for r in refusals() {
            let json = serde_json::to_value(&r).expect("serializes");
            assert_eq!(json["reason"], r.code());
            assert_eq!(r.reason(), r.code());
            assert!(is_a(class_for_code(r.code()), "PoolRefusedError"));
        }
        let exhausted = &refusals()[0];
        assert_eq!(exhausted.code(), "pool_exhausted");
        assert_eq!(class_for_code(exhausted.code()), "PoolExhaustedError");
        for e in pool_errors() {
            let json = serde_json::to_value(&e).expect("serializes");
            assert_eq!(json["error"], e.code());
            assert!(is_a(class_for_code(e.code()), "PoolError"));
        }
    }

    #[test]
    fn give_up_reason_codes_are_the_serde_tags_and_not_error_codes() {
        let kind = || ApiErrorKind::InvalidRequest;
        for r in [
            GiveUpReason::NotRetryable { status: 400 },
            GiveUpReason::NotRetryableStreamError { error_type: kind() },
            GiveUpReason::ShouldRetryHeaderFalse,
            GiveUpReason::AttemptsExhausted { attempts: 3 },
            GiveUpReason::RetryAfterTooLong { retry_after_ms: 2, cap_ms: 1 },
        ] {
            let json = serde_json::to_value(&r).expect("serializes");
            assert_eq!(json["type"], r.code());
            assert!(!CODES.iter().any(|(c, _)| *c == r.code()));
        }
    }

    #[test]
    fn request_tool_pricing_and_agent_codes() {
        assert_eq!(RequestError::MissingApiKey.code(), "missing_api_key");
        assert_eq!(class_for_code(RequestError::SelectorCollision { field: "model".into() }.code()), "RequestBuildError");
        let unknown = PricingError::UnknownModel { model: "m".into(), suggestion: None };
        assert_eq!(class_for_code(unknown.code()), "UnknownModelError");
        assert_eq!(class_for_code(AgentError::Pricing(unknown).code()), "UnknownModelError");
        assert_eq!(class_for_code(PricingError::Overflow.code()), "PricingError");
        let cap = CapabilityError::InferenceGeo { model: "m".into(), reason: "r".into() };
        assert_eq!(cap.code(), format!("capability_{}", cap.kind()));
        let truncated = ToolInputError::Truncated { tool: "t".into() };
        assert_eq!(class_for_code(truncated.code()), "ToolInputInvalidError");
        assert_eq!(class_for_code(ToolDefinitionError::DuplicateName { tool: "t".into() }.code()), "ToolDefinitionError");
        assert_eq!(class_for_code(PartialJsonError::TooDeep { offset: 1, limit: 1 }.code()), "PartialJsonError");
        assert_eq!(RunStatus::Completed.code(), None);
        assert_eq!(class_for_code(RunStatus::MaxTurns { max_turns: 2 }.code().unwrap_or_default()), "MaxTurnsError");
        assert_eq!(class_for_code(RunStatus::BudgetExhausted { needed: Money::from_nanos(2), remaining: Money::ZERO }.code().unwrap_or_default()), "BudgetExhaustedError");
        let refused = RunStatus::PoolRefused { refusal: refusals().remove(2) };
        assert_eq!(class_for_code(refused.code().unwrap_or_default()), "PoolRateLimitedError");
    }

    #[test]
    fn value_error_classes_match_python() {
        let value: BTreeSet<&str> = CLASSES.iter().filter(|c| c.value_error).map(|c| c.name).collect();
        let expected = [
            "RequestBuildError",
            "InvalidOptionsError",
            "ToolDefinitionError",
            "ToolInputInvalidError",
            "InvalidPriceError",
            "CapabilityError",
            "PartialJsonError",
            "PoolConfigError",
            "PoolSnapshotError",
        ];
        assert_eq!(value, expected.into_iter().collect());
    }

    #[test]
    fn unknown_codes_fall_back_to_a_base() {
        assert_eq!(class_for_code(""), ROOT_CLASS);
        assert_eq!(class_for_code("something_new"), ROOT_CLASS);
        assert_eq!(class_for_code("quota_melted_error"), "APIError");
        assert_eq!(class_for_code("stream_gremlins"), "StreamError");
        assert_eq!(class_for_code("capability_new_thing"), "CapabilityError");
        assert_eq!(class_for_code("write_timeout"), "APITimeoutError");
        assert_eq!(class_for_code("partial_json_huh"), "PartialJsonError");
        assert_eq!(class_for_code("pool_error"), "PoolError");
        assert_eq!(class_for_code("internal"), "InternalError");
        assert_eq!(class_for_code("\u{0}\u{ffff}"), ROOT_CLASS);
    }
}
