//! The exception hierarchy and the mapping from every core error to it.
//!
//! The classes are built from the core's one table,
//! `creditpool_core::codes::CLASSES` (names, parents, docs, and whether a
//! class is about the caller's own values, when it also derives from
//! `ValueError`), so that Python and JS agree by construction. The classes are
//! created when the module loads (several have two bases, which
//! `create_exception!` cannot express) and carry their structured fields as
//! attributes; every attribute also exists on the class with the default
//! `None`, so reading one never fails.
//!
//! Every raised error carries `code`, the core error's `code()`, and its
//! class is the one the core maps that code to (`codes::class_for_code`):
//! the functions here only gather each error's attributes.

use crate::convert::ser_to_py;
use creditpool_core::agent::{AgentError, RunStatus};
use creditpool_core::api::Message;
use creditpool_core::call::PreflightError;
use creditpool_core::codes::CLASSES;
use creditpool_core::codes::class_for_code as core_class_for_code;
use creditpool_core::error::{ApiError, ParseError};
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

/// The attributes each class adds (set to None on the class, so reading one
/// never fails). The names, parents and docs of the classes come from the
/// core's table (`creditpool_core::codes::CLASSES`); only these Python
/// attribute names are the binding's.
fn attrs(name: &str) -> &'static [&'static str] {
    match name {
        "CreditpoolError" => &["code", "attempts", "give_up_reason"],
        "APIError" => &["error_type", "status", "request_id", "message", "partial"],
        "APIConnectionError" => &["partial"],
        "APITimeoutError" => &["phase"],
        "ResponseParseError" => &["reason"],
        "StreamError" => &["partial"],
        "StreamIncompleteError" | "StreamProtocolError" => &["reason"],
        "StreamEventTooLargeError" => &["size", "limit"],
        "StreamTooLargeError" => &["limit"],
        "RequestBuildError" => &["kind"],
        "InvalidOptionsError" => &["what", "line"],
        "SdkUnsupportedError" => &["minimum"],
        "UnknownThreadError" => &["previous_message_id", "expired"],
        "ToolDefinitionError" => &["rule", "tool", "details"],
        "ToolInputInvalidError" => &["kind", "tool", "details", "tool_result_text", "tool_result"],
        "PricingError" => &["kind", "model"],
        "InvalidPriceError" => &["value"],
        "CapabilityError" => &["kind", "model", "details"],
        "PartialJsonError" => &["kind"],
        "PoolRefusedError" => &["reason", "agent", "requested", "details", "retry_at_ms", "retry_at"],
        "PoolExhaustedError" => &["available"],
        "AgentCapError" => &["cap", "spent", "reserved"],
        "PoolRateLimitedError" => &["which"],
        "FairShareError" => &["share", "held", "active_agents"],
        "UnknownReservationError" => &["id"],
        "ClockJumpError" => &["now_ms", "last_now_ms", "max_clock_jump_ms"],
        "RedisConfigConflictError" => &["stored", "given"],
        "PoolConfigError" => &["reason"],
        "PoolSnapshotError" => &["reason", "version"],
        "AgentRunError" => &["status"],
        "MaxTurnsError" => &["max_turns"],
        "BudgetExhaustedError" => &["needed", "remaining"],
        _ => &[],
    }
}

/// The classes, in the order of the core's `CLASSES`.
static PY_CLASSES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

/// Creates every class of the core's table (once per process) and adds it to
/// the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let classes = PY_CLASSES.get_or_try_init(py, || create_classes(py))?;
    for (class, py_class) in CLASSES.iter().zip(classes) {
        m.add(class.name, py_class.bind(py))?;
    }
    Ok(())
}

fn create_classes(py: Python<'_>) -> PyResult<Vec<Py<PyType>>> {
    let builtins = py.import("builtins")?;
    let type_fn = builtins.getattr("type")?;
    let mut created: Vec<Py<PyType>> = Vec::new();
    for class in CLASSES {
        let mut bases = Vec::new();
        match class.parent {
            Some(parent) => {
                let i = CLASSES.iter().position(|c| c.name == parent).ok_or_else(|| PyRuntimeError::new_err(format!("unknown parent {parent}")))?;
                let base = created.get(i).ok_or_else(|| PyRuntimeError::new_err("exception order"))?;
                bases.push(base.bind(py).clone().into_any());
            }
            None => bases.push(builtins.getattr("Exception")?),
        }
        if class.value_error {
            bases.push(builtins.getattr("ValueError")?);
        }
        let ns = PyDict::new(py);
        ns.set_item("__doc__", class.doc)?;
        ns.set_item("__module__", "creditpool")?;
        for attr in attrs(class.name) {
            ns.set_item(*attr, py.None())?;
        }
        let py_class = type_fn.call1((class.name, PyTuple::new(py, bases)?, ns))?;
        created.push(py_class.cast_into::<PyType>()?.unbind());
    }
    Ok(created)
}

