//! The events of a streaming response (`"stream": true`).

use super::content::ContentBlock;
use super::message::{Message, StopReason};
use super::Extra;
use crate::error::ApiErrorKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `message_start`: the message with empty content and initial usage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageStartEvent {
    /// The message so far.
    pub message: Message,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `content_block_start`: a block begins at `index`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContentBlockStartEvent {
    /// The block's position in `content`.
    pub index: usize,
    /// The block's initial value (empty text, a `tool_use` with `input: {}`, ...).
    pub content_block: ContentBlock,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `content_block_delta`: a piece of the block at `index`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContentBlockDeltaEvent {
    /// The block's position.
    pub index: usize,
    /// The piece.
    pub delta: Delta,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `content_block_stop`: the block at `index` is complete.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContentBlockStopEvent {
    /// The block's position.
    pub index: usize,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The `delta` of a `message_delta` event.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageDeltaBody {
    /// Why the model stopped.
    #[serde(default)]
    pub stop_reason: Option<StopReason>,
    /// The stop sequence that matched.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// Other top-level message fields (for example `stop_details`, `container`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// `message_delta`: top-level changes and cumulative usage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageDeltaEvent {
    /// Top-level changes.
    pub delta: MessageDeltaBody,
    /// Usage so far: cumulative, so every field present overwrites.
    #[serde(default)]
    pub usage: Extra,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An event without fields of its own (`message_stop`, `ping`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmptyEvent {
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The `error` of an error body or an `error` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error type.
    #[serde(rename = "type")]
    pub kind: ApiErrorKind,
    /// The message.
    #[serde(default)]
    pub message: String,
}

/// `error`: the API failed mid-stream (after HTTP 200).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorEvent {
    /// What went wrong.
    pub error: ErrorBody,
    /// The request ID, when the API gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

open_tagged_enum! {
    /// One event of a message stream.
    pub enum StreamEvent ("stream event") {
        /// The message begins.
        "message_start" => MessageStart(MessageStartEvent),
        /// A content block begins.
        "content_block_start" => ContentBlockStart(ContentBlockStartEvent),
        /// A piece of a content block.
        "content_block_delta" => ContentBlockDelta(ContentBlockDeltaEvent),
        /// A content block ends.
        "content_block_stop" => ContentBlockStop(ContentBlockStopEvent),
        /// Top-level changes and usage.
        "message_delta" => MessageDelta(MessageDeltaEvent),
        /// The message is complete.
        "message_stop" => MessageStop(EmptyEvent),
        /// Keep-alive.
        "ping" => Ping(EmptyEvent),
        /// An error mid-stream.
        "error" => Error(ErrorEvent),
    }
}

/// `text_delta`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextDelta {
    /// Text to append.
    pub text: String,
}

/// `input_json_delta`: a piece of a tool input's JSON text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputJsonDelta {
    /// JSON text to append (not a JSON value on its own).
    pub partial_json: String,
}

/// `thinking_delta`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThinkingDelta {
    /// Thinking text to append.
    pub thinking: String,
}

/// `signature_delta`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureDelta {
    /// The thinking block's signature.
    pub signature: String,
}

/// `citations_delta`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CitationsDelta {
    /// A citation to append to the text block's `citations`.
    pub citation: Value,
}

open_tagged_enum! {
    /// The `delta` of a `content_block_delta` event.
    pub enum Delta ("delta") {
        /// Text.
        "text_delta" => Text(TextDelta),
        /// Tool input JSON.
        "input_json_delta" => InputJson(InputJsonDelta),
        /// Thinking text.
        "thinking_delta" => Thinking(ThinkingDelta),
        /// Thinking signature.
        "signature_delta" => Signature(SignatureDelta),
        /// A citation.
        "citations_delta" => Citations(CitationsDelta) { citation },
    }
}
