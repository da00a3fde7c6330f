//! What a run asks of its driver, and what it ends with.

use crate::api::{Message, MessageParam, StopReason, TextOrBlocks, Usage};
use crate::call::CallError;
use crate::money::Money;
use crate::pool::{Attribution, Refusal};
use crate::pricing::CostBreakdown;
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
}

impl ToolResult {
    /// A successful text result.
    pub fn ok(tool_use_id: impl Into<String>, content: impl Into<String>) -> ToolResult {
        ToolResult { tool_use_id: tool_use_id.into(), content: TextOrBlocks::Text(content.into()), is_error: false }
    }

    /// A failed result with an error message.
    pub fn error(tool_use_id: impl Into<String>, message: impl Into<String>) -> ToolResult {
        ToolResult { tool_use_id: tool_use_id.into(), content: TextOrBlocks::Text(message.into()), is_error: true }
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
        /// What went wrong, readable.
        error: String,
        /// The API error type, when the API reported one.
        api_error_type: Option<String>,
        /// The HTTP status, when there was one.
        http_status: Option<u16>,
    },
    /// The run could not price or build a request.
    Invalid {
        /// Why.
        error: String,
    },
    /// The driver cancelled the run.
    Cancelled,
}

impl RunStatus {
    pub(crate) fn failed(e: &CallError) -> RunStatus {
        let (api_error_type, http_status) = match &e.error {
            crate::call::AttemptError::Api(a) => (Some(a.kind.as_str().to_owned()), a.status),
            _ => (None, None),
        };
        RunStatus::Failed { error: e.to_string(), api_error_type, http_status }
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
    /// The sum of the turns' costs.
    pub total_cost: Money,
    /// The sum of the turns' usage (tokens by kind).
    pub usage: Usage,
    /// Cost per tool name (definitions, calls and results together), largest
    /// first, and what went to the conversation.
    pub attribution: RunAttribution,
    /// The whole conversation, the model's turns and the tool results included.
    pub transcript: Vec<MessageParam>,
}

/// A run's cost split across tools.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunAttribution {
    /// What is not charged to a tool.
    pub conversation: Money,
    /// Per tool name, largest first (ties by name).
    pub tools: Vec<(String, Money)>,
}
