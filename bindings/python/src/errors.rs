//! The exception hierarchy and the mapping from every core error enum to it.
//!
//! One base class, `CreditpoolError`, and a subclass per kind. Errors about the
//! caller's own values (a bad tool definition, options, a request that cannot
//! be built) also derive from `ValueError`, as pydantic-core's do. The classes
//! are created when the module loads (several have two bases, which
//! `create_exception!` cannot express) and carry their structured fields as
//! attributes; every attribute also exists on the class with the default
//! `None`, so reading one never fails.
//!
//! Each `*_error` function maps one core enum with a `match` that names every
//! variant the core has today; the core's enums are `#[non_exhaustive]`, so a
//! variant added later falls to the base class of that domain until it is
//! named here.

use crate::convert::ser_to_py;
use creditpool_core::agent::{AgentError, RunStatus};
use creditpool_core::error::{ApiError, ApiErrorKind, ParseError};
use creditpool_core::pool::{PoolError, RateLimitKind, Refusal};
use creditpool_core::partial_json::PartialJsonError;
use creditpool_core::pricing::{CapabilityError, PricingError};
use creditpool_core::request::RequestError;
use creditpool_core::response::ResponseError;
use creditpool_core::sse::decoder::SseError;
use creditpool_core::sse::StreamError;
use creditpool_core::tools::{ToolDefinitionError, ToolInputError};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::BoundObject;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

macro_rules! exceptions {
    ($( $name:ident ( $($base:ident),+ ) [$($attr:literal),*] $doc:literal; )*) => {
        /// Every exception class of the module.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[allow(clippy::upper_case_acronyms, clippy::enum_variant_names)]
        pub enum Exc { $( #[doc = $doc] $name, )* }

        impl Exc {
            /// Every class, bases before subclasses.
            pub const ALL: &'static [Exc] = &[$(Exc::$name),*];

            /// The class name.
            pub fn name(self) -> &'static str {
                match self { $( Exc::$name => stringify!($name), )* }
            }

            fn bases(self) -> &'static [&'static str] {
                match self { $( Exc::$name => &[$(stringify!($base)),+], )* }
            }

            fn attrs(self) -> &'static [&'static str] {
                match self { $( Exc::$name => &[$($attr),*], )* }
            }

            fn doc(self) -> &'static str {
                match self { $( Exc::$name => $doc, )* }
            }
        }
    };
}

