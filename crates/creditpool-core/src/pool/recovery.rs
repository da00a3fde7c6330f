//! Reopening a persisted pool: joining its snapshot with its ledger file.
//!
//! A pool kept in a directory writes its snapshot (which holds the ledger
//! entries not yet handed out, `pending_ledger`) after every change, then
//! appends the new ledger entries to a JSON Lines file. A crash between the two
//! leaves entries in the snapshot that the file lacks, or in the file that the
//! snapshot still lists as pending. [`check_ledger`] is the one rule every
//! binding applies when it reopens such a directory:
//!
//! * the file's entries are numbered 1, 2, 3, ... without a gap;
//! * the file reaches at least the entry before the snapshot's first pending
//!   one (nothing is missing between them) and never beyond the snapshot's last
//!   entry (the snapshot is not older than the ledger);
//! * what the file and the pending entries settle in the snapshot's cycle is
//!   the snapshot's `settled`.
//!
//! It answers the last `seq` the file holds: append the pending entries after
//! it, and skip those at or before it.
//!
//! # The journal: a write-ahead log between snapshots
//!
//! Rewriting the snapshot after every operation costs a file rename per
//! operation. A host may instead append each operation that can change the
//! pool ([`is_journaled`]: all but `report`) to a journal, [`JOURNAL_FILE`],
//! as the core's own [`PoolOp`] JSON ([`op_line`]), and rewrite the snapshot
//! only now and then ([`DEFAULT_SNAPSHOT_EVERY_OPS`],
//! [`DEFAULT_SNAPSHOT_EVERY_MS`], and when it closes). Operations are
//! deterministic, so [`recover`] rebuilds the exact pool: the snapshot, then
//! every operation journaled after it, applied in order. Reservations are
//! journaled too: a reservation open at a crash comes back open (its request
//! may have been billed; it is settled or expires by the pool's rules, never
//! forgotten).
//!
//! Besides operations, the journal holds *markers* ([`snapshot_marker_line`]:
//! `{"journal": 1, "snapshot": "<hex SHA-256 of the snapshot's bytes>"}`). The
//! journal's first line is the marker of the snapshot it follows. Writing a new
//! snapshot goes: write and sync every pending line, append the new
//! snapshot's marker (synced), replace the snapshot, then start a new journal
//! with that marker alone (or remove the journal when the pool closes). A crash
//! at any point leaves a journal in which the last marker naming the snapshot
//! on disk is followed by exactly the operations the snapshot lacks; a journal
//! with no marker naming the snapshot (an older snapshot put back, or another
//! pool's) is refused. The host appends an operation's journal line before its
//! ledger lines, so the ledger file is never ahead of the journal; its lines
//! after the snapshot are checked against the entries the replay makes again
//! (they must be equal), and those it lacks are appended. A last line cut
//! short by a crash (no newline) is an operation that never completed: it is
//! dropped.

