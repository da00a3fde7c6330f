//! Issue 13, item 6: where a Rust client sends its requests. `Client::new()`
//! reads `ANTHROPIC_BASE_URL` and `ANTHROPIC_API_KEY` as the official SDKs (and
//! this package's Python and JS clients) do, and a request that cannot reach
//! its server says where it went (the origin only) and what the OS said.
//!
//! The environment is per process: every test here takes `ENV` first, and
//! holds it to the end (each test has a runtime of its own on its thread).
#![allow(clippy::await_holding_lock)]

use creditpool::{Client, Error, MessageRequest};
use std::sync::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

static ENV: Mutex<()> = Mutex::new(());

fn set_env(base_url: Option<&str>, key: Option<&str>) {
    match base_url {
        Some(v) => std::env::set_var("ANTHROPIC_BASE_URL", v),
        None => std::env::remove_var("ANTHROPIC_BASE_URL"),
    }
    match key {
        Some(v) => std::env::set_var("ANTHROPIC_API_KEY", v),
        None => std::env::remove_var("ANTHROPIC_API_KEY"),
    }
}

/// A port nothing listens on: bound, then released.
async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

/// A one-request server: answers a message and hands back the request head.
async fn one_shot() -> (String, tokio::task::JoinHandle<String>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the client closed before sending a request head");
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}"#;
        let reply = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
        s.write_all(reply.as_bytes()).await.unwrap();
        String::from_utf8_lossy(&buf).into_owned()
    });
    (url, task)
}

#[tokio::test]
async fn client_new_reads_anthropic_base_url_and_key() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let (url, server) = one_shot().await;
    set_env(Some(&url), Some("sk-from-env"));
    let client = Client::new().unwrap();
    assert_eq!(client.base_url(), url);
    let done = client.messages().create(&MessageRequest::new("claude-haiku-4-5", 16, "Hello")).await.unwrap();
    assert_eq!(done.message.text(), "hi");
    let head = server.await.unwrap().to_ascii_lowercase();
    assert!(head.starts_with("post /v1/messages "), "{head}");
    assert!(head.contains("x-api-key: sk-from-env\r\n"), "the key from ANTHROPIC_API_KEY was not sent");

    // The builder's base URL wins over the environment; empty means unset.
    let c = Client::builder().api_key("k").base_url("http://127.0.0.1:1").build().unwrap();
    assert_eq!(c.base_url(), "http://127.0.0.1:1");
    set_env(Some(""), Some("k"));
    assert_eq!(Client::new().unwrap().base_url(), creditpool::DEFAULT_BASE_URL);
    set_env(None, Some("k"));
    assert_eq!(Client::new().unwrap().base_url(), creditpool::DEFAULT_BASE_URL);

    // A malformed value says where it came from.
    set_env(Some("127.0.0.1:8080"), Some("k"));
    let e = Client::new().unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    assert!(e.to_string().contains("(from ANTHROPIC_BASE_URL)"), "{e}");
    set_env(None, None);
}

#[tokio::test]
async fn a_refused_connection_names_the_origin_and_the_os_error_never_the_path_or_key() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    set_env(None, None);
    let port = closed_port().await;
    let client = Client::builder()
        .api_key("sk-secret-key-123")
        .base_url(format!("http://127.0.0.1:{port}/proxy/SECRET-PATH?token=SECRET-QUERY"))
        .max_retries(1)
        .build()
        .unwrap();
    let e = client.messages().create(&MessageRequest::new("claude-haiku-4-5", 16, "Hello")).await.unwrap_err();
    assert_eq!(e.code(), "connection_error");
    let text = e.to_string();
    assert!(text.starts_with(&format!("could not connect to http://127.0.0.1:{port}: ")), "{text}");
    assert!(text.contains("os error") || text.to_lowercase().contains("refused"), "no OS error in: {text}");
    assert!(text.contains("(after 2 attempt(s))"), "{text}");
    for secret in ["SECRET-PATH", "SECRET-QUERY", "sk-secret-key-123", "/v1/messages"] {
        assert!(!text.contains(secret) && !format!("{e:?}").contains(secret), "{secret} shown in {text} / {e:?}");
    }
}

#[tokio::test]
async fn an_agent_whose_server_is_unreachable_says_where_and_why() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    set_env(None, None);
    let port = closed_port().await;
    let client = Client::builder()
        .api_key("sk-secret-key-123")
        .base_url(format!("http://127.0.0.1:{port}/proxy/SECRET-PATH"))
        .max_retries(0)
        .build()
        .unwrap();
    let pool = creditpool::SharedPool::new(creditpool::PoolConfig::new(creditpool::Money::from_nanos(1_000_000_000))).unwrap();
    let agent = creditpool::Agent::builder(&client, &pool).model("claude-haiku-4-5").max_tokens(16).streaming(false).build().unwrap();
    let outcome = agent.run("Hello").await.unwrap();
    let e = creditpool::OutcomeExt::error(&outcome).expect("the run failed");
    assert_eq!(e.code(), "connection_error");
    let text = e.to_string();
    assert!(text.contains(&format!("could not connect to http://127.0.0.1:{port}: ")), "{text}");
    assert!(text.contains("os error") || text.to_lowercase().contains("refused"), "no OS error in: {text}");
    for secret in ["SECRET-PATH", "sk-secret-key-123"] {
        assert!(!text.contains(secret) && !format!("{outcome:?}").contains(secret), "{secret} shown in {text}");
    }
    // Nothing reached a model: the reservation was given back.
    assert_eq!(pool.with(|p| p.state().committed()), creditpool::Money::ZERO);
}

/// The base URL follows the core's one rule, as in Python and JS: a trailing
/// slash goes, a URL that is not absolute http(s) is refused saying it came
/// from the variable.
#[tokio::test]
async fn a_base_url_follows_the_cores_one_rule() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    set_env(Some("https://proxy.test/anthropic/"), Some("k"));
    assert_eq!(Client::new().unwrap().base_url(), "https://proxy.test/anthropic");
    set_env(Some("localhost:8080"), Some("k"));
    let e = Client::new().unwrap_err();
    assert!(e.to_string().contains("(from ANTHROPIC_BASE_URL)"), "{e}");
    set_env(None, None);
}
