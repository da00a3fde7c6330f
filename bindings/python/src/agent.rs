//! `AgentRun`: one agent's run (model call, tools, model call, ...) as the
//! core's state machine (`creditpool_core::agent`), drawing on a shared
//! `Pool`. The Python `Agent` drives it: sends what it says, runs the tools it
//! names, sleeps when it says to wait. Every rule (reserve before a send,
//! settle or release after, retries, tool checks, when the run ends) is the
//! core's.

use crate::convert::{bytes_from_py, de_from_py, headers_from_py, ser_to_py};
use crate::errors::{agent_error, guard, invalid_options, invalid_request, run_status_error};
use crate::pool::Pool;
use crate::pricing::PriceTable;
use crate::request::{http_to_py, RequestBuilder};
use creditpool_core::agent::{AgentAction, AgentConfig, AgentRun as CoreRun, ToolResult, WaitReason};
use creditpool_core::api::{MessageRequest, StreamEvent};
use creditpool_core::call::ReadBody;
use creditpool_core::http::Headers;
use creditpool_core::retry::Failure;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

/// One agent run. `next_action(pool, now_ms)` says what to do: send a
/// request, call tools, wait, or done; the `handle_*` methods report what
/// happened (those that can settle or release a reservation take the pool);
/// `outcome()` is the result once done.
#[pyclass(module = "creditpool._creditpool")]
pub struct AgentRun {
    inner: CoreRun,
}

fn events_to_py<'py>(py: Python<'py>, events: &[StreamEvent]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for ev in events {
        list.append(ser_to_py(py, ev)?)?;
    }
    Ok(list)
}

/// Calls `f` with the bytes of `data`, borrowed when it is `bytes`.
fn with_bytes<R>(data: &Bound<'_, PyAny>, f: impl FnOnce(&[u8]) -> R) -> PyResult<R> {
    if let Ok(b) = data.cast::<PyBytes>() {
        return Ok(f(b.as_bytes()));
    }
    let owned = bytes_from_py(data)?;
    Ok(f(&owned))
}

#[pymethods]
impl AgentRun {
    /// A run of `request` (a Messages API request dict: its messages hold the
    /// prompt, its tools the agent's tools) with `config` (the core's
    /// `AgentConfig`: `agent_id`, `max_turns`, `max_spend`, `call`,
    /// `estimate`, `lease_ms`). The tools, the request and the model's prices
    /// are checked here, before anything costs money.
    #[new]
    fn new(py: Python<'_>, config: &Bound<'_, PyAny>, request: &Bound<'_, PyAny>, builder: &RequestBuilder, prices: &PriceTable) -> PyResult<AgentRun> {
        guard(py, || {
            let config: AgentConfig = de_from_py(config)?.map_err(|e| invalid_options(py, "agent configuration", &e))?;
            let request: MessageRequest = de_from_py(request)?.map_err(|e| invalid_request(py, &e))?;
            let inner = CoreRun::new(config, request, builder.core().clone(), prices.shared()).map_err(|e| agent_error(py, &e))?;
            Ok(AgentRun { inner })
        })
    }

