//! Builds the final [`Message`] from stream events.
//!
//! Feed every event to [`MessageAccumulator::handle_event`] in order, then call
//! [`MessageAccumulator::finish`]. The result is the message the non-streaming
//! endpoint would have returned: text, thinking and signature deltas appended,
//! citations collected, tool inputs assembled from `input_json_delta`s, and
//! `message_delta` usage applied as cumulative figures (fields present
//! overwrite; nothing is added).
//!
//! Tool inputs are assembled in O(n): the JSON pieces are appended to one buffer
//! per block and parsed once, when the block stops. A block that never stops (a
//! stream cut by `max_tokens` before `content_block_stop`) is parsed as far as it
//! is complete, as the official SDK does, and reported in
//! [`Finished::tool_input_issues`] so that no tool ever runs on it.

use crate::api::{ContentBlock, Delta, ErrorEvent, Message, StreamEvent};
use crate::error::ApiError;
use crate::partial_json;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

/// The fields of [`Message`] itself: a `message_delta` may not put its own
/// unknown keys under these names.
const MESSAGE_FIELDS: &[&str] = &["id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"];

/// Why a tool input cannot be trusted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ToolInputIssueKind {
    /// The block never stopped: the input was cut off (usually by
    /// `max_tokens`) and holds only its complete prefix.
    Truncated,
    /// The block stopped but its JSON does not parse.
    Malformed {
        /// The parser's description.
        detail: String,
    },
}

/// A `tool_use` (or `server_tool_use`) block whose input is not the complete
/// JSON the model meant to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ToolInputIssue {
    /// The block's index in `content`.
    pub index: usize,
    /// The call's ID.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// What is wrong.
    #[serde(flatten)]
    pub kind: ToolInputIssueKind,
    /// The raw JSON text received.
    pub raw_json: String,
}

/// A stream that completed (`message_stop` arrived).
#[derive(Clone, Debug, PartialEq)]
pub struct Finished {
    /// The final message.
    pub message: Message,
    /// Tool inputs that are cut off or malformed; never run those tools.
    pub tool_input_issues: Vec<ToolInputIssue>,
}

/// Why a stream could not produce a final message.
///
/// The message so far (`partial`), which may be as large as the stream's
/// cap, is held in an [`Arc`]: the error is cloned where it must be kept and
/// handed out at once (a [`super::MessageStream`] keeps its failure and
/// returns it), and those clones share one message, never copy it. Whoever
/// ends up with the last reference moves it out with [`Arc::try_unwrap`]
/// (or [`StreamError::take_partial`]).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The API sent an `error` event (after HTTP 200). The message so far is kept.
    #[error("stream error from the API: {error}")]
    Api {
        /// The error.
        error: ApiError,
        /// The message received before the error, if it had started.
        partial: Option<Arc<Message>>,
    },
    /// The stream ended before `message_stop`. The message so far is kept.
    #[error("stream ended before message_stop ({reason})")]
    Incomplete {
        /// The message received so far, if it had started.
        partial: Option<Arc<Message>>,
        /// What was missing.
        reason: String,
    },
    /// An event's data is not valid JSON or not a valid event.
    #[error("malformed stream event: {detail}")]
    Malformed {
        /// serde_json's description.
        detail: String,
    },
    /// Events arrived in an order the API's grammar does not allow.
    #[error("stream protocol violation: {detail}")]
    Protocol {
        /// What happened.
        detail: String,
    },
    /// The SSE framing failed (for example an event over the size cap).
    #[error(transparent)]
    Decode(#[from] super::decoder::SseError),
    /// The whole stream grew past its size cap
    /// ([`crate::call::CallOptions::max_stream_bytes`]): an endless stream
    /// cannot exhaust memory. The message so far is kept here when the stream
    /// is read on its own; a [`crate::call::MessagesCall`] moves it to its
    /// [`crate::call::CallError::partial`] instead (held once) and leaves
    /// `partial` empty.
    #[error("stream of more than {limit} bytes: over the size cap")]
    TooLarge {
        /// The cap in bytes.
        limit: usize,
        /// The message received so far, if it had started.
        partial: Option<Arc<Message>>,
    },
}

impl StreamError {
    /// The message received before the failure, if any.
    pub fn partial(&self) -> Option<&Message> {
        match self {
            StreamError::Api { partial, .. } | StreamError::Incomplete { partial, .. } | StreamError::TooLarge { partial, .. } => partial.as_deref(),
            _ => None,
        }
    }

    /// Takes the message received before the failure out of the error (which
    /// keeps the rest): moved when this error holds the only reference,
    /// copied only if a clone of the error still shares it.
    pub fn take_partial(&mut self) -> Option<Message> {
        match self {
            StreamError::Api { partial, .. } | StreamError::Incomplete { partial, .. } | StreamError::TooLarge { partial, .. } => {
                partial.take().map(|m| Arc::try_unwrap(m).unwrap_or_else(|shared| Message::clone(&shared)))
            }
            _ => None,
        }
    }