/// A Python exception of the class named `class` (a name of the core's
/// `CLASSES`) with a message, the error `code` and attributes.
pub fn raise_class(py: Python<'_>, class: &str, code: Option<&str>, message: &str, attrs: &[(&str, Bound<'_, PyAny>)]) -> PyErr {
    let index = CLASSES.iter().position(|c| c.name == class).unwrap_or(0);
    let Some(py_class) = PY_CLASSES.get(py).and_then(|c| c.get(index)) else {
        return PyRuntimeError::new_err(message.to_owned());
    };
    let result = (|| -> PyResult<PyErr> {
        let value = py_class.bind(py).call1((message,))?;
        value.setattr("code", code)?;
        for (k, v) in attrs {
            value.setattr(*k, v)?;
        }
        Ok(PyErr::from_value(value))
    })();
    result.unwrap_or_else(|e| e)
}

/// A Python exception for an error code: of the class the core's table maps
/// it to (`class_for_code`), carrying the code.
pub fn raise(py: Python<'_>, code: &str, message: &str, attrs: &[(&str, Bound<'_, PyAny>)]) -> PyErr {
    raise_class(py, core_class_for_code(code), Some(code), message, attrs)
}

pub fn obj<'py, T: IntoPyObject<'py>>(py: Python<'py>, v: T) -> Bound<'py, PyAny> {
    match v.into_pyobject(py) {
        Ok(b) => b.into_any().into_bound(),
        Err(_) => py.None().into_bound(py),
    }
}

pub fn json_or_none<'py, T: serde::Serialize>(py: Python<'py>, v: &T) -> Bound<'py, PyAny> {
    ser_to_py(py, v).unwrap_or_else(|_| py.None().into_bound(py))
}

fn message_or_none<'py>(py: Python<'py>, m: Option<&Message>) -> Bound<'py, PyAny> {
    match m {
        Some(m) => json_or_none(py, m),
        None => py.None().into_bound(py),
    }
}

