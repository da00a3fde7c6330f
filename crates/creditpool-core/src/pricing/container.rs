//! Code execution's container time, priced from the dated `code_execution`
//! entry of `prices.json`.
//!
//! # The rule
//!
//! * **Free or billed.** A request is *container-billed* when its `tools`
//!   hold a code execution tool (type `code_execution_*`) and no web search or
//!   web fetch tool (`web_search_*`, `web_fetch_*`) dated `20260209` or later:
//!   with one of those, code execution costs its tokens only. An older web
//!   tool (`web_search_20250305`) does not make it free.
//! * **The price.** Container time is billed per container by execution
//!   time, with a minimum of 5 minutes, at $0.05 per container-hour (exactly
//!   50,000,000 nano-USD). `N` minutes cost `ceil(N x 50,000,000 / 60)`
//!   nano-USD: rounded up once, never less than billed.
//! * **How many minutes.** The response reports calls
//!   (`usage.server_tool_use.code_execution_requests`), not time, so a
//!   container-billed request is counted at `container_minutes` minutes: a
//!   pricing option whose default is the 5-minute billing minimum, raised by
//!   the caller for long-running code, never below the minimum and at most
//!   [`MAX_CONTAINER_MINUTES`] (30 days); anything else is
//!   [`PricingError::InvalidContainerMinutes`].
//! * **Reserve** ([`crate::pricing::worst_case_with`]): those minutes are
//!   added to the worst case of every attempt (a fallback's included),
//!   reported in [`crate::pricing::Estimate::container_minutes`] and
//!   `container_cost`, and the estimate is flagged `may_overshoot` (code can
//!   run longer than assumed).
//! * **Settle** ([`crate::pricing::cost`], with [`CostOptions::with_request`]):
//!   when the tool was called (`code_execution_requests > 0`) or the request
//!   preloads files onto the container (`container_upload` content blocks,
//!   billed even if the tool is not invoked), the same minutes are counted in
//!   [`CostBreakdown::code_execution`], the cost is flagged `estimated`, and
//!   the amount is attributed to the tool `code_execution`. Otherwise no
//!   container time is counted.
//! * **The free allowance** (1,550 hours per organization per month) is not
//!   subtracted: the pool cannot see it, and list price never counts less
//!   than billed. A reconciliation against the Admin API's cost report
//!   corrects the books.
//!
//! [`CostOptions::with_request`]: crate::pricing::CostOptions::with_request
//! [`CostBreakdown::code_execution`]: crate::pricing::CostBreakdown::code_execution

use super::PricingError;
use crate::api::{ContentBlock, MessageRequest, ToolSpec};
use crate::Money;
use serde::Serialize;

/// The most container minutes a request may be counted at: 30 days.
pub const MAX_CONTAINER_MINUTES: u64 = 43_200;

/// The tool container time is attributed to in the per-tool breakdown.
pub const CODE_EXECUTION_TOOL: &str = "code_execution";

/// What code execution's container time costs, and when it is free.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContainerPrices {
    /// Nano-USD per container-hour (50,000,000 for $0.05).
    pub per_hour: Money,
    /// The billing minimum per container, in minutes (5).
    pub minimum_minutes: u64,
    /// The organization's free hours a month (1,550): documented, never
    /// subtracted.
    pub free_hours_per_month: u64,
    /// Tool type prefixes that make code execution free (`web_search_`,
    /// `web_fetch_`) from [`ContainerPrices::free_with_min_version`] on.
    pub free_with: Vec<String>,
    /// The first dated version of those tools that makes it free (20260209).
    pub free_with_min_version: u32,
}

/// How a request's code execution is billed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContainerBilling {
    /// The request has no code execution tool.
    None,
    /// Code execution is free with a dated web search or fetch tool (tokens only).
    Free,
    /// Billed by container time.
    Billed {
        /// The request preloads files onto the container (`container_upload`
        /// blocks): billed even if the tool is not called.
        files: bool,
    },
}

impl ContainerPrices {
    /// The minutes a container-billed request is counted at: `requested`, or
    /// the billing minimum when `None`. Below the minimum or above
    /// [`MAX_CONTAINER_MINUTES`] is [`PricingError::InvalidContainerMinutes`].
    pub fn minutes(&self, requested: Option<u64>) -> Result<u64, PricingError> {
        let minutes = requested.unwrap_or(self.minimum_minutes);
        if minutes < self.minimum_minutes || minutes > MAX_CONTAINER_MINUTES {
            return Err(PricingError::InvalidContainerMinutes { minutes, minimum: self.minimum_minutes, maximum: MAX_CONTAINER_MINUTES });
        }
        Ok(minutes)
    }