exceptions! {
    CreditpoolError(Exception) ["attempts", "give_up_reason"] "Base class of every error raised by creditpool. After a call with retries, `attempts` counts the attempts made and `give_up_reason` says why the last was not retried.";
    APIError(CreditpoolError) ["error_type", "status", "request_id", "message", "partial"] "The Messages API reported an error (an error status, or an `error` event mid-stream, when `status` is None and `partial` holds the message so far).";
    BadRequestError(APIError) [] "400 `invalid_request_error`: the request is malformed.";
    AuthenticationError(APIError) [] "401 `authentication_error`: the API key is missing or wrong.";
    BillingError(APIError) [] "402 `billing_error`: the account cannot pay.";
    PermissionDeniedError(APIError) [] "403 `permission_error`: the key may not use this resource.";
    NotFoundError(APIError) [] "404 `not_found_error`: no such resource (often a model name).";
    ConflictError(APIError) [] "409 `conflict_error`.";
    RequestTooLargeError(APIError) [] "413 `request_too_large`: the body is over the API's size cap.";
    RateLimitError(APIError) [] "429 `rate_limit_error`: the organization's API rate limit was hit.";
    InternalServerError(APIError) [] "500 `api_error`: an internal error on the API's side.";
    ServerTimeoutError(APIError) [] "504 `timeout_error`: the API timed out.";
    OverloadedError(APIError) [] "529 `overloaded_error`: the API is overloaded.";
    APIConnectionError(CreditpoolError) [] "The connection failed before a complete response arrived.";
    APITimeoutError(APIConnectionError) ["phase"] "A timeout: `phase` is 'connect', 'read' or 'idle' (a stream went quiet).";
    ResponseParseError(CreditpoolError) ["reason"] "A response could not be read: `reason` is 'malformed' or 'too_large'.";
    StreamError(CreditpoolError) ["partial"] "A streamed response failed.";
    StreamIncompleteError(StreamError) ["reason"] "The stream ended before `message_stop`; `partial` holds the message so far (or None).";
    StreamProtocolError(StreamError) ["reason"] "The stream broke the API's grammar: `reason` is 'malformed' or 'protocol'.";
    StreamEventTooLargeError(StreamError) ["size", "limit"] "One server-sent event grew past the size cap.";
    RequestBuildError(CreditpoolError, ValueError) ["kind"] "A request that cannot be built: `kind` is 'missing_api_key', 'invalid_api_key', 'invalid_header', 'invalid_beta', 'invalid_request' or 'selector_collision'.";
    InvalidOptionsError(CreditpoolError, ValueError) ["what"] "Options that do not have the expected shape (unknown fields are refused).";
    ToolDefinitionError(CreditpoolError, ValueError) ["rule", "tool", "details"] "A tool definition the API would refuse: `rule` names the rule, `details` is the core's JSON form.";
    ToolInputInvalidError(CreditpoolError, ValueError) ["kind", "tool", "details", "tool_result_text", "tool_result"] "A tool_use input that must not run: `kind` is 'unknown_tool', 'invalid_input' or 'truncated'; `tool_result` is the is_error block for the model (when the call's id is known).";
    PricingError(CreditpoolError) ["kind", "model"] "A price could not be determined: `kind` is the core's stable kind name.";
    UnknownModelError(PricingError) [] "The price table does not know the model and no override prices it.";
    UnpricedModelError(PricingError) [] "The model is known but has no published price in the table.";
    InvalidPriceError(PricingError, ValueError) ["value"] "A price string is not an exact decimal amount.";
    CapabilityError(CreditpoolError, ValueError) ["kind", "model", "details"] "A request parameter the model would answer 400 to, refused before anything is spent.";
    PartialJsonError(CreditpoolError, ValueError) ["kind"] "Text that is not a prefix of JSON: `kind` is 'syntax', 'incomplete', 'too_deep' or 'non_finite'.";
    PoolRefusedError(CreditpoolError) ["reason", "agent", "requested", "details", "retry_at_ms", "retry_at"] "The pool refused a reservation: `reason` is 'pool_exhausted', 'agent_cap', 'rate_limited', 'fair_share' or 'unknown_agent', `details` the core's JSON form of the refusal. Only a rate limit lifts with time: then `retry_at_ms` (Unix ms) and `retry_at` (Unix seconds) say when.";
    PoolExhaustedError(PoolRefusedError) ["available"] "The pool cannot cover the amount: settled plus reserved plus the request would exceed the limit.";
    AgentCapError(PoolRefusedError) ["cap", "spent", "reserved"] "The agent's cap for the cycle would be exceeded.";
    PoolRateLimitedError(PoolRefusedError) ["which"] "The agent's rate limit says not yet (`which` is 'credits' or 'requests'): the same request is admitted at `retry_at`.";
    FairShareError(PoolRefusedError) ["share", "held", "active_agents"] "The pool is nearly spent and the request would take the agent beyond its fair share of what remains.";
    UnknownAgentError(PoolRefusedError) [] "The agent is not configured and the pool does not allow unknown agents.";
    PoolError(CreditpoolError) [] "A misuse of the pool, or a configuration or snapshot it cannot accept.";
    UnknownReservationError(PoolError) ["id"] "No reservation with this `id` was ever made by this pool.";
    PoolConfigError(PoolError, ValueError) ["reason"] "The pool's configuration (or an agent's policy) is invalid: `reason` names the field.";
    PoolSnapshotError(PoolError, ValueError) ["reason", "version"] "A snapshot is malformed or inconsistent, or has a `version` this library does not read.";
    AgentRunError(CreditpoolError) ["status"] "An agent run ended without an answer: `status` is the outcome's status ('max_turns', 'budget_exhausted', 'failed' without an API error, 'invalid', 'cancelled').";
    MaxTurnsError(AgentRunError) ["max_turns"] "The run made `max_turns` model calls without the model finishing.";
    BudgetExhaustedError(AgentRunError) ["needed", "remaining"] "The run's own budget (`max_spend`) cannot cover the next request's worst case.";
    InternalError(CreditpoolError) [] "A bug in creditpool (a Rust panic, caught at the boundary). Please report it.";
}

static CLASSES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

/// Creates every class (once per process) and adds it to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let classes = CLASSES.get_or_try_init(py, || create_classes(py))?;
    for (exc, class) in Exc::ALL.iter().zip(classes) {
        m.add(exc.name(), class.bind(py))?;
    }
    Ok(())
}

