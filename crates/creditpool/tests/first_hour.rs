//! A new user's first hour (issue 13), in Rust, against the `creditpool-sim`
//! binary over real loopback HTTP.
//!
//! Item 10: the pool selector sent to an API that does not know it. The
//! simulator started with `--reject-pool-selector` answers the selector as
//! the real API answers an unknown field (400 `credit_pool: Extra inputs are
//! not permitted`); the call and the agent run end with the core's typed
//! error (`pool_selector_rejected`) whose words say how to switch the
//! selector off in Rust, and `no_pool_selector()` then works.
#![cfg(feature = "reqwest")]

use creditpool::{Agent, Client, Error, MessageRequest, Money, OutcomeExt, PoolConfig, RunStatus, SharedPool};
use serde_json::Value;

const MODEL: &str = "claude-haiku-4-5";

mod sim_common;
use sim_common::Sim;

fn start_sim(args: &[&str]) -> Sim {
    sim_common::start("first-hour", None, None, args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_that_does_not_know_the_selector_gets_a_typed_error_in_rusts_words() {
    let sim = start_sim(&["--reject-pool-selector"]);
    let client = Client::builder().api_key("sk-sim").base_url(&sim.url).build().unwrap();
    let err = client.messages().create(&MessageRequest::new(MODEL, 20, "Hello")).await.unwrap_err();
    assert_eq!(err.code(), "pool_selector_rejected", "{err}");
    assert!(matches!(err, Error::Call(_)));
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.api_error().map(|a| a.message.as_str()), Some("credit_pool: Extra inputs are not permitted"));
    let text = err.to_string();
    assert!(text.contains("pool selector field `credit_pool`") && text.contains("no_pool_selector()"), "{text}");

    // An agent's run ends the same way, typed, and spends nothing.
    let pool = SharedPool::new(PoolConfig::new(Money::from_usd(1).unwrap())).unwrap();
    let agent = Agent::builder(&client, &pool).agent_id("a").model(MODEL).max_tokens(20).build().unwrap();
    let outcome = agent.run("Hello").await.unwrap();
    assert!(matches!(&outcome.status, RunStatus::Failed { code, http_status: Some(400), .. } if code == "pool_selector_rejected"), "{:?}", outcome.status);
    let run_error = outcome.error().expect("a failed run has an error");
    assert_eq!(run_error.code(), "pool_selector_rejected");
    assert!(run_error.to_string().contains("no_pool_selector()"), "{run_error}");
    assert_eq!(pool.with(|p| p.state().settled()), Money::ZERO);

    // The remedy the words name works.
    let plain = Client::builder().api_key("sk-sim").base_url(&sim.url).no_pool_selector().build().unwrap();
    let message = plain.messages().create(&MessageRequest::new(MODEL, 20, "Hello")).await.unwrap();
    assert!(!message.message.content.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_other_400_for_an_unknown_field_stays_a_bad_request() {
    let sim = start_sim(&["--reject-pool-selector"]);
    let client = Client::builder().api_key("sk-sim").base_url(&sim.url).no_pool_selector().build().unwrap();
    let mut request = MessageRequest::new(MODEL, 20, "Hello");
    request.extra.insert("brand_new".into(), Value::Bool(true));
    let err = client.messages().create(&request).await.unwrap_err();
    assert_eq!(err.code(), "invalid_request_error", "{err}");
    assert!(!err.to_string().contains("no_pool_selector"), "{err}");
}

// ----- item 7: a tool that fails is logged through `tracing` -----

/// Records every event's target and fields.
struct Recorder(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

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

#[tokio::test(flavor = "current_thread")]
async fn a_tool_that_fails_is_logged_and_its_error_is_not_shown_to_the_model() {
    const SECRET: &str = "postgres://admin:hunter2@db.internal/prod";
    let dir = std::env::temp_dir().join(format!("creditpool-first-hour-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("scenario.json");
    let steps = serde_json::json!({"steps": [{"tool_use": [{"name": "lookup", "input": {"item": "lamp"}}]}, {"text": "Sorry."}]});
    std::fs::write(&scenario, steps.to_string()).unwrap();
    let sim = start_sim(&["--scenario", scenario.to_str().unwrap()]);
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let _guard = tracing::subscriber::set_default(Recorder(events.clone()));

    let client = Client::builder().api_key("sk-sim").base_url(&sim.url).build().unwrap();
    let pool = SharedPool::new(PoolConfig::new(Money::from_usd(1).unwrap())).unwrap();
    let lookup = creditpool::Tool::new("lookup", "Look an item up.", serde_json::json!({"type": "object", "properties": {"item": {"type": "string"}}}), |_input| async move {
        Err::<String, String>(format!("cannot reach {SECRET}"))
    });
    let agent = Agent::builder(&client, &pool).agent_id("a").model(MODEL).max_tokens(50).tool(lookup).build().unwrap();
    let outcome = agent.run("Look up a lamp").await.unwrap();
    assert!(matches!(outcome.status, RunStatus::Completed), "{:?}", outcome.status);
    let transcript = serde_json::to_string(&outcome.transcript).unwrap();
    assert!(transcript.contains(r#"The tool \"lookup\" failed. Its error is not shown"#), "{transcript}");
    assert!(!transcript.contains(SECRET), "{transcript}");
    let events = events.lock().unwrap().clone();
    let logged: Vec<&String> = events.iter().filter(|e| e.starts_with("creditpool::agent WARN") && e.contains("tool failed")).collect();
    assert_eq!(logged.len(), 1, "{events:?}");
    assert!(logged[0].contains("tool=lookup") && logged[0].contains(SECRET), "{}", logged[0]);
    let _ = std::fs::remove_dir_all(&dir);
}
