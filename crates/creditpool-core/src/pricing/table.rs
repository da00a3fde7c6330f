//! The dated price table: per-model rates as exact nano-USD per token, loaded
//! from `prices.json`, plus the model facts the worst-case estimate needs.
//!
//! Prices are written in the data file as decimal strings in USD per million
//! tokens (`"3.75"`). One USD per million tokens is exactly 1,000 nano-USD per
//! token, so every published price with at most three decimals is an exact
//! integer per token; a string that is not (`"0.0001"`) is refused at load.

use super::capabilities::{Capabilities, CapabilitiesSpec};
use super::container::{ContainerPrices, MAX_CONTAINER_MINUTES};
use super::PricingError;
use crate::Money;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// The built-in table, compiled into the crate.
const BUILTIN_JSON: &str = include_str!("prices.json");

/// Nano-USD per token for a price of one USD per million tokens.
const NANOS_PER_TOKEN_PER_USD_PER_MTOK: u64 = 1_000;

/// The five per-token rates of a model, each an exact amount per token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rates {
    /// Uncached input.
    pub input: Money,
    /// Input written to the 5-minute cache.
    pub cache_write_5m: Money,
    /// Input written to the 1-hour cache.
    pub cache_write_1h: Money,
    /// Input read from the cache (hits and refreshes).
    pub cache_read: Money,
    /// Output, thinking included.
    pub output: Money,
}

impl Rates {
    /// Rates from decimal strings in USD per million tokens, as published
    /// (`"3"`, `"3.75"`, `"6"`, `"0.30"`, `"15"`). Each must be an exact number
    /// of nano-USD per token, that is have at most three significant decimals.
    pub fn from_usd_per_mtok(input: &str, cache_write_5m: &str, cache_write_1h: &str, cache_read: &str, output: &str) -> Result<Rates, PricingError> {
        Ok(Rates {
            input: parse_usd_per_mtok(input)?,
            cache_write_5m: parse_usd_per_mtok(cache_write_5m)?,
            cache_write_1h: parse_usd_per_mtok(cache_write_1h)?,
            cache_read: parse_usd_per_mtok(cache_read)?,
            output: parse_usd_per_mtok(output)?,
        })
    }
}

/// A price tier that replaces the base rates for the whole request once its
/// input (uncached + cache writes + cache reads) exceeds a threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LongContextTier {
    /// The tier applies when total input tokens are strictly greater than this.
    pub threshold_input_tokens: u64,
    /// The rates of the tier, output included.
    pub rates: Rates,
}

/// What a model costs: base rates, an optional long-context tier, and whether
/// US-only inference (`inference_geo: "us"`) costs 1.1x on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ModelPrices {
    /// The base rates.
    pub rates: Rates,
    /// A tier billed for the whole request above a total-input threshold.
    pub long_context: Option<LongContextTier>,
    /// Whether `inference_geo: "us"` multiplies every token rate by 1.1.
    pub inference_geo_us_multiplier: bool,
    /// Fast mode (`speed: "fast"`): the multiplier on every token rate, on
    /// the models that have a published fast-mode price. `None`: fast mode
    /// cannot be priced on this model (a typed error, never a guess).
    pub fast_mode: Option<FastMode>,
}

/// The fast-mode multiplier of a model's token rates, an exact fraction
/// (`speed: "fast"`; it stacks with batch and US-only inference, and does not
/// touch the web-search fee).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FastMode {
    /// The numerator (2 for "2x").
    pub numerator: u64,
    /// The denominator.
    pub denominator: u64,
}

impl ModelPrices {
    /// Prices with base rates only: no long-context tier, no geo multiplier.
    pub fn new(rates: Rates) -> ModelPrices {
        ModelPrices { rates, long_context: None, inference_geo_us_multiplier: false, fast_mode: None }
    }

    /// Adds a long-context tier.
    pub fn with_long_context(mut self, threshold_input_tokens: u64, rates: Rates) -> ModelPrices {
        self.long_context = Some(LongContextTier { threshold_input_tokens, rates });
        self
    }

    /// Sets whether `inference_geo: "us"` costs 1.1x.
    pub fn with_inference_geo_us_multiplier(mut self, applies: bool) -> ModelPrices {
        self.inference_geo_us_multiplier = applies;
        self
    }

