//! The exact cost of a response from its `usage`.
//!
//! # Rules
//!
//! * **Components.** Uncached input, 5-minute cache writes, 1-hour cache
//!   writes, cache reads and output are each `tokens x rate`; web searches are
//!   `count x fee`. Without a `cache_creation` split, every cache write counts
//!   as 5-minute (the API reports the split whenever 1-hour writes occur).
//! * **Long-context tier.** When a model has one and the request's input
//!   (uncached + cache writes + cache reads) is strictly above the threshold,
//!   every token of the request, output included, is billed at the tier's rates.
//! * **Batch** (`options.batch`, or `usage.service_tier == "batch"`) halves
//!   every token component. **US-only inference** (`usage.inference_geo`, or
//!   when the usage does not say, `options.inference_geo`, equal to `"us"`)
//!   multiplies every token component by 1.1 on models where the table says it
//!   applies. Neither touches the web-search fee, which is not a token price.
//! * **Rounding.** The multipliers are exact fractions (1/2, 11/10). Each
//!   component is computed in `u128` as `tokens x rate x numerators /
//!   denominators` and rounded **up** to the nano-USD, once per component. With
//!   the published prices most results are exact anyway; rounding up never
//!   under-counts.
//! * **Iterations.** When `usage.iterations` is present and not empty, each
//!   iteration is priced on its own, at the rates of `iteration.model` (or the
//!   message's model when absent), with its own long-context test, and the
//!   results are summed; the top-level token counts are then taken to be their
//!   summary and are not priced again. Web searches come from the top-level
//!   `server_tool_use` and are counted once.
//! * **Refusals.** A refusal before any output is not billed. Say so with
//!   `options.refused_before_output`, or pass the message's `stop_reason` in
//!   `options.stop_reason` (see [`CostOptions::for_message`]): `refusal` with
//!   `output_tokens == 0` is detected. The model must still be priced (an
//!   unknown model is an error either way), but every component is zero.
//! * **Fast mode** (`usage.speed == "fast"`) multiplies every token component
//!   by the model's published fast-mode multiplier (2x on Claude Opus 5.5 and
//!   Opus 5; stacked with batch and US-only inference; not the web-search
//!   fee). On a model without a fast-mode price in the table it is an error
//!   rather than a wrong figure.
//! * **Code execution container time** (see [`super::container`]): when the
//!   request's code execution is billed by container time
//!   (`options.container_billed`, set by [`CostOptions::with_request`]) and
//!   the tool was called (`usage.server_tool_use.code_execution_requests >
//!   0`) or the request preloaded files onto the container
//!   (`options.container_files`), `options.container_minutes` (default the
//!   5-minute billing minimum) of one container at $0.05 per container-hour,
//!   rounded up once, in `code_execution`. The response does not report
//!   container time, so such a cost is flagged `estimated`. The
//!   organization's free monthly hours are not subtracted.

use super::container::{code_execution_requests, ContainerBilling, CODE_EXECUTION_TOOL};
use super::estimate::PricingOptions;
use super::table::{ModelPrices, PriceTable, Ratio};
use super::PricingError;
use crate::api::{Message, MessageRequest, StopReason, Usage, UsageIteration};
use crate::Money;
use serde::{Deserialize, Serialize};

/// How a response was requested, where its `usage` does not say.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct CostOptions {
    /// Sent through the Message Batches API (50 % off every token component).
    pub batch: bool,
    /// The request's `inference_geo`, used when the usage reports none.
    pub inference_geo: Option<String>,
    /// The model refused before producing any output: nothing is billed.
    pub refused_before_output: bool,
    /// The message's stop reason; `refusal` with zero output tokens counts as
    /// a refusal before any output.
    pub stop_reason: Option<StopReason>,
    /// The request's code execution is billed by container time (it has a
    /// code execution tool and no web search or fetch tool dated 2026-02-09
    /// or later). Set from the request by [`CostOptions::with_request`].
    pub container_billed: bool,
    /// The request preloads files onto the container (`container_upload`
    /// blocks): container time is billed even if the tool is not called.
    pub container_files: bool,
    /// Minutes of container time counted (`None`: the 5-minute billing
    /// minimum; never below it, at most 30 days).
    pub container_minutes: Option<u64>,
}

impl CostOptions {
    /// No batch, no geo, no refusal.
    pub fn new() -> CostOptions {
        CostOptions::default()
    }

    /// Options for a received message: its stop reason, so that a refusal
    /// before any output is detected.
    pub fn for_message(message: &Message) -> CostOptions {
        CostOptions { stop_reason: message.stop_reason.clone(), ..CostOptions::default() }
    }

    /// Sets whether the request went through the Batch API.
    pub fn with_batch(mut self, batch: bool) -> CostOptions {
        self.batch = batch;
        self
    }

