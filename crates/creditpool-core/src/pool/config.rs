//! The pool's configuration: what the operator decides, as opposed to the
//! [`PoolState`](super::PoolState) that operations change.
//!
//! Every type here is plain JSON (serde) and strict: an unknown field is an
//! error, so that a typo in an option is not silently ignored. The bindings build
//! a pool from the same JSON.

use super::cycle::CycleSpec;
use crate::money::Money;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Ten minutes: the default lease of a reservation.
pub const DEFAULT_LEASE_MS: u64 = 10 * 60 * 1_000;
/// 30 days: how long an expired reservation can still be settled late. No
/// call takes that long, so in practice no settle is ever dropped; what is
/// kept meanwhile is one small record per reservation whose holder never
/// settled (a worker that died).
pub const DEFAULT_LATE_SETTLE_WINDOW_MS: u64 = 30 * 24 * 60 * 60 * 1_000;
/// Seven days: how far beyond the latest time it saw the pool accepts a `now`
/// (see [`PoolConfig::max_clock_jump_ms`]). A pool left idle over a long
/// weekend (Friday evening to Tuesday morning is under four and a half days)
/// carries on by itself; a timestamp like `2**62`, a clock a year (or a
/// month) ahead, or seconds passed as milliseconds is refused instead of
/// rolling the cycle over, returning the budget and expiring every lease.
/// Shorter than any calendar month, so a wrong clock cannot skip a whole
/// cycle unnoticed.
pub const DEFAULT_MAX_CLOCK_JUMP_MS: u64 = 7 * 24 * 60 * 60 * 1_000;
/// The default alert thresholds, in percent of the limit.
pub const DEFAULT_THRESHOLDS_PCT: [u32; 4] = [50, 75, 90, 100];
/// The largest threshold accepted, in percent.
pub const MAX_THRESHOLD_PCT: u32 = 1_000;
/// Basis points in 100 %.
pub const BASIS_POINTS: u32 = 10_000;

/// The configuration of a credit pool.
///
/// JSON, with every optional field at its default:
///
/// ```json
/// {
///   "pool_id": "default",
///   "limit": 100000000000,
///   "cycle": {"kind": "monthly", "anchor_day": 1},
///   "lease_ms": 600000,
///   "late_settle_window_ms": 2592000000,
///   "max_clock_jump_ms": 604800000,
///   "alerts": {"thresholds_pct": [50, 75, 90, 100], "on_committed": false, "burn_rate": null},
///   "agents": {},
///   "default_agent": {"cap": null, "weight": 1, "credits_per_minute": null, "requests_per_minute": null},
///   "allow_unknown_agents": null,
///   "fair_share": null,
///   "report_bucket_ms": 3600000,
///   "report_top": 5
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// The pool's name, carried in alerts and their idempotency keys.
    #[serde(default = "default_pool_id")]
    pub pool_id: String,
    /// The credit limit per cycle at creation, in nano-USD. The current limit is
    /// part of the state ([`Pool::set_limit`](super::Pool::set_limit) changes it).
    pub limit: Money,
    /// How cycles are laid out (default: calendar months from the 1st, UTC).
    #[serde(default)]
    pub cycle: CycleSpec,
    /// How long a reservation lives unless settled or released, in milliseconds
    /// (at least 1).
    #[serde(default = "default_lease_ms")]
    pub lease_ms: u64,
    /// How long after its expiry a reservation may still be settled (its cost is
    /// then recorded and flagged `late`). Later, a settle answers
    /// [`SettleOutcome::Duplicate`](super::SettleOutcome::Duplicate).
    #[serde(default = "default_late_settle_window_ms")]
    pub late_settle_window_ms: u64,
    /// How far beyond the latest time it saw (`last_now_ms`) the pool accepts
    /// a `now`, in milliseconds (at least 1; default seven days,
    /// [`DEFAULT_MAX_CLOCK_JUMP_MS`]). A time further ahead is a clock fault
    /// until proven otherwise: reserve, extend, tick and the settings answer
    /// [`PoolError::ClockJump`](super::PoolError::ClockJump) and nothing
    /// moves; a settle or release is still recorded (the spend is real
    /// whatever the clock says), at the latest time seen. To accept a
    /// legitimate long jump (a pool idle for weeks, a snapshot restored
    /// after a long pause), call [`Pool::advance_clock`](super::Pool::advance_clock).
    #[serde(default = "default_max_clock_jump_ms")]
    pub max_clock_jump_ms: u64,
    /// Alert thresholds and options.
    #[serde(default)]
    pub alerts: AlertConfig,
    /// Policies of named agents.
    #[serde(default)]
    pub agents: BTreeMap<String, AgentPolicy>,
    /// The policy of agents not named in `agents` (when they are allowed).
    #[serde(default)]
    pub default_agent: AgentPolicy,
    /// Whether an agent not named in `agents` may reserve (with `default_agent`'s
    /// policy). When refused, it gets
    /// [`Refusal::UnknownAgent`](super::Refusal::UnknownAgent), which lists the
    /// named agents and suggests the closest (a misspelled name must not run
    /// uncapped). Unset (`null`, the default), it follows from `agents`: a pool
    /// that names its agents refuses others, a pool that names none allows
    /// every agent. Allowing unknown agents beside named ones is an explicit
    /// choice: `true`, with `default_agent` as their policy (give it a cap).
    /// [`Pool::new`](super::Pool::new) settles the choice, so a pool's
    /// [`config`](super::Pool::config) and snapshots always hold `true` or
    /// `false` (see [`PoolConfig::allows_unknown_agents`]).
    #[serde(default)]
    pub allow_unknown_agents: Option<bool>,
    /// Weighted max-min fair sharing of what remains, when the pool is nearly spent.
    #[serde(default)]
    pub fair_share: Option<FairShareConfig>,
    /// The width of the report's time-series buckets, in milliseconds (at least 1).
    #[serde(default = "default_bucket_ms")]
    pub report_bucket_ms: u64,
    /// How many entries the report's "top consumers" lists hold.
    #[serde(default = "default_report_top")]
    pub report_top: usize,
}

