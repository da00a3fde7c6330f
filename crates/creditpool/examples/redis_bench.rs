//! Reserve+settle pairs per second through a Redis pool from Rust: one
//! client, then `CONCURRENCY` tasks sharing one multiplexed connection.
//! Run by benches/redis/run.sh, which starts the server and compares with
//! `redis-benchmark` running a trivial EVALSHA in the same run:
//!
//! ```text
//! cargo run --release -p creditpool --example redis_bench -- REDIS_URL PAIRS CONCURRENCY
//! ```
//! Prints one JSON line per mode: `{"lang":"rust","clients":1,"pairs":N,"seconds":S,"pairs_per_s":R}`.
#![allow(clippy::print_stdout, clippy::print_stderr)]
use creditpool::core::pool::{OpResult, PoolOp};
use creditpool::redis::RedisPool;
use creditpool::{Error, Money, PoolConfig, PoolStore};
use std::sync::Arc;
use std::time::Instant;

async fn pairs(pool: &RedisPool, agent: &str, n: u64) -> Result<(), Error> {
    for _ in 0..n {
        let r = pool.apply(PoolOp::Reserve { agent: agent.into(), amount: Money::from_nanos(1_000), now_ms: 0, lease_ms: None }).await?;
        let OpResult::Reserved(r) = r else { return Err(Error::Config { reason: format!("not reserved: {r:?}") }) };
        pool.apply(PoolOp::Settle { id: r.id, cost: Money::from_nanos(900), now_ms: 0, attribution: None }).await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).cloned().unwrap_or_else(|| "redis://127.0.0.1:6379/0".to_owned());
    let n: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5_000);
    let concurrency: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(16);
    let name = format!("bench-rust-{}", std::process::id());
    let pool = Arc::new(RedisPool::connect(&url, &name, PoolConfig::new(Money::from_usd(1_000_000).unwrap_or(Money::ZERO))).await?);
    pairs(&pool, "warmup", 200).await?;
    for clients in [1, concurrency] {
        let per = n / clients;
        let start = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..clients {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move { pairs(&pool, &format!("a{c}"), per).await }));
        }
        for t in tasks {
            t.await.map_err(|e| Error::Config { reason: e.to_string() })??;
        }
        let secs = start.elapsed().as_secs_f64();
        let total = per * clients;
        println!("{{\"lang\":\"rust\",\"clients\":{clients},\"pairs\":{total},\"seconds\":{secs:.3},\"pairs_per_s\":{:.0}}}", total as f64 / secs);
    }
    Ok(())
}