    /// Sets the request's `inference_geo`.
    pub fn with_inference_geo(mut self, geo: impl Into<String>) -> CostOptions {
        self.inference_geo = Some(geo.into());
        self
    }

    /// Marks the response as refused before any output.
    pub fn with_refused_before_output(mut self, refused: bool) -> CostOptions {
        self.refused_before_output = refused;
        self
    }

    /// Sets what the request tells about code execution's container time
    /// (`container_billed`, `container_files`), by `table`'s rule, and the
    /// caller's `container_minutes`.
    pub fn with_request(mut self, table: &PriceTable, request: &MessageRequest, options: &PricingOptions) -> CostOptions {
        match table.container_prices().billing(request) {
            ContainerBilling::Billed { files } => {
                self.container_billed = true;
                self.container_files = files;
            }
            ContainerBilling::Free | ContainerBilling::None => {
                self.container_billed = false;
                self.container_files = false;
            }
        }
        self.container_minutes = options.container_minutes;
        self
    }
}

/// A response's cost, per component, in exact nano-USD.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CostBreakdown {
    /// Uncached input.
    pub input: Money,
    /// 5-minute cache writes.
    pub cache_write_5m: Money,
    /// 1-hour cache writes.
    pub cache_write_1h: Money,
    /// Cache reads.
    pub cache_read: Money,
    /// Output.
    pub output: Money,
    /// Web search fees.
    pub web_search: Money,
    /// Code execution container time (an assumed duration: see `estimated`).
    /// Left out of the JSON when zero, as are the two fields below when 0
    /// and false.
    #[serde(skip_serializing_if = "is_zero")]
    pub code_execution: Money,
    /// The sum of the above.
    pub total: Money,
    /// Whether a long-context tier applied (to any iteration).
    pub long_context: bool,
    /// Minutes of container time in `code_execution` (0 when none).
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub container_minutes: u64,
    /// Part of the cost is not reported by the API and was assumed (container
    /// time): a reconciliation against the Admin API's cost report corrects it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub estimated: bool,
}

fn is_zero(m: &Money) -> bool {
    m.is_zero()
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

/// The cost of a response of `model` with this `usage`. See the module
/// documentation for the rules.
pub fn cost(table: &PriceTable, model: &str, usage: &Usage, options: &CostOptions) -> Result<CostBreakdown, PricingError> {
    // Resolve every model first, so that an unknown model is an error even for
    // a refused response.
    let message_prices = table.prices(model)?;
    let container_minutes = table.container_prices().minutes(options.container_minutes)?;
    let parts: Vec<(&ModelPrices, Counts)> = match usage.iterations.as_deref() {
        Some(iterations) if !iterations.is_empty() => {
            let mut parts = Vec::with_capacity(iterations.len());
            for it in iterations {
                let prices = match it.model.as_deref() {
                    Some(m) => table.prices(m)?,
                    None => message_prices,
                };
                parts.push((prices, Counts::of_iteration(it)));
            }
            parts
        }
        _ => vec![(message_prices, Counts::of_usage(usage))],
    };

    let refused = options.refused_before_output || (options.stop_reason == Some(StopReason::Refusal) && usage.output_tokens == 0);
    if refused {
        return Ok(CostBreakdown::default());
    }
    let fast = usage.extra.get("speed").and_then(|v| v.as_str()) == Some("fast");
    if fast && parts.iter().any(|(p, _)| p.fast_mode.is_none()) {
        return Err(PricingError::UnsupportedUsage { model: model.to_owned(), feature: "fast mode (usage.speed = \"fast\")".into() });
    }

    let batch = options.batch || usage.service_tier.as_deref() == Some("batch");
    let geo_us = match usage.inference_geo.as_deref() {
        Some(g) => g == "us",
        None => options.inference_geo.as_deref() == Some("us"),
    };

    let mut out = CostBreakdown::default();
    for (prices, counts) in parts {
        let mut ratios: Vec<Ratio> = Vec::with_capacity(2);
        if batch {
            ratios.push(table.batch);
        }
        if geo_us && prices.inference_geo_us_multiplier {
            ratios.push(table.inference_geo_us);
        }
        if fast {
            ratios.extend(prices.fast_mode_ratio());
        }
        let (rates, tier) = prices.rates_for(counts.total_input()?);
        out.long_context |= tier;
        let add = |acc: Money, tokens: u64, rate: Money| -> Result<Money, PricingError> {
            acc.checked_add(charge(tokens, rate, &ratios)?).ok_or(PricingError::Overflow)
        };
        out.input = add(out.input, counts.input, rates.input)?;
        out.cache_write_5m = add(out.cache_write_5m, counts.cache_write_5m, rates.cache_write_5m)?;
        out.cache_write_1h = add(out.cache_write_1h, counts.cache_write_1h, rates.cache_write_1h)?;
        out.cache_read = add(out.cache_read, counts.cache_read, rates.cache_read)?;
        out.output = add(out.output, counts.output, rates.output)?;
    }
    let searches = usage.server_tool_use.as_ref().map_or(0, |s| s.web_search_requests);
    out.web_search = table.web_search_fee().checked_mul(searches).ok_or(PricingError::Overflow)?;
    if options.container_billed && (code_execution_requests(usage) > 0 || options.container_files) {
        out.code_execution = table.container_prices().cost(container_minutes)?;
        out.container_minutes = container_minutes;
        out.estimated = true;
    }
    out.total = [out.input, out.cache_write_5m, out.cache_write_1h, out.cache_read, out.output, out.web_search, out.code_execution]
        .into_iter()
        .try_fold(Money::ZERO, Money::checked_add)
        .ok_or(PricingError::Overflow)?;
    Ok(out)
}

/// `ceil(tokens x rate x product(numerators) / product(denominators))`.
pub(crate) fn charge(tokens: u64, rate: Money, ratios: &[Ratio]) -> Result<Money, PricingError> {
    let mut num = u128::from(tokens) * u128::from(rate.nanos());
    let mut den: u128 = 1;
    for r in ratios {
        num = num.checked_mul(u128::from(r.numerator)).ok_or(PricingError::Overflow)?;
        den = den.checked_mul(u128::from(r.denominator)).ok_or(PricingError::Overflow)?;
    }
    let nanos = num.div_ceil(den);
    u64::try_from(nanos).map(Money::from_nanos).map_err(|_| PricingError::Overflow)
}

/// Token counts of one billed sampling.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    input: u64,
    cache_write_5m: u64,
    cache_write_1h: u64,
    cache_read: u64,
    output: u64,
}

