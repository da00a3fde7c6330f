//! Snapshots: the whole pool as versioned JSON, restored exactly.
//!
//! A snapshot holds the configuration, the shared [state](super::state), the
//! report's statistics, and the alerts and ledger entries not yet polled. A
//! restored pool behaves exactly as the original: the same inputs give the same
//! results, alerts and ledger entries. Lists are written in a fixed order (open
//! reservations by ID, names sorted), so the same pool always writes the same
//! bytes.
//!
//! ```json
//! {"version": 1, "config": {...}, "state": {...}, "stats": {...},
//!  "pending_events": [...], "pending_ledger": [...]}
//! ```
//!
//! Restoring checks the snapshot's consistency (totals match the open
//! reservations, IDs below the counter, agents known) and refuses an
//! inconsistent one with [`PoolError::InvalidSnapshot`], so that a hand-edited
//! file cannot break the pool's invariants.

use super::agents::Agents;
use super::alerts::Alert;
use super::config::PoolConfig;
use super::cycle::CycleBounds;
use super::error::PoolError;
use super::ledger::LedgerEntry;
use super::name::Name;
use super::report::{AgentActivity, Bucket, CycleSummary, ModelStats, Stats, ToolStats};
use super::reservation::ExpiryQueue;
use super::state::{AgentCounters, ExpiredReservation, FiredAlerts, OpenReservation, PoolState};
use super::Pool;
use crate::money::Money;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet, VecDeque};

/// The snapshot format's version.
pub const SNAPSHOT_VERSION: u64 = 1;

/// A snapshot of a pool (see the module documentation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolSnapshot {
    /// The format's version: [`SNAPSHOT_VERSION`].
    pub version: u64,
    /// The configuration (with policy changes applied).
    pub config: PoolConfig,
    /// The shared state.
    pub state: StateSnapshot,
    /// The report's statistics.
    pub stats: StatsSnapshot,
    /// Alerts not yet polled.
    #[serde(default)]
    pub pending_events: Vec<Alert>,
    /// Ledger entries not yet polled.
    #[serde(default)]
    pub pending_ledger: Vec<LedgerEntry>,
}

/// [`PoolState`] as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateSnapshot {
    /// The current limit.
    pub limit: Money,
    /// The current cycle.
    pub cycle: CycleBounds,
    /// Settled in this cycle.
    pub settled: Money,
    /// Held by open reservations.
    pub reserved: Money,
    /// Spend beyond reservations in this cycle.
    pub overrun: Money,
    /// The next reservation ID.
    pub next_reservation_id: u64,
    /// The next ledger sequence number.
    pub next_ledger_seq: u64,
    /// The latest time seen.
    pub last_now_ms: u64,
    /// Open reservations, by ID.
    pub open: Vec<OpenSnapshot>,
    /// Expired reservations that may still be settled late, oldest first.
    pub expired: Vec<ExpiredSnapshot>,
    /// Agents, in order of first appearance.
    pub agents: Vec<AgentCounters>,
    /// Alerts fired in this cycle.
    pub fired: FiredAlerts,
}

/// An open reservation as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenSnapshot {
    /// Its ID.
    pub id: u64,
    /// The agent.
    pub agent: Name,
    /// The amount held.
    pub amount: Money,
    /// When it was made.
    pub created_at_ms: u64,
    /// When its lease ends.
    pub expires_at_ms: u64,
}

/// An expired reservation as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpiredSnapshot {
    /// Its ID.
    pub id: u64,
    /// The agent.
    pub agent: Name,
    /// The amount it held.
    pub amount: Money,
    /// When its lease ended.
    pub expired_at_ms: u64,
    /// Whether the expiry counted `amount` as settled at its worst case
    /// (absent in snapshots written before that rule: it was returned then).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub counted: bool,
}

/// A model's statistics as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedModelStats {
    /// The model.
    pub model: Name,
    /// Its figures.
    pub stats: ModelStats,
}

