//! The pool's shared state: everything that operations change, and nothing else.
//!
//! This is the part that processes on several machines would share (in Redis,
//! with the same rules run atomically on the server): the current limit, the
//! cycle, per-cycle totals, open reservations, per-agent counters, the fired
//! thresholds and two counters (reservation IDs, ledger sequence numbers). The
//! configuration ([`PoolConfig`](super::PoolConfig)) is separate, and so are the
//! report's statistics, which can be rebuilt from the ledger.
//!
//! Its JSON form (inside a [snapshot](super::PoolSnapshot)) is:
//!
//! ```json
//! {"limit": 10000000000, "cycle": {"start_ms": 0, "end_ms": 2678400000},
//!  "settled": 0, "reserved": 500, "overrun": 0,
//!  "next_reservation_id": 2, "next_ledger_seq": 1, "last_now_ms": 1000,
//!  "open": [{"id": 1, "agent": "a", "amount": 500, "created_at_ms": 1000, "expires_at_ms": 601000}],
//!  "expired": [],
//!  "agents": [{"name": "a", "settled": 0, "reserved": 500, "last_reserve_ms": 1000,
//!              "credits": {"tat_ms": 0, "tat_rem": 0}, "requests": {"tat_ms": 0, "tat_rem": 0}}],
//!  "fired": {"settled": 0, "committed": 0, "projection": false}}
//! ```

use super::cycle::CycleBounds;
use super::gcra::GcraState;
use super::hash::FxBuildHasher;
use super::name::Name;
use crate::money::Money;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};

/// A reservation that is neither settled, released nor expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenReservation {
    /// The agent's index in [`PoolState::agents`].
    pub agent: u32,
    /// The amount held.
    pub amount: Money,
    /// When it was made.
    pub created_at_ms: u64,
    /// When its lease ends.
    pub expires_at_ms: u64,
}

/// A reservation whose lease ended, kept for
/// [`late_settle_window_ms`](super::PoolConfig::late_settle_window_ms) so that a
/// late settle is still recorded.
///
/// Its lease ended with no settle, so whether the API billed its request is
/// unknown: the expiry counted its amount (the request's worst case) as
/// settled, flagged `estimated` (`counted`). A reservation restored from a
/// snapshot written before that rule (`counted` false) was returned to the
/// pool at expiry instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpiredReservation {
    /// Its ID.
    pub id: u64,
    /// The agent's index in [`PoolState::agents`].
    pub agent: u32,
    /// The amount it held.
    pub amount: Money,
    /// When its lease ended.
    pub expired_at_ms: u64,
    /// Whether the expiry counted `amount` as settled (its worst case).
    pub counted: bool,
}

/// Per-agent counters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentCounters {
    /// The agent.
    pub name: Name,
    /// What the agent settled in this cycle.
    pub settled: Money,
    /// What the agent holds in open reservations.
    pub reserved: Money,
    /// When the agent last reserved (for fair sharing's "active").
    #[serde(default)]
    pub last_reserve_ms: Option<u64>,
    /// The credits-per-minute limiter.
    #[serde(default)]
    pub credits: GcraState,
    /// The requests-per-minute limiter.
    #[serde(default)]
    pub requests: GcraState,
}

impl AgentCounters {
    /// Fresh counters for an agent.
    pub fn new(name: Name) -> AgentCounters {
        AgentCounters {
            name,
            settled: Money::ZERO,
            reserved: Money::ZERO,
            last_reserve_ms: None,
            credits: GcraState::default(),
            requests: GcraState::default(),
        }
    }
}

/// Which alerts fired in this cycle. Thresholds fire in ascending order, so the
/// fired ones are always a prefix of the configured list: a count says which.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiredAlerts {
    /// How many thresholds fired on settled spend.
    pub settled: u32,
    /// How many thresholds fired on settled plus reserved.
    pub committed: u32,
    /// Whether the burn-rate projection fired.
    pub projection: bool,
}

/// The pool's shared state (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolState {
    pub(crate) limit: Money,
    pub(crate) cycle: CycleBounds,
    pub(crate) settled: Money,
    pub(crate) reserved: Money,
    pub(crate) overrun: Money,
    pub(crate) next_reservation_id: u64,
    pub(crate) next_ledger_seq: u64,
    pub(crate) last_now_ms: u64,
    pub(crate) open: HashMap<u64, OpenReservation, FxBuildHasher>,
    pub(crate) expired: VecDeque<ExpiredReservation>,
    pub(crate) agents: Vec<AgentCounters>,
    pub(crate) fired: FiredAlerts,
}

impl PoolState {
    /// The state of a new pool.
    pub(crate) fn new(limit: Money, cycle: CycleBounds, now_ms: u64) -> PoolState {
        PoolState {
            limit,
            cycle,
            settled: Money::ZERO,
            reserved: Money::ZERO,
            overrun: Money::ZERO,
            next_reservation_id: 1,
            next_ledger_seq: 1,
            last_now_ms: now_ms,
            open: HashMap::default(),
            expired: VecDeque::new(),
            agents: Vec::new(),
            fired: FiredAlerts::default(),
        }
    }

    /// The current limit per cycle.
    pub fn limit(&self) -> Money {
        self.limit
    }

    /// The current cycle.
    pub fn cycle(&self) -> CycleBounds {
        self.cycle
    }

    /// What was settled in this cycle.
    pub fn settled(&self) -> Money {
        self.settled
    }

    /// What open reservations hold.
    pub fn reserved(&self) -> Money {
        self.reserved
    }

    /// Settled plus reserved. Never above the limit, except by
    /// [`PoolState::overrun`] (and after the limit is lowered).
    pub fn committed(&self) -> Money {
        self.settled.saturating_add(self.reserved)
    }

    /// The limit less settled and reserved (zero if the limit is below).
    pub fn available(&self) -> Money {
        self.limit.saturating_sub(self.committed())
    }

    /// What settles cost beyond their reservations in this cycle (including late
    /// settles of expired reservations).
    pub fn overrun(&self) -> Money {
        self.overrun
    }

    /// The ID the next reservation will get (IDs start at 1 and count up).
    pub fn next_reservation_id(&self) -> u64 {
        self.next_reservation_id
    }

    /// The sequence number of the next ledger entry (from 1).
    pub fn next_ledger_seq(&self) -> u64 {
        self.next_ledger_seq
    }

    /// The latest time seen. Earlier times given later count as this one.
    pub fn last_now_ms(&self) -> u64 {
        self.last_now_ms
    }

    /// How many reservations are open.
    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// An open reservation.
    pub fn open_reservation(&self, id: u64) -> Option<&OpenReservation> {
        self.open.get(&id)
    }

    /// The open reservations, sorted by ID.
    pub fn open_reservations(&self) -> Vec<(u64, OpenReservation)> {
        let mut v: Vec<(u64, OpenReservation)> = self.open.iter().map(|(k, v)| (*k, *v)).collect();
        v.sort_unstable_by_key(|(k, _)| *k);
        v
    }

    /// Expired reservations that can still be settled late, oldest first.
    pub fn expired(&self) -> impl Iterator<Item = &ExpiredReservation> {
        self.expired.iter()
    }

    /// Every agent seen, in order of first appearance.
    pub fn agents(&self) -> &[AgentCounters] {
        &self.agents
    }

    /// An agent's counters, by name.
    pub fn agent(&self, name: &str) -> Option<&AgentCounters> {
        self.agents.iter().find(|a| a.name == name)
    }

    /// Which alerts fired in this cycle.
    pub fn fired(&self) -> FiredAlerts {
        self.fired
    }
}
