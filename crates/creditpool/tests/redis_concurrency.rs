//! Many concurrent clients (each its own connection, as separate workers
//! would be) hammer one Redis pool with a small limit through the
//! `PoolStore` seam, on the server's clock: committed spend (settled plus
//! reserved) never exceeds the limit at any sampled moment, every grant is
//! closed exactly once, the ledger adds up to the settled total, and each
//! threshold reached fired exactly once.

mod redis_common;

use creditpool::core::pool::{LedgerKind, OpResult, PoolOp};
use creditpool::core::redis::RedisValue;
use creditpool::redis::RedisPool;
use creditpool::{Money, PoolConfig, PoolStore};
use redis_common::{unique, RedisServer};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

const LIMIT: u64 = 10_000;

async fn committed(pool: &RedisPool) -> u64 {
    let key = pool.ops().keys().state().to_owned();
    let v = pool.command(&[b"HMGET".to_vec(), key.into_bytes(), b"settled".to_vec(), b"reserved".to_vec()]).await.unwrap();
    let RedisValue::Array(items) = v else { panic!("{v:?}") };
    items.iter().map(|i| if i == &RedisValue::Nil { 0 } else { i.as_u64().unwrap() }).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_clients_never_commit_past_the_limit() {
    let server = RedisServer::start();
    let url = server.url();
    let name = unique("fleet");
    let mut config = PoolConfig::new(Money::from_nanos(LIMIT));
    config.alerts.thresholds_pct = vec![50, 100];
    let first = RedisPool::connect(&url, &name, config.clone()).await.unwrap();
    let granted = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        let pool = RedisPool::connect(&url, &name, config.clone()).await.unwrap();
        tokio::spawn(async move {
            let (mut samples, mut max) = (0u64, 0u64);
            while !done.load(Ordering::Relaxed) {
                let c = committed(&pool).await;
                max = max.max(c);
                samples += 1;
                tokio::task::yield_now().await;
            }
            (samples, max)
        })
    };
    let mut workers = Vec::new();
    for w in 0..16u64 {
        let pool = Arc::new(RedisPool::connect(&url, &name, config.clone()).await.unwrap());
        let (granted, refused) = (granted.clone(), refused.clone());
        workers.push(tokio::spawn(async move {
            for i in 0..60u64 {
                let amount = 300 + (w * 37 + i * 11) % 700;
                let r = pool.apply(PoolOp::Reserve { agent: format!("w{}", w % 4), amount: Money::from_nanos(amount), now_ms: 0, lease_ms: None }).await.unwrap();
                match r {
                    OpResult::Reserved(res) => {
                        granted.fetch_add(1, Ordering::Relaxed);
                        tokio::task::yield_now().await;
                        let op = if i % 5 == 0 {
                            PoolOp::Release { id: res.id, now_ms: 0 }
                        } else {
                            PoolOp::Settle { id: res.id, cost: Money::from_nanos(amount / 50), now_ms: 0, attribution: None }
                        };
                        let closed = pool.apply(op.clone()).await.unwrap();
                        assert!(matches!(closed, OpResult::Settled(_) | OpResult::Released(_)), "{closed:?}");
                        // A repeated close changes nothing.
                        assert_eq!(pool.apply(op).await.unwrap(), OpResult::Duplicate { id: res.id });
                    }
                    OpResult::Refused(_) => {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                    other => panic!("{other:?}"),
                }
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let (samples, max) = sampler.await.unwrap();
    assert!(samples > 0);
    assert!(max <= LIMIT, "committed reached {max} > {LIMIT}");
    let granted = granted.load(Ordering::Relaxed);
    assert!(granted > 0 && refused.load(Ordering::Relaxed) > 0, "the limit must bind: granted {granted}");
    let ledger = first.ledger("-", 1_000_000).await.unwrap();
    assert_eq!(ledger.len() as u64, granted, "one ledger entry per grant");
    let seqs: Vec<u64> = ledger.iter().map(|(_, e)| e.seq).collect();
    assert_eq!(seqs, (1..=granted).collect::<Vec<_>>(), "ledger seq numbers are gapless");
    let settled: u64 = ledger.iter().filter(|(_, e)| e.kind == LedgerKind::Settle).map(|(_, e)| e.cost.nanos()).sum();
    let OpResult::Report(r) = first.apply(PoolOp::Report { now_ms: 0 }).await.unwrap() else { panic!() };
    assert_eq!(r.settled.nanos(), settled);
    assert_eq!(r.reserved, Money::ZERO);
    assert!(committed(&first).await <= LIMIT);
    // Each threshold the spend reached fired once, whichever worker moved it.
    let keys: Vec<String> = first.alerts_after("-", 100).await.unwrap().into_iter().map(|(_, a)| a.idempotency_key()).collect();
    let unique_keys: std::collections::BTreeSet<&String> = keys.iter().collect();
    assert_eq!(unique_keys.len(), keys.len(), "an alert fired twice: {keys:?}");
    let reached = [50u64, 100].iter().filter(|p| settled * 100 >= *p * LIMIT).count();
    assert_eq!(keys.len(), reached, "{keys:?} for settled {settled}");
}
