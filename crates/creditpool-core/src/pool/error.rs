//! Why a reservation was refused, and what else can go wrong with the pool.
//!
//! A refusal is an answer, not a failure: the pool never drops a request
//! silently. Each [`Refusal`] says why, with the figures behind it, and whether
//! waiting helps ([`Refusal::retry_at_ms`]).

use super::name::Name;
use crate::money::Money;
use serde::{Deserialize, Serialize};

/// Which rate limit refused a reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateLimitKind {
    /// The agent's credits per minute.
    Credits,
    /// The agent's requests per minute.
    Requests,
}

/// Why a reservation was refused.
///
/// Serialized with a `"reason"` tag, e.g.
/// `{"reason": "pool_exhausted", "requested": 500, "available": 120}`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Refusal {
    /// The pool cannot cover the amount: settled plus reserved plus the request
    /// would exceed the limit. Waiting helps only if open reservations settle
    /// below their amount or are released, or the limit is raised.
    #[error("pool exhausted: requested {requested}, available {available}")]
    PoolExhausted {
        /// The amount asked for.
        requested: Money,
        /// The limit less settled and reserved (zero if the limit is below).
        available: Money,
    },
    /// The agent's cap for the cycle would be exceeded.
    #[error("agent {agent:?} would exceed its cap of {cap}: spent {spent}, reserved {reserved}, requested {requested}")]
    AgentCap {
        /// The agent.
        agent: Name,
        /// The agent's cap for this cycle.
        cap: Money,
        /// What the agent settled this cycle.
        spent: Money,
        /// What the agent holds in open reservations.
        reserved: Money,
        /// The amount asked for.
        requested: Money,
    },
    /// A rate limit says "not yet": the same request is admitted at `retry_at_ms`
    /// if nothing else changes.
    #[error("agent {agent:?} is rate limited ({which:?}) until {retry_at_ms}")]
    RateLimited {
        /// The agent.
        agent: Name,
        /// Which limit.
        which: RateLimitKind,
        /// When to retry, Unix milliseconds.
        retry_at_ms: u64,
    },
    /// Fair sharing is on (the pool is nearly spent) and the request would take
    /// the agent beyond its weighted max-min fair share of what remains.
    #[error("agent {agent:?} would exceed its fair share of {share}: holds {held}, requested {requested}")]
    FairShare {
        /// The agent.
        agent: Name,
        /// The most the agent may hold now.
        share: Money,
        /// What the agent holds in open reservations.
        held: Money,
        /// The amount asked for.
        requested: Money,
        /// How many agents share what remains.
        active_agents: u32,
    },
    /// The agent is not named in the configuration, and unknown agents are not
    /// allowed (the default when the pool names its agents).
    #[error("{}", unknown_agent_message(agent, known, suggestion.as_ref()))]
    UnknownAgent {
        /// The agent.
        agent: Name,
        /// The agents the pool names, in name order (at most
        /// [`MAX_KNOWN_LISTED`]).
        #[serde(default)]
        known: Vec<Name>,
        /// The named agent closest to `agent` (see [`crate::suggest`]), if one
        /// is close enough.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        suggestion: Option<Name>,
    },
}

/// How many named agents an [`Refusal::UnknownAgent`] lists.
pub const MAX_KNOWN_LISTED: usize = 50;

fn unknown_agent_message(agent: &Name, known: &[Name], suggestion: Option<&Name>) -> String {
    let shown: String = agent.chars().take(crate::suggest::MAX_LEN).collect::<String>().escape_debug().to_string();
    let mut msg = format!("unknown agent \"{shown}\"");
    if let Some(s) = suggestion {
        msg.push_str(&format!(": did you mean \"{s}\"?"));
    }
    if known.is_empty() {
        msg.push_str(" (this pool names no agent and does not allow unknown agents)");
    } else {
        let list: Vec<String> = known.iter().take(20).map(|k| format!("\"{}\"", k.escape_debug())).collect();
        let more = if known.len() > 20 { ", ..." } else { "" };
        msg.push_str(&format!(" (the pool's agents: {}{more}; agents it does not name are refused unless unknown agents are allowed)", list.join(", ")));
    }
    msg
}

impl Refusal {
    /// The refusal of an agent the pool does not name: `known` lists the names
    /// it does (sorted here, at most [`MAX_KNOWN_LISTED`] kept), and the
    /// closest of all of them is suggested.
    pub fn unknown_agent<'a>(agent: &str, known: impl IntoIterator<Item = &'a str>) -> Refusal {
        let mut names: Vec<&str> = known.into_iter().collect();
        names.sort_unstable();
        names.dedup();
        let suggestion = crate::suggest::closest(agent, names.iter().copied()).map(Name::new);
        Refusal::UnknownAgent { agent: Name::new(agent), known: names.into_iter().take(MAX_KNOWN_LISTED).map(Name::new).collect(), suggestion }
    }
}

impl Refusal {
    /// When waiting helps: the instant to retry at. `None` for refusals that
    /// time alone does not lift.
    pub fn retry_at_ms(&self) -> Option<u64> {
        match self {
            Refusal::RateLimited { retry_at_ms, .. } => Some(*retry_at_ms),
            _ => None,
        }
    }

    /// The reason as a short machine-readable string (`"pool_exhausted"`, ...).
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::PoolExhausted { .. } => "pool_exhausted",
            Refusal::AgentCap { .. } => "agent_cap",
            Refusal::RateLimited { .. } => "rate_limited",
            Refusal::FairShare { .. } => "fair_share",
            Refusal::UnknownAgent { .. } => "unknown_agent",
        }
    }
}

/// A misuse of the pool, or a configuration or snapshot it cannot accept.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PoolError {
    /// No reservation with this ID was ever made by this pool.
    #[error("unknown reservation {id}")]
    UnknownReservation {
        /// The ID given.
        id: u64,
    },
    /// The configuration (or a policy) is invalid.
    #[error("invalid pool configuration: {reason}")]
    InvalidConfig {
        /// What is wrong, naming the field.
        reason: String,
    },
    /// A snapshot is malformed or inconsistent.
    #[error("invalid pool snapshot: {reason}")]
    InvalidSnapshot {
        /// What is wrong.
        reason: String,
    },
    /// `now_ms` is further beyond the latest time the pool saw than
    /// [`PoolConfig::max_clock_jump_ms`](super::PoolConfig::max_clock_jump_ms)
    /// allows: a clock fault (a wild timestamp, a clock far ahead) or a pool
    /// idle longer than the allowance. Nothing changed. If the time is right,
    /// accept it with [`Pool::advance_clock`](super::Pool::advance_clock)
    /// (`PoolOp::AdvanceClock`), then retry.
    #[error(
        "clock jump: now_ms {now_ms} is more than max_clock_jump_ms ({max_clock_jump_ms} ms) beyond the latest time the pool saw \
         ({last_now_ms}); if the clock is right (the pool was idle that long), accept the jump with advance_clock({now_ms}) and \
         retry, otherwise fix the clock"
    )]
    ClockJump {
        /// The time given, Unix milliseconds.
        now_ms: u64,
        /// The latest time the pool saw, Unix milliseconds.
        last_now_ms: u64,
        /// The allowance, milliseconds.
        max_clock_jump_ms: u64,
    },
    /// A snapshot has a version this library does not read.
    #[error("unsupported pool snapshot version {version}")]
    UnsupportedSnapshotVersion {
        /// The snapshot's version.
        version: u64,
    },
}
