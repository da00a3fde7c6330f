//! Closing a reservation: settle (the actual cost, refunds, overruns, late
//! settles of expired reservations) and release, and the ledger entries that
//! record every close.

use super::attribution::AttributionInput;
use super::error::PoolError;
use super::gcra;
use super::ledger::{LedgerEntry, LedgerKind, TokenCounts};
use super::name::Name;
use super::reservation::{ReleaseOutcome, Released, SettleOutcome, Settlement};
use super::state::{ExpiredReservation, OpenReservation};
use super::Pool;
use crate::money::Money;

impl Pool {
    /// Posts the actual cost of reservation `id`, with what the request held for
    /// attribution (without it, the whole cost goes to the conversation and the
    /// ledger entry names no model). The cost may exceed the reservation: it is
    /// recorded in full and flagged as an overrun. A settle is never refused
    /// for its time: a `now_ms` beyond the clock-jump allowance is recorded at
    /// the latest time seen and does not move the clock.
    ///
    /// A settle after the reservation's lease ended (`late`): the expiry
    /// already counted the reservation's amount, its worst case, as settled
    /// (an `estimated` expire entry), so the late settle adds only what its
    /// cost exceeds that amount by (an overrun, normally zero) and records
    /// the cost it was given as `observed_cost`, with the model and tokens,
    /// for a reconciliation. A reservation that expired under the earlier
    /// rule (restored from an old snapshot: its amount went back to the pool)
    /// counts the late cost in full, as an overrun.
    pub fn settle(&mut self, id: u64, cost: Money, attribution: Option<&AttributionInput>, now_ms: u64) -> Result<SettleOutcome, PoolError> {
        let now = self.clock(now_ms);
        self.advance(now, None);
        let (agent, reserved, late) = if let Some(o) = self.state.open.remove(&id) {
            self.unhold(&o);
            (o.agent, o.amount, false)
        } else if let Some(e) = self.take_expired(id) {
            if e.counted {
                return Ok(SettleOutcome::Settled(self.settle_counted_expiry(&e, cost, attribution, now)));
            }
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
            estimated: attribution.is_some_and(|a| a.estimated),
            observed_cost: None,
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

    /// The late settle of a reservation whose expiry counted its amount: only
    /// the cost beyond that amount is added (as an overrun, in the current
    /// cycle); the cost given is kept in the ledger entry as `observed_cost`.
    fn settle_counted_expiry(&mut self, e: &ExpiredReservation, cost: Money, attribution: Option<&AttributionInput>, now: u64) -> Settlement {
        let id = e.id;
        let overrun = cost.saturating_sub(e.amount);
        self.state.settled = self.state.settled.saturating_add(overrun);
        self.state.overrun = self.state.overrun.saturating_add(overrun);
        if let Some(a) = self.state.agents.get_mut(e.agent as usize) {
            a.settled = a.settled.saturating_add(overrun);
        }
        if !overrun.is_zero() {
            self.stats.add_unattributed(now, self.state.cycle.start_ms, self.config.report_bucket_ms, overrun);
        }
        let ledger_seq = self.push_ledger(LedgerEntry {
            seq: 0,
            at_ms: now,
            kind: LedgerKind::Settle,
            reservation_id: id,
            agent: self.agents.name(e.agent),
            cycle_start_ms: self.state.cycle.start_ms,
            reserved: e.amount,
            cost: overrun,
            refunded: Money::ZERO,
            overrun,
            late: true,
            estimated: attribution.is_some_and(|a| a.estimated),
            observed_cost: Some(cost),
            model: attribution.map(|a| Name::new(&a.model)),
            request_id: attribution.and_then(|a| a.request_id.clone()),
            message_id: attribution.and_then(|a| a.message_id.clone()),
            tokens: attribution.map(|a| TokenCounts::from_usage(&a.usage)),
            attribution: None,
        });
        self.compact_expiry();
        self.check_thresholds(now);
        self.check_projection(now);
        Settlement { id, reserved: e.amount, cost: overrun, refunded: Money::ZERO, overrun, late: true, ledger_seq }
    }

    /// Voids reservation `id` (the request failed): its amount returns to the
    /// pool and to the agent's credit bucket. Like a settle, never refused
    /// for its time (a jumped `now_ms` counts as the latest time seen).
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

    /// Removes an open reservation's amount from the totals.
    pub(super) fn unhold(&mut self, o: &OpenReservation) {
        self.state.reserved = self.state.reserved.saturating_sub(o.amount);
        if let Some(a) = self.state.agents.get_mut(o.agent as usize) {
            a.reserved = a.reserved.saturating_sub(o.amount);
        }
    }

    pub(super) fn refund_credits(&mut self, agent: u32, amount: Money, now: u64) {
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

    pub(super) fn closing_entry(&self, kind: LedgerKind, id: u64, o: &OpenReservation, at_ms: u64) -> LedgerEntry {
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
            estimated: false,
            observed_cost: None,
            model: None,
            request_id: None,
            message_id: None,
            tokens: None,
            attribution: None,
        }
    }

    #[inline]
    pub(super) fn push_ledger(&mut self, mut entry: LedgerEntry) -> u64 {
        let seq = self.state.next_ledger_seq;
        self.state.next_ledger_seq = seq.saturating_add(1);
        entry.seq = seq;
        self.ledger.push_back(entry);
        seq
    }
}
