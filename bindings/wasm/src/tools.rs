//! Tool definitions and inputs: `creditpool_core::tools`.

use creditpool_core::api::{Tool, ToolSpec, ToolUseBlock};
use creditpool_core::tools::{self, ToolSet};
use wasm_bindgen::prelude::*;

use crate::convert::{from_js, to_js};
use crate::errors;

/// Checks one custom tool definition (`{name, description, input_schema}`);
/// throws `tool_definition_invalid` naming the broken rule.
#[wasm_bindgen(js_name = checkTool)]
pub fn check_tool(tool: JsValue) -> Result<(), JsValue> {
    let tool: Tool = from_js(tool, "tool", "invalid_argument")?;
    tools::check_tool(&tool).map_err(|e| errors::tool_definition_error(&e))
}

/// Checks a request's whole `tools` list (custom and server tools; names must
/// be unique); throws `tool_definition_invalid` for the first failure.
#[wasm_bindgen(js_name = checkTools)]
pub fn check_tools(tools: JsValue) -> Result<(), JsValue> {
    let tools: Vec<ToolSpec> = from_js(tools, "tools", "invalid_argument")?;
    tools::check_tools(&tools).map_err(|e| errors::tool_definition_error(&e))
}

/// A request's `tools` checked once, with every custom tool's `input_schema`
/// compiled, for validating the model's `tool_use` calls before a tool runs.
#[wasm_bindgen]
pub struct ToolValidator(pub(crate) ToolSet);

#[wasm_bindgen]
impl ToolValidator {
    /// Checks the definitions (throws `tool_definition_invalid`) and compiles
    /// the schemas. Server tools take part in the duplicate-name check only.
    #[wasm_bindgen(constructor)]
    pub fn new(tools: JsValue) -> Result<ToolValidator, JsValue> {
        let tools: Vec<ToolSpec> = from_js(tools, "tools", "invalid_argument")?;
        ToolSet::from_specs(&tools).map(ToolValidator).map_err(|e| errors::tool_definition_error(&e))
    }

    /// The custom tools' names, in definition order.
    #[wasm_bindgen(getter)]
    pub fn names(&self) -> Vec<String> {
        self.0.names().map(str::to_owned).collect()
    }

    /// Checks a `tool_use` call `{id, name, input}`; `truncated` says the
    /// block was cut off at `max_tokens`. Throws `tool_input_invalid` (with
    /// `kind`: `unknown_tool`, `invalid_input` or `truncated`, and
    /// `toolResultText` for the model).
    pub fn check(&self, call: JsValue, truncated: Option<bool>) -> Result<(), JsValue> {
        let call: ToolUseBlock = from_js(call, "tool_use call", "invalid_argument")?;
        self.0.check_call_with(&call, truncated.unwrap_or(false)).map_err(|e| errors::tool_input_error(&e))
    }

    /// Like `check`, but answers with the `tool_result` block to send back
    /// when the call must not run (`is_error: true`, the text the model
    /// reads), or `null` when it may run.
    #[wasm_bindgen(js_name = refusal)]
    pub fn refusal(&self, call: JsValue, truncated: Option<bool>) -> Result<JsValue, JsValue> {
        let call: ToolUseBlock = from_js(call, "tool_use call", "invalid_argument")?;
        match self.0.check_call_with(&call, truncated.unwrap_or(false)) {
            Ok(()) => Ok(JsValue::NULL),
            Err(e) => to_js(&e.into_tool_result(call.id)),
        }
    }
}

/// The `tool_result` (`{tool_use_id, content, is_error}`) for a call (`{id,
/// name, input}`) from what its tool did (the core's `ToolOutput` JSON:
/// `{value}`, `{content}`, `{failed: message}` or `"unknown"`), in the
/// core's words (`AgentTexts`, default or `texts`) and by its value-to-content
/// rule (`ToolOutput::content`), for a `Toolbox` outside an agent run. (An
/// agent run words its results itself: `RawAgentRun.toolResult`.)
#[wasm_bindgen(js_name = toolResult)]
pub fn tool_result(call: JsValue, output: JsValue, texts: JsValue) -> Result<JsValue, JsValue> {
    use creditpool_core::agent::{AgentTexts, ToolCall, ToolOutput};
    let call: ToolCall = from_js(call, "tool call", "invalid_argument")?;
    let output: ToolOutput = from_js(output, "tool output", "invalid_argument")?;
    let texts: AgentTexts = if texts.is_undefined() || texts.is_null() { AgentTexts::default() } else { from_js(texts, "texts", "invalid_argument")? };
    let result = creditpool_core::agent::tool_result(&texts, &call, output);
    to_js(&result)
}
