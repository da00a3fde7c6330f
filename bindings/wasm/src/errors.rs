//! The core's errors as JS `Error` objects.
//!
//! Every error thrown to JS is an `Error` (never a string) with the core's
//! stable `code` ([`creditpool_core::codes`]), a `type` (the kind the JS
//! package has always reported, kept for compatibility) and structured
//! fields. The class is the core's: [`class_for_code`] names it, from the one
//! table (`codes::CODES`, `codes::CLASSES`) the Python binding raises by too.
//! The classes themselves are the JS package's (`js/src/errors.js`, generated
//! from [`error_classes`]): it registers a factory with [`set_error_factory`],
//! and this module calls it with `(className, code, type, message, fields)`.
//! Without a factory, a plain `Error` with `name`, `code`, `type` and the
//! fields assigned is thrown.
//!
//! The `type` strings (unchanged): the API's own `error.type` for API errors;
//! `configuration_error` (with `kind`) for a request that cannot be built;
//! `invalid_request_error` without a status for one refused locally;
//! `connection_error`, `connection_timeout` (with `phase`), `aborted`;
//! `malformed_response`, `response_too_large`; `stream_incomplete`,
//! `stream_malformed`, `stream_protocol`, `event_too_large`;
//! `tool_definition_invalid`, `tool_input_invalid`; `unknown_model`,
//! `pricing_error`, `capability_error`, `partial_json_error` (each with
//! `kind`); the pool's refusal reasons and error tags; `invalid_argument`,
//! `busy`, `internal_error`.
//!
//! Three JS classes are not in the core's table yet: `AbortError` (code
//! `aborted`), `BusyError` (code `busy`) and `InvalidArgumentError` (a JS
//! value of the wrong shape: an `InvalidOptionsError`, code
//! `invalid_options`).

use std::cell::RefCell;

use creditpool_core::api::Message;
use creditpool_core::codes;
use creditpool_core::error::{ApiError, ParseError};
use creditpool_core::partial_json::PartialJsonError;
use creditpool_core::pricing::{CapabilityError, PricingError};
use creditpool_core::request::RequestError;
use creditpool_core::response::ResponseError;
use creditpool_core::sse::decoder::SseError;
use creditpool_core::sse::StreamError;
use creditpool_core::tools::{ToolDefinitionError, ToolInputError};
use js_sys::{Function, Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::convert::{object, opt_str, set, to_js};

thread_local! {
    static FACTORY: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Registers the function that builds error objects:
/// `factory(className, code, type, message, fields) -> Error`.
#[wasm_bindgen(js_name = setErrorFactory)]
pub fn set_error_factory(factory: Function) {
    FACTORY.with(|f| {
        if let Ok(mut slot) = f.try_borrow_mut() {
            *slot = Some(factory);
        }
    });
}

/// The core's error classes, parents first: `[{name, parent, doc,
/// value_error}]` (`codes::CLASSES`).
#[wasm_bindgen(js_name = errorClasses)]
pub fn error_classes() -> JsValue {
    let out = js_sys::Array::new();
    for c in codes::CLASSES {
        out.push(&object(&[
            ("name", JsValue::from_str(c.name)),
            ("parent", opt_str(c.parent)),
            ("doc", JsValue::from_str(c.doc)),
            ("value_error", JsValue::from_bool(c.value_error)),
        ]));
    }
    out.into()
}

/// Every error code and its class name: `[[code, className]]` (`codes::CODES`).
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> JsValue {
    let out = js_sys::Array::new();
    for (code, class) in codes::CODES {
        let pair = js_sys::Array::new();
        pair.push(&JsValue::from_str(code));
        pair.push(&JsValue::from_str(class));
        out.push(&pair);
    }
    out.into()
}

/// The class name an error code raises (`codes::class_for_code`: a code this
/// version does not know gets the nearest base class).
#[wasm_bindgen(js_name = classForCode)]
pub fn class_for_code(code: &str) -> String {
    class_of(code).to_owned()
}

/// The classes of the JS package's own codes, not in the core's table yet.
fn js_only(code: &str) -> Option<(&'static str, &'static str)> {
    match code {
        "aborted" => Some(("AbortError", "aborted")),
        "busy" => Some(("BusyError", "busy")),
        "invalid_argument" => Some(("InvalidArgumentError", "invalid_options")),
        _ => None,
    }
}

/// The class for a code: the core's table, or one of the JS package's own.
fn class_of(code: &str) -> &'static str {
    js_only(code).map_or_else(|| codes::class_for_code(code), |(class, _)| class)
}

/// Builds an error of class `class` with `code` and `error_type`. `fields` is
/// a plain object (or `undefined`).
pub(crate) fn make_class(class: &str, code: &str, error_type: &str, message: &str, fields: JsValue) -> JsValue {
    let factory = FACTORY.with(|f| f.try_borrow().ok().and_then(|slot| slot.clone()));
    if let Some(factory) = factory {
        let args = js_sys::Array::new();
        for v in [JsValue::from_str(class), JsValue::from_str(code), JsValue::from_str(error_type), JsValue::from_str(message), fields.clone()] {
            args.push(&v);
        }
        if let Ok(err) = factory.apply(&JsValue::NULL, &args) {
            return err;
        }
    }
    let err = js_sys::Error::new(message);
    if fields.is_object() {
        let _ = Object::assign(&err, &Object::from(fields));
    }
    err.set_name(class);
    let _ = Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code));
    let _ = Reflect::set(&err, &JsValue::from_str("type"), &JsValue::from_str(error_type));
    err.into()
}

