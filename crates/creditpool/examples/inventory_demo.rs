//! The creditpool demo: three agents with a `search_database` tool share one
//! small credit pool until it is spent.
//!
//! Each round, every agent still allowed to spend runs the prompt "Find
//! products under $50" (concurrently). The output shows the tool calls, the
//! alerts at 50, 75 and 90 % of the limit, the refusals (an agent's cap, then
//! the pool itself), and the usage report per agent, tool and model.
//!
//! Where it runs:
//!
//! * `ANTHROPIC_BASE_URL` set (the official SDKs' variable): against that
//!   server (a running `creditpool-sim`, say), with `ANTHROPIC_API_KEY` if set
//!   (`CREDITPOOL_BASE_URL`, the name used before, still works, with a
//!   deprecation note);
//! * else `ANTHROPIC_API_KEY` set: against the real API (the pool's limit
//!   bounds what it spends);
//! * else: it starts the offline simulator itself (`creditpool-sim --port 0`),
//!   found at `CREDITPOOL_SIM`, beside this example's binary in the target
//!   directory, or on the `PATH`.
//!
//! `bash scripts/demo.sh` builds both and runs this.
//!
//! At the end it draws the pool's activity from its ledger (and the refusals
//! it saw) as `creditpool-demo-activity.html` beside the ledger: the Vega
//! bundles inlined when `target/vega-lite/node_modules` holds them (`bash
//! scripts/lib/vega-lite-schema.sh` installs them; or set `CREDITPOOL_VEGA_DIR`
//! to a `node_modules` directory), so that the page opens offline; otherwise
//! the page loads them from a CDN.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use creditpool::core::activity::{parse_ledger_jsonl, standalone_html, Activity, ActivityOptions, RefusalEvent, VegaScripts};
use creditpool::core::pool::Name;
use creditpool::{
    Agent, AgentEvent, AgentPolicy, Alert, AlertKind, Cap, Client, Money, Outcome, OutcomeExt, PoolConfig, Refusal, RunStatus, SharedPool, Tool, WaitReason,
};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const MODEL: &str = "claude-haiku-4-5";
const PROMPT: &str = "Find products under $50";
const MAX_TOKENS: u32 = 300;
const MAX_ROUNDS: usize = 30;

/// The product inventory the tool searches.
const INVENTORY: &[(&str, &str, &str, u32, u32)] = &[
    // (sku, name, category, price in cents, stock)
    ("SKU-1001", "Ceramic coffee mug", "kitchen", 1_250, 140),
    ("SKU-1002", "Stainless steel water bottle", "kitchen", 2_400, 85),
    ("SKU-1003", "LED desk lamp", "office", 3_499, 40),
    ("SKU-1004", "Wireless mouse", "electronics", 2_999, 64),
    ("SKU-1005", "Mechanical keyboard", "electronics", 8_900, 22),
    ("SKU-1006", "Noise-cancelling headphones", "electronics", 19_900, 9),
    ("SKU-1007", "Cotton tote bag", "accessories", 1_500, 200),
    ("SKU-1008", "Yoga mat", "fitness", 4_500, 31),
    ("SKU-1009", "Adjustable dumbbells", "fitness", 14_900, 6),
    ("SKU-1010", "Paperback notebook (3-pack)", "office", 999, 310),
    ("SKU-1011", "Ergonomic office chair", "office", 24_900, 4),
    ("SKU-1012", "USB-C charging cable", "electronics", 1_199, 420),
];

