//! The async driver against a scripted loopback server: single calls, streams,
//! retries, timeouts, resets, agents with tools, cancellation and webhooks.
#![cfg(feature = "reqwest")]
#![allow(clippy::print_stdout)]

mod mock;

use creditpool::core::agent::AgentTexts;
use creditpool::core::api::{Tool as ToolDefinition, ToolSpec};
use creditpool::core::pool::webhook::{verify_delivery, verify_signature, DEFAULT_TOLERANCE_S, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use creditpool::{
    Agent, AgentEvent, Client, Error, MessageRequest, Money, OutcomeExt, PoolConfig, RetryPolicy, RunStatus, SharedPool, StreamItem, Tool, Webhook,
};
use futures_util::StreamExt;
use mock::{error_body, message, ok, text_reply, text_stream, Mock, Reply};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KEY: &str = "sk-test-driver-0123456789";

fn fast_retry() -> RetryPolicy {
    RetryPolicy { max_retries: 3, initial_backoff_ms: 1, max_backoff_ms: 5, ..RetryPolicy::default() }
}

fn client(mock: &Mock) -> Client {
    Client::builder().api_key(KEY).base_url(&mock.url).retry_policy(fast_retry()).build().unwrap()
}

fn request() -> MessageRequest {
    MessageRequest::new("claude-haiku-4-5", 100, "Hello")
}

fn dollars(n: u64) -> Money {
    Money::from_usd(n).unwrap()
}

fn search_schema() -> serde_json::Value {
    json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]})
}

#[tokio::test]
async fn create_sends_the_key_version_and_selector_and_reads_the_message() {
    let mock = Mock::start(vec![text_reply("Hi there", "req_1")]).await;
    let done = client(&mock).messages().create(&request()).await.unwrap();
    assert_eq!(done.message.text(), "Hi there");
    assert_eq!(done.request_id.as_deref(), Some("req_1"));
    assert_eq!(done.attempts, 1);
    let sent = &mock.requests()[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some(KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.json()["credit_pool"], "programmatic");
}

#[tokio::test]
async fn a_429_and_a_529_are_retried_after_the_server_delay() {
    let retry = vec![("retry-after-ms".to_owned(), "1".to_owned())];
    let mock = Mock::start(vec![
        Reply::Body { status: 429, headers: retry.clone(), body: error_body("rate_limit_error", "slow down") },
        Reply::Body { status: 529, headers: retry, body: error_body("overloaded_error", "busy") },
        text_reply("done", "req_3"),
    ])
    .await;
    let done = client(&mock).messages().create(&request()).await.unwrap();
    assert_eq!(done.attempts, 3);
    assert_eq!(mock.requests().len(), 3);
}

#[tokio::test]
async fn a_401_is_typed_and_never_shows_the_key() {
    let mock = Mock::start(vec![Reply::Body { status: 401, headers: vec![], body: error_body("authentication_error", "invalid x-api-key") }]).await;
    let err = client(&mock).messages().create(&request()).await.unwrap_err();
    assert!(err.is_authentication(), "{err:?}");
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.code(), "authentication_error");
    assert_eq!(creditpool::core::codes::class_for_code(err.code()), "AuthenticationError");
    assert!(matches!(err, Error::Call(_)));
    assert!(!err.to_string().contains(KEY));
    assert!(!format!("{err:?}").contains(KEY));
    assert_eq!(mock.requests().len(), 1, "a 401 is not retried");
}

#[tokio::test]
async fn a_missing_key_is_a_typed_error() {
    let err = Client::builder().api_key("").build().unwrap_err();
    assert!(matches!(err, Error::Request(creditpool::core::request::RequestError::MissingApiKey)), "{err:?}");
    assert_eq!(err.code(), "missing_api_key");
    let err = Client::builder().api_key("k").base_url("ftp://x").build().unwrap_err();
    assert_eq!(err.code(), "invalid_options");
}

