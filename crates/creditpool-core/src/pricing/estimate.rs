//! The worst case of a request before it is sent, for pool reservations.
//!
//! # `EstimateMode::Bound` (the default): a true upper bound
//!
//! Unless the estimate says `may_overshoot`, the request cannot cost more:
//!
//! * **Input tokens** are at most:
//!   * the UTF-8 bytes of the request body (a text token covers at least one
//!     byte), *minus* the base64 bytes of inline images and documents, which are
//!     not text tokens;
//!   * plus, per image block (any source), the model's documented ceiling of
//!     visual tokens per image (`ceil(w/28) x ceil(h/28)`, capped at 1,568 on
//!     the standard tier and 4,784 on the high-resolution tier, Claude 4.7 and
//!     later);
//!   * plus, per PDF-like document (base64, URL or Files API source: text plus
//!     an image per page, with nothing in the body that bounds either), the
//!     model's whole context window;
//!   * plus the documented tool-use system prompt when `tools` is not empty
//!     (by `tool_choice`: `auto`/`none` or `any`/`tool`), or the largest figure
//!     the table documents for any model when the model's own is not documented
//!     (noted);
//!   * plus the documented definition tokens of Anthropic-defined tools (bash,
//!     text editor, computer use) whose definitions the body does not spell out;
//!   * and at most the model's context window in all: a longer prompt is
//!     refused with a 400, which is not billed.
//! * **Output tokens** are at most `max_tokens`.
//! * **Rates**: input at the highest rate the request can incur (the 1-hour
//!   cache-write rate if any `cache_control` anywhere asks for `ttl: "1h"`, else
//!   the 5-minute write rate if any `cache_control` is present, else the input
//!   rate); the long-context tier when the input bound exceeds its threshold;
//!   1.1x for `inference_geo: "us"` where it applies; the model's fast-mode
//!   multiplier for `speed: "fast"` where the table has one. A workspace whose default
//!   geo is US must say so on the request (`inference_geo: "us"`), since the
//!   body is all this function sees.
//! * **Web search**: `max_uses` searches at the fee, or, when `max_uses` is
//!   absent, the documented server-side loop limit of 10 iterations (flagged:
//!   one iteration may search more than once).
//! * **Fallbacks**: with `fallbacks: [{"model": ...}, ...]` each attempt can be
//!   billed, so the bound is the sum over the primary model and every fallback.
//! * **Code execution container time** (see [`super::container`]): a request
//!   whose code execution is billed by container time (no web search or fetch
//!   tool dated 2026-02-09 or later beside it) adds
//!   [`PricingOptions::container_minutes`] minutes (default the 5-minute
//!   billing minimum) at $0.05 per container-hour to every attempt, reported
//!   in [`Estimate::container_minutes`] and [`Estimate::container_cost`], and
//!   is flagged `may_overshoot`: the code may run longer than assumed.
//!
//! It is flagged `may_overshoot` (with a note) when something outside the body
//! can add billed tokens: server tools that bring results in (web search, web
//! fetch, code execution, ...), MCP servers, `fallbacks: "default"`, fast mode
//! on a model without a fast-mode price,
//! a model with no known context window but a PDF, or no `max_uses` on web
//! search.
//!
//! # `EstimateMode::Heuristic`
//!
//! The same, but text at 3 bytes per token and base64 PDFs at 4 base64 bytes per
//! token; always `may_overshoot`.
//!
//! # `EstimateMode::Exact { input_tokens }`
//!
//! The input figure from `POST /v1/messages/count_tokens` (which already counts
//! tools, images and documents), priced as above. The docs call that figure an
//! estimate that can differ slightly from the billed one, so it is flagged.

use super::container::ContainerBilling;
use super::cost::charge;
use super::table::{ModelPrices, PriceTable, Ratio};
use super::PricingError;
use crate::api::{ContentBlock, ImageSource, MessageRequest, TextOrBlocks, ToolChoice, ToolSpec};
use crate::pool::ThreadTools;
use crate::Money;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How tight a worst case to compute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum EstimateMode {
    /// A true upper bound unless flagged (the default).
    #[default]
    Bound,
    /// A tighter guess that can undershoot the cost (always flagged).
    Heuristic,
    /// The input tokens reported by `count_tokens` for this request.
    Exact {
        /// `input_tokens` from `count_tokens`.
        input_tokens: u64,
    },
}

