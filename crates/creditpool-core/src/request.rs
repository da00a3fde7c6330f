//! Turning a [`MessageRequest`] into a plain [`HttpRequest`].
//!
//! The builder adds the headers the API needs (`x-api-key`, `anthropic-version`,
//! `anthropic-beta`, `content-type`, and from a browser
//! `anthropic-dangerous-direct-browser-access`) and puts the pool selector in
//! the body. It checks what would make the API answer 400 or the transport fail
//! (an empty model, no messages, `max_tokens` of zero, a header value with a line
//! break) before anything is sent. It never prints the key.

use crate::api::{MessageRequest, ToolSpec};
use crate::http::{HttpRequest, Method};
use crate::secret::ApiKey;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The `anthropic-version` sent by default.
pub const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";
/// The path of the Messages endpoint.
pub const MESSAGES_PATH: &str = "/v1/messages";
/// The path of the token-counting endpoint.
pub const COUNT_TOKENS_PATH: &str = "/v1/messages/count_tokens";

/// Where requests go unless the caller or the environment says otherwise.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// The environment variable a client reads its API key from (the official
/// SDKs' name) when none is given.
pub const API_KEY_ENV: &str = "ANTHROPIC_API_KEY";

/// The environment variable a client reads its base URL from (the official
/// SDKs' name) when none is given.
pub const BASE_URL_ENV: &str = "ANTHROPIC_BASE_URL";

/// The base URL a client sends to, by one rule in every language: the one
/// the caller gave (`given`) wins; else [`BASE_URL_ENV`]'s value (`env`)
/// when it is set and not empty; else [`DEFAULT_BASE_URL`]. It must be an
/// absolute `http://` or `https://` URL with a host and no whitespace or
/// control character ([`RequestError::InvalidBaseUrl`], which says whether it
/// came from the environment); trailing slashes are dropped, so that
/// [`MESSAGES_PATH`] appends cleanly.
pub fn resolve_base_url(given: Option<&str>, env: Option<&str>) -> Result<String, RequestError> {
    let (url, from_env) = match (given, env) {
        (Some(g), _) => (g, false),
        (None, Some(e)) if !e.is_empty() => (e, true),
        _ => (DEFAULT_BASE_URL, false),
    };
    let bad = || RequestError::InvalidBaseUrl { url: url.chars().take(64).collect(), from_env };
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).ok_or_else(bad)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// The body field that selects the credit pool a request draws from.
///
/// By default `"credit_pool": "programmatic"`. Both the name and the value can be
/// changed, and [`RequestConfig::pool_selector`] can be `None` for endpoints that
/// reject unknown fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolSelector {
    /// The body field's name.
    pub field: String,
    /// Its value.
    pub value: Value,
}

impl Default for PoolSelector {
    fn default() -> PoolSelector {
        PoolSelector { field: "credit_pool".into(), value: Value::String("programmatic".into()) }
    }
}

/// How requests are built: the key, the version and beta headers, the pool
/// selector. `Debug` never shows the key, nor the value of an extra header
/// (only its name): extra headers often carry credentials.
#[derive(Clone)]
pub struct RequestConfig {
    /// The API key, sent as `x-api-key`.
    pub api_key: ApiKey,
    /// The `anthropic-version` header.
    pub anthropic_version: String,
    /// Beta features, sent comma-joined in `anthropic-beta`.
    pub betas: Vec<String>,
    /// Whether the request comes from a browser page (adds
    /// `anthropic-dangerous-direct-browser-access: true`).
    pub browser: bool,
    /// The pool selector put in the body; `None` sends none.
    pub pool_selector: Option<PoolSelector>,
    /// Extra headers, sent after the others.
    pub extra_headers: Vec<(String, String)>,
}

impl core::fmt::Debug for RequestConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RequestConfig")
            .field("api_key", &self.api_key)
            .field("anthropic_version", &self.anthropic_version)
            .field("betas", &self.betas)
            .field("browser", &self.browser)
            .field("pool_selector", &self.pool_selector)
            .field("extra_headers", &RedactedHeaders(&self.extra_headers))
            .finish()
    }
}

/// Header names with their values hidden, for `Debug`.
pub(crate) struct RedactedHeaders<'a>(pub(crate) &'a [(String, String)]);

impl core::fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|(k, _)| (k.as_str(), "****"))).finish()
    }
}

