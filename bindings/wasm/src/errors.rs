//! The core's errors as JS `Error` objects.
//!
//! Every error thrown to JS is an `Error` (never a string) with a
//! machine-readable `type` and structured fields. The classes themselves are
//! the JS package's (`js/src/errors.js`): it registers a factory with
//! [`set_error_factory`], and this module calls it with
//! `(type, message, fields, family)`, where `family` is `"api"` for errors the
//! API reported (so that an error type this version does not know still
//! becomes an `APIError`). Without a factory, a plain `Error` with `type` and
//! the fields assigned is thrown.
//!
//! The `type` strings, one per kind of failure:
//!
//! * errors the API reported: the API's own `error.type`
//!   (`authentication_error`, `rate_limit_error`, `overloaded_error`, ...);
//! * `configuration_error` (with `kind`: `missing_api_key`, `invalid_api_key`,
//!   `invalid_header`, `invalid_beta`, `selector_collision`, `invalid_options`);
//! * `invalid_request_error` without a status: refused locally before sending
//!   (with `kind`: `invalid_request`);
//! * `connection_error`, `connection_timeout` (with `phase`), `aborted`;
//! * `malformed_response`, `response_too_large`;
//! * `stream_incomplete` (with `partial`), `stream_malformed`,
//!   `stream_protocol`, `event_too_large`;
//! * `tool_definition_invalid`, `tool_input_invalid`;
//! * `unknown_model`, `pricing_error` (with `kind`), `capability_error` (with
//!   `kind`), `partial_json_error` (with `kind`);
//! * `invalid_argument` (a JS value of the wrong shape), `busy` (an object
//!   used by two calls at once), `internal_error` (a bug).

use std::cell::RefCell;

use creditpool_core::api::Message;
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
/// `factory(type, message, fields, family) -> Error`.
#[wasm_bindgen(js_name = setErrorFactory)]
pub fn set_error_factory(factory: Function) {
    FACTORY.with(|f| {
        if let Ok(mut slot) = f.try_borrow_mut() {
            *slot = Some(factory);
        }
    });
}

/// Builds an error object of `error_type`. `fields` is a plain object (or
/// `undefined`); `api` marks errors the API reported.
pub(crate) fn make(error_type: &str, message: &str, fields: JsValue, api: bool) -> JsValue {
    let family = if api { JsValue::from_str("api") } else { JsValue::NULL };
    let factory = FACTORY.with(|f| f.try_borrow().ok().and_then(|slot| slot.clone()));
    if let Some(factory) = factory {
        let args = js_sys::Array::of4(&JsValue::from_str(error_type), &JsValue::from_str(message), &fields, &family);
        if let Ok(err) = factory.apply(&JsValue::NULL, &args) {
            return err;
        }
    }
    let err = js_sys::Error::new(message);
    if fields.is_object() {
        let _ = Object::assign(&err, &Object::from(fields));
    }
    let _ = Reflect::set(&err, &JsValue::from_str("type"), &JsValue::from_str(error_type));
    err.into()
}

/// An error with a type and a message, no other fields.
pub(crate) fn simple(error_type: &str, message: &str) -> JsValue {
    make(error_type, message, JsValue::UNDEFINED, false)
}

/// A bug in creditpool: something that should not be able to happen.
pub(crate) fn internal(message: &str) -> JsValue {
    simple("internal_error", &format!("creditpool internal error (please report it): {message}"))
}

/// An object used by two calls at once.
pub(crate) fn busy(what: &str) -> JsValue {
    simple("busy", &format!("{what} is already in use by another call; await the first one"))
}

/// The partial message of a failed stream as a JS value (`null` if none).
fn partial_js(partial: Option<&Message>) -> JsValue {
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
    make(e.kind.as_str(), &e.to_string(), fields, true)
}

/// A response that is an API error or cannot be read.
pub(crate) fn response_error(e: &ResponseError) -> JsValue {
    match e {
        ResponseError::Api(api) => api_error(api, None),
        ResponseError::Parse(p) => parse_error(p),
        other => simple("malformed_response", &other.to_string()),
    }
}

/// A response body that cannot be read.
pub(crate) fn parse_error(e: &ParseError) -> JsValue {
    match e {
        ParseError::TooLarge { size, limit, .. } => make(
            "response_too_large",
            &e.to_string(),
            object(&[("size", JsValue::from(*size as f64)), ("limit", JsValue::from(*limit as f64))]),
            false,
        ),
        _ => simple("malformed_response", &e.to_string()),
    }
}