/// An `ApiError`, with the message received before it when it came mid-stream.
pub fn api_error(py: Python<'_>, e: &ApiError, partial: Option<&Message>) -> PyErr {
    raise(
        py,
        e.code(),
        &e.to_string(),
        &[
            ("error_type", obj(py, e.kind.as_str())),
            ("status", obj(py, e.status)),
            ("request_id", obj(py, e.request_id.as_deref())),
            ("message", obj(py, e.message.as_str())),
            ("partial", message_or_none(py, partial)),
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
    raise(py, e.code(), &e.to_string(), &[("reason", obj(py, reason))])
}

/// A `ResponseError`.
pub fn response_error(py: Python<'_>, e: &ResponseError) -> PyErr {
    match e {
        ResponseError::Api(a) => api_error(py, a, None),
        ResponseError::Parse(p) => parse_error(py, p),
        other => raise(py, other.code(), &other.to_string(), &[]),
    }
}

/// A `RequestError`: `kind` is its code.
pub fn request_error(py: Python<'_>, e: &RequestError) -> PyErr {
    if let RequestError::UnknownParameter { name, suggestion } = e {
        let fields = [("kind", obj(py, e.code())), ("parameter", obj(py, name.as_str())), ("suggestion", obj(py, suggestion.as_deref()))];
        return raise(py, e.code(), &e.to_string(), &fields);
    }
    raise(py, e.code(), &e.to_string(), &[("kind", obj(py, e.code()))])
}

/// A request (dict) that does not have the shape of a Messages API request.
pub fn invalid_request(py: Python<'_>, detail: &str) -> PyErr {
    raise(py, "invalid_request", &format!("invalid request: {detail}"), &[("kind", obj(py, "invalid_request"))])
}

/// Caller options of the wrong shape.
pub fn invalid_options(py: Python<'_>, what: &str, detail: &str) -> PyErr {
    // The core's plain words for a serde message (no Rust type names, no
    // position in JSON the caller never wrote).
    let detail = creditpool_core::error::plain_config_words("", detail);
    raise(py, "invalid_options", &format!("invalid {what}: {detail}"), &[("what", obj(py, what))])
}

/// An `SseError` from the bare decoder.
pub fn sse_error(py: Python<'_>, e: &SseError) -> PyErr {
    match e {
        SseError::EventTooLarge { size, limit } => raise(py, e.code(), &e.to_string(), &[("size", obj(py, *size)), ("limit", obj(py, *limit))]),
        SseError::Truncated { .. } => raise(py, e.code(), &e.to_string(), &[("reason", obj(py, "mid_event"))]),
        other => raise(py, other.code(), &other.to_string(), &[]),
    }
}

/// A `StreamError`: the mid-stream API error as its `APIError` class (with
/// `partial`), the others as `StreamError` subclasses.
pub fn stream_error(py: Python<'_>, e: &StreamError) -> PyErr {
    match e {
        StreamError::Api { error, partial } => api_error(py, error, partial.as_deref()),
        StreamError::Incomplete { partial, reason } => {
            raise(py, e.code(), &e.to_string(), &[("partial", message_or_none(py, partial.as_deref())), ("reason", obj(py, reason.as_str()))])
        }
        StreamError::Malformed { .. } => raise(py, e.code(), &e.to_string(), &[("reason", obj(py, "malformed"))]),
        StreamError::Protocol { .. } => raise(py, e.code(), &e.to_string(), &[("reason", obj(py, "protocol"))]),
        StreamError::Decode(d) => sse_error(py, d),
        StreamError::TooLarge { limit, partial } => {
            raise(py, e.code(), &e.to_string(), &[("limit", obj(py, *limit)), ("partial", message_or_none(py, partial.as_deref()))])
        }
        other => raise(py, other.code(), &other.to_string(), &[]),
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
    raise(py, e.code(), &e.to_string(), &[("kind", obj(py, kind))])
}

/// A `ToolDefinitionError`; `details` is its JSON form.
pub fn tool_definition_error(py: Python<'_>, e: &ToolDefinitionError) -> PyErr {
    raise(py, e.code(), &e.to_string(), &[("rule", obj(py, e.rule())), ("tool", obj(py, e.tool())), ("details", json_or_none(py, e))])
}

/// A `ToolInputError`; `details` is its JSON form and `tool_result_text` what
/// the model reads.
pub fn tool_input_error(py: Python<'_>, e: &ToolInputError) -> PyErr {
    raise(
        py,
        e.code(),
        &e.to_string(),
        &[
            ("kind", obj(py, e.kind())),
            ("tool", obj(py, e.tool())),
            ("details", json_or_none(py, e)),
            ("tool_result_text", obj(py, e.to_tool_result_text())),
        ],
    )
}

/// How a Python caller prices a model the table does not.
fn python_override_hint(model: &str) -> String {
    format!("give its prices with `Client(price_overrides=[{{\"model\": {model:?}, \"prices\": {{\"input\": \"3\", \"cache_write_5m\": \"3.75\", \"cache_write_1h\": \"6\", \"cache_read\": \"0.30\", \"output\": \"15\"}}}}])` (decimal strings, USD per million tokens)")
}

/// A `PricingError`.
pub fn pricing_error(py: Python<'_>, e: &PricingError) -> PyErr {
    let kind = obj(py, e.kind());
    match e {
        PricingError::UnknownModel { model, suggestion } => raise(
            py,
            e.code(),
            &e.message_with(&python_override_hint(model)),
            &[("kind", kind), ("model", obj(py, model.as_str())), ("suggestion", obj(py, suggestion.as_deref()))],
        ),
        PricingError::Unpriced { model, .. } => raise(py, e.code(), &e.message_with(&python_override_hint(model)), &[("kind", kind), ("model", obj(py, model.as_str()))]),
        PricingError::UnsupportedUsage { model, .. } => raise(py, e.code(), &e.to_string(), &[("kind", kind), ("model", obj(py, model.as_str()))]),
        PricingError::InvalidPrice { value, .. } => raise(py, e.code(), &e.to_string(), &[("kind", kind), ("value", obj(py, value.as_str()))]),
        _ => raise(py, e.code(), &e.to_string(), &[("kind", kind)]),
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
    raise(py, e.code(), &e.to_string(), &[("kind", obj(py, e.kind())), ("model", obj(py, e.model())), ("details", details.into_any())])
}

/// A request refused before anything was sent (`MessagesCall` preflight).
pub fn preflight_error(py: Python<'_>, e: &PreflightError) -> PyErr {
    match e {
        PreflightError::Request(r) => request_error(py, r),
        PreflightError::Tool(t) => tool_definition_error(py, t),
        PreflightError::Capability(c) => capability_error(py, c),
        other => raise(py, other.code(), &other.to_string(), &[]),
    }
}

/// A caught Rust panic.
pub fn internal(py: Python<'_>, payload: &(dyn std::any::Any + Send)) -> PyErr {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    raise(py, "internal_error", &format!("internal error in creditpool (please report it): {what}"), &[])
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
/// fields as attributes. Times are Unix ms (`retry_at_ms`); `retry_at` (Unix
/// seconds, a float) is a deprecated alias.
pub fn refusal_error(py: Python<'_>, r: &Refusal) -> PyErr {
    let details = json_or_none(py, r);
    let reason = obj(py, r.reason());
    let msg = r.to_string();
    let code = r.code();
    match r {
        Refusal::PoolExhausted { requested, available } => raise(
            py,
            code,
            &msg,
            &[("reason", reason), ("details", details), ("requested", crate::money::py_money(py, *requested)), ("available", crate::money::py_money(py, *available))],
        ),
        Refusal::AgentCap { agent, cap, spent, reserved, requested } => raise(
            py,
            code,
            &msg,
            &[
                ("reason", reason),
                ("details", details),
                ("agent", obj(py, agent.as_str())),
                ("cap", crate::money::py_money(py, *cap)),
                ("spent", crate::money::py_money(py, *spent)),
                ("reserved", crate::money::py_money(py, *reserved)),
                ("requested", crate::money::py_money(py, *requested)),
            ],
        ),
        Refusal::RateLimited { agent, which, retry_at_ms } => {
            let which = match which {
                RateLimitKind::Credits => "credits",
                RateLimitKind::Requests => "requests",
            };
            raise(
                py,
                code,
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
            code,
            &msg,
            &[
                ("reason", reason),
                ("details", details),
                ("agent", obj(py, agent.as_str())),
                ("share", crate::money::py_money(py, *share)),
                ("held", crate::money::py_money(py, *held)),
                ("requested", crate::money::py_money(py, *requested)),
                ("active_agents", obj(py, *active_agents)),
            ],
        ),
        Refusal::UnknownAgent { agent, known, suggestion } => {
            let known: Vec<&str> = known.iter().map(|k| k.as_str()).collect();
            let msg = format!("{msg}. In Python: `Pool(..., unknown_agents=AgentPolicy(cap=...))` lets other agents reserve under their own policy.");
            raise(
                py,
                code,
                &msg,
                &[
                    ("reason", reason),
                    ("details", details),
                    ("agent", obj(py, agent.as_str())),
                    ("known", obj(py, known)),
                    ("suggestion", obj(py, suggestion.as_ref().map(|s| s.as_str()))),
                ],
            )
        }
        other => raise(py, code, &other.to_string(), &[("reason", reason), ("details", details)]),
    }
}

/// A `PoolError`.
pub fn pool_error(py: Python<'_>, e: &PoolError) -> PyErr {
    let msg = e.to_string();
    match e {
        PoolError::UnknownReservation { id } => raise(py, e.code(), &msg, &[("id", obj(py, *id))]),
        PoolError::InvalidConfig { reason } | PoolError::InvalidSnapshot { reason } => raise(py, e.code(), &msg, &[("reason", obj(py, reason.as_str()))]),
        PoolError::UnsupportedSnapshotVersion { version } => {
            raise(py, e.code(), &msg, &[("reason", obj(py, "unsupported_version")), ("version", obj(py, *version))])
        }
        PoolError::ClockJump { now_ms, last_now_ms, max_clock_jump_ms } => raise(
            py,
            e.code(),
            &msg,
            &[("now_ms", obj(py, *now_ms)), ("last_now_ms", obj(py, *last_now_ms)), ("max_clock_jump_ms", obj(py, *max_clock_jump_ms))],
        ),
        other => raise(py, other.code(), &other.to_string(), &[]),
    }
}

/// An `AgentError`: a run that cannot start.
pub fn agent_error(py: Python<'_>, e: &AgentError) -> PyErr {
    match e {
        AgentError::Tool(t) => tool_definition_error(py, t),
        AgentError::Capability(c) => capability_error(py, c),
        AgentError::Pricing(p) => pricing_error(py, p),
        AgentError::Request(r) => request_error(py, r),
        other => raise(py, other.code(), &other.to_string(), &[]),
    }
}

/// The timeout phase a timeout code names (`read_timeout` -> `read`).
pub fn timeout_phase(code: &str) -> Option<&str> {
    code.strip_suffix("_timeout")
}

/// Python's words for switching the pool selector off or renaming it, added
/// to the core's `SelectorRejected` (code `pool_selector_rejected`).
pub const SELECTOR_HINT: &str = ". In Python: `Client(pool_selector=False)` (or `AsyncClient`) sends no selector; `Client(pool_selector=PoolSelector(field=\"...\", value=...))` renames it.";

/// The exception a finished run's status stands for, or None when the run
/// ended with an answer (`completed`, `stopped`). Its class is the one the
/// core's table gives the status's code (`RunStatus::code`); a cancelled run,
/// which has no code, is an `AgentRunError`.
pub fn run_status_error(py: Python<'_>, status: &RunStatus) -> Option<PyErr> {
    let status_name = |s: &str| ("status", obj(py, s));
    Some(match status {
        RunStatus::Completed | RunStatus::Stopped { .. } => return None,
        RunStatus::MaxTurns { max_turns } => raise(
            py,
            "max_turns",
            &format!("the run made {max_turns} model calls without the model finishing"),
            &[status_name("max_turns"), ("max_turns", obj(py, *max_turns))],
        ),
        RunStatus::BudgetExhausted { needed, remaining } => raise(
            py,
            "budget_exhausted",
            &format!("the run's budget cannot cover the next request: needs {needed}, {remaining} left"),
            &[status_name("budget_exhausted"), ("needed", crate::money::py_money(py, *needed)), ("remaining", crate::money::py_money(py, *remaining))],
        ),
        RunStatus::PoolRefused { refusal } => refusal_error(py, refusal),
        RunStatus::Failed { code, error, api_error_type, http_status, partial } => {
            let mut attrs = vec![("partial", message_or_none(py, partial.as_deref()))];
            match api_error_type {
                Some(t) => {
                    attrs.push(("error_type", obj(py, t.as_str())));
                    attrs.push(("status", obj(py, *http_status)));
                    attrs.push(("message", obj(py, error.as_str())));
                }
                None => {
                    if let Some(phase) = timeout_phase(code) {
                        attrs.push(("phase", obj(py, phase)));
                    }
                    if core_class_for_code(code) == "AgentRunError" {
                        attrs.push(status_name("failed"));
                    }
                }
            }
            if code == "pool_selector_rejected" {
                return Some(raise(py, code, &format!("{error}{SELECTOR_HINT}"), &attrs));
            }
            raise(py, code, error, &attrs)
        }
        RunStatus::Invalid { code, error } => {
            let attrs = if core_class_for_code(code) == "AgentRunError" { vec![status_name("invalid")] } else { vec![] };
            raise(py, code, error, &attrs)
        }
        RunStatus::Cancelled => raise_class(py, "AgentRunError", None, "the run was cancelled", &[status_name("cancelled")]),
        other => raise_class(py, "AgentRunError", other.code(), "the run ended without an answer", &[status_name("other")]),
    })
}

/// The name of the exception class the core's table maps an error code to
/// (`codes::class_for_code`; an unknown code gets the nearest base).
#[pyfunction]
pub fn class_for_code(code: &str) -> &'static str {
    creditpool_core::codes::class_for_code(code)
}

/// The core's table of error codes: `(code, class name)` pairs.
#[pyfunction]
pub fn error_codes() -> Vec<(&'static str, &'static str)> {
    creditpool_core::codes::CODES.to_vec()
}

/// The core's class table (`codes::CLASSES`), parents first: `(name, parent
/// or None, doc, value_error)`. The module's exception classes are built
/// from it.
#[pyfunction]
pub fn error_classes() -> Vec<(&'static str, Option<&'static str>, &'static str, bool)> {
    CLASSES.iter().map(|c| (c.name, c.parent, c.doc, c.value_error)).collect()
}