/// Pricing choices the table does not hold, given by the caller (the
/// middleware's `MeterConfig`, an agent's `AgentConfig`). JSON:
/// `{"container_minutes": 30}`; unknown fields are refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PricingOptions {
    /// Minutes of code execution container time counted for a
    /// container-billed request, at reservation and at settlement (`None`:
    /// the 5-minute billing minimum; never below it, at most 30 days).
    pub container_minutes: Option<u64>,
}

impl PricingOptions {
    /// The defaults.
    pub fn new() -> PricingOptions {
        PricingOptions::default()
    }

    /// Sets the container minutes (checked when used).
    pub fn with_container_minutes(mut self, minutes: Option<u64>) -> PricingOptions {
        self.container_minutes = minutes;
        self
    }

    /// Checks the options against `table`: a `container_minutes` below the
    /// billing minimum or above 30 days is
    /// [`PricingError::InvalidContainerMinutes`].
    pub fn validate(&self, table: &PriceTable) -> Result<(), PricingError> {
        table.container_prices().minutes(self.container_minutes).map(|_| ())
    }
}

/// A request's worst case.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Estimate {
    /// Input tokens billed at most (summed over fallback attempts).
    pub input_tokens_bound: u64,
    /// Output tokens billed at most (summed over fallback attempts).
    pub output_tokens_bound: u64,
    /// The cost at most (unless `may_overshoot`).
    pub cost: Money,
    /// Whether the real cost can exceed `cost`; `notes` say why.
    pub may_overshoot: bool,
    /// Minutes of code execution container time assumed per attempt (0: the
    /// request's code execution is not billed by time, or it has none).
    /// Container time can run longer: then `may_overshoot` is set. Left out
    /// of the JSON when 0, as `container_cost` when zero.
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub container_minutes: u64,
    /// What that container time adds to `cost` (over every attempt).
    #[serde(skip_serializing_if = "is_zero_money")]
    pub container_cost: Money,
    /// What the estimate assumed, one sentence each.
    pub notes: Vec<String>,
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

fn is_zero_money(m: &Money) -> bool {
    m.is_zero()
}

impl Estimate {
    fn note(&mut self, note: String, overshoot: bool) {
        self.may_overshoot |= overshoot;
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }
}

/// The worst case of `request`, whose serialized body is `body_len` bytes of
/// UTF-8, in `mode`, with the default [`PricingOptions`]. See the module
/// documentation for the rules. Every model it may be billed at (the
/// request's and its fallbacks') must be priced.
pub fn worst_case(table: &PriceTable, request: &MessageRequest, body_len: usize, mode: EstimateMode) -> Result<Estimate, PricingError> {
    worst_case_with(table, request, body_len, mode, &PricingOptions::default())
}

/// [`worst_case`] with the caller's [`PricingOptions`] (container minutes).
pub fn worst_case_with(table: &PriceTable, request: &MessageRequest, body_len: usize, mode: EstimateMode, options: &PricingOptions) -> Result<Estimate, PricingError> {
    worst_case_inner(table, request, body_len, mode, options, None)
}

/// What `request`'s own tools imply for the price of every request on a
/// message thread it creates: the web searches its worst case counts (each
/// web search tool's `max_uses`, or the documented default), and whether its
/// code execution is billed by container time. The meter keeps them in the
/// book of threads: a continue carries no `tools`, the API uses the create's.
pub(crate) fn thread_tools(table: &PriceTable, request: &MessageRequest) -> ThreadTools {
    ThreadTools {
        web_search_uses: web_search_uses(table, request, &mut Estimate::default()),
        container_billed: matches!(table.container_prices().billing(request), ContainerBilling::Billed { .. }),
    }
}

/// [`worst_case_with`] of a request on a message thread whose create's
/// tools imply `inherited`: its web searches are added to the request's own
/// and, when the thread's code execution is container-billed, so is its
/// container time (the continue's body holds no `tools`).
pub(crate) fn worst_case_on_thread(
    table: &PriceTable, request: &MessageRequest, body_len: usize, mode: EstimateMode, options: &PricingOptions, inherited: ThreadTools,
) -> Result<Estimate, PricingError> {
    worst_case_inner(table, request, body_len, mode, options, Some(inherited))
}