/// The `kind` of a request that cannot be built.
fn request_error_kind(e: &RequestError) -> &'static str {
    match e {
        RequestError::MissingApiKey => "missing_api_key",
        RequestError::InvalidApiKey => "invalid_api_key",
        RequestError::InvalidHeader { .. } => "invalid_header",
        RequestError::InvalidBeta { .. } => "invalid_beta",
        RequestError::InvalidRequest { .. } => "invalid_request",
        RequestError::SelectorCollision { .. } => "selector_collision",
        _ => "invalid_options",
    }
}

/// A request that cannot be built: `invalid_request_error` (without a status)
/// for the request itself, `configuration_error` for the client's settings.
pub(crate) fn request_error(e: &RequestError) -> JsValue {
    let kind = request_error_kind(e);
    let fields = object(&[("kind", JsValue::from_str(kind)), ("status", JsValue::NULL)]);
    let error_type = if kind == "invalid_request" { "invalid_request_error" } else { "configuration_error" };
    make(error_type, &e.to_string(), fields, false)
}

/// A configuration error of the given kind.
pub(crate) fn configuration(kind: &str, message: &str) -> JsValue {
    make("configuration_error", message, object(&[("kind", JsValue::from_str(kind))]), false)
}

/// A request refused locally (it does not parse as a Messages API request).
pub(crate) fn invalid_request(message: &str) -> JsValue {
    make("invalid_request_error", message, object(&[("kind", JsValue::from_str("invalid_request")), ("status", JsValue::NULL)]), false)
}

/// A failed stream.
pub(crate) fn stream_error(e: &StreamError) -> JsValue {
    match e {
        StreamError::Api { error, partial } => api_error(error, partial.as_deref()),
        StreamError::Incomplete { partial, reason } => make(
            "stream_incomplete",
            &e.to_string(),
            object(&[("partial", partial_js(partial.as_deref())), ("reason", JsValue::from_str(reason))]),
            false,
        ),
        StreamError::Malformed { .. } => simple("stream_malformed", &e.to_string()),
        StreamError::Protocol { .. } => simple("stream_protocol", &e.to_string()),
        StreamError::Decode(d) => sse_error(d),
        other => simple("stream_malformed", &other.to_string()),
    }
}

/// An SSE decoding failure.
pub(crate) fn sse_error(e: &SseError) -> JsValue {
    match e {
        SseError::EventTooLarge { size, limit } => {
            make("event_too_large", &e.to_string(), object(&[("size", JsValue::from(*size as f64)), ("limit", JsValue::from(*limit as f64))]), false)
        }
        SseError::Truncated { discarded_bytes } => make(
            "stream_incomplete",
            &e.to_string(),
            object(&[("partial", JsValue::NULL), ("discardedBytes", JsValue::from(*discarded_bytes as f64))]),
            false,
        ),
        other => simple("stream_malformed", &other.to_string()),
    }
}

/// A price that cannot be determined.
pub(crate) fn pricing_error(e: &PricingError) -> JsValue {
    let fields = Object::new();
    set(&fields, "kind", &JsValue::from_str(e.kind()));
    match e {
        PricingError::UnknownModel { model } => {
            set(&fields, "model", &JsValue::from_str(model));
            return make("unknown_model", &e.to_string(), fields.into(), false);
        }
        PricingError::Unpriced { model, note } => {
            set(&fields, "model", &JsValue::from_str(model));
            set(&fields, "note", &JsValue::from_str(note));
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
    make("pricing_error", &e.to_string(), fields.into(), false)
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
    make("capability_error", &e.to_string(), fields.into(), false)
}

/// A tool definition that breaks a rule: the fields of its JSON form
/// (`rule`, `tool`, and per rule `reason`, `found`, `keyword`, `reference`,
/// `location`, `detail`).
pub(crate) fn tool_definition_error(e: &ToolDefinitionError) -> JsValue {
    let fields = to_js(e).unwrap_or(JsValue::UNDEFINED);
    if fields.is_object() {
        let _ = Reflect::delete_property(&Object::from(fields.clone()), &JsValue::from_str("message"));
    }
    make("tool_definition_invalid", &e.to_string(), fields, false)
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
    make("tool_input_invalid", &e.to_string(), fields, false)
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
    make("partial_json_error", &e.to_string(), fields, false)
}
