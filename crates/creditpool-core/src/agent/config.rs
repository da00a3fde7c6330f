//! How an agent run behaves.

use crate::call::CallOptions;
use crate::money::Money;
use crate::pricing::EstimateMode;
use serde::{Deserialize, Serialize};

/// The default most model calls in one run.
pub const DEFAULT_MAX_TURNS: u32 = 16;
/// The `max_tokens` of an agent's requests when the caller sets none.
pub const DEFAULT_MAX_TOKENS: u32 = 1024;

/// The options of one agent run. Read from JSON strictly: unknown fields are an
/// error, missing fields take their defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    /// The agent's name in the pool (its caps, rate limits and report line).
    pub agent_id: String,
    /// The most model calls (successful responses) in this run. Default 16.
    pub max_turns: u32,
    /// The most this run may spend, in nano-USD; `None` for no run budget.
    pub max_spend: Option<Money>,
    /// How each model call is made: streaming (on by default for agents,
    /// also when `call` is given without `stream`), retries, timeouts.
    #[serde(deserialize_with = "agent_call_options")]
    pub call: CallOptions,
    /// How reservations are sized. Default: a true upper bound.
    pub estimate: EstimateMode,
    /// The reservation lease in ms; `None` uses the pool's. While a call is
    /// read, the run renews its lease whenever half of it has passed.
    pub lease_ms: Option<u64>,
    /// The `max_tokens` of each request whose template has none (0).
    /// Default 1024.
    pub max_tokens: u32,
    /// The words the model reads when a tool cannot answer.
    pub texts: AgentTexts,
    /// Minutes of code execution container time counted per request whose
    /// code execution is billed by time (`None`: the 5-minute billing
    /// minimum; below it or above 30 days is `invalid_container_minutes`).
    /// See [`crate::pricing::PricingOptions`].
    pub container_minutes: Option<u64>,
}

/// The words the model reads for tool calls that did not run normally. `{name}`
/// stands for the tool's name and `{error}` for the error's message.
///
/// By default the model is **not** shown a failed tool's error: an exception's
/// text may hold a secret (a connection string, a token). Words that contain
/// `{error}` (such as [`AgentTexts::TOOL_FAILED_WITH_ERROR`]) show it; each
/// binding also lets the caller format the error before it is filled in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentTexts {
    /// The model called a tool that the agent has no function for.
    pub unknown_tool: String,
    /// The tool's function failed (raised, threw, returned an error).
    pub tool_failed: String,
    /// The driver handed back no result for a call.
    pub missing_result: String,
}

impl Default for AgentTexts {
    fn default() -> AgentTexts {
        AgentTexts {
            unknown_tool: "No tool named \"{name}\" is available; nothing was run.".into(),
            tool_failed: AgentTexts::TOOL_FAILED.into(),
            missing_result: "The tool returned no result.".into(),
        }
    }
}

impl AgentTexts {
    /// The default words for a failed tool: the error is not shown.
    pub const TOOL_FAILED: &'static str = "The tool \"{name}\" failed. Its error is not shown; try another way, or answer without it.";
    /// Words for a failed tool that show the model the error's text (an
    /// explicit choice: `texts.tool_failed`).
    pub const TOOL_FAILED_WITH_ERROR: &'static str = "The tool \"{name}\" failed: {error}";

    /// `template` with `{name}` and `{error}` filled in.
    pub fn fill(template: &str, name: &str, error: &str) -> String {
        template.replace("{name}", name).replace("{error}", error)
    }
}

impl Default for AgentConfig {
    fn default() -> AgentConfig {
        AgentConfig {
            agent_id: "default".into(),
            max_turns: DEFAULT_MAX_TURNS,
            max_spend: None,
            // Agents stream by default: a stalled stream is caught by the idle
            // timeout, and a cut one keeps what arrived.
            call: CallOptions { stream: true, ..CallOptions::default() },
            estimate: EstimateMode::default(),
            lease_ms: None,
            max_tokens: DEFAULT_MAX_TOKENS,
            texts: AgentTexts::default(),
            container_minutes: None,
        }
    }
}

impl AgentConfig {
    /// The pricing options this config sets (container minutes).
    pub fn pricing(&self) -> crate::pricing::PricingOptions {
        crate::pricing::PricingOptions::new().with_container_minutes(self.container_minutes)
    }

    /// The defaults, for an agent.
    pub fn new(agent_id: impl Into<String>) -> AgentConfig {
        AgentConfig { agent_id: agent_id.into(), ..AgentConfig::default() }
    }
}

/// [`CallOptions`] as an agent reads them: `stream` defaults to on.
fn agent_call_options<'de, D: serde::Deserializer<'de>>(d: D) -> Result<CallOptions, D::Error> {
    let mut value = serde_json::Value::deserialize(d)?;
    if let Some(map) = value.as_object_mut() {
        map.entry("stream").or_insert(serde_json::Value::Bool(true));
    }
    serde_json::from_value(value).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_stream_by_default_even_with_other_call_options() {
        assert!(AgentConfig::default().call.stream);
        let c: AgentConfig = serde_json::from_value(serde_json::json!({"call": {"idle_timeout_ms": 5}})).unwrap();
        assert!(c.call.stream);
        assert_eq!(c.call.idle_timeout_ms, 5);
        let c: AgentConfig = serde_json::from_value(serde_json::json!({"call": {"stream": false}})).unwrap();
        assert!(!c.call.stream);
        assert!(serde_json::from_value::<AgentConfig>(serde_json::json!({"call": {"strem": false}})).is_err());
    }
}