impl Counts {
    fn of_usage(u: &Usage) -> Counts {
        let (cache_write_5m, cache_write_1h) = u.cache_writes();
        Counts { input: u.input_tokens, cache_write_5m, cache_write_1h, cache_read: u.cache_read_input_tokens.unwrap_or(0), output: u.output_tokens }
    }

    fn of_iteration(it: &UsageIteration) -> Counts {
        let (cache_write_5m, cache_write_1h) = match it.cache_creation {
            Some(c) => (c.ephemeral_5m_input_tokens, c.ephemeral_1h_input_tokens),
            None => (it.cache_creation_input_tokens.unwrap_or(0), 0),
        };
        Counts { input: it.input_tokens, cache_write_5m, cache_write_1h, cache_read: it.cache_read_input_tokens.unwrap_or(0), output: it.output_tokens }
    }

    fn total_input(&self) -> Result<u64, PricingError> {
        [self.cache_write_5m, self.cache_write_1h, self.cache_read].into_iter().try_fold(self.input, u64::checked_add).ok_or(PricingError::Overflow)
    }
}

impl CostBreakdown {
    /// A cost known only as a total (for example the reserved worst case,
    /// settled for a response whose model cannot be priced).
    pub fn unpriced(total: Money) -> CostBreakdown {
        CostBreakdown { total, ..CostBreakdown::default() }
    }
}

impl crate::pool::PricedCost for CostBreakdown {
    fn input_cost(&self) -> Money {
        self.input.saturating_add(self.cache_write_5m).saturating_add(self.cache_write_1h).saturating_add(self.cache_read)
    }

    fn output_cost(&self) -> Money {
        self.output
    }

    fn total(&self) -> Money {
        self.total
    }

    fn tool_fees(&self) -> Vec<(&'static str, Money)> {
        if self.code_execution.is_zero() {
            Vec::new()
        } else {
            vec![(CODE_EXECUTION_TOOL, self.code_execution)]
        }
    }

    fn estimated(&self) -> bool {
        self.estimated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charge_rounds_up_once() {
        // 3 tokens x 10 nanos x 11/20 = 16.5 -> 17.
        let r = [Ratio { numerator: 1, denominator: 2 }, Ratio { numerator: 11, denominator: 10 }];
        assert_eq!(charge(3, Money::from_nanos(10), &r), Ok(Money::from_nanos(17)));
        assert_eq!(charge(u64::MAX, Money::from_nanos(u64::MAX), &[]), Err(PricingError::Overflow));
    }

    #[test]
    fn for_message_detects_a_silent_refusal() {
        let msg: Message = serde_json::from_value(serde_json::json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-opus-5", "content": [],
            "stop_reason": "refusal", "usage": {"input_tokens": 1000, "output_tokens": 0}
        }))
        .unwrap();
        let c = cost(&PriceTable::builtin(), &msg.model, &msg.usage, &CostOptions::for_message(&msg)).unwrap();
        assert_eq!(c.total, Money::ZERO);
    }
}