/// Builds the error for `code` (its class from the core's table) with the
/// JS `type` `error_type`.
pub(crate) fn make(code: &str, error_type: &str, message: &str, fields: JsValue) -> JsValue {
    make_class(class_of(code), code, error_type, message, fields)
}

/// An error with a code and a message, no other fields. `code` may also be
/// one of the JS package's own (`invalid_argument`, `busy`, `aborted`); the
/// `type` is the code as given.
pub(crate) fn simple(code: &str, message: &str) -> JsValue {
    let (class, real) = js_only(code).unwrap_or((codes::class_for_code(code), code));
    make_class(class, real, code, message, JsValue::UNDEFINED)
}

/// A bug in creditpool: something that should not be able to happen.
pub(crate) fn internal(message: &str) -> JsValue {
    simple("internal_error", &format!("creditpool internal error (please report it): {message}"))
}

/// The partial message of a failed stream as a JS value (`null` if none).
pub(crate) fn partial_js(partial: Option<&Message>) -> JsValue {
    partial.and_then(|m| to_js(m).ok()).unwrap_or(JsValue::NULL)
}

/// An error the API reported, with the message received so far for a stream.
pub(crate) fn api_error(e: &ApiError, partial: Option<&Message>) -> JsValue {
    let fields = object(&[
        ("status", e.status.map_or(JsValue::NULL, JsValue::from)),
        ("requestId", opt_str(e.request_id.as_deref())),
        ("apiMessage", JsValue::from_str(&e.message)),
        ("partial", partial_js(partial)),
    ]);
    make(e.code(), e.kind.as_str(), &e.to_string(), fields)
}

/// A response that is an API error or cannot be read.
pub(crate) fn response_error(e: &ResponseError) -> JsValue {
    match e {
        ResponseError::Api(api) => api_error(api, None),
        ResponseError::Parse(p) => parse_error(p),
        other => make(other.code(), other.code(), &other.to_string(), JsValue::UNDEFINED),
    }
}

/// A response body that cannot be read.
pub(crate) fn parse_error(e: &ParseError) -> JsValue {
    match e {
        ParseError::TooLarge { size, limit, .. } => make(
            e.code(),
            "response_too_large",
            &e.to_string(),
            object(&[("size", JsValue::from(*size as f64)), ("limit", JsValue::from(*limit as f64))]),
        ),
        _ => make(e.code(), "malformed_response", &e.to_string(), JsValue::UNDEFINED),
    }
}

