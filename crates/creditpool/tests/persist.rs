//! A pool kept in a directory: reopened with the same books, locked against a
//! second pool, and whole after a crash between the snapshot and the ledger.

use creditpool::core::pool::{Pool, PoolConfig as CorePoolConfig};
use creditpool::{Error, LedgerEntry, Money, PoolConfig, SharedPool};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("creditpool-persist-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn config() -> PoolConfig {
    PoolConfig::new(Money::from_nanos(1_000_000))
}

fn ledger_lines(d: &std::path::Path) -> Vec<LedgerEntry> {
    std::fs::read_to_string(d.join("ledger.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn spend(pool: &SharedPool, cost: u64) {
    let now = creditpool::time::now_ms();
    let r = pool.with(|p| p.reserve("a", Money::from_nanos(cost * 2), now)).unwrap();
    pool.with(|p| p.settle(r.id, Money::from_nanos(cost), None, now)).unwrap();
}

#[test]
fn a_reopened_pool_has_the_same_books_and_its_ledger_goes_on() {
    let d = dir("reopen");
    {
        let pool = SharedPool::open_dir(&d, config()).unwrap();
        spend(&pool, 100);
        spend(&pool, 250);
        let r = pool.with(|p| p.reserve("a", Money::from_nanos(400), creditpool::time::now_ms())).unwrap();
        assert_eq!(r.amount, Money::from_nanos(400));
    }
    let pool = SharedPool::open_dir(&d, PoolConfig::new(Money::from_nanos(5))).unwrap();
    let report = pool.report();
    assert_eq!(report.settled, Money::from_nanos(350));
    assert_eq!(report.limit, Money::from_nanos(1_000_000), "a restored pool keeps its own configuration");
    assert_eq!(pool.with(|p| p.state().reserved()), Money::from_nanos(400), "the open reservation came back");
    spend(&pool, 50);
    let seqs: Vec<u64> = ledger_lines(&d).iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_second_pool_cannot_take_a_held_directory() {
    let d = dir("lock");
    let first = SharedPool::open_dir(&d, config()).unwrap();
    let second = SharedPool::open_dir(&d, config());
    assert!(matches!(second, Err(Error::Store { .. })), "{second:?}");
    assert_eq!(second.unwrap_err().code(), "pool_store");
    drop(first);
    assert!(SharedPool::open_dir(&d, config()).is_ok(), "the lock goes with the pool");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_crash_between_the_snapshot_and_the_ledger_loses_nothing() {
    let d = dir("crash");
    std::fs::create_dir_all(&d).unwrap();
    // The state a crash leaves: the snapshot lists two settles as pending, the
    // ledger holds the first and half of the second line.
    let mut pool = Pool::new(CorePoolConfig::new(Money::from_nanos(1_000_000)), 1_000).unwrap();
    for cost in [100, 200] {
        let r = pool.reserve("a", Money::from_nanos(500), 1_000).unwrap();
        pool.settle(r.id, Money::from_nanos(cost), None, 1_000).unwrap();
    }
    std::fs::write(d.join("snapshot.json"), pool.snapshot_json()).unwrap();
    let first = pool.poll_ledger().unwrap().to_json_line();
    let second = pool.poll_ledger().unwrap().to_json_line();
    std::fs::write(d.join("ledger.jsonl"), format!("{first}{}", &second[..second.len() / 2])).unwrap();

    let shared = SharedPool::open_dir(&d, config()).unwrap();
    let lines = ledger_lines(&d);
    assert_eq!(lines.iter().map(|e| (e.seq, e.cost.nanos())).collect::<Vec<_>>(), vec![(1, 100), (2, 200)]);
    assert_eq!(shared.report().settled, Money::from_nanos(300));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_ledger_that_disagrees_with_its_snapshot_is_refused() {
    let d = dir("tampered");
    {
        let pool = SharedPool::open_dir(&d, config()).unwrap();
        spend(&pool, 100);
    }
    let text = std::fs::read_to_string(d.join("ledger.jsonl")).unwrap().replace("\"cost\":100", "\"cost\":1");
    std::fs::write(d.join("ledger.jsonl"), text).unwrap();
    let err = SharedPool::open_dir(&d, config()).unwrap_err();
    assert_eq!(err.code(), "invalid_snapshot", "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_failed_ledger_write_is_reported_and_written_later() {
    let d = dir("failing");
    let pool = SharedPool::open_dir(&d, config()).unwrap();
    let errors = Arc::new(Mutex::new(Vec::new()));
    let e = Arc::clone(&errors);
    pool.on_error(move |err| e.lock().unwrap().push(err.code().to_owned()));
    // A directory in the ledger's place makes the append fail.
    std::fs::create_dir_all(d.join("ledger.jsonl")).unwrap();
    spend(&pool, 100);
    assert_eq!(errors.lock().unwrap().first().map(String::as_str), Some("file_io"));
    // The snapshot on disk still lists the entry as pending.
    let snap: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join("snapshot.json")).unwrap()).unwrap();
    assert_eq!(snap["pending_ledger"].as_array().map(Vec::len), Some(1));
    // Written, then acknowledged: the entry is still in the pool itself (a
    // snapshot taken now holds it), and no callback has seen it yet.
    assert_eq!(pool.snapshot().pending_ledger.iter().map(|e| e.cost.nanos()).collect::<Vec<_>>(), vec![100]);
    std::fs::remove_dir(d.join("ledger.jsonl")).unwrap();
    spend(&pool, 50);
    assert_eq!(ledger_lines(&d).iter().map(|e| e.cost.nanos()).collect::<Vec<_>>(), vec![100, 50]);
    let _ = std::fs::remove_dir_all(&d);
}

/// A directory a Python pool left after a crash holds its write-ahead
/// journal (the operations since its last snapshot) beside the snapshot: the
/// Rust pool rebuilds the pool from both (the core's `recover`), so that the
/// open reservation and the settle in the journal come back, writes the
/// rebuilt snapshot and removes the journal. A torn last line (the crash cut
/// it) never happened.
#[test]
fn a_python_pools_journal_left_by_a_crash_is_replayed() {
    use creditpool::core::pool::recovery::{op_line, snapshot_marker_line, JOURNAL_FILE};
    use creditpool::core::pool::PoolOp;
    let d = dir("journal");
    std::fs::create_dir_all(&d).unwrap();
    let t0 = creditpool::time::now_ms();
    let mut pool = Pool::new(CorePoolConfig::new(Money::from_nanos(1_000_000)), t0).unwrap();
    let snapshot = serde_json::to_string(&pool.snapshot()).unwrap();
    std::fs::write(d.join("snapshot.json"), &snapshot).unwrap();
    let ops = [
        PoolOp::Reserve { agent: "a".into(), amount: Money::from_nanos(300), now_ms: t0, lease_ms: None },
        PoolOp::Reserve { agent: "a".into(), amount: Money::from_nanos(500), now_ms: t0 + 1, lease_ms: None },
        PoolOp::Settle { id: 1, cost: Money::from_nanos(120), now_ms: t0 + 2, attribution: None },
    ];
    let mut journal = snapshot_marker_line(&snapshot);
    for op in &ops {
        pool.apply(op);
        journal.push_str(&op_line(op));
    }
    // The crash cut the next operation's line short.
    journal.push_str(r#"{"op":"reserve","agent":"a","amou"#);
    std::fs::write(d.join(JOURNAL_FILE), journal).unwrap();
    let entries: Vec<LedgerEntry> = std::iter::from_fn(|| pool.poll_ledger()).collect();
    std::fs::write(d.join("ledger.jsonl"), entries.iter().map(|e| e.to_json_line()).collect::<String>()).unwrap();

    let shared = SharedPool::open_dir(&d, config()).unwrap();
    assert!(!d.join(JOURNAL_FILE).exists(), "the journal is folded into the snapshot");
    assert_eq!(shared.with(|p| (p.state().settled(), p.state().reserved())), (Money::from_nanos(120), Money::from_nanos(500)));
    // The reservation opened before the crash settles from here.
    let s = shared.with(|p| p.settle(2, Money::from_nanos(400), None, creditpool::time::now_ms())).unwrap();
    assert!(matches!(s, creditpool::core::pool::SettleOutcome::Settled(_)), "{s:?}");
    drop(shared);
    let seqs: Vec<u64> = ledger_lines(&d).iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![1, 2]);
    let again = SharedPool::open_dir(&d, config()).unwrap();
    assert_eq!(again.report().settled, Money::from_nanos(520));
    drop(again);
    let _ = std::fs::remove_dir_all(&d);
}

/// A journal that names another snapshot (an older snapshot put back) is
/// refused with a typed error, not replayed onto the wrong books.
#[test]
fn a_journal_of_another_snapshot_is_refused() {
    use creditpool::core::pool::recovery::{snapshot_marker_line, JOURNAL_FILE};
    let d = dir("journal-other");
    std::fs::create_dir_all(&d).unwrap();
    let pool = Pool::new(CorePoolConfig::new(Money::from_nanos(1_000_000)), creditpool::time::now_ms()).unwrap();
    let snapshot = serde_json::to_string(&pool.snapshot()).unwrap();
    std::fs::write(d.join("snapshot.json"), &snapshot).unwrap();
    std::fs::write(d.join(JOURNAL_FILE), snapshot_marker_line("{\"another\":1}")).unwrap();
    let e = SharedPool::open_dir(&d, config()).err().expect("refused");
    assert_eq!(e.code(), "invalid_snapshot", "{e}");
    assert!(d.join(JOURNAL_FILE).exists(), "nothing is removed from a directory that was refused");
    let _ = std::fs::remove_dir_all(&d);
}
