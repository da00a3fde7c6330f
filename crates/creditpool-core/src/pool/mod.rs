//! The credit pool: a limit per billing cycle that many agents share, as a
//! deterministic state machine without I/O.
//!
//! Time is always an argument (`now_ms`, Unix milliseconds); nothing here reads a
//! clock, draws a random number, touches a file or starts a thread. The same
//! inputs give the same outputs in Rust, Python and JS. A time earlier than one
//! already seen counts as the latest seen, so a clock stepping back cannot undo
//! an expiry or a rollover. A time too far ahead (more than
//! [`PoolConfig::max_clock_jump_ms`], default seven days, beyond the latest seen)
//! is a clock fault until the host says otherwise: it answers
//! [`PoolError::ClockJump`] and never rolls the cycle over or expires leases;
//! [`Pool::advance_clock`] accepts a legitimate long jump (a pool idle for
//! weeks, a snapshot restored after a long pause). Settles and releases are
//! recorded whatever their time, so no spend is lost to a clock fault.
//!
//! # Flow
//!
//! 1. [`Pool::reserve`] the request's worst case (the caller prices it with
//!    [`crate::pricing`]): a [`Reservation`] or a [`Refusal`] that says why.
//! 2. Send the request. While a call runs, [`Pool::extend`] keeps its hold
//!    alive (a long stream or an agent loop can outlast one lease; an extend
//!    never shortens a lease, and answers [`ExtendOutcome::Closed`] if the
//!    reservation is no longer open). Then [`Pool::settle`] with the actual
//!    cost and an [`AttributionInput`] (see [`attribution`] for how cost is
//!    split), or [`Pool::release`] if it failed. An unsettled reservation
//!    expires when its lease ends; a settle that arrives later (within
//!    [`PoolConfig::late_settle_window_ms`]) is still recorded, flagged `late`.
//! 3. After every call, drain the outputs: [`Pool::poll_event`] until `None`
//!    (alerts, each with a signed [`webhook`] payload), then
//!    [`Pool::poll_ledger`] until `None` (one entry per settle, release and
//!    expiry, for a JSON Lines audit file). Both are queues the pool fills and
//!    never trims: a caller that never polls grows them.
//! 4. Call [`Pool::tick`] when nothing else happens, at the latest by
//!    [`Pool::next_deadline_ms`], so that leases expire and cycles roll over on
//!    time. (Every other call does the same work first, so ticking is only
//!    needed to see expiries and alerts sooner.)
//!
//! # The invariant
//!
//! A reservation is granted only if settled plus reserved plus the amount stays
//! within the limit: **settled plus open reservations never exceed the limit**.
//! Two things can take the committed total above it, both recorded rather than
//! lost: a settle that costs more than was reserved (the excess is counted in
//! [`PoolState::overrun`] and flagged in the ledger), and lowering the limit
//! below what is committed (new reservations are then refused until there is
//! room again).
//!
//! # Refusals
//!
//! [`Refusal`] lists them: the pool cannot cover the amount
//! ([`Refusal::PoolExhausted`]), the agent's cap ([`Refusal::AgentCap`]), its
//! fair share when the pool is nearly spent ([`Refusal::FairShare`]), a rate
//! limit with the instant to retry at ([`Refusal::RateLimited`]), and agents
//! not configured when unknown agents are not allowed
//! ([`Refusal::UnknownAgent`]). They are checked in that order (unknown agent
//! first), and the first that applies is returned. A pool that names its agents
//! refuses others by default (the refusal lists the named agents and suggests
//! the closest: a misspelled name must not run uncapped); a pool that names
//! none allows every agent. Allowing unknown agents beside named ones is an
//! explicit choice ([`PoolConfig::allow_unknown_agents_with`]), under
//! [`PoolConfig::default_agent`]'s policy.
//!
//! # Idempotency
//!
//! The reservation ID is the idempotency key: a reservation closes once, and a
//! repeated settle or release answers `Duplicate` and changes nothing (an extend
//! of a closed reservation answers `Closed`). IDs are a
//! counter from 1, so they are reproducible (and a Redis implementation can
//! `INCR` them).
//!
//! # Sharing and persistence
//!
//! [`PoolState`] holds everything the rules read and write, apart from the
//! configuration. [`Pool::snapshot`] writes configuration, state, statistics and
//! undelivered outputs as versioned JSON; [`Pool::restore`] reads it back, and
//! the restored pool behaves exactly as the original would have.
//!
//! # JSON interface
//!
//! [`PoolOp`] and [`OpResult`] describe every operation as plain JSON; the
//! bindings and the conformance vectors drive the pool through [`Pool::apply`].

// Where the `impl Pool` blocks live:
// - this file: the struct, `new`, and the accessors and output queues;
// - `admission`: reserve (unknown agents, the limit, caps, fair share, rate
//   limits), and the settings admission reads (limit, agent policies);
// - `settle`: settle and release (refunds, late settles, the ledger entries);
// - `expiry`: the clock, `advance` (lease expiry, the late-settle window,
//   rollover), tick, extend, and the expiry queue's upkeep;
// - `thresholds`: alerts on settled and committed spend, the burn-rate projection;
// - `report`, `snapshot` and `ops`: the report, snapshot/restore and `apply`.

mod admission;
mod agents;
pub mod alerts;
pub mod attribution;
mod config;
pub(crate) mod config_json;
pub mod cycle;
pub mod error;
mod expiry;
pub mod fairshare;
pub mod gcra;
mod hash;
pub mod ledger;
pub mod name;
pub mod ops;
pub mod outbox;
pub mod recovery;
pub mod report;
pub mod reservation;
mod settle;
pub mod snapshot;
pub mod state;
pub mod threads;
mod thresholds;
pub mod webhook;

