//! `RawClient`: what every request of a JS `Client` shares (the key inside the
//! request builder, the base URL, the call options), and the calls it makes.
//!
//! A client makes state machines, and the package's one attempt player
//! (`js/src/player.js`) drives them: [`RawClient::call`] gives a
//! [`crate::call::MessagesCall`] (the core's call, for `create` and
//! `stream`), [`RawClient::count_tokens`] the core's `count_tokens` call.
//! Both send their requests from inside the module ([`crate::transport`]), so
//! the key never reaches JS.

use std::rc::Rc;

use creditpool_core::call::{CallOptions, MessagesCall as CoreCall};
use creditpool_core::request::{PoolSelectorOption, RequestBuilder, RequestOptions};
use creditpool_core::retry;
use creditpool_core::tools;
use creditpool_core::ApiKey;
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::call::{preflight_error, MessagesCall};
use crate::convert::{from_js_with, to_js};
use crate::errors;
use crate::request::message_request;
use crate::transport;

fn yes() -> bool {
    true
}

/// The client's options as the JS `Client` passes them (camelCase; unknown
/// fields refused). The key travels separately.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClientOptions {
    #[serde(rename = "baseURL")]
    base_url: String,
    #[serde(default)]
    anthropic_version: Option<String>,
    #[serde(default)]
    betas: Vec<String>,
    #[serde(default)]
    browser: bool,
    #[serde(default)]
    pool_selector: Option<PoolSelectorOption>,
    #[serde(default)]
    extra_headers: Vec<(String, String)>,
    #[serde(default)]
    retry: Option<retry::RetryPolicy>,
    #[serde(default)]
    max_retries: Option<u32>,
    #[serde(default)]
    timeout: Option<f64>,
    #[serde(default)]
    idle_timeout: Option<f64>,
    #[serde(default)]
    total_timeout: Option<f64>,
    #[serde(default = "yes")]
    check_capabilities: bool,
    /// `[{model, prices}]`: prices for models the built-in table does not
    /// price (or new prices for those it does), applied in order; the
    /// client's agents use them.
    #[serde(default)]
    price_overrides: Vec<PriceOverride>,
}

/// One entry of `priceOverrides`: a model ID and its prices (the core's
/// `ModelPrices` JSON: decimal strings in USD per million tokens).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceOverride {
    model: String,
    prices: serde_json::Value,
}

/// What every request of a client shares. Holds the key (inside the builder),
/// which nothing here prints.
pub(crate) struct Config {
    pub(crate) builder: RequestBuilder,
    pub(crate) base_url: String,
    /// The call options the caller set, over the core's defaults (`stream`
    /// and `jitter_seed` are set per call).
    pub(crate) call: CallOptions,
    /// Whether the model's capabilities are checked before sending.
    pub(crate) check_capabilities: bool,
    /// The built-in prices with the client's `priceOverrides`.
    pub(crate) prices: std::sync::Arc<creditpool_core::pricing::PriceTable>,
}

/// A timeout option in ms; 0 means none (the largest representable).
fn millis(value: Option<f64>, name: &str) -> Result<Option<u64>, JsValue> {
    match value {
        None => Ok(None),
        Some(v) if v > 0.0 && v.is_finite() => Ok(Some(v as u64)),
        // 0 (the only non-negative value left, with -0): no timeout.
        Some(v) if v >= 0.0 => Ok(Some(u64::MAX)),
        Some(_) => Err(errors::configuration("invalid_options", &format!("{name} must be a non-negative number of milliseconds (0: none)"))),
    }
}

/// A Messages API client: the key, the base URL, the headers and pool
/// selector, the retry policy and timeouts.
#[wasm_bindgen]
pub struct RawClient {
    pub(crate) cfg: Rc<Config>,
}