/// Answers a free-text query: a price bound ("under $50", "over $100") and
/// keywords matched against names and categories. One line per product.
fn search_inventory(query: &str) -> String {
    let q = query.to_lowercase();
    let number_after = |words: &[&str]| -> Option<u32> {
        words.iter().find_map(|w| {
            let rest = q.split(w).nth(1)?;
            let digits: String = rest.trim_start().trim_start_matches('$').chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
            digits.parse::<f64>().ok().map(|d| (d * 100.0).round() as u32)
        })
    };
    let max = number_after(&["under", "below", "less than", "cheaper than"]);
    let min = number_after(&["over", "above", "more than"]);
    const IGNORED: &[&str] =
        &["find", "products", "product", "under", "below", "over", "above", "less", "more", "than", "show", "all", "the", "any", "items", "cheaper"];
    let keywords: Vec<String> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2 && !w.chars().all(|c| c.is_ascii_digit()) && !IGNORED.contains(w))
        .map(|w| w.trim_end_matches('s').to_owned())
        .collect();
    let hits: Vec<String> = INVENTORY
        .iter()
        .filter(|(_, _, _, price, _)| max.is_none_or(|m| *price < m) && min.is_none_or(|m| *price > m))
        .filter(|(_, name, category, _, _)| {
            let text = format!("{} {}", name.to_lowercase(), category);
            keywords.is_empty() || keywords.iter().any(|k| text.contains(k.as_str()))
        })
        .map(|(sku, name, category, price, stock)| format!("{name} ({sku}, {category}): ${}.{:02}, {stock} in stock", price / 100, price % 100))
        .collect();
    format!("{} matching products. {}", hits.len(), hits.join("; "))
}

fn search_tool() -> Tool {
    Tool::new(
        "search_database",
        "Query the product inventory database.",
        json!({"type": "object", "properties": {"query": {"type": "string", "description": "What to look for, e.g. \"products under $50\""}}, "required": ["query"]}),
        |input| async move {
            let query = input["query"].as_str().unwrap_or_default();
            Ok::<_, String>(search_inventory(query))
        },
    )
}

/// The simulator, stopped when this value is dropped (its stdin closes).
struct Simulator {
    child: Child,
    url: String,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn simulator_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("CREDITPOOL_SIM") {
        return PathBuf::from(p);
    }
    let exe = if cfg!(windows) { "creditpool-sim.exe" } else { "creditpool-sim" };
    // target/<profile>/examples/inventory_demo -> target/<profile>/creditpool-sim
    if let Ok(me) = std::env::current_exe() {
        if let Some(profile_dir) = me.parent().and_then(|examples| examples.parent()) {
            let beside = profile_dir.join(exe);
            if beside.is_file() {
                return beside;
            }
        }
    }
    PathBuf::from(exe)
}

fn start_simulator() -> Result<Simulator, String> {
    let bin = simulator_binary();
    let mut child = Command::new(&bin)
        .args(["--port", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e} (build it with `cargo build -p creditpool-sim`, or set CREDITPOOL_SIM)", bin.display()))?;
    let mut line = String::new();
    let stdout = child.stdout.take().ok_or("the simulator has no stdout")?;
    BufReader::new(stdout).read_line(&mut line).map_err(|e| e.to_string())?;
    let url = line.trim().strip_prefix("listening on ").ok_or_else(|| format!("unexpected first line from the simulator: {line:?}"))?.to_owned();
    Ok(Simulator { child, url })
}

/// The `node_modules` directory holding vega, vega-lite and vega-embed, if any:
/// `CREDITPOOL_VEGA_DIR`, else `<target>/vega-lite/node_modules` beside this
/// example's binary (where `scripts/lib/vega-lite-schema.sh` installs them).
fn vega_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("CREDITPOOL_VEGA_DIR") {
        Some(d) => PathBuf::from(d),
        // target/<profile>/examples/inventory_demo -> target/vega-lite/node_modules
        None => std::env::current_exe().ok()?.parent()?.parent()?.parent()?.join("vega-lite").join("node_modules"),
    };
    dir.join("vega-embed/build/vega-embed.min.js").is_file().then_some(dir)
}

/// Writes the activity page; says whether it inlined the Vega bundles.
fn write_activity_html(path: &Path, activity: &Activity) -> std::io::Result<bool> {
    let spec = activity.chart();
    let bundles = vega_dir().and_then(|d| {
        let read = |p: &str| std::fs::read_to_string(d.join(p)).ok();
        Some((read("vega/build/vega.min.js")?, read("vega-lite/build/vega-lite.min.js")?, read("vega-embed/build/vega-embed.min.js")?))
    });
    let (html, offline) = match &bundles {
        Some((vega, vega_lite, vega_embed)) => (standalone_html(&spec, &activity.title, &VegaScripts::Inline { vega, vega_lite, vega_embed }), true),
        None => (standalone_html(&spec, &activity.title, &VegaScripts::Cdn), false),
    };
    std::fs::write(path, html)?;
    Ok(offline)
}

