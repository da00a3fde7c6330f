//! A `serde::Serializer` that builds Python objects directly, so that a core
//! value crosses the boundary without an intermediate `serde_json::Value`.
//!
//! The result is what `serde_json::to_value` followed by `convert::to_py`
//! would give (the JSON data model: dict, list, str, int, float, bool, None),
//! except that dict keys keep the order in which the value serializes them
//! (struct field order) instead of being sorted. Like `serde_json`, a
//! non-finite float becomes None, bytes become a list of ints, enum variants
//! are externally tagged (unless the type's serde attributes say otherwise),
//! and map keys must be strings or integers (integers become strings).
//!
//! Speed (benches/RESULTS.md, issue 15): dict keys are made once per call and
//! reused, like `json.loads`' key memo (struct field names by address, short
//! map keys by text, at most [`KEY_CACHE_MAX`] of them), so a key string is
//! neither allocated nor hashed again; a list is built at its final length
//! in one step instead of grown by appends.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::BoundObject;
use pyo3::types::{PyBool, PyDict, PyFloat, PyList, PyString};
use serde::ser::{self, Serialize};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

/// The most distinct keys one conversion remembers.
pub const KEY_CACHE_MAX: usize = 4096;
/// The longest map key (bytes) that is remembered.
const KEY_CACHE_LEN: usize = 64;

/// Dict keys already made during one conversion.
#[derive(Default)]
struct Keys<'py> {
    /// Struct field names, by the address and length of their `&'static str`.
    fields: HashMap<(usize, usize), Bound<'py, PyString>>,
    /// Map keys, by their text.
    text: HashMap<Box<str>, Bound<'py, PyString>>,
}

impl<'py> Keys<'py> {
    fn field(&mut self, py: Python<'py>, key: &'static str) -> Bound<'py, PyString> {
        let at = (key.as_ptr() as usize, key.len());
        if let Some(k) = self.fields.get(&at) {
            return k.clone();
        }
        let k = PyString::new(py, key);
        if self.fields.len() < KEY_CACHE_MAX {
            self.fields.insert(at, k.clone());
        }
        k
    }

    fn text(&mut self, py: Python<'py>, key: &str) -> Bound<'py, PyString> {
        if key.len() > KEY_CACHE_LEN {
            return PyString::new(py, key);
        }
        if let Some(k) = self.text.get(key) {
            return k.clone();
        }
        let k = PyString::new(py, key);
        if self.text.len() < KEY_CACHE_MAX {
            self.text.insert(key.into(), k.clone());
        }
        k
    }
}

/// A serialization failure, carrying the Python error.
pub struct Error(pub PyErr);

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(PyValueError::new_err(msg.to_string()))
    }
}

impl From<PyErr> for Error {
    fn from(e: PyErr) -> Self {
        Error(e)
    }
}

type R<'py> = Result<Bound<'py, PyAny>, Error>;

/// Serializes `value` into a Python object.
pub fn to_python<'py, T: Serialize + ?Sized>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    let keys = RefCell::new(Keys::default());
    value.serialize(Ser { py, keys: &keys }).map_err(|e| e.0)
}

/// The serializer (one per value; cheap to copy).
#[derive(Clone, Copy)]
pub struct Ser<'py, 'k> {
    py: Python<'py>,
    keys: &'k RefCell<Keys<'py>>,
}

fn int<'py, T>(py: Python<'py>, v: T) -> R<'py>
where
    T: IntoPyObject<'py>,
    T::Error: Into<PyErr>,
{
    v.into_pyobject(py).map(|b| b.into_any().into_bound()).map_err(|e| Error(e.into()))
}

