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

use super::error::PoolError;
use super::ledger::LedgerEntry;
use super::snapshot::PoolSnapshot;
use crate::money::Money;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::{CycleSpec, Pool, PoolConfig};

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
}
