//! Prices, costs, worst cases and model capabilities.

use crate::convert::{de_from_py, from_py, ser_to_py, to_py};
use crate::errors::{capability_error, guard, invalid_options, pricing_error};
use creditpool_core::api::Usage;
use creditpool_core::pricing::{check_request_with, cost, worst_case, CostOptions, EstimateMode, ModelPrices, PriceTable as CoreTable};
use pyo3::prelude::*;
use pyo3::types::PyList;
use serde_json::json;
use std::sync::Arc;

/// The dated price table, with the caller's overrides.
#[pyclass(module = "creditpool._creditpool", frozen)]
pub struct PriceTable {
    inner: Arc<CoreTable>,
}

impl PriceTable {
    /// The core table, shared (an agent run keeps it).
    pub fn shared(&self) -> Arc<CoreTable> {
        Arc::clone(&self.inner)
    }
}

use crate::request::request_from_py;

#[pymethods]
impl PriceTable {
    /// The built-in table with `overrides`, a list of `{"model": id, "prices":
    /// {...}}` (decimal strings in USD per million tokens), applied in order.
    #[new]
    #[pyo3(signature = (overrides = None))]
    fn new(py: Python<'_>, overrides: Option<&Bound<'_, PyAny>>) -> PyResult<PriceTable> {
        guard(py, || {
            let mut table = CoreTable::builtin();
            if let Some(list) = overrides {
                let list = from_py(list)?;
                let items = list.as_array().ok_or_else(|| invalid_options(py, "price overrides", "expected a list"))?;
                for o in items {
                    let model = o.get("model").and_then(|m| m.as_str()).ok_or_else(|| invalid_options(py, "price overrides", "each entry needs a string `model`"))?;
                    let prices = ModelPrices::from_json_value(o.get("prices").unwrap_or(&serde_json::Value::Null)).map_err(|e| pricing_error(py, &e))?;
                    table = table.with_override(model, prices);
                }
            }
            Ok(PriceTable { inner: Arc::new(table) })
        })
    }

    /// The date the prices were checked.
    #[getter]
    fn as_of(&self) -> &str {
        self.inner.as_of()
    }

    /// Every model ID the built-in rows list.
    fn model_ids<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.inner.model_ids())
    }

    /// What a response cost, per component, in int nano-USD: `{"input",
    /// "cache_write_5m", "cache_write_1h", "cache_read", "output",
    /// "web_search", "code_execution", "total", "long_context",
    /// "container_minutes", "estimated"}`. `options`: `batch`,
    /// `inference_geo`, `refused_before_output`, `stop_reason`,
    /// `container_billed`, `container_files`, `container_minutes`.
    #[pyo3(signature = (model, usage, options = None))]
    fn cost<'py>(&self, py: Python<'py>, model: &str, usage: &Bound<'py, PyAny>, options: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let usage: Usage = de_from_py(usage)?.map_err(|e| invalid_options(py, "usage", &e))?;
            let options: CostOptions = match options {
                None => CostOptions::new(),
                Some(o) => de_from_py(o)?.map_err(|e| invalid_options(py, "cost options", &e))?,
            };
            let c = cost(&self.inner, model, &usage, &options).map_err(|e| pricing_error(py, &e))?;
            ser_to_py(py, &c)
        })
    }

    /// The most a request (dict) whose body is `body_len` bytes can cost:
    /// `{"input_tokens_bound", "output_tokens_bound", "cost", "may_overshoot",
    /// "container_minutes", "container_cost", "notes"}`. `mode`: `{"type": "bound" | "heuristic"}` or `{"type":
    /// "exact", "input_tokens": n}`.
    #[pyo3(signature = (request, body_len, mode = None))]
    fn worst_case<'py>(&self, py: Python<'py>, request: &Bound<'py, PyAny>, body_len: usize, mode: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let request = request_from_py(request)?;
            let mode: EstimateMode = match mode {
                None => EstimateMode::default(),
                Some(m) => de_from_py(m)?.map_err(|e| invalid_options(py, "estimate mode", &e))?,
            };
            let e = worst_case(&self.inner, &request, body_len, mode).map_err(|e| pricing_error(py, &e))?;
            to_py(
                py,
                &json!({
                    "input_tokens_bound": e.input_tokens_bound,
                    "output_tokens_bound": e.output_tokens_bound,
                    "cost": e.cost,
                    "may_overshoot": e.may_overshoot,
                    "container_minutes": e.container_minutes,
                    "container_cost": e.container_cost,
                    "notes": e.notes,
                }),
            )
        })
    }

    /// Raises `CapabilityError` when the request's model is expected to
    /// refuse one of its parameters.
    fn check_request(&self, py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(py, || {
            let request = request_from_py(request)?;
            check_request_with(&self.inner, &request).map_err(|e| capability_error(py, &e))
        })
    }

    fn __repr__(&self) -> String {
        format!("PriceTable(as_of={:?})", self.inner.as_of())
    }
}

/// Checks a request (dict) against the built-in capability table.
#[pyfunction]
pub fn check_capabilities(py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<()> {
    guard(py, || {
        let request = request_from_py(request)?;
        creditpool_core::pricing::check_request(&request).map_err(|e| capability_error(py, &e))
    })
}