impl<'py, 'k> ser::Serializer for Ser<'py, 'k> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    type SerializeSeq = Seq<'py, 'k>;
    type SerializeTuple = Seq<'py, 'k>;
    type SerializeTupleStruct = Seq<'py, 'k>;
    type SerializeTupleVariant = Tagged<Seq<'py, 'k>>;
    type SerializeMap = Map<'py, 'k>;
    type SerializeStruct = Map<'py, 'k>;
    type SerializeStructVariant = Tagged<Map<'py, 'k>>;

    fn serialize_bool(self, v: bool) -> R<'py> {
        Ok(PyBool::new(self.py, v).to_owned().into_any())
    }
    fn serialize_i8(self, v: i8) -> R<'py> {
        int(self.py, v)
    }
    fn serialize_i16(self, v: i16) -> R<'py> {
        int(self.py, v)
    }
    fn serialize_i32(self, v: i32) -> R<'py> {
        int(self.py, v)
    }
    fn serialize_i64(self, v: i64) -> R<'py> {
        int(self.py, v)
    }
    fn serialize_i128(self, v: i128) -> R<'py> {
        int(self.py, v)
    }
    fn serialize_u8(self, v: u8) -> R<'py> {
        int(self.py, v)
    }
    fn serialize_u16(self, v: u16) -> R<'py> {
        int(self.py, v)
    }
    fn serialize_u32(self, v: u32) -> R<'py> {
        int(self.py, v)
    }
    fn serialize_u64(self, v: u64) -> R<'py> {
        int(self.py, v)
    }
    fn serialize_u128(self, v: u128) -> R<'py> {
        int(self.py, v)
    }
    fn serialize_f32(self, v: f32) -> R<'py> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> R<'py> {
        if v.is_finite() {
            Ok(PyFloat::new(self.py, v).into_any())
        } else {
            Ok(self.py.None().into_bound(self.py))
        }
    }
    fn serialize_char(self, v: char) -> R<'py> {
        let mut buf = [0u8; 4];
        self.serialize_str(v.encode_utf8(&mut buf))
    }
    fn serialize_str(self, v: &str) -> R<'py> {
        Ok(PyString::new(self.py, v).into_any())
    }
    fn serialize_bytes(self, v: &[u8]) -> R<'py> {
        Ok(PyList::new(self.py, v)?.into_any())
    }
    fn serialize_none(self) -> R<'py> {
        Ok(self.py.None().into_bound(self.py))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> R<'py> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> R<'py> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> R<'py> {
        self.serialize_none()
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> R<'py> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> R<'py> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(self, _name: &'static str, _index: u32, variant: &'static str, value: &T) -> R<'py> {
        let d = PyDict::new(self.py);
        d.set_item(variant, value.serialize(self)?)?;
        Ok(d.into_any())
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq<'py, 'k>, Error> {
        // The hint is trusted for the first allocation only (bounded).
        Ok(Seq { ser: self, items: Vec::with_capacity(len.unwrap_or(0).min(4096)) })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'py, 'k>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Seq<'py, 'k>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(self, _name: &'static str, _index: u32, variant: &'static str, len: usize) -> Result<Tagged<Seq<'py, 'k>>, Error> {
        Ok(Tagged { variant, inner: self.serialize_seq(Some(len))? })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Map<'py, 'k>, Error> {
        Ok(Map { ser: self, dict: PyDict::new(self.py), key: None })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Map<'py, 'k>, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(self, _name: &'static str, _index: u32, variant: &'static str, len: usize) -> Result<Tagged<Map<'py, 'k>>, Error> {
        Ok(Tagged { variant, inner: self.serialize_map(Some(len))? })
    }
}

/// A list being filled: its items, made into a list at its final length.
pub struct Seq<'py, 'k> {
    ser: Ser<'py, 'k>,
    items: Vec<Bound<'py, PyAny>>,
}

impl<'py, 'k> Seq<'py, 'k> {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.items.push(value.serialize(self.ser)?);
        Ok(())
    }

    fn list(self) -> Result<Bound<'py, PyList>, Error> {
        Ok(PyList::new(self.ser.py, self.items)?)
    }
}

impl<'py, 'k> ser::SerializeSeq for Seq<'py, 'k> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> R<'py> {
        Ok(self.list()?.into_any())
    }
}

impl<'py, 'k> ser::SerializeTuple for Seq<'py, 'k> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> R<'py> {
        Ok(self.list()?.into_any())
    }
}

impl<'py, 'k> ser::SerializeTupleStruct for Seq<'py, 'k> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> R<'py> {
        Ok(self.list()?.into_any())
    }
}

/// A dict being filled.
pub struct Map<'py, 'k> {
    ser: Ser<'py, 'k>,
    dict: Bound<'py, PyDict>,
    key: Option<Bound<'py, PyAny>>,
}

impl<'py, 'k> ser::SerializeMap for Map<'py, 'k> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(key.serialize(KeySer { py: self.ser.py, keys: self.ser.keys })?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self.key.take().ok_or_else(|| <Error as ser::Error>::custom("a map value without a key"))?;
        self.dict.set_item(key, value.serialize(self.ser)?)?;
        Ok(())
    }
    fn end(self) -> R<'py> {
        Ok(self.dict.into_any())
    }
}

impl<'py, 'k> ser::SerializeStruct for Map<'py, 'k> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        let key = self.ser.keys.borrow_mut().field(self.ser.py, key);
        self.dict.set_item(key, value.serialize(self.ser)?)?;
        Ok(())
    }
    fn end(self) -> R<'py> {
        Ok(self.dict.into_any())
    }
}

/// An externally tagged variant: `{variant: inner}`.
pub struct Tagged<I> {
    variant: &'static str,
    inner: I,
}

impl<'py, 'k> ser::SerializeTupleVariant for Tagged<Seq<'py, 'k>> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.inner.push(value)
    }
    fn end(self) -> R<'py> {
        let d = PyDict::new(self.inner.ser.py);
        d.set_item(self.variant, self.inner.list()?)?;
        Ok(d.into_any())
    }
}

