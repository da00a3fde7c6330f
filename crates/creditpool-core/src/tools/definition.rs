//! Checks on tool definitions, and compiling their input schemas.

use super::{quoted_name, truncate_chars};
use crate::api::{json_kind, Tool, ToolSpec};
use super::schema::Schema;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// The longest tool name the API accepts, in characters.
pub const MAX_TOOL_NAME_LEN: usize = 128;

/// The deepest nesting of JSON objects and arrays accepted in an `input_schema`.
/// Real tool schemas are a handful of levels deep; the limit keeps compiling and
/// walking a hostile schema from exhausting the stack (a wasm stack is small).
pub const MAX_SCHEMA_DEPTH: usize = 64;

/// Longest schema compiler message kept in [`ToolDefinitionError::InvalidSchema`].
const MAX_DETAIL_CHARS: usize = 500;

/// A tool definition that the API would refuse, or that creditpool refuses
/// because the model could not use it well.
///
/// Its JSON form (`serde::Serialize`) is an object with `rule` (the variant in
/// snake_case, see [`ToolDefinitionError::rule`]), `tool` (the tool's name),
/// `message` (the `Display` text) and the variant's other fields.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ToolDefinitionError {
    /// The name does not match `^[a-zA-Z0-9_-]{1,128}$`.
    #[error("tool name {} is invalid: {reason}; a tool name must match ^[a-zA-Z0-9_-]{{1,128}}$", quoted_name(tool))]
    InvalidName {
        /// The name as given.
        tool: String,
        /// Why it does not match: empty, too long, or which character is not allowed.
        reason: String,
    },
    /// The description is missing, empty or only whitespace.
    #[error("tool {} has no description; the model reads it to decide when to call the tool", quoted_name(tool))]
    MissingDescription {
        /// The tool's name.
        tool: String,
    },
    /// `input_schema` is not a JSON object.
    #[error("tool {}: input_schema must be a JSON object, got {found}", quoted_name(tool))]
    SchemaNotObject {
        /// The tool's name.
        tool: String,
        /// What it is instead ("an array", "a boolean", ...).
        found: &'static str,
    },
    /// `input_schema` lacks `"type": "object"`.
    #[error("tool {}: input_schema must have \"type\": \"object\", {}", quoted_name(tool), found.as_deref().map_or_else(|| "but it has no \"type\"".to_owned(), |f| format!("not {f}")))]
    SchemaTypeNotObject {
        /// The tool's name.
        tool: String,
        /// The `type` it has instead, as JSON text; `None` when there is none.
        found: Option<String>,
    },
    /// `input_schema` has `oneOf`, `anyOf` or `allOf` at its top level.
    #[error("tool {}: input_schema may not use \"{keyword}\" at its top level (the API refuses it); describe one object and put alternatives inside its properties", quoted_name(tool))]
    TopLevelCombinator {
        /// The tool's name.
        tool: String,
        /// `oneOf`, `anyOf` or `allOf`.
        keyword: String,
    },
    /// A `$ref` points outside the schema; nothing is ever fetched.
    #[error("tool {}: input_schema refers to {reference:?} at {}, outside the schema; only references inside the schema (such as \"#/$defs/name\") are allowed, and nothing is fetched", quoted_name(tool), pointer_or_root(location))]
    ExternalRef {
        /// The tool's name.
        tool: String,
        /// The reference as written.
        reference: String,
        /// JSON Pointer, inside `input_schema`, of the object holding the `$ref`.
        location: String,
    },
    /// `input_schema` is not a valid JSON Schema.
    #[error("tool {}: input_schema is not a valid JSON Schema: at {}: {detail}", quoted_name(tool), pointer_or_root(location))]
    InvalidSchema {
        /// The tool's name.
        tool: String,
        /// JSON Pointer, inside `input_schema`, of the offending part ("" for the whole).
        location: String,
        /// The schema compiler's explanation.
        detail: String,
    },
    /// Two tools of one request share a name.
    #[error("more than one tool is named {}; tool names must be unique within a request", quoted_name(tool))]
    DuplicateName {
        /// The shared name.
        tool: String,
    },
}

