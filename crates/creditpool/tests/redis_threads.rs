//! The book of message threads kept in a Redis pool (the script's
//! `thread_record` and `thread_lookup`, `creditpool_core::pool::threads`):
//! on the server's clock an entry expires at its deadline (`PEXPIREAT`, the
//! server's `TIME` plus 5 minutes, whatever time the caller sent), a lookup
//! past the deadline says `expired`, and the book holds at most 4,096
//! entries (the first to expire goes first, its key deleted with it).

mod redis_common;

use creditpool::core::pool::{
    OpResult, PoolConfig, PoolOp, ThreadEntry, DEFAULT_MAX_THREADS, THREAD_TTL_MS,
};
use creditpool::core::redis::RedisValue;
use creditpool::core::Money;
use creditpool::redis::{RedisClock, RedisOptions, RedisPool};
use creditpool::PoolStore;
use redis_common::{unique, RedisCluster, RedisServer};

fn record(id: &str, input_tokens: u64, now_ms: u64) -> PoolOp {
    PoolOp::ThreadRecord {
        message_id: id.into(),
        input_tokens,
        cache_write: true,
        cache_write_1h: false,
        may_overshoot: false,
        tools: None,
        now_ms,
    }
}

fn lookup(id: &str, now_ms: u64) -> PoolOp {
    PoolOp::ThreadLookup {
        message_id: id.into(),
        now_ms,
    }
}

async fn cmd(pool: &RedisPool, args: &[&str]) -> RedisValue {
    let argv: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    pool.command(&argv).await.unwrap()
}

fn int(v: &RedisValue) -> i64 {
    match v {
        RedisValue::Int(i) => *i,
        other => panic!("expected an integer, got {other:?}"),
    }
}

async fn server_ms(pool: &RedisPool) -> u64 {
    let RedisValue::Array(t) = cmd(pool, &["TIME"]).await else {
        panic!("TIME")
    };
    let s = t[0].as_u64().unwrap();
    let us = t[1].as_u64().unwrap();
    s * 1000 + us / 1000
}

