//! `AgentRun`: one agent's run (model call, tools, model call, ...) as the
//! core's state machine (`creditpool_core::agent`). It holds no pool: it asks
//! for pool operations (`{"type": "pool", "op": {...}}`) that the Python
//! driver applies to a pool store (`creditpool.PoolStore`, for example
//! `Pool`) and hands back with `handle_pool`. The driver sends what it says,
//! runs the tools it names, sleeps when it says to wait. Every rule (reserve
//! before a send, settle or release after, lease renewal, retries, tool
//! checks, the words the model reads, when the run ends) is the core's.

use crate::convert::{bytes_from_py, de_from_py, headers_from_py, ser_to_py, to_py};
use crate::errors::{agent_error, guard, invalid_options, run_status_error};
use crate::pricing::PriceTable;
use crate::request::{http_to_py, RequestBuilder};
use creditpool_core::agent::{AgentAction, AgentConfig, AgentRun as CoreRun, ToolCall, ToolOutput, ToolResult, WaitReason};
use creditpool_core::api::{MessageRequest, StreamEvent};
use creditpool_core::call::ReadBody;
use creditpool_core::http::Headers;
use creditpool_core::pool::{OpResult, PoolOp};
use creditpool_core::retry::Failure;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

/// One agent run. `next_action(now_ms)` says what to do: apply a pool
/// operation, send a request, call tools, wait, or done; the `handle_*`
/// methods report what happened; `outcome()` is the result once done.
#[pyclass(module = "creditpool._creditpool")]
pub struct AgentRun {
    inner: CoreRun,
    /// The calls' `max_body_bytes` (see `MessagesCall.max_body_bytes`).
    max_body_bytes: usize,
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

fn op_to_py<'py>(py: Python<'py>, op: &PoolOp) -> PyResult<Bound<'py, PyAny>> {
    ser_to_py(py, op)
}

/// A pool store's answer (the JSON of the core's `OpResult`, tagged by
/// `"result"`) as the core's value. The core's `OpResult` is not
/// `Deserialize`, so its tagged variants are read here one by one, each
/// through the core's own serde form of its content.
fn op_result(mut v: serde_json::Value) -> Result<OpResult, String> {
    use serde_json::from_value as de;
    let map = v.as_object_mut().ok_or("a pool result must be an object")?;
    let tag = map.remove("result").and_then(|t| t.as_str().map(str::to_owned)).ok_or("a pool result needs a string `result`")?;
    let id = |m: &serde_json::Map<String, serde_json::Value>| m.get("id").and_then(serde_json::Value::as_u64).ok_or_else(|| format!("`{tag}` needs an integer `id`"));
    let e = |e: serde_json::Error| e.to_string();
    Ok(match tag.as_str() {
        "reserved" => OpResult::Reserved(de(v).map_err(e)?),
        "extended" => OpResult::Extended(de(v).map_err(e)?),
        "refused" => OpResult::Refused(de(v).map_err(e)?),
        "settled" => OpResult::Settled(de(v).map_err(e)?),
        "released" => OpResult::Released(de(v).map_err(e)?),
        "duplicate" => OpResult::Duplicate { id: id(map)? },
        "closed" => OpResult::Closed { id: id(map)? },
        "error" => OpResult::Error(de(v).map_err(e)?),
        "ok" => OpResult::Ok,
        "restored" => OpResult::Restored,
        "ticked" => OpResult::Ticked {
            expired: de(map.get("expired").cloned().unwrap_or_else(|| serde_json::Value::Array(Vec::new()))).map_err(e)?,
            rolled_over: map.get("rolled_over").and_then(serde_json::Value::as_bool).unwrap_or(false),
        },
        other => return Err(format!("unknown pool result {other:?}")),
    })
}

