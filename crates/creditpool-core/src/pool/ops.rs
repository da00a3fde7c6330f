//! Every pool operation as plain JSON: what the bindings send and the
//! conformance vectors (`tests/vectors/pool/`, kind `pool_scenario`) replay.
//!
//! An operation is an object tagged by `"op"`:
//!
//! | op | fields | result |
//! | --- | --- | --- |
//! | `reserve` | `agent`, `amount`, `now_ms`, optional `lease_ms` | `reserved` or `refused` |
//! | `settle` | `id`, `cost`, `now_ms`, optional `attribution` ([`AttributionInput`]) | `settled`, `duplicate` or `error` |
//! | `release` | `id`, `now_ms` | `released`, `duplicate` or `error` |
//! | `extend` | `id`, `lease_ms`, `now_ms` | `extended`, `closed` or `error` |
//! | `set_limit` | `limit`, `now_ms` | `ok` |
//! | `set_agent` | `agent`, `policy` ([`AgentPolicy`]), `now_ms` | `ok` or `error` |
//! | `tick` | `now_ms` | `ticked` |
//! | `advance_clock` | `now_ms` | `ticked`: accepts a jump beyond `max_clock_jump_ms` ([`Pool::advance_clock`]) |
//! | `report` | `now_ms` | `report` ([`Report`]) |
//! | `snapshot_restore` | | `restored`: the pool is replaced by the restore of its own snapshot |
//! | `thread_record` | `message_id`, `input_tokens`, optional `cache_write`, `cache_write_1h`, `may_overshoot`, `now_ms` | `thread` (the entry kept, with its `expires_at_ms`) or `no_thread` (an ID not kept) |
//! | `thread_lookup` | `message_id`, `now_ms` | `thread` or `no_thread` (`expired`: whether the book knew it) |
//!
//! A result is an object tagged by `"result"`, with the fields of the Rust value
//! it carries, e.g. `{"result": "reserved", "id": 1, "amount": 500,
//! "expires_at_ms": 601000}` or `{"result": "refused", "reason":
//! "pool_exhausted", "requested": 500, "available": 100}`. An `extend` answers
//! `{"result": "extended", "id", "amount", "expires_at_ms"}` (the new lease
//! end) or, for a reservation already settled, released or expired,
//! `{"result": "closed", "id"}`.
//!
//! A `now_ms` further beyond the latest time seen than
//! [`PoolConfig::max_clock_jump_ms`](super::PoolConfig::max_clock_jump_ms)
//! makes `reserve`, `extend`, `set_limit`, `set_agent` and `tick` answer
//! `{"result": "error", "error": "clock_jump", "now_ms", "last_now_ms",
//! "max_clock_jump_ms"}` and change nothing; `settle` and `release` are still
//! recorded (at the latest time seen), and `report` never moves time.

use super::attribution::AttributionInput;
use super::config::AgentPolicy;
use super::error::{PoolError, Refusal};
use super::report::Report;
use super::reservation::{ExtendOutcome, ReleaseOutcome, Released, Reservation, SettleOutcome, Settlement};
use super::Pool;
use crate::money::Money;
use serde::{Deserialize, Serialize};

/// One operation (see the module documentation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum PoolOp {
    /// [`Pool::reserve`] (or [`Pool::reserve_with_lease`] with `lease_ms`).
    Reserve {
        /// The agent.
        agent: String,
        /// The amount, nano-USD.
        amount: Money,
        /// Now, Unix milliseconds.
        now_ms: u64,
        /// The lease, if not the configured one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lease_ms: Option<u64>,
    },
    /// [`Pool::settle`].
    Settle {
        /// The reservation.
        id: u64,
        /// The actual cost, nano-USD.
        cost: Money,
        /// Now, Unix milliseconds.
        now_ms: u64,
        /// What the request held.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attribution: Option<Box<AttributionInput>>,
    },
    /// [`Pool::release`].
    Release {
        /// The reservation.
        id: u64,
        /// Now, Unix milliseconds.
        now_ms: u64,
    },
    /// [`Pool::extend`].
    Extend {
        /// The reservation.
        id: u64,
        /// The new lease, from now (at least 1 ms; never shortens the lease).
        lease_ms: u64,
        /// Now, Unix milliseconds.
        now_ms: u64,
    },
    /// [`Pool::set_limit`].
    SetLimit {
        /// The new limit, nano-USD.
        limit: Money,
        /// Now, Unix milliseconds.
        now_ms: u64,
    },
    /// [`Pool::set_agent_policy`].
    SetAgent {
        /// The agent.
        agent: String,
        /// Its new policy.
        policy: AgentPolicy,
        /// Now, Unix milliseconds.
        now_ms: u64,
    },
    /// [`Pool::tick`].
    Tick {
        /// Now, Unix milliseconds.
        now_ms: u64,
    },
    /// [`Pool::advance_clock`]: accept a long jump on purpose.
    AdvanceClock {
        /// Now, Unix milliseconds.
        now_ms: u64,
    },
    /// [`Pool::report`].
    Report {
        /// Now, Unix milliseconds.
        now_ms: u64,
    },
    /// Replaces the pool by [`Pool::restore`] of its own [`Pool::snapshot`].
    SnapshotRestore,
    /// [`Pool::thread_record`]: the bound of a message thread's input up to
    /// `message_id` (see [`super::threads`]).
    ThreadRecord {
        /// The message ID of the response on the thread.
        message_id: String,
        /// The whole thread's input, in tokens at most.
        input_tokens: u64,
        /// Whether a request of the thread carried a `cache_control`.
        #[serde(default)]
        cache_write: bool,
        /// Whether one asked for the 1-hour cache.
        #[serde(default)]
        cache_write_1h: bool,
        /// Whether a request of the thread had a worst case that may overshoot.
        #[serde(default)]
        may_overshoot: bool,
        /// What the thread's tools add to each request's cost (absent: not
        /// known, the continue is bounded as an unknown thread's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tools: Option<super::ThreadTools>,
        /// Now, Unix milliseconds.
        now_ms: u64,
    },
    /// [`Pool::thread_lookup`]: what the book knows of a continue's
    /// `previous_message_id`.
    ThreadLookup {
        /// The message ID.
        message_id: String,
        /// Now, Unix milliseconds.
        now_ms: u64,
    },
}

