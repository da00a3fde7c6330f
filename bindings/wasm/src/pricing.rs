//! Prices, costs, worst cases and capabilities: `creditpool_core::pricing`.

use creditpool_core::api::{MessageRequest, Usage};
use creditpool_core::pricing::{self, CostBreakdown, CostOptions, Estimate, EstimateMode, ModelPrices};
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::convert::{from_js, money, object, to_js};
use crate::errors;
use crate::request::message_request;

/// A price table: the built-in, dated one, with the caller's overrides.
#[derive(Clone)]
#[wasm_bindgen]
pub struct PriceTable(pub(crate) pricing::PriceTable);

#[wasm_bindgen]
impl PriceTable {
    /// The built-in table.
    #[wasm_bindgen(constructor)]
    pub fn new() -> PriceTable {
        PriceTable(pricing::PriceTable::builtin())
    }

    /// A table from a data file in the format of the built-in `prices.json`
    /// (throws `pricing_error` with `kind: "invalid_table"`).
    #[wasm_bindgen(js_name = fromJSON)]
    pub fn from_json(json: &str) -> Result<PriceTable, JsValue> {
        pricing::PriceTable::from_json(json).map(PriceTable).map_err(|e| errors::pricing_error(&e))
    }

    /// The date the prices were checked against the published ones.
    #[wasm_bindgen(getter, js_name = asOf)]
    pub fn as_of(&self) -> String {
        self.0.as_of().to_owned()
    }

    /// Every model ID the built-in rows list.
    #[wasm_bindgen(getter, js_name = modelIds)]
    pub fn model_ids(&self) -> Vec<String> {
        self.0.model_ids().map(str::to_owned).collect()
    }

    /// A new table with `prices` for `model` (decimal strings in USD per
    /// million tokens: `{input, cache_write_5m, cache_write_1h, cache_read,
    /// output}`, optionally `long_context: {threshold_input_tokens, prices}`
    /// and `inference_geo_us`). Throws `pricing_error` (`invalid_price`).
    #[wasm_bindgen(js_name = withOverride)]
    pub fn with_override(&self, model: &str, prices: JsValue) -> Result<PriceTable, JsValue> {
        let value: Value = from_js(prices, "prices", "invalid_argument")?;
        let prices = ModelPrices::from_json_value(&value).map_err(|e| errors::pricing_error(&e))?;
        Ok(PriceTable(self.0.clone().with_override(model, prices)))
    }

    /// What a response cost, per component (each `{nanos, usd}`), from its
    /// `usage`. `options` is the core's `CostOptions` JSON (`batch`,
    /// `inference_geo`, `refused_before_output`, `stop_reason`). Throws
    /// `unknown_model` or `pricing_error`.
    pub fn cost(&self, model: &str, usage: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
        let usage: Usage = from_js(usage, "usage", "invalid_argument")?;
        let options: CostOptions =
            if options.is_undefined() || options.is_null() { CostOptions::new() } else { from_js(options, "cost options", "invalid_argument")? };
        let c = pricing::cost(&self.0, model, &usage, &options).map_err(|e| errors::pricing_error(&e))?;
        Ok(cost_js(&c))
    }

    /// The most `request` can cost, for a reservation: `{input_tokens_bound,
    /// output_tokens_bound, cost: {nanos, usd}, may_overshoot,
    /// container_minutes, container_cost, notes}` (`container_minutes` 0 when
    /// the request's code execution is not billed by time).
    /// `bodyLen` is the UTF-8 length of the serialized body; `mode` is
    /// `{type: "bound"}` (default), `{type: "heuristic"}` or `{type: "exact",
    /// input_tokens}`.
    #[wasm_bindgen(js_name = worstCase)]
    pub fn worst_case(&self, request: JsValue, body_len: f64, mode: JsValue) -> Result<JsValue, JsValue> {
        let request: MessageRequest = message_request(request)?;
        if !(body_len >= 0.0 && body_len.fract() == 0.0 && body_len <= 9_007_199_254_740_991.0) {
            return Err(errors::simple("invalid_argument", "bodyLen must be a non-negative integer"));
        }
        let body_len = usize::try_from(body_len as u64).unwrap_or(usize::MAX);
        let mode: EstimateMode =
            if mode.is_undefined() || mode.is_null() { EstimateMode::default() } else { from_js(mode, "mode", "invalid_argument")? };
        let e = pricing::worst_case(&self.0, &request, body_len, mode).map_err(|e| errors::pricing_error(&e))?;
        estimate_js(&e)
    }

    /// Whether the model is expected to accept `request`; throws
    /// `capability_error` naming the refused parameter.
    #[wasm_bindgen(js_name = checkRequest)]
    pub fn check_request(&self, request: JsValue) -> Result<(), JsValue> {
        let request: MessageRequest = message_request(request)?;
        pricing::check_request_with(&self.0, &request).map_err(|e| errors::capability_error(&e))
    }
}

impl Default for PriceTable {
    fn default() -> PriceTable {
        PriceTable::new()
    }
}

/// A cost breakdown with every amount as `{nanos, usd}`.
pub(crate) fn cost_js(c: &CostBreakdown) -> JsValue {
    object(&[
        ("input", money(c.input)),
        ("cache_write_5m", money(c.cache_write_5m)),
        ("cache_write_1h", money(c.cache_write_1h)),
        ("cache_read", money(c.cache_read)),
        ("output", money(c.output)),
        ("web_search", money(c.web_search)),
        ("code_execution", money(c.code_execution)),
        ("total", money(c.total)),
        ("long_context", JsValue::from_bool(c.long_context)),
        ("container_minutes", JsValue::from_f64(c.container_minutes as f64)),
        ("estimated", JsValue::from_bool(c.estimated)),
    ])
}

fn estimate_js(e: &Estimate) -> Result<JsValue, JsValue> {
    Ok(object(&[
        ("input_tokens_bound", JsValue::from_f64(e.input_tokens_bound as f64)),
        ("output_tokens_bound", JsValue::from_f64(e.output_tokens_bound as f64)),
        ("cost", money(e.cost)),
        ("may_overshoot", JsValue::from_bool(e.may_overshoot)),
        ("container_minutes", JsValue::from_f64(e.container_minutes as f64)),
        ("container_cost", money(e.container_cost)),
        ("notes", to_js(&e.notes)?),
    ]))
}

/// `cost` at the built-in table.
#[wasm_bindgen]
pub fn cost(model: &str, usage: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    PriceTable::new().cost(model, usage, options)
}

/// `worstCase` at the built-in table.
#[wasm_bindgen(js_name = worstCase)]
pub fn worst_case(request: JsValue, body_len: f64, mode: JsValue) -> Result<JsValue, JsValue> {
    PriceTable::new().worst_case(request, body_len, mode)
}

/// `checkRequest` at the built-in table.
#[wasm_bindgen(js_name = checkRequest)]
pub fn check_request(request: JsValue) -> Result<(), JsValue> {
    let request: MessageRequest = message_request(request)?;
    pricing::check_request(&request).map_err(|e| errors::capability_error(&e))
}