impl RequestConfig {
    /// The defaults for a key: version `2023-06-01`, no betas, not a browser,
    /// `"credit_pool": "programmatic"`.
    pub fn new(api_key: ApiKey) -> RequestConfig {
        RequestConfig {
            api_key,
            anthropic_version: DEFAULT_ANTHROPIC_VERSION.into(),
            betas: Vec::new(),
            browser: false,
            pool_selector: Some(PoolSelector::default()),
            extra_headers: Vec::new(),
        }
    }
}

/// The options of [`RequestConfig`] that bindings read from the caller's JSON:
/// everything but the key. Unknown fields are an error. `Debug` hides the
/// extra headers' values.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestOptions {
    /// The `anthropic-version` header; default `2023-06-01`.
    #[serde(default)]
    pub anthropic_version: Option<String>,
    /// Beta features.
    #[serde(default)]
    pub betas: Vec<String>,
    /// Whether the request comes from a browser page.
    #[serde(default)]
    pub browser: bool,
    /// The pool selector: absent for the default, `false` for none, or
    /// `{"field": ..., "value": ...}`.
    #[serde(default)]
    pub pool_selector: Option<PoolSelectorOption>,
    /// Extra headers.
    #[serde(default)]
    pub extra_headers: Vec<(String, String)>,
}

impl core::fmt::Debug for RequestOptions {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RequestOptions")
            .field("anthropic_version", &self.anthropic_version)
            .field("betas", &self.betas)
            .field("browser", &self.browser)
            .field("pool_selector", &self.pool_selector)
            .field("extra_headers", &RedactedHeaders(&self.extra_headers))
            .finish()
    }
}

/// A pool selector option: `false` for none, or a selector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PoolSelectorOption {
    /// `false`: send no selector. (`true` means the default.)
    Enabled(bool),
    /// A custom selector.
    Custom(PoolSelector),
}

impl RequestOptions {
    /// A config with these options and a key.
    pub fn into_config(self, api_key: ApiKey) -> RequestConfig {
        RequestConfig {
            api_key,
            anthropic_version: self.anthropic_version.unwrap_or_else(|| DEFAULT_ANTHROPIC_VERSION.into()),
            betas: self.betas,
            browser: self.browser,
            pool_selector: match self.pool_selector {
                None | Some(PoolSelectorOption::Enabled(true)) => Some(PoolSelector::default()),
                Some(PoolSelectorOption::Enabled(false)) => None,
                Some(PoolSelectorOption::Custom(s)) => Some(s),
            },
            extra_headers: self.extra_headers,
        }
    }
}

/// A request that cannot be built. Messages never contain the key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The API key is empty.
    #[error("no API key: pass one or set ANTHROPIC_API_KEY")]
    MissingApiKey,
    /// The API key contains characters that cannot go in a header.
    #[error("the API key contains a line break or a control character")]
    InvalidApiKey,
    /// A header name or value cannot go on the wire.
    #[error("header {name:?} has a line break or a control character in its {part}")]
    InvalidHeader {
        /// The header's name (never the key's header value).
        name: String,
        /// `"name"` or `"value"`.
        part: &'static str,
    },
    /// A base URL that is not an absolute http or https URL.
    #[error("base URL {url:?}{} must be an absolute http:// or https:// URL with a host", if *from_env { " (from ANTHROPIC_BASE_URL)" } else { "" })]
    InvalidBaseUrl {
        /// The URL as given (at most 64 characters of it).
        url: String,
        /// Whether it came from `ANTHROPIC_BASE_URL`.
        from_env: bool,
    },
    /// A beta name is empty or contains a comma.
    #[error("invalid beta {beta:?}: it must be non-empty and contain no comma")]
    InvalidBeta {
        /// The beta as given.
        beta: String,
    },
    /// The request itself is invalid.
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// Why.
        reason: String,
    },
    /// The pool selector's field collides with a Messages API parameter.
    #[error("the pool selector field {field:?} collides with a request parameter")]
    SelectorCollision {
        /// The field name.
        field: String,
    },
    /// A request parameter the Messages API does not have (a misspelling, most
    /// often): nothing was sent. A field newer than this version goes in
    /// `extra_body`.
    #[error("{}", unknown_parameter_message(name, suggestion.as_deref()))]
    UnknownParameter {
        /// The parameter as the caller wrote it.
        name: String,
        /// The closest known name ([`crate::suggest::closest`]), if one is close.
        suggestion: Option<String>,
    },
}

