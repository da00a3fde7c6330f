//! The agent loop: one agent's run (model call, tools, model call, ...) as a
//! sans-I/O state machine that draws on a [`crate::pool::Pool`].
//!
//! [`AgentRun`] decides everything: which request to send, what to reserve
//! before it and settle after it, when to retry (by [`crate::retry`]), which
//! tool calls are valid, when the run ends and why. The driver (a binding, or
//! the Rust front crate) only performs what [`AgentAction`] asks for: sends
//! HTTP requests, runs tools (concurrently, if it likes), and sleeps.
//!
//! ```text
//! loop {
//!     match run.next_action(&mut pool, now) {
//!         AgentAction::Send(http) => {
//!             // send; on a connection failure or timeout:
//!             //     run.handle_transport_error(&mut pool, failure, now)
//!             match run.handle_head(status, &headers, now) {
//!                 ReadBody::Whole => run.handle_body(&mut pool, &body, now),
//!                 ReadBody::Chunks => {
//!                     // per chunk, while run.is_reading():
//!                     //     run.handle_chunk(&mut pool, &bytes, now)
//!                     // past run.deadline(): handle_transport_error(idle timeout)
//!                     // at the end: run.handle_end(&mut pool, now)
//!                 }
//!             }
//!         }
//!         AgentAction::CallTools(calls) => {
//!             // run every call (they are independent), then:
//!             run.handle_tool_results(results);
//!         }
//!         AgentAction::Wait { until_ms, .. } => { /* sleep */ }
//!         AgentAction::Done => break,
//!     }
//! }
//! let outcome = run.outcome();
//! ```
//!
//! The rules:
//!
//! * **Reserve before every send, settle or release after.** Each attempt
//!   reserves the request's worst case ([`crate::pricing::worst_case`]) for the
//!   agent. A response settles its actual cost
//!   ([`crate::pricing::cost`]) with attribution; a failed attempt releases its
//!   reservation. A retry reserves again, so nothing is ever charged twice.
//! * **Refusals end the run cleanly** ([`RunStatus::PoolRefused`]), except a
//!   rate limit, which becomes a wait until the pool says.
//! * **The run's own budget** (`max_spend`) is checked against the worst case
//!   before each reservation ([`RunStatus::BudgetExhausted`]); `max_turns`
//!   bounds the number of model calls.
//! * **Tools.** A `tool_use` batch becomes one [`AgentAction::CallTools`] with
//!   every valid call. Unknown tools, inputs that fail the schema, and inputs cut
//!   off or malformed in the stream never reach a tool: they become `is_error`
//!   results with a clear message. A tool that fails reports `is_error` itself.
//! * **Stops.** `pause_turn` continues the turn; `end_turn` and
//!   `stop_sequence` complete the run; `max_tokens`, `refusal`,
//!   `model_context_window_exceeded` (and any stop reason this version does not
//!   know) end it with that reason.

mod config;
mod outcome;
mod run;

pub use config::AgentConfig;
pub use outcome::{Outcome, RunAttribution, RunStatus, ToolCall, ToolResult, TurnRecord, WaitReason};
pub use run::{AgentAction, AgentError, AgentRun};