#[tokio::test]
async fn a_request_the_model_refuses_fails_before_it_is_sent() {
    let mock = Mock::start(vec![text_reply("unused", "req_x")]).await;
    let mut bad = request();
    bad.tools.push(ToolSpec::Custom(ToolDefinition::new("bad name!", "x", search_schema())));
    let err = client(&mock).messages().create(&bad).await.unwrap_err();
    assert!(matches!(err, Error::Preflight(_)), "{err:?}");
    assert_eq!(err.code(), "invalid_tool_name");
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn stream_yields_events_then_the_final_message() {
    let mock = Mock::start(vec![Reply::Stream { chunks: text_stream("streamed"), stall: false }]).await;
    let mut stream = client(&mock).messages().stream(&request()).unwrap();
    let mut names = Vec::new();
    while let Some(item) = stream.next().await {
        match item.unwrap() {
            StreamItem::Event(event) => names.push(event.type_tag().to_owned()),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(names.first().map(String::as_str), Some("message_start"));
    assert_eq!(names.last().map(String::as_str), Some("message_stop"));
    let done = stream.final_message().await.unwrap();
    assert_eq!(done.message.text(), "streamed");
    assert_eq!(done.message.usage.output_tokens, 7);
    assert_eq!(mock.requests()[0].json()["stream"], true);
}

#[tokio::test]
async fn a_stalled_stream_times_out_and_is_retried() {
    let mut first = text_stream("lost");
    first.truncate(2);
    let mock = Mock::start(vec![Reply::Stream { chunks: first, stall: true }, Reply::Stream { chunks: text_stream("again"), stall: false }]).await;
    let client = Client::builder().api_key(KEY).base_url(&mock.url).retry_policy(fast_retry()).idle_timeout(Duration::from_millis(300)).build().unwrap();
    let mut stream = client.messages().stream(&request()).unwrap();
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        items.push(item.unwrap());
    }
    // Two events of the stalled attempt, the core's notice, then the retry's.
    let notices: Vec<_> = items
        .iter()
        .enumerate()
        .filter_map(|(i, it)| match it {
            StreamItem::Retry(n) => Some((i, n.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(notices.len(), 1, "{items:?}");
    let (at, notice) = &notices[0];
    assert_eq!(*at, 2);
    assert_eq!(notice.attempt, 0);
    assert_eq!(notice.code, "idle_timeout");
    assert_eq!(notice.to_event()["type"], "stream_retry");
    let done = stream.final_message().await.unwrap();
    assert_eq!(done.message.text(), "again");
    assert_eq!(done.attempts, 2);
}

#[tokio::test]
async fn a_stream_that_fails_for_good_ends_with_the_error() {
    let mut cut = text_stream("cut");
    cut.truncate(3);
    let mock = Mock::start(vec![Reply::Stream { chunks: cut, stall: false }]).await;
    let client = Client::builder().api_key(KEY).base_url(&mock.url).max_retries(0).build().unwrap();
    let mut stream = client.messages().stream(&request()).unwrap();
    let mut last = None;
    while let Some(item) = stream.next().await {
        last = Some(item);
    }
    let err = match last {
        Some(Err(e)) => e,
        other => panic!("expected the error last, got {other:?}"),
    };
    assert!(matches!(err, Error::Call(_)), "{err:?}");
    assert_eq!(err.code(), "stream_incomplete");
    assert!(err.partial().is_some(), "the message so far travels with the error");
    assert!(stream.final_message().await.is_err());
}

#[tokio::test]
async fn a_connection_reset_mid_stream_is_a_cut_stream() {
    let mut first = text_stream("half an answer");
    first.truncate(3);
    let mock = Mock::start(vec![Reply::Reset { chunks: first }]).await;
    let client = Client::builder().api_key(KEY).base_url(&mock.url).max_retries(0).build().unwrap();
    let err = client.messages().stream(&request()).unwrap().final_message().await.unwrap_err();
    // The transport reported a failed connection; the core read it as a cut
    // stream, keeping the message so far.
    assert_eq!(err.code(), "stream_incomplete", "{err:?}");
    assert_eq!(err.partial().map(|m| m.text()), Some("half an answer".to_owned()));
}

#[tokio::test]
async fn a_silent_server_times_out_through_the_core() {
    let mock = Mock::start(vec![Reply::Silent]).await;
    let client = Client::builder().api_key(KEY).base_url(&mock.url).max_retries(0).read_timeout(Duration::from_millis(200)).build().unwrap();
    let started = std::time::Instant::now();
    let err = client.messages().create(&request()).await.unwrap_err();
    assert_eq!(err.code(), "read_timeout", "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

fn tool_turn(calls: &[(&str, &str)]) -> Reply {
    let blocks: Vec<_> = calls.iter().map(|(id, name)| json!({"type": "tool_use", "id": id, "name": name, "input": {"query": "under $50"}})).collect();
    ok(message("msg_1", json!(blocks), "tool_use", 400, 40), "req_tools")
}

#[tokio::test]
async fn an_agent_runs_a_tool_batch_concurrently_and_settles_every_turn() {
    let mock = Mock::start(vec![tool_turn(&[("t1", "alpha"), ("t2", "beta")]), text_reply("All done.", "req_final")]).await;
    let client = client(&mock);
    let pool = SharedPool::new(PoolConfig::new(dollars(1))).unwrap();
    let ledger = Arc::new(Mutex::new(Vec::new()));
    let l = Arc::clone(&ledger);
    pool.on_ledger(move |e| l.lock().unwrap().push(e.clone()));
    // Both tools wait on one barrier: run one after the other, they would
    // never pass it (and report an error after a long while).
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let make = |name: &'static str| {
        let barrier = Arc::clone(&barrier);
        Tool::new(name, "Query the product inventory database.", search_schema(), move |_input| {
            let barrier = Arc::clone(&barrier);
            async move {
                match tokio::time::timeout(Duration::from_secs(30), barrier.wait()).await {
                    Ok(_) => Ok(format!("{name} found 3 products")),
                    Err(_) => Err("the tools did not run concurrently"),
                }
            }
        })
    };
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev = Arc::clone(&events);
    let agent = Agent::builder(&client, &pool)
        .agent_id("worker")
        .model("claude-haiku-4-5")
        .max_tokens(200)
        .streaming(false)
        .tool(make("alpha"))
        .tool(make("beta"))
        .on_event(move |e| ev.lock().unwrap().push(e.clone()))
        .build()
        .unwrap();
    let outcome = agent.run("Find products under $50").await.unwrap();
    assert_eq!(outcome.status, RunStatus::Completed, "{:?}", outcome.status);
    assert_eq!(outcome.final_text, "All done.");
    assert_eq!(outcome.turns.len(), 2);
    let second = mock.requests()[1].json();
    let results = second["messages"][2]["content"].as_array().unwrap().clone();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["tool_use_id"], "t1");
    assert_eq!(results[0]["content"], "alpha found 3 products");
    assert_eq!(results[1]["content"], "beta found 3 products");
    let state = pool.with(|p| p.state().clone());
    assert_eq!(state.reserved(), Money::ZERO);
    assert_eq!(state.settled(), outcome.total_cost);
    let ledger = ledger.lock().unwrap();
    let ids: Vec<_> = ledger.iter().map(|e| e.request_id.clone().unwrap_or_default()).collect();
    assert_eq!(ids, vec!["req_tools", "req_final"]);
    let calls = events.lock().unwrap().iter().filter(|e| matches!(e, AgentEvent::ToolCall(_))).count();
    assert_eq!(calls, 2);
}

#[tokio::test]
async fn a_tool_error_becomes_an_is_error_result() {
    let mock = Mock::start(vec![tool_turn(&[("t1", "search_database")]), text_reply("Sorry.", "req_2")]).await;
    let client = client(&mock);
    let pool = SharedPool::new(PoolConfig::new(dollars(1))).unwrap();
    let tool = Tool::new("search_database", "Query the product inventory database.", search_schema(), |_| async { Err::<String, _>("database is down") });
    let agent = Agent::builder(&client, &pool).model("claude-haiku-4-5").max_tokens(200).streaming(false).tool(tool).build().unwrap();
    let outcome = agent.run("Find products under $50").await.unwrap();
    assert_eq!(outcome.status, RunStatus::Completed);
    assert!(outcome.error().is_none());
    let result = &mock.requests()[1].json()["messages"][2]["content"][0];
    assert_eq!(result["is_error"], true);
    // The words are the core's (AgentTexts::tool_failed).
    let expected = AgentTexts::fill(&AgentTexts::default().tool_failed, "search_database", "database is down");
    assert_eq!(result["content"], expected.as_str());
}

#[tokio::test]
async fn a_tool_without_a_function_is_unknown_in_the_runs_words() {
    let mock = Mock::start(vec![tool_turn(&[("t1", "ghost")]), text_reply("Sorry.", "req_2")]).await;
    let client = client(&mock);
    let pool = SharedPool::new(PoolConfig::new(dollars(1))).unwrap();
    // The request defines "ghost", but the agent has no function for it.
    let mut template = MessageRequest::new("claude-haiku-4-5", 200, "");
    template.tools.push(ToolSpec::Custom(ToolDefinition::new("ghost", "A tool nobody implemented.", search_schema())));
    let texts = AgentTexts { unknown_tool: "no {name} here".into(), ..AgentTexts::default() };
    let agent = Agent::builder(&client, &pool).request_template(template).streaming(false).texts(texts).build().unwrap();
    let outcome = agent.run("Find products under $50").await.unwrap();
    assert_eq!(outcome.status, RunStatus::Completed);
    let result = &mock.requests()[1].json()["messages"][2]["content"][0];
    assert_eq!(result["is_error"], true);
    assert_eq!(result["content"], "no ghost here");
}

#[tokio::test]
async fn an_agent_takes_max_tokens_from_the_core_config() {
    let mock = Mock::start(vec![text_reply("ok", "req_1")]).await;
    let pool = SharedPool::new(PoolConfig::new(dollars(1))).unwrap();
    let agent = Agent::builder(&client(&mock), &pool).model("claude-haiku-4-5").streaming(false).build().unwrap();
    agent.run("Hello").await.unwrap();
    assert_eq!(mock.requests()[0].json()["max_tokens"], creditpool::DEFAULT_MAX_TOKENS);
    assert_eq!(mock.requests()[0].json().get("stream"), None);
}

#[tokio::test]
async fn a_streaming_agent_settles_what_the_stream_reported() {
    let mock = Mock::start(vec![Reply::Stream { chunks: text_stream("streamed answer"), stall: false }]).await;
    let client = client(&mock);
    let pool = SharedPool::new(PoolConfig::new(dollars(1))).unwrap();
    // Agents stream by default (AgentConfig).
    let agent = Agent::builder(&client, &pool).model("claude-haiku-4-5").max_tokens(200).build().unwrap();
    let outcome = agent.run("Hello").await.unwrap();
    assert_eq!(outcome.status, RunStatus::Completed);
    assert_eq!(mock.requests()[0].json()["stream"], true);
    assert_eq!(outcome.usage.input_tokens, 12);
    assert_eq!(outcome.usage.output_tokens, 7);
    // claude-haiku-4-5: 12 x $1/MTok + 7 x $5/MTok.
    assert_eq!(outcome.total_cost, Money::from_nanos(12_000 + 35_000));
    assert_eq!(pool.with(|p| p.state().settled()), outcome.total_cost);
}

#[tokio::test]
async fn dropping_a_run_mid_stream_closes_its_reservation() {
    let mut first = text_stream("never finished");
    first.truncate(2);
    let mock = Mock::start(vec![Reply::Stream { chunks: first, stall: true }]).await;
    let client = client(&mock);
    let pool = SharedPool::new(PoolConfig::new(dollars(1))).unwrap();
    let ledger = Arc::new(Mutex::new(Vec::new()));
    let l = Arc::clone(&ledger);
    pool.on_ledger(move |e| l.lock().unwrap().push(e.clone()));
    let agent = Agent::builder(&client, &pool).model("claude-haiku-4-5").max_tokens(200).streaming(true).build().unwrap();
    tokio::select! {
        outcome = agent.run("Hello") => panic!("the run ended: {outcome:?}"),
        () = mock.requested.notified() => {}
    }
    // The run's cancellation closed the reservation (how: the core's
    // AgentRun::cancel), at once, with the in-memory store.
    let state = pool.with(|p| p.state().clone());
    assert_eq!(state.reserved(), Money::ZERO);
    assert_eq!(state.open_count(), 0);
    assert_eq!(ledger.lock().unwrap().len(), 1, "{:?}", ledger.lock().unwrap());
}

#[tokio::test]
async fn a_pool_that_cannot_cover_the_worst_case_refuses_before_sending() {
    let mock = Mock::start(vec![text_reply("unused", "req_x")]).await;
    let client = client(&mock);
    let pool = SharedPool::new(PoolConfig::new(Money::from_nanos(1_000))).unwrap();
    let agent = Agent::builder(&client, &pool).model("claude-haiku-4-5").max_tokens(200).build().unwrap();
    let outcome = agent.run("Hello").await.unwrap();
    match &outcome.status {
        RunStatus::PoolRefused { refusal } => assert_eq!(refusal.reason(), "pool_exhausted"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let err = outcome.error().expect("a refusal is an error");
    assert!(matches!(err, Error::PoolRefused(_)), "{err:?}");
    assert_eq!(err.code(), "pool_exhausted");
    assert_eq!(creditpool::core::codes::class_for_code(err.code()), "PoolExhaustedError");
    assert!(mock.requests().is_empty());
    assert_eq!(mock.remaining(), 1);
}

#[tokio::test]
async fn an_invalid_tool_is_refused_at_build() {
    let mock = Mock::start(vec![]).await;
    let pool = SharedPool::new(PoolConfig::new(dollars(1))).unwrap();
    let bad = Tool::new("bad name!", "x", search_schema(), |_| async { Ok::<_, String>("") });
    let err = Agent::builder(&client(&mock), &pool).model("claude-haiku-4-5").tool(bad).build().unwrap_err();
    assert!(matches!(err, Error::Agent(_)), "{err:?}");
    assert_eq!(err.code(), "invalid_tool_name");
    let err = Agent::builder(&client(&mock), &pool).build().unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
}

#[tokio::test]
async fn alerts_are_posted_signed_and_retried() {
    let mock = Mock::start(vec![
        Reply::Body { status: 503, headers: vec![("retry-after-ms".into(), "1".into())], body: "{}".into() },
        Reply::Body { status: 200, headers: vec![], body: "{}".into() },
    ])
    .await;
    let pool = SharedPool::new(PoolConfig::new(Money::from_nanos(1_000))).unwrap();
    let errors = Arc::new(Mutex::new(Vec::new()));
    let e = Arc::clone(&errors);
    pool.webhook(Webhook::new(format!("{}/hooks/creditpool", mock.url), "s3cret").unwrap()).on_error(move |err| e.lock().unwrap().push(err.to_string()));
    let now = creditpool::time::now_ms();
    let r = pool.with(|p| p.reserve("a", Money::from_nanos(600), now)).unwrap();
    pool.with(|p| p.settle(r.id, Money::from_nanos(500), None, now)).unwrap();
    pool.flush().await;
    assert!(errors.lock().unwrap().is_empty(), "{:?}", errors.lock().unwrap());
    let posts = mock.requests();
    assert_eq!(posts.len(), 2);
    let last = &posts[1];
    assert_eq!(last.path, "/hooks/creditpool");
    assert!(verify_signature(b"s3cret", last.header(TIMESTAMP_HEADER).unwrap(), &last.body, last.header(SIGNATURE_HEADER).unwrap()));
    assert_eq!(last.json()["percent"], 50);
    assert_eq!(posts[0].body, last.body, "a retry sends the same bytes");
}

/// Issue 10 item 11: an alert delivered (and retried) 10 minutes after it
/// happened is signed with each attempt's own time, so a receiver's
/// 5-minute age check accepts it; the body keeps the alert's time.
#[tokio::test]
async fn a_late_delivery_is_signed_with_its_own_time() {
    let mock = Mock::start(vec![
        Reply::Body { status: 503, headers: vec![("retry-after-ms".into(), "1".into())], body: "{}".into() },
        Reply::Body { status: 200, headers: vec![], body: "{}".into() },
    ])
    .await;
    let alert_at = creditpool::time::now_ms() - 600_000;
    let pool = SharedPool::from_pool(creditpool::core::pool::Pool::new(PoolConfig::new(Money::from_nanos(1_000)), alert_at).unwrap());
    pool.webhook(Webhook::new(format!("{}/hooks/creditpool", mock.url), "s3cret").unwrap());
    let r = pool.with(|p| p.reserve("a", Money::from_nanos(600), alert_at)).unwrap();
    pool.with(|p| p.settle(r.id, Money::from_nanos(500), None, alert_at)).unwrap();
    pool.flush().await;
    let posts = mock.requests();
    assert_eq!(posts.len(), 2);
    let now = creditpool::time::now_ms();
    let mut stamps = Vec::new();
    for post in &posts {
        let t = post.header(TIMESTAMP_HEADER).unwrap();
        stamps.push(t.parse::<u64>().unwrap());
        assert!(stamps.last().unwrap() * 1_000 > alert_at + 300_000, "signed with the attempt's time, not the alert's");
        assert!(verify_delivery(b"s3cret", &post.body, post.header(SIGNATURE_HEADER).unwrap(), t, now, DEFAULT_TOLERANCE_S));
        assert_eq!(post.json()["occurred_at_ms"], alert_at);
    }
    assert!(stamps[1] >= stamps[0]);
}

#[tokio::test]
async fn a_webhook_refused_with_404_is_not_retried_and_the_error_names_only_the_host() {
    let mock = Mock::start(vec![Reply::Body { status: 404, headers: vec![], body: "no".into() }]).await;
    let pool = SharedPool::new(PoolConfig::new(Money::from_nanos(1_000))).unwrap();
    let errors = Arc::new(Mutex::new(Vec::new()));
    let e = Arc::clone(&errors);
    pool.webhook(Webhook::new(format!("{}/hooks/T0SECRET", mock.url), "s3cret").unwrap()).on_error(move |err| e.lock().unwrap().push((err.code().to_owned(), err.to_string())));
    let now = creditpool::time::now_ms();
    let r = pool.with(|p| p.reserve("a", Money::from_nanos(600), now)).unwrap();
    pool.with(|p| p.settle(r.id, Money::from_nanos(500), None, now)).unwrap();
    pool.flush().await;
    assert_eq!(mock.requests().len(), 1, "a 404 is not retried");
    let errors = errors.lock().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, "webhook_delivery");
    assert!(errors[0].1.contains("1 attempt"), "{}", errors[0].1);
    assert!(!errors[0].1.contains("T0SECRET"), "{}", errors[0].1);
}

#[tokio::test]
async fn a_redirect_is_never_followed_so_the_key_stays_home() {
    let elsewhere = Mock::start(vec![Reply::Body { status: 200, headers: vec![], body: "{}".into() }]).await;
    for status in [301u16, 302, 307, 308] {
        let mock = Mock::start(vec![Reply::Body { status, headers: vec![("location".into(), format!("{}/v1/messages", elsewhere.url))], body: String::new() }]).await;
        let client = Client::builder().api_key(KEY).base_url(&mock.url).max_retries(0).build().unwrap();
        let err = client.messages().create(&request()).await.unwrap_err();
        assert_eq!(err.status(), Some(status), "{err:?}");
        assert!(!err.to_string().contains(KEY));
        assert_eq!(mock.requests().len(), 1);
    }
    assert!(elsewhere.requests().is_empty(), "a redirect was followed to another origin");
}

#[test]
fn no_secret_in_the_debug_of_a_client_its_builder_or_a_webhook() {
    let builder = Client::builder().api_key("sk-test-KEY-777").header("authorization", "Bearer TOKEN-888").header("x-goog-api-key", "GKEY-999");
    let shown_builder = format!("{builder:?}");
    let client = builder.base_url("http://127.0.0.1:9").build().unwrap();
    let shown = format!("{client:?} {shown_builder} {:?}", Webhook::new("https://hooks.example.com/services/T0/B0/XSECRET", "whsec-SECRET").unwrap());
    for secret in ["KEY-777", "TOKEN-888", "GKEY-999", "XSECRET", "whsec-SECRET"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[test]
fn the_futures_can_be_spawned() {
    fn is_send<T: Send>(_: &T) {}
    let pool = SharedPool::new(PoolConfig::new(dollars(1))).unwrap();
    let client = Client::builder().api_key(KEY).base_url("http://127.0.0.1:9").build().unwrap();
    let agent = Agent::builder(&client, &pool).model("claude-haiku-4-5").build().unwrap();
    is_send(&agent.run("x"));
    is_send(&client.messages().create(&request()));
}
