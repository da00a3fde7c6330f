//! Content blocks, shared by requests (user and assistant turns) and responses.

use super::Extra;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A prompt-caching breakpoint: `{"type": "ephemeral", "ttl": "5m" | "1h"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheControl {
    /// Always `"ephemeral"` today.
    #[serde(rename = "type")]
    pub kind: String,
    /// `"5m"` (the default) or `"1h"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
}

impl CacheControl {
    /// A 5-minute ephemeral breakpoint.
    pub fn ephemeral() -> CacheControl {
        CacheControl { kind: "ephemeral".into(), ttl: None }
    }

    /// A 1-hour ephemeral breakpoint.
    pub fn ephemeral_1h() -> CacheControl {
        CacheControl { kind: "ephemeral".into(), ttl: Some("1h".into()) }
    }

    /// Whether this breakpoint writes the 1-hour cache (billed at the higher rate).
    pub fn is_1h(&self) -> bool {
        self.ttl.as_deref() == Some("1h")
    }
}

/// A `text` block.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TextBlock {
    /// The text.
    pub text: String,
    /// Citations supporting the text (responses), kept as the API sent them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<Vec<Value>>,
    /// Cache breakpoint (requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

open_tagged_enum! {
    /// Where an image's bytes come from.
    pub enum ImageSource ("image source") {
        /// Inline base64 data.
        "base64" => Base64(Base64Source),
        /// A URL the API fetches.
        "url" => Url(UrlSource),
        /// A file uploaded through the Files API.
        "file" => File(FileSource),
    }
}

/// Inline base64 data with its media type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Base64Source {
    /// `image/jpeg`, `image/png`, `image/gif`, `image/webp`, `application/pdf`.
    pub media_type: String,
    /// Base64 data.
    pub data: String,
}

/// A URL source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlSource {
    /// The URL.
    pub url: String,
}

/// A Files API source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSource {
    /// The file ID.
    pub file_id: String,
}

/// An `image` block (requests).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageBlock {
    /// Where the image comes from.
    pub source: ImageSource,
    /// Cache breakpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A `document` block (requests): a PDF, plain text or custom content.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DocumentBlock {
    /// The document's source (`base64`, `text`, `content`, `url`, `file`), as JSON.
    pub source: Value,
    /// Optional title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Optional context about the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Citation settings, e.g. `{"enabled": true}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<Value>,
    /// Cache breakpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A `tool_use` block: the model calls a tool the caller defined.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolUseBlock {
    /// The call's ID, echoed by the matching `tool_result`.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The input, which the core validates against the tool's schema before the
    /// tool runs.
    pub input: Value,
    /// Cache breakpoint (when replayed in a request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Unknown fields (for example `caller`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// The content of a `tool_result`: a string or a list of blocks.
pub type ToolResultContent = TextOrBlocks;

