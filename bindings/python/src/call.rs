//! `MessagesCall`: one Messages API call with retries, as the core's state
//! machine. The Python clients drive it: send what it says, report what came
//! back, sleep when it says to wait.

use crate::convert::{bytes_from_py, de_from_py, headers_from_py, ser_to_py, to_py};
use crate::errors::{api_error, guard, invalid_options, obj, parse_error, preflight_error, raise, stream_error, timeout_phase};
use crate::request::{http_to_py, RequestBuilder};
use creditpool_core::api::{MessageRequest, StreamEvent};
use creditpool_core::call::{AttemptError, AttemptOutcome, CallAction, CallError, CallOptions, CallOutput, Completed, MessagesCall as CoreCall, ReadBody};
use creditpool_core::pool::WebhookDelivery;
use creditpool_core::http::Headers;
use creditpool_core::retry::Failure;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

/// One call with retries. See the core's `creditpool_core::call` for the
/// protocol: `next_action(now_ms)` says send / wait / done; `handle_head`,
/// `handle_body`, `handle_chunk`, `handle_end` and `handle_transport_error`
/// report what happened; `take_result()` gives the message or raises.
#[pyclass(module = "creditpool._creditpool")]
pub struct MessagesCall {
    inner: CoreCall,
    /// The options' `max_body_bytes`: a driver reads no more of a whole
    /// body than this and one byte (the core then reports `too_large`).
    max_body_bytes: usize,
}

fn events_to_py<'py>(py: Python<'py>, events: &[StreamEvent]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for ev in events {
        list.append(ser_to_py(py, ev)?)?;
    }
    Ok(list)
}

/// The exception for an `AttemptError`.
fn attempt_error(py: Python<'_>, e: &AttemptError) -> PyErr {
    match e {
        AttemptError::Api(a) => api_error(py, a, None),
        AttemptError::Stream(s) => stream_error(py, s),
        AttemptError::Parse(p) => parse_error(py, p),
        AttemptError::Transport(f) => transport_error(py, f),
        AttemptError::SelectorRejected(s) => raise(
            py,
            s.code(),
            &format!("{s}{}", crate::errors::SELECTOR_HINT),
            &[
                ("field", obj(py, s.field.as_str())),
                ("error_type", obj(py, s.api.kind.as_str())),
                ("status", obj(py, s.api.status)),
                ("request_id", obj(py, s.api.request_id.as_deref())),
                ("message", obj(py, s.api.message.as_str())),
            ],
        ),
        other => raise(py, other.code(), &other.to_string(), &[]),
    }
}

/// The exception for a transport `Failure` (a timeout has its `phase`).
pub fn transport_error(py: Python<'_>, f: &Failure) -> PyErr {
    match f {
        Failure::Timeout { .. } => {
            let code = f.code();
            let phase = timeout_phase(code).unwrap_or("other");
            raise(py, code, &format!("{phase} timeout"), &[("phase", obj(py, phase))])
        }
        Failure::Connection => raise(py, f.code(), "the connection failed", &[]),
        other => raise(py, other.code(), &format!("transport failure: {other:?}"), &[]),
    }
}

/// A call that failed for good: the last attempt's error, with `attempts`,
/// `give_up_reason` and `partial` (the message a failed stream had received,
/// from the core's `CallError.partial`).
///
/// The message a failed stream had so far (`partial`) moves into a
/// `LazyMessage`, read like a dict and converted only where it is read: the
/// core's copy is then the only one (a stream capped at `max_stream_bytes`
/// holds one cap, not the core's and a Python conversion at once).
pub fn call_error(py: Python<'_>, mut e: CallError) -> PyErr {
    let err = match (&e.error, &e.connection) {
        // Where the request went and what the OS said, in the core's words.
        (AttemptError::Transport(f @ Failure::Connection), Some(words)) => raise(py, f.code(), words, &[]),
        _ => attempt_error(py, &e.error),
    };
    let value = err.value(py);
    let mut set = || -> PyResult<()> {
        value.setattr("attempts", e.attempts)?;
        value.setattr("give_up_reason", ser_to_py(py, &e.reason)?)?;
        if let Some(m) = e.partial.take() {
            value.setattr("partial", Py::new(py, crate::lazy::LazyMessage::new(std::sync::Arc::unwrap_or_clone(m)))?)?;
        }
        Ok(())
    };
    match set() {
        Ok(()) => err,
        Err(e) => e,
    }
}

fn call_options(py: Python<'_>, options: Option<&Bound<'_, PyAny>>) -> PyResult<CallOptions> {
    match options {
        None => Ok(CallOptions::default()),
        Some(o) => de_from_py(o)?.map_err(|e| invalid_options(py, "call options", &e)),
    }
}