impl PoolOp {
    /// Whether a host applies this operation while the pool's files cannot
    /// be written (a full disk, `EIO`): the core's rule for a failed persist.
    /// A write that fails leaves the operation applied in memory, its ledger
    /// entries pending in the pool (and in every later snapshot), and the
    /// caller gets the write's error. Until a write succeeds again, a settle
    /// or a release is still applied (spend that happened is never dropped;
    /// the caller gets the write's error with it, and the entry reaches the
    /// file with the first write that succeeds), and every other operation is
    /// refused with that error before it is applied: no new spend is admitted
    /// on books that cannot be kept.
    pub fn applies_while_unwritten(&self) -> bool {
        matches!(self, PoolOp::Settle { .. } | PoolOp::Release { .. })
    }
}

/// The result of one operation (see the module documentation). It reads back
/// from its own JSON, so that a pool store in another process (or language)
/// can answer with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum OpResult {
    /// A reservation was granted.
    Reserved(Reservation),
    /// A reservation was refused.
    Refused(Refusal),
    /// A cost was posted.
    Settled(Settlement),
    /// A reservation was voided.
    Released(Released),
    /// The reservation was already closed: nothing changed.
    Duplicate {
        /// The reservation.
        id: u64,
    },
    /// A lease was renewed: the reservation with its new `expires_at_ms`.
    Extended(Reservation),
    /// The reservation to extend was already settled, released or expired:
    /// nothing changed.
    Closed {
        /// The reservation.
        id: u64,
    },
    /// The operation failed.
    Error(PoolError),
    /// Done.
    Ok,
    /// A tick's effects.
    Ticked {
        /// Reservations that expired.
        expired: Vec<u64>,
        /// Whether a new cycle began.
        rolled_over: bool,
    },
    /// A report.
    Report(Box<Report>),
    /// The pool was replaced by the restore of its snapshot.
    Restored,
    /// A thread entry: the one recorded, or the one a lookup found.
    Thread(super::ThreadEntry),
    /// The book does not hold the message: never seen, pushed out, or (with
    /// `expired`) expired; a record whose ID is not kept.
    NoThread {
        /// Whether the book knew it and it expired.
        expired: bool,
    },
}

