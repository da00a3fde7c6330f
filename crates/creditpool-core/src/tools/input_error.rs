//! Why a `tool_use` call may not run, told to the caller and to the model.

use super::{quoted_name, truncate_chars};
use crate::api::ContentBlock;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

/// The most violations kept in [`ToolInputError::InvalidInput`]; the rest are counted.
pub const MAX_REPORTED_VIOLATIONS: usize = 20;

/// The longest [`InputViolation::message`], in characters (messages quote the
/// offending value, which the model may have made huge).
pub const MAX_VIOLATION_MESSAGE_CHARS: usize = 300;

/// The longest [`ToolInputError::to_tool_result_text`], in characters.
pub const MAX_TOOL_RESULT_TEXT_CHARS: usize = 4000;

/// The most tool names listed in the text for an unknown tool.
const MAX_LISTED_TOOLS: usize = 50;

/// One way in which an input breaks its tool's schema.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InputViolation {
    /// JSON Pointer of the offending value inside the input (`"/query"`,
    /// `"/items/0/id"`), `""` for the input as a whole. A missing required
    /// property is reported at the object that lacks it.
    pub path: String,
    /// What is wrong, e.g. `42 is not of type "string"`.
    pub message: String,
}

/// A `tool_use` call that must not run.
///
/// Its JSON form (`serde::Serialize`) is an object with `kind`
/// ([`ToolInputError::kind`]), `tool` (the name the model called), `message`
/// (the one-line `Display` text), and `known` for `unknown_tool`, or `errors`
/// (a list of [`InputViolation`]) and `omitted` for `invalid_input`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ToolInputError {
    /// The model called a tool that is not defined.
    #[error("unknown tool {}; {}", quoted_name(name), known_list(known))]
    UnknownTool {
        /// The name the model used.
        name: String,
        /// The names of the defined tools, in definition order.
        known: Vec<String>,
    },
    /// The input does not match the tool's `input_schema`.
    #[error("invalid input for tool {}: {}", quoted_name(tool), violations_line(errors, *omitted))]
    InvalidInput {
        /// The tool's name.
        tool: String,
        /// The violations, ordered by path then message (at most
        /// [`MAX_REPORTED_VIOLATIONS`]).
        errors: Vec<InputViolation>,
        /// How many more violations were found but not kept.
        omitted: usize,
    },
    /// The input was cut off because the response reached `max_tokens`; it is
    /// not run even if what arrived happens to match the schema.
    #[error("the input for tool {} was cut off at max_tokens", quoted_name(tool))]
    Truncated {
        /// The tool's name.
        tool: String,
    },
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        return "no tools are defined".to_owned();
    }
    let mut out = String::from("the defined tools are ");
    for (i, name) in known.iter().take(MAX_LISTED_TOOLS).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&quoted_name(name));
    }
    if known.len() > MAX_LISTED_TOOLS {
        out.push_str(&format!(" and {} more", known.len() - MAX_LISTED_TOOLS));
    }
    out
}

fn violation_line(v: &InputViolation) -> String {
    let at = if v.path.is_empty() { "(root)".to_owned() } else { truncate_chars(&v.path, 200) };
    format!("at {at}: {}", truncate_chars(&v.message, MAX_VIOLATION_MESSAGE_CHARS))
}

fn violations_line(errors: &[InputViolation], omitted: usize) -> String {
    let mut out = errors.iter().map(violation_line).collect::<Vec<_>>().join("; ");
    if errors.is_empty() {
        out.push_str("it does not match the schema");
    }
    if omitted > 0 {
        out.push_str(&format!(" (and {omitted} more)"));
    }
    out
}

impl ToolInputError {
    /// `unknown_tool`, `invalid_input` or `truncated`.
    pub fn kind(&self) -> &'static str {
        match self {
            ToolInputError::UnknownTool { .. } => "unknown_tool",
            ToolInputError::InvalidInput { .. } => "invalid_input",
            ToolInputError::Truncated { .. } => "truncated",
        }
    }

    /// The name of the tool the model called.
    pub fn tool(&self) -> &str {
        match self {
            ToolInputError::UnknownTool { name: tool, .. }
            | ToolInputError::InvalidInput { tool, .. }
            | ToolInputError::Truncated { tool } => tool,
        }
    }

    /// The message the model reads in the `is_error` `tool_result`: which tool,
    /// what went wrong (for a bad input, each failing path and why, one per line),
    /// and that the tool did not run. At most [`MAX_TOOL_RESULT_TEXT_CHARS`]
    /// characters.
    pub fn to_tool_result_text(&self) -> String {
        let text = match self {
            ToolInputError::UnknownTool { name, known } => {
                let mut t = format!("Unknown tool {}: no tool of that name is defined. ", quoted_name(name));
                if known.is_empty() {
                    t.push_str("No tools are defined.");
                } else {
                    let list = known_list(known);
                    t.push_str(&format!("Call one of the defined tools instead; {list}."));
                }
                t
            }
            ToolInputError::InvalidInput { tool, errors, omitted } => {
                const FOOTER: &str = "The tool was not run; correct the input and call it again.";
                match (errors.as_slice(), omitted) {
                    ([only], 0) => format!("Invalid input for tool {}: {}. {FOOTER}", quoted_name(tool), violation_line(only)),
                    _ => {
                        let total = errors.len() + omitted;
                        let mut t = format!("Invalid input for tool {} ({total} problems):\n", quoted_name(tool));
                        for v in errors {
                            t.push_str("- ");
                            t.push_str(&violation_line(v));
                            t.push('\n');
                        }
                        if *omitted > 0 {
                            t.push_str(&format!("- and {omitted} more\n"));
                        }
                        t.push_str(FOOTER);
                        t
                    }
                }
            }
            ToolInputError::Truncated { tool } => format!(
                "The input for tool {} was cut off because the response reached its max_tokens limit, so the tool was not run. \
                 Call the tool again with the complete input.",
                quoted_name(tool)
            ),
        };
        truncate_chars(&text, MAX_TOOL_RESULT_TEXT_CHARS)
    }

    /// The `tool_result` block answering the call `tool_use_id`: `is_error: true`,
    /// with [`ToolInputError::to_tool_result_text`] as its content.
    pub fn into_tool_result(self, tool_use_id: impl Into<String>) -> ContentBlock {
        ContentBlock::tool_result(tool_use_id, self.to_tool_result_text(), true)
    }
}