#[pymethods]
impl MessagesCall {
    /// A call of `POST /v1/messages` for a request dict. `options` (the
    /// core's `CallOptions`): `stream`, `retry` (a retry policy),
    /// `idle_timeout_ms`, `read_timeout_ms`, `max_body_bytes`,
    /// `max_event_bytes`, `jitter_seed`, `preflight` (default true: tool
    /// definitions and the model's capabilities are checked here, raising
    /// `ToolDefinitionError` or `CapabilityError` before anything is sent).
    #[new]
    #[pyo3(signature = (builder, request, options = None))]
    fn new(py: Python<'_>, builder: &RequestBuilder, request: &Bound<'_, PyAny>, options: Option<&Bound<'_, PyAny>>) -> PyResult<MessagesCall> {
        guard(py, || {
            let options = call_options(py, options)?;
            let request: MessageRequest = crate::request::request_from_py(request)?;
            let max_body_bytes = options.max_body_bytes;
            let inner = CoreCall::new(builder.core(), &request, options).map_err(|e| preflight_error(py, &e))?;
            Ok(MessagesCall { inner, max_body_bytes })
        })
    }

    /// A call of `POST /v1/messages/count_tokens` for a request dict (tool
    /// definitions checked first, unless `options.preflight` is false); its
    /// result is read with `take_output`: `{"input_tokens", "attempts",
    /// "request_id"}`.
    #[staticmethod]
    #[pyo3(signature = (builder, request, options = None))]
    fn count_tokens(py: Python<'_>, builder: &RequestBuilder, request: &Bound<'_, PyAny>, options: Option<&Bound<'_, PyAny>>) -> PyResult<MessagesCall> {
        guard(py, || {
            let options = call_options(py, options)?;
            let request: MessageRequest = crate::request::request_from_py(request)?;
            let max_body_bytes = options.max_body_bytes;
            let inner = CoreCall::count_tokens(builder.core(), &request, options).map_err(|e| preflight_error(py, &e))?;
            Ok(MessagesCall { inner, max_body_bytes })
        })
    }

    /// A webhook delivery (`{"body": bytes, "headers": [(name, value)]}`, as
    /// `webhook_delivery` builds it), retried by `options` (default: the
    /// core's webhook options, 3 retries and 10 s for an answer). The
    /// request's `path` is empty: send it to the webhook's URL. Its result is
    /// read with `take_output`: `{"delivered": status, "attempts"}`. With
    /// `secret`, every attempt is signed afresh with its own time (the core's
    /// `signed_webhook`: a late retry passes a receiver's age check).
    #[staticmethod]
    #[pyo3(signature = (delivery, options = None, secret = None))]
    fn webhook(py: Python<'_>, delivery: &Bound<'_, PyAny>, options: Option<&Bound<'_, PyAny>>, secret: Option<Vec<u8>>) -> PyResult<MessagesCall> {
        guard(py, || {
            let options = match options {
                None => CallOptions::webhook(),
                Some(o) => {
                    let mut base = serde_json::to_value(CallOptions::webhook()).map_err(|e| invalid_options(py, "call options", &e.to_string()))?;
                    if let (Some(b), serde_json::Value::Object(given)) = (base.as_object_mut(), crate::convert::from_py(o)?) {
                        for (k, v) in given {
                            // A partial retry policy keeps the webhook's other retry defaults.
                            match (b.get_mut(&k), v) {
                                (Some(serde_json::Value::Object(inner)), serde_json::Value::Object(v)) => inner.extend(v),
                                (_, v) => {
                                    b.insert(k, v);
                                }
                            }
                        }
                    }
                    serde_json::from_value(base).map_err(|e| invalid_options(py, "call options", &e.to_string()))?
                }
            };
            let body = bytes_from_py(&delivery.get_item("body")?)?;
            let headers = headers_from_py(&delivery.get_item("headers")?)?;
            let max_body_bytes = options.max_body_bytes;
            let delivery = WebhookDelivery { body, headers };
            let inner = match secret {
                Some(secret) => CoreCall::signed_webhook(&delivery, &secret, options),
                None => CoreCall::webhook(&delivery, options),
            };
            Ok(MessagesCall { inner, max_body_bytes })
        })
    }