fn alert_line(alert: &Alert) -> String {
    let what = match alert.kind {
        AlertKind::Threshold { percent } => format!("{percent}% of the limit spent"),
        AlertKind::CommittedThreshold { percent } => format!("{percent}% of the limit committed"),
        AlertKind::ProjectedExhaustion { .. } => "projected exhaustion".to_owned(),
    };
    format!("  *** ALERT (on_alert callback): {what}, {} of {}", usd(alert.settled), usd(alert.limit))
}

fn clip(s: &str, n: usize) -> String {
    let s = s.replace('\n', " ");
    if s.chars().count() <= n {
        s
    } else {
        format!("{}...", s.chars().take(n).collect::<String>())
    }
}

fn outcome_line(agent: &str, outcome: &Outcome) -> String {
    let turns = outcome.turns.len();
    let retries: u32 = outcome.turns.iter().map(|t| t.attempts.saturating_sub(1)).sum();
    let retried = if retries > 0 { format!(", {retries} retried") } else { String::new() };
    match &outcome.status {
        RunStatus::Completed => {
            format!("  [{agent:<10}] done in {turns} model calls{retried}, {}: \"{}\"", usd(outcome.total_cost), clip(&outcome.final_text, 64))
        }
        RunStatus::PoolRefused { refusal } => format!("  [{agent:<10}] REFUSED by the pool ({}): {refusal}", refusal.reason()),
        other => match outcome.error() {
            // A typed error with the core's stable code (e.g. `overloaded_error`).
            Some(e) => format!("  [{agent:<10}] ended ({}): {e} after {turns} model call(s), {}", e.code(), usd(outcome.total_cost)),
            None => format!("  [{agent:<10}] ended: {other:?} after {turns} model call(s), {}", usd(outcome.total_cost)),
        },
    }
}

/// Dollars with six decimals (display only; amounts stay integer nano-USD).
fn usd(m: Money) -> String {
    let n = m.nanos();
    format!("${}.{:06}", n / 1_000_000_000, (n % 1_000_000_000) / 1_000)
}

fn pct(part: Money, whole: Money) -> String {
    if whole.is_zero() {
        return "-".into();
    }
    format!("{:.1}%", part.nanos() as f64 * 100.0 / whole.nanos() as f64)
}

fn print_report(pool: &SharedPool) {
    print_report_of(&pool.report(), pool.peak_committed());
}

fn print_report_of(r: &creditpool::Report, peak_committed: Money) {
    println!();
    println!("== Usage report (pool \"{}\") ==", r.pool_id);
    println!(
        "limit {}   settled {} ({})   reserved {}   available {}   requests {}   overrun {}",
        usd(r.limit),
        usd(r.settled),
        pct(r.settled, r.limit),
        usd(r.reserved),
        usd(r.available),
        r.requests,
        usd(r.overrun)
    );
    println!("peak committed (settled + reserved) at any moment: {} (never above the limit)", usd(peak_committed));
    println!();
    println!("{:<12} {:>12} {:>8} {:>9} {:>10} {:>12}", "agent", "settled", "share", "requests", "refusals", "cap");
    for a in &r.agents {
        let cap = a.cap.map_or_else(|| "-".to_owned(), usd);
        println!("{:<12} {:>12} {:>8} {:>9} {:>10} {:>12}", a.agent.as_str(), usd(a.settled), pct(a.settled, r.settled), a.requests, a.refusals, cap);
    }
    println!();
    println!("{:<16} {:>12} {:>12} {:>12} {:>12}", "tool", "definition", "tool_use", "tool_result", "total");
    for t in &r.tools {
        println!("{:<16} {:>12} {:>12} {:>12} {:>12}", t.tool.as_str(), usd(t.stats.definition), usd(t.stats.uses), usd(t.stats.result), usd(t.total));
    }
    println!("{:<16} {:>51}", "(not a tool)", usd(r.conversation));
    println!();
    println!("{:<20} {:>12} {:>9} {:>14} {:>14}", "model", "cost", "requests", "input tokens", "output tokens");
    for m in &r.models {
        println!("{:<20} {:>12} {:>9} {:>14} {:>14}", m.model.as_str(), usd(m.stats.cost), m.stats.requests, m.stats.tokens.input, m.stats.tokens.output);
    }
}

