//! Issue 13 item 7 in Rust: a tool that fails is not silent, and its error
//! (which may hold a secret) is not what the model reads. Against the
//! `creditpool-sim` binary, whose `GET /_sim/requests` shows what the model
//! was really sent.
//!
//! Checked: the turn that asked for the call keeps a failure record with the
//! error's display chain (`TurnRecord::tool_failures`, never serialized);
//! `tracing` got it (target `creditpool::agent`); the request after the tool
//! carries the core's default words, not the secret; a formatter
//! (`AgentBuilder::tool_error`) chooses what the model reads when the words
//! ask for `{error}`.
#![cfg(feature = "reqwest")]

use creditpool::{Agent, AgentTexts, Client, Money, PoolConfig, RunStatus, SharedPool, Tool};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

mod sim_common;

const MODEL: &str = "claude-haiku-4-5";
const SECRET: &str = "postgres://admin:hunter2@db.internal/prod";

/// An error with a cause: `{:#}` shows the chain, `{}` only the outer words.
#[derive(Debug)]
struct LookupFailed;

impl std::fmt::Display for LookupFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if f.alternate() {
            write!(f, "lookup failed: cannot reach {SECRET}")
        } else {
            write!(f, "lookup failed")
        }
    }
}

/// Records every event's target, level and fields.
struct Recorder(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0 += &format!("{}={:?} ", field.name(), value);
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.0.lock().unwrap().push(format!("{} {} {}", event.metadata().target(), event.metadata().level(), fields.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn lookup() -> Tool {
    Tool::new("lookup", "Look an item up.", json!({"type": "object", "properties": {"item": {"type": "string"}}}), |_input| async move { Err::<String, _>(LookupFailed) })
}

fn script() -> Value {
    json!({"steps": [{"tool_use": [{"name": "lookup", "input": {"item": "lamp"}}]}, {"text": "Sorry."}]})
}

/// The `tool_result` blocks of the requests the simulator received.
async fn tool_results_received(url: &str) -> Vec<Value> {
    let body = reqwest::get(format!("{url}/_sim/requests")).await.unwrap().bytes().await.unwrap();
    let requests: Value = serde_json::from_slice(&body).unwrap();
    let mut out = Vec::new();
    for r in requests.as_array().unwrap() {
        for m in r["body"]["messages"].as_array().unwrap() {
            for b in m["content"].as_array().into_iter().flatten() {
                if b["type"] == "tool_result" {
                    out.push(b.clone());
                }
            }
        }
    }
    out
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_tool_is_kept_on_its_turn_logged_and_the_model_reads_the_safe_default_words() {
    let sim = sim_common::start("tool-failures", None, Some(&script()), &[]);
    let events = Arc::new(Mutex::new(Vec::new()));
    let _guard = tracing::subscriber::set_default(Recorder(events.clone()));
    // Both tests of this file log a tool failure, each on its own thread:
    // have the callsites' interest computed with this thread's recorder in
    // place, whichever test reaches them first (a fresh-clone run once saw
    // no event here).
    tracing::callsite::rebuild_interest_cache();
    let client = Client::builder().api_key("sk-sim").base_url(&sim.url).build().unwrap();
    let pool = SharedPool::new(PoolConfig::new(Money::from_usd(1).unwrap())).unwrap();
    let agent = Agent::builder(&client, &pool).agent_id("a").model(MODEL).max_tokens(50).tool(lookup()).build().unwrap();
    let outcome = agent.run("Look up a lamp").await.unwrap();
    assert!(matches!(outcome.status, RunStatus::Completed), "{:?}", outcome.status);

    // The turn that asked for the call keeps the failure with the error's chain.
    assert_eq!(outcome.turns.len(), 2);
    let [failure] = outcome.turns[0].tool_failures.as_slice() else { panic!("{:?}", outcome.turns[0].tool_failures) };
    assert_eq!(failure.tool, "lookup");
    assert!(failure.call_id.starts_with("toolu_"), "{}", failure.call_id);
    assert_eq!(failure.error.as_deref(), Some(format!("lookup failed: cannot reach {SECRET}").as_str()));
    assert!(outcome.turns[1].tool_failures.is_empty());
    // ... and never in the outcome's JSON.
    let json = serde_json::to_string(&outcome).unwrap();
    assert!(json.contains(r#""tool_failures":[{"call_id""#) && !json.contains(SECRET), "{json}");

    // Logged through tracing, with the whole chain.
    let events = events.lock().unwrap().clone();
    let logged: Vec<&String> = events.iter().filter(|e| e.starts_with("creditpool::agent WARN") && e.contains("tool failed")).collect();
    assert_eq!(logged.len(), 1, "{events:?}");
    assert!(logged[0].contains("tool=lookup") && logged[0].contains(SECRET), "{}", logged[0]);

    // What the model was sent: the core's default words, not the secret.
    let results = tool_results_received(&sim.url).await;
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["is_error"], true);
    let text = results[0]["content"].to_string();
    assert!(text.contains(&AgentTexts::fill(AgentTexts::TOOL_FAILED, "lookup", "").replace('"', "\\\"")), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[tokio::test(flavor = "current_thread")]
async fn the_formatter_chooses_what_the_model_reads_when_the_words_ask_for_the_error() {
    // A recorder of its own, so that this test never registers the failure's
    // log callsite without a subscriber (see the test above).
    let _guard = tracing::subscriber::set_default(Recorder(Default::default()));
    tracing::callsite::rebuild_interest_cache();
    let sim = sim_common::start("tool-failures-fmt", None, Some(&script()), &[]);
    let client = Client::builder().api_key("sk-sim").base_url(&sim.url).build().unwrap();
    let pool = SharedPool::new(PoolConfig::new(Money::from_usd(1).unwrap())).unwrap();
    let texts = AgentTexts { tool_failed: AgentTexts::TOOL_FAILED_WITH_ERROR.into(), ..AgentTexts::default() };
    let agent = Agent::builder(&client, &pool)
        .agent_id("a")
        .model(MODEL)
        .max_tokens(50)
        .tool(lookup())
        .texts(texts)
        .tool_error(|error| error.split(':').next().unwrap_or_default().to_owned())
        .build()
        .unwrap();
    let outcome = agent.run("Look up a lamp").await.unwrap();
    assert!(matches!(outcome.status, RunStatus::Completed), "{:?}", outcome.status);
    let results = tool_results_received(&sim.url).await;
    assert_eq!(results[0]["content"], json!("The tool \"lookup\" failed: lookup failed"));
    // The record keeps the whole error whatever the model read.
    assert!(outcome.turns[0].tool_failures[0].error.as_deref().unwrap().contains(SECRET));
}
