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
#[derive(Debug, Clone)]
pub struct MessageAccumulator {
    message: Option<Message>,
    /// Per content index: the JSON buffer of a tool input block.
    inputs: Vec<Option<InputBuf>>,
    issues: Vec<ToolInputIssue>,
    stopped: bool,
    /// The most bytes the stream will bring in all (`usize::MAX`: unknown).
    /// See [`with_max_stream_bytes`](Self::with_max_stream_bytes).
    max_stream_bytes: usize,
}

impl Default for MessageAccumulator {
    fn default() -> MessageAccumulator {
        MessageAccumulator { message: None, inputs: Vec::new(), issues: Vec::new(), stopped: false, max_stream_bytes: usize::MAX }
    }
}

/// The size up to which a growing text buffer (a text, thinking or tool-input
/// block) grows the usual way, by doubling. Past it, with a stream cap known
/// ([`MessageAccumulator::with_max_stream_bytes`]), the buffer gets room at
/// once for all the text the rest of the stream can bring.
pub const RESERVE_PAST_BYTES: usize = 1 << 20;

impl MessageAccumulator {
    /// An empty accumulator.
    pub fn new() -> MessageAccumulator {
        MessageAccumulator::default()
    }

    /// Tells the accumulator that the stream will bring at most
    /// `max_stream_bytes` bytes in all (the caller stops it past that: a
    /// [`crate::call::MessagesCall`] at
    /// [`crate::call::CallOptions::max_stream_bytes`]).
    ///
    /// With it, a text, thinking or tool-input buffer that grows past
    /// [`RESERVE_PAST_BYTES`] gets room, once, for all the text the stream
    /// can still bring (decoded text is never longer than the event that
    /// carried it, so the cap minus the text of every block so far bounds
    /// it), instead of doubling. Doubling copies the text into a new block
    /// while the old one is live; in wasm32 the linear memory never shrinks
    /// and written pages stay resident, so every block a text outgrew stayed
    /// in memory: about two caps for a stream that reaches its cap. Pages of
    /// the room that are never written are not resident (V8 maps wasm memory
    /// lazily; glibc serves large blocks with `mmap`), so it costs address
    /// space, not memory. The rooms of all buffers together stay within the
    /// cap (a buffer is given what the others do not hold), and a block's
    /// unused room is given back when the block stops or the stream ends
    /// (a shrink in place: no copy). Without a cap (the default), buffers
    /// grow by doubling.
    pub fn with_max_stream_bytes(mut self, max_stream_bytes: usize) -> MessageAccumulator {
        self.max_stream_bytes = max_stream_bytes;
        self
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
                let input = self.inputs.get_mut(e.index).and_then(Option::as_mut);
                if apply_delta(block, input, &e.delta, e.index, self.max_stream_bytes)? == Applied::NeedsRoom {
                    // Rare: a buffer past RESERVE_PAST_BYTES is full.
                    self.append_with_room(e.index, &e.delta);
                }
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
                    release_room(&mut buf.json);
                }
                // The block is done: its unused room goes back (in place),
                // for the next blocks.
                if let Some(text) = growing_text(block) {
                    release_room(text);
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
            partial: self.take_message().map(Arc::new),
        }
    }

    /// The message so far, moved out (the accumulator holds none afterwards):
    /// for a stream that fails, whose error carries it. Unused room goes back.
    pub(crate) fn take_message(&mut self) -> Option<Message> {
        let mut message = self.message.take()?;
        message.content.iter_mut().filter_map(growing_text).for_each(release_room);
        Some(message)
    }

    /// The block at `index` and its tool-input buffer, if any.
    fn block_mut(&mut self, index: usize) -> Option<(&mut ContentBlock, Option<&mut InputBuf>)> {
        let block = self.message.as_mut()?.content.get_mut(index)?;
        Some((block, self.inputs.get_mut(index).and_then(Option::as_mut)))
    }

    /// Gives the buffer `delta` appends to (in block `index`, full and past
    /// [`RESERVE_PAST_BYTES`]) room for the rest of the stream at once, then
    /// appends the piece: the room is the cap minus what every other buffer
    /// holds (its text and its room), so that the rooms of all buffers stay
    /// within the cap. When the others hold it all (blocks interleaved by a
    /// peer), the buffer grows as usual. O(blocks), at most once per buffer
    /// in a well-formed stream. (Appending here, not in a second
    /// [`apply_delta`], keeps that one inlined in the hot path.)
    #[cold]
    #[inline(never)]
    fn append_with_room(&mut self, index: usize, delta: &Delta) {
        let Some(message) = &self.message else { return };
        let held: usize = message
            .content
            .iter()
            .map(|b| match b {
                ContentBlock::Text(t) => t.text.capacity(),
                ContentBlock::Thinking(t) => t.thinking.capacity(),
                _ => 0,
            })
            .chain(self.inputs.iter().flatten().map(|i| i.json.capacity()))
            .fold(0, usize::saturating_add);
        let cap = self.max_stream_bytes;
        let Some((block, input)) = self.block_mut(index) else { return };
        let (buf, piece) = match (delta, block, input) {
            (Delta::Text(d), ContentBlock::Text(t), _) => (&mut t.text, &d.text),
            (Delta::Thinking(d), ContentBlock::Thinking(t), _) => (&mut t.thinking, &d.thinking),
            (Delta::InputJson(d), _, Some(i)) => (&mut i.json, &d.partial_json),
            _ => return,
        };
        let others = held.saturating_sub(buf.capacity());
        let room = cap.saturating_sub(others);
        if room >= buf.len().saturating_add(piece.len()) {
            // An allocation refused (no address space left) leaves the
            // usual growth to push_str.
            let _ = buf.try_reserve_exact(room - buf.len());
        }
        buf.push_str(piece);
    }

    /// Ends the stream. With `message_stop` received, the final message and any
    /// tool-input issues; otherwise [`StreamError::Incomplete`] holding the
    /// message so far, with open tool inputs parsed as far as they are complete.
    pub fn finish(mut self) -> Result<Finished, StreamError> {
        let Some(mut message) = self.take_message() else {
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

/// Whether [`apply_delta`] applied the delta.
#[derive(Debug, PartialEq, Eq)]
enum Applied {
    Done,
    /// Not applied: its buffer is full and past [`RESERVE_PAST_BYTES`], and
    /// the stream has a cap ([`MessageAccumulator::append_with_room`] appends it).
    NeedsRoom,
}

/// The text buffers of a block that deltas grow (a tool input's is in its
/// [`InputBuf`]).
fn growing_text(block: &mut ContentBlock) -> Option<&mut String> {
    match block {
        ContentBlock::Text(t) => Some(&mut t.text),
        ContentBlock::Thinking(t) => Some(&mut t.thinking),
        _ => None,
    }
}

/// Gives back a buffer's unused room from [`MessageAccumulator::append_with_room`]
/// (only that large: a small buffer's doubling slack is left). A shrink is
/// done in place by the allocators we run on (dlmalloc in wasm32 splits the
/// block; glibc splits it, or `mremap`s a mapped one): no copy.
fn release_room(buf: &mut String) {
    if buf.capacity() - buf.len() > RESERVE_PAST_BYTES {
        buf.shrink_to_fit();
    }
}

/// Appends `piece` to `buf`, unless `buf` is full past [`RESERVE_PAST_BYTES`]
/// and the stream has a cap (`cap`; `usize::MAX` for none): then nothing, and
/// [`Applied::NeedsRoom`]. One comparison more than `push_str` makes anyway.
#[inline]
fn append(buf: &mut String, piece: &str, cap: usize) -> Applied {
    if piece.len() > buf.capacity() - buf.len() && cap != usize::MAX && buf.len().saturating_add(piece.len()) > RESERVE_PAST_BYTES {
        return Applied::NeedsRoom;
    }
    buf.push_str(piece);
    Applied::Done
}

fn apply_delta(block: &mut ContentBlock, input: Option<&mut InputBuf>, delta: &Delta, index: usize, cap: usize) -> Result<Applied, StreamError> {
    let mismatch = || protocol(&format!("{} for a {} block at index {index}", delta.type_tag(), block.type_tag()));
    match delta {
        Delta::Text(d) => match block {
            ContentBlock::Text(t) => return Ok(append(&mut t.text, &d.text, cap)),
            _ => return Err(mismatch()),
        },
        Delta::InputJson(d) => match input {
            Some(buf) => return Ok(append(&mut buf.json, &d.partial_json, cap)),
            None => return Err(mismatch()),
        },
        Delta::Thinking(d) => match block {
            ContentBlock::Thinking(t) => return Ok(append(&mut t.thinking, &d.thinking, cap)),
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
    Ok(Applied::Done)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ContentBlockDeltaEvent, Extra, InputJsonDelta, TextDelta, ThinkingDelta};

    const MIB: usize = 1 << 20;
    const CAP: usize = 16 * MIB;
    const PIECE: usize = 64 * 1024;

    fn event(json: &str) -> StreamEvent {
        serde_json::from_str(json).unwrap()
    }

    fn started(cap: Option<usize>, blocks: &[&str]) -> MessageAccumulator {
        let mut acc = MessageAccumulator::new();
        if let Some(cap) = cap {
            acc = acc.with_max_stream_bytes(cap);
        }
        acc.handle_event(&event(r#"{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":1,"output_tokens":1}}}"#)).unwrap();
        for (index, block) in blocks.iter().enumerate() {
            let block = match *block {
                "text" => r#"{"type":"text","text":""}"#,
                "thinking" => r#"{"type":"thinking","thinking":"","signature":""}"#,
                _ => r#"{"type":"tool_use","id":"t","name":"f","input":{}}"#,
            };
            acc.handle_event(&event(&format!(r#"{{"type":"content_block_start","index":{index},"content_block":{block}}}"#))).unwrap();
        }
        acc
    }

    fn push(acc: &mut MessageAccumulator, index: usize, kind: &str, bytes: usize) {
        let piece = "x".repeat(bytes);
        let delta = match kind {
            "text" => Delta::Text(TextDelta { text: piece }),
            "thinking" => Delta::Thinking(ThinkingDelta { thinking: piece }),
            _ => Delta::InputJson(InputJsonDelta { partial_json: piece }),
        };
        acc.handle_event(&StreamEvent::ContentBlockDelta(ContentBlockDeltaEvent { index, delta, extra: Extra::new() })).unwrap();
    }

    fn stop(acc: &mut MessageAccumulator, index: usize) {
        acc.handle_event(&event(&format!(r#"{{"type":"content_block_stop","index":{index}}}"#))).unwrap();
    }

    /// (address, length, capacity) of the buffer block `index` grows.
    fn buffer(acc: &MessageAccumulator, index: usize) -> (*const u8, usize, usize) {
        let s = match acc.message().unwrap().content.get(index).unwrap() {
            ContentBlock::Text(t) => &t.text,
            ContentBlock::Thinking(t) => &t.thinking,
            _ => &acc.inputs.get(index).unwrap().as_ref().unwrap().json,
        };
        (s.as_ptr(), s.len(), s.capacity())
    }

    fn held(acc: &MessageAccumulator, blocks: usize) -> usize {
        (0..blocks).map(|i| buffer(acc, i).2).sum()
    }

    /// Issue 10, item 13 (wasm): a text, thinking or tool-input buffer past
    /// 1 MiB gets room for the rest of the stream at once and is never moved
    /// again (before: doubled, 2, 4, 8, 16 MiB, each growth a copy whose old
    /// block the wasm heap kept: two caps for a stream at its cap). The room
    /// is within the cap, and given back (in place) when the block stops.
    #[test]
    fn a_buffer_past_1_mib_gets_room_for_the_rest_of_the_stream_at_once() {
        for kind in ["text", "thinking", "tool_use"] {
            let mut acc = started(Some(CAP), &[kind]);
            while buffer(&acc, 0).1 <= RESERVE_PAST_BYTES {
                push(&mut acc, 0, kind, PIECE);
            }
            let (at, _, room) = buffer(&acc, 0);
            assert!((CAP - MIB..=CAP).contains(&room), "{kind}: room {room} for the rest of the stream");
            while buffer(&acc, 0).1 + PIECE <= CAP / 2 {
                push(&mut acc, 0, kind, PIECE);
            }
            assert_eq!((buffer(&acc, 0).0, buffer(&acc, 0).2), (at, room), "{kind}: never moved nor grown again");
            stop(&mut acc, 0);
            let (after, len, capacity) = buffer(&acc, 0);
            assert_eq!(capacity, len, "{kind}: the unused room is given back when the block stops");
            // Measured: the shrink is in place (glibc here; dlmalloc in wasm32 splits the block too).
            assert_eq!(after, at, "{kind}: no copy to give the room back");
        }
    }

    /// Several large blocks in one message do not each hold a cap of room
    /// (wasm32 has 4 GiB of addresses): one after the other (as the API
    /// sends them), each is given the cap minus what the others hold, the
    /// stopped ones having given theirs back; interleaved (a peer's choice),
    /// the rooms together stay within the cap plus the usual growth of the
    /// buffers that found none.
    #[test]
    fn the_rooms_of_all_blocks_stay_within_the_cap() {
        let kinds = ["text", "thinking", "tool_use", "text"];
        let mut acc = started(Some(CAP), &kinds);
        for (index, kind) in kinds.iter().enumerate() {
            while buffer(&acc, index).1 <= 2 * MIB {
                push(&mut acc, index, kind, PIECE);
                assert!(held(&acc, kinds.len()) <= CAP, "block {index}: {} bytes held", held(&acc, kinds.len()));
            }
            let (at, _, room) = buffer(&acc, index);
            assert!(held(&acc, kinds.len()) > CAP - MIB, "block {index} got the rest of the cap too: {room}");
            push(&mut acc, index, kind, MIB);
            assert_eq!((buffer(&acc, index).0, buffer(&acc, index).2), (at, room), "block {index} not moved");
            stop(&mut acc, index);
        }

        let mut acc = started(Some(CAP), &kinds);
        for _ in 0..(2 * MIB / PIECE) {
            for (index, kind) in kinds.iter().enumerate() {
                push(&mut acc, index, kind, PIECE);
            }
        }
        let held = held(&acc, kinds.len());
        assert!(held <= CAP + 3 * 4 * MIB, "interleaved: {held} bytes held");
    }

    /// Without a cap (a stream read on its own), buffers grow as they always
    /// did: no room is reserved.
    #[test]
    fn without_a_cap_buffers_grow_by_doubling() {
        let mut acc = started(None, &["text"]);
        while buffer(&acc, 0).1 < 4 * MIB {
            push(&mut acc, 0, "text", PIECE);
        }
        let (_, len, capacity) = buffer(&acc, 0);
        assert!(capacity < 2 * len, "{capacity} for {len}");
    }
}