fn create_classes(py: Python<'_>) -> PyResult<Vec<Py<PyType>>> {
    let builtins = py.import("builtins")?;
    let type_fn = builtins.getattr("type")?;
    let mut created: Vec<Py<PyType>> = Vec::new();
    for exc in Exc::ALL {
        let mut bases = Vec::new();
        for base in exc.bases() {
            let class = match Exc::ALL.iter().position(|e| e.name() == *base) {
                Some(i) => created.get(i).map(|c| c.bind(py).clone().into_any()).ok_or_else(|| PyRuntimeError::new_err("exception order"))?,
                None => builtins.getattr(*base)?,
            };
            bases.push(class);
        }
        let ns = PyDict::new(py);
        ns.set_item("__doc__", exc.doc())?;
        ns.set_item("__module__", "creditpool")?;
        for attr in exc.attrs() {
            ns.set_item(*attr, py.None())?;
        }
        let class = type_fn.call1((exc.name(), PyTuple::new(py, bases)?, ns))?;
        created.push(class.cast_into::<PyType>()?.unbind());
    }
    Ok(created)
}

/// A Python exception of class `exc` with a message and attributes.
pub fn raise(py: Python<'_>, exc: Exc, message: &str, attrs: &[(&str, Bound<'_, PyAny>)]) -> PyErr {
    let Some(class) = CLASSES.get(py).and_then(|c| c.get(exc as usize)) else {
        return PyRuntimeError::new_err(message.to_owned());
    };
    let result = (|| -> PyResult<PyErr> {
        let value = class.bind(py).call1((message,))?;
        for (k, v) in attrs {
            value.setattr(*k, v)?;
        }
        Ok(PyErr::from_value(value))
    })();
    result.unwrap_or_else(|e| e)
}

fn obj<'py, T: IntoPyObject<'py>>(py: Python<'py>, v: T) -> Bound<'py, PyAny> {
    match v.into_pyobject(py) {
        Ok(b) => b.into_any().into_bound(),
        Err(_) => py.None().into_bound(py),
    }
}

fn json_or_none<'py, T: serde::Serialize>(py: Python<'py>, v: &T) -> Bound<'py, PyAny> {
    ser_to_py(py, v).unwrap_or_else(|_| py.None().into_bound(py))
}

/// The class of an API error kind.
pub fn api_error_class(kind: &ApiErrorKind) -> Exc {
    match kind {
        ApiErrorKind::InvalidRequest => Exc::BadRequestError,
        ApiErrorKind::Authentication => Exc::AuthenticationError,
        ApiErrorKind::Billing => Exc::BillingError,
        ApiErrorKind::Permission => Exc::PermissionDeniedError,
        ApiErrorKind::NotFound => Exc::NotFoundError,
        ApiErrorKind::Conflict => Exc::ConflictError,
        ApiErrorKind::RequestTooLarge => Exc::RequestTooLargeError,
        ApiErrorKind::RateLimit => Exc::RateLimitError,
        ApiErrorKind::Api => Exc::InternalServerError,
        ApiErrorKind::Timeout => Exc::ServerTimeoutError,
        ApiErrorKind::Overloaded => Exc::OverloadedError,
        ApiErrorKind::Other(_) => Exc::APIError,
        _ => Exc::APIError,
    }
}

/// An `ApiError`, with the message received before it when it came mid-stream.
pub fn api_error(py: Python<'_>, e: &ApiError, partial: Option<&creditpool_core::api::Message>) -> PyErr {
    let partial = match partial {
        Some(m) => json_or_none(py, m),
        None => py.None().into_bound(py),
    };
    raise(
        py,
        api_error_class(&e.kind),
        &e.to_string(),
        &[
            ("error_type", obj(py, e.kind.as_str())),
            ("status", obj(py, e.status)),
            ("request_id", obj(py, e.request_id.as_deref())),
            ("message", obj(py, e.message.as_str())),
            ("partial", partial),
        ],
    )
}

/// A `ParseError`.
pub fn parse_error(py: Python<'_>, e: &ParseError) -> PyErr {
    let reason = match e {
        ParseError::Malformed { .. } => "malformed",
        ParseError::TooLarge { .. } => "too_large",
        _ => "other",
    };
    raise(py, Exc::ResponseParseError, &e.to_string(), &[("reason", obj(py, reason))])
}

