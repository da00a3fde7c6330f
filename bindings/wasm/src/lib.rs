//! The wasm-bindgen binding of `creditpool-core`, loaded by the npm package in
//! `js/` (Node 18+ and browsers).
//!
//! This crate holds no rule of its own. It converts values between JS and the
//! core (JSON-shaped plain objects, money as `bigint` nano-USD plus a display
//! string), maps the core's errors to JS `Error` objects with a machine-readable
//! `type`, names things for JS, and performs the I/O the sans-I/O core asks for:
//! HTTP through `gloo-net` (the global `fetch`, in Node 18+ and browsers),
//! timers, and the clock.
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
//! * [`tools`]: `checkTool`, `checkTools`, `ToolValidator` (`tools`);
//! * [`agent`]: `RawAgentRun`, `RawResponse` (`agent::AgentRun`), wrapped by the JS `Agent`;
//! * [`call`]: `MessagesCall` (`call::MessagesCall`), for callers who drive
//!   a call themselves;
//! * [`client`]: `RawClient` and `RawStream`, which drive the core's
//!   `MessagesCall` over [`transport`].
//!
//! Nothing here may panic: a panic would abort the wasm instance. The panic
//! hook ([`panic`]) still turns one into a JS `InternalError` should a bug slip
//! through, and the JS wrapper then refuses further calls.
#![cfg(any(target_arch = "wasm32", creditpool_wasm_check))]

pub mod agent;
pub mod call;
pub mod client;
mod convert;
mod errors;
pub mod panic;
pub mod partial_json;
pub mod pool;
pub mod pricing;
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
