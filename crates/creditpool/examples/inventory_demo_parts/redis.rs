//! The demo's Redis mode: `--redis URL --processes N` (`--redis local` starts
//! a redis-server of its own on a free port). The demo's pool is created in
//! Redis; N copies of this binary (`--worker URL NAME INDEX`) each join it and
//! run the same three agents in rounds until the pool refuses them; this
//! process delivers the pool's alerts (through the outbox's consumer group),
//! samples committed spend (settled + reserved) all along, and prints the
//! report: the limit and the agents' caps hold across the processes.

use super::{alert_line, outcome_line, print_report_of, search_tool, usd, MAX_ROUNDS, MAX_TOKENS, MODEL, PROMPT};
use creditpool::core::pool::{OpResult, PoolOp};
use creditpool::redis::RedisPool;
use creditpool::{Agent, Client, Money, PoolConfig, PoolStore, Refusal, RunStatus};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// What the command line asks for.
pub enum Mode {
    /// Start `processes` workers against the pool in the Redis at `url`
    /// (`None`: start a local redis-server).
    Fleet { url: Option<String>, processes: usize },
    /// One worker: join pool `name` at `url`; `index` names it in the output.
    Worker { url: String, name: String, index: usize },
}

/// The Redis mode from the arguments, or `None` for the ordinary demo.
pub fn parse(args: impl Iterator<Item = String>) -> Option<Result<Mode, Box<dyn std::error::Error>>> {
    let args: Vec<String> = args.collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).map(|i| args.get(i + 1).cloned());
    if let Some(v) = value("--worker") {
        let (Some(url), Some(name), Some(index)) = (v, args.get(2).cloned(), args.get(3).and_then(|i| i.parse().ok())) else {
            return Some(Err("--worker URL NAME INDEX".into()));
        };
        return Some(Ok(Mode::Worker { url, name, index }));
    }
    let redis = value("--redis")?;
    let Some(url) = redis else { return Some(Err("--redis needs a URL (redis://HOST:PORT/DB) or `local`".into())) };
    let processes = match value("--processes") {
        None => 3,
        Some(Some(n)) => match n.parse::<usize>() {
            Ok(n) if (1..=32).contains(&n) => n,
            _ => return Some(Err(format!("--processes must be 1 to 32, got {n:?}").into())),
        },
        Some(None) => return Some(Err("--processes needs a number".into())),
    };
    Some(Ok(Mode::Fleet { url: (url != "local").then_some(url), processes }))
}

/// A redis-server of the demo's own, stopped when dropped.
struct LocalRedis {
    child: Child,
    dir: std::path::PathBuf,
    url: String,
}

impl Drop for LocalRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_local_redis() -> Result<LocalRedis, Box<dyn std::error::Error>> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let dir = std::env::temp_dir().join(format!("creditpool-demo-redis-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"])
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start redis-server: {e} (Debian: apt-get install redis-server; scripts/setup.sh installs it)"))?;
    let local = LocalRedis { child, dir, url: format!("redis://127.0.0.1:{port}/0") };
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(local);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err("redis-server did not start".into())
}

async fn report(pool: &RedisPool) -> Result<creditpool::Report, Box<dyn std::error::Error>> {
    match pool.apply(PoolOp::Report { now_ms: 0 }).await? {
        OpResult::Report(r) => Ok(*r),
        other => Err(format!("unexpected answer to a report: {other:?}").into()),
    }
}

/// Runs the Redis mode.
/// Runs the Redis mode. The workers reach the same Messages API server
/// (`base_url`, `api_key`: passed in their environment, never printed).
pub async fn run(mode: Mode, client: &Client, config: PoolConfig, base_url: &str, api_key: &str) -> Result<(), Box<dyn std::error::Error>> {
    match mode {
        Mode::Worker { url, name, index } => worker(&url, &name, index, client).await,
        Mode::Fleet { url, processes } => fleet(url, processes, config, base_url, api_key).await,
    }
}