/// When alerts fire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    /// Thresholds in percent of the limit, strictly ascending, each 1 to 1000.
    /// Each fires at most once per cycle, when settled spend reaches it.
    #[serde(default = "default_thresholds")]
    pub thresholds_pct: Vec<u32>,
    /// Also fire each threshold (once per cycle, as a separate alert kind) when
    /// reserved plus settled reaches it.
    #[serde(default)]
    pub on_committed: bool,
    /// Fire a burn-rate projection ("at this pace the pool runs out at T") once
    /// per cycle, when the projected exhaustion falls before the cycle's end.
    #[serde(default)]
    pub burn_rate: Option<BurnRateConfig>,
}

impl Default for AlertConfig {
    fn default() -> AlertConfig {
        AlertConfig { thresholds_pct: DEFAULT_THRESHOLDS_PCT.to_vec(), on_committed: false, burn_rate: None }
    }
}

/// Options of the burn-rate projection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurnRateConfig {
    /// How much of the cycle must have passed before a projection is made, in
    /// milliseconds (a pace measured over a few minutes is noise).
    #[serde(default = "default_burn_min_elapsed_ms")]
    pub min_elapsed_ms: u64,
}

impl Default for BurnRateConfig {
    fn default() -> BurnRateConfig {
        BurnRateConfig { min_elapsed_ms: default_burn_min_elapsed_ms() }
    }
}

/// Weighted max-min fair sharing.
///
/// When reserved plus settled plus the new request reaches `when_committed_pct`
/// of the limit, each *active* agent may hold (in open reservations) at most its
/// weighted max-min fair share of what remains (`limit - settled`). An agent is
/// active while it holds an open reservation or reserved within the last
/// `active_window_ms`. An agent whose cap leaves it less than its share keeps
/// only what its cap allows, and the rest is divided among the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FairShareConfig {
    /// The level of commitment, in percent of the limit, from which shares apply
    /// (0: always).
    #[serde(default = "default_fair_pct")]
    pub when_committed_pct: u32,
    /// How long after its last reservation an agent still counts as active.
    #[serde(default = "default_active_window_ms")]
    pub active_window_ms: u64,
}

