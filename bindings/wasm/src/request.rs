//! `buildRequest`: `creditpool_core::request::RequestBuilder` for callers who
//! bring their own transport.

use creditpool_core::api::MessageRequest;
use creditpool_core::http::HttpRequest;
use creditpool_core::request::{RequestBuilder, RequestOptions};
use creditpool_core::ApiKey;
use wasm_bindgen::prelude::*;

use crate::convert::{from_js_with, object, pairs_to_js};
use crate::errors;

/// Reads the core's `RequestOptions` (snake_case JSON, unknown fields refused)
/// and a key into a builder.
pub(crate) fn builder(api_key: &str, options: JsValue) -> Result<RequestBuilder, JsValue> {
    let options: RequestOptions = if options.is_undefined() || options.is_null() {
        RequestOptions::default()
    } else {
        from_js_with(options, |m| errors::configuration("invalid_options", &format!("invalid request options: {m}")))?
    };
    RequestBuilder::new(options.into_config(ApiKey::new(api_key))).map_err(|e| errors::request_error(&e))
}

/// Reads a Messages API request body.
/// Its parameter names are checked by the core's rule (`request_from_params`:
/// an unknown one is `UnknownParameterError`; `extra_body` is sent as given).
pub(crate) fn message_request(request: JsValue) -> Result<MessageRequest, JsValue> {
    let value: serde_json::Value = from_js_with(request, |m| errors::invalid_request(&format!("invalid request: {m}")))?;
    creditpool_core::request::request_from_params(value).map_err(|e| errors::request_error(&e))
}

/// An `HttpRequest` as `{method, path, headers: [[name, value], ...], body: string, stream}`.
pub(crate) fn http_to_js(http: &HttpRequest) -> JsValue {
    object(&[
        ("method", JsValue::from_str(http.method.as_str())),
        ("path", JsValue::from_str(&http.path)),
        ("headers", pairs_to_js(&http.headers)),
        ("body", JsValue::from_str(&String::from_utf8_lossy(&http.body))),
        ("stream", JsValue::from_bool(http.stream)),
    ])
}

/// Builds the HTTP request for `request` (a Messages API body): `endpoint` is
/// `"messages"` (the default) or `"count_tokens"`; `stream` asks for SSE.
/// `options` is the core's `RequestOptions` JSON: `{anthropic_version?,
/// betas?, browser?, pool_selector? (false, true or {field, value}),
/// extra_headers? ([[name, value]])}`.
///
/// The result's headers include `x-api-key`: it is for sending, not logging.
#[wasm_bindgen(js_name = buildRequest)]
pub fn build_request(api_key: &str, options: JsValue, request: JsValue, stream: bool, endpoint: Option<String>) -> Result<JsValue, JsValue> {
    let builder = builder(api_key, options)?;
    let request = message_request(request)?;
    let http = match endpoint.as_deref().unwrap_or("messages") {
        "messages" => builder.messages(&request, stream),
        "count_tokens" => builder.count_tokens(&request),
        other => return Err(errors::simple("invalid_argument", &format!("unknown endpoint {other:?}: use \"messages\" or \"count_tokens\""))),
    }
    .map_err(|e| errors::request_error(&e))?;
    Ok(http_to_js(&http))
}

/// Checks request parameter names by the core's rule (`check_params`): throws
/// `UnknownParameterError` for the first name the Messages API does not have,
/// suggesting the closest of its fields and of `alsoKnown`.
#[wasm_bindgen(js_name = checkRequestParams)]
pub fn check_request_params(names: Vec<String>, also_known: Vec<String>) -> Result<(), JsValue> {
    let known: Vec<&str> = also_known.iter().map(String::as_str).collect();
    creditpool_core::request::check_params(names.iter().map(String::as_str), &known).map_err(|e| errors::request_error(&e))
}

/// The base URL a client sends to, by the core's rule (`resolve_base_url`):
/// `given`, else `env` (the variable's value) when not empty, else the API;
/// throws `InvalidOptionsError` (`invalid_base_url`) otherwise.
#[wasm_bindgen(js_name = resolveBaseUrl)]
pub fn resolve_base_url(given: Option<String>, env: Option<String>) -> Result<String, JsValue> {
    creditpool_core::request::resolve_base_url(given.as_deref(), env.as_deref()).map_err(|e| errors::request_error(&e))
}

/// The environment variables a client reads: `[API_KEY_ENV, BASE_URL_ENV]`.
#[wasm_bindgen(js_name = clientEnvNames)]
pub fn client_env_names() -> Vec<String> {
    vec![creditpool_core::request::API_KEY_ENV.to_owned(), creditpool_core::request::BASE_URL_ENV.to_owned()]
}

/// The core's words for a name not among `known` (`suggest::unknown_name_message`):
/// `unknown {what} "name": did you mean "closest"?`, or the known names.
#[wasm_bindgen(js_name = unknownNameMessage)]
pub fn unknown_name_message(what: &str, name: &str, known: Vec<String>) -> String {
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    creditpool_core::suggest::unknown_name_message(what, name, &known)
}
