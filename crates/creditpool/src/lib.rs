//! **creditpool**: agents that call tools through the Anthropic Messages API
//! while sharing one credit pool, with exact accounting and limits.
//!
//! This crate is the Rust front door. It re-exports the sans-I/O core
//! ([`core`], where every rule lives) and adds an async driver on tokio:
//!
//! * [`Client`]: the key (argument or `ANTHROPIC_API_KEY`), base URL, betas,
//!   pool selector, retry policy and timeouts; [`Messages::create`] and
//!   [`Messages::stream`] for single calls.
//! * [`SharedPool`]: a credit pool shared between tasks, with alert callbacks,
//!   signed webhooks, a JSON Lines ledger and reports.
//! * [`PoolStore`]: where an agent's pool operations go ([`SharedPool`] in
//!   memory, or a store of your own, e.g. one shared through Redis).
//! * [`Agent`]: a model with [`Tool`]s (async closures, a batch run
//!   concurrently) that draws on a pool store: every request reserves its
//!   worst case first and settles its exact cost after.
//! * [`Error`]: every error typed, each with the core's stable
//!   [`code`](Error::code).
//!
//! Every rule (timeouts, retries, what a transport failure means, the words
//! the model reads, defaults such as `max_tokens`) is the core's; this crate
//! only does I/O and converts types (see `docs/ARCHITECTURE.md`).
//! * [`transport`]: the HTTP transport, [`transport::ReqwestTransport`] by
//!   default (feature `reqwest`, rustls), or your own.
//!
//! ```no_run
//! use creditpool::{Agent, AgentPolicy, Cap, Client, Money, PoolConfig, SharedPool, Tool};
//! use serde_json::json;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), creditpool::Error> {
//!     // A $2 pool; the agent "researcher" may spend at most half of it.
//!     let mut config = PoolConfig::new(Money::from_usd(2).unwrap_or(Money::ZERO));
//!     config.agents.insert("researcher".into(), AgentPolicy { cap: Some(Cap::Share { basis_points: 5_000 }), ..AgentPolicy::default() });
//!     let pool = SharedPool::new(config)?;
//!     pool.on_alert(|alert| eprintln!("ALERT {}", alert.text()));
//!
//!     let client = Client::new()?; // ANTHROPIC_API_KEY
//!     let search = Tool::new(
//!         "search_database",
//!         "Query the product inventory database.",
//!         json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),
//!         |input| async move { Ok::<_, String>(format!("no products match {}", input["query"])) },
//!     );
//!     let agent = Agent::builder(&client, &pool).agent_id("researcher").model("claude-haiku-4-5").tool(search).build()?;
//!     let outcome = agent.run("Find products under $50").await?;
//!     println!("{:?}: {} for {}", outcome.status, outcome.final_text, outcome.total_cost);
//!     for agent in pool.report().agents {
//!         println!("{}: {} in {} requests", agent.agent, agent.settled, agent.requests);
//!     }
//!     Ok(())
//! }
//! ```
//!
//! Time is read from [`std::time::SystemTime`] and handed to the core as Unix
//! milliseconds; the core never reads a clock.
#![forbid(unsafe_code)]

pub use creditpool_core as core;

mod agent;
mod client;
mod drive;
mod error;
mod persist;
pub mod pool;
#[cfg(feature = "redis")]
pub mod redis;
pub mod store;
mod stream;
pub mod time;
mod tool;
pub mod transport;

pub use agent::{Agent, AgentBuilder, AgentEvent, OutcomeExt};
pub use client::{Client, ClientBuilder, Messages, Timeouts, API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL};
pub use error::Error;
pub use pool::{SharedPool, Webhook};
pub use store::PoolStore;
pub use stream::{MessageStream, StreamItem};
pub use tool::{Tool, ToolOutput};

pub use creditpool_core::agent::{AgentConfig, AgentTexts, Outcome, RunStatus, ToolCall, ToolFailureRecord, ToolResult, TurnRecord, WaitReason, DEFAULT_MAX_TOKENS};
pub use creditpool_core::api::{ContentBlock, Message, MessageParam, MessageRequest, StopReason, StreamEvent, TextOrBlocks, Usage};
pub use creditpool_core::call::{Completed, RetryNotice};
pub use creditpool_core::pool::{AgentPolicy, Alert, AlertKind, Cap, LedgerEntry, OpResult, PoolConfig, PoolOp, Refusal, Report};
pub use creditpool_core::pricing::{EstimateMode, PriceTable};
pub use creditpool_core::request::PoolSelector;
pub use creditpool_core::retry::RetryPolicy;
pub use creditpool_core::{ApiKey, Money};
