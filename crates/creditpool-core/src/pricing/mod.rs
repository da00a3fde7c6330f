//! Pricing: the dated price table, exact costs, worst cases and model
//! capabilities.
//!
//! * [`PriceTable`] (`table.rs`): per-model rates from the built-in, dated
//!   `prices.json` (see [`PriceTable::as_of`]), with dated IDs and aliases, and
//!   caller overrides. Rates are exact integers of nano-USD per token.
//! * [`cost`] (`cost.rs`): what a response cost, per component, from its `usage`.
//! * [`worst_case`] (`estimate.rs`): what a request can cost at most, for pool
//!   reservations, as a bound, a heuristic or from `count_tokens`.
//! * [`check_request`] (`capabilities.rs`): parameters a model would answer 400
//!   to, refused before anything is spent.
//!
//! ```
//! use creditpool_core::api::Usage;
//! use creditpool_core::pricing::{cost, CostOptions, PriceTable};
//!
//! let table = PriceTable::builtin();
//! let usage: Usage = serde_json::from_str(r#"{"input_tokens": 1000, "output_tokens": 200}"#).unwrap();
//! let c = cost(&table, "claude-sonnet-4-5", &usage, &CostOptions::new()).unwrap();
//! // 1,000 x $3/MTok + 200 x $15/MTok = $0.003 + $0.003
//! assert_eq!(c.total.nanos(), 6_000_000);
//! ```

mod capabilities;
mod container;
mod cost;
mod estimate;
mod table;

pub use capabilities::{check_request, check_request_with, Capabilities, CapabilityError, Feature};
pub use container::{ContainerBilling, ContainerPrices, CODE_EXECUTION_TOOL, MAX_CONTAINER_MINUTES};
pub use cost::{cost, CostBreakdown, CostOptions};
pub use estimate::{worst_case, worst_case_with, Estimate, EstimateMode, PricingOptions};
pub(crate) use container::has_container_upload;
pub(crate) use estimate::{thread_tools, worst_case_on_thread};
pub(crate) use estimate::cache_writes;
pub use table::{FastMode, LongContextTier, ModelFacts, ModelPrices, PriceTable, Rates, ToolUseOverhead};

/// Why a price could not be determined.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PricingError {
    /// The table does not know this model ID and no override prices it.
    #[error("{}", self.message_with(RUST_OVERRIDE_HINT))]
    UnknownModel {
        /// The model ID asked for.
        model: String,
        /// The known model ID closest to `model` (see [`crate::suggest`]),
        /// if one is close enough: most unknown models are misspellings.
        suggestion: Option<String>,
    },
    /// The model is known but has no published price in this table.
    #[error("{}", self.message_with(RUST_OVERRIDE_HINT))]
    Unpriced {
        /// The model ID asked for.
        model: String,
        /// Why the table does not price it.
        note: String,
    },
    /// A price string is not an exact decimal number of nano-USD per token.
    #[error("invalid price {value:?}: {reason}")]
    InvalidPrice {
        /// The string given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A price table's data is malformed.
    #[error("invalid price table: {reason}")]
    InvalidTable {
        /// What is wrong with it.
        reason: String,
    },
    /// The usage reports a billing mode the table cannot price.
    #[error("cannot price `{model}` with {feature}: the table has no prices for it")]
    UnsupportedUsage {
        /// The model ID.
        model: String,
        /// The billing mode, e.g. fast mode.
        feature: String,
    },
    /// An amount exceeded the largest representable [`crate::Money`].
    #[error("amount overflows the money type")]
    Overflow,
    /// The `container_minutes` pricing option is below code execution's
    /// billing minimum or absurdly large.
    #[error("container_minutes = {minutes}: code execution's container time is counted at {minimum} to {maximum} minutes per request (the billing minimum is {minimum} minutes; leave it unset for the minimum, raise it for long-running code)")]
    InvalidContainerMinutes {
        /// The minutes asked for.
        minutes: u64,
        /// The billing minimum.
        minimum: u64,
        /// The most allowed ([`MAX_CONTAINER_MINUTES`]).
        maximum: u64,
    },
}

/// How a Rust caller prices a model the table does not (the words
/// [`PricingError`]'s `Display` ends with); each binding passes its own
/// spelling to [`PricingError::message_with`].
pub const RUST_OVERRIDE_HINT: &str = "give its prices with PriceTable::with_override";

impl PricingError {
    /// The error in words, ending, for an unknown or unpriced model, with
    /// `override_hint`: how the caller's language gives a model's prices
    /// (Rust: [`RUST_OVERRIDE_HINT`]). An unknown model names the closest
    /// known one first.
    pub fn message_with(&self, override_hint: &str) -> String {
        match self {
            PricingError::UnknownModel { model, suggestion: Some(s) } => {
                format!("unknown model `{model}`: did you mean `{s}`? If `{model}` is right, {override_hint}")
            }
            PricingError::UnknownModel { model, suggestion: None } => format!("unknown model `{model}`: {override_hint}"),
            PricingError::Unpriced { model, note } => format!("model `{model}` has no price in this table ({note}); {override_hint}"),
            other => other.to_string(),
        }
    }

    /// A stable, machine-readable name for the kind of error (`"unknown_model"`,
    /// `"unpriced"`, `"invalid_price"`, `"invalid_table"`,
    /// `"unsupported_usage"`, `"overflow"`, `"invalid_container_minutes"`),
    /// shared by every binding.
    pub fn kind(&self) -> &'static str {
        match self {
            PricingError::UnknownModel { .. } => "unknown_model",
            PricingError::Unpriced { .. } => "unpriced",
            PricingError::InvalidPrice { .. } => "invalid_price",
            PricingError::InvalidTable { .. } => "invalid_table",
            PricingError::UnsupportedUsage { .. } => "unsupported_usage",
            PricingError::Overflow => "overflow",
            PricingError::InvalidContainerMinutes { .. } => "invalid_container_minutes",
        }
    }
}
