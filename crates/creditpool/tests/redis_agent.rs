//! An agent draws on a Redis pool through the `PoolStore` seam, unchanged,
//! over real loopback HTTP against the `creditpool-sim` binary: two slow
//! streamed turns with a tool call and a failed attempt between them, a
//! lease shorter than a turn (renewed on the server's clock while the
//! stream is read). The pool's report and ledger stream account for every
//! attempt: two settles (with model and request ID) and one release.
#![cfg(feature = "reqwest")]

mod redis_common;

use creditpool::core::pool::{LedgerKind, OpResult, PoolOp};
use creditpool::redis::RedisPool;
use creditpool::{Agent, Client, Money, PoolConfig, PoolStore, RetryPolicy, RunStatus, Tool};
use redis_common::{unique, RedisServer};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "sk-redis-agent-key-0001";
const MODEL: &str = "claude-haiku-4-5";

mod sim_common;
use sim_common::Sim;

fn start_sim(scenario: Value) -> Sim {
    sim_common::start("redis-agent", Some(KEY), Some(&scenario), &[])
}

fn search_tool() -> Tool {
    Tool::new(
        "search_database",
        "Query the product inventory database.",
        json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),
        |input| async move { Ok::<String, String>(format!("3 products match {}", input["query"])) },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_runs_on_a_redis_pool_unchanged() {
    let server = RedisServer::start();
    let scenario = json!({"steps": [
        {"match": {"user_id": "u1"}, "tool_use": {"name": "search_database", "input": {"query": "mugs"}}, "event_delay_ms": 120},
        {"match": {"user_id": "u1"}, "error": {"status": 529, "retry_after": 0}},
        {"match": {"user_id": "u1"}, "text": "One mug, $12.50.", "event_delay_ms": 120}
    ]});
    let sim = start_sim(scenario);
    let retry = RetryPolicy { max_retries: 8, initial_backoff_ms: 2, max_backoff_ms: 20, ..RetryPolicy::default() };
    let client = Client::builder().api_key(KEY).base_url(&sim.url).retry_policy(retry).build().unwrap();
    let pool = Arc::new(RedisPool::connect(&server.url(), &unique("agent"), PoolConfig::new(Money::from_usd(1).unwrap())).await.unwrap());
    let agent = Agent::builder(&client, &pool)
        .agent_id("researcher")
        .user_id("u1")
        .model(MODEL)
        .max_tokens(300)
        .tool(search_tool())
        .lease(Duration::from_millis(250))
        .build()
        .unwrap();
    let outcome = agent.run("Find mugs").await.unwrap();
    assert_eq!(outcome.status, RunStatus::Completed, "{:?}", outcome.status);
    assert_eq!(outcome.final_text, "One mug, $12.50.");
    let OpResult::Report(r) = pool.apply(PoolOp::Report { now_ms: 0 }).await.unwrap() else { panic!() };
    assert_eq!(r.settled, outcome.total_cost);
    assert_eq!(r.reserved, Money::ZERO);
    assert!(r.agents.iter().any(|a| a.agent.as_str() == "researcher" && a.requests == 2), "{:?}", r.agents);
    let kinds: Vec<LedgerKind> = pool.ledger("-", 100).await.unwrap().into_iter().map(|(_, e)| e.kind).collect();
    // Two settles and the failed attempt's release; no lease expired mid-read
    // (the run renewed it on the server's clock).
    assert_eq!(kinds.iter().filter(|k| **k == LedgerKind::Settle).count(), 2, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == LedgerKind::Release).count(), 1, "{kinds:?}");
    assert!(!kinds.contains(&LedgerKind::Expire), "{kinds:?}");
    let ledger = pool.ledger("-", 100).await.unwrap();
    let settled: Vec<_> = ledger.iter().filter(|(_, e)| e.kind == LedgerKind::Settle).collect();
    assert!(settled.iter().all(|(_, e)| e.model.as_ref().map(|m| m.as_str()) == Some(MODEL) && e.request_id.is_some()), "{settled:?}");
}
