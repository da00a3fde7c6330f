//! `RequestBuilder`: a Messages API request as plain HTTP data.

use crate::convert::{de_from_py, from_py, to_py};
use crate::errors::{guard, invalid_options, invalid_request, request_error};
use creditpool_core::api::MessageRequest;
use creditpool_core::http::HttpRequest;
use creditpool_core::request::{RequestBuilder as CoreBuilder, RequestOptions};
use creditpool_core::ApiKey;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

/// Builds `POST /v1/messages` and `count_tokens` requests with the key, the
/// version and beta headers and the pool selector. Holds the key; its `repr`
/// never shows it.
#[pyclass(module = "creditpool._creditpool", frozen)]
pub struct RequestBuilder {
    inner: CoreBuilder,
}

/// A caller's request dict as a `MessageRequest`, by the core's rule
/// (`request_from_params`: parameter names checked, `extra_body` sent as
/// given): `UnknownParameterError` or `RequestBuildError` otherwise.
pub(crate) fn request_from_py(obj: &Bound<'_, PyAny>) -> PyResult<MessageRequest> {
    let py = obj.py();
    creditpool_core::request::request_from_params(crate::convert::from_py(obj)?).map_err(|e| crate::errors::request_error(py, &e))
}

/// An `HttpRequest` as a dict: `method`, `path`, `headers` (a list of
/// `(name, value)` tuples), `body` (bytes) and `stream`.
pub fn http_to_py<'py>(py: Python<'py>, http: &HttpRequest) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("method", http.method.as_str())?;
    d.set_item("path", &http.path)?;
    let headers = PyList::empty(py);
    for (k, v) in &http.headers {
        headers.append(PyTuple::new(py, [k.as_str(), v.as_str()])?)?;
    }
    d.set_item("headers", headers)?;
    d.set_item("body", PyBytes::new(py, &http.body))?;
    d.set_item("stream", http.stream)?;
    Ok(d)
}

impl RequestBuilder {
    /// The core builder.
    pub fn core(&self) -> &CoreBuilder {
        &self.inner
    }
}

#[pymethods]
impl RequestBuilder {
    /// A builder for a key and options (`anthropic_version`, `betas`,
    /// `browser`, `pool_selector`, `extra_headers`; unknown options are an
    /// error).
    #[new]
    #[pyo3(signature = (api_key, options = None))]
    fn new(py: Python<'_>, api_key: &str, options: Option<&Bound<'_, PyAny>>) -> PyResult<RequestBuilder> {
        guard(py, || {
            let options: RequestOptions = match options {
                None => RequestOptions::default(),
                Some(o) => de_from_py(o)?.map_err(|e| invalid_options(py, "request options", &e))?,
            };
            let inner = CoreBuilder::new(options.into_config(ApiKey::new(api_key))).map_err(|e| request_error(py, &e))?;
            Ok(RequestBuilder { inner })
        })
    }

    /// `POST /v1/messages` for a request dict; `stream` asks for SSE.
    #[pyo3(signature = (request, stream = false))]
    fn messages<'py>(&self, py: Python<'py>, request: &Bound<'py, PyAny>, stream: bool) -> PyResult<Bound<'py, PyDict>> {
        guard(py, || {
            let request = request_from_py(request)?;
            let http = self.inner.messages(&request, stream).map_err(|e| request_error(py, &e))?;
            http_to_py(py, &http)
        })
    }

    /// `POST /v1/messages/count_tokens` for a request dict.
    fn count_tokens<'py>(&self, py: Python<'py>, request: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
        guard(py, || {
            let request = request_from_py(request)?;
            let http = self.inner.count_tokens(&request).map_err(|e| request_error(py, &e))?;
            http_to_py(py, &http)
        })
    }

    /// The options in force (never the key; extra headers by name, each
    /// value shown as `****`).
    fn options<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let c = self.inner.config();
            let selector = match &c.pool_selector {
                None => serde_json::Value::Bool(false),
                Some(s) => serde_json::json!({"field": s.field, "value": s.value}),
            };
            let v = serde_json::json!({
                "anthropic_version": c.anthropic_version,
                "betas": c.betas,
                "browser": c.browser,
                "pool_selector": selector,
                // Header values may be credentials: names only.
                "extra_headers": c.extra_headers.iter().map(|(k, _)| serde_json::json!([k, "****"])).collect::<Vec<_>>(),
            });
            to_py(py, &v)
        })
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!("RequestBuilder(api_key=****, anthropic_version={:?}, betas={:?})", c.anthropic_version, c.betas)
    }
}

/// Checks that a dict has the shape of a Messages API request and returns it
/// normalized (as the core writes it back).
#[pyfunction]
pub fn normalize_request<'py>(py: Python<'py>, request: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    guard(py, || {
        let request = request_from_py(request)?;
        let v = serde_json::to_value(&request).map_err(|e| invalid_request(py, &e.to_string()))?;
        to_py(py, &v)
    })
}

/// The base URL a client sends to, by the core's rule (`resolve_base_url`):
/// `given`, else `env` (the variable's value) when not empty, else the API;
/// raises `InvalidOptionsError` (`invalid_base_url`) for one that is not an
/// absolute http(s) URL; trailing slashes dropped.
#[pyfunction]
#[pyo3(signature = (given, env))]
pub fn resolve_base_url(py: Python<'_>, given: Option<&str>, env: Option<&str>) -> PyResult<String> {
    creditpool_core::request::resolve_base_url(given, env).map_err(|e| request_error(py, &e))
}

/// JSON of a Python value, for tests of the conversion itself.
#[pyfunction]
pub fn json_round_trip<'py>(py: Python<'py>, value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    guard(py, || to_py(py, &from_py(value)?))
}

/// Checks request parameter names by the core's rule (`check_params`):
/// raises `UnknownParameterError` for the first name the Messages API does not
/// have, suggesting the closest of its fields and of `also_known` (the
/// caller's own argument names, such as an agent's `max_turns`).
#[pyfunction]
#[pyo3(signature = (names, also_known = Vec::new()))]
pub fn check_request_params(py: Python<'_>, names: Vec<String>, also_known: Vec<String>) -> PyResult<()> {
    guard(py, || {
        let known: Vec<&str> = also_known.iter().map(String::as_str).collect();
        creditpool_core::request::check_params(names.iter().map(String::as_str), &known).map_err(|e| request_error(py, &e))
    })
}
