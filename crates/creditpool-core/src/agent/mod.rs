//! The agent loop: one agent's run (model call, tools, model call, ...) as a
//! sans-I/O state machine that draws on a pool through actions.
//!
//! [`AgentRun`] decides everything: which request to send, what to reserve
//! before it and settle or release after it, when to renew a lease, when to
//! retry (by [`crate::retry`]), which tool calls are valid, the words the model
//! reads about them, when the run ends and why. It holds no pool: it asks for
//! pool operations ([`crate::pool::PoolOp`]: `reserve`, `settle`, `release`,
//! `extend`) as actions and reads their results as inputs, so the driver can
//! run them against any *pool store* (the in-memory [`crate::pool::Pool`]
//! through [`crate::pool::Pool::apply`], or a pool shared through Redis). The
//! driver only performs what [`AgentAction`] asks for: applies pool
//! operations, sends HTTP requests, runs tools (concurrently, if it likes),
//! and sleeps.
//!
//! ```text
//! loop {
//!     match run.next_action(now) {
//!         AgentAction::Pool(op) => run.handle_pool(store.apply(op), now),
//!         AgentAction::Send(http) => {
//!             // as for a MessagesCall (see crate::call), with run.handle_head,
//!             // handle_body, handle_chunk, handle_end, handle_timeout and
//!             // handle_transport_error; run.deadline() bounds each wait, and
//!             // after every input while run.is_reading():
//!             //     while let Some(op) = run.poll_pool(now) {
//!             //         run.handle_pool(store.apply(op), now)   // lease renewal
//!             //     }
//!         }
//!         AgentAction::CallTools(calls) => {
//!             // run every call (they are independent); for each, what the
//!             // tool did becomes its result through the run:
//!             //     run.tool_result(&call, ToolOutput::Value(v) | Failed(msg) | Unknown)
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
//!   ([`crate::pricing::cost`]) with attribution. A failed attempt that
//!   certainly did not reach the model (an error status with its body, a
//!   connection that failed before any answer) releases its reservation; one
//!   the API may have billed (a cut or failed stream, a read or idle timeout
//!   after sending, a cancellation while a request is out) settles its
//!   reserved worst case, flagged `estimated` in the ledger with what was
//!   observed beside it ([`crate::call::MessagesCall::may_have_billed`]). A
//!   retry reserves again, so nothing is ever charged twice.
//!   A pool operation is asked for until its result is handed back, so a
//!   settle is never dropped; while a response is read, the lease is renewed
//!   each time half of it has passed.
//! * **Defaults and words** live in [`AgentConfig`]: `max_tokens` when the
//!   request has none, streaming on, and [`AgentTexts`] for unknown tools,
//!   failed tools and missing results; [`ToolOutput::content`] turns a tool's
//!   return value into `tool_result` content.
//! * **Refusals end the run cleanly** ([`RunStatus::PoolRefused`]), except a
//!   rate limit, which becomes a wait until the pool says.
//! * **The run's own budget** (`max_spend`) is checked against the worst case
//!   before each reservation ([`RunStatus::BudgetExhausted`]); `max_turns`
//!   bounds the number of model calls.
//! * **Tools.** A `tool_use` batch becomes one [`AgentAction::CallTools`] with
//!   every valid call. Unknown tools, inputs that fail the schema, and inputs cut
//!   off or malformed in the stream never reach a tool: they become `is_error`
//!   results with a clear message. A tool that fails (`ToolOutput::Failed`)
//!   becomes an `is_error` result in the run's words ([`AgentTexts`]: by
//!   default without the error's text, which may hold a secret), and the turn
//!   that asked for it records the call ([`TurnRecord::tool_failures`]); the
//!   driver keeps the error itself beside that record and logs it.
//! * **Stops.** `pause_turn` continues the turn; `end_turn` and
//!   `stop_sequence` complete the run; `max_tokens`, `refusal`,
//!   `model_context_window_exceeded` (and any stop reason this version does not
//!   know) end it with that reason.

mod config;
mod outcome;
mod run;

pub use config::{AgentConfig, AgentTexts, DEFAULT_MAX_TOKENS};
pub use outcome::{Outcome, RunAttribution, RunStatus, ToolCall, ToolFailureRecord, ToolOutput, ToolResult, TurnRecord, WaitReason};
pub use run::{tool_result, AgentAction, AgentError, AgentRun};
