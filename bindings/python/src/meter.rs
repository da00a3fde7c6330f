//! `Meter`: the books of one call made through the official SDK's middleware
//! (`creditpool_core::meter`). The middleware (`creditpool/_middleware.py`)
//! drives it: every rule (which requests are metered, the selector, the worst
//! case, one hold per call across the SDK's retries, settle or release by how
//! an attempt ended) is the core's.

use crate::convert::{bytes_from_py, de_from_py, headers_from_py, ser_to_py};
use crate::errors::{guard, invalid_options, obj, pricing_error, raise, refusal_error, request_error};
use crate::pricing::PriceTable;
use creditpool_core::call::ReadBody;
use creditpool_core::http::Headers;
use creditpool_core::meter::{is_metered as core_is_metered, Meter as CoreMeter, MeterAction, MeterConfig, MeterError, ThreadBook as CoreThreadBook, TransportFailure};
use creditpool_core::pool::OpResult;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

/// Whether the SDK's request is metered: `POST` to a path ending in
/// `/v1/messages` (`count_tokens` and every other endpoint pass through).
#[pyfunction]
pub fn meter_applies(method: &str, path: &str) -> bool {
    core_is_metered(method, path)
}

/// The message threads one middleware has seen (the core's `ThreadBook`):
/// handed to each `Meter` of the middleware, which bounds a thread continue
/// request from it and records each thread's response in it.
#[pyclass(module = "creditpool._creditpool")]
pub struct ThreadBook {
    inner: CoreThreadBook,
}

#[pymethods]
impl ThreadBook {
    /// An empty book of at most `capacity` threads (default: the core's
    /// `DEFAULT_MAX_THREADS`); past it the oldest is forgotten.
    #[new]
    #[pyo3(signature = (capacity = None))]
    fn new(capacity: Option<usize>) -> ThreadBook {
        ThreadBook { inner: capacity.map_or_else(CoreThreadBook::new, CoreThreadBook::with_capacity) }
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }
}

/// The books of one SDK call (all its attempts).
#[pyclass(module = "creditpool._creditpool")]
pub struct Meter {
    inner: CoreMeter,
}

fn meter_error(py: Python<'_>, e: &MeterError) -> PyErr {
    match e {
        MeterError::Request(e) => request_error(py, e),
        MeterError::Pricing(e) => pricing_error(py, e),
        MeterError::UnknownThread { previous_message_id, expired } => {
            raise(py, e.code(), &e.to_string(), &[("previous_message_id", obj(py, previous_message_id.as_str())), ("expired", obj(py, *expired))])
        }
        other => raise(py, other.code(), &other.to_string(), &[]),
    }
}

#[pymethods]
impl Meter {
    /// The books for a call whose JSON body the SDK built (`bytes`), with
    /// `config` (the core's `MeterConfig`: `agent`, `lease_ms`, `estimate`,
    /// `pool_selector`, `max_retries`). Raises the core's typed error when
    /// the body is not a Messages request or cannot be priced. With
    /// `threads` (the middleware's `ThreadBook`) and `now_ms`, a thread
    /// continue request is bounded from the thread the book knows; with
    /// `threads="pool"`, from the book kept in the pool store (the core's
    /// `Meter::with_store_threads`: the lookup and the record are pool
    /// operations it asks for).
    #[new]
    #[pyo3(signature = (config, body, prices, threads = None, now_ms = 0))]
    fn new(py: Python<'_>, config: &Bound<'_, PyAny>, body: &Bound<'_, PyAny>, prices: &PriceTable, threads: Option<&Bound<'_, PyAny>>, now_ms: u64) -> PyResult<Meter> {
        guard(py, || {
            let config: MeterConfig = de_from_py(config)?.map_err(|e| invalid_options(py, "middleware configuration", &e))?;
            let body = bytes_from_py(body)?;
            let made = match threads {
                None => CoreMeter::new(&config, prices.shared(), &body),
                Some(t) => match t.cast::<ThreadBook>() {
                    Ok(book) => CoreMeter::with_threads(&config, prices.shared(), &body, &book.borrow().inner, now_ms),
                    Err(_) if t.extract::<String>().is_ok_and(|s| s == "pool") => CoreMeter::with_store_threads(&config, prices.shared(), &body),
                    Err(_) => return Err(invalid_options(py, "threads", "expected a ThreadBook or \"pool\"")),
                },
            };
            let inner = made.map_err(|e| meter_error(py, &e))?;
            Ok(Meter { inner })
        })
    }

