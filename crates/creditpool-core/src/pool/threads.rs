//! The book of message threads kept in the pool store: what a thread
//! `continue` request reads as input, so that the [`Meter`](crate::meter::Meter)
//! of any process sharing the pool bounds it from the thread it continues.
//!
//! The Messages API (beta `message-threads-2026-08-12`) stores a thread's
//! conversation under each response's message ID; a continue request sends
//! only its new messages and is billed the whole stored thread as input. The
//! meter records, under the message ID of each response on a thread, a bound
//! on the thread's input so far ([`PoolOp::ThreadRecord`](super::PoolOp::ThreadRecord));
//! a continue asks for the entry of its `previous_message_id`
//! ([`PoolOp::ThreadLookup`](super::PoolOp::ThreadLookup)) before its reserve.
//!
//! The book is a cache of bounds, never a part of the books of money: an
//! entry missing (never recorded, expired, pushed out, a restarted process)
//! only makes the continue bounded as unknown (the model's context window,
//! never less than the API bills). Hence:
//!
//! * It is bounded: at most [`DEFAULT_MAX_THREADS`] entries; past it the entry
//!   that expires first goes first (entries ordered by deadline, then ID).
//! * An entry expires [`THREAD_TTL_MS`] after the time of its record (the
//!   pool's time: never earlier than the latest the pool saw; a Redis pool's
//!   server clock). A lookup of an expired entry answers `expired` once and
//!   forgets it; a record first forgets every expired entry.
//! * Thread operations do not move the pool's clock, and an in-memory pool's
//!   snapshot does not hold the book (it is written after every operation
//!   that changes the books; 4,096 entries would multiply its size for a
//!   cache): a restored pool starts with an empty book.
//! * A message ID longer than [`MAX_THREAD_ID_BYTES`] is never kept (a record
//!   answers `no_thread`): memory stays bounded whatever a peer sends.

use super::Pool;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// How long the API keeps a message thread after the request that produced
/// its latest message: 5 minutes.
pub const THREAD_TTL_MS: u64 = 5 * 60 * 1000;

/// The most threads a book keeps by default; past it the entry that expires
/// first is forgotten (its continue is then bounded as unknown: never less
/// than the API can bill).
pub const DEFAULT_MAX_THREADS: usize = 4096;

/// The longest message ID a book keeps, in bytes (the API's IDs are about 30).
pub const MAX_THREAD_ID_BYTES: usize = 256;

/// What a book knows of one message on a thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadEntry {
    /// The whole thread's input, in tokens at most, as a continue from this
    /// message reads it (before its own new messages).
    pub input_tokens: u64,
    /// Whether a request of the thread carried a `cache_control`.
    pub cache_write: bool,
    /// Whether one asked for the 1-hour cache (`ttl: "1h"`).
    pub cache_write_1h: bool,
    /// Whether a request of the thread had a worst case that may overshoot.
    pub may_overshoot: bool,
    /// What the thread's tools add to each continue's cost ([`ThreadTools`]),
    /// or `None` for an entry recorded without them (by an older version):
    /// the meter then bounds its continue as an unknown thread's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<ThreadTools>,
    /// When the book forgets the entry ([`THREAD_TTL_MS`] after the request
    /// that produced this message), Unix ms.
    pub expires_at_ms: u64,
}

/// What the tools of a thread's create imply for the price of every request
/// on the thread: a continue carries no `tools`, the API uses the create's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadTools {
    /// Web searches one request may make at most (each web search tool's
    /// `max_uses`, or the documented default when it has none), as the
    /// worst case counted them for the create.
    #[serde(default)]
    pub web_search_uses: u64,
    /// Whether the thread's code execution is billed by container time.
    #[serde(default)]
    pub container_billed: bool,
}

/// What a book says of a `previous_message_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadLookup {
    /// The thread, still alive.
    Known(ThreadEntry),
    /// The book knew it, but it expired.
    Expired,
    /// Never seen (or pushed out to keep the book within its cap, or
    /// forgotten after the API answered `thread_not_found`).
    Unknown,
}

