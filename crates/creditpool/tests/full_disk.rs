//! Issue 10 item 4 (Rust) and the proof's full-disk crash test: a pool kept
//! in a directory whose ledger file is a link to `/dev/full` (every write
//! fails with ENOSPC, for real). A settle whose ledger append fails is
//! answered as a typed error (`SharedPool::try_apply_op`, the path agents
//! use through `PoolStore`), stays applied in memory and in the snapshot's
//! pending entries; while the disk stays full a reserve is refused before it
//! is applied (the core's `PoolOp::applies_while_unwritten`); the books lose
//! nothing, whether the disk frees up while the process lives or the process
//! dies first.
#![cfg(target_os = "linux")]

use creditpool::core::pool::{OpResult, PoolOp};
use creditpool::{LedgerEntry, Money, PoolConfig, PoolStore, SharedPool};
use std::path::{Path, PathBuf};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("creditpool-full-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn ledger(dir: &Path) -> Vec<LedgerEntry> {
    std::fs::read_to_string(dir.join("ledger.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Makes `ledger.jsonl` a link to `/dev/full`; the real file is kept aside.
fn fill_disk(dir: &Path) {
    std::fs::rename(dir.join("ledger.jsonl"), dir.join("ledger.real")).unwrap();
    std::os::unix::fs::symlink("/dev/full", dir.join("ledger.jsonl")).unwrap();
}

fn free_disk(dir: &Path) {
    std::fs::remove_file(dir.join("ledger.jsonl")).unwrap();
    std::fs::rename(dir.join("ledger.real"), dir.join("ledger.jsonl")).unwrap();
}

fn reserve(amount: u64) -> PoolOp {
    PoolOp::Reserve { agent: "a".into(), amount: Money::from_nanos(amount), now_ms: creditpool::time::now_ms(), lease_ms: None }
}

fn settle(id: u64, cost: u64) -> PoolOp {
    PoolOp::Settle { id, cost: Money::from_nanos(cost), now_ms: creditpool::time::now_ms(), attribution: None }
}

fn reserved_id(r: OpResult) -> u64 {
    match r {
        OpResult::Reserved(r) => r.id,
        other => panic!("not reserved: {other:?}"),
    }
}

fn limit() -> PoolConfig {
    PoolConfig::new(Money::from_nanos(1_000_000))
}

#[tokio::test]
async fn a_settle_on_a_full_disk_fails_typed_and_no_reserve_is_admitted_until_it_is_written() {
    let d = dir("live");
    let pool = SharedPool::open_dir(&d, limit()).unwrap();
    let r1 = reserved_id(pool.try_apply_op(&reserve(100)).unwrap());
    pool.try_apply_op(&settle(r1, 70)).unwrap();
    let r2 = reserved_id(pool.try_apply_op(&reserve(100)).unwrap());

    fill_disk(&d);
    let err = pool.apply(settle(r2, 90)).await.unwrap_err();
    assert_eq!(err.code(), "file_io", "{err}");
    assert!(err.to_string().contains("space"), "{err}");
    // The settle happened (the spend is never dropped); its entry is pending.
    let snap = pool.snapshot();
    assert_eq!(snap.state.settled, Money::from_nanos(160));
    assert_eq!(snap.pending_ledger.len(), 1);
    // While the ledger cannot be written, no new spend is admitted.
    let next = snap.state.next_reservation_id;
    let err = pool.try_apply_op(&reserve(100)).unwrap_err();
    assert_eq!(err.code(), "file_io");
    assert!(pool.try_with(|p| p.reserve("a", Money::from_nanos(1), creditpool::time::now_ms())).is_err());
    assert_eq!(pool.snapshot().state.next_reservation_id, next, "a reserve was applied on books that cannot be kept");
    // A second settle of the same reservation is a duplicate, not a second charge.
    assert!(pool.try_apply_op(&settle(r2, 90)).is_err());
    assert_eq!(pool.snapshot().state.settled, Money::from_nanos(160));

    // Room again: the next operation writes the pending entry first.
    free_disk(&d);
    let r3 = reserved_id(pool.try_apply_op(&reserve(100)).unwrap());
    pool.try_apply_op(&settle(r3, 5)).unwrap();
    drop(pool);
    let entries = ledger(&d);
    assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(entries.iter().map(|e| e.cost.nanos()).collect::<Vec<_>>(), vec![70, 90, 5]);
    let reopened = SharedPool::open_dir(&d, limit()).unwrap();
    assert_eq!(reopened.report().settled, Money::from_nanos(165));
    let _ = std::fs::remove_dir_all(&d);
}

#[tokio::test]
async fn a_process_that_dies_on_a_full_disk_loses_no_settle() {
    let d = dir("dies");
    let pool = SharedPool::open_dir(&d, limit()).unwrap();
    let r0 = reserved_id(pool.try_apply_op(&reserve(100)).unwrap());
    pool.try_apply_op(&settle(r0, 70)).unwrap();
    let r1 = reserved_id(pool.try_apply_op(&reserve(100)).unwrap());
    fill_disk(&d);
    assert!(pool.try_apply_op(&settle(r1, 80)).is_err());
    // The process ends here (no further write); the disk is freed later.
    drop(pool);
    // Reopening while the ledger is still /dev/full is refused with a typed
    // error (reading it would never end), not an endless read.
    let err = SharedPool::open_dir(&d, limit()).unwrap_err();
    assert_eq!(err.code(), "pool_store", "{err}");
    free_disk(&d);
    let pool = SharedPool::open_dir(&d, limit()).unwrap();
    assert_eq!(pool.report().settled, Money::from_nanos(150), "the settle of the dead process was lost");
    let entries = ledger(&d);
    assert_eq!(entries.iter().map(|e| (e.seq, e.cost.nanos())).collect::<Vec<_>>(), vec![(1, 70), (2, 80)]);
    let _ = std::fs::remove_dir_all(&d);
}
