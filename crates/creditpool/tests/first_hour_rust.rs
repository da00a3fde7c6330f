//! Issue 13 in Rust, the items whose Rust half had no test of its own: a
//! newcomer's mistake reproduced, the new behaviour checked.
//!
//! Item 3: a pool that names its agents refuses a misspelled agent, with the
//! known names and the closest one, before anything is sent; allowing others
//! is explicit, under their own policy.
//! Item 9: errors in Rust's words: an unknown model names the closest one and
//! Rust's own way to price it; an agent's 401 reads as words, not a variant.
#![cfg(feature = "reqwest")]

use creditpool::{Agent, AgentPolicy, Cap, Client, Error, Money, OutcomeExt, PoolConfig, Refusal, RunStatus, SharedPool};

mod sim_common;

const MODEL: &str = "claude-haiku-4-5";

fn usd(n: u64) -> Money {
    Money::from_usd(n).unwrap()
}

fn named_pool(allow_others: Option<AgentPolicy>) -> SharedPool {
    let mut config = PoolConfig::new(usd(10));
    config.agents.insert("researcher".into(), AgentPolicy { cap: Some(Cap::Absolute { amount: usd(1) }), ..AgentPolicy::default() });
    config.agents.insert("writer".into(), AgentPolicy::default());
    let config = match allow_others {
        Some(policy) => config.allow_unknown_agents_with(policy),
        None => config,
    };
    SharedPool::new(config).unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn a_misspelled_agent_is_refused_with_the_known_names_and_the_closest_before_sending() {
    let sim = sim_common::start("first-hour-rust", None, None, &[]);
    let client = Client::builder().api_key("sk-sim").base_url(&sim.url).build().unwrap();
    let pool = named_pool(None);
    let agent = Agent::builder(&client, &pool).agent_id("reseacher").model(MODEL).max_tokens(50).build().unwrap();
    let outcome = agent.run("Hello").await.unwrap();
    let RunStatus::PoolRefused { refusal: Refusal::UnknownAgent { agent, known, suggestion } } = &outcome.status else {
        panic!("not refused as unknown: {:?}", outcome.status)
    };
    assert_eq!(agent.as_str(), "reseacher");
    assert_eq!(known.iter().map(|k| k.as_str()).collect::<Vec<_>>(), ["researcher", "writer"]);
    assert_eq!(suggestion.as_ref().map(|s| s.as_str()), Some("researcher"));
    let e = outcome.error().expect("a typed error");
    assert_eq!(e.code(), "unknown_agent");
    assert!(e.to_string().contains("did you mean \"researcher\"?"), "{e}");
    // Nothing was sent, nothing spent.
    assert_eq!(outcome.turns.len(), 0);
    assert_eq!(pool.with(|p| p.state().committed()), Money::ZERO);
}

#[tokio::test(flavor = "current_thread")]
async fn allowing_unknown_agents_is_explicit_and_under_their_own_cap() {
    let pool = named_pool(Some(AgentPolicy { cap: Some(Cap::Absolute { amount: Money::from_nanos(2_000) }), ..AgentPolicy::default() }));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let ok = pool.with(|p| p.reserve("reseacher", Money::from_nanos(2_000), now));
    assert!(ok.is_ok(), "{ok:?}");
    let capped = pool.with(|p| p.reserve("reseacher", Money::from_nanos(1), now));
    assert!(matches!(capped, Err(Refusal::AgentCap { .. })), "{capped:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn an_unknown_model_names_the_closest_and_how_to_price_it_in_rust() {
    let client = Client::builder().api_key("sk-sim").base_url("http://127.0.0.1:9").build().unwrap();
    let pool = named_pool(None);
    let e = Agent::builder(&client, &pool).agent_id("writer").model("claude-haiku-4.5").build().unwrap_err();
    let text = e.to_string();
    assert_eq!(e.code(), "unknown_model", "{text}");
    assert!(text.contains("claude-haiku-4-5"), "no suggestion in: {text}");
    assert!(text.contains("PriceTable::with_override"), "not Rust's words: {text}");
    assert!(!text.contains("price_overrides") && !text.contains("priceOverrides"), "{text}");
}

#[tokio::test(flavor = "current_thread")]
async fn an_agents_401_reads_as_words_not_a_rust_variant() {
    let sim = sim_common::start("first-hour-rust-401", Some("sk-right"), None, &[]);
    let client = Client::builder().api_key("sk-wrong").base_url(&sim.url).build().unwrap();
    let pool = named_pool(None);
    let agent = Agent::builder(&client, &pool).agent_id("writer").model(MODEL).max_tokens(50).build().unwrap();
    let outcome = agent.run("Hello").await.unwrap();
    let e = outcome.error().expect("a typed error");
    let text = e.to_string();
    assert_eq!(e.code(), "authentication_error", "{text}");
    assert!(matches!(e, Error::Run { .. }), "{e:?}");
    assert!(text.contains("an HTTP 401 answer does not change on retry"), "{text}");
    assert!(!text.contains("NotRetryable") && !text.contains("status: 401"), "{text}");
}