fn pointer_or_root(pointer: &str) -> &str {
    if pointer.is_empty() {
        "(root)"
    } else {
        pointer
    }
}

impl ToolDefinitionError {
    /// The rule that was broken, in snake_case: `invalid_name`,
    /// `missing_description`, `schema_not_object`, `schema_type_not_object`,
    /// `top_level_combinator`, `external_ref`, `invalid_schema`, `duplicate_name`.
    pub fn rule(&self) -> &'static str {
        match self {
            ToolDefinitionError::InvalidName { .. } => "invalid_name",
            ToolDefinitionError::MissingDescription { .. } => "missing_description",
            ToolDefinitionError::SchemaNotObject { .. } => "schema_not_object",
            ToolDefinitionError::SchemaTypeNotObject { .. } => "schema_type_not_object",
            ToolDefinitionError::TopLevelCombinator { .. } => "top_level_combinator",
            ToolDefinitionError::ExternalRef { .. } => "external_ref",
            ToolDefinitionError::InvalidSchema { .. } => "invalid_schema",
            ToolDefinitionError::DuplicateName { .. } => "duplicate_name",
        }
    }

    /// The name of the tool at fault (as given, even when it is the name that is wrong).
    pub fn tool(&self) -> &str {
        match self {
            ToolDefinitionError::InvalidName { tool, .. }
            | ToolDefinitionError::MissingDescription { tool }
            | ToolDefinitionError::SchemaNotObject { tool, .. }
            | ToolDefinitionError::SchemaTypeNotObject { tool, .. }
            | ToolDefinitionError::TopLevelCombinator { tool, .. }
            | ToolDefinitionError::ExternalRef { tool, .. }
            | ToolDefinitionError::InvalidSchema { tool, .. }
            | ToolDefinitionError::DuplicateName { tool } => tool,
        }
    }
}

impl Serialize for ToolDefinitionError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("rule", self.rule())?;
        m.serialize_entry("tool", self.tool())?;
        m.serialize_entry("message", &self.to_string())?;
        match self {
            ToolDefinitionError::InvalidName { reason, .. } => m.serialize_entry("reason", reason)?,
            ToolDefinitionError::SchemaNotObject { found, .. } => m.serialize_entry("found", found)?,
            ToolDefinitionError::SchemaTypeNotObject { found, .. } => m.serialize_entry("found", found)?,
            ToolDefinitionError::TopLevelCombinator { keyword, .. } => m.serialize_entry("keyword", keyword)?,
            ToolDefinitionError::ExternalRef { reference, location, .. } => {
                m.serialize_entry("reference", reference)?;
                m.serialize_entry("location", location)?;
            }
            ToolDefinitionError::InvalidSchema { location, detail, .. } => {
                m.serialize_entry("location", location)?;
                m.serialize_entry("detail", detail)?;
            }
            ToolDefinitionError::MissingDescription { .. } | ToolDefinitionError::DuplicateName { .. } => {}
        }
        m.end()
    }
}

/// Checks one custom tool's definition against the rules of [`crate::tools`],
/// compiling its `input_schema` (which is then dropped; use
/// [`super::ToolSet`] to keep compiled schemas for validating calls).
///
/// Checks run in the order of the rules and the first failure is returned.
pub fn check_tool(tool: &Tool) -> Result<(), ToolDefinitionError> {
    compile_tool(tool).map(drop)
}

/// Checks every tool of a request: each custom tool as [`check_tool`] does, and
/// that no two tools, custom or server, share a name. Tools are checked in order
/// and the first failure is returned.
pub fn check_tools(tools: &[ToolSpec]) -> Result<(), ToolDefinitionError> {
    let named = tools.iter().map(|spec| match spec {
        ToolSpec::Custom(t) => (t.name.as_str(), Some(t)),
        ToolSpec::Server(t) => (t.name.as_str(), None),
    });
    for_each_checked(named, |_, _| ())
}

