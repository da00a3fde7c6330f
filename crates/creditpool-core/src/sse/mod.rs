//! Server-Sent-Events streams of the Messages API.
//!
//! [`decoder::SseDecoder`] turns bytes into SSE events; [`MessageAccumulator`]
//! turns stream events into the final message; [`MessageStream`] does both.

pub mod accumulator;
pub mod decoder;
mod stream;

pub use accumulator::{Finished, MessageAccumulator, StreamError, ToolInputIssue, ToolInputIssueKind};
pub use stream::MessageStream;