impl Serialize for ToolInputError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("kind", self.kind())?;
        m.serialize_entry("tool", self.tool())?;
        m.serialize_entry("message", &self.to_string())?;
        match self {
            ToolInputError::UnknownTool { known, .. } => m.serialize_entry("known", known)?,
            ToolInputError::InvalidInput { errors, omitted, .. } => {
                m.serialize_entry("errors", errors)?;
                m.serialize_entry("omitted", omitted)?;
            }
            ToolInputError::Truncated { .. } => {}
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{TextOrBlocks, ToolResultBlock};

    fn violation(path: &str, message: &str) -> InputViolation {
        InputViolation { path: path.into(), message: message.into() }
    }

    #[test]
    fn one_violation_reads_as_one_sentence() {
        let err = ToolInputError::InvalidInput {
            tool: "search_database".into(),
            errors: vec![violation("/query", "42 is not of type \"string\"")],
            omitted: 0,
        };
        assert_eq!(
            err.to_tool_result_text(),
            "Invalid input for tool \"search_database\": at /query: 42 is not of type \"string\". \
             The tool was not run; correct the input and call it again."
        );
        assert_eq!(err.to_string(), "invalid input for tool \"search_database\": at /query: 42 is not of type \"string\"");
    }

    #[test]
    fn several_violations_are_listed_one_per_line_with_the_root_named() {
        let err = ToolInputError::InvalidInput {
            tool: "f".into(),
            errors: vec![violation("", "\"limit\" is a required property"), violation("/q", "bad")],
            omitted: 3,
        };
        let text = err.to_tool_result_text();
        assert!(text.starts_with("Invalid input for tool \"f\" (5 problems):\n"), "{text}");
        assert!(text.contains("\n- at (root): \"limit\" is a required property\n- at /q: bad\n- and 3 more\n"), "{text}");
        assert!(err.to_string().ends_with("at /q: bad (and 3 more)"), "{err}");
    }

    #[test]
    fn text_is_capped() {
        let errors = (0..MAX_REPORTED_VIOLATIONS).map(|i| violation(&format!("/{i}"), &"x".repeat(10_000))).collect();
        let err = ToolInputError::InvalidInput { tool: "f".into(), errors, omitted: 0 };
        let text = err.to_tool_result_text();
        assert_eq!(text.chars().count(), MAX_TOOL_RESULT_TEXT_CHARS);
        let known = (0..500).map(|i| format!("tool_{i}")).collect();
        let text = ToolInputError::UnknownTool { name: "nope".into(), known }.to_tool_result_text();
        assert!(text.contains("\"tool_49\" and 450 more."), "{text}");
    }

    #[test]
    fn unknown_tool_text_names_the_alternatives() {
        let err = ToolInputError::UnknownTool { name: "serch".into(), known: vec!["search".into(), "fetch".into()] };
        assert_eq!(
            err.to_tool_result_text(),
            "Unknown tool \"serch\": no tool of that name is defined. Call one of the defined tools instead; the defined tools are \"search\", \"fetch\"."
        );
        let v = serde_json::to_value(&err).unwrap();
        assert_eq!(v["kind"], "unknown_tool");
        assert_eq!(v["tool"], "serch");
        assert_eq!(v["known"], serde_json::json!(["search", "fetch"]));
    }

    #[test]
    fn into_tool_result_builds_an_error_block_for_the_call() {
        let err = ToolInputError::Truncated { tool: "write_file".into() };
        let text = err.to_tool_result_text();
        assert!(text.contains("\"write_file\"") && text.contains("max_tokens"), "{text}");
        let block = err.into_tool_result("toolu_1");
        let ContentBlock::ToolResult(ToolResultBlock { tool_use_id, content, is_error, .. }) = &block else {
            panic!("{block:?}")
        };
        assert_eq!(tool_use_id, "toolu_1");
        assert_eq!(*is_error, Some(true));
        assert_eq!(content, &Some(TextOrBlocks::Text(text)));
        assert_eq!(
            serde_json::to_value(&block).unwrap(),
            serde_json::json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": block_text(&block), "is_error": true})
        );
    }

    fn block_text(block: &ContentBlock) -> String {
        match block {
            ContentBlock::ToolResult(r) => r.content.as_ref().map(TextOrBlocks::text).unwrap_or_default(),
            _ => String::new(),
        }
    }
}