    /// Whether a retry may cure the failure: a mid-stream error of a transient
    /// kind (see [`crate::retry::is_transient_kind`]) or a cut-off stream.
    pub fn is_transient(&self) -> bool {
        match self {
            StreamError::Api { error, .. } => crate::retry::is_transient_kind(&error.kind),
            StreamError::Incomplete { .. } => true,
            _ => false,
        }
    }
}

#[derive(Debug, Default, Clone)]
struct InputBuf {
    json: String,
    stopped: bool,
}

/// Accumulates stream events into a [`Message`]. See the module docs.
#[derive(Debug, Default, Clone)]
pub struct MessageAccumulator {
    message: Option<Message>,
    /// Per content index: the JSON buffer of a tool input block.
    inputs: Vec<Option<InputBuf>>,
    issues: Vec<ToolInputIssue>,
    stopped: bool,
}

impl MessageAccumulator {
    /// An empty accumulator.
    pub fn new() -> MessageAccumulator {
        MessageAccumulator::default()
    }

    /// The message so far (tool inputs of open blocks not yet filled in), once
    /// `message_start` has arrived.
    pub fn message(&self) -> Option<&Message> {
        self.message.as_ref()
    }

    /// Whether `message_stop` has arrived.
    pub fn is_complete(&self) -> bool {
        self.stopped
    }

    /// The input of the tool block at `index` as far as it has arrived, parsed
    /// leniently (O(n) in the input so far; call it when needed, not per delta).
    pub fn partial_tool_input(&self, index: usize) -> Option<Value> {
        let buf = self.inputs.get(index)?.as_ref()?;
        if buf.json.trim().is_empty() {
            return Some(Value::Object(Default::default()));
        }
        partial_json::parse_partial(&buf.json).ok().map(|p| p.value)
    }

    /// Applies one event. An `error` event becomes [`StreamError::Api`], into
    /// which the message so far moves (uncopied: [`message`](Self::message) is
    /// `None` afterwards); events of unknown types, `ping`s and unknown delta
    /// types change nothing.
    pub fn handle_event(&mut self, event: &StreamEvent) -> Result<(), StreamError> {
        match event {
            StreamEvent::MessageStart(e) => {
                if self.message.is_some() {
                    return Err(protocol("a second message_start"));
                }
                let mut message = e.message.clone();
                self.inputs = message.content.iter().map(|_| None).collect();
                message.content.reserve(4);
                self.message = Some(message);
            }
            StreamEvent::ContentBlockStart(e) => {
                let message = self.message.as_mut().ok_or_else(|| protocol("content_block_start before message_start"))?;
                if e.index != message.content.len() {
                    return Err(protocol(&format!("content_block_start index {} but {} blocks so far", e.index, message.content.len())));
                }
                let buf = matches!(e.content_block, ContentBlock::ToolUse(_) | ContentBlock::ServerToolUse(_)).then(InputBuf::default);
                message.content.push(e.content_block.clone());
                self.inputs.push(buf);
            }
            StreamEvent::ContentBlockDelta(e) => {
                let message = self.message.as_mut().ok_or_else(|| protocol("content_block_delta before message_start"))?;
                let Some(block) = message.content.get_mut(e.index) else {
                    return Err(protocol(&format!("content_block_delta for block {} which has not started", e.index)));
                };
                apply_delta(block, self.inputs.get_mut(e.index).and_then(Option::as_mut), &e.delta, e.index)?;
            }
            StreamEvent::ContentBlockStop(e) => {
                let message = self.message.as_mut().ok_or_else(|| protocol("content_block_stop before message_start"))?;
                let Some(block) = message.content.get_mut(e.index) else {
                    return Err(protocol(&format!("content_block_stop for block {} which has not started", e.index)));
                };
                if let Some(Some(buf)) = self.inputs.get_mut(e.index) {
                    buf.stopped = true;
                    if let Some(issue) = finalize_input(block, buf, e.index, false) {
                        self.issues.push(issue);
                    }
                }
            }
            StreamEvent::MessageDelta(e) => {
                let message = self.message.as_mut().ok_or_else(|| protocol("message_delta before message_start"))?;
                if e.delta.stop_reason.is_some() {
                    message.stop_reason = e.delta.stop_reason.clone();
                }
                message.stop_sequence = e.delta.stop_sequence.clone();
                // A newer API's delta fields are kept, but never under the
                // name of one of the message's own fields (which they would
                // shadow when the message is written out).
                for (k, v) in &e.delta.extra {
                    if !MESSAGE_FIELDS.contains(&k.as_str()) {
                        message.extra.insert(k.clone(), v.clone());
                    }
                }
                message.usage.apply_delta(&e.usage);
            }
            StreamEvent::MessageStop(_) => {
                if self.message.is_none() {
                    return Err(protocol("message_stop before message_start"));
                }
                self.stopped = true;
            }
            StreamEvent::Error(e) => return Err(self.error_event(e.clone())),
            StreamEvent::Ping(_) | StreamEvent::Unknown(_) => {}
        }
        Ok(())
    }

