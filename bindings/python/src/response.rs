//! Reading non-streaming responses and rate-limit headers.

use crate::convert::{headers_from_py, ser_to_py};
use crate::errors::{guard, response_error};
use creditpool_core::http::Headers;
use creditpool_core::ratelimit::RateLimitInfo;
use creditpool_core::response::{parse_count_tokens as core_count, parse_message as core_parse, ResponseLimits};
use pyo3::prelude::*;

fn limits(max_body_bytes: Option<usize>) -> ResponseLimits {
    let mut l = ResponseLimits::default();
    if let Some(m) = max_body_bytes {
        l.max_body_bytes = m;
    }
    l
}

/// Reads the response of `POST /v1/messages`: the message as a dict, or an
/// `APIError` subclass / `ResponseParseError`.
#[pyfunction]
#[pyo3(signature = (status, headers, body, max_body_bytes = None))]
pub fn parse_message<'py>(py: Python<'py>, status: u16, headers: &Bound<'py, PyAny>, body: &[u8], max_body_bytes: Option<usize>) -> PyResult<Bound<'py, PyAny>> {
    guard(py, || {
        let headers = Headers(headers_from_py(headers)?);
        let message = core_parse(status, &headers, body, &limits(max_body_bytes)).map_err(|e| response_error(py, &e))?;
        ser_to_py(py, &message)
    })
}

/// Reads the response of `POST /v1/messages/count_tokens`: the input tokens.
#[pyfunction]
#[pyo3(signature = (status, headers, body, max_body_bytes = None))]
pub fn parse_count_tokens(py: Python<'_>, status: u16, headers: &Bound<'_, PyAny>, body: &[u8], max_body_bytes: Option<usize>) -> PyResult<u64> {
    guard(py, || {
        let headers = Headers(headers_from_py(headers)?);
        core_count(status, &headers, body, &limits(max_body_bytes)).map_err(|e| response_error(py, &e))
    })
}

/// The rate-limit and retry headers of a response received at `now_ms`.
#[pyfunction]
pub fn rate_limit_info<'py>(py: Python<'py>, headers: &Bound<'py, PyAny>, now_ms: u64) -> PyResult<Bound<'py, PyAny>> {
    guard(py, || {
        let headers = Headers(headers_from_py(headers)?);
        ser_to_py(py, &RateLimitInfo::from_headers(&headers, now_ms))
    })
}