/// A `ResponseError`.
pub fn response_error(py: Python<'_>, e: &ResponseError) -> PyErr {
    match e {
        ResponseError::Api(a) => api_error(py, a, None),
        ResponseError::Parse(p) => parse_error(py, p),
        other => raise(py, Exc::CreditpoolError, &other.to_string(), &[]),
    }
}

/// A `RequestError`.
pub fn request_error(py: Python<'_>, e: &RequestError) -> PyErr {
    let kind = match e {
        RequestError::MissingApiKey => "missing_api_key",
        RequestError::InvalidApiKey => "invalid_api_key",
        RequestError::InvalidHeader { .. } => "invalid_header",
        RequestError::InvalidBeta { .. } => "invalid_beta",
        RequestError::InvalidRequest { .. } => "invalid_request",
        RequestError::SelectorCollision { .. } => "selector_collision",
        _ => "other",
    };
    raise(py, Exc::RequestBuildError, &e.to_string(), &[("kind", obj(py, kind))])
}

/// A request (dict) that does not have the shape of a Messages API request.
pub fn invalid_request(py: Python<'_>, detail: &str) -> PyErr {
    raise(py, Exc::RequestBuildError, &format!("invalid request: {detail}"), &[("kind", obj(py, "invalid_request"))])
}

/// Caller options of the wrong shape.
pub fn invalid_options(py: Python<'_>, what: &str, detail: &str) -> PyErr {
    raise(py, Exc::InvalidOptionsError, &format!("invalid {what}: {detail}"), &[("what", obj(py, what))])
}

/// An `SseError` from the bare decoder.
pub fn sse_error(py: Python<'_>, e: &SseError) -> PyErr {
    match e {
        SseError::EventTooLarge { size, limit } => {
            raise(py, Exc::StreamEventTooLargeError, &e.to_string(), &[("size", obj(py, *size)), ("limit", obj(py, *limit))])
        }
        SseError::Truncated { .. } => raise(py, Exc::StreamIncompleteError, &e.to_string(), &[("reason", obj(py, "mid_event"))]),
        other => raise(py, Exc::StreamError, &other.to_string(), &[]),
    }
}

/// A `StreamError`: the mid-stream API error as its `APIError` class (with
/// `partial`), the others as `StreamError` subclasses.
pub fn stream_error(py: Python<'_>, e: &StreamError) -> PyErr {
    match e {
        StreamError::Api { error, partial } => api_error(py, error, partial.as_deref()),
        StreamError::Incomplete { partial, reason } => {
            let partial = match partial {
                Some(m) => json_or_none(py, m.as_ref()),
                None => py.None().into_bound(py),
            };
            raise(py, Exc::StreamIncompleteError, &e.to_string(), &[("partial", partial), ("reason", obj(py, reason.as_str()))])
        }
        StreamError::Malformed { .. } => raise(py, Exc::StreamProtocolError, &e.to_string(), &[("reason", obj(py, "malformed"))]),
        StreamError::Protocol { .. } => raise(py, Exc::StreamProtocolError, &e.to_string(), &[("reason", obj(py, "protocol"))]),
        StreamError::Decode(d) => sse_error(py, d),
        other => raise(py, Exc::StreamError, &other.to_string(), &[]),
    }
}

/// A `PartialJsonError`.
pub fn partial_json_error(py: Python<'_>, e: &PartialJsonError) -> PyErr {
    let kind = match e {
        PartialJsonError::Syntax { .. } => "syntax",
        PartialJsonError::Incomplete { .. } => "incomplete",
        PartialJsonError::TooDeep { .. } => "too_deep",
        PartialJsonError::NonFinite { .. } => "non_finite",
        _ => "other",
    };
    raise(py, Exc::PartialJsonError, &e.to_string(), &[("kind", obj(py, kind))])
}

/// A `ToolDefinitionError`; `details` is its JSON form.
pub fn tool_definition_error(py: Python<'_>, e: &ToolDefinitionError) -> PyErr {
    raise(
        py,
        Exc::ToolDefinitionError,
        &e.to_string(),
        &[("rule", obj(py, e.rule())), ("tool", obj(py, e.tool())), ("details", json_or_none(py, e))],
    )
}

/// A `ToolInputError`; `details` is its JSON form and `tool_result_text` what
/// the model reads.
pub fn tool_input_error(py: Python<'_>, e: &ToolInputError) -> PyErr {
    raise(
        py,
        Exc::ToolInputInvalidError,
        &e.to_string(),
        &[
            ("kind", obj(py, e.kind())),
            ("tool", obj(py, e.tool())),
            ("details", json_or_none(py, e)),
            ("tool_result_text", obj(py, e.to_tool_result_text())),
        ],
    )
}