impl<'py, 'k> ser::SerializeStructVariant for Tagged<Map<'py, 'k>> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(&mut self.inner, key, value)
    }
    fn end(self) -> R<'py> {
        let d = PyDict::new(self.inner.ser.py);
        d.set_item(self.variant, self.inner.dict)?;
        Ok(d.into_any())
    }
}

/// Map keys: strings as they are, integers, chars and bools as strings (as
/// `serde_json` writes them); anything else is an error.
struct KeySer<'py, 'k> {
    py: Python<'py>,
    keys: &'k RefCell<Keys<'py>>,
}

fn key_err<'py>(what: &str) -> R<'py> {
    Err(<Error as ser::Error>::custom(format!("a map key must be a string, not {what}")))
}

impl<'py, 'k> KeySer<'py, 'k> {
    fn text(self, s: &str) -> R<'py> {
        Ok(self.keys.borrow_mut().text(self.py, s).into_any())
    }
}

impl<'py, 'k> ser::Serializer for KeySer<'py, 'k> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    type SerializeSeq = ser::Impossible<Bound<'py, PyAny>, Error>;
    type SerializeTuple = ser::Impossible<Bound<'py, PyAny>, Error>;
    type SerializeTupleStruct = ser::Impossible<Bound<'py, PyAny>, Error>;
    type SerializeTupleVariant = ser::Impossible<Bound<'py, PyAny>, Error>;
    type SerializeMap = ser::Impossible<Bound<'py, PyAny>, Error>;
    type SerializeStruct = ser::Impossible<Bound<'py, PyAny>, Error>;
    type SerializeStructVariant = ser::Impossible<Bound<'py, PyAny>, Error>;

    fn serialize_bool(self, v: bool) -> R<'py> {
        self.text(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> R<'py> {
        self.text(&v.to_string())
    }
    fn serialize_i16(self, v: i16) -> R<'py> {
        self.text(&v.to_string())
    }
    fn serialize_i32(self, v: i32) -> R<'py> {
        self.text(&v.to_string())
    }
    fn serialize_i64(self, v: i64) -> R<'py> {
        self.text(&v.to_string())
    }
    fn serialize_u8(self, v: u8) -> R<'py> {
        self.text(&v.to_string())
    }
    fn serialize_u16(self, v: u16) -> R<'py> {
        self.text(&v.to_string())
    }
    fn serialize_u32(self, v: u32) -> R<'py> {
        self.text(&v.to_string())
    }
    fn serialize_u64(self, v: u64) -> R<'py> {
        self.text(&v.to_string())
    }
    fn serialize_f32(self, _v: f32) -> R<'py> {
        key_err("a float")
    }
    fn serialize_f64(self, _v: f64) -> R<'py> {
        key_err("a float")
    }
    fn serialize_char(self, v: char) -> R<'py> {
        let mut buf = [0u8; 4];
        self.text(v.encode_utf8(&mut buf))
    }
    fn serialize_str(self, v: &str) -> R<'py> {
        self.text(v)
    }
    fn serialize_bytes(self, _v: &[u8]) -> R<'py> {
        key_err("bytes")
    }
    fn serialize_none(self) -> R<'py> {
        key_err("None")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> R<'py> {
        key_err("an option")
    }
    fn serialize_unit(self) -> R<'py> {
        key_err("a unit")
    }
    fn serialize_unit_struct(self, _name: &'static str) -> R<'py> {
        key_err("a unit struct")
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> R<'py> {
        self.text(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> R<'py> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(self, _name: &'static str, _index: u32, _variant: &'static str, _value: &T) -> R<'py> {
        key_err("an enum variant")
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(<Error as ser::Error>::custom("a map key must be a string, not a list"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(<Error as ser::Error>::custom("a map key must be a string, not a tuple"))
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeTupleStruct, Error> {
        Err(<Error as ser::Error>::custom("a map key must be a string, not a tuple"))
    }
    fn serialize_tuple_variant(self, _name: &'static str, _index: u32, _variant: &'static str, _len: usize) -> Result<Self::SerializeTupleVariant, Error> {
        Err(<Error as ser::Error>::custom("a map key must be a string, not a tuple"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(<Error as ser::Error>::custom("a map key must be a string, not a map"))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct, Error> {
        Err(<Error as ser::Error>::custom("a map key must be a string, not a struct"))
    }
    fn serialize_struct_variant(self, _name: &'static str, _index: u32, _variant: &'static str, _len: usize) -> Result<Self::SerializeStructVariant, Error> {
        Err(<Error as ser::Error>::custom("a map key must be a string, not a struct"))
    }
}