fn worst_case_inner(
    table: &PriceTable, request: &MessageRequest, body_len: usize, mode: EstimateMode, options: &PricingOptions, inherited: Option<ThreadTools>,
) -> Result<Estimate, PricingError> {
    let scan = Scan::of(request);
    let mut est = Estimate::default();
    let container = table.container_prices();
    let minutes = container.minutes(options.container_minutes)?;
    let billing = match (container.billing(request), inherited) {
        (ContainerBilling::Billed { files }, _) => ContainerBilling::Billed { files },
        (_, Some(t)) if t.container_billed => ContainerBilling::Billed { files: super::container::has_container_upload(request) },
        (own, _) => own,
    };
    let container_cost = match billing {
        ContainerBilling::Billed { .. } => {
            est.container_minutes = minutes;
            est.note(
                format!(
                    "code execution is billed by container time (no web search or fetch tool dated {} or later in the request): {minutes} minutes of container time assumed per attempt (container_minutes); code that runs longer costs more",
                    container.free_with_min_version
                ),
                true,
            );
            container.cost(minutes)?
        }
        ContainerBilling::Free | ContainerBilling::None => Money::ZERO,
    };

    let mut chain = vec![request.model.as_str()];
    match request.extra.get("fallbacks") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                match item.get("model").and_then(Value::as_str) {
                    Some(m) => chain.push(m),
                    None => est.note("a `fallbacks` entry names no model; its attempt is not bounded".into(), true),
                }
            }
        }
        Some(other) => est.note(format!("`fallbacks: {other}` lets the API choose the fallback model; that attempt is not bounded"), true),
    }
    if !matches!(mode, EstimateMode::Bound) && chain.len() > 1 {
        est.note("the same input figure is used for every fallback model, whose tokenizer may count differently".into(), true);
    }

    // What applies to every attempt.
    let mut searches = web_search_uses(table, request, &mut est);
    if let Some(t) = inherited.filter(|t| t.web_search_uses > 0) {
        est.note(format!("the thread's create allows {} web searches per request", t.web_search_uses), false);
        searches = searches.saturating_add(t.web_search_uses);
    }
    for t in &request.tools {
        if let ToolSpec::Server(s) = t {
            if definition_tokens(table, &s.tool_type).is_none() {
                est.note(format!("server tool `{}` ({}): its results are billed as input that the request body does not contain", s.name, s.tool_type), true);
            }
        }
    }
    if request.mcp_servers.as_ref().is_some_and(|m| !m.is_empty()) {
        est.note("MCP server results are billed as input that the request body does not contain".into(), true);
    }
    let fast = request.extra.get("speed").and_then(Value::as_str) == Some("fast");
    if fast {
        for model in &chain {
            if table.prices(model).is_ok_and(|p| p.fast_mode.is_none()) {
                est.note(format!("fast mode has its own prices on {model}, which the table does not hold"), true);
            }
        }
    }
    match mode {
        EstimateMode::Bound => {}
        EstimateMode::Heuristic => est.note("heuristic: text at 3 bytes per token, base64 PDFs at 4 base64 bytes per token".into(), true),
        EstimateMode::Exact { .. } => est.note("count_tokens is documented as an estimate that can differ slightly from the billed input".into(), true),
    }

    for model in chain {
        let prices = table.prices(model)?;
        let input = input_bound(table, request, &scan, model, body_len, mode, &mut est);
        let output = u64::from(request.max_tokens);
        let attempt = price_attempt(table, prices, request, &scan, input, output)?;
        let fees = table.web_search_fee().checked_mul(searches).ok_or(PricingError::Overflow)?;
        est.cost = est.cost.checked_add(attempt).and_then(|c| c.checked_add(fees)).and_then(|c| c.checked_add(container_cost)).ok_or(PricingError::Overflow)?;
        est.container_cost = est.container_cost.checked_add(container_cost).ok_or(PricingError::Overflow)?;
        est.input_tokens_bound = est.input_tokens_bound.checked_add(input).ok_or(PricingError::Overflow)?;
        est.output_tokens_bound = est.output_tokens_bound.checked_add(output).ok_or(PricingError::Overflow)?;
    }
    Ok(est)
}

