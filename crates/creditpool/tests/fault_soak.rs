//! Fault soak: 1,000 agent runs on one shared pool against the `creditpool-sim`
//! binary, with a fifth of the requests faulted (429, 529, 500, cut streams,
//! idle stalls, mid-stream `error` events) and some runs cancelled (their
//! future dropped part-way). Every run ends finished or failed with a typed
//! error; for every request ID the ledger counts at least what the simulator
//! billed (exactly, when the response completed); the pool never committed
//! past its limit and no reservation is left open.
//!
//! The seed is `CREDITPOOL_SOAK_SEED` (default 20261205) and is printed on
//! failure. The simulator binary is found as in `e2e.rs` (`CREDITPOOL_SIM`, or
//! a nested `cargo build`).
#![cfg(feature = "reqwest")]
#![allow(clippy::print_stderr)]

use creditpool::core::api::Usage;
use creditpool::core::codes::class_for_code;
use creditpool::core::pool::LedgerKind;
use creditpool::core::pricing::{cost, CostOptions, PriceTable};
use creditpool::{Agent, Client, LedgerEntry, Money, PoolConfig, RetryPolicy, RunStatus, SharedPool, Tool};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KEY: &str = "sk-soak-key-0001";
const MODEL: &str = "claude-haiku-4-5";
const RUNS: usize = 1_000;
const CONCURRENCY: usize = 10;

mod sim_common;
use sim_common::Sim;

fn start_sim(scenario: &Value) -> Sim {
    sim_common::start("soak", Some(KEY), Some(scenario), &[])
}

/// SplitMix64, for the test's own choices (which runs stream, which are cancelled and when).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn search_tool() -> Tool {
    Tool::new(
        "search_database",
        "Query the product inventory database.",
        json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),
        |input| async move { Ok::<String, String>(format!("3 products match {}: mug $12.50, lamp $34.99, cable $11.99", input["query"])) },
    )
}

