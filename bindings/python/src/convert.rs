//! Plain data across the boundary: `serde_json::Value` to Python objects and
//! back, and core types through their serde form.
//!
//! JSON objects become `dict`, arrays `list`, integers `int`, other numbers
//! `float`. Going the other way `tuple` is accepted as a list; `bool` is checked
//! before `int`; a non-finite `float`, a non-`str` dict key, an unsupported type
//! or nesting deeper than [`MAX_DEPTH`] is a `ValueError` / `TypeError` (never a
//! stack overflow).

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Number, Value};

/// The deepest nesting accepted from Python (serde_json itself reads at most 128).
pub const MAX_DEPTH: usize = 256;

/// A JSON value as a Python object.
pub fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                // serde_json numbers are finite; as_f64 is always Some here.
                PyFloat::new(py, n.as_f64().unwrap_or(0.0)).into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(PyString::new(py, k), to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// A Python object (dict, list, tuple, str, int, float, bool, None) as JSON.
pub fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    from_py_at(obj, 0)
}

fn from_py_at(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(crate::errors::raise(obj.py(), "invalid_options", &format!("value nested more than {MAX_DEPTH} levels deep"), &[]));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        if let Ok(v) = i.extract::<i64>() {
            return Ok(Value::Number(v.into()));
        }
        if let Ok(v) = i.extract::<u64>() {
            return Ok(Value::Number(v.into()));
        }
        // A typed error (InvalidOptionsError, a ValueError), never a bare one.
        return Err(crate::errors::raise(obj.py(), "invalid_options", &format!("the integer {} is out of the 64-bit range", i.str().map(|s| s.to_string()).unwrap_or_default()), &[]));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| crate::errors::raise(obj.py(), "invalid_options", &format!("{} is not a finite number (JSON has no NaN or infinity)", f.value()), &[]));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in d.iter() {
            let key = k.cast::<PyString>().map_err(|_| PyTypeError::new_err(format!("dict keys must be str, not {}", type_name(&k))))?;
            map.insert(key.to_str()?.to_owned(), from_py_at(&v, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return l.iter().map(|v| from_py_at(&v, depth + 1)).collect::<PyResult<Vec<_>>>().map(Value::Array);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return t.iter().map(|v| from_py_at(&v, depth + 1)).collect::<PyResult<Vec<_>>>().map(Value::Array);
    }
    Err(PyTypeError::new_err(format!("cannot convert {} to JSON", type_name(obj))))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".to_owned())
}

/// A core value as a Python object, through its serde form, built directly
/// (no intermediate `serde_json::Value`; see `pyser`).
pub fn ser_to_py<'py, T: Serialize + ?Sized>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    crate::pyser::to_python(py, value)
}

/// A core value from a Python object, through its serde form; a shape error is
/// returned as serde's message for the caller to map.
pub fn de_from_py<T: DeserializeOwned>(obj: &Bound<'_, PyAny>) -> PyResult<Result<T, String>> {
    let json = from_py(obj)?;
    // The core's words: the field by its path, no serde type names.
    Ok(creditpool_core::error::from_caller_json(&json))
}

/// `(name, value)` pairs from a Python mapping or an iterable of pairs.
pub fn headers_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    if let Ok(d) = obj.cast::<PyDict>() {
        for (k, v) in d.iter() {
            out.push((k.extract::<String>()?, v.extract::<String>()?));
        }
        return Ok(out);
    }
    if obj.hasattr("multi_items")? {
        // httpx / httpx2 Headers: every value, repeated names included.
        return headers_from_py(&obj.call_method0("multi_items")?);
    }
    for item in obj.try_iter()? {
        let (k, v): (String, String) = item?.extract()?;
        out.push((k, v));
    }
    Ok(out)
}

/// Bytes from `bytes`, `bytearray`, `memoryview` or `str` (as UTF-8).
pub fn bytes_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_str()?.as_bytes().to_vec());
    }
    obj.extract::<Vec<u8>>()
}
