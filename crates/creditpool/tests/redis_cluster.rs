//! A pool on a local three-master Redis Cluster: every key of the pool hashes
//! to one slot (its hash tag), and a scenario (reserve, refusal, settle,
//! release, alerts, the ledger, a report) runs through the cluster client,
//! the script loading itself on the node that owns the pool's slot.

mod redis_common;

use creditpool::core::pool::{OpResult, PoolOp};
use creditpool::core::redis::RedisValue;
use creditpool::redis::RedisPool;
use creditpool::{Money, PoolConfig, PoolStore};
use redis_common::{unique, RedisCluster};
use std::collections::BTreeSet;

fn reserve(agent: &str, amount: u64) -> PoolOp {
    PoolOp::Reserve { agent: agent.into(), amount: Money::from_nanos(amount), now_ms: 0, lease_ms: None }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_runs_on_a_three_master_cluster() {
    let cluster = RedisCluster::start();
    let urls = cluster.urls();
    let nodes: Vec<&str> = urls.iter().map(String::as_str).collect();
    let mut config = PoolConfig::new(Money::from_nanos(1_000));
    config.alerts.thresholds_pct = vec![50];
    // Several pools: their slots (one each) fall on whichever masters own them.
    for n in 0..3 {
        let name = unique(&format!("cl{n}"));
        let pool = RedisPool::connect_cluster(&nodes, &name, config.clone()).await.unwrap();
        let slots: BTreeSet<String> = pool.ops().keys().all().iter().map(|k| cluster.nodes[0].cli(&["cluster", "keyslot", k]).trim().to_owned()).collect();
        assert_eq!(slots.len(), 1, "keys of one pool in one slot: {slots:?}");
        let OpResult::Reserved(a) = pool.apply(reserve("a", 700)).await.unwrap() else { panic!() };
        assert!(matches!(pool.apply(reserve("b", 400)).await.unwrap(), OpResult::Refused(_)));
        let OpResult::Reserved(b) = pool.apply(reserve("b", 300)).await.unwrap() else { panic!() };
        assert!(matches!(pool.apply(PoolOp::Settle { id: a.id, cost: Money::from_nanos(600), now_ms: 0, attribution: None }).await.unwrap(), OpResult::Settled(_)));
        assert!(matches!(pool.apply(PoolOp::Release { id: b.id, now_ms: 0 }).await.unwrap(), OpResult::Released(_)));
        let OpResult::Report(r) = pool.apply(PoolOp::Report { now_ms: 0 }).await.unwrap() else { panic!() };
        assert_eq!((r.settled, r.reserved), (Money::from_nanos(600), Money::ZERO));
        assert_eq!(pool.ledger("-", 10).await.unwrap().len(), 2);
        assert_eq!(pool.alerts_after("-", 10).await.unwrap().len(), 1);
        // A second worker joins through another seed node.
        let other = RedisPool::connect_cluster(&nodes[2..], &name, config.clone()).await.unwrap();
        let OpResult::Reserved(c) = other.apply(reserve("c", 400)).await.unwrap() else { panic!() };
        assert_eq!(c.id, 3);
        let v = other.command(&[b"EXISTS".to_vec(), pool.ops().keys().state().as_bytes().to_vec()]).await.unwrap();
        assert_eq!(v, RedisValue::Int(1));
    }
}
