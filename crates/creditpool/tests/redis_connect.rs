//! `SharedPool::connect`, the one-line spelling of `RedisPool::connect`: it
//! creates the pool in Redis, another connection joins it with the stored
//! configuration and sees the first one's reservation (one limit).

mod redis_common;

use creditpool::core::pool::{OpResult, PoolOp};
use creditpool::redis::RedisPool;
use creditpool::{Money, PoolConfig, PoolStore, SharedPool};
use redis_common::{unique, RedisServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_pool_connect_is_a_redis_pool() {
    let server = RedisServer::start();
    let name = unique("one-line");
    let pool: RedisPool = SharedPool::connect(&server.url(), &name, PoolConfig::new(Money::from_nanos(1_000))).await.unwrap();
    let other = RedisPool::join(&server.url(), &name).await.unwrap();
    assert_eq!(other.config().limit, Money::from_nanos(1_000));
    let reserve = |amount| PoolOp::Reserve { agent: "a".into(), amount: Money::from_nanos(amount), now_ms: 0, lease_ms: None };
    assert!(matches!(pool.apply(reserve(700)).await.unwrap(), OpResult::Reserved(_)));
    assert!(matches!(other.apply(reserve(400)).await.unwrap(), OpResult::Refused(_)));
}