    /// What to do next: `{"type": "send", "request": {...}}` (the
    /// reservation is held), `{"type": "call_tools", "calls": [{"id",
    /// "name", "input"}]}`, `{"type": "wait", "until_ms", "reason": "retry" |
    /// "rate_limited"}` or `{"type": "done"}`.
    fn next_action<'py>(&mut self, py: Python<'py>, pool: &Pool, now_ms: u64) -> PyResult<Bound<'py, PyDict>> {
        guard(py, || {
            let action = {
                let mut p = pool.lock();
                self.inner.next_action(&mut p, now_ms)
            };
            let d = PyDict::new(py);
            match action {
                AgentAction::Send(http) => {
                    d.set_item("type", "send")?;
                    d.set_item("request", http_to_py(py, &http)?)?;
                }
                AgentAction::CallTools(calls) => {
                    d.set_item("type", "call_tools")?;
                    d.set_item("calls", ser_to_py(py, &calls)?)?;
                }
                AgentAction::Wait { until_ms, reason } => {
                    d.set_item("type", "wait")?;
                    d.set_item("until_ms", until_ms)?;
                    let reason = match reason {
                        WaitReason::Retry => "retry",
                        WaitReason::RateLimited => "rate_limited",
                    };
                    d.set_item("reason", reason)?;
                }
                AgentAction::Done => d.set_item("type", "done")?,
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

    /// The whole body arrived (the attempt is settled or released).
    fn handle_body(&mut self, py: Python<'_>, pool: &Pool, body: &Bound<'_, PyAny>, now_ms: u64) -> PyResult<()> {
        guard(py, || {
            let run = &mut self.inner;
            with_bytes(body, |b| py.detach(|| run.handle_body(&mut pool.lock(), b, now_ms)))
        })
    }

    /// A chunk of a streamed body arrived: the events it completed (dicts).
    /// When the attempt ends, it is settled or released at once.
    fn handle_chunk<'py>(&mut self, py: Python<'py>, pool: &Pool, data: &Bound<'py, PyAny>, now_ms: u64) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            let run = &mut self.inner;
            let events = with_bytes(data, |b| py.detach(|| run.handle_chunk(&mut pool.lock(), b, now_ms)))?;
            events_to_py(py, &events)
        })
    }

    /// The streamed body ended: the events still pending.
    fn handle_end<'py>(&mut self, py: Python<'py>, pool: &Pool, now_ms: u64) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            let events = self.inner.handle_end(&mut pool.lock(), now_ms);
            events_to_py(py, &events)
        })
    }

    /// The connection failed or timed out: `{"type": "connection"}` or
    /// `{"type": "timeout", "phase": "connect" | "read" | "idle"}`.
    fn handle_transport_error(&mut self, py: Python<'_>, pool: &Pool, failure: &Bound<'_, PyAny>, now_ms: u64) -> PyResult<()> {
        guard(py, || {
            let failure: Failure = de_from_py(failure)?.map_err(|e| invalid_options(py, "failure", &e))?;
            self.inner.handle_transport_error(&mut pool.lock(), failure, now_ms);
            Ok(())
        })
    }

    /// The results of the last `call_tools`: `[{"tool_use_id", "content":
    /// str | [blocks], "is_error": bool}]`. A missing result becomes an
    /// `is_error` result; results for IDs not asked for are ignored.
    fn handle_tool_results(&mut self, py: Python<'_>, results: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(py, || {
            let results: Vec<ToolResult> = de_from_py(results)?.map_err(|e| invalid_options(py, "tool results", &e))?;
            self.inner.handle_tool_results(results);
            Ok(())
        })
    }

    /// Ends the run now, releasing a held reservation.
    fn cancel(&mut self, py: Python<'_>, pool: &Pool, now_ms: u64) -> PyResult<()> {
        guard(py, || {
            self.inner.cancel(&mut pool.lock(), now_ms);
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

    /// Whether the run is over.
    fn is_done(&self) -> bool {
        self.inner.is_done()
    }

    /// Money settled by this run so far, nano-USD.
    #[getter]
    fn spent(&self) -> u64 {
        self.inner.spent().nanos()
    }

    /// The agent's name in the pool.
    #[getter]
    fn agent_id(&self) -> &str {
        &self.inner.config().agent_id
    }

    /// The conversation so far (a list of message dicts).
    fn transcript<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || ser_to_py(py, &self.inner.transcript()))
    }

    /// The outcome as the core's JSON once done (`status` and its fields,
    /// `agent_id`, `final_message`, `final_text`, `turns`, `total_cost`,
    /// `usage`, `attribution`, `transcript`), else None.
    fn outcome<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        guard(py, || match self.inner.outcome() {
            Some(o) => ser_to_py(py, &o).map(Some),
            None => Ok(None),
        })
    }

    /// The exception the finished run's status stands for (not raised), or
    /// None when it ended with an answer or is not over: a pool refusal as its
    /// `PoolRefusedError` subclass, a failed call as its `APIError` subclass,
    /// `MaxTurnsError`, `BudgetExhaustedError`, else `AgentRunError`.
    fn error(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        guard(py, || {
            let Some(o) = self.inner.outcome() else { return Ok(None) };
            Ok(run_status_error(py, &o.status).map(|e| e.into_value(py).into_any()))
        })
    }

    fn __repr__(&self) -> String {
        format!("AgentRun(agent_id={:?}, done={}, spent={})", self.inner.config().agent_id, self.inner.is_done(), self.inner.spent())
    }
}