    /// Sets the fast-mode multiplier (`numerator / denominator`, both
    /// positive).
    pub fn with_fast_mode(mut self, numerator: u64, denominator: u64) -> ModelPrices {
        self.fast_mode = Some(FastMode { numerator, denominator });
        self
    }

    /// The fast-mode multiplier as the table's ratio type.
    pub(crate) fn fast_mode_ratio(&self) -> Option<Ratio> {
        self.fast_mode.map(|f| Ratio { numerator: f.numerator, denominator: f.denominator })
    }

    /// The rates that apply to a request with this many input tokens in total
    /// (uncached + cache writes + cache reads), and whether the tier applied.
    pub fn rates_for(&self, total_input_tokens: u64) -> (&Rates, bool) {
        match &self.long_context {
            Some(tier) if total_input_tokens > tier.threshold_input_tokens => (&tier.rates, true),
            _ => (&self.rates, false),
        }
    }
}

impl ModelPrices {
    /// Prices from their JSON form (see the `Deserialize` impl): decimal
    /// strings in USD per million tokens. A malformed object or an inexact
    /// price is [`PricingError::InvalidPrice`].
    pub fn from_json_value(value: &serde_json::Value) -> Result<ModelPrices, PricingError> {
        let spec = ModelPricesSpec::deserialize(value).map_err(|e| PricingError::InvalidPrice { value: value.to_string(), reason: e.to_string() })?;
        spec.resolve()
    }
}

/// Prices as callers and bindings write them: decimal strings in USD per
/// million tokens, e.g. `{"input": "3", "cache_write_5m": "3.75",
/// "cache_write_1h": "6", "cache_read": "0.30", "output": "15"}`, with optional
/// `long_context: {"threshold_input_tokens": N, "prices": {...}}` and
/// `inference_geo_us: true`. Unknown fields are refused.
impl<'de> Deserialize<'de> for ModelPrices {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spec = ModelPricesSpec::deserialize(d)?;
        spec.resolve().map_err(serde::de::Error::custom)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RatesSpec {
    input: String,
    cache_write_5m: String,
    cache_write_1h: String,
    cache_read: String,
    output: String,
}

impl RatesSpec {
    fn resolve(&self) -> Result<Rates, PricingError> {
        Rates::from_usd_per_mtok(&self.input, &self.cache_write_5m, &self.cache_write_1h, &self.cache_read, &self.output)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LongContextSpec {
    threshold_input_tokens: u64,
    prices: RatesSpec,
    #[serde(default)]
    #[allow(dead_code)]
    source: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    derived: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelPricesSpec {
    input: String,
    cache_write_5m: String,
    cache_write_1h: String,
    cache_read: String,
    output: String,
    #[serde(default)]
    long_context: Option<LongContextSpec>,
    #[serde(default)]
    inference_geo_us: bool,
    #[serde(default)]
    fast_mode: Option<FastMode>,
}

impl ModelPricesSpec {
    fn resolve(&self) -> Result<ModelPrices, PricingError> {
        let rates = Rates::from_usd_per_mtok(&self.input, &self.cache_write_5m, &self.cache_write_1h, &self.cache_read, &self.output)?;
        let mut prices = ModelPrices::new(rates).with_inference_geo_us_multiplier(self.inference_geo_us);
        if let Some(lc) = &self.long_context {
            prices = prices.with_long_context(lc.threshold_input_tokens, lc.prices.resolve()?);
        }
        if let Some(f) = self.fast_mode {
            if f.numerator == 0 || f.denominator == 0 {
                return Err(PricingError::InvalidPrice { value: format!("{}/{}", f.numerator, f.denominator), reason: "fast_mode: numerator and denominator must be positive".into() });
            }
            prices = prices.with_fast_mode(f.numerator, f.denominator);
        }
        Ok(prices)
    }
}

/// Tokens of the system prompt the API adds when a request has tools, by
/// `tool_choice` (documented per model in the tool use docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolUseOverhead {
    /// With `tool_choice` `auto` (the default) or `none`.
    pub auto_none: u64,
    /// With `tool_choice` `any` or `tool`.
    pub any_tool: u64,
}

/// What the table knows about a model besides its prices.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ModelFacts {
    /// Display name, e.g. `"Claude Sonnet 4.5"`.
    pub name: String,
    /// Every ID that names the model (dated IDs and aliases).
    pub ids: Vec<String>,
    /// The largest input the model accepts, in tokens.
    pub context_window: u64,
    /// The most visual tokens one image can cost on this model.
    pub image_max_tokens: u64,
    /// The tool-use system prompt, when documented.
    pub tool_use_system_prompt: Option<ToolUseOverhead>,
    /// Parameters the model answers 400 to.
    pub capabilities: Capabilities,
    /// Why the model has no price, when it has none.
    pub unpriced_note: Option<String>,
}

/// A batch or geo multiplier as an exact fraction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub(crate) struct Ratio {
    pub(crate) numerator: u64,
    pub(crate) denominator: u64,
}

#[derive(Clone, Debug)]
struct Entry {
    facts: ModelFacts,
    prices: Option<ModelPrices>,
}

/// A dated, data-driven price table with caller overrides.
///
/// Lookups are by exact model ID (dated IDs and aliases are both listed). An
/// override for an ID wins over the built-in row, and is the only way to price
/// an unknown or unpriced model.
#[derive(Clone, Debug)]
pub struct PriceTable {
    as_of: String,
    entries: Vec<Entry>,
    index: HashMap<String, usize>,
    overrides: HashMap<String, ModelPrices>,
    pub(crate) batch: Ratio,
    pub(crate) inference_geo_us: Ratio,
    pub(crate) web_search_per_search: Money,
    pub(crate) web_search_default_max_uses: u64,
    pub(crate) tool_definition_tokens: Vec<(String, u64)>,
    pub(crate) max_image_tokens: u64,
    pub(crate) max_tool_use_system_prompt: u64,
    pub(crate) code_execution: ContainerPrices,
}

impl PriceTable {
    /// The built-in table (see [`PriceTable::as_of`] for its date).
    pub fn builtin() -> PriceTable {
        builtin_ref().clone()
    }

