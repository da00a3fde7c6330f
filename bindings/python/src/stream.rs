//! `MessageStream` (SSE bytes to events and the final message) and the bare
//! `SseDecoder`.

use crate::convert::{bytes_from_py, ser_to_py, to_py};
use crate::errors::{guard, raise, sse_error, stream_error};
use creditpool_core::sse::decoder::{SseDecoder as CoreDecoder, SseEvent, SseLimits};
use creditpool_core::sse::MessageStream as CoreStream;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

fn limits(max_event_bytes: Option<usize>) -> SseLimits {
    match max_event_bytes {
        Some(m) => SseLimits::default().with_max_event_bytes(m),
        None => SseLimits::default(),
    }
}

/// Calls `f` with the bytes of `data` (borrowed when it is `bytes`).
fn with_bytes<R>(data: &Bound<'_, PyAny>, f: impl FnOnce(&[u8]) -> R) -> PyResult<R> {
    if let Ok(b) = data.cast::<PyBytes>() {
        return Ok(f(b.as_bytes()));
    }
    let owned = bytes_from_py(data)?;
    Ok(f(&owned))
}

/// Decodes and accumulates one streamed Messages API response: feed bytes,
/// pull events (dicts, already applied to the message), then `finish()` for
/// the final message.
#[pyclass(module = "creditpool._creditpool")]
pub struct MessageStream {
    inner: Option<CoreStream>,
}

impl MessageStream {
    fn stream(&mut self, py: Python<'_>) -> PyResult<&mut CoreStream> {
        self.inner.as_mut().ok_or_else(|| raise(py, "stream_finished", "the stream is finished", &[]))
    }
}

#[pymethods]
impl MessageStream {
    /// A stream; `max_event_bytes` caps one event (default 32 MiB).
    #[new]
    #[pyo3(signature = (max_event_bytes = None))]
    fn new(max_event_bytes: Option<usize>) -> MessageStream {
        MessageStream { inner: Some(CoreStream::with_limits(limits(max_event_bytes))) }
    }

    /// Hands over the next bytes of the body.
    fn feed(&mut self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(py, || {
            let s = self.stream(py)?;
            with_bytes(data, |b| s.feed(b))
        })
    }

    /// Marks the end of the body.
    fn end_of_input(&mut self, py: Python<'_>) -> PyResult<()> {
        guard(py, || {
            self.stream(py)?.end_of_input();
            Ok(())
        })
    }

    /// The next event as a dict, or None when more bytes are needed (or the
    /// stream is drained after `end_of_input`). A failure is raised, and
    /// raised again by every later call.
    fn next_event<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        guard(py, || match self.stream(py)?.next_event() {
            Ok(Some(ev)) => ser_to_py(py, &ev).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(stream_error(py, &e)),
        })
    }

    /// Feeds `data` and returns every event now complete, in one call. When a
    /// failure follows some events, those are returned and the failure is
    /// raised by the next call.
    #[pyo3(signature = (data, end = false))]
    fn events<'py>(&mut self, py: Python<'py>, data: &Bound<'py, PyAny>, end: bool) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            let s = self.stream(py)?;
            with_bytes(data, |b| s.feed(b))?;
            if end {
                s.end_of_input();
            }
            let out = PyList::empty(py);
            loop {
                match s.next_event() {
                    Ok(Some(ev)) => out.append(ser_to_py(py, &ev)?)?,
                    Ok(None) => break,
                    Err(e) if out.is_empty() => return Err(stream_error(py, &e)),
                    Err(_) => break,
                }
            }
            Ok(out)
        })
    }

    /// The message so far (a dict), once `message_start` has arrived.
    fn message<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        guard(py, || match self.stream(py)?.message() {
            Some(m) => ser_to_py(py, m).map(Some),
            None => Ok(None),
        })
    }

    /// The input of the tool block at `index` as far as it has arrived.
    fn partial_tool_input<'py>(&mut self, py: Python<'py>, index: usize) -> PyResult<Option<Bound<'py, PyAny>>> {
        guard(py, || match self.stream(py)?.accumulator().partial_tool_input(index) {
            Some(v) => to_py(py, &v).map(Some),
            None => Ok(None),
        })
    }

    /// Ends the stream: `{"message": dict, "tool_input_issues": list}`, or
    /// `StreamIncompleteError` (with `partial`), or the stream's failure.
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        guard(py, || {
            let s = self.inner.take().ok_or_else(|| raise(py, "stream_finished", "the stream is finished", &[]))?;
            let finished = s.finish().map_err(|e| stream_error(py, &e))?;
            let d = PyDict::new(py);
            d.set_item("message", ser_to_py(py, &finished.message)?)?;
            d.set_item("tool_input_issues", ser_to_py(py, &finished.tool_input_issues)?)?;
            Ok(d)
        })
    }
}

/// An incremental Server-Sent-Events decoder (WHATWG rules).
#[pyclass(module = "creditpool._creditpool")]
pub struct SseDecoder {
    inner: CoreDecoder,
}

fn event_to_py<'py>(py: Python<'py>, ev: &SseEvent) -> PyResult<Bound<'py, PyAny>> {
    let d = PyDict::new(py);
    d.set_item("event", ev.event.as_deref())?;
    d.set_item("data", &ev.data)?;
    d.set_item("id", ev.id.as_deref())?;
    d.set_item("retry", ev.retry)?;
    Ok(d.into_any())
}

#[pymethods]
impl SseDecoder {
    /// A decoder; `max_event_bytes` caps one event (default 32 MiB).
    #[new]
    #[pyo3(signature = (max_event_bytes = None))]
    fn new(max_event_bytes: Option<usize>) -> SseDecoder {
        SseDecoder { inner: CoreDecoder::new(limits(max_event_bytes)) }
    }

    /// Hands over the next bytes.
    fn feed(&mut self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(py, || with_bytes(data, |b| self.inner.feed(b)))
    }

    /// The next event (`{"event", "data", "id", "retry"}`), or None when more
    /// bytes are needed.
    fn next_event<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        guard(py, || match self.inner.next_event() {
            Ok(Some(ev)) => event_to_py(py, &ev).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(sse_error(py, &e)),
        })
    }

    /// Ends the input: the events still waiting, one per call, then None for a
    /// clean end, or `StreamIncompleteError` when the input stopped inside an
    /// event.
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        guard(py, || match self.inner.finish() {
            Ok(Some(ev)) => event_to_py(py, &ev).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(sse_error(py, &e)),
        })
    }
}