    /// What to do next: `{"type": "send", "request": {...}}`, `{"type":
    /// "wait", "until_ms": n, "retry": event | None}` or `{"type": "done"}`.
    /// A wait's `retry` is the core's `stream_retry` event when the failed
    /// attempt had handed out stream events (a consumer should discard
    /// them). After a wait, the call's clock is at least `until_ms`.
    fn next_action<'py>(&mut self, py: Python<'py>, now_ms: u64) -> PyResult<Bound<'py, PyDict>> {
        guard(py, || {
            let d = PyDict::new(py);
            match self.inner.next_action(now_ms) {
                CallAction::Send(http) => {
                    d.set_item("type", "send")?;
                    d.set_item("request", http_to_py(py, &http)?)?;
                }
                CallAction::Wait { until_ms, retry } => {
                    d.set_item("type", "wait")?;
                    d.set_item("until_ms", until_ms)?;
                    match retry {
                        Some(n) => d.set_item("retry", to_py(py, &n.to_event())?)?,
                        None => d.set_item("retry", py.None())?,
                    }
                }
                CallAction::Done => d.set_item("type", "done")?,
            }
            Ok(d)
        })
    }

    /// The response's status and headers arrived: `"whole"` (read the body,
    /// then `handle_body`) or `"chunks"` (feed `handle_chunk`, then
    /// `handle_end`).
    fn handle_head(&mut self, py: Python<'_>, status: u16, headers: &Bound<'_, PyAny>, now_ms: u64) -> PyResult<&'static str> {
        guard(py, || {
            let headers = Headers(headers_from_py(headers)?);
            Ok(match self.inner.handle_head(status, &headers, now_ms) {
                ReadBody::Whole => "whole",
                ReadBody::Chunks => "chunks",
            })
        })
    }

    /// The whole body arrived.
    fn handle_body(&mut self, py: Python<'_>, body: &Bound<'_, PyAny>, now_ms: u64) -> PyResult<()> {
        guard(py, || {
            if let Ok(b) = body.cast::<PyBytes>() {
                self.inner.handle_body(b.as_bytes(), now_ms);
            } else {
                self.inner.handle_body(&bytes_from_py(body)?, now_ms);
            }
            Ok(())
        })
    }

    /// A chunk of a streamed body arrived: the events it completed (dicts).
    fn handle_chunk<'py>(&mut self, py: Python<'py>, data: &Bound<'py, PyAny>, now_ms: u64) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            let events = if let Ok(b) = data.cast::<PyBytes>() {
                self.inner.handle_chunk(b.as_bytes(), now_ms)
            } else {
                self.inner.handle_chunk(&bytes_from_py(data)?, now_ms)
            };
            events_to_py(py, &events)
        })
    }

    /// The streamed body ended cleanly: the events still pending.
    fn handle_end<'py>(&mut self, py: Python<'py>, now_ms: u64) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            let events = self.inner.handle_end(now_ms);
            events_to_py(py, &events)
        })
    }

    /// The transport failed: `{"type": "connection"}` for any failure of the
    /// connection (the core reads one while a stream is read as a cut
    /// stream), or `{"type": "timeout", "phase": "connect"}`.
    fn handle_transport_error(&mut self, py: Python<'_>, failure: &Bound<'_, PyAny>, now_ms: u64) -> PyResult<()> {
        guard(py, || {
            let failure: Failure = de_from_py(failure)?.map_err(|e| invalid_options(py, "failure", &e))?;
            self.inner.handle_transport_error(failure, now_ms);
            Ok(())
        })
    }

    /// The connection failed (refused, reset, DNS, TLS): `base_url` is where
    /// the request went (only its origin is kept) and `detail` what the
    /// operating system said (never the URL or a header). A call that ends on
    /// it raises `APIConnectionError` saying both.
    fn handle_connection_error(&mut self, py: Python<'_>, base_url: &str, detail: &str, now_ms: u64) -> PyResult<()> {
        guard(py, || {
            self.inner.handle_connection_error(base_url, detail, now_ms);
            Ok(())
        })
    }

    /// Whether the body should still be read.
    fn is_reading(&self) -> bool {
        self.inner.is_reading()
    }

    /// While a request is out: the Unix time in ms by which the next input
    /// must arrive (the head and a whole body within `read_timeout_ms`, each
    /// chunk of a stream within `idle_timeout_ms`). Wait no longer; then call
    /// `handle_timeout`.
    fn deadline(&self) -> Option<u64> {
        self.inner.deadline()
    }

    /// Time passed with nothing read: past the deadline, the attempt fails
    /// with a timeout (`read` or `idle`) and the retry policy decides.
    /// Returns whether it did.
    fn handle_timeout(&mut self, py: Python<'_>, now_ms: u64) -> PyResult<bool> {
        guard(py, || Ok(self.inner.handle_timeout(now_ms)))
    }

    /// The current attempt, 0-based.
    #[getter]
    fn attempt(&self) -> u32 {
        self.inner.attempt()
    }

    /// The most bytes of a whole (non-streamed) body the core accepts
    /// (`CallOptions::max_body_bytes`): a driver reads at most one more, so
    /// that the core can report `too_large` without the rest in memory.
    #[getter]
    fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// The message so far (a dict), while a stream is read.
    fn partial_message<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        guard(py, || match self.inner.partial_message() {
            Some(m) => ser_to_py(py, m).map(Some),
            None => Ok(None),
        })
    }

    /// What became of the last attempt: None, `{"outcome": "succeeded"}` or
    /// `{"outcome": "failed", "error": str, "decision": {...}}`.
    fn last_attempt<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        guard(py, || {
            let Some(last) = self.inner.last_attempt() else { return Ok(None) };
            let d = PyDict::new(py);
            match last {
                AttemptOutcome::Succeeded => d.set_item("outcome", "succeeded")?,
                AttemptOutcome::Failed { error, decision } => {
                    d.set_item("outcome", "failed")?;
                    d.set_item("error", error.to_string())?;
                    d.set_item("decision", ser_to_py(py, decision)?)?;
                }
            }
            Ok(Some(d))
        })
    }

    /// The result once `next_action` said done: `{"message", "tool_input_issues",
    /// "attempts", "request_id", "rate_limit"}`, or the failure raised (with
    /// `code`, `attempts`, `give_up_reason` and, for a stream that failed
    /// part-way, `partial`). None if there is no result (yet). With `lazy`,
    /// `message` is a `LazyMessage` (its parts converted on first access)
    /// instead of a dict.
    #[pyo3(signature = (lazy = false))]
    fn take_result<'py>(&mut self, py: Python<'py>, lazy: bool) -> PyResult<Option<Bound<'py, PyDict>>> {
        guard(py, || match self.inner.take_result() {
            None => Ok(None),
            Some(Err(e)) => Err(call_error(py, e)),
            Some(Ok(c)) if lazy => completed_to_py_lazy(py, c).map(Some),
            Some(Ok(c)) => completed_to_py(py, &c).map(Some),
        })
    }

    /// The result of any kind of call once `next_action` said done: as
    /// `take_result` for a message, `{"input_tokens", "attempts",
    /// "request_id"}` for `count_tokens`, `{"delivered": status, "attempts"}`
    /// for a webhook; or the failure raised. None if there is none (yet).
    fn take_output<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        guard(py, || match self.inner.take_output() {
            None => Ok(None),
            Some(Err(e)) => Err(call_error(py, e)),
            Some(Ok(CallOutput::Message(c))) => completed_to_py(py, &c).map(Some),
            Some(Ok(CallOutput::InputTokens { input_tokens, attempts, request_id })) => {
                let d = PyDict::new(py);
                d.set_item("input_tokens", input_tokens)?;
                d.set_item("attempts", attempts)?;
                d.set_item("request_id", request_id.as_deref())?;
                Ok(Some(d))
            }
            Some(Ok(CallOutput::Delivered { status, attempts })) => {
                let d = PyDict::new(py);
                d.set_item("delivered", status)?;
                d.set_item("attempts", attempts)?;
                Ok(Some(d))
            }
        })
    }
}