/// The entries of a book (one implementation for the in-process
/// [`ThreadBook`](crate::meter::ThreadBook) and the in-memory [`Pool`]; the
/// Redis script keeps the same rules).
#[derive(Clone, Debug)]
pub(crate) struct ThreadTable {
    entries: HashMap<String, ThreadEntry>,
    /// (deadline, message ID): the first to expire first.
    order: BTreeSet<(u64, String)>,
    cap: usize,
}

impl Default for ThreadTable {
    fn default() -> ThreadTable {
        ThreadTable::with_capacity(DEFAULT_MAX_THREADS)
    }
}

impl ThreadTable {
    pub(crate) fn with_capacity(cap: usize) -> ThreadTable {
        ThreadTable {
            entries: HashMap::new(),
            order: BTreeSet::new(),
            cap: cap.max(1),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn forget(&mut self, id: &str) {
        if let Some(e) = self.entries.remove(id) {
            self.order.remove(&(e.expires_at_ms, id.to_owned()));
        }
    }

    /// What the table knows of `id` at `now_ms`; an expired entry is
    /// forgotten as it is reported.
    pub(crate) fn lookup(&mut self, id: &str, now_ms: u64) -> ThreadLookup {
        match self.entries.get(id) {
            None => ThreadLookup::Unknown,
            Some(e) if now_ms >= e.expires_at_ms => {
                self.forget(id);
                ThreadLookup::Expired
            }
            Some(e) => ThreadLookup::Known(*e),
        }
    }

    /// Records `entry` under `id`: every expired entry is forgotten first,
    /// then, past the cap, those that expire first. Answers whether the
    /// entry is kept (an ID longer than [`MAX_THREAD_ID_BYTES`] never is).
    pub(crate) fn record(&mut self, id: &str, entry: ThreadEntry, now_ms: u64) -> bool {
        if id.is_empty() || id.len() > MAX_THREAD_ID_BYTES {
            return false;
        }
        while let Some((at, first)) = self.order.first().cloned() {
            if now_ms < at {
                break;
            }
            self.forget(&first);
        }
        self.forget(id);
        self.entries.insert(id.to_owned(), entry);
        self.order.insert((entry.expires_at_ms, id.to_owned()));
        while self.entries.len() > self.cap {
            let Some((_, first)) = self.order.first().cloned() else {
                break;
            };
            self.forget(&first);
        }
        // Kept unless it was itself the first to go.
        self.entries.contains_key(id)
    }
}

/// What a `thread_record` operation brings: the thread's bound up to a
/// message (its deadline is the pool's: [`THREAD_TTL_MS`] from now).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadBound {
    /// The whole thread's input, in tokens at most.
    pub input_tokens: u64,
    /// Whether a request of the thread carried a `cache_control`.
    #[serde(default)]
    pub cache_write: bool,
    /// Whether one asked for the 1-hour cache.
    #[serde(default)]
    pub cache_write_1h: bool,
    /// Whether a request of the thread had a worst case that may overshoot.
    #[serde(default)]
    pub may_overshoot: bool,
    /// What the thread's tools add to each request's cost (`None`: not
    /// known; the continue is then bounded as an unknown thread's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<ThreadTools>,
}

impl ThreadBound {
    /// The entry this bound makes when recorded at `now_ms`.
    pub fn entry_at(self, now_ms: u64) -> ThreadEntry {
        ThreadEntry {
            input_tokens: self.input_tokens,
            cache_write: self.cache_write,
            cache_write_1h: self.cache_write_1h,
            may_overshoot: self.may_overshoot,
            tools: self.tools,
            expires_at_ms: now_ms.saturating_add(THREAD_TTL_MS),
        }
    }
}

impl Pool {
    /// The pool's time for a thread operation: `now_ms`, never earlier than
    /// the latest time seen. The clock does not move.
    fn thread_now(&self, now_ms: u64) -> u64 {
        now_ms.max(self.state.last_now_ms)
    }

