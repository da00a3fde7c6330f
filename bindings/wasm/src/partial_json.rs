//! `parsePartialJson`: `creditpool_core::partial_json`.

use creditpool_core::partial_json::parse_partial;
use wasm_bindgen::prelude::*;

use crate::convert::{object, to_js};
use crate::errors;

/// Parses JSON that may be cut off anywhere, as the official Python SDK's
/// stream accumulator does: `{value, complete}`, where `complete` says the
/// text was one whole JSON document. Throws `partial_json_error` (with `kind`:
/// `syntax`, `incomplete`, `too_deep` or `non_finite`).
#[wasm_bindgen(js_name = parsePartialJson)]
pub fn parse_partial_json(text: &str) -> Result<JsValue, JsValue> {
    let parsed = parse_partial(text).map_err(|e| errors::partial_json_error(&e))?;
    Ok(object(&[("value", to_js(&parsed.value)?), ("complete", JsValue::from_bool(parsed.complete))]))
}

/// Like `parsePartialJson`, but the value comes back as JSON text
/// (`{json, complete}`): integers stay apart from floats (`150` is not
/// `150.0`) and integers beyond 2^53 stay exact.
#[wasm_bindgen(js_name = parsePartialJsonText)]
pub fn parse_partial_json_text(text: &str) -> Result<JsValue, JsValue> {
    let parsed = parse_partial(text).map_err(|e| errors::partial_json_error(&e))?;
    let json = serde_json::to_string(&parsed.value).map_err(|e| errors::internal(&e.to_string()))?;
    Ok(object(&[("json", JsValue::from_str(&json)), ("complete", JsValue::from_bool(parsed.complete))]))
}
