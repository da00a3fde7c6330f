//! [`Tool`]: a tool definition and the async closure that runs it.

use crate::transport::BoxFuture;
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
/// says what was wrong). Its `Ok` becomes the tool result; its `Err` (anything
/// that displays) becomes an `is_error` result with that message, and so does
/// a panic. Tool credentials stay in the closure: it never sees the API key.
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
            Box::pin(async move { fut.await.map(Into::into).map_err(|e| e.to_string()) })
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

/// What a tool returns: text, JSON (sent as its text) or content blocks.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolOutput(pub TextOrBlocks);

impl From<String> for ToolOutput {
    fn from(s: String) -> ToolOutput {
        ToolOutput(TextOrBlocks::Text(s))
    }
}

impl From<&str> for ToolOutput {
    fn from(s: &str) -> ToolOutput {
        ToolOutput(TextOrBlocks::Text(s.to_owned()))
    }
}

impl From<Value> for ToolOutput {
    fn from(v: Value) -> ToolOutput {
        match v {
            Value::String(s) => ToolOutput(TextOrBlocks::Text(s)),
            other => ToolOutput(TextOrBlocks::Text(other.to_string())),
        }
    }
}

impl From<Vec<ContentBlock>> for ToolOutput {
    fn from(b: Vec<ContentBlock>) -> ToolOutput {
        ToolOutput(TextOrBlocks::Blocks(b))
    }
}

impl From<TextOrBlocks> for ToolOutput {
    fn from(t: TextOrBlocks) -> ToolOutput {
        ToolOutput(t)
    }
}