fn completed_to_py<'py>(py: Python<'py>, c: &Completed) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("message", ser_to_py(py, &c.message)?)?;
    d.set_item("tool_input_issues", ser_to_py(py, &c.tool_input_issues)?)?;
    d.set_item("attempts", c.attempts)?;
    d.set_item("request_id", c.request_id.as_deref())?;
    d.set_item("rate_limit", ser_to_py(py, &c.rate_limit)?)?;
    Ok(d)
}

/// As `completed_to_py`, with the message handed over unconverted, as a
/// `LazyMessage` that owns it.
fn completed_to_py_lazy(py: Python<'_>, c: Completed) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("tool_input_issues", ser_to_py(py, &c.tool_input_issues)?)?;
    d.set_item("attempts", c.attempts)?;
    d.set_item("request_id", c.request_id.as_deref())?;
    d.set_item("rate_limit", ser_to_py(py, &c.rate_limit)?)?;
    d.set_item("message", Bound::new(py, crate::lazy::LazyMessage::new(c.message))?)?;
    Ok(d)
}

/// The core's options of a webhook delivery (`CallOptions::webhook`), as a
/// dict: retries, the wait for an answer, the most of it read.
#[pyfunction]
pub fn default_webhook_options<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
    guard(py, || ser_to_py(py, &CallOptions::webhook()))
}

/// The default idle timeout of a stream, in ms.
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = creditpool_core::call::DEFAULT_IDLE_TIMEOUT_MS;

/// The defaults of a call's options, as a dict.
#[pyfunction]
pub fn default_call_options<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
    guard(py, || ser_to_py(py, &CallOptions::default()))
}