#[derive(Debug)]
enum Ended {
    Finished(&'static str),
    Failed(String),
    Cancelled,
}

fn usage_of(v: &Value) -> Usage {
    serde_json::from_value(v.clone()).expect("a usage")
}

fn seed() -> u64 {
    std::env::var("CREDITPOOL_SOAK_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20_261_205)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_runs_under_faults_keep_the_books() {
    run_soak(seed(), false).await;
}

/// The same soak, also requiring that a response whose head reached the
/// client (cut, or failed with an `error` event) is settled under its own
/// request ID, so that the ledger can be reconciled per request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_billed_response_is_settled_under_its_request_id() {
    run_soak(seed(), true).await;
}

async fn run_soak(seed: u64, strict_ids: bool) {
    let result = std::panic::AssertUnwindSafe(soak(seed, strict_ids));
    if let Err(panic) = futures_util::FutureExt::catch_unwind(result).await {
        eprintln!("fault soak failed with seed {seed} (rerun: CREDITPOOL_SOAK_SEED={seed} cargo test -p creditpool --test fault_soak)");
        std::panic::resume_unwind(panic);
    }
}

async fn soak(seed: u64, strict_ids: bool) {
    let scenario = json!({
        "description": "fault soak",
        "fault_rate": 0.2, "seed": seed, "fault_retry_after": 0,
        "fault_kinds": ["rate_limit", "overloaded", "server_error", "cut", "stream_error", "stall"],
        "fault_stall_ms": 400,
        "steps": []
    });
    let sim = start_sim(&scenario);
    let client = Client::builder()
        .api_key(KEY)
        .base_url(&sim.url)
        .retry_policy(RetryPolicy { max_retries: 2, initial_backoff_ms: 1, max_backoff_ms: 5, ..RetryPolicy::default() })
        .read_timeout(Duration::from_secs(5))
        .idle_timeout(Duration::from_millis(80))
        .build()
        .unwrap();
    // A limit that runs out before the last runs: refusals happen too.
    let limit = Money::from_nanos(1_200_000_000);
    let pool = SharedPool::new(PoolConfig::new(limit)).unwrap();
    let ledger: Arc<Mutex<Vec<LedgerEntry>>> = Arc::default();
    let l = Arc::clone(&ledger);
    pool.on_ledger(move |e| l.lock().unwrap().push(e.clone()));
    let agents: Vec<Agent> = [false, true]
        .iter()
        .map(|streaming| {
            Agent::builder(&client, &pool).agent_id(if *streaming { "stream" } else { "json" }).model(MODEL).max_tokens(300).tool(search_tool()).max_turns(3).streaming(*streaming).build().unwrap()
        })
        .collect();

    let mut rng = Rng(seed);
    // Per run: which agent, and a cancellation after some milliseconds (one run in eight).
    let plans: Vec<(usize, Option<u64>)> = (0..RUNS).map(|_| ((rng.next() % 2) as usize, rng.next().is_multiple_of(8).then(|| rng.next() % 40))).collect();
    let next = Arc::new(Mutex::new(0usize));
    let ended: Arc<Mutex<Vec<Ended>>> = Arc::default();
    let workers = (0..CONCURRENCY).map(|_| {
        let (next, ended, plans, agents) = (Arc::clone(&next), Arc::clone(&ended), &plans, &agents);
        async move {
            loop {
                let i = {
                    let mut n = next.lock().unwrap();
                    let i = *n;
                    *n += 1;
                    i
                };
                let Some((agent, cancel_after)) = plans.get(i) else { break };
                let run = agents[*agent].run(format!("Find products under ${}", 10 + i % 90));
                let result = match cancel_after {
                    // Dropping the run's future part-way is its cancellation.
                    Some(ms) => match tokio::time::timeout(Duration::from_millis(*ms), run).await {
                        Ok(r) => r,
                        Err(_) => {
                            ended.lock().unwrap().push(Ended::Cancelled);
                            continue;
                        }
                    },
                    None => run.await,
                };
                let e = match result {
                    Ok(outcome) => match &outcome.status {
                        RunStatus::Completed => Ended::Finished("completed"),
                        RunStatus::MaxTurns { .. } => Ended::Finished("max_turns"),
                        RunStatus::Stopped { .. } => Ended::Finished("stopped"),
                        RunStatus::PoolRefused { .. } => Ended::Finished("pool_refused"),
                        RunStatus::Failed { code, error, .. } => {
                            assert_ne!(class_for_code(code), "CreditpoolError", "run {i}: an untyped failure {code}: {error}");
                            Ended::Failed(code.clone())
                        }
                        other => panic!("run {i}: unexpected end {other:?}"),
                    },
                    Err(e) => {
                        assert_ne!(class_for_code(e.code()), "CreditpoolError", "run {i}: an untyped error {e:?}");
                        Ended::Failed(e.code().to_owned())
                    }
                };
                ended.lock().unwrap().push(e);
            }
        }
    });
    futures_util::future::join_all(workers).await;
    let ended = std::mem::take(&mut *ended.lock().unwrap());
    assert_eq!(ended.len(), RUNS);

    // The simulator's log, once every response it sent has ended.
    let response = reqwest::get(format!("{}/_sim/usage", sim.url)).await.unwrap();
    assert_eq!(response.headers().get("x-creditpool-sim-open").and_then(|v| v.to_str().ok()), Some("0"), "responses still open");
    let log: Vec<Value> = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    let ledger = ledger.lock().unwrap().clone();
    let table = PriceTable::builtin();
    let price = |u: &Usage| cost(&table, MODEL, u, &CostOptions::new()).unwrap().total;

    let mut by_request: BTreeMap<String, Vec<&LedgerEntry>> = BTreeMap::new();
    for e in ledger.iter().filter(|e| e.kind == LedgerKind::Settle) {
        if let Some(id) = &e.request_id {
            by_request.entry(id.clone()).or_default().push(e);
        }
    }
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let (mut unmatched, mut unmatched_billed) = (0usize, Money::ZERO);
    let mut unmatched_by_outcome: BTreeMap<String, usize> = BTreeMap::new();
    for entry in &log {
        let id = entry["request_id"].as_str().unwrap();
        let outcome = entry["outcome"].as_str().unwrap();
        *outcomes.entry(outcome.to_owned()).or_default() += 1;
        let billed = price(&usage_of(&entry["billed"]));
        match by_request.get(id).map(Vec::as_slice) {
            Some([settle]) => {
                assert!(settle.cost >= billed, "{id} ({outcome}): the ledger counted {} but the simulator billed {billed}", settle.cost);
                if !settle.estimated {
                    assert_eq!(outcome, "complete", "{id}: an exact settle for a response that did not complete");
                    assert_eq!(settle.cost, price(&usage_of(&entry["usage"])), "{id}: an exact settle differs from the usage");
                }
            }
            Some(more) => panic!("{id}: settled {} times", more.len()),
            None => {
                // The run was cancelled before the response's head reached the
                // core: the settle does not know the request ID (counted below).
                unmatched += 1;
                *unmatched_by_outcome.entry(outcome.to_owned()).or_default() += 1;
                unmatched_billed = unmatched_billed.saturating_add(billed);
            }
        }
    }
    if strict_ids {
        // Only a run cancelled before its answer's head reached the core can
        // leave a billed response that no settle names.
        let cancelled = ended.iter().filter(|e| matches!(e, Ended::Cancelled)).count();
        assert!(unmatched <= cancelled, "{unmatched} billed responses match no settle's request ID ({unmatched_by_outcome:?}), but only {cancelled} runs were cancelled");
    }
    let anonymous: Vec<&LedgerEntry> = ledger.iter().filter(|e| e.kind == LedgerKind::Settle && e.request_id.is_none()).collect();
    assert!(unmatched <= anonymous.len(), "{unmatched} billed responses match no settle ({} settles without a request ID)", anonymous.len());
    let anonymous_cost: Money = anonymous.iter().map(|e| e.cost).sum();
    assert!(anonymous_cost >= unmatched_billed, "settles without a request ID count {anonymous_cost}, the responses they cover billed {unmatched_billed}");
    for id in by_request.keys() {
        assert!(log.iter().any(|e| e["request_id"] == id.as_str()), "{id}: settled but never billed by the simulator");
    }

    // The pool's books.
    let state = pool.with(|p| p.state().clone());
    assert!(pool.peak_committed() <= limit, "peak {} above the limit {limit}", pool.peak_committed());
    assert_eq!(state.reserved(), Money::ZERO, "a reservation is left");
    assert_eq!(state.open_count(), 0, "a reservation is open");
    assert_eq!(state.overrun(), Money::ZERO);
    assert_eq!(state.settled(), ledger.iter().map(|e| e.cost).sum::<Money>());
    assert!(state.settled() <= limit);
    assert!(ledger.iter().all(|e| e.kind != LedgerKind::Expire), "a reservation expired");

    let mut ends: BTreeMap<String, usize> = BTreeMap::new();
    for e in &ended {
        let key = match e {
            Ended::Finished(s) => (*s).to_owned(),
            Ended::Failed(code) => format!("failed:{code}"),
            Ended::Cancelled => "cancelled".to_owned(),
        };
        *ends.entry(key).or_default() += 1;
    }
    eprintln!("fault soak seed {seed}: {RUNS} runs {ends:?}; {} responses {outcomes:?} (matching no settle's request ID: {unmatched_by_outcome:?}); settled {}", log.len(), state.settled());
    assert!(ends.get("completed").copied().unwrap_or(0) > RUNS / 4, "{ends:?}");
    assert!(ends.get("cancelled").copied().unwrap_or(0) > 0, "{ends:?}");
    assert!(ends.get("pool_refused").copied().unwrap_or(0) > 0, "the pool never ran out: {ends:?}");
    for kind in ["complete", "cut", "stream_error"] {
        assert!(outcomes.contains_key(kind), "no {kind} response: {outcomes:?}");
    }
    assert!(outcomes.get("abandoned").copied().unwrap_or(0) + outcomes.get("complete").copied().unwrap_or(0) > 0);
}