impl Default for FairShareConfig {
    fn default() -> FairShareConfig {
        FairShareConfig { when_committed_pct: default_fair_pct(), active_window_ms: default_active_window_ms() }
    }
}

/// What one agent may do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentPolicy {
    /// The most the agent may have settled plus reserved in one cycle.
    #[serde(default)]
    pub cap: Option<Cap>,
    /// The agent's weight in fair sharing (at least 1).
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Credits per minute, in nano-USD (GCRA, with a burst of one minute's
    /// allowance). A reservation is charged in full; settling returns the unused
    /// part to the bucket.
    #[serde(default)]
    pub credits_per_minute: Option<Money>,
    /// Requests per minute (GCRA, with a burst of one minute's allowance).
    #[serde(default)]
    pub requests_per_minute: Option<u32>,
}

impl Default for AgentPolicy {
    fn default() -> AgentPolicy {
        AgentPolicy { cap: None, weight: 1, credits_per_minute: None, requests_per_minute: None }
    }
}

/// An agent's cap per cycle.
///
/// JSON: `{"kind": "absolute", "amount": 5000000000}` or
/// `{"kind": "share", "basis_points": 2500}` (25 % of the current limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Cap {
    /// A fixed amount.
    Absolute {
        /// The cap in nano-USD.
        amount: Money,
    },
    /// A share of the pool's current limit, in basis points (1/100 of a percent,
    /// at most 10000).
    Share {
        /// The share in basis points.
        basis_points: u32,
    },
}

impl Cap {
    /// The cap in money, given the pool's current limit (shares round down).
    pub fn amount(&self, limit: Money) -> Money {
        match *self {
            Cap::Absolute { amount } => amount,
            Cap::Share { basis_points } => {
                let n = u128::from(limit.nanos()) * u128::from(basis_points) / u128::from(BASIS_POINTS);
                Money::from_nanos(u64::try_from(n).unwrap_or(u64::MAX))
            }
        }
    }
}

fn default_pool_id() -> String {
    "default".to_owned()
}
fn default_lease_ms() -> u64 {
    DEFAULT_LEASE_MS
}
fn default_late_settle_window_ms() -> u64 {
    DEFAULT_LATE_SETTLE_WINDOW_MS
}
fn default_max_clock_jump_ms() -> u64 {
    DEFAULT_MAX_CLOCK_JUMP_MS
}
fn default_bucket_ms() -> u64 {
    60 * 60 * 1_000
}
fn default_report_top() -> usize {
    5
}
fn default_thresholds() -> Vec<u32> {
    DEFAULT_THRESHOLDS_PCT.to_vec()
}
fn default_burn_min_elapsed_ms() -> u64 {
    60 * 60 * 1_000
}
fn default_fair_pct() -> u32 {
    80
}
fn default_active_window_ms() -> u64 {
    60 * 1_000
}
fn default_weight() -> u32 {
    1
}

impl PoolConfig {
    /// A configuration with a limit and every other option at its default.
    pub fn new(limit: Money) -> PoolConfig {
        PoolConfig {
            pool_id: default_pool_id(),
            limit,
            cycle: CycleSpec::default(),
            lease_ms: DEFAULT_LEASE_MS,
            late_settle_window_ms: DEFAULT_LATE_SETTLE_WINDOW_MS,
            max_clock_jump_ms: DEFAULT_MAX_CLOCK_JUMP_MS,
            alerts: AlertConfig::default(),
            agents: BTreeMap::new(),
            default_agent: AgentPolicy::default(),
            allow_unknown_agents: None,
            fair_share: None,
            report_bucket_ms: default_bucket_ms(),
            report_top: default_report_top(),
        }
    }