impl Pool {
    /// Applies one operation. Alerts and ledger entries are queued as usual:
    /// poll them afterwards.
    pub fn apply(&mut self, op: &PoolOp) -> OpResult {
        if let PoolOp::Reserve { now_ms, .. } = op {
            if let Err(e) = self.check_clock(*now_ms) {
                return OpResult::Error(e);
            }
        }
        match op {
            PoolOp::Reserve { agent, amount, now_ms, lease_ms } => {
                let r = match lease_ms {
                    Some(l) => self.reserve_with_lease(agent, *amount, *l, *now_ms),
                    None => self.reserve(agent, *amount, *now_ms),
                };
                match r {
                    Ok(r) => OpResult::Reserved(r),
                    Err(e) => OpResult::Refused(e),
                }
            }
            PoolOp::Settle { id, cost, now_ms, attribution } => match self.settle(*id, *cost, attribution.as_deref(), *now_ms) {
                Ok(SettleOutcome::Settled(s)) => OpResult::Settled(s),
                Ok(SettleOutcome::Duplicate { id }) => OpResult::Duplicate { id },
                Err(e) => OpResult::Error(e),
            },
            PoolOp::Release { id, now_ms } => match self.release(*id, *now_ms) {
                Ok(ReleaseOutcome::Released(r)) => OpResult::Released(r),
                Ok(ReleaseOutcome::Duplicate { id }) => OpResult::Duplicate { id },
                Err(e) => OpResult::Error(e),
            },
            PoolOp::Extend { id, lease_ms, now_ms } => match self.extend(*id, *lease_ms, *now_ms) {
                Ok(ExtendOutcome::Extended(r)) => OpResult::Extended(r),
                Ok(ExtendOutcome::Closed { id }) => OpResult::Closed { id },
                Err(e) => OpResult::Error(e),
            },
            PoolOp::SetLimit { limit, now_ms } => match self.set_limit(*limit, *now_ms) {
                Ok(()) => OpResult::Ok,
                Err(e) => OpResult::Error(e),
            },
            PoolOp::SetAgent { agent, policy, now_ms } => match self.set_agent_policy(agent, policy.clone(), *now_ms) {
                Ok(()) => OpResult::Ok,
                Err(e) => OpResult::Error(e),
            },
            PoolOp::Tick { now_ms } => match self.tick(*now_ms) {
                Ok(t) => OpResult::Ticked { expired: t.expired, rolled_over: t.rolled_over },
                Err(e) => OpResult::Error(e),
            },
            PoolOp::AdvanceClock { now_ms } => {
                let t = self.advance_clock(*now_ms);
                OpResult::Ticked { expired: t.expired, rolled_over: t.rolled_over }
            }
            PoolOp::Report { now_ms } => OpResult::Report(Box::new(self.report(*now_ms))),
            PoolOp::SnapshotRestore => match Pool::restore(self.snapshot()) {
                Ok(p) => {
                    *self = p;
                    OpResult::Restored
                }
                Err(e) => OpResult::Error(e),
            },
            PoolOp::ThreadRecord { message_id, input_tokens, cache_write, cache_write_1h, may_overshoot, tools, now_ms } => {
                let bound = super::ThreadBound { input_tokens: *input_tokens, cache_write: *cache_write, cache_write_1h: *cache_write_1h, may_overshoot: *may_overshoot, tools: *tools };
                match self.thread_record(message_id, bound, *now_ms) {
                    Some(e) => OpResult::Thread(e),
                    None => OpResult::NoThread { expired: false },
                }
            }
            PoolOp::ThreadLookup { message_id, now_ms } => match self.thread_lookup(message_id, *now_ms) {
                super::ThreadLookup::Known(e) => OpResult::Thread(e),
                super::ThreadLookup::Expired => OpResult::NoThread { expired: true },
                super::ThreadLookup::Unknown => OpResult::NoThread { expired: false },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ops_parse_strictly() {
        let op: PoolOp = serde_json::from_value(json!({"op": "reserve", "agent": "a", "amount": 5, "now_ms": 1})).unwrap();
        assert_eq!(op, PoolOp::Reserve { agent: "a".into(), amount: Money::from_nanos(5), now_ms: 1, lease_ms: None });
        assert!(serde_json::from_value::<PoolOp>(json!({"op": "reserve", "agent": "a", "amount": 5, "now_ms": 1, "x": 1})).is_err());
        assert!(serde_json::from_value::<PoolOp>(json!({"op": "explode"})).is_err());
        let op: PoolOp = serde_json::from_value(json!({"op": "snapshot_restore"})).unwrap();
        assert_eq!(op, PoolOp::SnapshotRestore);
    }

    #[test]
    fn results_are_tagged() {
        let r = OpResult::Refused(Refusal::PoolExhausted { requested: Money::from_nanos(5), available: Money::ZERO });
        assert_eq!(serde_json::to_value(&r).unwrap(), json!({"result": "refused", "reason": "pool_exhausted", "requested": 5, "available": 0}));
        let r = OpResult::Error(PoolError::UnknownReservation { id: 9 });
        assert_eq!(serde_json::to_value(&r).unwrap(), json!({"result": "error", "error": "unknown_reservation", "id": 9}));
        assert_eq!(serde_json::to_value(OpResult::Ok).unwrap(), json!({"result": "ok"}));
    }

    #[test]
    fn results_read_back_from_their_json() {
        let mut p = Pool::new(crate::pool::PoolConfig::new(Money::from_nanos(1_000)), 0).unwrap();
        let ops = [
            json!({"op": "reserve", "agent": "a", "amount": 400, "now_ms": 1}),
            json!({"op": "extend", "id": 1, "lease_ms": 5000, "now_ms": 2}),
            json!({"op": "settle", "id": 1, "cost": 300, "now_ms": 3}),
            json!({"op": "settle", "id": 1, "cost": 300, "now_ms": 3}),
            json!({"op": "reserve", "agent": "a", "amount": 5000, "now_ms": 4}),
            json!({"op": "release", "id": 9, "now_ms": 5}),
            json!({"op": "report", "now_ms": 6}),
        ];
        for op in ops {
            let r = p.apply(&serde_json::from_value(op).unwrap());
            let back: OpResult = serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
            assert_eq!(back, r);
        }
    }
}
