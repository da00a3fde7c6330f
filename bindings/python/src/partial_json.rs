//! Parsing JSON that may have been cut off.

use crate::convert::to_py;
use crate::errors::{guard, partial_json_error};
use creditpool_core::partial_json::parse_partial;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// Parses text that may be a JSON document cut off anywhere, as the official
/// SDK's accumulator does: `(value, complete)`, or `PartialJsonError`.
#[pyfunction]
pub fn parse_partial_json<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyTuple>> {
    guard(py, || {
        let p = parse_partial(text).map_err(|e| partial_json_error(py, &e))?;
        let value = to_py(py, &p.value)?;
        PyTuple::new(py, [value, pyo3::types::PyBool::new(py, p.complete).to_owned().into_any()])
    })
}