    /// The body to send: the SDK's, with the pool selector.
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.body())
    }

    /// Whether `body` differs from the SDK's.
    #[getter]
    fn body_changed(&self) -> bool {
        self.inner.body_changed()
    }

    /// Whether the request asks for a stream.
    #[getter]
    fn is_stream(&self) -> bool {
        self.inner.is_stream()
    }

    /// The worst case each hold reserves, nano-USD.
    #[getter]
    fn amount(&self) -> u64 {
        self.inner.amount().nanos()
    }

    /// The SDK begins attempt `retries_taken` (0 first) with `max_retries`
    /// (None: the config's).
    fn begin_attempt(&mut self, py: Python<'_>, retries_taken: u32, max_retries: Option<u32>, now_ms: u64) -> PyResult<()> {
        guard(py, || {
            self.inner.begin_attempt(retries_taken, max_retries, now_ms);
            Ok(())
        })
    }

    /// What to do next: `{"type": "pool", "op": {...}}` (apply it, then
    /// `handle_pool`), `{"type": "wait", "until_ms"}`, `{"type": "send"}`,
    /// `{"type": "idle"}` or `{"type": "done"}`. A refusal raises its
    /// `PoolRefusedError` subclass; a failed pool store its error.
    fn next_action<'py>(&mut self, py: Python<'py>, now_ms: u64) -> PyResult<Bound<'py, PyDict>> {
        guard(py, || {
            let d = PyDict::new(py);
            match self.inner.next_action(now_ms) {
                MeterAction::Pool(op) => {
                    d.set_item("type", "pool")?;
                    d.set_item("op", ser_to_py(py, &op)?)?;
                }
                MeterAction::Wait { until_ms } => {
                    d.set_item("type", "wait")?;
                    d.set_item("until_ms", until_ms)?;
                }
                MeterAction::Send => d.set_item("type", "send")?,
                MeterAction::Idle => d.set_item("type", "idle")?,
                MeterAction::Done => d.set_item("type", "done")?,
                MeterAction::Refused(r) => return Err(refusal_error(py, &r)),
                MeterAction::Invalid(e) => return Err(meter_error(py, &e)),
                MeterAction::Error { code, message } => return Err(raise(py, &code, &message, &[])),
            }
            Ok(d)
        })
    }

    /// The pool store's answer (the core's `OpResult` dict).
    fn handle_pool(&mut self, py: Python<'_>, result: &Bound<'_, PyAny>, now_ms: u64) -> PyResult<()> {
        guard(py, || {
            let result: OpResult = de_from_py(result)?.map_err(|e| invalid_options(py, "pool result", &e))?;
            self.inner.handle_pool(result, now_ms);
            Ok(())
        })
    }

    /// The attempt's response head: `"chunks"` (feed copies of the stream's
    /// chunks) or `"whole"` (hand over the whole body).
    fn handle_head(&mut self, py: Python<'_>, status: u16, headers: &Bound<'_, PyAny>, now_ms: u64) -> PyResult<&'static str> {
        guard(py, || {
            let headers = Headers(headers_from_py(headers)?);
            Ok(match self.inner.handle_head(status, &headers, now_ms) {
                ReadBody::Whole => "whole",
                ReadBody::Chunks => "chunks",
            })
        })
    }

    /// The attempt's whole body.
    fn handle_body(&mut self, py: Python<'_>, body: &[u8], now_ms: u64) -> PyResult<()> {
        guard(py, || {
            self.inner.handle_body(body, now_ms);
            Ok(())
        })
    }

    /// A copy of a chunk of the stream.
    fn handle_chunk(&mut self, py: Python<'_>, chunk: &[u8], now_ms: u64) -> PyResult<()> {
        guard(py, || {
            self.inner.handle_chunk(chunk, now_ms);
            Ok(())
        })
    }

    /// The stream ended.
    fn handle_end(&mut self, py: Python<'_>, now_ms: u64) -> PyResult<()> {
        guard(py, || {
            self.inner.handle_end(now_ms);
            Ok(())
        })
    }

    /// The attempt failed in transport: `"not_sent"` (the connection never
    /// opened) or `"lost"` (after the request may have left).
    fn handle_transport_error(&mut self, py: Python<'_>, failure: &str, now_ms: u64) -> PyResult<()> {
        guard(py, || {
            let failure: TransportFailure = serde_json::from_value(serde_json::json!({"type": failure})).map_err(|e| invalid_options(py, "transport failure", &e.to_string()))?;
            self.inner.handle_transport_error(failure, now_ms);
            Ok(())
        })
    }

    /// The caller gave up (closed or dropped the stream, cancelled).
    fn abandon(&mut self, py: Python<'_>, now_ms: u64) -> PyResult<()> {
        guard(py, || {
            self.inner.abandon(now_ms);
            Ok(())
        })
    }

    /// Whether an attempt's body is being read.
    fn is_reading(&self) -> bool {
        self.inner.is_reading()
    }

    /// What the meter did: `reservations`, `attempts`, `settled`,
    /// `estimated` (nano-USD) and `done`.
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || ser_to_py(py, &self.inner.summary()))
    }
}
