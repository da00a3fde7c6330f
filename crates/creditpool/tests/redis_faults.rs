//! Faults and the edges of a Redis pool, each against a real redis-server:
//! a restart with AOF, a flushed script cache, a reserve retried after its
//! connection dropped, a lease that ends, a conflicting configuration, fair
//! share, the alerts' consumer group, and the script's SHA1.

mod redis_common;

use creditpool::core::pool::{LedgerKind, OpResult, PoolOp};
use creditpool::core::redis::{eval_script, eval_sha, RedisValue, FUNCTION};
use creditpool::redis::{RedisJoin, RedisOptions, RedisPool, RedisScriptMode};
use creditpool::{Agent, Client, Money, PoolConfig, PoolStore};
use redis_common::{unique, RedisServer};
use std::sync::Arc;
use std::time::Duration;

fn reserve(agent: &str, amount: u64) -> PoolOp {
    PoolOp::Reserve { agent: agent.into(), amount: Money::from_nanos(amount), now_ms: 0, lease_ms: None }
}

fn settle(id: u64, cost: u64) -> PoolOp {
    PoolOp::Settle { id, cost: Money::from_nanos(cost), now_ms: 0, attribution: None }
}

async fn report(pool: &RedisPool) -> Box<creditpool::Report> {
    match pool.apply(PoolOp::Report { now_ms: 0 }).await.unwrap() {
        OpResult::Report(r) => r,
        other => panic!("{other:?}"),
    }
}

