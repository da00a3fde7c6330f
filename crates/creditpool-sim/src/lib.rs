//! **creditpool-sim**: an offline simulator of the Anthropic Messages API.
//!
//! An HTTP server on 127.0.0.1 that answers `POST /v1/messages` (JSON and SSE
//! streaming) and `POST /v1/messages/count_tokens` in the shapes the real API
//! uses, with API-shaped errors, `request-id` and rate-limit headers, CORS, a
//! deterministic token estimate and a usage log. It answers from a scripted
//! [`Scenario`] when one is loaded, and otherwise from a small rule-based
//! "model" ([`rules`]) that calls the tools it is given and then answers. It is
//! an emulator, not the API: see `docs/SIMULATOR.md`.
//!
//! The binary (`creditpool-sim`) is a thin command line over this library;
//! Rust tests start the server in-process:
//!
//! ```no_run
//! let sim = creditpool_sim::start(creditpool_sim::Config::default())?;
//! println!("simulator at {}", sim.url());
//! sim.stop();
//! # Ok::<(), creditpool_sim::SimError>(())
//! ```
#![forbid(unsafe_code)]

mod api_error;
mod auth;
pub mod cli;
mod error;
pub mod faults;
mod messages;
mod ratelimit;
pub mod reply;
pub mod rules;
pub mod scenario;
mod server;
pub mod threads;
pub mod shutdown;
pub mod stream;
pub mod tokens;
pub mod usage_log;
mod validate;

pub use error::SimError;
pub use scenario::Scenario;
pub use server::{start, Running, Simulator};

use std::path::PathBuf;

/// The body field that selects the credit pool, unless a scenario names another.
pub const DEFAULT_POOL_FIELD: &str = "credit_pool";

/// How a simulator runs. [`Config::default`] is what the binary does without
/// flags, less the stdin watch: a free port, no scenario, any non-empty key, no
/// faults, no usage log file.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The scenario to run first (the rule-based model answers once it is used up).
    pub scenario: Option<Scenario>,
    /// The accepted API keys; empty accepts any non-empty key.
    pub keys: Vec<String>,
    /// The share of `/v1/messages` requests (0 to 1) replaced by a fault.
    pub fault_rate: f64,
    /// The seed of the fault generator.
    pub seed: u64,
    /// A file to which every reported usage is appended as one JSON line.
    pub usage_log: Option<PathBuf>,
    /// Refuse the pool selector field like any unknown field (400
    /// `credit_pool: Extra inputs are not permitted`), as an API that does not
    /// know it: `--reject-pool-selector`.
    pub reject_pool_selector: bool,
    /// How long a message thread lives after its last request, ms (`None`:
    /// the API's 5 minutes, [`threads::DEFAULT_THREAD_TTL_MS`]):
    /// `--thread-ttl-ms`.
    pub thread_ttl_ms: Option<u64>,
}
