//! The credit pool: a limit per billing cycle that many agents share, as a
//! deterministic state machine without I/O.
//!
//! Time is always an argument (`now_ms`, Unix milliseconds); nothing here reads a
//! clock, draws a random number, touches a file or starts a thread. The same
//! inputs give the same outputs in Rust, Python and JS. A time earlier than one
//! already seen counts as the latest seen, so a clock stepping back cannot undo
//! an expiry or a rollover.
//!
//! # Flow
//!
//! 1. [`Pool::reserve`] the request's worst case (the caller prices it with
//!    [`crate::pricing`]): a [`Reservation`] or a [`Refusal`] that says why.
//! 2. Send the request. Then [`Pool::settle`] with the actual cost and an
//!    [`AttributionInput`] (see [`attribution`] for how cost is split), or
//!    [`Pool::release`] if it failed. An unsettled reservation expires when its
//!    lease ends; a settle that arrives later (within
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
//! first), and the first that applies is returned. Unknown agents are allowed by
//! default, with [`PoolConfig::default_agent`]'s policy.
//!
//! # Idempotency
//!
//! The reservation ID is the idempotency key: a reservation closes once, and a
//! repeated settle or release answers `Duplicate` and changes nothing. IDs are a
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

mod agents;
pub mod alerts;
pub mod attribution;
pub mod cycle;
pub mod error;
pub mod fairshare;
pub mod gcra;
mod hash;
pub mod ledger;
pub mod name;
pub mod ops;
pub mod report;
pub mod reservation;
pub mod snapshot;
pub mod state;
pub mod webhook;
mod config;

pub use alerts::{Alert, AlertKind};
pub use attribution::{Attribution, AttributionInput, CostParts, PricedCost, ToolCharge, ToolPart, ToolShare};
pub use config::*;
pub use cycle::{CycleBounds, CycleSpec};
pub use error::{PoolError, RateLimitKind, Refusal};
pub use ledger::{LedgerEntry, LedgerKind, TokenCounts};
pub use name::Name;
pub use ops::{OpResult, PoolOp};
pub use report::Report;
pub use reservation::{ReleaseOutcome, Released, Reservation, SettleOutcome, Settlement};
pub use snapshot::{PoolSnapshot, SNAPSHOT_VERSION};
pub use state::PoolState;
pub use webhook::{WebhookDelivery, WebhookPayload};

use crate::money::Money;
use agents::Agents;
use reservation::ExpiryQueue;
use state::{AgentCounters, ExpiredReservation, OpenReservation};
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
}