async fn fleet(url: Option<String>, processes: usize, config: PoolConfig, base_url: &str, api_key: &str) -> Result<(), Box<dyn std::error::Error>> {
    let local = if url.is_none() { Some(start_local_redis()?) } else { None };
    let url = url.unwrap_or_else(|| local.as_ref().map(|l| l.url.clone()).unwrap_or_default());
    let name = format!("demo-{}", std::process::id());
    let limit = config.limit;
    let pool = RedisPool::connect(&url, &name, config).await?;
    println!("creditpool demo: {processes} processes share one pool in Redis ({url}, pool \"{name}\")");
    println!("each runs the agents researcher, analyst and intern (their caps are per agent, fleet-wide); limit {}", usd(limit));
    let me = std::env::current_exe()?;
    let mut children = Vec::new();
    for i in 1..=processes {
        let mut child = Command::new(&me)
            .args(["--worker", &url, &name, &i.to_string()])
            .env("ANTHROPIC_BASE_URL", base_url)
            .env("ANTHROPIC_API_KEY", api_key)
            .env_remove("CREDITPOOL_BASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let out = child.stdout.take().ok_or("no stdout")?;
        let printer = std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                println!("[process {i}] {}", line.trim_start());
            }
        });
        children.push((child, printer));
    }
    // While they run: sample committed spend, deliver alerts (one consumer here).
    let (mut peak, mut samples) = (Money::ZERO, 0u64);
    loop {
        let running = children.iter_mut().any(|(c, _)| matches!(c.try_wait(), Ok(None)));
        let r = report(&pool).await?;
        let committed = r.settled.checked_add(r.reserved).unwrap_or(Money::MAX);
        peak = peak.max(committed);
        samples += 1;
        if committed > r.limit {
            println!("!!! committed {} above the limit {}", usd(committed), usd(r.limit));
        }
        pool.deliver_alerts("demo", |alert| {
            println!("{}", alert_line(&alert).replace("on_alert callback", "outbox stream, consumer group"));
            async { Ok(()) }
        })
        .await?;
        if !running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for (mut c, printer) in children {
        let status = c.wait()?;
        let _ = printer.join();
        if !status.success() {
            eprintln!("a worker exited with {status}");
        }
    }
    let r = report(&pool).await?;
    print_report_of(&r, peak);
    println!();
    println!(
        "{processes} processes, one pool: peak committed {} of the limit {} over {samples} samples taken while they ran{}",
        usd(peak),
        usd(limit),
        if peak <= limit { " (the limit held across them)" } else { " (ABOVE THE LIMIT)" }
    );
    drop(local);
    if peak > limit {
        return Err("the limit did not hold".into());
    }
    Ok(())
}

async fn worker(url: &str, name: &str, index: usize, client: &Client) -> Result<(), Box<dyn std::error::Error>> {
    let pool = std::sync::Arc::new(RedisPool::join(url, name).await?);
    let agents: Vec<Agent> = ["researcher", "analyst", "intern"]
        .into_iter()
        .map(|id| {
            Agent::builder(client, &pool)
                .agent_id(id)
                .user_id(format!("{id}@{index}"))
                .model(MODEL)
                .max_tokens(MAX_TOKENS)
                .system("You are a shopping assistant. Use the tools to answer; be brief.")
                .tool(search_tool())
                .max_turns(4)
                .build()
        })
        .collect::<Result<_, _>>()?;
    let mut active = vec![true; agents.len()];
    for round in 1..=MAX_ROUNDS {
        if !active.contains(&true) {
            break;
        }
        println!("-- round {round} --");
        let runs = agents.iter().zip(&active).filter(|(_, on)| **on).map(|(agent, _)| async move { (agent.agent_id().to_owned(), agent.run(PROMPT).await) });
        let mut exhausted = false;
        for (id, result) in futures_util::future::join_all(runs).await {
            let outcome = result?;
            println!("{}", outcome_line(&id, &outcome));
            if let RunStatus::PoolRefused { refusal } = &outcome.status {
                match refusal {
                    Refusal::PoolExhausted { .. } => exhausted = true,
                    _ => {
                        if let Some(i) = agents.iter().position(|a| a.agent_id() == id) {
                            active[i] = false;
                        }
                    }
                }
            }
        }
        // The pool is spent for this process when it refused with nothing
        // of this process's held; others may still be finishing.
        if exhausted {
            let r = report(&pool).await?;
            if r.reserved.is_zero() {
                println!("the pool is spent: {} of {} settled", usd(r.settled), usd(r.limit));
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}