fn price_attempt(table: &PriceTable, prices: &ModelPrices, request: &MessageRequest, scan: &Scan, input: u64, output: u64) -> Result<Money, PricingError> {
    let (rates, _) = prices.rates_for(input);
    let mut input_rate = rates.input;
    if scan.cache_control {
        input_rate = input_rate.max(rates.cache_write_5m);
    }
    if scan.cache_control_1h {
        input_rate = input_rate.max(rates.cache_write_1h);
    }
    let mut ratios: Vec<Ratio> = Vec::new();
    if request.inference_geo.as_deref() == Some("us") && prices.inference_geo_us_multiplier {
        ratios.push(table.inference_geo_us);
    }
    if request.extra.get("speed").and_then(Value::as_str) == Some("fast") {
        ratios.extend(prices.fast_mode_ratio());
    }
    charge(input, input_rate, &ratios)?.checked_add(charge(output, rates.output, &ratios)?).ok_or(PricingError::Overflow)
}

fn input_bound(table: &PriceTable, request: &MessageRequest, scan: &Scan, model: &str, body_len: usize, mode: EstimateMode, est: &mut Estimate) -> u64 {
    let facts = table.facts(model);
    let context_window = facts.map(|f| f.context_window);
    if let EstimateMode::Exact { input_tokens } = mode {
        return input_tokens;
    }
    let text_bytes = u64::try_from(body_len).unwrap_or(u64::MAX).saturating_sub(scan.base64_bytes);
    let mut tokens = match mode {
        EstimateMode::Heuristic => text_bytes.div_ceil(3),
        _ => text_bytes,
    };
    let image_ceiling = facts.map_or(table.max_image_tokens, |f| f.image_max_tokens);
    tokens = tokens.saturating_add(scan.images.saturating_mul(image_ceiling));
    if scan.documents > 0 {
        match (mode, context_window) {
            (EstimateMode::Heuristic, _) => {
                tokens = tokens.saturating_add(scan.document_base64_bytes.div_ceil(4));
                if scan.documents > scan.base64_documents {
                    tokens = tokens.saturating_add(context_window.unwrap_or(0).saturating_mul(scan.documents - scan.base64_documents));
                }
            }
            (_, Some(window)) => {
                tokens = tokens.saturating_add(window.saturating_mul(scan.documents));
                est.note(format!("a PDF-like document is bounded by the context window of {model} ({window} tokens)"), false);
            }
            (_, None) => est.note(format!("{model} has no known context window, so its PDF-like documents are not bounded"), true),
        }
    }
    if !request.tools.is_empty() {
        let forced = matches!(request.tool_choice, Some(ToolChoice::Any(_)) | Some(ToolChoice::Tool(_)));
        let overhead = match facts.and_then(|f| f.tool_use_system_prompt) {
            Some(o) if forced => o.any_tool,
            Some(o) => o.auto_none,
            None => {
                est.note(
                    format!("the tool-use system prompt of {model} is not documented; the largest documented figure ({} tokens) is used", table.max_tool_use_system_prompt),
                    false,
                );
                table.max_tool_use_system_prompt
            }
        };
        tokens = tokens.saturating_add(overhead);
        for t in &request.tools {
            if let ToolSpec::Server(s) = t {
                tokens = tokens.saturating_add(definition_tokens(table, &s.tool_type).unwrap_or(0));
            }
        }
    }
    match context_window {
        Some(window) if tokens > window => {
            est.note(format!("input capped at the context window of {model} ({window} tokens): a longer prompt is refused unbilled"), false);
            window
        }
        _ => tokens,
    }
}

fn definition_tokens(table: &PriceTable, tool_type: &str) -> Option<u64> {
    table.tool_definition_tokens.iter().find(|(prefix, _)| tool_type.starts_with(prefix.as_str())).map(|&(_, t)| t)
}

fn web_search_uses(table: &PriceTable, request: &MessageRequest, est: &mut Estimate) -> u64 {
    let mut total: u64 = 0;
    for t in &request.tools {
        let ToolSpec::Server(s) = t else { continue };
        if !s.tool_type.starts_with("web_search") {
            continue;
        }
        let uses = match s.extra.get("max_uses").and_then(Value::as_u64) {
            Some(n) => n,
            None => {
                est.note(
                    format!(
                        "web search `{}` has no max_uses: {} searches assumed (the documented server-side loop limit), which one loop can exceed",
                        s.name, table.web_search_default_max_uses
                    ),
                    true,
                );
                table.web_search_default_max_uses
            }
        };
        total = total.saturating_add(uses);
    }
    total
}

