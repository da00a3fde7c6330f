//! The body of `POST /v1/messages`.

use super::content::{json_kind, CacheControl, ContentBlock, TextOrBlocks};
use super::{is_false, Extra};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The caller.
    User,
    /// The model.
    Assistant,
}

/// One turn of the conversation in a request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageParam {
    /// Who wrote it.
    pub role: Role,
    /// A string, or a list of content blocks.
    pub content: TextOrBlocks,
}

impl MessageParam {
    /// A user turn with plain text.
    pub fn user(text: impl Into<String>) -> MessageParam {
        MessageParam { role: Role::User, content: TextOrBlocks::Text(text.into()) }
    }

    /// A user turn with blocks (for example tool results).
    pub fn user_blocks(blocks: Vec<ContentBlock>) -> MessageParam {
        MessageParam { role: Role::User, content: TextOrBlocks::Blocks(blocks) }
    }

    /// An assistant turn with blocks (a response's content, replayed).
    pub fn assistant_blocks(blocks: Vec<ContentBlock>) -> MessageParam {
        MessageParam { role: Role::Assistant, content: TextOrBlocks::Blocks(blocks) }
    }
}

/// A tool the caller defines and runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// The name: `^[a-zA-Z0-9_-]{1,128}$` (see [`crate::tools`]).
    pub name: String,
    /// What the tool does; the model reads it to decide when to call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A JSON Schema of `"type": "object"` for the tool's input.
    pub input_schema: Value,
    /// Cache breakpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Unknown fields (for example `"type": "custom"`, or newer options).
    #[serde(flatten)]
    pub extra: Extra,
}

impl Tool {
    /// A tool with a name, a description and an input schema.
    pub fn new(name: impl Into<String>, description: impl Into<String>, input_schema: Value) -> Tool {
        Tool {
            name: name.into(),
            description: Some(description.into()),
            input_schema,
            cache_control: None,
            extra: Extra::new(),
        }
    }
}

/// A tool that the API runs itself (`web_search_20250305`, `bash_20250124`,
/// `text_editor_...`, `code_execution_...`, ...), kept as JSON apart from its
/// type and name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerTool {
    /// The versioned tool type, e.g. `web_search_20250305`.
    #[serde(rename = "type")]
    pub tool_type: String,
    /// The tool's name, e.g. `web_search`.
    pub name: String,
    /// The tool's options (`max_uses`, `allowed_domains`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// An entry of a request's `tools`: a custom tool (no `type`, or `"custom"`) or
/// a server tool (any other `type`).
#[derive(Clone, Debug, PartialEq)]
pub enum ToolSpec {
    /// A tool the caller runs.
    Custom(Tool),
    /// A tool the API runs.
    Server(ServerTool),
}

impl ToolSpec {
    /// The tool's name.
    pub fn name(&self) -> &str {
        match self {
            ToolSpec::Custom(t) => &t.name,
            ToolSpec::Server(t) => &t.name,
        }
    }
}

impl From<Tool> for ToolSpec {
    fn from(t: Tool) -> ToolSpec {
        ToolSpec::Custom(t)
    }
}

impl Serialize for ToolSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ToolSpec::Custom(t) => t.serialize(s),
            ToolSpec::Server(t) => t.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ToolSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let v = Value::deserialize(d)?;
        if !v.is_object() {
            return Err(D::Error::custom(format_args!("a tool must be an object, got {}", json_kind(&v))));
        }
        match v.get("type").and_then(Value::as_str) {
            None | Some("custom") => Tool::deserialize(v).map(ToolSpec::Custom).map_err(|e| D::Error::custom(format_args!("malformed tool: {e}"))),
            Some(_) => ServerTool::deserialize(v).map(ToolSpec::Server).map_err(|e| D::Error::custom(format_args!("malformed server tool: {e}"))),
        }
    }
}

/// Options shared by the tool-choice modes that allow tool use.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolChoiceOptions {
    /// Whether the model must call at most one tool per turn.
    #[serde(default, skip_serializing_if = "is_false")]
    pub disable_parallel_tool_use: bool,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `tool_choice: {"type": "tool", "name": ...}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolChoiceTool {
    /// The tool the model must call.
    pub name: String,
    /// Whether the model must call at most one tool per turn.
    #[serde(default, skip_serializing_if = "is_false")]
    pub disable_parallel_tool_use: bool,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An empty options object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoOptions {
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

open_tagged_enum! {
    /// How the model may use tools.
    pub enum ToolChoice ("tool_choice") {
        /// The model decides (the default).
        "auto" => Auto(ToolChoiceOptions),
        /// The model must use some tool.
        "any" => Any(ToolChoiceOptions),
        /// The model must use the named tool.
        "tool" => Tool(ToolChoiceTool),
        /// The model may not use tools.
        "none" => None(NoOptions),
    }
}

/// `thinking: {"type": "enabled", "budget_tokens": N}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThinkingEnabled {
    /// Tokens the model may spend thinking (counted in `max_tokens`).
    pub budget_tokens: u32,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

open_tagged_enum! {
    /// Extended thinking configuration.
    pub enum ThinkingConfig ("thinking config") {
        /// Manual extended thinking with a token budget.
        "enabled" => Enabled(ThinkingEnabled),
        /// No extended thinking.
        "disabled" => Disabled(NoOptions),
        /// The model decides how much to think (newer models).
        "adaptive" => Adaptive(NoOptions),
    }
}

/// Request metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// An opaque ID of the end user, for abuse detection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The body of `POST /v1/messages`.
///
/// Parameters this version does not name go in `extra` and are sent as given.
/// `stream` is set by the request builder, not here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageRequest {
    /// The model ID or alias.
    pub model: String,
    /// The most output tokens the model may produce (and the worst case the
    /// pool reserves for).
    pub max_tokens: u32,
    /// The conversation so far.
    pub messages: Vec<MessageParam>,
    /// The system prompt: a string or text blocks (with `cache_control`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<TextOrBlocks>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    /// How the model may use the tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Sampling temperature, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Top-k sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Custom sequences that stop generation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
    /// Whether to stream (set by the request builder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Request metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Extended thinking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<ThinkingConfig>,
    /// `"auto"` or `"standard_only"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// Data residency for inference (`"us"`, `"global"`); `"us"` costs 1.1x on
    /// newer models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_geo: Option<String>,
    /// A container ID for the code-execution tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Value>,
    /// MCP servers the API connects to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_servers: Option<Vec<Value>>,
    /// Other parameters, sent as given.
    #[serde(flatten)]
    pub extra: Extra,
}

impl MessageRequest {
    /// A request with a model, `max_tokens` and one user message.
    pub fn new(model: impl Into<String>, max_tokens: u32, prompt: impl Into<String>) -> MessageRequest {
        MessageRequest {
            model: model.into(),
            max_tokens,
            messages: vec![MessageParam::user(prompt)],
            system: None,
            tools: Vec::new(),
            tool_choice: None,
            temperature: None,
            top_p: None,
            top_k: None,
            stop_sequences: Vec::new(),
            stream: None,
            metadata: None,
            thinking: None,
            service_tier: None,
            inference_geo: None,
            container: None,
            mcp_servers: None,
            extra: Extra::new(),
        }
    }

    /// The custom tools (those the caller runs).
    pub fn custom_tools(&self) -> impl Iterator<Item = &Tool> {
        self.tools.iter().filter_map(|t| match t {
            ToolSpec::Custom(t) => Some(t),
            ToolSpec::Server(_) => None,
        })
    }
}
