//! What a run asks of its driver, and what it ends with.

use crate::api::{Message, MessageParam, StopReason, TextOrBlocks, Usage};
use crate::call::CallError;
use crate::money::Money;
use crate::pool::{Attribution, Refusal};
use crate::pricing::CostBreakdown;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// A valid tool call for the driver to run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The `tool_use` block's ID; the result must carry it.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The input, already validated against the tool's schema.
    pub input: Value,
}

/// A tool's result, as the driver hands it back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolResult {
    /// The [`ToolCall::id`] this answers.
    pub tool_use_id: String,
    /// What the tool returned: text, or content blocks.
    pub content: TextOrBlocks,
    /// Whether the tool failed (the model reads `content` as the error).
    #[serde(default)]
    pub is_error: bool,
    /// Whether the tool's own function failed ([`ToolOutput::Failed`]: it
    /// raised, threw, returned an error or panicked), as opposed to a call
    /// the run answered itself. The run records such a call on its turn
    /// ([`TurnRecord::tool_failures`]). Set by [`super::AgentRun::tool_result`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
}

impl ToolResult {
    /// A successful text result.
    pub fn ok(tool_use_id: impl Into<String>, content: impl Into<String>) -> ToolResult {
        ToolResult { tool_use_id: tool_use_id.into(), content: TextOrBlocks::Text(content.into()), is_error: false, failed: false }
    }

    /// A failed result with an error message.
    pub fn error(tool_use_id: impl Into<String>, message: impl Into<String>) -> ToolResult {
        ToolResult { tool_use_id: tool_use_id.into(), content: TextOrBlocks::Text(message.into()), is_error: true, failed: false }
    }
}

/// What a tool did, as the driver reports it to [`super::AgentRun::tool_result`],
/// which turns it into the `tool_result` the model reads. JSON: `{"value":
/// any}`, `{"content": string | [block]}`, `{"failed": "message"}` or
/// `"unknown"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolOutput {
    /// The tool returned a value. A string is the content as it is; a
    /// non-empty array of objects that each have a string `type` is a list of
    /// content blocks; `null` is empty text; anything else is its JSON text.
    Value(Value),
    /// The tool returned content already in the API's shape.
    Content(TextOrBlocks),
    /// The tool failed (raised, threw, returned an error) with this message.
    Failed(String),
    /// The agent has no function for the tool the model called.
    Unknown,
}

impl ToolOutput {
    /// The rule that turns a tool's return value into `tool_result` content
    /// (see [`ToolOutput::Value`]).
    pub fn content(value: Value) -> TextOrBlocks {
        match value {
            Value::String(s) => TextOrBlocks::Text(s),
            Value::Null => TextOrBlocks::Text(String::new()),
            Value::Array(items) if !items.is_empty() && items.iter().all(|b| b.get("type").is_some_and(Value::is_string)) => {
                match serde_json::from_value::<Vec<crate::api::ContentBlock>>(Value::Array(items.clone())) {
                    Ok(blocks) => TextOrBlocks::Blocks(blocks),
                    Err(_) => TextOrBlocks::Text(Value::Array(items).to_string()),
                }
            }
            other => TextOrBlocks::Text(other.to_string()),
        }
    }
}

/// Why the run asks the driver to wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// A retry's backoff, or the API's `retry-after`.
    Retry,
    /// The pool's rate limit for this agent.
    RateLimited,
}

/// One model call of the run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TurnRecord {
    /// The `request-id` of the response.
    pub request_id: Option<String>,
    /// The model that answered.
    pub model: String,
    /// Why it stopped.
    pub stop_reason: Option<StopReason>,
    /// Its usage.
    pub usage: Usage,
    /// Its cost, by component.
    pub cost: CostBreakdown,
    /// What was reserved for its last attempt.
    pub reserved: Money,
    /// Attempts made (retries included).
    pub attempts: u32,
    /// Its cost split across the conversation and the tools.
    pub attribution: Attribution,
    /// The tool calls it asked for (names), in order.
    pub tool_calls: Vec<String>,
    /// The calls it asked for whose tool failed (raised, threw, returned an
    /// error, panicked), in the calls' order. Which call and which tool
    /// only: the error itself stays with the driver, which keeps it beside
    /// this record in its own language (Python: the exception and its
    /// traceback; JS: the thrown value with its stack; Rust: the error's
    /// display chain in [`ToolFailureRecord::error`], never serialized).
    pub tool_failures: Vec<ToolFailureRecord>,
}

