//! One Rust worker of the mixed-language fleet test (tests/fleet/): joins a
//! Redis pool that another process created, runs agents against a
//! `creditpool-sim` until its time is up, and delivers the pool's alerts
//! through the outbox's consumer group (appending each alert's idempotency
//! key to a file, the receiver). The orchestrator SIGKILLs some workers
//! mid-request. Run by tests/fleet/run.sh:
//!
//! ```text
//! cargo run -p creditpool --example fleet_worker -- \
//!     REDIS_URL POOL SIM_URL WORKER_ID DELIVERIES_FILE SECONDS AGENTS
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]
use creditpool::redis::RedisPool;
use creditpool::{Agent, Client, Error, RetryPolicy, RunStatus, Tool};
use serde_json::json;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long an alert may stay taken but unacknowledged before this worker
/// claims it (its worker died): short, for the test.
const CLAIM_IDLE_MS: u64 = 1_000;

fn arg(args: &[String], i: usize, what: &str) -> Result<String, Error> {
    args.get(i).cloned().ok_or_else(|| Error::Config { reason: format!("fleet_worker: missing argument {what}") })
}

async fn deliver(pool: &RedisPool, worker: &str, file: &str) -> Result<usize, Error> {
    let batch = pool.next_alerts(creditpool::core::redis::ALERT_GROUP, worker, CLAIM_IDLE_MS, 16).await?;
    let mut ids = Vec::new();
    for (id, alert) in batch {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(file).map_err(|e| Error::Config { reason: e.to_string() })?;
        // One write per line: appends of one short line do not interleave.
        f.write_all(format!("{}\t{worker}\n", alert.idempotency_key()).as_bytes()).map_err(|e| Error::Config { reason: e.to_string() })?;
        ids.push(id);
    }
    pool.ack(creditpool::core::redis::ALERT_GROUP, &ids).await?;
    Ok(ids.len())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let (url, name, sim, worker, file) = (arg(&args, 1, "REDIS_URL")?, arg(&args, 2, "POOL")?, arg(&args, 3, "SIM_URL")?, arg(&args, 4, "WORKER_ID")?, arg(&args, 5, "DELIVERIES_FILE")?);
    let seconds: u64 = arg(&args, 6, "SECONDS")?.parse().unwrap_or(10);
    let agents: usize = arg(&args, 7, "AGENTS")?.parse().unwrap_or(2);
    let pool = Arc::new(RedisPool::join(&url, &name).await?);
    let retry = RetryPolicy { max_retries: 6, initial_backoff_ms: 5, max_backoff_ms: 50, ..RetryPolicy::default() };
    let client = Client::builder().api_key("sk-fleet").base_url(&sim).retry_policy(retry).build()?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    println!("ready {worker}");
    let mut handles = Vec::new();
    for slot in 0..agents {
        let (pool, client, worker) = (pool.clone(), client.clone(), worker.clone());
        handles.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            let mut n = 0;
            while Instant::now() < deadline {
                n += 1;
                let id = format!("{worker}-{slot}-{n}");
                let search = Tool::new(
                    "search_database",
                    "Query the product inventory database.",
                    json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),
                    |input| async move { Ok::<_, String>(format!("2 products match {}", input["query"])) },
                );
                let agent = Agent::builder(&client, &pool).agent_id(id.clone()).user_id(id).model("claude-haiku-4-5").max_tokens(200).tool(search).lease(Duration::from_millis(1_500)).build()?;
                let outcome = agent.run("Find products under $50").await?;
                let refused = matches!(outcome.status, RunStatus::PoolRefused { .. });
                statuses.push(format!("{:?}", outcome.status));
                if refused {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            Ok::<_, Error>(statuses)
        }));
    }
    let delivering = {
        let (pool, worker, file) = (pool.clone(), worker.clone(), file.clone());
        tokio::spawn(async move {
            while Instant::now() < deadline {
                if let Err(e) = deliver(&pool, &worker, &file).await {
                    eprintln!("{worker}: alert delivery: {e}");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let mut runs = 0;
    let mut failed = false;
    for h in handles {
        match h.await {
            Ok(Ok(statuses)) => runs += statuses.len(),
            Ok(Err(e)) => {
                failed = true;
                eprintln!("{worker}: agent: {e}");
            }
            Err(e) => {
                failed = true;
                eprintln!("{worker}: task: {e}");
            }
        }
    }
    let _ = delivering.await;
    deliver(&pool, &worker, &file).await?;
    println!("done {worker} runs={runs}");
    if failed {
        std::process::exit(1);
    }
    Ok(())
}