/// Checks tools in order, each given as its name and, for a custom tool, its
/// definition; calls `keep` with each custom tool and its compiled schema.
pub(crate) fn for_each_checked<'a>(
    tools: impl IntoIterator<Item = (&'a str, Option<&'a Tool>)>,
    mut keep: impl FnMut(&'a Tool, Schema),
) -> Result<(), ToolDefinitionError> {
    let mut seen = BTreeSet::new();
    for (name, custom) in tools {
        if let Some(tool) = custom {
            let validator = compile_tool(tool)?;
            keep(tool, validator);
        }
        if !seen.insert(name) {
            return Err(ToolDefinitionError::DuplicateName { tool: name.to_owned() });
        }
    }
    Ok(())
}

/// Checks one custom tool and returns its compiled input validator.
pub(crate) fn compile_tool(tool: &Tool) -> Result<Schema, ToolDefinitionError> {
    let name = tool.name.as_str();
    check_name(name)?;
    if tool.description.as_deref().is_none_or(|d| d.trim().is_empty()) {
        return Err(ToolDefinitionError::MissingDescription { tool: name.to_owned() });
    }
    let schema = &tool.input_schema;
    let Some(obj) = schema.as_object() else {
        return Err(ToolDefinitionError::SchemaNotObject { tool: name.to_owned(), found: json_kind(schema) });
    };
    match obj.get("type") {
        Some(Value::String(t)) if t == "object" => {}
        other => {
            return Err(ToolDefinitionError::SchemaTypeNotObject {
                tool: name.to_owned(),
                found: other.map(|v| truncate_chars(&v.to_string(), 100)),
            })
        }
    }
    if let Some(keyword) = ["oneOf", "anyOf", "allOf"].into_iter().find(|k| obj.contains_key(*k)) {
        return Err(ToolDefinitionError::TopLevelCombinator { tool: name.to_owned(), keyword: keyword.to_owned() });
    }
    check_refs(name, schema)?;
    compile_schema(name, schema)
}

fn check_name(name: &str) -> Result<(), ToolDefinitionError> {
    let reason = if name.is_empty() {
        "it is empty".to_owned()
    } else if let Some((pos, c)) = name.chars().enumerate().find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-')) {
        format!("character {:?} at position {} is not a letter, digit, '_' or '-'", c, pos + 1)
    } else if name.len() > MAX_TOOL_NAME_LEN {
        format!("it is {} characters long, more than {MAX_TOOL_NAME_LEN}", name.len())
    } else {
        return Ok(());
    };
    Err(ToolDefinitionError::InvalidName { tool: name.to_owned(), reason })
}

/// Keywords whose values are instance data, not subschemas.
const DATA_KEYWORDS: [&str; 4] = ["enum", "const", "default", "examples"];

/// Keywords that reference another schema by URI.
const REF_KEYWORDS: [&str; 3] = ["$ref", "$dynamicRef", "$recursiveRef"];

/// Refuses references that leave the schema, and schemas nested too deeply.
fn check_refs(tool: &str, schema: &Value) -> Result<(), ToolDefinitionError> {
    let mut ids = BTreeSet::new();
    let mut refs = Vec::new();
    walk(schema, &mut String::new(), 0, &mut ids, &mut refs).map_err(|location| ToolDefinitionError::InvalidSchema {
        tool: tool.to_owned(),
        location,
        detail: format!("the schema is nested more than {MAX_SCHEMA_DEPTH} levels deep"),
    })?;
    for (reference, location) in refs {
        let resource = reference.split_once('#').map_or(reference.as_str(), |(before, _)| before);
        if !resource.is_empty() && !ids.contains(resource) {
            return Err(ToolDefinitionError::ExternalRef { tool: tool.to_owned(), reference, location });
        }
    }
    Ok(())
}