/// JS's words for switching the pool selector off or renaming it, added to
/// the core's `SelectorRejected` (code `pool_selector_rejected`).
pub(crate) const SELECTOR_HINT: &str = ". In JS: `new Client({poolSelector: false})` sends no selector; `new Client({poolSelector: {field: \"...\", value: ...}})` renames it.";

/// A request that cannot be built (`RequestBuildError`): `type`
/// `invalid_request_error` (without a status) for the request itself,
/// `configuration_error` for the client's settings; `kind` is the code.
pub(crate) fn request_error(e: &RequestError) -> JsValue {
    let code = e.code();
    let fields = match e {
        RequestError::UnknownParameter { name, suggestion } => object(&[
            ("kind", JsValue::from_str(code)),
            ("status", JsValue::NULL),
            ("parameter", JsValue::from_str(name)),
            ("suggestion", opt_str(suggestion.as_deref())),
        ]),
        _ => object(&[("kind", JsValue::from_str(code)), ("status", JsValue::NULL)]),
    };
    let error_type = if code == "invalid_request" { "invalid_request_error" } else { "configuration_error" };
    make(code, error_type, &e.to_string(), fields)
}

/// Options of the wrong shape (`InvalidOptionsError`), or another
/// configuration fault whose code is `kind`.
pub(crate) fn configuration(kind: &str, message: &str) -> JsValue {
    make(kind, "configuration_error", message, object(&[("kind", JsValue::from_str(kind))]))
}

/// A request refused locally (it does not parse as a Messages API request).
pub(crate) fn invalid_request(message: &str) -> JsValue {
    make(
        "invalid_request",
        "invalid_request_error",
        message,
        object(&[("kind", JsValue::from_str("invalid_request")), ("status", JsValue::NULL)]),
    )
}

/// A failed stream.
pub(crate) fn stream_error(e: &StreamError) -> JsValue {
    match e {
        StreamError::Api { error, partial } => api_error(error, partial.as_deref()),
        StreamError::Incomplete { partial, reason } => make(
            e.code(),
            "stream_incomplete",
            &e.to_string(),
            object(&[("partial", partial_js(partial.as_deref())), ("reason", JsValue::from_str(reason))]),
        ),
        StreamError::Malformed { .. } => make(e.code(), "stream_malformed", &e.to_string(), object(&[("partial", JsValue::NULL)])),
        StreamError::Protocol { .. } => make(e.code(), "stream_protocol", &e.to_string(), object(&[("partial", JsValue::NULL)])),
        StreamError::Decode(d) => sse_error(d),
        other => make(other.code(), "stream_malformed", &other.to_string(), JsValue::UNDEFINED),
    }
}

/// An SSE decoding failure.
pub(crate) fn sse_error(e: &SseError) -> JsValue {
    match e {
        SseError::EventTooLarge { size, limit } => make(
            e.code(),
            "event_too_large",
            &e.to_string(),
            object(&[("size", JsValue::from(*size as f64)), ("limit", JsValue::from(*limit as f64)), ("partial", JsValue::NULL)]),
        ),
        SseError::Truncated { discarded_bytes } => make(
            e.code(),
            "stream_incomplete",
            &e.to_string(),
            object(&[("partial", JsValue::NULL), ("discardedBytes", JsValue::from(*discarded_bytes as f64))]),
        ),
        other => make(other.code(), "stream_malformed", &other.to_string(), JsValue::UNDEFINED),
    }
}

/// How a JS caller prices a model the table does not.
fn js_override_hint(model: &str) -> String {
    format!("give its prices with `new Client({{ priceOverrides: [{{ model: {model:?}, prices: {{ input: '3', cache_write_5m: '3.75', cache_write_1h: '6', cache_read: '0.30', output: '15' }} }}] }})` (decimal strings, USD per million tokens)")
}