/// A tool's statistics as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedToolStats {
    /// The tool.
    pub tool: Name,
    /// Its figures.
    pub stats: ToolStats,
}

/// An agent's activity as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedActivity {
    /// The agent.
    pub agent: Name,
    /// Its activity.
    pub activity: AgentActivity,
}

/// The report's statistics as JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsSnapshot {
    /// Per model, sorted by name.
    pub models: Vec<NamedModelStats>,
    /// Per tool, sorted by name.
    pub tools: Vec<NamedToolStats>,
    /// Per agent, in the state's agent order.
    pub agents: Vec<NamedActivity>,
    /// Charged to the conversation this cycle.
    pub conversation: Money,
    /// Settled requests this cycle.
    pub requests: u64,
    /// The time series of this cycle.
    pub series: Vec<Bucket>,
    /// Closed cycles.
    pub history: Vec<CycleSummary>,
}

fn invalid(reason: impl Into<String>) -> PoolError {
    PoolError::InvalidSnapshot { reason: reason.into() }
}

impl Pool {
    /// The pool as a snapshot.
    pub fn snapshot(&self) -> PoolSnapshot {
        let s = &self.state;
        let name = |i: u32| self.agents.name(i);
        let open = s
            .open_reservations()
            .into_iter()
            .map(|(id, o)| OpenSnapshot { id, agent: name(o.agent), amount: o.amount, created_at_ms: o.created_at_ms, expires_at_ms: o.expires_at_ms })
            .collect();
        let expired = s
            .expired
            .iter()
            .map(|e| ExpiredSnapshot { id: e.id, agent: name(e.agent), amount: e.amount, expired_at_ms: e.expired_at_ms, counted: e.counted })
            .collect();
        let mut models: Vec<NamedModelStats> = self.stats.models().map(|(n, st)| NamedModelStats { model: n.clone(), stats: *st }).collect();
        models.sort_by(|a, b| a.model.cmp(&b.model));
        let mut tools: Vec<NamedToolStats> = self.stats.tools().map(|(n, st)| NamedToolStats { tool: n.clone(), stats: *st }).collect();
        tools.sort_by(|a, b| a.tool.cmp(&b.tool));
        let agents = s
            .agents
            .iter()
            .enumerate()
            .map(|(i, a)| NamedActivity { agent: a.name.clone(), activity: self.stats.agent(i as u32) })
            .collect();
        PoolSnapshot {
            version: SNAPSHOT_VERSION,
            config: self.config.clone(),
            state: StateSnapshot {
                limit: s.limit,
                cycle: s.cycle,
                settled: s.settled,
                reserved: s.reserved,
                overrun: s.overrun,
                next_reservation_id: s.next_reservation_id,
                next_ledger_seq: s.next_ledger_seq,
                last_now_ms: s.last_now_ms,
                open,
                expired,
                agents: s.agents.clone(),
                fired: s.fired,
            },
            stats: StatsSnapshot {
                models,
                tools,
                agents,
                conversation: self.stats.conversation,
                requests: self.stats.requests,
                series: self.stats.series.clone(),
                history: self.stats.history.clone(),
            },
            pending_events: self.events.iter().cloned().collect(),
            pending_ledger: self.ledger.iter().cloned().collect(),
        }
    }

    /// The snapshot as compact JSON.
    pub fn snapshot_json(&self) -> String {
        serde_json::to_string(&self.snapshot()).unwrap_or_default()
    }

    /// A pool from a snapshot's JSON. The version is checked before anything
    /// else, so a newer format is reported as such.
    pub fn restore_json(json: &str) -> Result<Pool, PoolError> {
        let v: serde_json::Value = serde_json::from_str(json).map_err(|e| invalid(e.to_string()))?;
        let version = v.get("version").and_then(serde_json::Value::as_u64).ok_or_else(|| invalid("no integer `version`"))?;
        if version != SNAPSHOT_VERSION {
            return Err(PoolError::UnsupportedSnapshotVersion { version });
        }
        let snap: PoolSnapshot = serde_json::from_value(v).map_err(|e| invalid(e.to_string()))?;
        Pool::restore(snap)
    }