fn unknown_parameter_message(name: &str, suggestion: Option<&str>) -> String {
    let name = name.escape_debug();
    match suggestion {
        Some(s) => format!("unknown request parameter `{name}`: did you mean `{s}`? (a Messages API field newer than this library goes in `{EXTRA_BODY}`)"),
        None => format!("unknown request parameter `{name}`: the Messages API has no such field (one newer than this library goes in `{EXTRA_BODY}`)"),
    }
}

/// The API refused the pool selector: an endpoint that does not know
/// creditpool's selector field answers it like any unknown field, with a 400
/// `invalid_request_error` reading `credit_pool: Extra inputs are not
/// permitted`. The facts only: each binding says how to switch the selector
/// off or rename its field in its own argument names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the API does not accept the pool selector field `{field}` (it answered 400: {}); this endpoint does not know creditpool's pool selector: switch the selector off, or rename its field to one the endpoint accepts", api.message)]
pub struct SelectorRejected {
    /// The selector's field name.
    pub field: String,
    /// The API's answer, as received.
    pub api: crate::error::ApiError,
}

/// Whether `api` is the answer of an endpoint that does not know the pool
/// selector field `field`: a 400 `invalid_request_error` whose message names
/// the field as an extra input (`credit_pool: Extra inputs are not
/// permitted`).
pub fn rejects_selector(field: &str, api: &crate::error::ApiError) -> bool {
    let message = api.message.trim_start();
    api.status == Some(400)
        && api.kind == crate::error::ApiErrorKind::InvalidRequest
        && !field.is_empty()
        && message.strip_prefix(field).is_some_and(|rest| rest.starts_with(':'))
        && message.contains("Extra inputs are not permitted")
}

/// Every top-level field of a Messages API request that callers may write
/// (the pool selector is the builder's, `stream` is set by the call). A
/// caller's request naming any other field is refused
/// ([`RequestError::UnknownParameter`]) unless it comes in [`EXTRA_BODY`].
pub const MESSAGES_PARAMS: &[&str] = &[
    "model",
    "max_tokens",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "stream",
    "metadata",
    "thinking",
    "service_tier",
    "inference_geo",
    "container",
    "mcp_servers",
    "context_management",
    "output_config",
    "output_format",
    "speed",
    "thread",
    "cache_control",
    "fallbacks",
];

/// The escape hatch for fields newer than this library: an object in the
/// caller's request whose fields are sent as given, unchecked (as the official
/// SDKs' `extra_body`). It may not name a field of [`MESSAGES_PARAMS`]: those
/// are bounded by the pool's reservation and must be passed as themselves.
pub const EXTRA_BODY: &str = "extra_body";

/// Checks the names a caller wrote for a request against [`MESSAGES_PARAMS`]
/// and `also_known` (the binding's own argument names, offered as suggestions
/// only: an agent's `max_turns`, say): the first unknown name is an
/// [`RequestError::UnknownParameter`] with the closest known name.
/// [`EXTRA_BODY`] is accepted.
pub fn check_params<'a>(names: impl IntoIterator<Item = &'a str>, also_known: &[&str]) -> Result<(), RequestError> {
    for name in names {
        if name == EXTRA_BODY || MESSAGES_PARAMS.contains(&name) {
            continue;
        }
        let suggestion = crate::suggest::closest(name, MESSAGES_PARAMS.iter().chain(also_known).copied());
        return Err(RequestError::UnknownParameter { name: name.into(), suggestion: suggestion.map(str::to_owned) });
    }
    Ok(())
}

/// A caller's request (JSON, as a binding reads it) as a [`MessageRequest`]:
/// its field names are checked ([`check_params`]), then its shape; the fields
/// of its [`EXTRA_BODY`] object are added as given.
pub fn request_from_params(params: Value) -> Result<MessageRequest, RequestError> {
    let Value::Object(mut map) = params else {
        return Err(RequestError::InvalidRequest { reason: "a request must be an object of Messages API parameters".into() });
    };
    let extra = match map.remove(EXTRA_BODY) {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(RequestError::InvalidRequest { reason: format!("`{EXTRA_BODY}` must be an object of fields to send as given") }),
    };
    check_params(map.keys().map(String::as_str), &[])?;
    if let Some(k) = extra.keys().find(|k| MESSAGES_PARAMS.contains(&k.as_str())) {
        return Err(RequestError::InvalidRequest {
            reason: format!("`{k}` is a Messages API parameter: pass it as `{k}`, not in `{EXTRA_BODY}`"),
        });
    }
    let mut request: MessageRequest = serde_json::from_value(Value::Object(map)).map_err(|e| RequestError::InvalidRequest { reason: e.to_string() })?;
    request.extra.extend(extra);
    Ok(request)
}