    /// A table from a data file in the format of the built-in `prices.json`.
    pub fn from_json(json: &str) -> Result<PriceTable, PricingError> {
        let file: TableFile = serde_json::from_str(json).map_err(|e| PricingError::InvalidTable { reason: e.to_string() })?;
        file.resolve()
    }

    /// The date the table's prices were checked against the published ones.
    pub fn as_of(&self) -> &str {
        &self.as_of
    }

    /// The table with `prices` for `model_id`, replacing any built-in row or
    /// earlier override for exactly that ID.
    pub fn with_override(mut self, model_id: impl Into<String>, prices: ModelPrices) -> PriceTable {
        self.overrides.insert(model_id.into(), prices);
        self
    }

    /// The prices of a model: an override if one was given, else the built-in
    /// row. An ID the table does not know is [`PricingError::UnknownModel`]; a
    /// known model without a published price is [`PricingError::Unpriced`].
    pub fn prices(&self, model: &str) -> Result<&ModelPrices, PricingError> {
        if let Some(p) = self.overrides.get(model) {
            return Ok(p);
        }
        let entry = self.entry(model).ok_or_else(|| PricingError::UnknownModel {
            model: model.to_owned(),
            suggestion: crate::suggest::closest(model, self.model_ids().chain(self.overrides.keys().map(String::as_str))).map(str::to_owned),
        })?;
        entry.prices.as_ref().ok_or_else(|| PricingError::Unpriced {
            model: model.to_owned(),
            note: entry.facts.unpriced_note.clone().unwrap_or_default(),
        })
    }

    /// What the table knows about a model besides its price, if it lists it.
    pub fn facts(&self, model: &str) -> Option<&ModelFacts> {
        self.entry(model).map(|e| &e.facts)
    }

    /// Every model ID the built-in rows list, in table order.
    pub fn model_ids(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().flat_map(|e| e.facts.ids.iter().map(String::as_str))
    }

    /// The fee for one web search.
    pub fn web_search_fee(&self) -> Money {
        self.web_search_per_search
    }

    /// What code execution's container time costs, and when it is free.
    pub fn container_prices(&self) -> &ContainerPrices {
        &self.code_execution
    }

    fn entry(&self, model: &str) -> Option<&Entry> {
        self.index.get(model).and_then(|&i| self.entries.get(i))
    }
}

/// The built-in table, parsed once.
pub(crate) fn builtin_ref() -> &'static PriceTable {
    static BUILTIN: OnceLock<PriceTable> = OnceLock::new();
    // The data file ships with the crate and a unit test loads it, so this
    // cannot fail on any caller's input.
    BUILTIN.get_or_init(|| PriceTable::from_json(BUILTIN_JSON).expect("the built-in prices.json is valid"))
}