fn cmd(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_aof_loses_nothing_settled() {
    let mut server = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let name = unique("aof");
    let pool = RedisPool::connect(&server.url(), &name, PoolConfig::new(Money::from_nanos(1_000_000))).await.unwrap();
    for i in 0..10 {
        let OpResult::Reserved(r) = pool.apply(reserve("a", 1_000)).await.unwrap() else { panic!() };
        assert!(matches!(pool.apply(settle(r.id, 100 + i)).await.unwrap(), OpResult::Settled(_)));
    }
    let OpResult::Reserved(open) = pool.apply(reserve("a", 5_000)).await.unwrap() else { panic!() };
    let before = report(&pool).await;
    server.kill_and_restart(); // SIGKILL: only what the AOF holds survives
    // The connection comes back on its own; wait for it (bounded).
    let mut after = None;
    for _ in 0..300 {
        if let Ok(OpResult::Report(r)) = pool.apply(PoolOp::Report { now_ms: 0 }).await {
            after = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = after.expect("the pool answers after the restart");
    assert_eq!(after.settled, before.settled);
    assert_eq!(after.settled, Money::from_nanos((100..110).sum()));
    assert_eq!(after.reserved, Money::from_nanos(5_000));
    assert_eq!(pool.ledger("-", 100).await.unwrap().len(), 10);
    // The Functions library persisted too: the next operation needs no reload,
    // and the counters carry on.
    let OpResult::Reserved(next) = pool.apply(reserve("a", 1)).await.unwrap() else { panic!() };
    assert_eq!(next.id, open.id + 1);
    assert!(matches!(pool.apply(settle(open.id, 4_000)).await.unwrap(), OpResult::Settled(s) if !s.late && s.ledger_seq == 11));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flushed_script_cache_is_reloaded_by_the_next_operation() {
    let server = RedisServer::start();
    // The core's SHA1 is the server's.
    let loaded = server.cli(&["script", "load", eval_script()]);
    assert_eq!(loaded.trim(), eval_sha());
    for mode in [RedisScriptMode::Function, RedisScriptMode::Eval] {
        let options = RedisOptions { mode: Some(mode), ..RedisOptions::default() };
        let pool = RedisPool::connect_with(&[server.url().as_str()], &unique("flush"), Some(PoolConfig::new(Money::from_nanos(1_000))), options)
            .await
            .unwrap();
        assert!(matches!(pool.apply(reserve("a", 10)).await.unwrap(), OpResult::Reserved(_)));
        let flush = match mode {
            RedisScriptMode::Function => cmd(&["FUNCTION", "FLUSH"]),
            RedisScriptMode::Eval => cmd(&["SCRIPT", "FLUSH"]),
        };
        pool.command(&flush).await.unwrap();
        let OpResult::Reserved(r) = pool.apply(reserve("a", 10)).await.unwrap() else { panic!("{mode:?}") };
        assert_eq!(r.id, 2, "{mode:?}");
        match mode {
            RedisScriptMode::Function => {
                let list = server.cli(&["function", "list", "libraryname", FUNCTION]);
                assert!(list.contains(FUNCTION), "{list}");
            }
            RedisScriptMode::Eval => {
                let v = pool.command(&cmd(&["SCRIPT", "EXISTS", eval_sha()])).await.unwrap();
                assert_eq!(v, RedisValue::Array(vec![RedisValue::Int(1)]));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reserve_retried_with_its_key_after_a_dropped_connection_reserves_once() {
    let server = RedisServer::start();
    let pool = RedisPool::connect(&server.url(), &unique("retry"), PoolConfig::new(Money::from_nanos(1_000))).await.unwrap();
    let key = pool.next_key();
    let OpResult::Reserved(first) = pool.apply_keyed(&reserve("a", 600), Some(&key)).await.unwrap() else { panic!() };
    // Drop every client connection, as a network fault would.
    let killed = server.cli(&["client", "kill", "type", "normal"]);
    assert!(killed.trim().parse::<u64>().unwrap() >= 1, "{killed}");
    let mut again = None;
    for _ in 0..300 {
        if let Ok(r) = pool.apply_keyed(&reserve("a", 600), Some(&key)).await {
            again = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(again.unwrap(), OpResult::Reserved(first));
    let r = report(&pool).await;
    assert_eq!(r.reserved, Money::from_nanos(600), "reserved once");
    // A new key is a new reservation (and here the limit says no).
    assert!(matches!(pool.apply(reserve("a", 600)).await.unwrap(), OpResult::Refused(_)));
    // Once closed, the key is forgotten; settle twice counts once.
    assert!(matches!(pool.apply(settle(first.id, 500)).await.unwrap(), OpResult::Settled(_)));
    assert_eq!(pool.apply(settle(first.id, 500)).await.unwrap(), OpResult::Duplicate { id: first.id });
    assert_eq!(report(&pool).await.settled, Money::from_nanos(500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_that_ends_counts_its_worst_case_and_a_late_settle_is_recorded() {
    let server = RedisServer::start();
    // The server's clock: a 40 ms lease ends while we wait.
    let pool = RedisPool::connect(&server.url(), &unique("lease"), PoolConfig::new(Money::from_nanos(1_000))).await.unwrap();
    let op = PoolOp::Reserve { agent: "a".into(), amount: Money::from_nanos(900), now_ms: 0, lease_ms: Some(40) };
    let OpResult::Reserved(r) = pool.apply(op).await.unwrap() else { panic!() };
    assert!(matches!(pool.apply(reserve("b", 500)).await.unwrap(), OpResult::Refused(_)));
    let mut expired = Vec::new();
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if let OpResult::Ticked { expired: e, .. } = pool.apply(PoolOp::Tick { now_ms: 0 }).await.unwrap() {
            if !e.is_empty() {
                expired = e;
                break;
            }
        }
    }
    assert_eq!(expired, vec![r.id]);
    // The worker may have died after its request was billed: the hold ends
    // and its amount counts as spent (estimated), never handed back.
    let after = report(&pool).await;
    assert_eq!((after.reserved, after.settled, after.available), (Money::ZERO, Money::from_nanos(900), Money::from_nanos(100)));
    assert!(matches!(pool.apply(PoolOp::Extend { id: r.id, lease_ms: 1_000, now_ms: 0 }).await.unwrap(), OpResult::Closed { .. }));
    // A late settle of 950: the 50 beyond the estimate is an overrun.
    let OpResult::Settled(s) = pool.apply(settle(r.id, 950)).await.unwrap() else { panic!() };
    assert!(s.late);
    assert_eq!((s.reserved, s.cost, s.overrun), (Money::from_nanos(900), Money::from_nanos(50), Money::from_nanos(50)));
    assert_eq!(report(&pool).await.settled, Money::from_nanos(950));
    let entries: Vec<_> = pool.ledger("-", 10).await.unwrap().into_iter().map(|(_, e)| e).collect();
    let summary: Vec<_> = entries.iter().map(|e| (e.kind, e.cost.nanos(), e.estimated, e.observed_cost.map(|c| c.nanos()))).collect();
    assert_eq!(summary, vec![(LedgerKind::Expire, 900, true, None), (LedgerKind::Settle, 50, false, Some(950))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_lives_with_the_pool() {
    let server = RedisServer::start();
    let url = server.url();
    let name = unique("cfg");
    let a = PoolConfig::new(Money::from_nanos(1_000));
    let b = PoolConfig::new(Money::from_nanos(2_000));
    RedisPool::connect(&url, &name, a.clone()).await.unwrap();
    // The same configuration joins; another is a typed error.
    RedisPool::connect(&url, &name, a.clone()).await.unwrap();
    let e = RedisPool::connect(&url, &name, b.clone()).await.unwrap_err();
    assert_eq!(e.code(), "redis_config_conflict");
    assert_eq!(creditpool::core::codes::class_for_code(e.code()), "RedisConfigConflictError");
    // Joining without one reads it.
    assert_eq!(RedisPool::join(&url, &name).await.unwrap().config(), &a);
    assert_eq!(RedisPool::join(&url, &unique("none")).await.unwrap_err().code(), "redis_pool_missing");
    // An explicit update replaces it, limit included.
    let options = RedisOptions { join: RedisJoin::Update, ..RedisOptions::default() };
    let p = RedisPool::connect_with(&[url.as_str()], &name, Some(b.clone()), options).await.unwrap();
    assert_eq!(report(&p).await.limit, Money::from_nanos(2_000));
    assert_eq!(RedisPool::join(&url, &name).await.unwrap().config(), &b);
    // Fair share is refused, with why.
    let mut fs = a.clone();
    fs.fair_share = Some(Default::default());
    let e = RedisPool::connect(&url, &unique("fs"), fs).await.unwrap_err();
    assert_eq!(e.code(), "fair_share_unsupported_on_redis");
    assert!(e.to_string().contains("scanning all of the pool's agents"), "{e}");
    // An invalid configuration is the core's own error.
    let mut bad = a;
    bad.lease_ms = 0;
    assert_eq!(RedisPool::connect(&url, &unique("bad"), bad).await.unwrap_err().code(), "invalid_config");
    // An amount beyond exact integers in Lua is refused before it is sent.
    let e = p.apply(reserve("a", 1 << 53)).await.unwrap_err();
    assert_eq!(e.code(), "redis_out_of_range");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_whose_worker_died_is_delivered_by_another() {
    let server = RedisServer::start();
    let mut config = PoolConfig::new(Money::from_nanos(1_000));
    config.alerts.thresholds_pct = vec![50];
    let pool = RedisPool::connect(&server.url(), &unique("alerts"), config).await.unwrap();
    let OpResult::Reserved(r) = pool.apply(reserve("a", 700)).await.unwrap() else { panic!() };
    pool.apply(settle(r.id, 600)).await.unwrap();
    // Worker A takes the alert and dies before acknowledging it.
    let a = pool.next_alerts("webhooks", "worker-a", 60_000, 10).await.unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].1.idempotency_key(), format!("default:{}:threshold:50", a[0].1.cycle.start_ms));
    // Worker B: nothing new, and A's alert is not idle long enough yet...
    assert!(pool.next_alerts("webhooks", "worker-b", 60_000, 10).await.unwrap().is_empty());
    // ...until it is (min idle 0 here): B claims the same entry.
    let b = pool.next_alerts("webhooks", "worker-b", 0, 10).await.unwrap();
    assert_eq!(b, a);
    pool.ack("webhooks", &[b[0].0.clone()]).await.unwrap();
    assert!(pool.next_alerts("webhooks", "worker-c", 0, 10).await.unwrap().is_empty());
    // The threshold fired once in this cycle: more spend adds no alert.
    let OpResult::Reserved(r) = pool.apply(reserve("a", 100)).await.unwrap() else { panic!() };
    pool.apply(settle(r.id, 100)).await.unwrap();
    assert_eq!(pool.alerts_after("-", 10).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_takes_a_redis_pool_unchanged() {
    let server = RedisServer::start();
    let pool: Arc<dyn PoolStore> = Arc::new(RedisPool::connect(&server.url(), &unique("agent"), PoolConfig::new(Money::from_nanos(1_000))).await.unwrap());
    let client = Client::builder().api_key("sk-test").base_url("http://127.0.0.1:9").build().unwrap();
    let agent = Agent::builder_with_store(&client, pool.clone());
    drop(agent);
    assert!(matches!(pool.apply(reserve("a", 10)).await.unwrap(), OpResult::Reserved(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_far_beyond_a_tiny_rate_stays_readable() {
    // 2^52 nano-USD at 1 nano-USD per minute: a debt of 2^52 minutes, held at
    // 2^53 - 1 ms so that the books stay exact integers (and reportable).
    let server = RedisServer::start();
    let mut config = PoolConfig::new(Money::from_nanos(1 << 53).checked_sub(Money::from_nanos(1)).unwrap());
    config.default_agent.credits_per_minute = Some(Money::from_nanos(1));
    let pool = RedisPool::connect(&server.url(), &unique("tiny"), config).await.unwrap();
    assert!(matches!(pool.apply(reserve("a", 1 << 52)).await.unwrap(), OpResult::Reserved(_)));
    match pool.apply(reserve("a", 1)).await.unwrap() {
        OpResult::Refused(r) => assert!(r.retry_at_ms().unwrap() > 1 << 52, "{r:?}"),
        other => panic!("{other:?}"),
    }
    let r = report(&pool).await;
    assert_eq!(r.reserved, Money::from_nanos(1 << 52));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliver_alerts_acknowledges_only_what_was_delivered() {
    let server = RedisServer::start();
    let mut config = PoolConfig::new(Money::from_nanos(1_000));
    config.alerts.thresholds_pct = vec![10, 20];
    let pool = RedisPool::connect(&server.url(), &unique("deliver"), config).await.unwrap();
    let OpResult::Reserved(r) = pool.apply(reserve("a", 500)).await.unwrap() else { panic!() };
    pool.apply(settle(r.id, 300)).await.unwrap();
    // The first delivery fails for the 20 % alert: it stays pending.
    let mut seen = Vec::new();
    let n = pool
        .deliver_alerts("w1", |a| {
            seen.push(a.idempotency_key());
            let fail = a.kind.percent() == Some(20);
            async move { if fail { Err(creditpool::Error::Store { reason: "receiver down".into() }) } else { Ok(()) } }
        })
        .await
        .unwrap();
    assert_eq!((n, seen.len()), (1, 2));
    // Nothing new, and the failed one is not idle long enough to be claimed.
    assert_eq!(pool.deliver_alerts("w2", |_| async { Ok(()) }).await.unwrap(), 0);
    let pending = pool.command(&cmd(&["XPENDING", pool.ops().keys().outbox(), creditpool::core::redis::ALERT_GROUP])).await.unwrap();
    let RedisValue::Array(p) = pending else { panic!("{pending:?}") };
    assert_eq!(p[0], RedisValue::Int(1), "one alert pending");
}

/// The ledger stream is the pool's record and grows by one entry per
/// settle: a worker that has archived entries trims through the last one,
/// and the pool's totals do not change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_stream_is_trimmed_through_an_archived_entry() {
    let server = RedisServer::start();
    let pool = RedisPool::connect(&server.url(), &unique("trim"), PoolConfig::new(Money::from_nanos(10_000))).await.unwrap();
    for _ in 0..4 {
        let OpResult::Reserved(r) = pool.apply(reserve("a", 100)).await.unwrap() else { panic!() };
        assert!(matches!(pool.apply(settle(r.id, 50)).await.unwrap(), OpResult::Settled(_)));
    }
    let entries = pool.ledger("-", 10).await.unwrap();
    assert_eq!(entries.len(), 4);
    let archived = &entries[1].0;
    assert_eq!(pool.trim_ledger(archived).await.unwrap(), 2);
    let rest: Vec<u64> = pool.ledger("-", 10).await.unwrap().into_iter().map(|(_, e)| e.seq).collect();
    assert_eq!(rest, vec![3, 4]);
    assert_eq!(pool.trim_ledger(archived).await.unwrap(), 0, "trimming again removes nothing");
    assert_eq!(report(&pool).await.settled, Money::from_nanos(200));
    let e = pool.trim_ledger("last week").await.unwrap_err();
    assert_eq!(e.code(), "redis_invalid_stream_id");
}