use super::error::PoolError;
use super::ledger::LedgerEntry;
use super::ops::PoolOp;
use super::snapshot::PoolSnapshot;
use super::Pool;
use crate::money::Money;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What [`check_ledger`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LedgerJoin {
    /// The last `seq` in the file (0 for an empty file): pending entries with a
    /// higher `seq` still have to be appended.
    pub last_seq_in_file: u64,
    /// How many of the snapshot's pending entries the file lacks.
    pub to_append: usize,
}

fn refuse(reason: String) -> PoolError {
    PoolError::InvalidSnapshot { reason }
}

/// Checks a ledger file's entries (in file order) against the snapshot of the
/// same pool; see the module documentation.
pub fn check_ledger(snapshot: &PoolSnapshot, file: &[LedgerEntry]) -> Result<LedgerJoin, PoolError> {
    for (i, e) in file.iter().enumerate() {
        let want = i as u64 + 1;
        if e.seq != want {
            return Err(refuse(format!("the ledger's entry {} has seq {}, expected {want} (entries are missing or repeated)", i + 1, e.seq)));
        }
    }
    let disk = file.len() as u64;
    let last_in_snapshot = snapshot.state.next_ledger_seq.saturating_sub(1);
    if disk > last_in_snapshot {
        return Err(refuse(format!("the ledger holds entries up to seq {disk}, the snapshot only up to {last_in_snapshot}: the snapshot is older than the ledger")));
    }
    let first_pending = snapshot.pending_ledger.first().map_or(last_in_snapshot + 1, |e| e.seq);
    if disk.saturating_add(1) < first_pending {
        return Err(refuse(format!("the ledger ends at seq {disk} and the snapshot's pending entries start at {first_pending}: entries {} to {} are missing", disk + 1, first_pending - 1)));
    }
    let cycle = snapshot.state.cycle.start_ms;
    let appended = snapshot.pending_ledger.iter().filter(|e| e.seq > disk);
    let settled = file.iter().chain(appended.clone()).filter(|e| e.cycle_start_ms == cycle).try_fold(Money::ZERO, |sum, e| sum.checked_add(e.cost));
    if settled != Some(snapshot.state.settled) {
        return Err(refuse(format!(
            "the ledger settles {} in the current cycle but the snapshot says {}: the snapshot and the ledger disagree",
            settled.map_or_else(|| "more than can be counted".to_owned(), |m| m.nanos().to_string()),
            snapshot.state.settled.nanos()
        )));
    }
    Ok(LedgerJoin { last_seq_in_file: disk, to_append: appended.count() })
}

/// The journal's file name in a pool's directory (JSON Lines).
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// The journal format's version (in every marker line).
pub const JOURNAL_VERSION: u64 = 1;

/// A host writes a new snapshot after at most this many journaled operations.
pub const DEFAULT_SNAPSHOT_EVERY_OPS: u64 = 10_000;

/// A host writes a new snapshot when an operation comes this long (ms) after
/// the last snapshot.
pub const DEFAULT_SNAPSHOT_EVERY_MS: u64 = 1_000;

/// Whether a host journals this operation: every one that can change the
/// pool, that is all but `report` (an operation that changes nothing replays
/// as the same nothing).
pub fn is_journaled(op: &PoolOp) -> bool {
    !matches!(op, PoolOp::Report { .. })
}

/// An operation as one journal line (the core's [`PoolOp`] JSON), ending in `\n`.
pub fn op_line(op: &PoolOp) -> String {
    let mut s = serde_json::to_string(op).unwrap_or_default();
    s.push('\n');
    s
}

/// A snapshot's digest as the journal names it: the hex SHA-256 of its bytes,
/// exactly as written.
pub fn snapshot_digest(snapshot_json: &str) -> String {
    Sha256::digest(snapshot_json.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A marker line: the journal's operations after it follow this snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalMarker {
    /// [`JOURNAL_VERSION`].
    pub journal: u64,
    /// [`snapshot_digest`] of the snapshot.
    pub snapshot: String,
}

/// The marker line of a snapshot (its JSON as written), ending in `\n`.
pub fn snapshot_marker_line(snapshot_json: &str) -> String {
    let mut s = serde_json::to_string(&JournalMarker { journal: JOURNAL_VERSION, snapshot: snapshot_digest(snapshot_json) }).unwrap_or_default();
    s.push('\n');
    s
}

/// One journal line, read back.
#[derive(Clone, Debug, PartialEq)]
pub enum JournalLine {
    /// An operation.
    Op(Box<PoolOp>),
    /// A snapshot marker.
    Marker(JournalMarker),
}

/// Reads one journal line (without its newline).
pub fn parse_journal_line(line: &[u8]) -> Result<JournalLine, String> {
    let v: serde_json::Value = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    if v.get("op").is_some() {
        return serde_json::from_value(v).map(|op| JournalLine::Op(Box::new(op))).map_err(|e| e.to_string());
    }
    let m: JournalMarker = serde_json::from_value(v).map_err(|e| e.to_string())?;
    if m.journal != JOURNAL_VERSION {
        return Err(format!("journal version {} (this build reads {JOURNAL_VERSION})", m.journal));
    }
    Ok(JournalLine::Marker(m))
}

/// What [`recover`] rebuilt.
#[derive(Debug)]
pub struct Recovery {
    /// The pool: the snapshot with the journal's operations after it applied.
    /// Its pending ledger entries include those the replay made again.
    pub pool: Pool,
    /// How many operations were replayed.
    pub replayed: usize,
    /// How many bytes of the journal are whole lines (a last line cut short
    /// by a crash is not): cut the file to this length.
    pub journal_len: usize,
    /// The ledger file against the rebuilt pool ([`check_ledger`]): append
    /// the pool's pending entries after `last_seq_in_file`.
    pub ledger: LedgerJoin,
}

/// Rebuilds a pool kept in a directory from its snapshot (its JSON, as on
/// disk), its journal (the file's bytes; empty when there is none) and its
/// ledger file's entries (in file order; see the module documentation).
/// Refuses, with [`PoolError::InvalidSnapshot`], a journal line that is not
/// an operation or a marker, a journal with no marker naming this snapshot,
/// and a ledger file that disagrees with the rebuilt pool.
pub fn recover(snapshot_json: &str, journal: &[u8], file: &[LedgerEntry]) -> Result<Recovery, PoolError> {
    let mut pool = Pool::restore_json(snapshot_json)?;
    let journal_len = journal.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let mut lines = Vec::new();
    for (n, raw) in journal[..journal_len].split(|b| *b == b'\n').enumerate() {
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let line = parse_journal_line(raw).map_err(|e| refuse(format!("the journal's line {} is not an operation or a snapshot marker ({e})", n + 1)))?;
        lines.push(line);
    }
    let mut replayed = 0;
    if !lines.is_empty() {
        if !matches!(lines.first(), Some(JournalLine::Marker(_))) {
            return Err(refuse("the journal does not begin with the marker of the snapshot it follows".to_owned()));
        }
        let digest = snapshot_digest(snapshot_json);
        let start = lines
            .iter()
            .rposition(|l| matches!(l, JournalLine::Marker(m) if m.snapshot == digest))
            .ok_or_else(|| refuse("the journal does not follow this snapshot (no marker names it): the snapshot is older than the journal, or another pool's".to_owned()))?;
        for line in &lines[start + 1..] {
            if let JournalLine::Op(op) = line {
                let _ = pool.apply(op);
                replayed += 1;
            }
        }
    }
    let snapshot = pool.snapshot();
    let ledger = check_ledger(&snapshot, file)?;
    for e in &snapshot.pending_ledger {
        if let Some(on_file) = file.get((e.seq as usize).wrapping_sub(1)) {
            if on_file != e {
                return Err(refuse(format!("the ledger's entry {} differs from the one the journal's operations make: the ledger and the journal disagree", e.seq)));
            }
        }
    }
    Ok(Recovery { pool, replayed, journal_len, ledger })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::{CycleSpec, Pool, PoolConfig, PoolOp};

    fn m(n: u64) -> Money {
        Money::from_nanos(n)
    }

    /// A pool with three ledger entries, all still pending in its snapshot.
    fn pool() -> Pool {
        let mut c = PoolConfig::new(m(10_000));
        c.cycle = CycleSpec::Fixed { start_ms: 0, length_ms: 1_000_000 };
        let mut p = Pool::new(c, 0).unwrap();
        for (i, cost) in [100, 250, 0].into_iter().enumerate() {
            let r = p.reserve("a", m(300), i as u64).unwrap();
            if cost == 0 {
                p.release(r.id, i as u64).unwrap();
            } else {
                p.settle(r.id, m(cost), None, i as u64).unwrap();
            }
        }
        p
    }

    #[test]
    fn a_file_behind_its_snapshot_appends_the_rest() {
        let p = pool();
        let snap = p.snapshot();
        let file: Vec<LedgerEntry> = snap.pending_ledger[..1].to_vec();
        assert_eq!(check_ledger(&snap, &file), Ok(LedgerJoin { last_seq_in_file: 1, to_append: 2 }));
        assert_eq!(check_ledger(&snap, &[]), Ok(LedgerJoin { last_seq_in_file: 0, to_append: 3 }));
        assert_eq!(check_ledger(&snap, &snap.pending_ledger), Ok(LedgerJoin { last_seq_in_file: 3, to_append: 0 }));
    }

    #[test]
    fn gaps_a_newer_ledger_and_a_tampered_cost_are_refused() {
        let mut p = pool();
        let entries: Vec<LedgerEntry> = std::iter::from_fn(|| p.poll_ledger()).collect();
        let snap = p.snapshot();
        assert!(snap.pending_ledger.is_empty());
        assert!(check_ledger(&snap, &entries).is_ok());
        let gap = vec![entries[0].clone(), entries[2].clone()];
        assert!(matches!(check_ledger(&snap, &gap), Err(PoolError::InvalidSnapshot { reason }) if reason.contains("missing or repeated")));
        assert!(matches!(check_ledger(&snap, &entries[..2]), Err(PoolError::InvalidSnapshot { reason }) if reason.contains("missing")));
        let mut tampered = entries.clone();
        tampered[1].cost = m(1);
        assert!(matches!(check_ledger(&snap, &tampered), Err(PoolError::InvalidSnapshot { reason }) if reason.contains("disagree")));
        let old = Pool::new(p.config().clone(), 0).unwrap().snapshot();
        assert!(matches!(check_ledger(&old, &entries), Err(PoolError::InvalidSnapshot { reason }) if reason.contains("older than the ledger")));
    }

    /// A host's journal: the snapshot at `at`, its marker, then `ops`.
    fn journaled(ops: &[PoolOp]) -> (String, Vec<u8>, Pool) {
        let mut c = PoolConfig::new(m(10_000));
        c.cycle = CycleSpec::Fixed { start_ms: 0, length_ms: 1_000_000 };
        let mut live = Pool::new(c, 0).unwrap();
        let snap = live.snapshot_json();
        let mut journal = snapshot_marker_line(&snap).into_bytes();
        for op in ops {
            let _ = live.apply(op);
            journal.extend_from_slice(op_line(op).as_bytes());
        }
        (snap, journal, live)
    }

    fn ops() -> Vec<PoolOp> {
        vec![
            PoolOp::Reserve { agent: "a".into(), amount: m(300), now_ms: 1, lease_ms: None },
            PoolOp::Reserve { agent: "b".into(), amount: m(500), now_ms: 2, lease_ms: None },
            PoolOp::Settle { id: 1, cost: m(120), now_ms: 3, attribution: None },
            PoolOp::Extend { id: 2, lease_ms: 900_000, now_ms: 4 },
            PoolOp::Report { now_ms: 5 },
        ]
    }

    #[test]
    fn replaying_the_journal_rebuilds_the_pool_with_its_open_reservations() {
        let (snap, journal, mut live) = journaled(&ops());
        let r = recover(&snap, &journal, &[]).unwrap();
        assert_eq!(r.replayed, 5);
        assert_eq!(r.journal_len, journal.len());
        assert_eq!(r.pool.snapshot_json(), live.snapshot_json(), "the same pool, byte for byte");
        assert_eq!(r.ledger, LedgerJoin { last_seq_in_file: 0, to_append: 1 });
        // The reservation open at the crash is still open, with its extended lease.
        assert_eq!(r.pool.state().reserved(), m(500));
        // The file already holding the settle's entry: nothing to append.
        let written: Vec<LedgerEntry> = std::iter::from_fn(|| live.poll_ledger()).collect();
        let r = recover(&snap, &journal, &written).unwrap();
        assert_eq!(r.ledger, LedgerJoin { last_seq_in_file: 1, to_append: 0 });
    }

    #[test]
    fn a_torn_last_line_is_an_operation_that_never_completed() {
        let (snap, mut journal, _) = journaled(&ops()[..2]);
        let whole = journal.len();
        let torn = op_line(&ops()[2]);
        journal.extend_from_slice(&torn.as_bytes()[..torn.len() / 2]);
        let r = recover(&snap, &journal, &[]).unwrap();
        assert_eq!((r.replayed, r.journal_len), (2, whole));
        assert_eq!(r.pool.state().settled(), Money::ZERO);
        assert_eq!(r.pool.state().reserved(), m(800));
    }

    #[test]
    fn the_last_marker_naming_the_snapshot_starts_the_replay() {
        // A crash after the new snapshot replaced the old one but before the
        // new journal replaced the old: its marker ends the old journal.
        let (_, mut journal, live) = journaled(&ops());
        let newer = live.snapshot_json();
        journal.extend_from_slice(snapshot_marker_line(&newer).as_bytes());
        let r = recover(&newer, &journal, &[]).unwrap();
        assert_eq!(r.replayed, 0);
        assert_eq!(r.pool.snapshot_json(), newer);
        // Operations after that marker (the new journal could not be started) replay.
        let more = PoolOp::Release { id: 2, now_ms: 6 };
        journal.extend_from_slice(op_line(&more).as_bytes());
        let r = recover(&newer, &journal, &[]).unwrap();
        assert_eq!(r.replayed, 1);
        assert_eq!(r.pool.state().reserved(), Money::ZERO);
    }

    #[test]
    fn a_snapshot_the_journal_does_not_follow_is_refused() {
        let (snap, journal, live) = journaled(&ops());
        // An older snapshot put back over a journal begun after a newer one.
        let newer = live.snapshot_json();
        let mut after_newer = snapshot_marker_line(&newer).into_bytes();
        after_newer.extend_from_slice(op_line(&PoolOp::Release { id: 2, now_ms: 6 }).as_bytes());
        let err = recover(&snap, &after_newer, &[]).unwrap_err();
        assert!(matches!(&err, PoolError::InvalidSnapshot { reason } if reason.contains("does not follow this snapshot")), "{err:?}");
        // A journal that does not begin with a marker, and a line that is neither.
        let headless = &journal[journal.iter().position(|b| *b == b'\n').unwrap() + 1..];
        assert!(matches!(recover(&snap, headless, &[]), Err(PoolError::InvalidSnapshot { reason }) if reason.contains("does not begin")));
        let mut garbled = journal.clone();
        garbled.extend_from_slice(b"{\"op\":\"explode\"}\n");
        assert!(matches!(recover(&snap, &garbled, &[]), Err(PoolError::InvalidSnapshot { reason }) if reason.contains("line 7")));
    }

    #[test]
    fn a_ledger_line_the_replay_does_not_make_is_refused() {
        let (snap, journal, mut live) = journaled(&ops());
        let written: Vec<LedgerEntry> = std::iter::from_fn(|| live.poll_ledger()).collect();
        // A line changed where no sum can see it: another request ID.
        let mut other = written.clone();
        other[0].request_id = Some("req_other".into());
        assert!(matches!(recover(&snap, &journal, &other), Err(PoolError::InvalidSnapshot { reason }) if reason.contains("differs")));
        // A ledger ahead of the journal (the settle's operation was lost): refused.
        let (snap2, journal2, _) = journaled(&ops()[..2]);
        assert!(matches!(recover(&snap2, &journal2, &written), Err(PoolError::InvalidSnapshot { reason }) if reason.contains("older than the ledger")));
    }
}
