//! The wasm-bindgen binding of `creditpool-core`, loaded by the npm package in
//! `js/` (Node 18+ and browsers).
//!
//! This crate holds no rule of its own. It converts values between JS and the
//! core (JSON-shaped plain objects, money as `bigint` nano-USD plus a display
//! string), maps the core's errors to JS `Error` objects with the core's
//! `code` and class, names things for JS, and sends the requests the core
//! builds (through `gloo-net`, the global `fetch`), so that the API key stays
//! inside the module.
//!
//! Every export is a thin layer over one core function or type:
//!
//! * [`request`]: `buildRequest` (`request::RequestBuilder`);
//! * [`response`]: `parseMessage`, `parseCountTokens`, `parseErrorEvent`,
//!   `rateLimitInfo` (`response`, `ratelimit`);
//! * [`retry`]: `RetryPolicy` (`retry::RetryPolicy`);
//! * [`sse`]: `SseDecoder`, `MessageStreamParser` (`sse`);
//! * [`partial_json`]: `parsePartialJson` (`partial_json`);
//! * [`pricing`]: `PriceTable`, `cost`, `worstCase`, `checkRequest` (`pricing`);
//! * [`pool`]: `RawPool` (`pool::Pool`), wrapped by the JS `Pool`;
//! * [`outbox`]: `RawOutbox` (`pool::outbox::Outbox`): when an alert leaves a
//!   pool, and at most `MAX_QUEUED_DELIVERIES` webhook deliveries out;
//! * [`tools`]: `checkTool`, `checkTools`, `ToolValidator` (`tools`);
//! * [`activity`]: `activityChart`, `parseLedgerJsonl` (`activity`), a ledger
//!   as a Vega-Lite chart (a pool's own: `RawPool.chart`, `RawPool.reportChart`);
//! * [`agent`]: `RawAgentRun` (`agent::AgentRun`, which holds no pool: it
//!   asks for pool operations), wrapped by the JS `Agent` and `AgentRun`;
//! * [`call`]: `MessagesCall` (`call::MessagesCall`: messages, count_tokens
//!   and webhook calls), for callers who drive a call themselves, and for the
//!   JS `Client`;
//! * [`client`]: `RawClient`, which makes a client's calls;
//! * [`transport`]: sending a request from inside the module (the key stays
//!   here);
//! * [`meter`]: `RawMeter` (`meter::Meter`), the books of one call made
//!   through the official SDK, for the JS `creditpoolMiddleware`;
//! * [`redis`]: `RawRedisOps` (`redis::RedisPoolOps`: the Redis pool
//!   store's commands and reply decoding), for the Node `RedisPool`;
//! * [`errors`]: `errorClasses`, `errorCodes`, `classForCode` (`codes`).
//!
//! One attempt player drives every machine: `js/src/player.js`. It waits no
//! longer than a machine's `deadline` (then `handleTimeout`), reports any
//! transport failure raw as `{type: "connection"}`, sleeps on `wait`, and
//! decides nothing.
//!
//! Nothing here may panic: a panic would abort the wasm instance. The panic
//! hook ([`panic`]) still turns one into a JS `InternalError` should a bug slip
//! through, and the JS wrapper then refuses further calls.
#![cfg(any(target_arch = "wasm32", creditpool_wasm_check))]

pub mod activity;
pub mod agent;
pub mod call;
pub mod client;
mod convert;
pub mod errors;
pub mod meter;
pub mod money;
pub mod outbox;
pub mod panic;
pub mod partial_json;
pub mod pool;
pub mod pricing;
pub mod redis;
pub mod request;
pub mod response;
pub mod retry;
pub mod sse;
pub mod tools;
pub mod transport;

use wasm_bindgen::prelude::*;

/// Runs once when the module is instantiated: installs the panic hook.
#[wasm_bindgen(start)]
pub fn start() {
    panic::install_hook();
}

/// The version of this package (the workspace version).
#[wasm_bindgen(js_name = version)]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
