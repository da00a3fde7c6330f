//! `MessagesCall`: one Messages API call with retries, as the core's state
//! machine. The Python clients drive it: send what it says, report what came
//! back, sleep when it says to wait.

use crate::convert::{bytes_from_py, de_from_py, headers_from_py, ser_to_py};
use crate::errors::{api_error, guard, invalid_options, invalid_request, parse_error, raise, request_error, stream_error, Exc};
use crate::request::{http_to_py, RequestBuilder};
use creditpool_core::api::{MessageRequest, StreamEvent};
use creditpool_core::call::{AttemptError, AttemptOutcome, CallAction, CallError, CallOptions, MessagesCall as CoreCall, ReadBody};
use creditpool_core::http::Headers;
use creditpool_core::retry::{Failure, TimeoutPhase};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

/// One call with retries. See the core's `creditpool_core::call` for the
/// protocol: `next_action(now_ms)` says send / wait / done; `handle_head`,
/// `handle_body`, `handle_chunk`, `handle_end` and `handle_transport_error`
/// report what happened; `take_result()` gives the message or raises.
#[pyclass(module = "creditpool._creditpool")]
pub struct MessagesCall {
    inner: CoreCall,
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
        other => raise(py, Exc::CreditpoolError, &other.to_string(), &[]),
    }
}

/// The exception for a transport `Failure`.
pub fn transport_error(py: Python<'_>, f: &Failure) -> PyErr {
    match f {
        Failure::Timeout { phase } => {
            let phase = match phase {
                TimeoutPhase::Connect => "connect",
                TimeoutPhase::Read => "read",
                TimeoutPhase::Idle => "idle",
                _ => "other",
            };
            let p = pyo3::types::PyString::new(py, phase).into_any();
            raise(py, Exc::APITimeoutError, &format!("{phase} timeout"), &[("phase", p)])
        }
        Failure::Connection => raise(py, Exc::APIConnectionError, "the connection failed", &[]),
        other => raise(py, Exc::APIConnectionError, &format!("transport failure: {other:?}"), &[]),
    }
}

fn call_error(py: Python<'_>, e: &CallError) -> PyErr {
    let err = attempt_error(py, &e.error);
    let value = err.value(py);
    let set = || -> PyResult<()> {
        value.setattr("attempts", e.attempts)?;
        value.setattr("give_up_reason", ser_to_py(py, &e.reason)?)?;
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
    /// A call of `POST /v1/messages` for a request dict. `options`: `stream`,
    /// `retry` (a retry policy), `idle_timeout_ms`, `max_body_bytes`,
    /// `max_event_bytes`, `jitter_seed`.
    #[new]
    #[pyo3(signature = (builder, request, options = None))]
    fn new(py: Python<'_>, builder: &RequestBuilder, request: &Bound<'_, PyAny>, options: Option<&Bound<'_, PyAny>>) -> PyResult<MessagesCall> {
        guard(py, || {
            let options = call_options(py, options)?;
            let request: MessageRequest = de_from_py(request)?.map_err(|e| invalid_request(py, &e))?;
            let inner = CoreCall::new(builder.core(), &request, options).map_err(|e| request_error(py, &e))?;
            Ok(MessagesCall { inner })
        })
    }

    /// What to do next: `{"type": "send", "request": {...}}`, `{"type":
    /// "wait", "until_ms": n}` or `{"type": "done"}`.
    fn next_action<'py>(&mut self, py: Python<'py>, now_ms: u64) -> PyResult<Bound<'py, PyDict>> {
        guard(py, || {
            let d = PyDict::new(py);
            match self.inner.next_action(now_ms) {
                CallAction::Send(http) => {
                    d.set_item("type", "send")?;
                    d.set_item("request", http_to_py(py, &http)?)?;
                }
                CallAction::Wait { until_ms } => {
                    d.set_item("type", "wait")?;
                    d.set_item("until_ms", until_ms)?;
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

    /// The connection failed or timed out: `{"type": "connection"}` or
    /// `{"type": "timeout", "phase": "connect" | "read" | "idle"}`.
    fn handle_transport_error(&mut self, py: Python<'_>, failure: &Bound<'_, PyAny>, now_ms: u64) -> PyResult<()> {
        guard(py, || {
            let failure: Failure = de_from_py(failure)?.map_err(|e| invalid_options(py, "failure", &e))?;
            self.inner.handle_transport_error(failure, now_ms);
            Ok(())
        })
    }

    /// Whether the body should still be read.
    fn is_reading(&self) -> bool {
        self.inner.is_reading()
    }

    /// While a stream is read: the Unix time in ms by which the next chunk
    /// must arrive.
    fn deadline(&self) -> Option<u64> {
        self.inner.deadline()
    }

    /// The current attempt, 0-based.
    #[getter]
    fn attempt(&self) -> u32 {
        self.inner.attempt()
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
    /// `attempts` and `give_up_reason`). None if there is no result (yet).
    fn take_result<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        guard(py, || match self.inner.take_result() {
            None => Ok(None),
            Some(Err(e)) => Err(call_error(py, &e)),
            Some(Ok(c)) => {
                let d = PyDict::new(py);
                d.set_item("message", ser_to_py(py, &c.message)?)?;
                d.set_item("tool_input_issues", ser_to_py(py, &c.tool_input_issues)?)?;
                d.set_item("attempts", c.attempts)?;
                d.set_item("request_id", c.request_id.as_deref())?;
                d.set_item("rate_limit", ser_to_py(py, &c.rate_limit)?)?;
                Ok(Some(d))
            }
        })
    }
}

/// The default idle timeout of a stream, in ms.
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = creditpool_core::call::DEFAULT_IDLE_TIMEOUT_MS;

/// The defaults of a call's options, as a dict.
#[pyfunction]
pub fn default_call_options<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
    guard(py, || ser_to_py(py, &CallOptions::default()))
}