/// A `PricingError`.
pub fn pricing_error(py: Python<'_>, e: &PricingError) -> PyErr {
    let kind = obj(py, e.kind());
    match e {
        PricingError::UnknownModel { model } => raise(py, Exc::UnknownModelError, &e.to_string(), &[("kind", kind), ("model", obj(py, model.as_str()))]),
        PricingError::Unpriced { model, .. } => raise(py, Exc::UnpricedModelError, &e.to_string(), &[("kind", kind), ("model", obj(py, model.as_str()))]),
        PricingError::UnsupportedUsage { model, .. } => raise(py, Exc::PricingError, &e.to_string(), &[("kind", kind), ("model", obj(py, model.as_str()))]),
        PricingError::InvalidPrice { value, .. } => raise(py, Exc::InvalidPriceError, &e.to_string(), &[("kind", kind), ("value", obj(py, value.as_str()))]),
        PricingError::InvalidTable { .. } | PricingError::Overflow => raise(py, Exc::PricingError, &e.to_string(), &[("kind", kind)]),
        _ => raise(py, Exc::PricingError, &e.to_string(), &[("kind", kind)]),
    }
}

/// A `CapabilityError`; `details` holds the variant's fields.
pub fn capability_error(py: Python<'_>, e: &CapabilityError) -> PyErr {
    let details = PyDict::new(py);
    let fill = || -> PyResult<()> {
        details.set_item("kind", e.kind())?;
        details.set_item("model", e.model())?;
        match e {
            CapabilityError::SamplingParameter { parameter, value, reason, .. } => {
                details.set_item("parameter", parameter)?;
                details.set_item("value", value)?;
                details.set_item("reason", reason)?;
            }
            CapabilityError::ForcedToolUse { tool_choice, reason, .. } => {
                details.set_item("tool_choice", tool_choice)?;
                details.set_item("reason", reason)?;
            }
            CapabilityError::SamplingTogether { reason, .. }
            | CapabilityError::ManualThinking { reason, .. }
            | CapabilityError::ThinkingDisabled { reason, .. }
            | CapabilityError::AssistantPrefill { reason, .. }
            | CapabilityError::InferenceGeo { reason, .. } => details.set_item("reason", reason)?,
            _ => {}
        }
        Ok(())
    };
    if let Err(err) = fill() {
        return err;
    }
    raise(
        py,
        Exc::CapabilityError,
        &e.to_string(),
        &[("kind", obj(py, e.kind())), ("model", obj(py, e.model())), ("details", details.into_any())],
    )
}

/// A caught Rust panic.
pub fn internal(py: Python<'_>, payload: &(dyn std::any::Any + Send)) -> PyErr {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    raise(py, Exc::InternalError, &format!("internal error in creditpool (please report it): {what}"), &[])
}

/// Runs `f`, turning a Rust panic into `InternalError` so that none crosses
/// into Python.
pub fn guard<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(internal(py, payload.as_ref())),
    }
}

/// A pool `Refusal`, as its `PoolRefusedError` subclass with the refusal's
/// fields as attributes.
pub fn refusal_error(py: Python<'_>, r: &Refusal) -> PyErr {
    let details = json_or_none(py, r);
    let reason = obj(py, r.reason());
    let msg = r.to_string();
    match r {
        Refusal::PoolExhausted { requested, available } => raise(
            py,
            Exc::PoolExhaustedError,
            &msg,
            &[("reason", reason), ("details", details), ("requested", obj(py, requested.nanos())), ("available", obj(py, available.nanos()))],
        ),
        Refusal::AgentCap { agent, cap, spent, reserved, requested } => raise(
            py,
            Exc::AgentCapError,
            &msg,
            &[
                ("reason", reason),
                ("details", details),
                ("agent", obj(py, agent.as_str())),
                ("cap", obj(py, cap.nanos())),
                ("spent", obj(py, spent.nanos())),
                ("reserved", obj(py, reserved.nanos())),
                ("requested", obj(py, requested.nanos())),
            ],
        ),
        Refusal::RateLimited { agent, which, retry_at_ms } => {
            let which = match which {
                RateLimitKind::Credits => "credits",
                RateLimitKind::Requests => "requests",
            };
            raise(
                py,
                Exc::PoolRateLimitedError,
                &msg,
                &[
                    ("reason", reason),
                    ("details", details),
                    ("agent", obj(py, agent.as_str())),
                    ("which", obj(py, which)),
                    ("retry_at_ms", obj(py, *retry_at_ms)),
                    ("retry_at", obj(py, *retry_at_ms as f64 / 1000.0)),
                ],
            )
        }
        Refusal::FairShare { agent, share, held, requested, active_agents } => raise(
            py,
            Exc::FairShareError,
            &msg,
            &[
                ("reason", reason),
                ("details", details),
                ("agent", obj(py, agent.as_str())),
                ("share", obj(py, share.nanos())),
                ("held", obj(py, held.nanos())),
                ("requested", obj(py, requested.nanos())),
                ("active_agents", obj(py, *active_agents)),
            ],
        ),
        Refusal::UnknownAgent { agent } => {
            raise(py, Exc::UnknownAgentError, &msg, &[("reason", reason), ("details", details), ("agent", obj(py, agent.as_str()))])
        }
        other => raise(py, Exc::PoolRefusedError, &other.to_string(), &[("reason", obj(py, other.reason())), ("details", json_or_none(py, other))]),
    }
}