#[wasm_bindgen]
impl RawClient {
    /// A client for `apiKey` with `options` (`{baseURL, anthropicVersion?,
    /// betas?, browser?, poolSelector?, extraHeaders?, retry?, maxRetries?,
    /// timeout?, idleTimeout?, totalTimeout?, checkCapabilities?}`). Throws
    /// `RequestBuildError` or `InvalidOptionsError`.
    #[wasm_bindgen(constructor)]
    pub fn new(api_key: &str, options: JsValue) -> Result<RawClient, JsValue> {
        let options: ClientOptions = from_js_with(options, |m| errors::configuration("invalid_options", &format!("invalid client options: {m}")))?;
        let request_options = RequestOptions {
            anthropic_version: options.anthropic_version,
            betas: options.betas,
            browser: options.browser,
            pool_selector: options.pool_selector,
            extra_headers: options.extra_headers,
        };
        let builder = RequestBuilder::new(request_options.into_config(ApiKey::new(api_key))).map_err(|e| errors::request_error(&e))?;
        let mut call = CallOptions { retry: options.retry.unwrap_or_default(), ..CallOptions::default() };
        if let Some(n) = options.max_retries {
            call.retry.max_retries = n;
        }
        if let Some(idle) = millis(options.idle_timeout, "idleTimeout")? {
            call.idle_timeout_ms = idle;
        }
        if let Some(read) = millis(options.timeout, "timeout")? {
            call.read_timeout_ms = read;
        }
        // The call's overall deadline (`CallOptions::total_timeout_ms`); 0: none.
        call.total_timeout_ms = millis(options.total_timeout, "totalTimeout")?.filter(|&ms| ms != u64::MAX);
        let mut prices = creditpool_core::pricing::PriceTable::builtin();
        for o in options.price_overrides {
            let p = creditpool_core::pricing::ModelPrices::from_json_value(&o.prices).map_err(|e| errors::pricing_error(&e))?;
            prices = prices.with_override(o.model, p);
        }
        let prices = std::sync::Arc::new(prices);
        Ok(RawClient { cfg: Rc::new(Config { builder, base_url: options.base_url, call, check_capabilities: options.check_capabilities, prices }) })
    }

    /// The base URL requests go to.
    #[wasm_bindgen(getter, js_name = baseURL)]
    pub fn base_url(&self) -> String {
        self.cfg.base_url.clone()
    }

    /// The retry policy, as the core's JSON.
    #[wasm_bindgen(getter, js_name = retryPolicy)]
    pub fn retry_policy(&self) -> Result<JsValue, JsValue> {
        to_js(&self.cfg.call.retry)
    }

    /// The core's call for `request` (a Messages API body), streamed or not,
    /// checked before anything is sent (the tool definitions, and the
    /// model's capabilities unless the client switched them off). The
    /// module sends its requests (`send(signal)`).
    pub fn call(&self, request: JsValue, stream: bool) -> Result<MessagesCall, JsValue> {
        let request = message_request(request)?;
        let preflight = self.cfg.check_capabilities;
        if !preflight {
            // Without the capability check the tools are still checked.
            tools::check_tools(&request.tools).map_err(|e| errors::tool_definition_error(&e))?;
        }
        let options = CallOptions { stream, preflight, jitter_seed: transport::jitter_seed(), ..self.cfg.call.clone() };
        let max_body = options.max_body_bytes;
        let call = CoreCall::new(&self.cfg.builder, &request, options).map_err(|e| preflight_error(&e))?;
        Ok(MessagesCall::with_sender(call, self.cfg.clone(), max_body))
    }

    /// The core's `POST /v1/messages/count_tokens` call for `request`
    /// (its tools checked first); its result is `{input_tokens, attempts,
    /// request_id}`.
    #[wasm_bindgen(js_name = countTokens)]
    pub fn count_tokens(&self, request: JsValue) -> Result<MessagesCall, JsValue> {
        let request = message_request(request)?;
        let options = CallOptions { jitter_seed: transport::jitter_seed(), ..self.cfg.call.clone() };
        let max_body = options.max_body_bytes;
        let call = CoreCall::count_tokens(&self.cfg.builder, &request, options).map_err(|e| preflight_error(&e))?;
        Ok(MessagesCall::with_sender(call, self.cfg.clone(), max_body))
    }
}