/// Builds [`HttpRequest`]s for the Messages API.
#[derive(Clone, Debug)]
pub struct RequestBuilder {
    config: RequestConfig,
}

const RESERVED_FIELDS: &[&str] = &[
    "model", "max_tokens", "messages", "system", "tools", "tool_choice", "temperature", "top_p", "top_k",
    "stop_sequences", "stream", "metadata", "thinking", "service_tier", "inference_geo", "container", "mcp_servers",
];

impl RequestBuilder {
    /// A builder with a configuration, which is checked once here.
    pub fn new(config: RequestConfig) -> Result<RequestBuilder, RequestError> {
        if config.api_key.is_empty() {
            return Err(RequestError::MissingApiKey);
        }
        if !is_header_value(config.api_key.expose()) {
            return Err(RequestError::InvalidApiKey);
        }
        for beta in &config.betas {
            if beta.trim().is_empty() || beta.contains(',') {
                return Err(RequestError::InvalidBeta { beta: beta.clone() });
            }
        }
        check_header("anthropic-version", &config.anthropic_version)?;
        for b in &config.betas {
            check_header("anthropic-beta", b)?;
        }
        for (k, v) in &config.extra_headers {
            check_header(k, v)?;
        }
        if let Some(sel) = &config.pool_selector {
            if RESERVED_FIELDS.contains(&sel.field.as_str()) || sel.field.is_empty() {
                return Err(RequestError::SelectorCollision { field: sel.field.clone() });
            }
        }
        Ok(RequestBuilder { config })
    }

    /// The configuration.
    pub fn config(&self) -> &RequestConfig {
        &self.config
    }

    /// `POST /v1/messages` for a request; `stream` asks for SSE. The body is the
    /// request as given, with `stream` set and the pool selector added (it
    /// replaces a field of the same name in `extra`).
    pub fn messages(&self, request: &MessageRequest, stream: bool) -> Result<HttpRequest, RequestError> {
        check_request(request)?;
        let mut body = to_object(request)?;
        if stream {
            body.insert("stream".into(), Value::Bool(true));
        } else {
            body.remove("stream");
        }
        if let Some(sel) = &self.config.pool_selector {
            body.insert(sel.field.clone(), sel.value.clone());
        }
        Ok(self.http(MESSAGES_PATH, &body, stream))
    }

    /// `POST /v1/messages/count_tokens` for a request: the exact input token
    /// count, for a pre-flight reservation. Only the fields that endpoint
    /// accepts are sent (model, messages, system, tools, tool_choice, thinking,
    /// mcp_servers), and no pool selector: counting costs nothing.
    pub fn count_tokens(&self, request: &MessageRequest) -> Result<HttpRequest, RequestError> {
        check_request(request)?;
        let full = to_object(request)?;
        let body: Map<String, Value> = full
            .into_iter()
            .filter(|(k, _)| matches!(k.as_str(), "model" | "messages" | "system" | "tools" | "tool_choice" | "thinking" | "mcp_servers"))
            .collect();
        Ok(self.http(COUNT_TOKENS_PATH, &body, false))
    }

    fn http(&self, path: &str, body: &Map<String, Value>, stream: bool) -> HttpRequest {
        let c = &self.config;
        let mut headers: Vec<(String, String)> = vec![
            ("x-api-key".into(), c.api_key.expose().to_owned()),
            ("anthropic-version".into(), c.anthropic_version.clone()),
            ("content-type".into(), "application/json".into()),
            ("accept".into(), if stream { "text/event-stream" } else { "application/json" }.into()),
        ];
        if !c.betas.is_empty() {
            headers.push(("anthropic-beta".into(), c.betas.join(",")));
        }
        if c.browser {
            headers.push(("anthropic-dangerous-direct-browser-access".into(), "true".into()));
        }
        headers.extend(c.extra_headers.iter().cloned());
        // A Map of Values always serializes.
        let body = serde_json::to_vec(body).unwrap_or_default();
        HttpRequest { method: Method::Post, path: path.into(), headers, body, stream }
    }
}