    /// A pool from a snapshot, after checking its consistency.
    pub fn restore(snap: PoolSnapshot) -> Result<Pool, PoolError> {
        if snap.version != SNAPSHOT_VERSION {
            return Err(PoolError::UnsupportedSnapshotVersion { version: snap.version });
        }
        let mut config = snap.config;
        config.allow_unknown_agents = Some(config.allows_unknown_agents());
        config.validate().map_err(|reason| PoolError::InvalidConfig { reason })?;
        let st = snap.state;
        if st.cycle.start_ms >= st.cycle.end_ms {
            return Err(invalid("state.cycle is empty"));
        }
        if config.cycle.bounds_at(st.cycle.start_ms) != st.cycle {
            return Err(invalid("state.cycle is not a cycle of config.cycle"));
        }
        // A cycle's end saturates at the last representable instant, which
        // the clock may then have reached.
        let past_end = st.last_now_ms >= st.cycle.end_ms && st.cycle.end_ms != u64::MAX;
        if st.last_now_ms < st.cycle.start_ms || past_end {
            return Err(invalid("state.last_now_ms is outside state.cycle"));
        }
        if st.next_reservation_id == 0 || st.next_reservation_id == u64::MAX {
            return Err(invalid("state.next_reservation_id must be between 1 and 2^64 - 2"));
        }
        if st.next_ledger_seq == u64::MAX {
            return Err(invalid("state.next_ledger_seq leaves no room"));
        }
        let agents_settled = st.agents.iter().try_fold(Money::ZERO, |sum, a| sum.checked_add(a.settled));
        if agents_settled != Some(st.settled) {
            return Err(invalid("state.settled is not the sum of the agents' settled amounts"));
        }
        for a in &st.agents {
            if a.last_reserve_ms.is_some_and(|t| t > st.last_now_ms) {
                return Err(invalid(format!("state.agents: {:?} reserved after the latest time seen", a.name.as_str())));
            }
        }
        let mut seq = None;
        for e in &snap.pending_ledger {
            if e.seq == 0 || e.seq >= st.next_ledger_seq || seq.is_some_and(|s: u64| e.seq != s.saturating_add(1)) {
                return Err(invalid("pending_ledger: entries are not numbered in order below next_ledger_seq"));
            }
            if e.at_ms > st.last_now_ms {
                return Err(invalid("pending_ledger: an entry is later than the latest time seen"));
            }
            seq = Some(e.seq);
        }
        if seq.is_some_and(|s| s.saturating_add(1) != st.next_ledger_seq) {
            return Err(invalid("pending_ledger: the last entry is not the one before next_ledger_seq"));
        }
        // Agents.
        let mut agents = Agents::default();
        let mut counters = st.agents;
        for (i, a) in counters.iter().enumerate() {
            if agents.get(&a.name).is_some() {
                return Err(invalid(format!("state.agents: {:?} appears twice", a.name.as_str())));
            }
            let idx = agents.add(&a.name, config.policy_of(&a.name).clone());
            if idx as usize != i {
                return Err(invalid("state.agents: index mismatch"));
            }
        }
        for name in config.agents.keys() {
            if agents.get(name).is_none() {
                let i = agents.add(name, config.policy_of(name).clone());
                counters.push(AgentCounters::new(agents.name(i)));
            }
        }
        // Open reservations.
        let mut open: HashMap<u64, OpenReservation, _> = HashMap::default();
        let mut held = vec![Money::ZERO; counters.len()];
        let mut reserved = Money::ZERO;
        let mut expiry = ExpiryQueue::default();
        for o in &st.open {
            let agent = agents.get(&o.agent).ok_or_else(|| invalid(format!("state.open: unknown agent {:?}", o.agent.as_str())))?;
            if o.id == 0 || o.id >= st.next_reservation_id {
                return Err(invalid(format!("state.open: id {} not below next_reservation_id", o.id)));
            }
            if o.created_at_ms > st.last_now_ms || o.expires_at_ms <= o.created_at_ms {
                return Err(invalid(format!("state.open: reservation {} has impossible times", o.id)));
            }
            let r = OpenReservation { agent, amount: o.amount, created_at_ms: o.created_at_ms, expires_at_ms: o.expires_at_ms };
            if open.insert(o.id, r).is_some() {
                return Err(invalid(format!("state.open: id {} appears twice", o.id)));
            }
            expiry.push(o.expires_at_ms, o.id);
            reserved = reserved.checked_add(o.amount).ok_or_else(|| invalid("state.open: amounts overflow"))?;
            if let Some(h) = held.get_mut(agent as usize) {
                *h = h.checked_add(o.amount).ok_or_else(|| invalid("state.open: amounts overflow"))?;
            }
        }
        if reserved != st.reserved {
            return Err(invalid("state.reserved is not the sum of the open reservations"));
        }
        if counters.iter().zip(&held).any(|(a, h)| a.reserved != *h) {
            return Err(invalid("state.agents: reserved is not the sum of the agent's open reservations"));
        }
        // Expired reservations.
        let mut expired = VecDeque::with_capacity(st.expired.len());
        let mut seen = HashSet::new();
        let mut last = 0;
        for e in &st.expired {
            let agent = agents.get(&e.agent).ok_or_else(|| invalid(format!("state.expired: unknown agent {:?}", e.agent.as_str())))?;
            if e.id == 0 || e.id >= st.next_reservation_id || open.contains_key(&e.id) || !seen.insert(e.id) {
                return Err(invalid(format!("state.expired: bad id {}", e.id)));
            }
            if e.expired_at_ms < last || e.expired_at_ms > st.last_now_ms {
                return Err(invalid("state.expired: not in order of expiry"));
            }
            last = e.expired_at_ms;
            expired.push_back(ExpiredReservation { id: e.id, agent, amount: e.amount, expired_at_ms: e.expired_at_ms, counted: e.counted });
        }
        let thresholds = config.alerts.thresholds_pct.len();
        if st.fired.settled as usize > thresholds || st.fired.committed as usize > thresholds {
            return Err(invalid("state.fired: more thresholds fired than configured"));
        }
        if st.next_ledger_seq == 0 {
            return Err(invalid("state.next_ledger_seq must be at least 1"));
        }
        // Statistics.
        let mut stats = Stats::default();
        for m in &snap.stats.models {
            if stats.models.get(&m.model).is_some() {
                return Err(invalid("stats.models: a model appears twice"));
            }
            stats.models.intern(&m.model);
            stats.model_stats.push(m.stats);
        }
        for t in &snap.stats.tools {
            if stats.tools.get(&t.tool).is_some() {
                return Err(invalid("stats.tools: a tool appears twice"));
            }
            stats.tools.intern(&t.tool);
            stats.tool_stats.push(t.stats);
        }
        for a in &snap.stats.agents {
            let i = agents.get(&a.agent).ok_or_else(|| invalid(format!("stats.agents: unknown agent {:?}", a.agent.as_str())))?;
            if let Some(slot) = stats.agent_mut(i) {
                *slot = a.activity;
            }
        }
        stats.conversation = snap.stats.conversation;
        stats.requests = snap.stats.requests;
        stats.series = snap.stats.series;
        stats.history = snap.stats.history;

        let state = PoolState {
            limit: st.limit,
            cycle: st.cycle,
            settled: st.settled,
            reserved: st.reserved,
            overrun: st.overrun,
            next_reservation_id: st.next_reservation_id,
            next_ledger_seq: st.next_ledger_seq,
            last_now_ms: st.last_now_ms,
            open,
            expired,
            agents: counters,
            fired: st.fired,
        };
        Ok(Pool {
            pool_id: Name::new(&config.pool_id),
            config,
            state,
            agents,
            expiry,
            stats,
            events: snap.pending_events.into(),
            ledger: snap.pending_ledger.into(),
            wake_at: 0,
            threads: Default::default(),
        })
    }
}