    /// Records the thread's bound up to `message_id` (see the [module
    /// docs](self)): the entry kept, or `None` when the ID is not kept.
    pub fn thread_record(
        &mut self,
        message_id: &str,
        bound: ThreadBound,
        now_ms: u64,
    ) -> Option<ThreadEntry> {
        let now = self.thread_now(now_ms);
        let entry = bound.entry_at(now);
        self.threads.record(message_id, entry, now).then_some(entry)
    }

    /// What the book knows of `message_id` now.
    pub fn thread_lookup(&mut self, message_id: &str, now_ms: u64) -> ThreadLookup {
        let now = self.thread_now(now_ms);
        self.threads.lookup(message_id, now)
    }

    /// How many entries the pool's book of threads holds.
    pub fn thread_count(&self) -> usize {
        self.threads.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;
    use crate::pool::{OpResult, PoolConfig, PoolOp};

    fn bound(n: u64) -> ThreadBound {
        ThreadBound {
            input_tokens: n,
            ..ThreadBound::default()
        }
    }

    #[test]
    fn the_pools_book_expires_at_its_time_and_stays_within_its_cap() {
        let mut p = Pool::new(PoolConfig::new(Money::from_nanos(1_000)), 1_000).unwrap();
        let e = p.thread_record("msg_a", bound(10), 2_000).unwrap();
        assert_eq!(e.expires_at_ms, 2_000 + THREAD_TTL_MS);
        assert_eq!(
            p.thread_lookup("msg_a", 2_000 + THREAD_TTL_MS - 1),
            ThreadLookup::Known(e)
        );
        assert_eq!(
            p.thread_lookup("msg_a", 2_000 + THREAD_TTL_MS),
            ThreadLookup::Expired
        );
        assert_eq!(
            p.thread_lookup("msg_a", 2_000 + THREAD_TTL_MS),
            ThreadLookup::Unknown
        );
        // An earlier time counts as the latest the pool saw (1_000 here).
        let e = p.thread_record("msg_b", bound(1), 0).unwrap();
        assert_eq!(e.expires_at_ms, 1_000 + THREAD_TTL_MS);
        for i in 0..(DEFAULT_MAX_THREADS + 10) {
            p.thread_record(&format!("msg_{i:05}"), bound(1), 3_000)
                .unwrap();
        }
        assert_eq!(p.thread_count(), DEFAULT_MAX_THREADS);
        // msg_b expired first (earliest deadline): it went first, then the
        // smallest IDs of the same deadline.
        assert_eq!(p.thread_lookup("msg_b", 3_000), ThreadLookup::Unknown);
        assert_eq!(p.thread_lookup("msg_00009", 3_000), ThreadLookup::Unknown);
        assert!(matches!(
            p.thread_lookup("msg_00010", 3_000),
            ThreadLookup::Known(_)
        ));
        assert!(p
            .thread_record(&"x".repeat(MAX_THREAD_ID_BYTES + 1), bound(1), 3_000)
            .is_none());
    }

    #[test]
    fn the_book_is_not_in_the_snapshot_and_thread_ops_do_not_move_the_clock() {
        let mut p = Pool::new(PoolConfig::new(Money::from_nanos(1_000)), 1_000).unwrap();
        let r = p.apply(&PoolOp::ThreadRecord {
            message_id: "msg_a".into(),
            input_tokens: 7,
            cache_write: false,
            cache_write_1h: false,
            may_overshoot: false,
            tools: None,
            now_ms: 50_000,
        });
        assert!(matches!(r, OpResult::Thread(e) if e.input_tokens == 7));
        assert_eq!(p.state().last_now_ms, 1_000);
        let restored = Pool::restore(p.snapshot()).unwrap();
        assert_eq!(restored.thread_count(), 0);
        assert_eq!(p.thread_count(), 1);
    }
}