fn entry(r: OpResult) -> ThreadEntry {
    match r {
        OpResult::Thread(e) => e,
        other => panic!("expected a thread entry, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_server_clock_an_entry_expires_at_its_deadline() {
    let server = RedisServer::start();
    let name = unique("threads");
    let pool = RedisPool::connect(
        &server.url(),
        &name,
        PoolConfig::new(Money::from_nanos(1_000_000)),
    )
    .await
    .unwrap();
    let before = server_ms(&pool).await;
    // The caller's time (1 ms after the epoch) is not the clock: the server's is.
    let e = entry(pool.apply(record("msg_a", 1234, 1)).await.unwrap());
    let after = server_ms(&pool).await;
    assert!(
        e.expires_at_ms >= before + THREAD_TTL_MS && e.expires_at_ms <= after + THREAD_TTL_MS,
        "{e:?} not 5 minutes after {before}..{after}"
    );
    assert_eq!(
        (e.input_tokens, e.cache_write, e.cache_write_1h),
        (1234, true, false)
    );
    // The entry's key and the index expire at the deadline itself.
    let key = pool.ops().keys().thread_entry("msg_a");
    let index = pool.ops().keys().thread_index();
    assert_eq!(
        int(&cmd(&pool, &["PEXPIRETIME", &key]).await),
        e.expires_at_ms as i64
    );
    assert_eq!(
        int(&cmd(&pool, &["PEXPIRETIME", &index]).await),
        e.expires_at_ms as i64
    );
    assert_eq!(entry(pool.apply(lookup("msg_a", 1)).await.unwrap()), e);
    assert_eq!(
        pool.apply(lookup("msg_never", 1)).await.unwrap(),
        OpResult::NoThread { expired: false }
    );

    // Past its deadline by the server's clock (the index scored as if the
    // deadline had passed: the server's TIME is what the lookup compares):
    // expired, reported once, then unknown.
    let past = (server_ms(&pool).await - 1).to_string();
    cmd(&pool, &["ZADD", &index, "XX", &past, "msg_a"]).await;
    assert_eq!(
        pool.apply(lookup("msg_a", u64::from(u32::MAX)))
            .await
            .unwrap(),
        OpResult::NoThread { expired: true }
    );
    assert_eq!(
        int(&cmd(&pool, &["EXISTS", &key]).await),
        0,
        "the expired entry's key is deleted"
    );
    assert_eq!(
        pool.apply(lookup("msg_a", 1)).await.unwrap(),
        OpResult::NoThread { expired: false }
    );

    // An entry whose key Redis expired (PEXPIREAT) is expired too.
    pool.apply(record("msg_b", 5, 1)).await.unwrap();
    cmd(&pool, &["DEL", &pool.ops().keys().thread_entry("msg_b")]).await;
    assert_eq!(
        pool.apply(lookup("msg_b", 1)).await.unwrap(),
        OpResult::NoThread { expired: true }
    );

    // Thread operations do not move the pool's clock or write its state.
    let state = pool.ops().keys().state().to_owned();
    let last = cmd(&pool, &["HGET", &state, "last_now"]).await;
    pool.apply(record("msg_c", 5, 1)).await.unwrap();
    assert_eq!(cmd(&pool, &["HGET", &state, "last_now"]).await, last);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_book_holds_at_most_4096_entries_the_first_to_expire_first() {
    let server = RedisServer::start();
    let options = RedisOptions {
        clock: RedisClock::Given,
        created_at_ms: 1_000,
        ..RedisOptions::default()
    };
    let pool = RedisPool::connect_with(
        &[server.url().as_str()],
        &unique("cap"),
        Some(PoolConfig::new(Money::from_nanos(1_000_000))),
        options,
    )
    .await
    .unwrap();
    let extra = 3;
    for i in 0..(DEFAULT_MAX_THREADS + extra) {
        // Each a millisecond later: the first recorded expire first.
        entry(
            pool.apply(record(&format!("msg_{i:05}"), 1, 2_000 + i as u64))
                .await
                .unwrap(),
        );
    }
    let index = pool.ops().keys().thread_index();
    assert_eq!(
        int(&cmd(&pool, &["ZCARD", &index]).await),
        DEFAULT_MAX_THREADS as i64
    );
    let now = 2_000 + (DEFAULT_MAX_THREADS + extra) as u64;
    for i in 0..extra {
        let id = format!("msg_{i:05}");
        assert_eq!(
            pool.apply(lookup(&id, now)).await.unwrap(),
            OpResult::NoThread { expired: false },
            "{id}"
        );
        assert_eq!(
            int(&cmd(&pool, &["EXISTS", &pool.ops().keys().thread_entry(&id)]).await),
            0,
            "{id}'s key"
        );
    }
    assert_eq!(
        entry(
            pool.apply(lookup(&format!("msg_{extra:05}"), now))
                .await
                .unwrap()
        )
        .input_tokens,
        1
    );
    // One key per entry, all under the pool's hash tag.
    let RedisValue::Array(keys) = cmd(
        &pool,
        &["KEYS", &format!("cp:{{{}}}:th:*", pool.ops().keys().name())],
    )
    .await
    else {
        panic!("KEYS")
    };
    assert_eq!(keys.len(), DEFAULT_MAX_THREADS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thread_operations_run_on_a_redis_cluster() {
    let cluster = RedisCluster::start();
    let urls = cluster.urls();
    let nodes: Vec<&str> = urls.iter().map(String::as_str).collect();
    let name = unique("cthreads");
    let pool =
        RedisPool::connect_cluster(&nodes, &name, PoolConfig::new(Money::from_nanos(1_000_000)))
            .await
            .unwrap();
    let other =
        RedisPool::connect_cluster(&nodes, &name, PoolConfig::new(Money::from_nanos(1_000_000)))
            .await
            .unwrap();
    let e = entry(pool.apply(record("msg_1", 42, 1)).await.unwrap());
    assert_eq!(entry(other.apply(lookup("msg_1", 1)).await.unwrap()), e);
    // A second record forgets nothing alive; the entry of another ID stays.
    entry(other.apply(record("msg_2", 43, 1)).await.unwrap());
    assert_eq!(
        entry(pool.apply(lookup("msg_1", 1)).await.unwrap()).input_tokens,
        42
    );
}