/// A `PoolError`.
pub fn pool_error(py: Python<'_>, e: &PoolError) -> PyErr {
    let msg = e.to_string();
    match e {
        PoolError::UnknownReservation { id } => raise(py, Exc::UnknownReservationError, &msg, &[("id", obj(py, *id))]),
        PoolError::InvalidConfig { reason } => raise(py, Exc::PoolConfigError, &msg, &[("reason", obj(py, reason.as_str()))]),
        PoolError::InvalidSnapshot { reason } => raise(py, Exc::PoolSnapshotError, &msg, &[("reason", obj(py, reason.as_str()))]),
        PoolError::UnsupportedSnapshotVersion { version } => {
            raise(py, Exc::PoolSnapshotError, &msg, &[("reason", obj(py, "unsupported_version")), ("version", obj(py, *version))])
        }
        other => raise(py, Exc::PoolError, &other.to_string(), &[]),
    }
}

/// An `AgentError`: a run that cannot start.
pub fn agent_error(py: Python<'_>, e: &AgentError) -> PyErr {
    match e {
        AgentError::Tool(t) => tool_definition_error(py, t),
        AgentError::Capability(c) => capability_error(py, c),
        AgentError::Pricing(p) => pricing_error(py, p),
        AgentError::Request(r) => request_error(py, r),
        other => raise(py, Exc::AgentRunError, &other.to_string(), &[("status", obj(py, "invalid"))]),
    }
}

/// The exception a finished run's status stands for, or None when the run
/// ended with an answer (`completed`, `stopped`).
pub fn run_status_error(py: Python<'_>, status: &RunStatus) -> Option<PyErr> {
    let status_name = |s: &str| ("status", obj(py, s));
    Some(match status {
        RunStatus::Completed | RunStatus::Stopped { .. } => return None,
        RunStatus::MaxTurns { max_turns } => raise(
            py,
            Exc::MaxTurnsError,
            &format!("the run made {max_turns} model calls without the model finishing"),
            &[status_name("max_turns"), ("max_turns", obj(py, *max_turns))],
        ),
        RunStatus::BudgetExhausted { needed, remaining } => raise(
            py,
            Exc::BudgetExhaustedError,
            &format!("the run's budget cannot cover the next request: needs {needed}, {remaining} left"),
            &[status_name("budget_exhausted"), ("needed", obj(py, needed.nanos())), ("remaining", obj(py, remaining.nanos()))],
        ),
        RunStatus::PoolRefused { refusal } => refusal_error(py, refusal),
        RunStatus::Failed { error, api_error_type, http_status } => match api_error_type {
            Some(t) => {
                let kind = ApiErrorKind::from_type(t);
                raise(
                    py,
                    api_error_class(&kind),
                    error,
                    &[("error_type", obj(py, t.as_str())), ("status", obj(py, *http_status)), ("message", obj(py, error.as_str()))],
                )
            }
            None => raise(py, Exc::AgentRunError, error, &[status_name("failed")]),
        },
        RunStatus::Invalid { error } => raise(py, Exc::AgentRunError, error, &[status_name("invalid")]),
        RunStatus::Cancelled => raise(py, Exc::AgentRunError, "the run was cancelled", &[status_name("cancelled")]),
        _ => raise(py, Exc::AgentRunError, "the run ended without an answer", &[status_name("other")]),
    })
}