/// Whether `request` may write the prompt cache: `(any cache_control, any
/// with ttl "1h")`, by the rule [`worst_case`] prices input with. The meter
/// keeps it for a message thread, whose continue requests are billed the
/// stored thread (with the `system` and `tools` of its create) as input.
pub(crate) fn cache_writes(request: &MessageRequest) -> (bool, bool) {
    let scan = Scan::of(request);
    (scan.cache_control, scan.cache_control_1h)
}

/// What the request holds that its byte length does not bound.
#[derive(Debug, Default)]
struct Scan {
    base64_bytes: u64,
    images: u64,
    documents: u64,
    base64_documents: u64,
    document_base64_bytes: u64,
    cache_control: bool,
    cache_control_1h: bool,
}

impl Scan {
    fn of(request: &MessageRequest) -> Scan {
        let mut scan = Scan::default();
        if let Some(system) = &request.system {
            scan.blocks(system.blocks());
        }
        for m in &request.messages {
            scan.blocks(m.content.blocks());
        }
        // Any `cache_control` object anywhere (blocks, tools, the top-level
        // automatic-caching field, or unknown blocks) may write the cache. A
        // request that cannot be turned into JSON is assumed to write the
        // 1-hour cache.
        match serde_json::to_value(request) {
            Ok(v) => scan.cache_controls(&v),
            Err(_) => {
                scan.cache_control = true;
                scan.cache_control_1h = true;
            }
        }
        scan
    }

    fn blocks(&mut self, blocks: &[ContentBlock]) {
        for b in blocks {
            match b {
                ContentBlock::Image(img) => {
                    self.images += 1;
                    if let ImageSource::Base64(src) = &img.source {
                        self.base64_bytes = self.base64_bytes.saturating_add(len(&src.data));
                    }
                }
                ContentBlock::Document(doc) => self.document(&doc.source),
                ContentBlock::ToolResult(tr) => {
                    if let Some(TextOrBlocks::Blocks(inner)) = &tr.content {
                        self.blocks(inner);
                    }
                }
                _ => {}
            }
        }
    }

    fn document(&mut self, source: &Value) {
        match source.get("type").and_then(Value::as_str) {
            Some("text") => {}
            Some("content") => {
                if let Some(Ok(inner)) = source.get("content").map(|c| serde_json::from_value::<Vec<ContentBlock>>(c.clone())) {
                    self.blocks(&inner);
                }
            }
            Some("base64") => {
                let bytes = source.get("data").and_then(Value::as_str).map_or(0, len);
                self.base64_bytes = self.base64_bytes.saturating_add(bytes);
                self.document_base64_bytes = self.document_base64_bytes.saturating_add(bytes);
                self.documents += 1;
                self.base64_documents += 1;
            }
            // URL, Files API, or a source type this version does not know: the
            // content is not in the body.
            _ => self.documents += 1,
        }
    }

    fn cache_controls(&mut self, v: &Value) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    if k == "cache_control" && child.is_object() {
                        self.cache_control = true;
                        if child.get("ttl").and_then(Value::as_str) == Some("1h") {
                            self.cache_control_1h = true;
                        }
                    }
                    self.cache_controls(child);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| self.cache_controls(i)),
            _ => {}
        }
    }
}

fn len(s: &str) -> u64 {
    u64::try_from(s.len()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(v: Value) -> MessageRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn deeply_nested_cache_control_in_a_tool_result_is_seen() {
        let r = req(json!({"model": "claude-haiku-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": "x", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]}
        ]}]}));
        let s = Scan::of(&r);
        assert!(s.cache_control && s.cache_control_1h);
    }

    #[test]
    fn images_inside_tool_results_and_content_documents_are_counted() {
        let r = req(json!({"model": "claude-haiku-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}]},
            {"type": "document", "source": {"type": "content", "content": [{"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}]}}
        ]}]}));
        let s = Scan::of(&r);
        assert_eq!((s.images, s.base64_bytes, s.documents), (2, 4, 0));
    }
}
