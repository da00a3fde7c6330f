//! End to end over real loopback HTTP: the `creditpool-sim` binary, with fault
//! injection (429s, 529s, 500s, cut streams, mid-stream errors), and several
//! agents running concurrently on one shared pool, JSON and streaming.
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
use creditpool::{Agent, Client, Error, LedgerEntry, Money, PoolConfig, RetryPolicy, RunStatus, SharedPool, Tool};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

const GOOD_KEY: &str = "sk-e2e-good-key-0001";
const MODEL: &str = "claude-haiku-4-5";

fn simulator_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("CREDITPOOL_SIM") {
            return PathBuf::from(p);
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args(["build", "-p", "creditpool-sim", "--bin", "creditpool-sim", "--message-format=json-render-diagnostics"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stderr(Stdio::inherit())
            .output()
            .expect("run cargo build -p creditpool-sim");
        assert!(out.status.success(), "cargo build -p creditpool-sim failed");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "creditpool-sim")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo named no creditpool-sim executable")
    })
    .clone()
}

/// A running simulator; stopped (stdin closed) when dropped.
struct Sim {
    child: Child,
    url: String,
    _dir: TempDir,
}

impl Drop for Sim {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn start_sim(name: &str, scenario: Option<Value>, args: &[&str]) -> Sim {
    let dir = std::env::temp_dir().join(format!("creditpool-e2e-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new(simulator_binary());
    cmd.args(["--port", "0", "--keys", GOOD_KEY]).args(args);
    if let Some(s) = scenario {
        let path = dir.join("scenario.json");
        std::fs::write(&path, s.to_string()).unwrap();
        cmd.arg("--scenario").arg(&path);
    }
    cmd.arg("--usage-log").arg(dir.join("usage.jsonl"));
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("start creditpool-sim");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("first line: {line:?}")).to_owned();
    Sim { child, url, _dir: TempDir(dir) }
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

    // A limit that covers about two thirds of what the runs would spend, so
    // the pool runs out while agents still run.
    let limit = Money::from_nanos(15_000_000);
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
            RunStatus::Failed { http_status, api_error_type, error } => {
                assert!(http_status.is_some() || api_error_type.is_some() || error.contains("transport"), "{error}");
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
    // with the same token counts, for every response the simulator completed;
    // cut and failed streams were released, not settled.
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
        .filter(|e| e.kind == LedgerKind::Settle)
        .map(|e| {
            let tokens = e.tokens.expect("a settle carries its tokens");
            (e.request_id.clone().expect("a settle carries its request id"), (tokens.input, tokens.output))
        })
        .collect();
    assert_eq!(settled.len(), ledger.iter().filter(|e| e.kind == LedgerKind::Settle).count(), "a request was settled twice");
    assert_eq!(settled, reported);
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
        RunStatus::Failed { http_status, api_error_type, error } => {
            assert_eq!(*http_status, Some(401));
            assert_eq!(api_error_type.as_deref(), Some("authentication_error"));
            assert!(!error.contains(bad_key));
        }
        other => panic!("expected a 401 failure, got {other:?}"),
    }
    let state = pool.with(|p| p.state().clone());
    assert_eq!(state.settled(), Money::ZERO);
    assert_eq!(state.reserved(), Money::ZERO);

    let usage = sim_usage(&sim).await;
    assert!(usage.is_empty(), "a refused key was billed: {usage:?}");
}
