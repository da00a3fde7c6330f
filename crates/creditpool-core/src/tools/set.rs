//! A checked set of custom tools with compiled input schemas.

use super::definition::{for_each_checked, ToolDefinitionError};
use super::input_error::{ToolInputError, MAX_REPORTED_VIOLATIONS, MAX_VIOLATION_MESSAGE_CHARS};
use super::truncate_chars;
use crate::api::{Tool, ToolSpec, ToolUseBlock};
use super::schema::Schema;
use serde_json::Value;
use std::collections::BTreeMap;

/// How many violations are gathered and sorted before the first
/// [`MAX_REPORTED_VIOLATIONS`] are kept; the rest are only counted.
const SORT_WINDOW: usize = 10 * MAX_REPORTED_VIOLATIONS;

/// The custom tools of an agent, each definition checked and its `input_schema`
/// compiled once, so that validating a call costs microseconds and no compiling.
///
/// ```
/// use creditpool_core::api::{Tool, ToolUseBlock};
/// use creditpool_core::tools::ToolSet;
/// use serde_json::json;
///
/// let tools = ToolSet::new(&[Tool::new(
///     "search_database",
///     "Search the product database.",
///     json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),
/// )])?;
/// let call: ToolUseBlock = serde_json::from_value(json!({
///     "id": "toolu_1", "name": "search_database", "input": {"query": 42}
/// }))?;
/// let err = tools.check_call(&call).unwrap_err();
/// assert_eq!(err.to_string(), r#"invalid input for tool "search_database": at /query: 42 is not of type "string""#);
/// let block = err.into_tool_result(&call.id); // an is_error tool_result for the model
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ToolSet {
    tools: Vec<CompiledTool>,
    by_name: BTreeMap<String, usize>,
}

#[derive(Clone, Debug)]
struct CompiledTool {
    tool: Tool,
    schema: Schema,
}

impl ToolSet {
    /// Checks every definition (see [`crate::tools`]) and compiles every schema.
    /// The first broken rule, in tool order, is the error; names must be unique.
    pub fn new(tools: &[Tool]) -> Result<ToolSet, ToolDefinitionError> {
        ToolSet::build(tools.iter().map(|t| (t.name.as_str(), Some(t))))
    }

    /// Like [`ToolSet::new`] for a request's `tools`: server tools take part in
    /// the duplicate-name check but are not part of the set (their calls arrive
    /// as `server_tool_use` blocks, run by the API).
    pub fn from_specs(tools: &[ToolSpec]) -> Result<ToolSet, ToolDefinitionError> {
        ToolSet::build(tools.iter().map(|spec| match spec {
            ToolSpec::Custom(t) => (t.name.as_str(), Some(t)),
            ToolSpec::Server(t) => (t.name.as_str(), None),
        }))
    }

    fn build<'a>(tools: impl IntoIterator<Item = (&'a str, Option<&'a Tool>)>) -> Result<ToolSet, ToolDefinitionError> {
        let mut set = ToolSet { tools: Vec::new(), by_name: BTreeMap::new() };
        for_each_checked(tools, |tool, schema| {
            set.by_name.insert(tool.name.clone(), set.tools.len());
            set.tools.push(CompiledTool { tool: tool.clone(), schema });
        })?;
        Ok(set)
    }

    /// How many tools the set holds.
    pub fn len(&self) -> usize {
        self.tools.len()
    }

    /// Whether the set holds no tool.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// The tools' names, in definition order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tools.iter().map(|t| t.tool.name.as_str())
    }

    /// The definition of the tool with this name.
    pub fn get(&self, name: &str) -> Option<&Tool> {
        self.by_name.get(name).and_then(|&i| self.tools.get(i)).map(|t| &t.tool)
    }

    /// Checks a complete `tool_use` call: the tool exists and the input matches
    /// its schema. Same as [`ToolSet::check_call_with`] with `truncated: false`.
    pub fn check_call(&self, call: &ToolUseBlock) -> Result<(), ToolInputError> {
        self.check_call_with(call, false)
    }

    /// Checks a `tool_use` call that may have been cut off.
    ///
    /// Pass `truncated: true` when the block was still open when the response
    /// stopped at `max_tokens` (the stream accumulator marks such blocks; in a
    /// non-streamed response, the last `tool_use` block of a message whose
    /// `stop_reason` is `max_tokens`). Its input is incomplete, so the call is
    /// refused with [`ToolInputError::Truncated`] without looking at the input;
    /// an unknown tool is still reported as [`ToolInputError::UnknownTool`], since
    /// the name arrives whole before the input.
    pub fn check_call_with(&self, call: &ToolUseBlock, truncated: bool) -> Result<(), ToolInputError> {
        let Some(compiled) = self.by_name.get(&call.name).and_then(|&i| self.tools.get(i)) else {
            return Err(ToolInputError::UnknownTool { name: call.name.clone(), known: self.names().map(str::to_owned).collect() });
        };
        if truncated {
            return Err(ToolInputError::Truncated { tool: call.name.clone() });
        }
        compiled.check_input(&call.input)
    }

    /// Checks an input against the schema of the tool `name`, for callers that
    /// hold the name and input apart from a [`ToolUseBlock`].
    pub fn check_input(&self, name: &str, input: &Value) -> Result<(), ToolInputError> {
        match self.by_name.get(name).and_then(|&i| self.tools.get(i)) {
            Some(compiled) => compiled.check_input(input),
            None => Err(ToolInputError::UnknownTool { name: name.to_owned(), known: self.names().map(str::to_owned).collect() }),
        }
    }
}

