//! Values between JS and the core.
//!
//! Out: the value's JSON text (`serde_json`), read by the engine's own
//! `JSON.parse`, so JS gets plain objects and arrays (never `Map`s), `null` for
//! `None`, and an integer beyond 2^53 (inside a tool's input, say) as the
//! nearest double, as any JS JSON reader would. One string crosses the
//! boundary per value (a batch of stream events is one value) instead of one
//! call per field, which is several times faster for events and large
//! messages (benches/RESULTS.md, issue 15). Should the text be refused (it
//! cannot be: it is JSON), `serde-wasm-bindgen`'s `json_compatible()`
//! serializer builds the value instead.
//!
//! In: the value's JSON text (`JSON.stringify`, so `undefined` members are
//! left out, as in any JSON the caller would send) read by `serde_json`, so
//! that the core's types read a JS value exactly as they read JSON, unknown
//! fields refused where the core refuses them. (`serde_wasm_bindgen`'s own
//! deserializer looks up only the fields a struct declares, so it would
//! accept unknown options silently.) A value of the wrong shape is an error
//! naming what was being read.
//!
//! Money: `{ nanos: bigint, usd: string }`, the exact integer nano-USD and the
//! core's display string (`"$0.006"`).

use creditpool_core::http::Headers;
use creditpool_core::Money;
use js_sys::{Array, BigInt, Object, Reflect, Uint8Array};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::errors;

/// A value as a JSON-shaped JS value.
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value).map_err(|e| errors::internal(&format!("cannot convert a value to JS: {e}")))?;
    match js_sys::JSON::parse(&text) {
        Ok(v) => Ok(v),
        Err(_) => value
            .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .map_err(|_| errors::internal("cannot convert a value to JS")),
    }
}

/// The JSON text of a JS value (`null` for `undefined`), or why there is none
/// (a `bigint` or a cycle inside).
pub(crate) fn json_text(value: &JsValue) -> Result<String, String> {
    if value.is_undefined() {
        return Ok("null".to_owned());
    }
    match js_sys::JSON::stringify(value) {
        Ok(s) => Ok(s.as_string().unwrap_or_else(|| "null".to_owned())),
        Err(e) => Err(e.dyn_ref::<js_sys::Error>().map_or_else(|| "not representable as JSON".to_owned(), |e| String::from(e.message()))),
    }
}

/// A JS value read as `T` through its JSON text. On failure, an error of
/// `error_type` whose message starts with `what`.
pub(crate) fn from_js<T: DeserializeOwned>(value: JsValue, what: &str, error_type: &str) -> Result<T, JsValue> {
    from_js_with(value, |m| errors::simple(error_type, &format!("{what}: {m}")))
}

/// A JS value read as `T` through its JSON text, with the caller's error.
pub(crate) fn from_js_with<T: DeserializeOwned>(value: JsValue, error: impl Fn(&str) -> JsValue) -> Result<T, JsValue> {
    let text = json_text(&value).map_err(|m| error(&m))?;
    // The core's words: the field by its path, no Rust type names, no
    // position in JSON the caller never wrote.
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| error(&creditpool_core::error::plain_config_words("", &e.to_string())))?;
    creditpool_core::error::from_caller_json(&value).map_err(|m| error(&m))
}

/// Money as `{ nanos: bigint, usd: string }`.
pub(crate) fn money(m: Money) -> JsValue {
    // The package's `Money` (js/src/money.js) once it has registered.
    if let Some(v) = crate::money::make(m) {
        return v;
    }
    let obj = Object::new();
    set(&obj, "nanos", &BigInt::from(m.nanos()).into());
    set(&obj, "usd", &JsValue::from_str(&m.to_string()));
    obj.into()
}

/// Sets `obj[key] = value`. Setting a property on a fresh plain object cannot
/// fail; should it, the property is left out.
pub(crate) fn set(obj: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

/// A fresh plain object from `(key, value)` pairs.
pub(crate) fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let obj = Object::new();
    for (k, v) in pairs {
        set(&obj, k, v);
    }
    obj.into()
}

/// An optional string as JS (`null` when absent).
pub(crate) fn opt_str(s: Option<&str>) -> JsValue {
    s.map_or(JsValue::NULL, JsValue::from_str)
}

/// Response or request headers from JS: an array of `[name, value]` pairs
/// (what `rateLimitInfo` and the vectors use). The JS wrapper turns `Headers`
/// objects and plain records into that shape first.
pub(crate) fn headers_from_js(value: JsValue, what: &str) -> Result<Headers, JsValue> {
    from_js(value, what, "invalid_argument")
}

/// Bytes from JS: a `Uint8Array` (copied) or a string (its UTF-8).
pub(crate) fn bytes_from_js(value: &JsValue, what: &str) -> Result<Vec<u8>, JsValue> {
    if let Some(s) = value.as_string() {
        return Ok(s.into_bytes());
    }
    match value.dyn_ref::<Uint8Array>() {
        Some(a) => Ok(a.to_vec()),
        None => Err(errors::simple("invalid_argument", &format!("{what} must be a Uint8Array or a string"))),
    }
}

/// `[[name, value], ...]` as a JS array.
pub(crate) fn pairs_to_js(pairs: &[(String, String)]) -> JsValue {
    let out = Array::new();
    for (k, v) in pairs {
        let pair = Array::new();
        pair.push(&JsValue::from_str(k));
        pair.push(&JsValue::from_str(v));
        out.push(&pair);
    }
    out.into()
}

/// A `u64` that JS reads exactly (ms timestamps and delays stay far below
/// 2^53); beyond that, the nearest double.
pub(crate) fn u64_js(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

/// A JS number or bigint read as a `u64` (non-negative integer), for seeds and
/// times.
pub(crate) fn u64_from_js(value: &JsValue, what: &str) -> Result<u64, JsValue> {
    if value.is_bigint() {
        return u64::try_from(value.clone())
            .map_err(|_| errors::simple("invalid_argument", &format!("{what} must be a non-negative integer below 2^64")));
    }
    match value.as_f64() {
        Some(f) if f >= 0.0 && f.fract() == 0.0 && f <= 9_007_199_254_740_991.0 => Ok(f as u64),
        _ => Err(errors::simple("invalid_argument", &format!("{what} must be a non-negative safe integer or a bigint"))),
    }
}