/// The demo's pool: $0.04, three agents with caps and rate limits.
fn demo_config() -> PoolConfig {
    // A small pool: every request reserves its worst case (its body's bytes as
    // input tokens, plus max_tokens of output), so the limit must hold about ten
    // of those for the 90 % alert to fire before the pool refuses.
    let mut config = PoolConfig::new(Money::from_nanos(40_000_000)); // $0.04
    config.pool_id = "demo".into();
    config
        .agents
        .insert("researcher".into(), AgentPolicy { cap: Some(Cap::Share { basis_points: 6_000 }), requests_per_minute: Some(120), ..AgentPolicy::default() });
    config.agents.insert(
        "analyst".into(),
        AgentPolicy { cap: Some(Cap::Share { basis_points: 6_000 }), credits_per_minute: Some(Money::from_nanos(30_000_000)), ..AgentPolicy::default() },
    );
    config.agents.insert("intern".into(), AgentPolicy { cap: Some(Cap::Absolute { amount: Money::from_nanos(6_000_000) }), ..AgentPolicy::default() });
    config
}

// `--redis URL --processes N`: the agents as N processes sharing one pool in
// Redis (examples/inventory_demo_parts is not an example of its own).
#[path = "inventory_demo_parts/redis.rs"]
mod redis_demo;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = std::env::var("ANTHROPIC_API_KEY").ok().filter(|k| !k.trim().is_empty());
    let mut simulator = None;
    let env_url = |name: &str| std::env::var(name).ok().filter(|u| !u.is_empty());
    let base_url_env = env_url("ANTHROPIC_BASE_URL").map(|u| (u, "ANTHROPIC_BASE_URL")).or_else(|| {
        let old = env_url("CREDITPOOL_BASE_URL")?;
        eprintln!("note: CREDITPOOL_BASE_URL is deprecated; set ANTHROPIC_BASE_URL (the official SDKs' variable) instead");
        Some((old, "CREDITPOOL_BASE_URL"))
    });
    let (base_url, api_key, backend) = match (base_url_env, key) {
        (Some((url, var)), key) => (url.clone(), key.unwrap_or_else(|| "sk-demo-simulator".into()), format!("the server at {url} ({var})")),
        (None, Some(key)) => (creditpool::DEFAULT_BASE_URL.to_owned(), key, "the real Anthropic API (ANTHROPIC_API_KEY is set)".to_owned()),
        (None, None) => {
            let sim = start_simulator()?;
            let url = sim.url.clone();
            simulator = Some(sim);
            (url.clone(), "sk-demo-simulator".into(), format!("creditpool-sim, the offline simulator, at {url}"))
        }
    };
    let client = Client::builder().api_key(api_key.clone()).base_url(base_url.clone()).build()?;

    let config = demo_config();
    let limit = config.limit;
    if let Some(mode) = redis_demo::parse(std::env::args().skip(1)) {
        // The same agents as several processes sharing one pool in Redis.
        let result = redis_demo::run(mode?, &client, config, &base_url, &api_key).await;
        drop(simulator);
        return result;
    }
    let activity_options = ActivityOptions { title: Some("Pool \"demo\" activity".into()), ..ActivityOptions::from_config(&config) };
    let pool = SharedPool::new(config)?;
    pool.on_alert(|alert| println!("{}", alert_line(alert)));
    pool.on_error(|e| eprintln!("  (pool output error: {e})"));
    let ledger_path = std::env::temp_dir().join("creditpool-demo-ledger.jsonl");
    let _ = std::fs::remove_file(&ledger_path);
    pool.ledger_file(&ledger_path)?;

    println!("creditpool demo: agents with a tool, sharing one credit pool");
    println!("backend: {backend}");
    println!("model {MODEL}, max_tokens {MAX_TOKENS}; prompt: \"{PROMPT}\"");
    println!("pool \"demo\": limit {limit} per cycle; alerts at 50, 75, 90 and 100 % of it");
    println!("  researcher: cap 60% of the limit, 120 requests/min");
    println!("  analyst:    cap 60% of the limit, $0.03 of credits/min");
    println!("  intern:     cap $0.006");

    let agents: Vec<Agent> = ["researcher", "analyst", "intern"]
        .into_iter()
        .map(|id| {
            let name = id.to_owned();
            Agent::builder(&client, &pool)
                .agent_id(id)
                .model(MODEL)
                .max_tokens(MAX_TOKENS)
                .system("You are a shopping assistant. Use the tools to answer; be brief.")
                .tool(search_tool())
                .max_turns(4)
                // Agents stream by default; two of the three take whole responses.
                .streaming(id == "analyst")
                .on_event(move |event| match event {
                    AgentEvent::ToolResult { call, result } => {
                        let text = result.content.text();
                        let summary = text.split(". ").next().unwrap_or_default();
                        let error = if result.is_error { "error: " } else { "" };
                        println!("  [{name:<10}] tool call {}({}) -> {error}{summary}", call.name, call.input);
                    }
                    AgentEvent::Wait { until_ms, reason } => {
                        let why = if *reason == WaitReason::RateLimited { "rate limited by the pool" } else { "retrying" };
                        let ms = until_ms.saturating_sub(creditpool::time::now_ms());
                        println!("  [{name:<10}] waits {ms} ms ({why})");
                    }
                    _ => {}
                })
                .build()
        })
        .collect::<Result<_, _>>()?;

    let mut active: Vec<bool> = vec![true; agents.len()];
    let pool_spent = Arc::new(AtomicBool::new(false));
    let mut refusals: Vec<RefusalEvent> = Vec::new();
    for round in 1..=MAX_ROUNDS {
        if !active.contains(&true) || pool_spent.load(Ordering::Relaxed) {
            break;
        }
        println!();
        let settled = pool.report().settled;
        println!("-- round {round} --  settled so far {} of {} ({})", usd(settled), usd(limit), pct(settled, limit));
        let runs = agents.iter().zip(&active).filter(|(_, on)| **on).map(|(agent, _)| async move { (agent.agent_id().to_owned(), agent.run(PROMPT).await) });
        let results = futures_util::future::join_all(runs).await;
        let mut exhausted_for: Option<Money> = None;
        for (id, result) in results {
            let outcome = result?;
            println!("{}", outcome_line(&id, &outcome));
            if let RunStatus::PoolRefused { refusal } = &outcome.status {
                refusals.push(RefusalEvent { at_ms: creditpool::time::now_ms(), agent: Name::new(&id), reason: refusal.reason().to_owned() });
                match refusal {
                    Refusal::PoolExhausted { requested, .. } => exhausted_for = Some(*requested),
                    _ => {
                        if let Some(i) = agents.iter().position(|a| a.agent_id() == id) {
                            active[i] = false;
                            println!("  [{id:<10}] stops: its own limit is reached; the others go on");
                        }
                    }
                }
            }
        }
        // A refusal while other agents held reservations may pass once they
        // settle; the pool is spent when, with nothing reserved, what is left
        // cannot cover the refused request's worst case.
        if let Some(requested) = exhausted_for {
            let report = pool.report();
            if report.reserved.is_zero() && report.available < requested {
                pool_spent.store(true, Ordering::Relaxed);
            } else {
                println!("  (that refusal came while other agents held reservations; {} is still available)", usd(report.available));
            }
        }
    }
    if pool_spent.load(Ordering::Relaxed) {
        println!();
        println!("The pool is spent: it refused a request whose worst case no longer fits, before anything was sent.");
    }
    // Alerts still being delivered get ten seconds; what is left is reported.
    if !pool.close(std::time::Duration::from_secs(10)).await {
        eprintln!("some webhook deliveries did not finish within 10 s");
    }
    print_report(&pool);
    println!();
    println!("ledger (one JSON line per settle and release): {}", ledger_path.display());
    // The activity, drawn from the ledger file (any ledger draws the same way).
    let ledger = parse_ledger_jsonl(&std::fs::read_to_string(&ledger_path)?)?;
    let activity = Activity::from_ledger_with_refusals(&ledger, &refusals, &activity_options);
    let html_path = ledger_path.with_file_name("creditpool-demo-activity.html");
    match write_activity_html(&html_path, &activity) {
        Ok(true) => println!("activity charts (open in a browser, works offline): {}", html_path.display()),
        Ok(false) => println!(
            "activity charts (open in a browser; loads Vega from a CDN: run `bash scripts/lib/vega-lite-schema.sh` for an offline page): {}",
            html_path.display()
        ),
        Err(e) => eprintln!("could not write {}: {e}", html_path.display()),
    }
    drop(simulator);
    Ok(())
}