/// Collects `$id`s and references (with the pointer of the object holding them).
/// Fails with the pointer where the depth limit was crossed.
fn walk(
    v: &Value,
    pointer: &mut String,
    depth: usize,
    ids: &mut BTreeSet<String>,
    refs: &mut Vec<(String, String)>,
) -> Result<(), String> {
    if depth > MAX_SCHEMA_DEPTH {
        return Err(pointer.clone());
    }
    match v {
        Value::Object(map) => walk_object(map, pointer, depth, ids, refs),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&i.to_string());
                walk(item, pointer, depth + 1, ids, refs)?;
                pointer.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn walk_object(
    map: &Map<String, Value>,
    pointer: &mut String,
    depth: usize,
    ids: &mut BTreeSet<String>,
    refs: &mut Vec<(String, String)>,
) -> Result<(), String> {
    if let Some(Value::String(id)) = map.get("$id") {
        ids.insert(id.split_once('#').map_or(id.as_str(), |(before, _)| before).to_owned());
    }
    for (key, value) in map {
        if let (true, Value::String(r)) = (REF_KEYWORDS.contains(&key.as_str()), value) {
            refs.push((r.clone(), pointer.clone()));
        }
        if DATA_KEYWORDS.contains(&key.as_str()) {
            continue;
        }
        let len = pointer.len();
        pointer.push('/');
        pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
        walk(value, pointer, depth + 1, ids, refs)?;
        pointer.truncate(len);
    }
    Ok(())
}

/// Compiles a schema for validating inputs with the core's own checker
/// ([`super::schema`]): nothing is fetched, `format` is asserted.
fn compile_schema(tool: &str, schema: &Value) -> Result<Schema, ToolDefinitionError> {
    Schema::compile(schema).map_err(|e| ToolDefinitionError::InvalidSchema {
        tool: tool.to_owned(),
        location: e.location,
        detail: truncate_chars(&e.detail, MAX_DETAIL_CHARS),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool(name: &str, schema: Value) -> Tool {
        Tool::new(name, "Does a thing.", schema)
    }

    #[test]
    fn name_reasons_say_what_is_wrong() {
        let err = check_tool(&tool("get weather", json!({"type": "object"}))).unwrap_err();
        assert_eq!(err.rule(), "invalid_name");
        assert!(err.to_string().contains("' ' at position 4"), "{err}");
        let long = "a".repeat(129);
        let err = check_tool(&tool(&long, json!({"type": "object"}))).unwrap_err();
        assert!(err.to_string().contains("129 characters long"), "{err}");
        assert!(check_tool(&tool(&"a".repeat(128), json!({"type": "object"}))).is_ok());
    }

    #[test]
    fn serialized_error_carries_rule_tool_message_and_fields() {
        let err = check_tool(&tool("f", json!({"type": "object", "$ref": "https://example.com/s.json"}))).unwrap_err();
        let v = serde_json::to_value(&err).unwrap();
        assert_eq!(v["rule"], "external_ref");
        assert_eq!(v["tool"], "f");
        assert_eq!(v["reference"], "https://example.com/s.json");
        assert_eq!(v["location"], "");
        assert_eq!(v["message"], err.to_string());
    }

    #[test]
    fn compile_error_reports_location_inside_schema() {
        let err = check_tool(&tool("f", json!({"type": "object", "properties": {"a": {"type": "strin"}}}))).unwrap_err();
        let ToolDefinitionError::InvalidSchema { location, detail, .. } = &err else { panic!("{err:?}") };
        assert_eq!(location, "/properties/a/type");
        assert!(detail.contains("strin"), "{detail}");
    }

    #[test]
    fn deep_schema_is_refused_without_recursing_without_bound() {
        let mut schema = json!({"type": "string"});
        for _ in 0..200 {
            schema = json!({"type": "object", "properties": {"a": schema}});
        }
        let err = check_tool(&tool("deep", schema)).unwrap_err();
        assert_eq!(err.rule(), "invalid_schema");
        assert!(err.to_string().contains("nested more than 64 levels"), "{err}");
    }

    #[test]
    fn missing_type_and_wrong_type_are_told_apart() {
        let err = check_tool(&tool("f", json!({"properties": {}}))).unwrap_err();
        assert!(err.to_string().contains("has no \"type\""), "{err}");
        let err = check_tool(&tool("f", json!({"type": ["object", "null"]}))).unwrap_err();
        assert!(err.to_string().contains("not [\"object\",\"null\"]"), "{err}");
    }
}
