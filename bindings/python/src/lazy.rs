//! `LazyMessage`: a message the core parsed, handed to Python without
//! converting it. Each top-level field and each content block becomes a
//! Python object on first access, once (the same object every time after);
//! `to_dict()` builds the whole dict from those parts, the rest converted
//! then, and is the same dict on every call. The objects are exactly what
//! `ser_to_py(message)` builds in one pass (the same keys, in the same order,
//! and the same values), so laziness changes when the work is done, not what
//! Python sees.
//!
//! Speed (benches/RESULTS.md, issue 15): `messages.create` returns before any
//! Python object of the content exists; a caller who reads
//! `msg.usage.output_tokens` or `msg.stop_reason` never pays for the tool
//! inputs' objects.
//!
//! Threads: the object is `frozen` (shared, immutable); each part is made at
//! most once visible: two threads racing to build the same part may both
//! build it, the first one stored wins and both get that one. Nothing here
//! blocks or runs Python code while holding a lock (a part is built first,
//! then stored with `OnceLock::set`), so a finalizer that reads the message
//! again cannot deadlock. The parts are visited by the cycle collector.

use crate::convert::ser_to_py;
use crate::errors::guard;
use creditpool_core::api::Message;
use pyo3::exceptions::{PyIndexError, PyKeyError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use pyo3::{PyTraverseError, PyVisit};
use std::sync::OnceLock;

/// The message's own fields, in the order its serde form writes them (the
/// unknown fields, `extra`, follow in their map's order).
const FIELDS: [&str; 8] = ["id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"];
const CONTENT: usize = 4;

/// A parsed message whose Python objects are built on first access.
#[pyclass(module = "creditpool._creditpool", frozen)]
pub struct LazyMessage {
    message: Message,
    /// The known fields' objects, by their position in [`FIELDS`].
    fields: [OnceLock<Py<PyAny>>; FIELDS.len()],
    /// Each content block's dict.
    blocks: Box<[OnceLock<Py<PyAny>>]>,
    /// Each unknown field's object, in `message.extra`'s order.
    extra: Box<[OnceLock<Py<PyAny>>]>,
    /// The whole message.
    whole: OnceLock<Py<PyDict>>,
}

/// The cell's object, built by `make` if no thread stored one yet (built
/// outside any lock; the first one stored is kept and returned to all).
fn once<'py>(py: Python<'py>, cell: &OnceLock<Py<PyAny>>, make: impl FnOnce() -> PyResult<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
    if let Some(v) = cell.get() {
        return Ok(v.bind(py).clone());
    }
    let made = make()?.unbind();
    let _ = cell.set(made);
    match cell.get() {
        Some(v) => Ok(v.bind(py).clone()),
        None => Err(crate::errors::raise(py, "internal_error", "a message part was not kept", &[])),
    }
}

impl LazyMessage {
    /// Takes the core's message; nothing is converted yet.
    pub fn new(message: Message) -> LazyMessage {
        let blocks = (0..message.content.len()).map(|_| OnceLock::new()).collect();
        let extra = (0..message.extra.len()).map(|_| OnceLock::new()).collect();
        LazyMessage { message, fields: std::array::from_fn(|_| OnceLock::new()), blocks, extra, whole: OnceLock::new() }
    }