/// A `tool_result` block (requests): the caller's answer to a `tool_use`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolResultBlock {
    /// The `id` of the `tool_use` this answers.
    pub tool_use_id: String,
    /// What the tool returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<ToolResultContent>,
    /// Whether the tool failed; the model sees the content as an error message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    /// Cache breakpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A `thinking` block: the model's extended thinking, with its signature.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ThinkingBlock {
    /// The thinking text.
    pub thinking: String,
    /// The signature that must be sent back unchanged.
    pub signature: String,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A `redacted_thinking` block: encrypted thinking, to be sent back unchanged.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RedactedThinkingBlock {
    /// Opaque data.
    pub data: String,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A `server_tool_use` block: the model called a tool the API runs itself
/// (web search, web fetch, code execution).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerToolUseBlock {
    /// The call's ID.
    pub id: String,
    /// The server tool's name, e.g. `web_search`.
    pub name: String,
    /// The input.
    pub input: Value,
    /// Cache breakpoint (when replayed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A `web_search_tool_result` block: results of a server-side web search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebSearchToolResultBlock {
    /// The `server_tool_use` this answers.
    pub tool_use_id: String,
    /// The results (a list) or an error object, as the API sent them.
    pub content: Value,
    /// Cache breakpoint (when replayed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

open_tagged_enum! {
    /// A content block, in a request's messages or a response's `content`.
    pub enum ContentBlock ("content block") {
        /// Text.
        "text" => Text(TextBlock),
        /// An image (requests).
        "image" => Image(ImageBlock),
        /// A document (requests).
        "document" => Document(DocumentBlock) { source },
        /// A call of a caller-defined tool.
        "tool_use" => ToolUse(ToolUseBlock) { input },
        /// A tool's result (requests).
        "tool_result" => ToolResult(ToolResultBlock),
        /// Extended thinking.
        "thinking" => Thinking(ThinkingBlock),
        /// Redacted extended thinking.
        "redacted_thinking" => RedactedThinking(RedactedThinkingBlock),
        /// A call of a server-side tool.
        "server_tool_use" => ServerToolUse(ServerToolUseBlock) { input },
        /// Web search results.
        "web_search_tool_result" => WebSearchToolResult(WebSearchToolResultBlock) { content },
    }
}

impl ContentBlock {
    /// A plain text block.
    pub fn text(text: impl Into<String>) -> ContentBlock {
        ContentBlock::Text(TextBlock { text: text.into(), ..TextBlock::default() })
    }

    /// A `tool_result` block with text content.
    pub fn tool_result(tool_use_id: impl Into<String>, content: impl Into<String>, is_error: bool) -> ContentBlock {
        ContentBlock::ToolResult(ToolResultBlock {
            tool_use_id: tool_use_id.into(),
            content: Some(TextOrBlocks::Text(content.into())),
            is_error: is_error.then_some(true),
            ..ToolResultBlock::default()
        })
    }

    /// The text, when this is a text block.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            ContentBlock::Text(t) => Some(&t.text),
            _ => None,
        }
    }
}

/// A string, or a list of content blocks: the shape of a message's `content`,
/// of `system` and of a `tool_result`'s `content`. A string is shorthand for one
/// text block.
#[derive(Clone, Debug, PartialEq)]
pub enum TextOrBlocks {
    /// A plain string.
    Text(String),
    /// A list of blocks.
    Blocks(Vec<ContentBlock>),
}

impl Default for TextOrBlocks {
    fn default() -> TextOrBlocks {
        TextOrBlocks::Blocks(Vec::new())
    }
}

impl From<String> for TextOrBlocks {
    fn from(s: String) -> TextOrBlocks {
        TextOrBlocks::Text(s)
    }
}

impl From<&str> for TextOrBlocks {
    fn from(s: &str) -> TextOrBlocks {
        TextOrBlocks::Text(s.to_owned())
    }
}

impl From<Vec<ContentBlock>> for TextOrBlocks {
    fn from(b: Vec<ContentBlock>) -> TextOrBlocks {
        TextOrBlocks::Blocks(b)
    }
}

impl TextOrBlocks {
    /// The blocks (an empty slice for the string form).
    pub fn blocks(&self) -> &[ContentBlock] {
        match self {
            TextOrBlocks::Text(_) => &[],
            TextOrBlocks::Blocks(b) => b,
        }
    }

    /// All text, concatenated: the string, or every text block's text.
    pub fn text(&self) -> String {
        match self {
            TextOrBlocks::Text(s) => s.clone(),
            TextOrBlocks::Blocks(b) => b.iter().filter_map(ContentBlock::as_text).collect(),
        }
    }
}

impl Serialize for TextOrBlocks {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TextOrBlocks::Text(t) => s.serialize_str(t),
            TextOrBlocks::Blocks(b) => b.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for TextOrBlocks {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        match Value::deserialize(d)? {
            Value::String(s) => Ok(TextOrBlocks::Text(s)),
            v @ Value::Array(_) => Vec::<ContentBlock>::deserialize(v).map(TextOrBlocks::Blocks).map_err(D::Error::custom),
            other => Err(D::Error::custom(format_args!("expected a string or a list of content blocks, got {}", json_kind(&other)))),
        }
    }
}

pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
