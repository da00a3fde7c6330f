//! Time passing: the clock (which never goes back), lease expiry and extension,
//! the late-settle window, and the cycle's rollover. Every operation first
//! calls `advance`, so that what is due has happened before it acts.

use super::error::PoolError;
use super::ledger::LedgerKind;
use super::report;
use super::reservation::{ExtendOutcome, Reservation};
use super::state::{self, ExpiredReservation, OpenReservation};
use super::{CycleBounds, Pool, Tick};
use crate::money::Money;

impl Pool {
    /// Expires due leases and rolls the cycle over if `now_ms` is past its end.
    /// A `now_ms` beyond [`PoolConfig::max_clock_jump_ms`](super::PoolConfig::max_clock_jump_ms)
    /// answers [`PoolError::ClockJump`] and changes nothing.
    pub fn tick(&mut self, now_ms: u64) -> Result<Tick, PoolError> {
        self.check_clock(now_ms)?;
        Ok(self.advance_clock(now_ms))
    }

    /// Accepts `now_ms` however far ahead of the latest time seen, then does
    /// what [`Pool::tick`] does: the explicit way to resume after a pause
    /// longer than [`PoolConfig::max_clock_jump_ms`](super::PoolConfig::max_clock_jump_ms)
    /// (a pool idle for weeks, a snapshot restored after a long pause), once
    /// the host knows the clock is right. Leases due by then expire (their
    /// settles are still recorded late) and the cycle rolls over if it ended.
    pub fn advance_clock(&mut self, now_ms: u64) -> Tick {
        let now = now_ms.max(self.state.last_now_ms);
        self.state.last_now_ms = now;
        let mut expired = Vec::new();
        let rolled_over = self.advance(now, Some(&mut expired));
        Tick { expired, rolled_over }
    }

    /// Whether `now_ms` is within [`PoolConfig::max_clock_jump_ms`](super::PoolConfig::max_clock_jump_ms)
    /// of the latest time the pool saw: [`PoolError::ClockJump`] if not.
    /// Earlier times are always accepted (they count as the latest seen).
    pub fn check_clock(&self, now_ms: u64) -> Result<(), PoolError> {
        let last_now_ms = self.state.last_now_ms;
        let max_clock_jump_ms = self.config.max_clock_jump_ms;
        if now_ms.saturating_sub(last_now_ms) > max_clock_jump_ms {
            return Err(PoolError::ClockJump { now_ms, last_now_ms, max_clock_jump_ms });
        }
        Ok(())
    }

    /// Renews the lease of open reservation `id` to end `lease_ms` (at least
    /// 1 ms) from now, for a call that outlasts its lease. A lease is never
    /// shortened: the new end is the later of the old one and now plus
    /// `lease_ms`. A reservation already settled, released or expired (a lease
    /// past its end expires first) answers [`ExtendOutcome::Closed`] and nothing
    /// changes; its settle, if it expired, is still recorded late.
    /// A `now_ms` beyond the clock-jump allowance answers
    /// [`PoolError::ClockJump`] and changes nothing.
    pub fn extend(&mut self, id: u64, lease_ms: u64, now_ms: u64) -> Result<ExtendOutcome, PoolError> {
        self.check_clock(now_ms)?;
        let now = self.clock(now_ms);
        self.advance(now, None);
        let Some(o) = self.state.open.get_mut(&id) else {
            if id != 0 && id < self.state.next_reservation_id {
                return Ok(ExtendOutcome::Closed { id });
            }
            return Err(PoolError::UnknownReservation { id });
        };
        let amount = o.amount;
        let expires_at_ms = o.expires_at_ms.max(now.saturating_add(lease_ms.max(1)));
        if expires_at_ms != o.expires_at_ms {
            // The old queue entry turns stale: `expire_due` and `peek_live`
            // skip an entry whose time is not the reservation's lease end.
            o.expires_at_ms = expires_at_ms;
            self.expiry.push(expires_at_ms, id);
            self.wake_at = self.wake_at.min(expires_at_ms);
            self.compact_expiry();
        }
        Ok(ExtendOutcome::Extended(Reservation { id, amount, expires_at_ms }))
    }

    /// When the pool next has something to do without input: the earliest
    /// lease end, or the cycle's end.
    pub fn next_deadline_ms(&mut self) -> u64 {
        let open = &self.state.open;
        let lease = self.expiry.peek_live(|id, t| open.get(&id).is_some_and(|o| o.expires_at_ms == t));
        lease.map_or(self.state.cycle.end_ms, |t| t.min(self.state.cycle.end_ms))
    }

    // ----- internals -----

    /// The time to act at: `now_ms`, but never earlier than the latest time
    /// seen, and never further ahead than the clock-jump allowance (a time
    /// beyond it counts as the latest seen and does not move the clock: the
    /// operations that must not act on it check [`Pool::check_clock`] first).
    pub(super) fn clock(&mut self, now_ms: u64) -> u64 {
        if self.check_clock(now_ms).is_err() {
            return self.state.last_now_ms;
        }
        let now = now_ms.max(self.state.last_now_ms);
        self.state.last_now_ms = now;
        now
    }

    #[inline]
    pub(super) fn compact_expiry(&mut self) {
        let open = &self.state.open;
        if self.expiry.needs_compaction(open.len()) {
            self.expiry.rebuild(open.iter().map(|(id, o)| (o.expires_at_ms, *id)));
        }
    }

    /// Rolls over and expires leases up to `now`. Returns whether a new cycle began.
    #[inline]
    pub(super) fn advance(&mut self, now: u64, expired: Option<&mut Vec<u64>>) -> bool {
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
            self.count_expired(id, &o, t);
            if let Some(v) = out.as_deref_mut() {
                v.push(id);
            }
        }
    }

    /// A lease that ended with no settle: its request may have been billed
    /// (the worker may have died after sending it), and what it cost is
    /// unknown, so its amount, the request's worst case, is counted as
    /// settled and flagged `estimated`: never less than the API may bill. A
    /// late settle then records what was observed (see [`Pool::settle`]).
    fn count_expired(&mut self, id: u64, o: &OpenReservation, t: u64) {
        let amount = o.amount;
        self.state.settled = self.state.settled.saturating_add(amount);
        if let Some(a) = self.state.agents.get_mut(o.agent as usize) {
            a.settled = a.settled.saturating_add(amount);
        }
        self.stats.record_settle(o.agent, t, self.state.cycle.start_ms, self.config.report_bucket_ms, amount, None);
        self.state.expired.push_back(ExpiredReservation { id, agent: o.agent, amount, expired_at_ms: t, counted: true });
        let mut entry = self.closing_entry(LedgerKind::Expire, id, o, t);
        entry.cost = amount;
        entry.refunded = Money::ZERO;
        entry.estimated = true;
        self.push_ledger(entry);
        self.check_thresholds(t);
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
}