/// A tool call of a turn whose tool failed (see [`TurnRecord::tool_failures`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ToolFailureRecord {
    /// The `tool_use` block's ID.
    pub call_id: String,
    /// The tool's name.
    pub tool: String,
    /// What the driver kept of the error, for the caller (the Rust crate:
    /// the error's display chain). Never serialized: an error's text may
    /// hold a secret, and the outcome's JSON goes to logs and files.
    #[serde(skip)]
    pub error: Option<String>,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunStatus {
    /// The model finished (`end_turn` or `stop_sequence`).
    Completed,
    /// The model stopped for another reason (`max_tokens`, `refusal`,
    /// `model_context_window_exceeded`, or one this version does not know).
    Stopped {
        /// The stop reason.
        reason: StopReason,
    },
    /// `max_turns` model calls were made without the model finishing.
    MaxTurns {
        /// The limit.
        max_turns: u32,
    },
    /// The run's own budget cannot cover the next request's worst case.
    BudgetExhausted {
        /// The next request's worst case.
        needed: Money,
        /// What is left of the run's budget.
        remaining: Money,
    },
    /// The pool refused the next request.
    PoolRefused {
        /// Why.
        refusal: Refusal,
    },
    /// A model call failed for good.
    Failed {
        /// The error's stable code ([`crate::codes`]): bindings raise the
        /// class it maps to.
        code: String,
        /// What went wrong, readable.
        error: String,
        /// The API error type, when the API reported one.
        api_error_type: Option<String>,
        /// The HTTP status, when there was one.
        http_status: Option<u16>,
        /// For a stream that failed part-way: the message received before,
        /// shared with the call's error ([`CallError::partial`]): cloning
        /// the status (each [`super::AgentRun::outcome`] does) copies no
        /// message.
        #[serde(skip_serializing_if = "Option::is_none", serialize_with = "serialize_partial")]
        partial: Option<Arc<Message>>,
    },
    /// The run could not price or build a request.
    Invalid {
        /// The error's stable code ([`crate::codes`]).
        code: String,
        /// Why.
        error: String,
    },
    /// The driver cancelled the run.
    Cancelled,
}

/// A shared partial message, serialized as the message itself.
fn serialize_partial<S: serde::Serializer>(partial: &Option<Arc<Message>>, serializer: S) -> Result<S::Ok, S::Error> {
    partial.as_deref().serialize(serializer)
}

impl RunStatus {
    /// The status of a run whose call failed for good: its partial message
    /// is shared with `e`, not copied.
    pub(crate) fn failed(e: &CallError) -> RunStatus {
        let (api_error_type, http_status) = match &e.error {
            crate::call::AttemptError::Api(a) => (Some(a.kind.as_str().to_owned()), a.status),
            crate::call::AttemptError::SelectorRejected(s) => (Some(s.api.kind.as_str().to_owned()), s.api.status),
            _ => (None, None),
        };
        RunStatus::Failed { code: e.code().to_owned(), error: e.to_string(), api_error_type, http_status, partial: e.partial.clone() }
    }

    pub(crate) fn invalid(code: &str, error: &str) -> RunStatus {
        RunStatus::Invalid { code: code.to_owned(), error: error.to_owned() }
    }

    /// The stable error code of a status that ends a run with an error
    /// (`None` for `completed`, `stopped` and `cancelled`).
    pub fn code(&self) -> Option<&str> {
        match self {
            RunStatus::Completed | RunStatus::Stopped { .. } | RunStatus::Cancelled => None,
            RunStatus::MaxTurns { .. } => Some("max_turns"),
            RunStatus::BudgetExhausted { .. } => Some("budget_exhausted"),
            RunStatus::PoolRefused { refusal } => Some(refusal.code()),
            RunStatus::Failed { code, .. } | RunStatus::Invalid { code, .. } => Some(code),
        }
    }
}

/// The result of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    /// How it ended.
    #[serde(flatten)]
    pub status: RunStatus,
    /// The agent.
    pub agent_id: String,
    /// The last message from the model, if any.
    pub final_message: Option<Message>,
    /// The text of the last message (empty without one).
    pub final_text: String,
    /// Every model call, in order.
    pub turns: Vec<TurnRecord>,
    /// The sum of the turns' costs, and of `estimated_cost`.
    pub total_cost: Money,
    /// What was settled at the worst case for attempts the API may have
    /// billed but whose usage is unknown (cut streams, timeouts, a
    /// cancellation); part of `total_cost`, flagged `estimated` in the ledger.
    pub estimated_cost: Money,
    /// The sum of the turns' usage (tokens by kind).
    pub usage: Usage,
    /// Cost per tool name (definitions, calls and results together), largest
    /// first, and what went to the conversation.
    pub attribution: RunAttribution,
    /// The whole conversation, the model's turns and the tool results included.
    pub transcript: Vec<MessageParam>,
    /// For a run that ended because a model call failed: that call's typed
    /// error (its `code()`, attempts, give-up reason and partial message).
    #[serde(skip)]
    pub call_error: Option<CallError>,
}

/// A run's cost split across tools.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunAttribution {
    /// What is not charged to a tool.
    pub conversation: Money,
    /// Per tool name, largest first (ties by name).
    pub tools: Vec<(String, Money)>,
}