impl CompiledTool {
    fn check_input(&self, input: &Value) -> Result<(), ToolInputError> {
        if self.schema.is_valid(input) {
            return Ok(());
        }
        // Gather a bounded number, sort them so that the report does not depend on
        // the checker's order, then keep the first few.
        let (mut errors, total) = self.schema.violations(input, SORT_WINDOW);
        for e in &mut errors {
            if e.message.chars().count() > MAX_VIOLATION_MESSAGE_CHARS {
                e.message = truncate_chars(&e.message, MAX_VIOLATION_MESSAGE_CHARS);
            }
        }
        errors.sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
        errors.truncate(MAX_REPORTED_VIOLATIONS);
        let omitted = total - errors.len();
        Err(ToolInputError::InvalidInput { tool: self.tool.name.clone(), errors, omitted })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(name: &str, input: Value) -> ToolUseBlock {
        serde_json::from_value(json!({"id": "toolu_1", "name": name, "input": input})).unwrap()
    }

    fn set() -> ToolSet {
        ToolSet::new(&[
            Tool::new("search", "Search.", json!({"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]})),
            Tool::new(
                "list",
                "List.",
                json!({"type": "object", "properties": {"ids": {"type": "array", "items": {"type": "integer"}}}}),
            ),
        ])
        .unwrap()
    }

    #[test]
    fn reports_every_violation_up_to_the_cap_and_counts_the_rest() {
        let ids: Vec<Value> = (0..50).map(|i| json!(format!("x{i}"))).collect();
        let err = set().check_call(&call("list", json!({"ids": ids}))).unwrap_err();
        let ToolInputError::InvalidInput { tool, errors, omitted } = &err else { panic!("{err:?}") };
        assert_eq!(tool, "list");
        assert_eq!(errors.len(), MAX_REPORTED_VIOLATIONS);
        assert_eq!(*omitted, 50 - MAX_REPORTED_VIOLATIONS);
        assert!(errors.iter().all(|v| v.path.starts_with("/ids/") && v.message.ends_with("is not of type \"integer\"")));
    }

    #[test]
    fn huge_offending_values_are_quoted_briefly() {
        let err = set().check_call(&call("search", json!({"q": vec![1; 100_000]}))).unwrap_err();
        let ToolInputError::InvalidInput { errors, .. } = &err else { panic!("{err:?}") };
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.chars().count() <= MAX_VIOLATION_MESSAGE_CHARS);
    }

    #[test]
    fn unknown_tool_lists_known_names_in_order_and_wins_over_truncation() {
        let err = set().check_call_with(&call("serch", json!({})), true).unwrap_err();
        assert_eq!(err, ToolInputError::UnknownTool { name: "serch".into(), known: vec!["search".into(), "list".into()] });
        let err = set().check_call_with(&call("search", json!({"q": "ok"})), true).unwrap_err();
        assert_eq!(err, ToolInputError::Truncated { tool: "search".into() });
    }

    #[test]
    fn from_specs_keeps_custom_tools_and_checks_names_across_server_tools() {
        let specs: Vec<ToolSpec> = serde_json::from_value(json!([
            {"name": "search", "description": "S.", "input_schema": {"type": "object"}},
            {"type": "web_search_20250305", "name": "web_search"}
        ]))
        .unwrap();
        let set = ToolSet::from_specs(&specs).unwrap();
        assert_eq!(set.names().collect::<Vec<_>>(), ["search"]);
        assert!(set.get("web_search").is_none());
        let err = set.check_input("web_search", &json!({})).unwrap_err();
        assert_eq!(err.kind(), "unknown_tool");
    }

    #[test]
    fn tool_set_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ToolSet>();
    }
}