    /// The error an `error` event ends the stream with: the message so far
    /// moves into it (the accumulator holds no message afterwards), so a
    /// message as large as the stream's cap is never copied.
    pub(crate) fn error_event(&mut self, e: ErrorEvent) -> StreamError {
        let ErrorEvent { error, request_id, .. } = e;
        StreamError::Api {
            error: ApiError { kind: error.kind, message: error.message, status: None, request_id },
            partial: self.message.take().map(Arc::new),
        }
    }

    /// The message so far, moved out (the accumulator holds none afterwards):
    /// for a stream that fails, whose error carries it.
    pub(crate) fn take_message(&mut self) -> Option<Message> {
        self.message.take()
    }

    /// Ends the stream. With `message_stop` received, the final message and any
    /// tool-input issues; otherwise [`StreamError::Incomplete`] holding the
    /// message so far, with open tool inputs parsed as far as they are complete.
    pub fn finish(mut self) -> Result<Finished, StreamError> {
        let Some(mut message) = self.message.take() else {
            return Err(StreamError::Incomplete { partial: None, reason: "no message_start".into() });
        };
        for (index, (block, buf)) in message.content.iter_mut().zip(self.inputs.iter_mut()).enumerate() {
            if let Some(buf) = buf {
                if !buf.stopped {
                    buf.stopped = true;
                    if let Some(issue) = finalize_input(block, buf, index, true) {
                        self.issues.push(issue);
                    }
                }
            }
        }
        if !self.stopped {
            return Err(StreamError::Incomplete { partial: Some(Arc::new(message)), reason: "no message_stop".into() });
        }
        Ok(Finished { message, tool_input_issues: self.issues })
    }
}

fn protocol(detail: &str) -> StreamError {
    StreamError::Protocol { detail: detail.to_owned() }
}

fn apply_delta(block: &mut ContentBlock, input: Option<&mut InputBuf>, delta: &Delta, index: usize) -> Result<(), StreamError> {
    let mismatch = || protocol(&format!("{} for a {} block at index {index}", delta.type_tag(), block.type_tag()));
    match delta {
        Delta::Text(d) => match block {
            ContentBlock::Text(t) => t.text.push_str(&d.text),
            _ => return Err(mismatch()),
        },
        Delta::InputJson(d) => match input {
            Some(buf) => buf.json.push_str(&d.partial_json),
            None => return Err(mismatch()),
        },
        Delta::Thinking(d) => match block {
            ContentBlock::Thinking(t) => t.thinking.push_str(&d.thinking),
            _ => return Err(mismatch()),
        },
        Delta::Signature(d) => match block {
            ContentBlock::Thinking(t) => t.signature.clone_from(&d.signature),
            _ => return Err(mismatch()),
        },
        Delta::Citations(d) => match block {
            ContentBlock::Text(t) => t.citations.get_or_insert_with(Vec::new).push(d.citation.clone()),
            _ => return Err(mismatch()),
        },
        Delta::Unknown(_) => {}
    }
    Ok(())
}

/// Parses a tool block's JSON buffer into its `input`. Returns an issue when the
/// input is cut off (`truncated`) or malformed.
fn finalize_input(block: &mut ContentBlock, buf: &InputBuf, index: usize, truncated: bool) -> Option<ToolInputIssue> {
    let (id, name, input) = match block {
        ContentBlock::ToolUse(t) => (&t.id, &t.name, &mut t.input),
        ContentBlock::ServerToolUse(t) => (&t.id, &t.name, &mut t.input),
        _ => return None,
    };
    let issue = |kind| Some(ToolInputIssue { index, id: id.clone(), name: name.clone(), kind, raw_json: buf.json.clone() });
    if buf.json.trim().is_empty() {
        // No deltas: the input is the one from content_block_start ({}).
        return if truncated { issue(ToolInputIssueKind::Truncated) } else { None };
    }
    if !truncated {
        match serde_json::from_str::<Value>(&buf.json) {
            Ok(v) => {
                *input = v;
                return None;
            }
            Err(e) => {
                // JSON that stops short (the model hit max_tokens, and the block
                // was closed anyway) is cut off; anything else is malformed.
                let partial = partial_json::parse_partial(&buf.json);
                let cut_short = matches!(&partial, Ok(p) if !p.complete) && e.is_eof();
                if let Ok(p) = partial {
                    *input = p.value;
                }
                let kind = if cut_short { ToolInputIssueKind::Truncated } else { ToolInputIssueKind::Malformed { detail: e.to_string() } };
                return issue(kind);
            }
        }
    }
    match partial_json::parse_partial(&buf.json) {
        Ok(p) => {
            *input = p.value;
            // Even complete JSON is cut off when its block never stopped.
            issue(ToolInputIssueKind::Truncated)
        }
        Err(e) => issue(ToolInputIssueKind::Malformed { detail: e.to_string() }),
    }
}
