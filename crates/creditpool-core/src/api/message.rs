//! The response of `POST /v1/messages`.

use super::content::ContentBlock;
use super::request::Role;
use super::usage::Usage;
use super::Extra;
use serde::de::{Deserializer, Error as _, MapAccess, Visitor};
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
#[derive(Clone, Debug, PartialEq, Serialize)]
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

/// Written out rather than derived: a derived `Deserialize` with a
/// `#[serde(flatten)]` field first buffers the whole body in serde's generic
/// `Content` tree and then rebuilds every field from it, which for a message
/// with large tool inputs costs about as much as parsing it again. This reads
/// the fields in one pass, with the derived impl's rules and error messages:
/// `type` defaults to `"message"`, `stop_reason` and `stop_sequence` may be
/// missing, the other fields are required, a repeated field is an error, and
/// every unknown field is kept in `extra`.
impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(MessageVisitor)
    }
}

struct MessageVisitor;

/// Sets `slot` from the next value, refusing a second occurrence of `name`.
fn once<'de, A: MapAccess<'de>, T: Deserialize<'de>>(map: &mut A, slot: &mut Option<T>, name: &'static str) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(A::Error::duplicate_field(name));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

impl<'de> Visitor<'de> for MessageVisitor {
    type Value = Message;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("struct Message")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Message, A::Error> {
        let mut id = None;
        let mut kind = None;
        let mut role = None;
        let mut model = None;
        let mut content = None;
        let mut stop_reason: Option<Option<StopReason>> = None;
        let mut stop_sequence: Option<Option<String>> = None;
        let mut usage = None;
        let mut extra = Extra::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                "id" => once(&mut map, &mut id, "id")?,
                "type" => once(&mut map, &mut kind, "type")?,
                "role" => once(&mut map, &mut role, "role")?,
                "model" => once(&mut map, &mut model, "model")?,
                "content" => once(&mut map, &mut content, "content")?,
                "stop_reason" => once(&mut map, &mut stop_reason, "stop_reason")?,
                "stop_sequence" => once(&mut map, &mut stop_sequence, "stop_sequence")?,
                "usage" => once(&mut map, &mut usage, "usage")?,
                _ => {
                    let value = map.next_value()?;
                    extra.insert(key.into_owned(), value);
                }
            }
        }
        Ok(Message {
            id: id.ok_or_else(|| A::Error::missing_field("id"))?,
            kind: kind.unwrap_or_else(message_type),
            role: role.ok_or_else(|| A::Error::missing_field("role"))?,
            model: model.ok_or_else(|| A::Error::missing_field("model"))?,
            content: content.ok_or_else(|| A::Error::missing_field("content"))?,
            stop_reason: stop_reason.flatten(),
            stop_sequence: stop_sequence.flatten(),
            usage: usage.ok_or_else(|| A::Error::missing_field("usage"))?,
            extra,
        })
    }
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