impl Pool {
    /// A new pool, its first cycle the one containing `now_ms`.
    pub fn new(config: PoolConfig, now_ms: u64) -> Result<Pool, PoolError> {
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

    /// Reserves `amount` for `agent` with the configured lease.
    pub fn reserve(&mut self, agent: &str, amount: Money, now_ms: u64) -> Result<Reservation, Refusal> {
        self.reserve_with_lease(agent, amount, self.config.lease_ms, now_ms)
    }

    /// Reserves `amount` for `agent`, the lease ending `lease_ms` from now (at
    /// least 1 ms).
    pub fn reserve_with_lease(&mut self, agent: &str, amount: Money, lease_ms: u64, now_ms: u64) -> Result<Reservation, Refusal> {
        let now = self.clock(now_ms);
        self.advance(now, None);
        let idx = self.resolve(agent)?.0;
        self.grant(idx, amount, lease_ms, now)
    }

    /// The ID of an agent, adding it (with its configured policy, or the
    /// default) if new and unknown agents are allowed.
    pub fn agent_id(&mut self, agent: &str) -> Result<AgentId, Refusal> {
        self.resolve(agent)
    }

    /// [`Pool::reserve`] for an agent resolved with [`Pool::agent_id`].
    pub fn reserve_for(&mut self, agent: AgentId, amount: Money, now_ms: u64) -> Result<Reservation, Refusal> {
        let now = self.clock(now_ms);
        self.advance(now, None);
        if agent.0 as usize >= self.agents.len() {
            return Err(Refusal::UnknownAgent { agent: Name::from(format!("#{}", agent.0)) });
        }
        self.grant(agent.0, amount, self.config.lease_ms, now)
    }

    fn resolve(&mut self, agent: &str) -> Result<AgentId, Refusal> {
        match self.agents.lookup(agent) {
            Some(i) => Ok(AgentId(i)),
            None if self.config.allow_unknown_agents => Ok(AgentId(self.agent_index(agent))),
            None => Err(Refusal::UnknownAgent { agent: Name::new(agent) }),
        }
    }

    /// Checks the rules and, if they allow it, opens a reservation.
    fn grant(&mut self, idx: u32, amount: Money, lease_ms: u64, now: u64) -> Result<Reservation, Refusal> {
        let (credits, requests) = match self.admit(idx, amount, now) {
            Ok(limiters) => limiters,
            Err(r) => {
                if let Some(a) = self.stats.agent_mut(idx) {
                    a.refusals = a.refusals.saturating_add(1);
                }
                return Err(r);
            }
        };
        let id = self.state.next_reservation_id;
        self.state.next_reservation_id = id.saturating_add(1);
        let expires_at_ms = now.saturating_add(lease_ms.max(1));
        self.state.open.insert(id, OpenReservation { agent: idx, amount, created_at_ms: now, expires_at_ms });
        self.expiry.push(expires_at_ms, id);
        self.wake_at = self.wake_at.min(expires_at_ms);
        self.state.reserved = self.state.reserved.saturating_add(amount);
        if let Some(a) = self.state.agents.get_mut(idx as usize) {
            a.reserved = a.reserved.saturating_add(amount);
            a.last_reserve_ms = Some(now);
            a.credits = credits;
            a.requests = requests;
        }
        if self.config.alerts.on_committed {
            self.check_thresholds(now);
        }
        Ok(Reservation { id, amount, expires_at_ms })
    }

    /// Posts the actual cost of reservation `id`, with what the request held for
    /// attribution (without it, the whole cost goes to the conversation and the
    /// ledger entry names no model). The cost may exceed the reservation: it is
    /// recorded in full and flagged as an overrun.
    pub fn settle(&mut self, id: u64, cost: Money, attribution: Option<&AttributionInput>, now_ms: u64) -> Result<SettleOutcome, PoolError> {
        let now = self.clock(now_ms);
        self.advance(now, None);
        let (agent, reserved, late) = if let Some(o) = self.state.open.remove(&id) {
            self.unhold(&o);
            (o.agent, o.amount, false)
        } else if let Some(e) = self.take_expired(id) {
            (e.agent, Money::ZERO, true)
        } else if id != 0 && id < self.state.next_reservation_id {
            return Ok(SettleOutcome::Duplicate { id });
        } else {
            return Err(PoolError::UnknownReservation { id });
        };
        let refunded = reserved.saturating_sub(cost);
        let overrun = cost.saturating_sub(reserved);
        self.state.settled = self.state.settled.saturating_add(cost);
        self.state.overrun = self.state.overrun.saturating_add(overrun);
        if let Some(a) = self.state.agents.get_mut(agent as usize) {
            a.settled = a.settled.saturating_add(cost);
        }
        if !late {
            self.refund_credits(agent, refunded, now);
        }
        let (model, tokens, split) = self.stats.record_settle(agent, now, self.state.cycle.start_ms, self.config.report_bucket_ms, cost, attribution);
        let ledger_seq = self.push_ledger(LedgerEntry {
            seq: 0,
            at_ms: now,
            kind: LedgerKind::Settle,
            reservation_id: id,
            agent: self.agents.name(agent),
            cycle_start_ms: self.state.cycle.start_ms,
            reserved,
            cost,
            refunded,
            overrun,
            late,
            model,
            request_id: attribution.and_then(|a| a.request_id.clone()),
            message_id: attribution.and_then(|a| a.message_id.clone()),
            tokens,
            attribution: split,
        });
        self.compact_expiry();
        self.check_thresholds(now);
        self.check_projection(now);
        Ok(SettleOutcome::Settled(Settlement { id, reserved, cost, refunded, overrun, late, ledger_seq }))
    }

    /// Voids reservation `id` (the request failed): its amount returns to the
    /// pool and to the agent's credit bucket.
    pub fn release(&mut self, id: u64, now_ms: u64) -> Result<ReleaseOutcome, PoolError> {
        let now = self.clock(now_ms);
        self.advance(now, None);
        let Some(o) = self.state.open.remove(&id) else {
            if self.take_expired(id).is_some() || (id != 0 && id < self.state.next_reservation_id) {
                return Ok(ReleaseOutcome::Duplicate { id });
            }
            return Err(PoolError::UnknownReservation { id });
        };
        self.unhold(&o);
        self.refund_credits(o.agent, o.amount, now);
        let ledger_seq = self.push_ledger(self.closing_entry(LedgerKind::Release, id, &o, now));
        self.compact_expiry();
        Ok(ReleaseOutcome::Released(Released { id, amount: o.amount, ledger_seq }))
    }

    /// Expires due leases and rolls the cycle over if `now_ms` is past its end.
    pub fn tick(&mut self, now_ms: u64) -> Tick {
        let now = self.clock(now_ms);
        let mut expired = Vec::new();
        let rolled_over = self.advance(now, Some(&mut expired));
        Tick { expired, rolled_over }
    }

    /// Changes the limit. Lowering it below what is committed loses nothing: new
    /// reservations are refused until there is room. Thresholds that the new
    /// limit puts behind the spend fire now.
    pub fn set_limit(&mut self, limit: Money, now_ms: u64) {
        let now = self.clock(now_ms);
        self.advance(now, None);
        self.state.limit = limit;
        self.check_thresholds(now);
    }

    /// Sets an agent's policy (adding the agent if new). Its counters and rate
    /// buckets carry on under the new policy.
    pub fn set_agent_policy(&mut self, agent: &str, policy: AgentPolicy, now_ms: u64) -> Result<(), PoolError> {
        policy.validate().map_err(|e| PoolError::InvalidConfig { reason: format!("agents.{agent}.{e}") })?;
        let now = self.clock(now_ms);
        self.advance(now, None);
        let idx = self.agent_index(agent);
        let old = self.agents.policy(idx).clone();
        if let Some(a) = self.state.agents.get_mut(idx as usize) {
            if old.credits_per_minute != policy.credits_per_minute {
                a.credits.tat_rem = 0;
            }
            if old.requests_per_minute != policy.requests_per_minute {
                a.requests.tat_rem = 0;
            }
        }
        self.agents.set_policy(idx, policy.clone());
        self.config.agents.insert(agent.to_owned(), policy);
        Ok(())
    }

    /// The next alert, if any. Poll until `None` after every call.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Alert> {
        self.events.pop_front()
    }