fn to_object(request: &MessageRequest) -> Result<Map<String, Value>, RequestError> {
    match serde_json::to_value(request) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(RequestError::InvalidRequest { reason: "the request is not a JSON object".into() }),
        Err(e) => Err(RequestError::InvalidRequest { reason: e.to_string() }),
    }
}

fn check_request(request: &MessageRequest) -> Result<(), RequestError> {
    let invalid = |reason: &str| Err(RequestError::InvalidRequest { reason: reason.into() });
    if request.model.trim().is_empty() {
        return invalid("`model` is empty");
    }
    if request.max_tokens == 0 {
        return invalid("`max_tokens` must be at least 1");
    }
    if request.messages.is_empty() {
        return invalid("`messages` is empty");
    }
    for (i, t) in request.tools.iter().enumerate() {
        if let ToolSpec::Custom(t) = t {
            if t.name.is_empty() {
                return Err(RequestError::InvalidRequest { reason: format!("tools[{i}] has an empty name") });
            }
        }
    }
    for f in [request.temperature, request.top_p].into_iter().flatten() {
        if !f.is_finite() {
            return invalid("`temperature` and `top_p` must be finite numbers");
        }
    }
    Ok(())
}

fn is_header_value(v: &str) -> bool {
    v.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

fn check_header(name: &str, value: &str) -> Result<(), RequestError> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
        return Err(RequestError::InvalidHeader { name: name.escape_debug().to_string(), part: "name" });
    }
    if !is_header_value(value) {
        return Err(RequestError::InvalidHeader { name: name.into(), part: "value" });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn builder() -> RequestBuilder {
        RequestBuilder::new(RequestConfig::new(ApiKey::new("sk-test-secret"))).unwrap()
    }

    #[test]
    fn builds_headers_and_selector() {
        let req = MessageRequest::new("claude-sonnet-4-5", 256, "hi");
        let http = builder().messages(&req, false).unwrap();
        assert_eq!(http.path, "/v1/messages");
        assert_eq!(http.header("X-Api-Key"), Some("sk-test-secret"));
        assert_eq!(http.header("anthropic-version"), Some("2023-06-01"));
        assert_eq!(http.header("anthropic-beta"), None);
        let body: Value = serde_json::from_slice(&http.body).unwrap();
        assert_eq!(body["credit_pool"], "programmatic");
        assert!(body.get("stream").is_none());
        assert!(!format!("{http:?}").contains("sk-test-secret"));
    }

    #[test]
    fn rejects_key_with_newline_without_echoing_it() {
        let err = RequestBuilder::new(RequestConfig::new(ApiKey::new("sk-a\nb"))).unwrap_err();
        assert_eq!(err, RequestError::InvalidApiKey);
        assert!(!err.to_string().contains("sk-a"));
    }

    #[test]
    fn selector_off_and_custom() {
        let mut cfg = RequestConfig::new(ApiKey::new("k"));
        cfg.pool_selector = None;
        let req = MessageRequest::new("m", 1, "x");
        let body: Value = serde_json::from_slice(&RequestBuilder::new(cfg.clone()).unwrap().messages(&req, true).unwrap().body).unwrap();
        assert!(body.get("credit_pool").is_none());
        assert_eq!(body["stream"], json!(true));
        cfg.pool_selector = Some(PoolSelector { field: "model".into(), value: json!(1) });
        assert!(matches!(RequestBuilder::new(cfg).unwrap_err(), RequestError::SelectorCollision { .. }));
    }
}

