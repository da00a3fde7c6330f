//! Crash tests: a process settling as fast as it can on a pool kept in a
//! directory (`SharedPool::open_dir`) is killed with SIGKILL at varying
//! points, eight times over the same directory. Each time the books must
//! reopen consistent: the ledger's `seq` contiguous from 1, its costs summing
//! to the pool's settled, every settle the dead process saw return still
//! there. A refusal (even a typed one) fails the test, since the next round
//! goes on from the reopened books.
//!
//! The settling process is this test binary run again with
//! `CREDITPOOL_CRASH_DIR` set, on the test `settler_child` (which does
//! nothing otherwise).
#![cfg(unix)]
#![allow(clippy::print_stdout)]

use creditpool::{LedgerEntry, Money, PoolConfig, SharedPool};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const CHILD_ENV: &str = "CREDITPOOL_CRASH_DIR";

/// The settling process's body: reserve, then settle (or, one time in seven,
/// release), and print `settled N` once the operation returned.
#[test]
fn settler_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else { return };
    let pool = SharedPool::open_dir(PathBuf::from(dir), PoolConfig::new(Money::from_nanos(1_000_000_000_000_000))).expect("open the directory");
    pool.on_error(|e| panic!("a write failed: {e}"));
    let mut out = std::io::stdout().lock();
    for i in 1u64.. {
        let now = creditpool::time::now_ms();
        let r = pool.with(|p| p.reserve("a", Money::from_nanos(5_000), now)).expect("reserve");
        if i % 7 == 0 {
            pool.with(|p| p.release(r.id, now)).expect("release");
        } else {
            pool.with(|p| p.settle(r.id, Money::from_nanos(1 + (i * 37) % 4_000), None, now)).expect("settle");
        }
        let settled = pool.with(|p| p.state().settled());
        writeln!(out, "settled {i} {}", settled.nanos()).unwrap();
        out.flush().unwrap();
    }
}

fn ledger(dir: &Path) -> Vec<LedgerEntry> {
    match std::fs::read_to_string(dir.join("ledger.jsonl")) {
        Ok(text) => text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a ledger line that is not an entry ({e}): {l}"))).collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn kill_9_in_the_middle_of_settles_leaves_consistent_books() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("creditpool-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let exe = std::env::current_exe().unwrap();
    for (round, kill_after) in [1u64, 3, 17, 40, 5, 90, 2, 150].into_iter().enumerate() {
        let mut child = Command::new(&exe)
            .args(["--exact", "settler_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the settler");
        let (mut seen, mut last_settled) = (0u64, 0u64);
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            let Some(rest) = line.strip_prefix("settled ") else { continue };
            let mut parts = rest.split(' ').map(|x| x.parse::<u64>().unwrap());
            (seen, last_settled) = (parts.next().unwrap(), parts.next().unwrap());
            if seen >= kill_after {
                break;
            }
        }
        assert!(seen >= kill_after, "round {round}: the settler stopped after {seen} operations");
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(!status.success(), "round {round}: the settler ended by itself");
        let pool = match SharedPool::open_dir(&dir, PoolConfig::new(Money::from_nanos(1))) {
            Ok(pool) => pool,
            Err(e) => panic!("round {round}: the books were refused after a kill -9 ({}: {e})", e.code()),
        };
        let entries = ledger(&dir);
        let seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=entries.len() as u64).collect::<Vec<_>>(), "round {round}: the ledger's seq has a gap");
        let state = pool.with(|p| p.state().clone());
        let total: Money = entries.iter().map(|e| e.cost).sum();
        assert_eq!(total, state.settled(), "round {round}: the ledger and the snapshot disagree");
        assert!(state.settled().nanos() >= last_settled, "round {round}: a settle that returned ({last_settled}) was lost ({})", state.settled());
        assert_eq!(pool.report().limit, Money::from_nanos(1_000_000_000_000_000), "round {round}: the books were not restored");
        drop(pool);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
