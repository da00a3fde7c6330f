//! The response of `POST /v1/messages`.

use super::content::ContentBlock;
use super::request::Role;
use super::usage::Usage;
use super::Extra;
use serde::{Deserialize, Serialize};

open_str_enum! {
    /// Why the model stopped.
    pub enum StopReason {
        /// The model finished its turn.
        "end_turn" => EndTurn,
        /// `max_tokens` was reached; the output is cut.
        "max_tokens" => MaxTokens,
        /// A custom stop sequence was generated.
        "stop_sequence" => StopSequence,
        /// The model called one or more tools and waits for their results.
        "tool_use" => ToolUse,
        /// A long-running turn was paused; send the response back to continue.
        "pause_turn" => PauseTurn,
        /// The model declined to answer.
        "refusal" => Refusal,
        /// The context window is full.
        "model_context_window_exceeded" => ModelContextWindowExceeded,
    }
}

/// A message from the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The message ID (`msg_...`).
    pub id: String,
    /// Always `"message"`.
    #[serde(rename = "type", default = "message_type")]
    pub kind: String,
    /// Always `assistant`.
    pub role: Role,
    /// The model that answered.
    pub model: String,
    /// The content blocks.
    pub content: Vec<ContentBlock>,
    /// Why the model stopped (`None` only mid-stream).
    pub stop_reason: Option<StopReason>,
    /// The stop sequence that matched, if any.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// Token usage.
    pub usage: Usage,
    /// Unknown fields (for example `container`, `stop_details`).
    #[serde(flatten)]
    pub extra: Extra,
}

fn message_type() -> String {
    "message".to_owned()
}

impl Message {
    /// The text of every text block, concatenated.
    pub fn text(&self) -> String {
        self.content.iter().filter_map(ContentBlock::as_text).collect()
    }

    /// The `tool_use` blocks, in order.
    pub fn tool_uses(&self) -> impl Iterator<Item = &super::ToolUseBlock> {
        self.content.iter().filter_map(|b| match b {
            ContentBlock::ToolUse(t) => Some(t),
            _ => None,
        })
    }
}
