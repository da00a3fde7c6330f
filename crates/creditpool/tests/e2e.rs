//! End to end over real loopback HTTP: the `creditpool-sim` binary, with fault
//! injection (429s, 529s, 500s, cut streams, mid-stream errors, slow heads and
//! quiet streams), several agents running concurrently on one shared pool,
//! JSON and streaming, and an agent on a pool store of the test's own.
//!
//! How the simulator binary is found: `CREDITPOOL_SIM` (a path) if set;
//! otherwise the test runs `cargo build -p creditpool-sim --bin creditpool-sim
//! --message-format=json-render-diagnostics` itself (with the `cargo` that runs
//! the tests, so the same toolchain and target directory) and takes the
//! binary's path from cargo's `compiler-artifact` message. Cargo does not hold
//! its build lock while tests run, so the nested build does not wait on it; it
//! is quick when the binary is already built (as `cargo test --workspace`
//! does).
#![cfg(feature = "reqwest")]
#![allow(clippy::print_stderr)]

use creditpool::core::pool::LedgerKind;
use creditpool::core::pool::{OpResult, PoolOp};
use creditpool::transport::BoxFuture;
use creditpool::{Agent, Client, Error, LedgerEntry, Money, OutcomeExt, PoolConfig, PoolStore, RetryPolicy, RunStatus, SharedPool, StreamItem, Tool};
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const GOOD_KEY: &str = "sk-e2e-good-key-0001";
const MODEL: &str = "claude-haiku-4-5";

mod sim_common;
use sim_common::Sim;

fn start_sim(name: &str, scenario: Option<Value>, args: &[&str]) -> Sim {
    sim_common::start(&format!("e2e-{name}"), Some(GOOD_KEY), scenario.as_ref(), args)
}

async fn sim_usage(sim: &Sim) -> Vec<Value> {
    let body = reqwest::get(format!("{}/_sim/usage", sim.url)).await.unwrap().bytes().await.unwrap();
    serde_json::from_slice(&body).unwrap()
}

fn retry_policy() -> RetryPolicy {
    RetryPolicy { max_retries: 8, initial_backoff_ms: 2, max_backoff_ms: 20, ..RetryPolicy::default() }
}

