//! Stress: 8 threads share one pool behind a mutex and reserve, settle and
//! release as fast as they can. Afterwards the books must balance exactly.

use creditpool_core::pool::{LedgerKind, OpResult, Pool, PoolConfig, PoolOp, Refusal, SettleOutcome};
use creditpool_core::Money;
use std::sync::{Arc, Mutex};

const THREADS: u64 = 8;
const ROUNDS: u64 = 5_000;
const LIMIT: u64 = 2_000_000;

#[test]
fn eight_threads_share_one_pool() {
    let mut config = PoolConfig::new(Money::from_nanos(LIMIT));
    config.lease_ms = u64::MAX / 4;
    let pool = Arc::new(Mutex::new(Pool::new(config, 1).unwrap()));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                let agent = format!("agent-{t}");
                let (mut spent, mut granted, mut refused, mut ledger_cost) = (0u64, 0u64, 0u64, 0u64);
                let mut held: Vec<(u64, u64)> = Vec::new();
                // A small deterministic generator per thread.
                let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ t;
                let mut next = move || {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x
                };
                for round in 0..ROUNDS {
                    let r = next();
                    let mut p = pool.lock().unwrap();
                    // The clock is shared and only moves forward.
                    let now = 1 + round;
                    if round % 100 == 99 {
                        // Scale up while agents run.
                        let raised = p.state().limit().nanos() + 25_000;
                        p.set_limit(Money::from_nanos(raised), now).unwrap();
                    }
                    if r % 3 != 0 || held.is_empty() {
                        match p.reserve(&agent, Money::from_nanos(r % 2_000), now) {
                            Ok(res) => {
                                granted += 1;
                                held.push((res.id, res.amount.nanos()));
                            }
                            Err(Refusal::PoolExhausted { .. }) => refused += 1,
                            Err(other) => panic!("unexpected refusal {other:?}"),
                        }
                    } else {
                        let (id, amount) = held.swap_remove((r as usize / 3) % held.len());
                        if r % 2 == 0 {
                            let cost = amount / 2;
                            match p.settle(id, Money::from_nanos(cost), None, now).unwrap() {
                                SettleOutcome::Settled(s) => spent += s.cost.nanos(),
                                SettleOutcome::Duplicate { .. } => panic!("duplicate settle of {id}"),
                            }
                            // A repeat is harmless.
                            assert!(matches!(p.apply(&PoolOp::Settle { id, cost: Money::from_nanos(cost), now_ms: now, attribution: None }), OpResult::Duplicate { .. }));
                        } else {
                            p.release(id, now).unwrap();
                        }
                    }
                    let s = p.state();
                    assert!(s.committed() <= s.limit(), "overshoot: {} > {}", s.committed(), s.limit());
                    while let Some(e) = p.poll_ledger() {
                        if e.kind == LedgerKind::Settle {
                            ledger_cost += e.cost.nanos();
                        }
                    }
                    while p.poll_event().is_some() {}
                }
                (spent, granted, refused, ledger_cost, held)
            })
        })
        .collect();
    let mut spent = 0;
    let mut ledger = 0;
    let mut still_held = 0;
    let mut granted = 0;
    let mut refused = 0;
    for h in handles {
        let (s, g, r, l, held) = h.join().unwrap();
        refused += r;
        spent += s;
        ledger += l;
        granted += g;
        still_held += held.iter().map(|(_, a)| a).sum::<u64>();
    }
    let p = pool.lock().unwrap();
    let s = p.state();
    // Both paths ran under contention.
    assert!(granted > 1_000 && refused > 1_000, "granted {granted}, refused {refused}");
    assert_eq!(s.limit().nanos(), LIMIT + THREADS * (ROUNDS / 100) * 25_000);
    assert_eq!(s.settled().nanos(), spent);
    assert_eq!(ledger, spent);
    assert_eq!(s.reserved().nanos(), still_held);
    assert_eq!(s.open_count() as u64, s.open_reservations().len() as u64);
    assert!(s.committed() <= s.limit());
    assert_eq!(s.agents().iter().map(|a| a.settled.nanos()).sum::<u64>(), spent);
}