    /// Checks every field; the error says which and why.
    pub fn validate(&self) -> Result<(), String> {
        self.cycle.validate()?;
        if self.lease_ms == 0 {
            return Err("lease_ms must be at least 1".to_owned());
        }
        if self.max_clock_jump_ms == 0 {
            return Err("max_clock_jump_ms must be at least 1".to_owned());
        }
        if self.report_bucket_ms == 0 {
            return Err("report_bucket_ms must be at least 1".to_owned());
        }
        let t = &self.alerts.thresholds_pct;
        if t.len() > 64 {
            return Err("alerts.thresholds_pct holds at most 64 thresholds".to_owned());
        }
        if let Some(bad) = t.iter().find(|p| !(1..=MAX_THRESHOLD_PCT).contains(p)) {
            return Err(format!("alerts.thresholds_pct: {bad} is not 1 to {MAX_THRESHOLD_PCT}"));
        }
        if t.windows(2).any(|w| w.first() >= w.get(1)) {
            return Err("alerts.thresholds_pct must be strictly ascending".to_owned());
        }
        if let Some(f) = &self.fair_share {
            if f.when_committed_pct > MAX_THRESHOLD_PCT {
                return Err(format!("fair_share.when_committed_pct must be at most {MAX_THRESHOLD_PCT}"));
            }
        }
        self.default_agent.validate().map_err(|e| format!("default_agent.{e}"))?;
        for (name, p) in &self.agents {
            p.validate().map_err(|e| format!("agents.{name}.{e}"))?;
        }
        Ok(())
    }

    /// Whether agents not named in `agents` may reserve: as set, or, when
    /// unset, only if the configuration names no agent.
    pub fn allows_unknown_agents(&self) -> bool {
        self.allow_unknown_agents.unwrap_or(self.agents.is_empty())
    }

    /// Allows agents not named in `agents`, each under `policy` (its own cap,
    /// weight and rates): the explicit choice a pool that names its agents
    /// needs to let others reserve.
    #[must_use]
    pub fn allow_unknown_agents_with(mut self, policy: AgentPolicy) -> PoolConfig {
        self.allow_unknown_agents = Some(true);
        self.default_agent = policy;
        self
    }

    /// The policy of an agent: its own, or the default.
    pub fn policy_of(&self, agent: &str) -> &AgentPolicy {
        self.agents.get(agent).unwrap_or(&self.default_agent)
    }
}

impl AgentPolicy {
    /// Checks the fields: weight and rates at least 1, a share at most 100 %.
    pub fn validate(&self) -> Result<(), String> {
        if self.weight == 0 {
            return Err("weight must be at least 1".to_owned());
        }
        if self.credits_per_minute == Some(Money::ZERO) {
            return Err("credits_per_minute must be at least 1 nano-USD".to_owned());
        }
        if self.requests_per_minute == Some(0) {
            return Err("requests_per_minute must be at least 1".to_owned());
        }
        if let Some(Cap::Share { basis_points }) = self.cap {
            if basis_points > BASIS_POINTS {
                return Err(format!("cap.basis_points must be at most {BASIS_POINTS}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_fill_in_and_unknown_fields_are_refused() {
        let c: PoolConfig = serde_json::from_value(json!({"limit": 1000})).unwrap();
        assert_eq!(c, PoolConfig::new(Money::from_nanos(1000)));
        assert!(c.validate().is_ok());
        let err = serde_json::from_value::<PoolConfig>(json!({"limit": 1, "lease": 5})).unwrap_err();
        assert!(err.to_string().contains("unknown field `lease`"), "{err}");
        let err = serde_json::from_value::<PoolConfig>(json!({"limit": 1, "default_agent": {"wieght": 2}})).unwrap_err();
        assert!(err.to_string().contains("wieght"), "{err}");
    }

    #[test]
    fn validation_names_the_field() {
        let mut c = PoolConfig::new(Money::from_nanos(1));
        c.alerts.thresholds_pct = vec![50, 50];
        assert!(c.validate().unwrap_err().contains("ascending"));
        c.alerts.thresholds_pct = vec![0];
        assert!(c.validate().unwrap_err().contains("thresholds_pct"));
        c.alerts.thresholds_pct = vec![10];
        c.agents.insert("a".into(), AgentPolicy { weight: 0, ..AgentPolicy::default() });
        assert_eq!(c.validate().unwrap_err(), "agents.a.weight must be at least 1");
    }

    #[test]
    fn share_cap_is_a_fraction_of_the_limit() {
        let cap = Cap::Share { basis_points: 2_500 };
        assert_eq!(cap.amount(Money::from_nanos(1_001)), Money::from_nanos(250));
        assert_eq!(Cap::Share { basis_points: 10_000 }.amount(Money::MAX), Money::MAX);
    }
}