    /// The next ledger entry, if any. Poll until `None` after every call.
    #[must_use]
    pub fn poll_ledger(&mut self) -> Option<LedgerEntry> {
        self.ledger.pop_front()
    }

    /// When the pool next has something to do without input: the earliest
    /// lease end, or the cycle's end.
    pub fn next_deadline_ms(&mut self) -> u64 {
        let open = &self.state.open;
        let lease = self.expiry.peek_live(|id, t| open.get(&id).is_some_and(|o| o.expires_at_ms == t));
        lease.map_or(self.state.cycle.end_ms, |t| t.min(self.state.cycle.end_ms))
    }

    /// The report for the current cycle.
    pub fn report(&mut self, now_ms: u64) -> Report {
        let now = self.clock(now_ms);
        self.advance(now, None);
        let limit = self.state.limit;
        let mut agents: Vec<report::AgentReport> = self
            .state
            .agents
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                let act = self.stats.agent(i as u32);
                let active = !a.settled.is_zero() || !a.reserved.is_zero() || act.requests > 0 || act.refusals > 0;
                active.then(|| report::AgentReport {
                    agent: a.name.clone(),
                    settled: a.settled,
                    reserved: a.reserved,
                    requests: act.requests,
                    refusals: act.refusals,
                    cap: self.agents.policy(i as u32).cap.map(|c| c.amount(limit)),
                })
            })
            .collect();
        report::sort_agent_reports(&mut agents);
        let mut r = Report {
            pool_id: self.pool_id.clone(),
            at_ms: now,
            cycle: self.state.cycle,
            limit,
            settled: self.state.settled,
            reserved: self.state.reserved,
            available: self.state.available(),
            overrun: self.state.overrun,
            requests: 0,
            conversation: Money::ZERO,
            agents,
            models: Vec::new(),
            tools: Vec::new(),
            top: report::TopConsumers::default(),
            definition_overhead: Vec::new(),
            bucket_ms: self.config.report_bucket_ms,
            series: Vec::new(),
            history: Vec::new(),
        };
        self.stats.fill(&mut r, self.config.report_top);
        r
    }

    // ----- internals -----

    fn clock(&mut self, now_ms: u64) -> u64 {
        let now = now_ms.max(self.state.last_now_ms);
        self.state.last_now_ms = now;
        now
    }

    /// The index of an agent, adding it with its configured policy if new.
    fn agent_index(&mut self, agent: &str) -> u32 {
        if let Some(i) = self.agents.lookup(agent) {
            return i;
        }
        let policy = self.config.policy_of(agent).clone();
        let i = self.agents.add(agent, policy);
        self.state.agents.push(AgentCounters::new(self.agents.name(i)));
        i
    }

    /// Checks every rule for a reservation; on success, the agent's new limiter
    /// states.
    fn admit(&mut self, idx: u32, amount: Money, now: u64) -> Result<(gcra::GcraState, gcra::GcraState), Refusal> {
        let s = &self.state;
        let committed = s.committed();
        let fits = committed.checked_add(amount).is_some_and(|c| c <= s.limit);
        if !fits {
            return Err(Refusal::PoolExhausted { requested: amount, available: s.available() });
        }
        let Some(a) = s.agents.get(idx as usize) else {
            return Err(Refusal::UnknownAgent { agent: self.agents.name(idx) });
        };
        let policy = self.agents.policy(idx);
        if let Some(cap) = policy.cap {
            let cap = cap.amount(s.limit);
            let used = a.settled.saturating_add(a.reserved);
            if used.checked_add(amount).is_none_or(|u| u > cap) {
                return Err(Refusal::AgentCap { agent: a.name.clone(), cap, spent: a.settled, reserved: a.reserved, requested: amount });
            }
        }
        if let Some(fs) = self.config.fair_share {
            let after = u128::from(committed.nanos()) + u128::from(amount.nanos());
            if after * 100 >= u128::from(fs.when_committed_pct) * u128::from(s.limit.nanos()) {
                self.fair_share_check(idx, amount, now, fs)?;
            }
        }
        let a = match self.state.agents.get(idx as usize) {
            Some(a) => a,
            None => return Err(Refusal::UnknownAgent { agent: self.agents.name(idx) }),
        };
        let policy = self.agents.policy(idx);
        let credits = match policy.credits_per_minute {
            Some(rate) => gcra::Gcra::per_minute(rate.nanos()).check(a.credits, amount.nanos(), now),
            None => Ok(a.credits),
        };
        let requests = match policy.requests_per_minute {
            Some(rate) => gcra::Gcra::per_minute(u64::from(rate)).check(a.requests, 1, now),
            None => Ok(a.requests),
        };
        match (credits, requests) {
            (Ok(c), Ok(r)) => Ok((c, r)),
            (c, r) => {
                let (which, retry_at_ms) = match (c.err(), r.err()) {
                    (Some(tc), Some(tr)) if tr > tc => (RateLimitKind::Requests, tr),
                    (Some(tc), _) => (RateLimitKind::Credits, tc),
                    (None, Some(tr)) => (RateLimitKind::Requests, tr),
                    (None, None) => (RateLimitKind::Credits, now),
                };
                Err(Refusal::RateLimited { agent: a.name.clone(), which, retry_at_ms })
            }
        }
    }

    fn fair_share_check(&mut self, idx: u32, amount: Money, now: u64, fs: FairShareConfig) -> Result<(), Refusal> {
        let s = &self.state;
        let limit = s.limit;
        let mut claims = Vec::new();
        let mut me = None;
        for (i, a) in s.agents.iter().enumerate() {
            let recent = a.last_reserve_ms.is_some_and(|t| now < t.saturating_add(fs.active_window_ms));
            if i != idx as usize && a.reserved.is_zero() && !recent {
                continue;
            }
            if i == idx as usize {
                me = Some(claims.len());
            }
            let policy = self.agents.policy(i as u32);
            let demand = policy.cap.map(|c| c.amount(limit).saturating_sub(a.settled));
            claims.push(fairshare::Claim { weight: policy.weight, demand });
        }
        let mut shares = Vec::with_capacity(claims.len());
        fairshare::fair_shares(limit.saturating_sub(s.settled), &claims, &mut shares);
        let share = me.and_then(|i| shares.get(i).copied()).unwrap_or(Money::ZERO);
        let held = s.agents.get(idx as usize).map_or(Money::ZERO, |a| a.reserved);
        if held.checked_add(amount).is_none_or(|h| h > share) {
            return Err(Refusal::FairShare {
                agent: self.agents.name(idx),
                share,
                held,
                requested: amount,
                active_agents: u32::try_from(claims.len()).unwrap_or(u32::MAX),
            });
        }
        Ok(())
    }

    /// Removes an open reservation's amount from the totals.
    fn unhold(&mut self, o: &OpenReservation) {
        self.state.reserved = self.state.reserved.saturating_sub(o.amount);
        if let Some(a) = self.state.agents.get_mut(o.agent as usize) {
            a.reserved = a.reserved.saturating_sub(o.amount);
        }
    }

    fn refund_credits(&mut self, agent: u32, amount: Money, now: u64) {
        if amount.is_zero() {
            return;
        }
        if let Some(rate) = self.agents.policy(agent).credits_per_minute {
            if let Some(a) = self.state.agents.get_mut(agent as usize) {
                a.credits = gcra::Gcra::per_minute(rate.nanos()).refund(a.credits, amount.nanos(), now);
            }
        }
    }

    fn take_expired(&mut self, id: u64) -> Option<ExpiredReservation> {
        let pos = self.state.expired.iter().position(|e| e.id == id)?;
        self.state.expired.remove(pos)
    }

    fn closing_entry(&self, kind: LedgerKind, id: u64, o: &OpenReservation, at_ms: u64) -> LedgerEntry {
        LedgerEntry {
            seq: 0,
            at_ms,
            kind,
            reservation_id: id,
            agent: self.agents.name(o.agent),
            cycle_start_ms: self.state.cycle.start_ms,
            reserved: o.amount,
            cost: Money::ZERO,
            refunded: o.amount,
            overrun: Money::ZERO,
            late: false,
            model: None,
            request_id: None,
            message_id: None,
            tokens: None,
            attribution: None,
        }
    }

    #[inline]
    fn push_ledger(&mut self, mut entry: LedgerEntry) -> u64 {
        let seq = self.state.next_ledger_seq;
        self.state.next_ledger_seq = seq.saturating_add(1);
        entry.seq = seq;
        self.ledger.push_back(entry);
        seq
    }

    #[inline]
    fn compact_expiry(&mut self) {
        let open = &self.state.open;
        if self.expiry.needs_compaction(open.len()) {
            self.expiry.rebuild(open.iter().map(|(id, o)| (o.expires_at_ms, *id)));
        }
    }

    /// Rolls over and expires leases up to `now`. Returns whether a new cycle began.
    #[inline]
    fn advance(&mut self, now: u64, expired: Option<&mut Vec<u64>>) -> bool {
        if now < self.wake_at {
            return false;
        }
        self.advance_slow(now, expired)
    }

    fn advance_slow(&mut self, now: u64, mut expired: Option<&mut Vec<u64>>) -> bool {
        let mut rolled = false;
        if now >= self.state.cycle.end_ms {
            let next = self.config.cycle.bounds_at(now);
            if next.start_ms > self.state.cycle.start_ms {
                self.expire_due(self.state.cycle.end_ms.saturating_sub(1), expired.as_deref_mut());
                self.rollover(next);
                rolled = true;
            }
        }
        self.expire_due(now, expired);
        let window = self.config.late_settle_window_ms;
        while self.state.expired.front().is_some_and(|e| e.expired_at_ms.saturating_add(window) <= now) {
            self.state.expired.pop_front();
        }
        let mut wake = self.state.cycle.end_ms;
        if let Some(t) = self.expiry.peek_time() {
            wake = wake.min(t);
        }
        if let Some(e) = self.state.expired.front() {
            wake = wake.min(e.expired_at_ms.saturating_add(window));
        }
        self.wake_at = wake;
        rolled
    }

    fn expire_due(&mut self, now: u64, mut out: Option<&mut Vec<u64>>) {
        while let Some((t, id)) = self.expiry.pop_due(now) {
            let Some(o) = self.state.open.get(&id).copied() else { continue };
            if o.expires_at_ms != t {
                continue;
            }
            self.state.open.remove(&id);
            self.unhold(&o);
            self.refund_credits(o.agent, o.amount, t);
            self.state.expired.push_back(ExpiredReservation { id, agent: o.agent, amount: o.amount, expired_at_ms: t });
            self.push_ledger(self.closing_entry(LedgerKind::Expire, id, &o, t));
            if let Some(v) = out.as_deref_mut() {
                v.push(id);
            }
        }
    }

    fn rollover(&mut self, next: CycleBounds) {
        let s = &mut self.state;
        let agents = s.agents.iter().map(|a| report::Consumer { name: a.name.clone(), cost: a.settled }).collect();
        self.stats.close_cycle(report::CycleSummary {
            start_ms: s.cycle.start_ms,
            end_ms: s.cycle.end_ms,
            limit: s.limit,
            settled: s.settled,
            overrun: s.overrun,
            requests: self.stats.requests,
            agents: report::summary_agents(agents),
        });
        s.cycle = next;
        s.settled = Money::ZERO;
        s.overrun = Money::ZERO;
        s.fired = state::FiredAlerts::default();
        for a in &mut s.agents {
            a.settled = Money::ZERO;
        }
    }

    fn alert(&self, kind: AlertKind, now: u64) -> Alert {
        Alert {
            pool_id: self.pool_id.clone(),
            kind,
            occurred_at_ms: now,
            cycle: self.state.cycle,
            limit: self.state.limit,
            settled: self.state.settled,
            reserved: self.state.reserved,
        }
    }

    fn check_thresholds(&mut self, now: u64) {
        let limit = self.state.limit;
        let settled = self.state.settled;
        while let Some(&p) = self.config.alerts.thresholds_pct.get(self.state.fired.settled as usize) {
            if !alerts::reached(settled, limit, p) {
                break;
            }
            self.state.fired.settled += 1;
            self.events.push_back(self.alert(AlertKind::Threshold { percent: p }, now));
        }
        if !self.config.alerts.on_committed {
            return;
        }
        let committed = self.state.committed();
        while let Some(&p) = self.config.alerts.thresholds_pct.get(self.state.fired.committed as usize) {
            if !alerts::reached(committed, limit, p) {
                break;
            }
            self.state.fired.committed += 1;
            self.events.push_back(self.alert(AlertKind::CommittedThreshold { percent: p }, now));
        }
    }

    fn check_projection(&mut self, now: u64) {
        let Some(b) = self.config.alerts.burn_rate else { return };
        if self.state.fired.projection {
            return;
        }
        let s = &self.state;
        if let Some(at_ms) = alerts::projected_exhaustion(s.settled, s.limit, s.cycle, now, b.min_elapsed_ms) {
            self.state.fired.projection = true;
            self.events.push_back(self.alert(AlertKind::ProjectedExhaustion { at_ms }, now));
        }
    }
}

#[cfg(test)]
mod tests;
