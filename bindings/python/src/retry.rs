//! `RetryPolicy`: whether and when to retry, decided by the core.

use crate::convert::{de_from_py, headers_from_py, ser_to_py};
use crate::errors::{guard, invalid_options};
use creditpool_core::http::Headers;
use creditpool_core::retry::{Failure, RetryPolicy as CorePolicy};
use pyo3::prelude::*;

/// A retry policy (`max_retries`, `max_retry_after_ms`, `initial_backoff_ms`,
/// `max_backoff_ms`, `jitter`; unknown fields are an error).
#[pyclass(module = "creditpool._creditpool", frozen)]
pub struct RetryPolicy {
    inner: CorePolicy,
}

#[pymethods]
impl RetryPolicy {
    /// A policy from a dict; missing fields take the defaults.
    #[new]
    #[pyo3(signature = (policy = None))]
    fn new(py: Python<'_>, policy: Option<&Bound<'_, PyAny>>) -> PyResult<RetryPolicy> {
        guard(py, || {
            let inner = match policy {
                None => CorePolicy::default(),
                Some(p) => de_from_py(p)?.map_err(|e| invalid_options(py, "retry policy", &e))?,
            };
            Ok(RetryPolicy { inner })
        })
    }

    /// What to do after attempt `attempt` (0-based) failed with `failure` (a
    /// dict, see the vectors' `Failure`): `{"decision": "retry", "delay_ms",
    /// "source", "reason"}` or `{"decision": "give_up", "reason"}`.
    #[pyo3(signature = (attempt, failure, headers, jitter_seed, now_ms))]
    fn decide<'py>(
        &self,
        py: Python<'py>,
        attempt: u32,
        failure: &Bound<'py, PyAny>,
        headers: Option<&Bound<'py, PyAny>>,
        jitter_seed: u64,
        now_ms: u64,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let failure: Failure = de_from_py(failure)?.map_err(|e| invalid_options(py, "failure", &e))?;
            let headers = match headers {
                Some(h) if !h.is_none() => Some(Headers(headers_from_py(h)?)),
                _ => None,
            };
            ser_to_py(py, &self.inner.decide(attempt, &failure, headers.as_ref(), jitter_seed, now_ms))
        })
    }

    /// The policy as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || ser_to_py(py, &self.inner))
    }

    /// Retries after the first attempt.
    #[getter]
    fn max_retries(&self) -> u32 {
        self.inner.max_retries
    }

    fn __repr__(&self) -> String {
        format!("RetryPolicy({:?})", self.inner)
    }
}