#[cfg(test)]
mod params_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recognises_an_api_that_does_not_know_the_selector() {
        use crate::error::{ApiError, ApiErrorKind};
        let api = |message: &str, status| ApiError { kind: ApiErrorKind::InvalidRequest, message: message.into(), status, request_id: None };
        assert!(rejects_selector("credit_pool", &api("credit_pool: Extra inputs are not permitted", Some(400))));
        assert!(!rejects_selector("credit_pool", &api("temprature: Extra inputs are not permitted", Some(400))));
        assert!(!rejects_selector("credit", &api("credit_pool: Extra inputs are not permitted", Some(400))));
        assert!(!rejects_selector("credit_pool", &api("credit_pool: Extra inputs are not permitted", None)));
        assert!(!rejects_selector("credit_pool", &api("credit_pool: Input should be a string", Some(400))));
    }

    #[test]
    fn a_misspelled_parameter_is_refused_with_the_closest_name() {
        let err = request_from_params(json!({"model": "m", "max_tokens": 5, "messages": [], "temprature": 0.5})).unwrap_err();
        assert_eq!(err, RequestError::UnknownParameter { name: "temprature".into(), suggestion: Some("temperature".into()) });
        assert_eq!(err.code(), "unknown_parameter");
        assert!(err.to_string().contains("did you mean `temperature`"), "{err}");
        // An agent's own argument names are suggestions too.
        let err = check_params(["max_turn"], &["max_turns", "max_spend"]).unwrap_err();
        assert_eq!(err, RequestError::UnknownParameter { name: "max_turn".into(), suggestion: Some("max_turns".into()) });
        let err = check_params(["colour"], &[]).unwrap_err();
        assert!(err.to_string().contains("no such field"), "{err}");
    }

    #[test]
    fn extra_body_is_the_escape_hatch_and_cannot_override_a_parameter() {
        let req = request_from_params(json!({"model": "m", "max_tokens": 5, "messages": [], "extra_body": {"new_field": {"x": 1}}})).unwrap();
        assert_eq!(req.extra.get("new_field"), Some(&json!({"x": 1})));
        let err = request_from_params(json!({"model": "m", "max_tokens": 5, "messages": [], "extra_body": {"max_tokens": 99999}})).unwrap_err();
        assert!(matches!(err, RequestError::InvalidRequest { .. }), "{err}");
        let err = request_from_params(json!({"model": "m", "max_tokens": 5, "messages": [], "extra_body": 3})).unwrap_err();
        assert!(matches!(err, RequestError::InvalidRequest { .. }), "{err}");
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key_or_an_extra_header_value() {
        let mut c = RequestConfig::new(ApiKey::new("sk-test-SECRETKEY"));
        c.extra_headers = vec![("authorization".into(), "Bearer TOKEN123".into()), ("x-team".into(), "blue-SECRET2".into())];
        let shown = format!("{c:?} {:?}", RequestOptions { extra_headers: c.extra_headers.clone(), ..RequestOptions::default() });
        for secret in ["SECRETKEY", "TOKEN123", "SECRET2"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("x-team"));
        let http = RequestBuilder::new(c).unwrap().messages(&crate::api::MessageRequest::new("claude-haiku-4-5", 1, "hi"), false).unwrap();
        let shown = format!("{http:?}");
        assert!(!shown.contains("SECRETKEY") && !shown.contains("TOKEN123"), "{shown}");
    }

    #[test]
    fn secret_header_names() {
        for n in ["x-api-key", "Authorization", "proxy-authorization", "x-goog-api-key", "X-Auth-Token", "cookie", "x-creditpool-signature"] {
            assert!(crate::http::is_secret_header(n), "{n}");
        }
        for n in ["content-type", "anthropic-version", "anthropic-beta", "x-team"] {
            assert!(!crate::http::is_secret_header(n), "{n}");
        }
    }
}

#[cfg(test)]
mod base_url_tests {
    use super::*;

    #[test]
    fn the_given_url_wins_then_a_non_empty_variable_then_the_api() {
        assert_eq!(resolve_base_url(Some("http://127.0.0.1:8080/"), Some("https://x.test")).unwrap(), "http://127.0.0.1:8080");
        assert_eq!(resolve_base_url(None, Some("https://proxy.test/anthropic//")).unwrap(), "https://proxy.test/anthropic");
        assert_eq!(resolve_base_url(None, Some("")).unwrap(), DEFAULT_BASE_URL);
        assert_eq!(resolve_base_url(None, None).unwrap(), DEFAULT_BASE_URL);
    }

    #[test]
    fn a_url_that_is_not_absolute_http_is_refused_saying_where_it_came_from() {
        for bad in ["api.anthropic.com", "ftp://x.test", "https://", "https:///v1", "https://a b.test", "http://x.test/\n"] {
            let e = resolve_base_url(Some(bad), None).unwrap_err();
            assert!(matches!(e, RequestError::InvalidBaseUrl { from_env: false, .. }), "{bad:?}");
        }
        let e = resolve_base_url(None, Some("localhost:8080")).unwrap_err();
        assert_eq!(e.to_string(), "base URL \"localhost:8080\" (from ANTHROPIC_BASE_URL) must be an absolute http:// or https:// URL with a host");
        // Given wins even over a bad variable.
        assert!(resolve_base_url(Some("https://ok.test"), Some("bad")).is_ok());
    }
}
