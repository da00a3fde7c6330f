//! Tool definitions and `tool_use` input validation.

use crate::convert::{de_from_py, from_py, ser_to_py};
use crate::errors::{guard, invalid_options, tool_definition_error, tool_input_error};
use creditpool_core::api::{Tool, ToolSpec, ToolUseBlock};
use creditpool_core::tools::{check_tool as core_check_tool, check_tools as core_check_tools, ToolSet as CoreSet};
use pyo3::prelude::*;
use pyo3::types::PyList;

/// Checks one custom tool definition (a dict); raises `ToolDefinitionError`.
#[pyfunction]
pub fn check_tool(py: Python<'_>, tool: &Bound<'_, PyAny>) -> PyResult<()> {
    guard(py, || {
        let tool: Tool = de_from_py(tool)?.map_err(|e| invalid_options(py, "tool", &e))?;
        core_check_tool(&tool).map_err(|e| tool_definition_error(py, &e))
    })
}

/// Checks a request's whole `tools` list (custom and server tools).
#[pyfunction]
pub fn check_tools(py: Python<'_>, tools: &Bound<'_, PyAny>) -> PyResult<()> {
    guard(py, || {
        let tools: Vec<ToolSpec> = de_from_py(tools)?.map_err(|e| invalid_options(py, "tools", &e))?;
        core_check_tools(&tools).map_err(|e| tool_definition_error(py, &e))
    })
}

/// A checked set of tools (a request's `tools` list) with compiled schemas.
#[pyclass(module = "creditpool._creditpool", frozen)]
pub struct ToolSet {
    inner: CoreSet,
}

#[pymethods]
impl ToolSet {
    /// Checks every definition and compiles every schema; server tools take
    /// part in the duplicate-name check only.
    #[new]
    fn new(py: Python<'_>, tools: &Bound<'_, PyAny>) -> PyResult<ToolSet> {
        guard(py, || {
            let tools: Vec<ToolSpec> = de_from_py(tools)?.map_err(|e| invalid_options(py, "tools", &e))?;
            let inner = CoreSet::from_specs(&tools).map_err(|e| tool_definition_error(py, &e))?;
            Ok(ToolSet { inner })
        })
    }

    /// Checks a `tool_use` call (`{"id", "name", "input"}`); `truncated` says
    /// it was cut off at `max_tokens`. Raises `ToolInputInvalidError`, whose
    /// `tool_result` is the `is_error` block to send back.
    #[pyo3(signature = (call, truncated = false))]
    fn check_call(&self, py: Python<'_>, call: &Bound<'_, PyAny>, truncated: bool) -> PyResult<()> {
        guard(py, || {
            let call: ToolUseBlock = de_from_py(call)?.map_err(|e| invalid_options(py, "tool_use call", &e))?;
            match self.inner.check_call_with(&call, truncated) {
                Ok(()) => Ok(()),
                Err(e) => {
                    let err = tool_input_error(py, &e);
                    let block = ser_to_py(py, &e.into_tool_result(call.id.clone()))?;
                    err.value(py).setattr("tool_result", block)?;
                    Err(err)
                }
            }
        })
    }

    /// Checks an input against the schema of the tool `name`.
    fn check_input(&self, py: Python<'_>, name: &str, input: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(py, || {
            let input = from_py(input)?;
            self.inner.check_input(name, &input).map_err(|e| tool_input_error(py, &e))
        })
    }

    /// The custom tools' names, in definition order.
    fn names<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.inner.names())
    }

    /// The definition of a tool, or None.
    fn get<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        guard(py, || match self.inner.get(name) {
            Some(t) => ser_to_py(py, t).map(Some),
            None => Ok(None),
        })
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!("ToolSet({:?})", self.inner.names().collect::<Vec<_>>())
    }
}


/// A tool's return value (plain JSON data) as `tool_result` content, by the
/// core's one rule (`ToolOutput::content`): a string as is, None as empty
/// text, a non-empty list of objects that each have a string `type` as
/// content blocks, anything else as its JSON text.
#[pyfunction]
pub fn tool_result_content<'py>(py: Python<'py>, value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    guard(py, || {
        let value = from_py(value)?;
        ser_to_py(py, &creditpool_core::agent::ToolOutput::content(value))
    })
}

/// The `tool_result` (`{"tool_use_id", "content", "is_error"}`) for a call
/// (`{"id", "name", "input"}`) from what its tool did (`{"value": ...}`,
/// `{"content": ...}`, `{"failed": "message"}` or `"unknown"`), worded by the
/// core's default texts: `agent::tool_result`, for a tool run outside an
/// agent run (an agent run words its results itself).
#[pyfunction]
pub fn tool_result<'py>(py: Python<'py>, call: &Bound<'py, PyAny>, output: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    guard(py, || {
        use creditpool_core::agent::{AgentTexts, ToolCall, ToolOutput};
        let call: ToolCall = de_from_py(call)?.map_err(|e| invalid_options(py, "tool call", &e))?;
        let output: ToolOutput = de_from_py(output)?.map_err(|e| invalid_options(py, "tool output", &e))?;
        ser_to_py(py, &creditpool_core::agent::tool_result(&AgentTexts::default(), &call, output))
    })
}