fn search_tool(fail: bool) -> Tool {
    Tool::new(
        "search_database",
        "Query the product inventory database.",
        json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),
        move |input| async move {
            if fail {
                return Err("the inventory database is unavailable".to_owned());
            }
            Ok(format!("3 products match {}: mug $12.50, lamp $34.99, cable $11.99", input["query"]))
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_under_faults_settle_exactly_what_the_simulator_reported() {
    // Faults at random (seeded) on a quarter of the requests, plus one scripted
    // failure of each kind for specific agents, so that every kind happens.
    let scenario = json!({
        "fault_rate": 0.25, "seed": 7, "fault_retry_after": 0,
        "steps": [
            {"match": {"user_id": "json-1"}, "error": {"status": 429, "retry_after": 0}},
            {"match": {"user_id": "json-2"}, "error": {"status": 529, "retry_after": 0}},
            {"match": {"user_id": "json-3"}, "cut_after_bytes": 120},
            {"match": {"user_id": "stream-1"}, "cut_after_bytes": 400},
            {"match": {"user_id": "stream-2"}, "stream_error": {"after_deltas": 1, "type": "overloaded_error"}},
            {"match": {"user_id": "stream-3"}, "error": {"status": 500}}
        ]
    });
    let sim = start_sim("faults", Some(scenario), &[]);
    let client = Client::builder().api_key(GOOD_KEY).base_url(&sim.url).retry_policy(retry_policy()).idle_timeout(Duration::from_secs(30)).build().unwrap();

    // A limit that covers about half of what the runs would spend (cut and
    // failed streams settle their reserved worst case), so the pool runs out
    // while agents still run, after every scripted fault has happened.
    let limit = Money::from_nanos(30_000_000);
    let pool = SharedPool::new(PoolConfig::new(limit)).unwrap();
    let ledger: Arc<Mutex<Vec<LedgerEntry>>> = Arc::default();
    let l = Arc::clone(&ledger);
    pool.on_ledger(move |e| l.lock().unwrap().push(e.clone()));

    let ids = ["json-1", "json-2", "json-3", "stream-1", "stream-2", "stream-3"];
    let agents: Vec<Agent> = ids
        .iter()
        .map(|id| {
            Agent::builder(&client, &pool)
                .agent_id(*id)
                .user_id(*id)
                .model(MODEL)
                .max_tokens(300)
                .tool(search_tool(*id == "json-2"))
                .max_turns(4)
                .streaming(id.starts_with("stream"))
                .build()
                .unwrap()
        })
        .collect();
    let runs = agents.iter().map(|agent| async move {
        let mut outcomes = Vec::new();
        for i in 0..4 {
            outcomes.push(agent.run(format!("Find products under ${}", 20 + 10 * i)).await);
        }
        outcomes
    });
    let outcomes: Vec<_> = futures_util::future::join_all(runs).await.into_iter().flatten().collect();

    // Every run finished, or ended with a typed status.
    let (mut completed, mut refused, mut failed) = (0, 0, 0);
    let mut retried_attempts = 0;
    let mut total_cost = Money::ZERO;
    for outcome in &outcomes {
        let outcome = outcome.as_ref().expect("every run starts");
        total_cost = total_cost.saturating_add(outcome.total_cost);
        retried_attempts += outcome.turns.iter().map(|t| t.attempts - 1).sum::<u32>();
        match &outcome.status {
            RunStatus::Completed => completed += 1,
            RunStatus::PoolRefused { refusal } => {
                assert_eq!(refusal.reason(), "pool_exhausted");
                refused += 1;
            }
            RunStatus::Failed { code, http_status, api_error_type, error, .. } => {
                assert!(
                    http_status.is_some()
                        || api_error_type.is_some()
                        || code.starts_with("stream_")
                        || code.ends_with("_timeout")
                        || code == "connection_error",
                    "{code}: {error}"
                );
                assert_eq!(outcome.error().map(|e| e.code().to_owned()).as_deref(), Some(code.as_str()));
                failed += 1;
            }
            RunStatus::Stopped { .. } | RunStatus::MaxTurns { .. } => {}
            other => panic!("unexpected end of a run: {other:?}"),
        }
    }
    assert!(completed > 0, "no run completed");
    assert!(refused > 0, "the pool never ran out (settled {total_cost})");
    assert!(retried_attempts >= 4, "the faults were not retried ({retried_attempts} retries)");
    eprintln!("runs: {completed} completed, {refused} refused, {failed} failed; {retried_attempts} retries");

    // The pool's ledger equals the simulator's usage log: the same request IDs
    // with the same token counts, for every response the simulator completed.
    // A body the simulator cut or failed part-way may have been billed: it is
    // settled at its reserved worst case, flagged estimated (the core's rule),
    // once per such response.
    let usage = sim_usage(&sim).await;
    let reported: BTreeMap<String, (u64, u64)> = usage
        .iter()
        .filter(|u| u["outcome"] == "complete")
        .map(|u| (u["request_id"].as_str().unwrap().to_owned(), (u["usage"]["input_tokens"].as_u64().unwrap(), u["usage"]["output_tokens"].as_u64().unwrap())))
        .collect();
    let outcomes_seen: Vec<&str> = usage.iter().filter_map(|u| u["outcome"].as_str()).collect();
    assert!(outcomes_seen.contains(&"cut"), "no cut stream happened");
    assert!(outcomes_seen.contains(&"stream_error"), "no mid-stream error happened");
    let ledger = ledger.lock().unwrap().clone();
    let settled: BTreeMap<String, (u64, u64)> = ledger
        .iter()
        .filter(|e| e.kind == LedgerKind::Settle && !e.estimated)
        .map(|e| {
            let tokens = e.tokens.expect("a settle carries its tokens");
            (e.request_id.clone().expect("a settle carries its request id"), (tokens.input, tokens.output))
        })
        .collect();
    assert_eq!(settled.len(), ledger.iter().filter(|e| e.kind == LedgerKind::Settle && !e.estimated).count(), "a request was settled twice");
    assert_eq!(settled, reported);
    let estimated = ledger.iter().filter(|e| e.kind == LedgerKind::Settle && e.estimated).count();
    let broken = outcomes_seen.iter().filter(|o| **o == "cut" || **o == "stream_error").count();
    assert_eq!(estimated, broken, "one estimated settle per response cut or failed part-way");
    let estimated_cost: Money = outcomes.iter().flatten().map(|o| o.estimated_cost).sum();
    let ledger_estimated: Money = ledger.iter().filter(|e| e.estimated).map(|e| e.cost).sum();
    assert_eq!(estimated_cost, ledger_estimated);
    assert!(ledger.iter().all(|e| e.kind != LedgerKind::Expire), "a reservation expired");

    // Settled plus reserved never exceeded the limit, and nothing cost more
    // than its reservation.
    let state = pool.with(|p| p.state().clone());
    assert!(pool.peak_committed() <= limit, "peak {} above the limit {limit}", pool.peak_committed());
    assert_eq!(state.reserved(), Money::ZERO);
    assert_eq!(state.open_count(), 0);
    assert_eq!(state.overrun(), Money::ZERO);
    let ledger_total: Money = ledger.iter().map(|e| e.cost).sum();
    assert_eq!(state.settled(), ledger_total);
    assert_eq!(state.settled(), total_cost);
    assert!(state.settled() <= limit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_key_is_a_typed_401_that_never_shows_the_key() {
    let sim = start_sim("auth", None, &[]);
    let bad_key = "sk-e2e-WRONG-key-secret-9876";
    let client = Client::builder().api_key(bad_key).base_url(&sim.url).retry_policy(retry_policy()).build().unwrap();

    let err = client.messages().create(&creditpool::MessageRequest::new(MODEL, 50, "Hello")).await.unwrap_err();
    assert!(err.is_authentication(), "{err:?}");
    assert_eq!(err.code(), "authentication_error");
    assert_eq!(err.status(), Some(401));
    assert!(matches!(err, Error::Call(_)));
    assert!(!err.to_string().contains(bad_key), "{err}");
    assert!(!format!("{err:?}").contains(bad_key));
    assert!(!format!("{client:?}").contains(bad_key));

    let streamed = client.messages().stream(&creditpool::MessageRequest::new(MODEL, 50, "Hello")).unwrap().final_message().await.unwrap_err();
    assert_eq!(streamed.status(), Some(401));

    let pool = SharedPool::new(PoolConfig::new(Money::from_usd(1).unwrap())).unwrap();
    let agent = Agent::builder(&client, &pool).agent_id("intruder").model(MODEL).max_tokens(50).build().unwrap();
    let outcome = agent.run("Hello").await.unwrap();
    match &outcome.status {
        RunStatus::Failed { code, http_status, api_error_type, error, .. } => {
            assert_eq!(code, "authentication_error");
            assert_eq!(*http_status, Some(401));
            assert_eq!(api_error_type.as_deref(), Some("authentication_error"));
            assert!(!error.contains(bad_key));
        }
        other => panic!("expected a 401 failure, got {other:?}"),
    }
    let run_error = outcome.error().expect("a failed run has an error");
    assert_eq!(run_error.code(), "authentication_error");
    assert_eq!(run_error.status(), Some(401));
    assert!(run_error.is_authentication());
    assert!(!run_error.to_string().contains(bad_key));
    let state = pool.with(|p| p.state().clone());
    assert_eq!(state.settled(), Money::ZERO);
    assert_eq!(state.reserved(), Money::ZERO);

    let usage = sim_usage(&sim).await;
    assert!(usage.is_empty(), "a refused key was billed: {usage:?}");
}

fn request(user_id: &str) -> creditpool::MessageRequest {
    let mut r = creditpool::MessageRequest::new(MODEL, 200, "Find products under $50");
    r.metadata = Some(creditpool::core::api::Metadata { user_id: Some(user_id.to_owned()), ..Default::default() });
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_cut_mid_stream_is_a_cut_stream() {
    // The simulator closes the connection part-way through the body: the
    // transport reports a failed connection, and the core reads it as a cut
    // stream (keeping the message so far), which is retried.
    let scenario = json!({"steps": [
        {"match": {"user_id": "cut-once"}, "text": "A long enough answer to be cut in the middle of its stream.", "cut_after_bytes": 700},
        {"match": {"user_id": "cut-once"}, "text": "The whole answer."},
        {"match": {"user_id": "cut-for-good"}, "text": "A long enough answer to be cut in the middle of its stream.", "cut_after_bytes": 700}
    ]});
    let sim = start_sim("cut", Some(scenario), &[]);
    let client = Client::builder().api_key(GOOD_KEY).base_url(&sim.url).retry_policy(retry_policy()).build().unwrap();

    let mut stream = client.messages().stream(&request("cut-once")).unwrap();
    let mut notices = Vec::new();
    while let Some(item) = stream.next().await {
        if let StreamItem::Retry(n) = item.unwrap() {
            notices.push(n);
        }
    }
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].code, "stream_incomplete");
    let done = stream.final_message().await.unwrap();
    assert_eq!(done.message.text(), "The whole answer.");
    assert_eq!(done.attempts, 2);

    let once = Client::builder().api_key(GOOD_KEY).base_url(&sim.url).max_retries(0).build().unwrap();
    let err = once.messages().stream(&request("cut-for-good")).unwrap().final_message().await.unwrap_err();
    assert_eq!(err.code(), "stream_incomplete", "{err:?}");
    assert_eq!(creditpool::core::codes::class_for_code(err.code()), "StreamIncompleteError");
    let partial = err.partial().expect("the message so far travels with the error");
    assert!(!partial.text().is_empty() && partial.text().len() < 60, "{:?}", partial.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_are_measured_by_the_core() {
    // A head that comes too late, and a stream that goes quiet: the driver
    // waits until the call's deadline and tells the core, which fails the
    // attempt with the right phase.
    let scenario = json!({"steps": [
        {"match": {"user_id": "slow-head"}, "text": "late", "delay_ms": 3000},
        {"match": {"user_id": "quiet-stream"}, "text": "slow words", "event_delay_ms": 3000}
    ]});
    let sim = start_sim("timeouts", Some(scenario), &[]);
    let client = Client::builder()
        .api_key(GOOD_KEY)
        .base_url(&sim.url)
        .max_retries(0)
        .read_timeout(Duration::from_millis(300))
        .idle_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client.messages().create(&request("slow-head")).await.unwrap_err();
    assert_eq!(err.code(), "read_timeout", "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(2_500), "{:?}", started.elapsed());

    let started = std::time::Instant::now();
    let err = client.messages().stream(&request("quiet-stream")).unwrap().final_message().await.unwrap_err();
    assert_eq!(err.code(), "idle_timeout", "{err:?}");
    assert_eq!(creditpool::core::codes::class_for_code(err.code()), "APITimeoutError");
    assert!(err.partial().is_some(), "the message so far travels with the error");
    assert!(started.elapsed() < Duration::from_millis(2_500), "{:?}", started.elapsed());
}

/// A pool store that passes every operation on to a shared pool and counts
/// them by kind.
#[derive(Clone)]
struct CountingStore {
    pool: SharedPool,
    seen: Arc<Mutex<BTreeMap<&'static str, u32>>>,
}

impl PoolStore for CountingStore {
    fn apply(&self, op: PoolOp) -> BoxFuture<'_, Result<OpResult, Error>> {
        Box::pin(async move {
            let kind = match &op {
                PoolOp::Reserve { .. } => "reserve",
                PoolOp::Settle { .. } => "settle",
                PoolOp::Release { .. } => "release",
                PoolOp::Extend { .. } => "extend",
                _ => "other",
            };
            // Answer a little later, as a remote store would.
            tokio::time::sleep(Duration::from_millis(2)).await;
            let result = self.pool.apply_op(&op);
            *self.seen.lock().unwrap().entry(kind).or_default() += 1;
            Ok(result)
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_drives_its_pool_through_a_pool_store() {
    // Two slow streamed turns (a tool call, then the answer), a failed
    // attempt in between, and a lease much shorter than a turn: the run
    // reserves before each attempt, settles or releases after it, and
    // renews its lease while it reads.
    let scenario = json!({"steps": [
        {"match": {"user_id": "counted"}, "tool_use": {"name": "search_database", "input": {"query": "mugs"}}, "event_delay_ms": 120},
        {"match": {"user_id": "counted"}, "error": {"status": 529, "retry_after": 0}},
        {"match": {"user_id": "counted"}, "text": "One mug, $12.50.", "event_delay_ms": 120}
    ]});
    let sim = start_sim("store", Some(scenario), &[]);
    let client = Client::builder().api_key(GOOD_KEY).base_url(&sim.url).retry_policy(retry_policy()).build().unwrap();
    let pool = SharedPool::new(PoolConfig::new(Money::from_usd(1).unwrap())).unwrap();
    let ledger: Arc<Mutex<Vec<LedgerEntry>>> = Arc::default();
    let l = Arc::clone(&ledger);
    pool.on_ledger(move |e| l.lock().unwrap().push(e.clone()));
    let store = CountingStore { pool: pool.clone(), seen: Arc::default() };
    let agent = Agent::builder(&client, &store)
        .agent_id("counted")
        .user_id("counted")
        .model(MODEL)
        .max_tokens(300)
        .tool(search_tool(false))
        .lease(Duration::from_millis(250))
        .build()
        .unwrap();
    let outcome = agent.run("Find mugs").await.unwrap();
    assert_eq!(outcome.status, RunStatus::Completed, "{:?}", outcome.status);
    assert_eq!(outcome.final_text, "One mug, $12.50.");
    assert_eq!(outcome.turns.len(), 2);

    let seen = store.seen.lock().unwrap().clone();
    let count = |k: &str| seen.get(k).copied().unwrap_or(0);
    assert_eq!(count("reserve"), 3, "{seen:?}");
    assert_eq!(count("settle"), 2, "{seen:?}");
    assert_eq!(count("release"), 1, "{seen:?}");
    assert_eq!(count("reserve"), count("settle") + count("release"), "balanced: {seen:?}");
    assert!(count("extend") >= 1, "the lease was never renewed: {seen:?}");
    assert_eq!(count("other"), 0);

    let state = pool.with(|p| p.state().clone());
    assert_eq!(state.reserved(), Money::ZERO);
    assert_eq!(state.open_count(), 0);
    assert_eq!(state.settled(), outcome.total_cost);
    let ledger = ledger.lock().unwrap();
    assert!(ledger.iter().all(|e| e.kind != LedgerKind::Expire), "a lease expired mid-read: {ledger:?}");
}