/// Parses a decimal string in USD per million tokens into exact nano-USD per
/// token. Accepts `D+` or `D+.D+`; refuses signs, exponents, blanks, and values
/// with more than three significant decimals.
pub(crate) fn parse_usd_per_mtok(s: &str) -> Result<Money, PricingError> {
    parse_decimal_scaled(s, NANOS_PER_TOKEN_PER_USD_PER_MTOK, 3)
}

/// Parses a non-negative decimal string `s` and multiplies it by `scale`
/// (= 10^`places`), refusing a result that is not an integer.
fn parse_decimal_scaled(s: &str, scale: u64, places: usize) -> Result<Money, PricingError> {
    let invalid = |reason: &str| PricingError::InvalidPrice { value: s.to_owned(), reason: reason.to_owned() };
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    let digits_only = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits_only(whole) || !digits_only(frac) || (s.contains('.') && frac.is_empty()) {
        return Err(invalid("expected a plain decimal number such as \"3.75\""));
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > places {
        return Err(invalid("not an exact number of nano-USD per token (more than three significant decimals)"));
    }
    let too_large = || invalid("too large");
    let whole_value: u64 = whole.parse().map_err(|_| too_large())?;
    let mut frac_value: u64 = 0;
    let mut frac_scale = scale;
    for b in frac.bytes() {
        frac_scale /= 10;
        frac_value += u64::from(b - b'0') * frac_scale;
    }
    whole_value.checked_mul(scale).and_then(|w| w.checked_add(frac_value)).map(Money::from_nanos).ok_or_else(too_large)
}

// ---- the data file ------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    as_of: String,
    #[allow(dead_code)]
    unit: String,
    #[allow(dead_code)]
    sources: BTreeMap<String, String>,
    modifiers: Modifiers,
    web_search: WebSearchSpec,
    code_execution: CodeExecutionSpec,
    tool_definition_tokens: Vec<ToolDefinitionSpec>,
    image_tiers: BTreeMap<String, ImageTier>,
    sampling_defaults: SamplingDefaults,
    models: Vec<ModelSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Modifiers {
    batch: RatioSpec,
    inference_geo_us: RatioSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RatioSpec {
    numerator: u64,
    denominator: u64,
    #[allow(dead_code)]
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebSearchSpec {
    usd_per_1000_searches: String,
    default_max_uses: u64,
    #[allow(dead_code)]
    source: String,
    #[allow(dead_code)]
    default_max_uses_source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeExecutionSpec {
    usd_per_container_hour: String,
    minimum_minutes: u64,
    free_hours_per_month: u64,
    free_with: Vec<String>,
    free_with_min_version: u32,
    #[allow(dead_code)]
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolDefinitionSpec {
    type_prefix: String,
    tokens: u64,
    #[allow(dead_code)]
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageTier {
    #[allow(dead_code)]
    max_long_edge_px: u64,
    max_visual_tokens: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SamplingDefaults {
    pub(crate) temperature: Vec<f64>,
    pub(crate) top_p: Vec<f64>,
    #[allow(dead_code)]
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelSpec {
    name: String,
    ids: Vec<String>,
    prices: Option<RatesSpec>,
    #[serde(default)]
    #[allow(dead_code)]
    price_source: Option<String>,
    #[serde(default)]
    unpriced_note: Option<String>,
    #[serde(default)]
    long_context: Option<LongContextSpec>,
    inference_geo_us: bool,
    #[serde(default)]
    fast_mode: Option<RatioSpec>,
    context_window: u64,
    #[serde(default)]
    #[allow(dead_code)]
    context_window_note: Option<String>,
    image_tier: String,
    #[serde(default)]
    tool_use_system_prompt: Option<ToolUseOverhead>,
    #[serde(default)]
    capabilities: Option<CapabilitiesSpec>,
}

impl TableFile {
    fn resolve(self) -> Result<PriceTable, PricingError> {
        let bad = |reason: String| PricingError::InvalidTable { reason };
        let ratio = |r: &RatioSpec, what: &str| {
            if r.denominator == 0 || r.numerator == 0 {
                Err(bad(format!("{what}: numerator and denominator must be positive")))
            } else {
                Ok(Ratio { numerator: r.numerator, denominator: r.denominator })
            }
        };
        let batch = ratio(&self.modifiers.batch, "modifiers.batch")?;
        let inference_geo_us = ratio(&self.modifiers.inference_geo_us, "modifiers.inference_geo_us")?;
        // USD per 1,000 searches -> nano-USD per search: x 10^9 / 10^3 = x 10^6.
        let web_search_per_search = parse_decimal_scaled(&self.web_search.usd_per_1000_searches, 1_000_000, 6)?;
        // USD per container-hour -> nano-USD per container-hour: x 10^9.
        let ce = &self.code_execution;
        if ce.minimum_minutes == 0 || ce.minimum_minutes > MAX_CONTAINER_MINUTES {
            return Err(bad(format!("code_execution.minimum_minutes must be between 1 and {MAX_CONTAINER_MINUTES}")));
        }
        let code_execution = ContainerPrices {
            per_hour: parse_decimal_scaled(&ce.usd_per_container_hour, 1_000_000_000, 9)?,
            minimum_minutes: ce.minimum_minutes,
            free_hours_per_month: ce.free_hours_per_month,
            free_with: ce.free_with.clone(),
            free_with_min_version: ce.free_with_min_version,
        };

        let mut entries = Vec::with_capacity(self.models.len());
        let mut index = HashMap::new();
        let mut max_image_tokens = 0;
        let mut max_tool_use_system_prompt = 0;
        for (i, m) in self.models.into_iter().enumerate() {
            let image_max_tokens = self
                .image_tiers
                .get(&m.image_tier)
                .map(|t| t.max_visual_tokens)
                .ok_or_else(|| bad(format!("{}: unknown image tier {:?}", m.name, m.image_tier)))?;
            max_image_tokens = max_image_tokens.max(image_max_tokens);
            if let Some(t) = m.tool_use_system_prompt {
                max_tool_use_system_prompt = max_tool_use_system_prompt.max(t.auto_none).max(t.any_tool);
            }
            let prices = match (&m.prices, &m.unpriced_note) {
                (Some(rates), None) => {
                    let spec = ModelPricesSpec {
                        input: rates.input.clone(),
                        cache_write_5m: rates.cache_write_5m.clone(),
                        cache_write_1h: rates.cache_write_1h.clone(),
                        cache_read: rates.cache_read.clone(),
                        output: rates.output.clone(),
                        long_context: m.long_context,
                        inference_geo_us: m.inference_geo_us,
                        fast_mode: m.fast_mode.as_ref().map(|r| FastMode { numerator: r.numerator, denominator: r.denominator }),
                    };
                    Some(spec.resolve()?)
                }
                (None, Some(_)) if m.long_context.is_none() && m.fast_mode.is_none() => None,
                _ => return Err(bad(format!("{}: give either prices or an unpriced_note (and a long_context only with prices)", m.name))),
            };
            let capabilities = Capabilities::from_spec(m.capabilities.as_ref(), &self.sampling_defaults).map_err(|e| bad(format!("{}: {e}", m.name)))?;
            if m.ids.is_empty() {
                return Err(bad(format!("{}: no model IDs", m.name)));
            }
            for id in &m.ids {
                if index.insert(id.clone(), i).is_some() {
                    return Err(bad(format!("model ID {id:?} is listed twice")));
                }
            }
            entries.push(Entry {
                facts: ModelFacts {
                    name: m.name,
                    ids: m.ids,
                    context_window: m.context_window,
                    image_max_tokens,
                    tool_use_system_prompt: m.tool_use_system_prompt,
                    capabilities,
                    unpriced_note: m.unpriced_note,
                },
                prices,
            });
        }
        Ok(PriceTable {
            as_of: self.as_of,
            entries,
            index,
            overrides: HashMap::new(),
            batch,
            inference_geo_us,
            web_search_per_search,
            web_search_default_max_uses: self.web_search.default_max_uses,
            tool_definition_tokens: self.tool_definition_tokens.into_iter().map(|t| (t.type_prefix, t.tokens)).collect(),
            max_image_tokens,
            max_tool_use_system_prompt,
            code_execution,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_become_exact_nanos_per_token() {
        let n = |s: &str| parse_usd_per_mtok(s).map(Money::nanos);
        assert_eq!(n("3"), Ok(3_000));
        assert_eq!(n("3.75"), Ok(3_750));
        assert_eq!(n("0.30"), Ok(300));
        assert_eq!(n("0.08"), Ok(80));
        assert_eq!(n("0.125"), Ok(125));
        assert_eq!(n("22.50"), Ok(22_500));
        assert_eq!(n("0.0250"), Ok(25));
        for bad in ["", ".5", "5.", "-1", "1e3", " 3", "3,5", "0.0001", "0.1255", "99999999999999999999"] {
            assert!(matches!(parse_usd_per_mtok(bad), Err(PricingError::InvalidPrice { .. })), "{bad:?} accepted");
        }
    }

    #[test]
    fn builtin_table_loads_with_every_design_model() {
        let t = PriceTable::builtin();
        assert_eq!(t.as_of(), "2026-12-05");
        for id in [
            "claude-fable-5-2", "claude-mythos-5-2", "claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5", "claude-fable-5-1",
            "claude-mythos-5-1", "claude-sonnet-5", "claude-fable-5", "claude-mythos-5", "claude-opus-5", "claude-opus-4-8", "claude-opus-4-7",
            "claude-opus-4-6", "claude-opus-4-5", "claude-sonnet-4-6", "claude-haiku-4-5", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929",
            "claude-opus-4-1", "claude-opus-4-0", "claude-3-opus-latest", "claude-sonnet-4-0", "claude-3-7-sonnet-latest",
            "claude-3-5-haiku-latest", "claude-3-haiku-20240307",
        ] {
            assert!(t.facts(id).is_some(), "{id} missing");
        }
        assert_eq!(t.prices("claude-sonnet-4-5").map(|p| p.rates.input.nanos()), Ok(3_000));
        assert!(matches!(t.prices("claude-fable-5-2"), Err(PricingError::Unpriced { .. })));
        // Checked 2026-12-05: Haiku 5.5 in two bands; fast mode 2x on Opus 5.5 and Opus 5 only.
        let haiku = t.prices("claude-haiku-5-5").unwrap();
        assert_eq!((haiku.rates.input.nanos(), haiku.rates.output.nanos()), (100, 500));
        assert_eq!(haiku.long_context.map(|l| (l.threshold_input_tokens, l.rates.input.nanos(), l.rates.output.nanos())), Some((100_000, 500, 2_500)));
        assert_eq!(t.prices("claude-opus-5-5").unwrap().fast_mode, Some(FastMode { numerator: 2, denominator: 1 }));
        assert_eq!(t.prices("claude-opus-5").unwrap().fast_mode, Some(FastMode { numerator: 2, denominator: 1 }));
        assert_eq!(t.prices("claude-opus-4-8").unwrap().fast_mode, None);
        assert!(matches!(t.prices("gpt-4"), Err(PricingError::UnknownModel { suggestion: None, .. })));
        let e = t.prices("claude-sonet-4-5").unwrap_err();
        assert!(matches!(&e, PricingError::UnknownModel { suggestion: Some(s), .. } if s == "claude-sonnet-4-5"), "{e:?}");
        assert_eq!(
            e.message_with("pass price_overrides to Client()"),
            "unknown model `claude-sonet-4-5`: did you mean `claude-sonnet-4-5`? If `claude-sonet-4-5` is right, pass price_overrides to Client()"
        );
        assert_eq!(t.web_search_fee(), Money::from_nanos(10_000_000));
        let ce = t.container_prices();
        assert_eq!((ce.per_hour.nanos(), ce.minimum_minutes, ce.free_hours_per_month, ce.free_with_min_version), (50_000_000, 5, 1_550, 20_260_209));
        assert_eq!(t.max_image_tokens, 4_784);
        assert_eq!(t.max_tool_use_system_prompt, 804);
    }

    #[test]
    fn a_malformed_table_is_an_error() {
        let base: serde_json::Value = serde_json::from_str(BUILTIN_JSON).unwrap();
        let mut dup = base.clone();
        dup["models"][1]["ids"] = serde_json::json!(["claude-fable-5-1"]);
        assert!(matches!(PriceTable::from_json(&dup.to_string()), Err(PricingError::InvalidTable { .. })));
        let mut inexact = base.clone();
        inexact["models"][0]["prices"]["input"] = serde_json::json!("10.0001");
        assert!(matches!(PriceTable::from_json(&inexact.to_string()), Err(PricingError::InvalidPrice { .. })));
        let mut both = base;
        both["models"][0]["unpriced_note"] = serde_json::json!("x");
        assert!(matches!(PriceTable::from_json(&both.to_string()), Err(PricingError::InvalidTable { .. })));
    }
}
