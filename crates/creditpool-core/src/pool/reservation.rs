//! Two-phase reservations: what `reserve`, `settle`, `release` and `extend` hand
//! back, and the queue that finds expired leases.

use crate::money::Money;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A granted reservation: hold on to its `id` to settle or release it before
/// `expires_at_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// The reservation's ID: a counter, unique within the pool, from 1.
    pub id: u64,
    /// The amount held.
    pub amount: Money,
    /// When the lease ends, Unix milliseconds.
    pub expires_at_ms: u64,
}

/// A posted settle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// The reservation's ID.
    pub id: u64,
    /// What the reservation held (zero for a late settle: the expiry already
    /// returned it).
    pub reserved: Money,
    /// The actual cost, now counted as settled.
    pub cost: Money,
    /// What went back to the pool (`reserved - cost` when positive).
    pub refunded: Money,
    /// What the cost exceeded the reservation by (`cost - reserved` when
    /// positive). Recorded in full, and flagged in the ledger.
    pub overrun: Money,
    /// Whether the reservation had already expired.
    pub late: bool,
    /// The sequence number of the ledger entry written.
    pub ledger_seq: u64,
}

/// The result of a settle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettleOutcome {
    /// The cost was posted.
    Settled(Settlement),
    /// The reservation was already settled or released (or expired longer ago
    /// than the late-settle window): nothing changed. The reservation ID is the
    /// idempotency key, so repeating a settle or a release is harmless.
    Duplicate {
        /// The reservation's ID.
        id: u64,
    },
}

/// A voided reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Released {
    /// The reservation's ID.
    pub id: u64,
    /// What went back to the pool.
    pub amount: Money,
    /// The sequence number of the ledger entry written.
    pub ledger_seq: u64,
}

/// The result of a release.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReleaseOutcome {
    /// The reservation was voided.
    Released(Released),
    /// The reservation was already settled, released or expired: nothing changed.
    Duplicate {
        /// The reservation's ID.
        id: u64,
    },
}

/// The result of an extend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtendOutcome {
    /// The lease was renewed: the reservation with its new `expires_at_ms`
    /// (never earlier than before).
    Extended(Reservation),
    /// The reservation was already settled, released or expired: nothing
    /// changed. Not an error: the caller carries on, and its settle is recorded
    /// late if the reservation expired (within the late-settle window).
    Closed {
        /// The reservation's ID.
        id: u64,
    },
}

/// Open reservations by lease end: a min-heap of `(expires_at_ms, id)`.
///
/// Settled and released reservations are not removed from the heap (that would
/// cost a search), and an extended lease leaves its old entry behind; such stale
/// entries (whose time is not the open reservation's `expires_at_ms`) are
/// skipped when they surface, and the heap is rebuilt
/// from the open set when stale entries outnumber live ones, so that its size
/// stays within a constant factor of the open reservations.
#[derive(Clone, Debug, Default)]
pub(crate) struct ExpiryQueue {
    heap: BinaryHeap<Reverse<(u64, u64)>>,
}

impl ExpiryQueue {
    pub(crate) fn push(&mut self, expires_at_ms: u64, id: u64) {
        self.heap.push(Reverse((expires_at_ms, id)));
    }

    /// The earliest lease end queued (possibly of a closed reservation).
    pub(crate) fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse((t, _))| *t)
    }

    /// The earliest entry due at `now_ms`, removed.
    pub(crate) fn pop_due(&mut self, now_ms: u64) -> Option<(u64, u64)> {
        match self.heap.peek() {
            Some(Reverse((t, _))) if *t <= now_ms => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    /// Whether stale entries dominate (then rebuild with [`ExpiryQueue::rebuild`]).
    #[inline]
    pub(crate) fn needs_compaction(&self, live: usize) -> bool {
        self.heap.len() > 2 * live + 64
    }

    /// Rebuilds the heap from the live entries.
    #[cold]
    pub(crate) fn rebuild(&mut self, entries: impl Iterator<Item = (u64, u64)>) {
        let mut v = std::mem::take(&mut self.heap).into_vec();
        v.clear();
        v.extend(entries.map(Reverse));
        self.heap = BinaryHeap::from(v);
    }

    /// The earliest live lease end, dropping stale entries on the way.
    pub(crate) fn peek_live(&mut self, live: impl Fn(u64, u64) -> bool) -> Option<u64> {
        while let Some(Reverse((t, id))) = self.heap.peek().copied() {
            if live(id, t) {
                return Some(t);
            }
            self.heap.pop();
        }
        None
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}
