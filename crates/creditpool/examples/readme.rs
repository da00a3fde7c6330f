//! README.md's Rust example, verbatim (crates/creditpool/tests/readme.rs checks
//! that the two are the same): `cargo test` builds every example, so the
//! README's code compiles. Run it with `cargo run -p creditpool --example readme`
//! (ANTHROPIC_API_KEY, or ANTHROPIC_BASE_URL pointing at creditpool-sim).
#![allow(clippy::print_stdout, clippy::print_stderr)]
use creditpool::{Agent, AgentPolicy, Cap, Client, Money, PoolConfig, SharedPool, Tool};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), creditpool::Error> {
    // A $2 pool; the agent "researcher" may spend at most half of it.
    let mut config = PoolConfig::new(Money::from_usd(2).unwrap_or(Money::ZERO));
    config.agents.insert("researcher".into(), AgentPolicy { cap: Some(Cap::Share { basis_points: 5_000 }), ..AgentPolicy::default() });
    let pool = SharedPool::new(config)?;
    pool.on_alert(|alert| eprintln!("ALERT {}", alert.text())); // 50, 75, 90, 100 %

    // The key from ANTHROPIC_API_KEY, the server from ANTHROPIC_BASE_URL (default the API);
    // or in code: Client::builder().base_url("http://127.0.0.1:8080").build()?
    let client = Client::new()?;
    let search = Tool::new(
        "search_database",
        "Query the product inventory database.",
        json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),
        |input| async move { Ok::<_, String>(format!("no products match {}", input["query"])) },
    );
    let agent = Agent::builder(&client, &pool).agent_id("researcher").model("claude-haiku-4-5").tool(search).build()?;
    let outcome = agent.run("Find products under $50").await?;
    println!("{:?}: {} for {}", outcome.status, outcome.final_text, outcome.total_cost);
    for agent in pool.report().agents {
        println!("{}: {} in {} requests", agent.agent, agent.settled, agent.requests);
    }
    Ok(())
}