    /// What `minutes` of one container cost: `ceil(minutes x per_hour / 60)`.
    pub fn cost(&self, minutes: u64) -> Result<Money, PricingError> {
        let nanos = (u128::from(minutes) * u128::from(self.per_hour.nanos())).div_ceil(60);
        u64::try_from(nanos).map(Money::from_nanos).map_err(|_| PricingError::Overflow)
    }

    /// How `request`'s code execution is billed (see the module docs).
    pub fn billing(&self, request: &MessageRequest) -> ContainerBilling {
        let mut code_execution = false;
        let mut free = false;
        for t in &request.tools {
            let ToolSpec::Server(s) = t else { continue };
            if s.tool_type.starts_with("code_execution_") {
                code_execution = true;
            }
            for prefix in &self.free_with {
                if let Some(version) = s.tool_type.strip_prefix(prefix.as_str()) {
                    // A dated version: eight digits, compared as a date.
                    if version.len() == 8 && version.bytes().all(|b| b.is_ascii_digit()) && version.parse::<u32>().is_ok_and(|v| v >= self.free_with_min_version) {
                        free = true;
                    }
                }
            }
        }
        match (code_execution, free) {
            (false, _) => ContainerBilling::None,
            (true, true) => ContainerBilling::Free,
            (true, false) => ContainerBilling::Billed { files: has_container_upload(request) },
        }
    }
}

/// Whether any message holds a `container_upload` block (a file preloaded
/// onto the code execution container).
pub(crate) fn has_container_upload(request: &MessageRequest) -> bool {
    request
        .messages
        .iter()
        .flat_map(|m| m.content.blocks())
        .any(|b| matches!(b, ContentBlock::Unknown(v) if v.get("type").and_then(|t| t.as_str()) == Some("container_upload")))
}

/// `code_execution_requests` of a usage's `server_tool_use` (0 when absent).
pub(crate) fn code_execution_requests(usage: &crate::api::Usage) -> u64 {
    usage.server_tool_use.as_ref().and_then(|s| s.extra.get("code_execution_requests")).and_then(|v| v.as_u64()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::PriceTable;
    use serde_json::json;

    fn billing(tools: serde_json::Value, content: serde_json::Value) -> ContainerBilling {
        let r: MessageRequest = serde_json::from_value(json!({"model": "claude-opus-5", "max_tokens": 10, "tools": tools, "messages": [{"role": "user", "content": content}]})).unwrap();
        PriceTable::builtin().container_prices().billing(&r)
    }

    #[test]
    fn free_only_with_a_web_tool_dated_20260209_or_later() {
        let ce = json!({"type": "code_execution_20250825", "name": "code_execution"});
        let ws = |t: &str| json!({"type": t, "name": "web"});
        assert_eq!(billing(json!([ce]), json!("hi")), ContainerBilling::Billed { files: false });
        assert_eq!(billing(json!([ce, ws("web_search_20260209")]), json!("hi")), ContainerBilling::Free);
        assert_eq!(billing(json!([ce, ws("web_fetch_20261001")]), json!("hi")), ContainerBilling::Free);
        assert_eq!(billing(json!([ce, ws("web_search_20250305")]), json!("hi")), ContainerBilling::Billed { files: false });
        assert_eq!(billing(json!([ce, ws("web_search_preview")]), json!("hi")), ContainerBilling::Billed { files: false });
        assert_eq!(billing(json!([ws("web_search_20250305")]), json!("hi")), ContainerBilling::None);
        let files = json!([{"type": "text", "text": "x"}, {"type": "container_upload", "file_id": "file_1"}]);
        assert_eq!(billing(json!([ce]), files), ContainerBilling::Billed { files: true });
    }

    #[test]
    fn minutes_and_cost_round_up_never_below_the_minimum() {
        let p = PriceTable::builtin().container_prices().clone();
        assert_eq!(p.minutes(None), Ok(5));
        assert_eq!(p.minutes(Some(90)), Ok(90));
        assert_eq!(p.minutes(Some(4)), Err(PricingError::InvalidContainerMinutes { minutes: 4, minimum: 5, maximum: MAX_CONTAINER_MINUTES }));
        assert!(p.minutes(Some(MAX_CONTAINER_MINUTES + 1)).is_err());
        // 5 min x 50,000,000 / 60 = 4,166,666.67 -> 4,166,667; an hour is exact.
        assert_eq!(p.cost(5), Ok(Money::from_nanos(4_166_667)));
        assert_eq!(p.cost(60), Ok(Money::from_nanos(50_000_000)));
        assert_eq!(p.cost(1), Ok(Money::from_nanos(833_334)));
    }
}
