//! How an agent run behaves.

use crate::call::CallOptions;
use crate::money::Money;
use crate::pricing::EstimateMode;
use serde::{Deserialize, Serialize};

/// The default most model calls in one run.
pub const DEFAULT_MAX_TURNS: u32 = 16;

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
    /// How each model call is made: streaming, retries, timeouts.
    pub call: CallOptions,
    /// How reservations are sized. Default: a true upper bound.
    pub estimate: EstimateMode,
    /// The reservation lease in ms; `None` uses the pool's.
    pub lease_ms: Option<u64>,
}

impl Default for AgentConfig {
    fn default() -> AgentConfig {
        AgentConfig {
            agent_id: "default".into(),
            max_turns: DEFAULT_MAX_TURNS,
            max_spend: None,
            call: CallOptions::default(),
            estimate: EstimateMode::default(),
            lease_ms: None,
        }
    }
}

impl AgentConfig {
    /// The defaults, for an agent.
    pub fn new(agent_id: impl Into<String>) -> AgentConfig {
        AgentConfig { agent_id: agent_id.into(), ..AgentConfig::default() }
    }
}