#[pymethods]
impl AgentRun {
    /// A run of `request` (a Messages API request dict: its messages hold the
    /// prompt, its tools the agent's tools; `max_tokens` 0 or absent takes
    /// the config's) with `config` (the core's `AgentConfig`: `agent_id`,
    /// `max_turns`, `max_spend`, `call`, `estimate`, `lease_ms`,
    /// `max_tokens`, `texts`; missing fields take the core's defaults). The
    /// tools, the request and the model's prices are checked here, before
    /// anything costs money.
    #[new]
    fn new(py: Python<'_>, config: &Bound<'_, PyAny>, request: &Bound<'_, PyAny>, builder: &RequestBuilder, prices: &PriceTable) -> PyResult<AgentRun> {
        guard(py, || {
            let config: AgentConfig = de_from_py(config)?.map_err(|e| invalid_options(py, "agent configuration", &e))?;
            let mut request = crate::convert::from_py(request)?;
            if let Some(map) = request.as_object_mut() {
                map.entry("max_tokens").or_insert(serde_json::Value::from(0));
            }
            let request: MessageRequest = creditpool_core::request::request_from_params(request).map_err(|e| crate::errors::request_error(py, &e))?;
            let max_body_bytes = config.call.max_body_bytes;
            let inner = CoreRun::new(config, request, builder.core().clone(), prices.shared()).map_err(|e| agent_error(py, &e))?;
            Ok(AgentRun { inner, max_body_bytes })
        })
    }

