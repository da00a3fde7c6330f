//! Sans-I/O core of **creditpool**.
//!
//! This crate holds every rule of creditpool: the Messages API model, the request
//! builder, response and SSE parsing, the retry policy, pricing, tool checks, the
//! credit pool and the agent loop. It never touches a socket, a clock, a random
//! number generator, a file or a thread: time arrives as `now` in Unix
//! milliseconds, randomness as a seed, bytes as slices. Bindings (Python, JS, the
//! Rust front crate) bring the I/O.
//!
//! The pieces, in the order a request flows through them:
//!
//! * [`api`]: typed request and response structs for `POST /v1/messages`. Unknown
//!   block, delta and event types from a newer API are kept as raw JSON.
//! * [`request`]: [`request::RequestBuilder`] turns a [`api::MessageRequest`] into a
//!   plain [`http::HttpRequest`] value with the right headers and the pool selector.
//! * [`response`]: a status, headers and a body become a [`api::Message`] or a typed
//!   [`error::ApiError`]; [`ratelimit`] reads the rate-limit headers.
//! * [`sse`]: an incremental Server-Sent-Events decoder and a stream accumulator
//!   that builds the final message.
//! * [`retry`]: whether and when to retry a failed attempt.
//! * [`pricing`]: the dated price table and exact costs in [`money::Money`].
//! * [`tools`]: tool definition checks and `tool_use` input validation.
//! * [`pool`]: the credit pool, a state machine of cycles, reservations, alerts,
//!   per-agent limits, attribution, a ledger and snapshots.
//! * [`call`]: one API call with retries, as a state machine a binding drives
//!   with its own HTTP client and sleep.
//! * [`agent`]: one agent's run (model call, tools, model call, ...) as a state
//!   machine that reserves before every send and settles or releases after.
//! * [`meter`]: the pool's books for one call made through an official SDK's
//!   middleware (reserve once per call, settle or release by the core's rules).
//! * [`time`]: UTC calendar arithmetic on Unix milliseconds (no clock).
//! * [`activity`]: a pool's activity (from a report or a ledger) as data and as
//!   one Vega-Lite chart specification.
//!
//! Every behaviour here is pinned down by the cross-language vectors in the
//! repository's `tests/vectors/`, which the Rust, Python and JS suites all run.
#![forbid(unsafe_code)]

pub mod activity;
pub mod agent;
pub mod api;
pub mod call;
pub mod codes;
pub mod error;
pub mod http;
pub mod meter;
pub mod money;
pub mod partial_json;
pub mod pool;
pub mod pricing;
pub mod ratelimit;
pub mod redis;
pub mod request;
pub mod response;
pub mod retry;
pub mod secret;
pub mod sse;
pub mod suggest;
pub mod time;
pub mod tools;

pub use money::Money;
pub use secret::ApiKey;