    fn block_at<'py>(&self, py: Python<'py>, i: usize) -> PyResult<Bound<'py, PyAny>> {
        let (Some(cell), Some(block)) = (self.blocks.get(i), self.message.content.get(i)) else {
            return Err(PyIndexError::new_err("content block index out of range"));
        };
        once(py, cell, || ser_to_py(py, block))
    }

    fn content<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        once(py, &self.fields[CONTENT], || {
            let items = (0..self.blocks.len()).map(|i| self.block_at(py, i)).collect::<PyResult<Vec<_>>>()?;
            Ok(PyList::new(py, items)?.into_any())
        })
    }

    fn field_at<'py>(&self, py: Python<'py>, i: usize) -> PyResult<Bound<'py, PyAny>> {
        let m = &self.message;
        if i == CONTENT {
            return self.content(py);
        }
        once(py, &self.fields[i], || match i {
            0 => ser_to_py(py, &m.id),
            1 => ser_to_py(py, &m.kind),
            2 => ser_to_py(py, &m.role),
            3 => ser_to_py(py, &m.model),
            5 => ser_to_py(py, &m.stop_reason),
            6 => ser_to_py(py, &m.stop_sequence),
            _ => ser_to_py(py, &m.usage),
        })
    }

    fn extra_at<'py>(&self, py: Python<'py>, i: usize, value: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
        match self.extra.get(i) {
            Some(cell) => once(py, cell, || ser_to_py(py, value)),
            None => Err(crate::errors::raise(py, "internal_error", "a message field out of range", &[])),
        }
    }

    /// The field's object, or None when the message has no such field.
    fn lookup<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        if let Some(i) = FIELDS.iter().position(|f| *f == key) {
            return self.field_at(py, i).map(Some);
        }
        match self.message.extra.iter().enumerate().find(|(_, (k, _))| k.as_str() == key) {
            Some((i, (_, v))) => self.extra_at(py, i, v).map(Some),
            None => Ok(None),
        }
    }
}

#[pymethods]
impl LazyMessage {
    /// The whole message as a dict (the same dict on every call), built from
    /// the parts already made and the rest made now.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        guard(py, || {
            if let Some(d) = self.whole.get() {
                return Ok(d.bind(py).clone());
            }
            let d = PyDict::new(py);
            for (i, name) in FIELDS.iter().enumerate() {
                d.set_item(PyString::intern(py, name), self.field_at(py, i)?)?;
            }
            for (i, (k, v)) in self.message.extra.iter().enumerate() {
                d.set_item(k.as_str(), self.extra_at(py, i, v)?)?;
            }
            let _ = self.whole.set(d.unbind());
            match self.whole.get() {
                Some(d) => Ok(d.bind(py).clone()),
                None => Err(crate::errors::raise(py, "internal_error", "the message dict was not kept", &[])),
            }
        })
    }

    /// A top-level field's object (built once), or `default` when the
    /// message has no such field.
    #[pyo3(signature = (key, default = None))]
    fn get<'py>(&self, py: Python<'py>, key: &str, default: Option<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || Ok(self.lookup(py, key)?.unwrap_or_else(|| default.unwrap_or_else(|| py.None().into_bound(py)))))
    }

    /// A top-level field's object; `KeyError` when there is none.
    fn __getitem__<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || self.lookup(py, key)?.ok_or_else(|| PyKeyError::new_err(key.to_owned())))
    }

    /// Whether the message has the top-level field.
    fn __contains__(&self, key: &str) -> bool {
        FIELDS.contains(&key) || self.message.extra.contains_key(key)
    }

    /// The top-level field names, in the order `to_dict()` has them.
    fn keys(&self) -> Vec<&str> {
        FIELDS.iter().copied().chain(self.message.extra.keys().map(String::as_str)).collect()
    }

    /// Content block `index`'s dict (built once).
    fn block<'py>(&self, py: Python<'py>, index: usize) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || self.block_at(py, index))
    }

    /// Every content block's `type` tag, in order (nothing converted).
    fn block_types(&self) -> Vec<&str> {
        self.message.content.iter().map(|b| b.type_tag()).collect()
    }

    /// The number of content blocks.
    fn __len__(&self) -> usize {
        self.message.content.len()
    }

    /// The objects made so far, for the cycle collector: a caller may put a
    /// block's view (which holds this object) into a dict this object holds;
    /// clearing the dicts of such a cycle frees it.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        for cell in self.fields.iter().chain(self.blocks.iter()).chain(self.extra.iter()) {
            visit.call(cell.get())?;
        }
        visit.call(self.whole.get())
    }

}