    /// What to do next: `{"type": "pool", "op": {...}}` (apply the core's
    /// `PoolOp` to the pool store, then `handle_pool(result)`), `{"type":
    /// "send", "request": {...}}` (the reservation is held), `{"type":
    /// "call_tools", "calls": [{"id", "name", "input"}]}`, `{"type": "wait",
    /// "until_ms", "reason": "retry" | "rate_limited", "retry": event |
    /// None}` (`retry`: the `stream_retry` event when a stream that had
    /// handed out events is tried again) or `{"type": "done"}`.
    fn next_action<'py>(&mut self, py: Python<'py>, now_ms: u64) -> PyResult<Bound<'py, PyDict>> {
        guard(py, || {
            let action = self.inner.next_action(now_ms);
            let d = PyDict::new(py);
            match action {
                AgentAction::Pool(op) => {
                    d.set_item("type", "pool")?;
                    d.set_item("op", op_to_py(py, &op)?)?;
                }
                AgentAction::Send(http) => {
                    d.set_item("type", "send")?;
                    d.set_item("request", http_to_py(py, &http)?)?;
                }
                AgentAction::CallTools(calls) => {
                    d.set_item("type", "call_tools")?;
                    d.set_item("calls", ser_to_py(py, &calls)?)?;
                }
                AgentAction::Wait { until_ms, reason, retry } => {
                    d.set_item("type", "wait")?;
                    d.set_item("until_ms", until_ms)?;
                    let reason = match reason {
                        WaitReason::Retry => "retry",
                        WaitReason::RateLimited => "rate_limited",
                    };
                    d.set_item("reason", reason)?;
                    match retry {
                        Some(n) => d.set_item("retry", to_py(py, &n.to_event())?)?,
                        None => d.set_item("retry", py.None())?,
                    }
                }
                AgentAction::Done => d.set_item("type", "done")?,
            }
            Ok(d)
        })
    }

    /// The pool store's answer (the core's `OpResult` dict, tagged by
    /// `"result"`) to the operation of the last `pool` action or
    /// `poll_pool`.
    fn handle_pool(&mut self, py: Python<'_>, result: &Bound<'_, PyAny>, now_ms: u64) -> PyResult<()> {
        guard(py, || {
            let result = op_result(crate::convert::from_py(result)?).map_err(|e| invalid_options(py, "pool result", &e))?;
            self.inner.handle_pool(result, now_ms);
            Ok(())
        })
    }

    /// While a response is read: a pool operation to apply now (a lease
    /// renewal, `extend`), or None. Ask after every input while
    /// `is_reading()`; hand the store's answer to `handle_pool`.
    fn poll_pool<'py>(&mut self, py: Python<'py>, now_ms: u64) -> PyResult<Option<Bound<'py, PyAny>>> {
        guard(py, || match self.inner.poll_pool(now_ms) {
            Some(op) => op_to_py(py, &op).map(Some),
            None => Ok(None),
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

    /// The whole body arrived (its settle or release is the next action).
    fn handle_body(&mut self, py: Python<'_>, body: &Bound<'_, PyAny>, now_ms: u64) -> PyResult<()> {
        guard(py, || {
            let run = &mut self.inner;
            with_bytes(body, |b| py.detach(|| run.handle_body(b, now_ms)))
        })
    }

    /// A chunk of a streamed body arrived: the events it completed (dicts).
    fn handle_chunk<'py>(&mut self, py: Python<'py>, data: &Bound<'py, PyAny>, now_ms: u64) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            let run = &mut self.inner;
            let events = with_bytes(data, |b| py.detach(|| run.handle_chunk(b, now_ms)))?;
            events_to_py(py, &events)
        })
    }

    /// The streamed body ended: the events still pending.
    fn handle_end<'py>(&mut self, py: Python<'py>, now_ms: u64) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            let events = self.inner.handle_end(now_ms);
            events_to_py(py, &events)
        })
    }

    /// The transport failed: `{"type": "connection"}` for any failure of the
    /// connection (mid-stream, the core reads it as a cut stream), or
    /// `{"type": "timeout", "phase": "connect"}`.
    fn handle_transport_error(&mut self, py: Python<'_>, failure: &Bound<'_, PyAny>, now_ms: u64) -> PyResult<()> {
        guard(py, || {
            let failure: Failure = de_from_py(failure)?.map_err(|e| invalid_options(py, "failure", &e))?;
            self.inner.handle_transport_error(failure, now_ms);
            Ok(())
        })
    }

    /// The connection failed: `base_url` is where the request went (only its
    /// origin is kept), `detail` what the operating system said. A run that
    /// fails on it says both.
    fn handle_connection_error(&mut self, py: Python<'_>, base_url: &str, detail: &str, now_ms: u64) -> PyResult<()> {
        guard(py, || {
            self.inner.handle_connection_error(base_url, detail, now_ms);
            Ok(())
        })
    }

    /// Time passed with nothing read: past the call's deadline the attempt
    /// times out. Returns whether it did.
    fn handle_timeout(&mut self, py: Python<'_>, now_ms: u64) -> PyResult<bool> {
        guard(py, || Ok(self.inner.handle_timeout(now_ms)))
    }

    /// The results of the last `call_tools`, each built with `tool_result`
    /// (or `{"tool_use_id", "content": str | [blocks], "is_error": bool}`).
    /// A missing result becomes an `is_error` result; results for IDs not
    /// asked for are ignored.
    fn handle_tool_results(&mut self, py: Python<'_>, results: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(py, || {
            let results: Vec<ToolResult> = de_from_py(results)?.map_err(|e| invalid_options(py, "tool results", &e))?;
            self.inner.handle_tool_results(results);
            Ok(())
        })
    }

    /// The result for a call (`{"id", "name", "input"}`) from what its tool
    /// did (the core's `ToolOutput`): `{"value": any}` (a return value,
    /// turned into content by the core's rule), `{"content": str | [blocks]}`,
    /// `{"failed": "message"}` or `"unknown"` (no function for that tool).
    /// The words the model reads are the run's (`AgentConfig.texts`).
    fn tool_result<'py>(&self, py: Python<'py>, call: &Bound<'py, PyAny>, output: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let call: ToolCall = de_from_py(call)?.map_err(|e| invalid_options(py, "tool call", &e))?;
            let output: ToolOutput = de_from_py(output)?.map_err(|e| invalid_options(py, "tool output", &e))?;
            ser_to_py(py, &self.inner.tool_result(&call, output))
        })
    }

    /// Ends the run now. A reservation held for a call in progress is
    /// settled at its worst case, flagged estimated (the request may have
    /// reached the model): keep calling `next_action` and applying the pool
    /// operations it asks for until it says done.
    fn cancel(&mut self, py: Python<'_>, now_ms: u64) -> PyResult<()> {
        guard(py, || {
            self.inner.cancel(now_ms);
            Ok(())
        })
    }

    /// Whether the body should still be read.
    fn is_reading(&self) -> bool {
        self.inner.is_reading()
    }

    /// While a request is out: the Unix time in ms by which the next input
    /// must arrive, or earlier when the lease is due for renewal. Wait no
    /// longer; then call `handle_timeout` and `poll_pool`.
    fn deadline(&self) -> Option<u64> {
        self.inner.deadline()
    }

    /// Whether the run is over.
    fn is_done(&self) -> bool {
        self.inner.is_done()
    }

    /// Money settled by this run so far, nano-USD.
    /// The most bytes of a whole body its calls accept (see
    /// `MessagesCall.max_body_bytes`).
    #[getter]
    fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

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
    /// None when it ended with an answer or is not over: the class the core's
    /// table gives the status's `code` (a pool refusal as its
    /// `PoolRefusedError` subclass, a failed call as the class of its error,
    /// with `partial`, `MaxTurnsError`, `BudgetExhaustedError`, ...), and
    /// `AgentRunError` for a cancelled run.
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
