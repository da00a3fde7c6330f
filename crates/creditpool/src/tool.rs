//! [`Tool`]: a tool definition and the async closure that runs it.

use crate::transport::BoxFuture;
use creditpool_core::agent::ToolOutput as CoreToolOutput;
use creditpool_core::api::{self, ContentBlock, TextOrBlocks};
use serde_json::Value;
use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;

type Handler = Arc<dyn Fn(Value) -> BoxFuture<'static, Result<ToolOutput, String>> + Send + Sync>;

/// A tool an agent may call: a name, a description, a JSON Schema for its
/// input, and an async closure that runs it.
///
/// The closure gets the input already validated against the schema (a call
/// with a bad input never reaches it: the model gets an `is_error` result that
/// says what was wrong). Its `Ok` ([`ToolOutput`]) becomes the tool result; its
/// `Err` (anything that displays) becomes an `is_error` result in the run's
/// words ([`AgentTexts::tool_failed`](creditpool_core::agent::AgentTexts): by
/// default without the error's text, which may hold a secret), and so does a
/// panic. The error's display chain (`{:#}`: an `anyhow::Error` shows its
/// causes) is logged through `tracing` and kept on the turn record
/// ([`TurnRecord::tool_failures`](creditpool_core::agent::TurnRecord)). Tool
/// credentials stay in the closure: it never sees the API key.
///
/// ```
/// use creditpool::Tool;
/// use serde_json::json;
///
/// let weather = Tool::new(
///     "get_weather",
///     "Current weather for a city.",
///     json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
///     |input| async move {
///         let city = input["city"].as_str().unwrap_or_default().to_owned();
///         if city.is_empty() {
///             return Err("no city given");
///         }
///         Ok(format!("{city}: 18 °C, light rain"))
///     },
/// );
/// assert_eq!(weather.name(), "get_weather");
/// ```
#[derive(Clone)]
pub struct Tool {
    definition: api::Tool,
    handler: Handler,
}

impl std::fmt::Debug for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tool").field("definition", &self.definition).finish_non_exhaustive()
    }
}

impl Tool {
    /// A tool from its definition and an async closure.
    pub fn new<F, Fut, T, E>(name: impl Into<String>, description: impl Into<String>, input_schema: Value, run: F) -> Tool
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Into<ToolOutput>,
        E: Display,
    {
        Tool::from_definition(api::Tool::new(name, description, input_schema), run)
    }

    /// A tool from a full definition (with `cache_control`, say).
    pub fn from_definition<F, Fut, T, E>(definition: api::Tool, run: F) -> Tool
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Into<ToolOutput>,
        E: Display,
    {
        let handler: Handler = Arc::new(move |input| {
            let fut = run(input);
            // The alternate form: a display chain for errors that have one.
            Box::pin(async move { fut.await.map(Into::into).map_err(|e| format!("{e:#}")) })
        });
        Tool { definition, handler }
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.definition.name
    }

    /// The definition sent to the API.
    pub fn definition(&self) -> &api::Tool {
        &self.definition
    }

    /// Runs the tool on an input (already validated).
    pub fn call(&self, input: Value) -> BoxFuture<'static, Result<ToolOutput, String>> {
        (self.handler)(input)
    }
}

/// What a tool returns, as the agent run reads it: the core's
/// [`ToolOutput`](creditpool_core::agent::ToolOutput), which the run turns
/// into the `tool_result` the model reads
/// ([`AgentRun::tool_result`](creditpool_core::agent::AgentRun::tool_result)).
///
/// A `String` or a JSON value is a returned value, made content by the core's
/// one rule ([`ToolOutput::content`](creditpool_core::agent::ToolOutput::content):
/// a string as it is, a list of content blocks as blocks, anything else as its
/// JSON text); content blocks or [`TextOrBlocks`] are content as they are.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolOutput(pub CoreToolOutput);

impl ToolOutput {
    /// A returned value (see [`ToolOutput`]).
    pub fn value(value: Value) -> ToolOutput {
        ToolOutput(CoreToolOutput::Value(value))
    }

    /// Content already in the API's shape.
    pub fn content(content: TextOrBlocks) -> ToolOutput {
        ToolOutput(CoreToolOutput::Content(content))
    }

    /// The core's value.
    pub fn into_core(self) -> CoreToolOutput {
        self.0
    }
}

impl From<String> for ToolOutput {
    fn from(s: String) -> ToolOutput {
        ToolOutput::value(Value::String(s))
    }
}

impl From<&str> for ToolOutput {
    fn from(s: &str) -> ToolOutput {
        ToolOutput::value(Value::String(s.to_owned()))
    }
}

impl From<Value> for ToolOutput {
    fn from(v: Value) -> ToolOutput {
        ToolOutput::value(v)
    }
}

impl From<Vec<ContentBlock>> for ToolOutput {
    fn from(b: Vec<ContentBlock>) -> ToolOutput {
        ToolOutput::content(TextOrBlocks::Blocks(b))
    }
}

impl From<TextOrBlocks> for ToolOutput {
    fn from(t: TextOrBlocks) -> ToolOutput {
        ToolOutput::content(t)
    }
}

impl From<CoreToolOutput> for ToolOutput {
    fn from(o: CoreToolOutput) -> ToolOutput {
        ToolOutput(o)
    }
}

impl From<ToolOutput> for CoreToolOutput {
    fn from(o: ToolOutput) -> CoreToolOutput {
        o.0
    }
}