/// A price that cannot be determined.
pub(crate) fn pricing_error(e: &PricingError) -> JsValue {
    let fields = Object::new();
    set(&fields, "kind", &JsValue::from_str(e.kind()));
    match e {
        PricingError::UnknownModel { model, suggestion } => {
            set(&fields, "model", &JsValue::from_str(model));
            set(&fields, "suggestion", &suggestion.as_deref().map_or(JsValue::NULL, JsValue::from_str));
            return make(e.code(), "unknown_model", &e.message_with(&js_override_hint(model)), fields.into());
        }
        PricingError::Unpriced { model, note } => {
            set(&fields, "model", &JsValue::from_str(model));
            set(&fields, "note", &JsValue::from_str(note));
            return make(e.code(), "pricing_error", &e.message_with(&js_override_hint(model)), fields.into());
        }
        PricingError::UnsupportedUsage { model, feature } => {
            set(&fields, "model", &JsValue::from_str(model));
            set(&fields, "feature", &JsValue::from_str(feature));
        }
        PricingError::InvalidPrice { value, reason } => {
            set(&fields, "value", &JsValue::from_str(value));
            set(&fields, "reason", &JsValue::from_str(reason));
        }
        _ => {}
    }
    make(e.code(), "pricing_error", &e.to_string(), fields.into())
}

/// A request parameter the model would refuse.
pub(crate) fn capability_error(e: &CapabilityError) -> JsValue {
    let fields = Object::new();
    set(&fields, "kind", &JsValue::from_str(e.kind()));
    set(&fields, "model", &JsValue::from_str(e.model()));
    match e {
        CapabilityError::SamplingParameter { parameter, value, .. } => {
            set(&fields, "parameter", &JsValue::from_str(parameter));
            set(&fields, "value", &JsValue::from_str(value));
        }
        CapabilityError::ForcedToolUse { tool_choice, .. } => set(&fields, "toolChoice", &JsValue::from_str(tool_choice)),
        _ => {}
    }
    make(e.code(), "capability_error", &e.to_string(), fields.into())
}

/// A tool definition that breaks a rule: the fields of its JSON form
/// (`rule`, `tool`, and per rule `reason`, `found`, `keyword`, `reference`,
/// `location`, `detail`).
pub(crate) fn tool_definition_error(e: &ToolDefinitionError) -> JsValue {
    let fields = to_js(e).unwrap_or(JsValue::UNDEFINED);
    if fields.is_object() {
        let _ = Reflect::delete_property(&Object::from(fields.clone()), &JsValue::from_str("message"));
    }
    make(e.code(), "tool_definition_invalid", &e.to_string(), fields)
}

/// A `tool_use` call that must not run: the fields of its JSON form (`kind`,
/// `tool`, and `known`, or `errors` and `omitted`), plus `toolResultText`, what
/// the model reads in the `is_error` `tool_result`.
pub(crate) fn tool_input_error(e: &ToolInputError) -> JsValue {
    let fields = to_js(e).unwrap_or(JsValue::UNDEFINED);
    if fields.is_object() {
        let obj = Object::from(fields.clone());
        let _ = Reflect::delete_property(&obj, &JsValue::from_str("message"));
        set(&obj, "toolResultText", &JsValue::from_str(&e.to_tool_result_text()));
    }
    make(e.code(), "tool_input_invalid", &e.to_string(), fields)
}

/// Cut-off JSON that cannot be salvaged.
pub(crate) fn partial_json_error(e: &PartialJsonError) -> JsValue {
    let (kind, offset) = match e {
        PartialJsonError::Syntax { offset, .. } => ("syntax", Some(*offset)),
        PartialJsonError::Incomplete { .. } => ("incomplete", None),
        PartialJsonError::TooDeep { offset, .. } => ("too_deep", Some(*offset)),
        PartialJsonError::NonFinite { offset } => ("non_finite", Some(*offset)),
        _ => ("syntax", None),
    };
    let fields = object(&[("kind", JsValue::from_str(kind)), ("offset", offset.map_or(JsValue::NULL, |o| JsValue::from(o as f64)))]);
    make(e.code(), "partial_json_error", &e.to_string(), fields)
}