pub use alerts::{Alert, AlertKind};
pub use attribution::{Attribution, AttributionInput, CostParts, PricedCost, ToolCharge, ToolFee, ToolPart, ToolShare};
pub use config::*;
pub use cycle::{CycleBounds, CycleSpec};
pub use error::{PoolError, RateLimitKind, Refusal, MAX_KNOWN_LISTED};
pub use ledger::{LedgerEntry, LedgerKind, TokenCounts};
pub use name::Name;
pub use ops::{OpResult, PoolOp};
pub use recovery::{check_ledger, LedgerJoin};
pub use report::Report;
pub use reservation::{ExtendOutcome, ReleaseOutcome, Released, Reservation, SettleOutcome, Settlement};
pub use snapshot::{PoolSnapshot, SNAPSHOT_VERSION};
pub use state::PoolState;
pub use threads::{ThreadBound, ThreadEntry, ThreadLookup, ThreadTools, DEFAULT_MAX_THREADS, MAX_THREAD_ID_BYTES, THREAD_TTL_MS};
pub use webhook::{check_endpoint, url_origin, WebhookDelivery, WebhookEndpointError, WebhookPayload, WebhookSecret};

use agents::Agents;
use reservation::ExpiryQueue;
use std::collections::VecDeque;

/// What a [`Pool::tick`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tick {
    /// Reservations that expired, in order of lease end.
    pub expired: Vec<u64>,
    /// Whether a new cycle began.
    pub rolled_over: bool,
}

/// An agent of one pool, resolved once by [`Pool::agent_id`] so that
/// [`Pool::reserve_for`] need not look its name up again. Agents are never
/// removed, so an ID stays valid for the pool's life, across snapshot and
/// restore; an ID from another pool is refused as an unknown agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgentId(u32);

impl AgentId {
    /// The agent's index in [`PoolState::agents`].
    pub fn index(self) -> u32 {
        self.0
    }
}

/// A credit pool (see the module documentation).
#[derive(Clone, Debug)]
pub struct Pool {
    config: PoolConfig,
    state: PoolState,
    agents: Agents,
    expiry: ExpiryQueue,
    stats: report::Stats,
    events: VecDeque<Alert>,
    ledger: VecDeque<LedgerEntry>,
    pool_id: Name,
    /// Before this instant, no lease ends, no late-settle window closes and the
    /// cycle does not roll over (a lower bound; 0 forces a check).
    wake_at: u64,
    /// The book of message threads (`threads`; not in the snapshot).
    threads: threads::ThreadTable,
}

impl Pool {
    /// A new pool, its first cycle the one containing `now_ms`.
    pub fn new(mut config: PoolConfig, now_ms: u64) -> Result<Pool, PoolError> {
        config.allow_unknown_agents = Some(config.allows_unknown_agents());
        config.validate().map_err(|reason| PoolError::InvalidConfig { reason })?;
        let state = PoolState::new(config.limit, config.cycle.bounds_at(now_ms), now_ms);
        let mut pool = Pool {
            pool_id: Name::new(&config.pool_id),
            agents: Agents::default(),
            config,
            state,
            expiry: ExpiryQueue::default(),
            stats: report::Stats::default(),
            events: VecDeque::new(),
            ledger: VecDeque::new(),
            wake_at: 0,
            threads: threads::ThreadTable::default(),
        };
        let named: Vec<String> = pool.config.agents.keys().cloned().collect();
        for name in named {
            pool.agent_index(&name);
        }
        Ok(pool)
    }

    /// The configuration.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// The shared state.
    pub fn state(&self) -> &PoolState {
        &self.state
    }

    /// The next alert, if any. Poll until `None` after every call.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Alert> {
        self.events.pop_front()
    }

    /// The next ledger entry, if any. Poll until `None` after every call.
    /// A host that writes the ledger somewhere that can fail should rather
    /// [`Pool::peek_ledger`], write, then [`Pool::ack_ledger`]: an entry
    /// leaves the pool (and its snapshot's `pending_ledger`) only once written.
    #[must_use]
    pub fn poll_ledger(&mut self) -> Option<LedgerEntry> {
        self.ledger.pop_front()
    }

    /// The ledger entries not yet handed out, oldest first, left in the pool:
    /// they stay in its snapshot (as `pending_ledger`) until acknowledged.
    pub fn peek_ledger(&self) -> impl ExactSizeIterator<Item = &LedgerEntry> {
        self.ledger.iter()
    }

    /// Acknowledges the ledger entries up to `seq` (inclusive) as written:
    /// they leave the pool. Answers how many left; an entry after `seq` stays.
    pub fn ack_ledger(&mut self, seq: u64) -> usize {
        let n = self.ledger.iter().take_while(|e| e.seq <= seq).count();
        self.ledger.drain(..n);
        n
    }

    /// The alerts not yet handed out, oldest first, left in the pool: they
    /// stay in its snapshot (as `pending_events`) until acknowledged.
    pub fn peek_events(&self) -> impl ExactSizeIterator<Item = &Alert> {
        self.events.iter()
    }

    /// Acknowledges the first `count` pending alerts as handed over (queued
    /// for delivery): they leave the pool. Answers how many left.
    pub fn ack_events(&mut self, count: usize) -> usize {
        let n = count.min(self.events.len());
        self.events.drain(..n);
        n
    }
}

#[cfg(test)]
mod tests;
