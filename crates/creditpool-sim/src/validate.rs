//! Request checks that answer API-shaped 400 `invalid_request_error`s.
//!
//! The checks follow the real API's rules that matter to a client: the
//! `anthropic-version` header; `model`, `max_tokens` and `messages`; content
//! blocks that parse; every `tool_use` answered by a `tool_result` in the next
//! user turn, and every `tool_result` answering a `tool_use` of the turn
//! before; well-formed tools and `tool_choice`. An unknown top-level field is
//! refused as the real API refuses it (`<field>: Extra inputs are not
//! permitted`), except the configured pool selector field, which is accepted
//! unless the simulator was started to reject it too (`--reject-pool-selector`
//! or the scenario's `reject_pool_field`); unknown block types are accepted.

use crate::api_error::ApiFailure;
use axum::http::HeaderMap;
use creditpool_core::api::{ContentBlock, MessageParam, MessageRequest, Role, TextOrBlocks, ToolChoice, ToolSpec};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// The oldest `anthropic-version` the simulator accepts. Any later date in
/// `YYYY-MM-DD` form is accepted too: the official Python SDK 2.13 sends
/// `2026-10-21`, our clients send `2023-06-01`.
pub const OLDEST_VERSION: &str = "2023-01-01";

fn is_version(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
        && v >= OLDEST_VERSION
}

/// Which endpoint a body is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `POST /v1/messages`: `max_tokens` is required.
    Messages,
    /// `POST /v1/messages/count_tokens`: `max_tokens` is not needed.
    CountTokens,
}

/// A request that passed the checks.
#[derive(Clone, Debug)]
pub(crate) struct Valid {
    /// The typed request.
    pub request: MessageRequest,
    /// The body as JSON (for fields the typed request keeps in `extra`).
    pub raw: Map<String, Value>,
}

/// Checks the `anthropic-version` header.
pub(crate) fn check_version(headers: &HeaderMap) -> Result<(), ApiFailure> {
    match headers.get("anthropic-version").map(|v| v.to_str().unwrap_or("")) {
        None => Err(ApiFailure::invalid("anthropic-version: header is required")),
        Some(v) if is_version(v.trim()) => Ok(()),
        Some(v) => Err(ApiFailure::invalid(format!("anthropic-version: invalid version `{v}`; use a date such as 2023-06-01"))),
    }
}

/// Parses and checks a request body. `pool_field` is the pool selector field
/// accepted beside the Messages API's own fields (`None`: refused like any
/// unknown field).
pub(crate) fn check_body(body: &[u8], endpoint: Endpoint, pool_field: Option<&str>) -> Result<Valid, ApiFailure> {
    let value: Value = serde_json::from_slice(body).map_err(|e| ApiFailure::invalid(format!("There was an error parsing the body of your request: {e}")))?;
    let Value::Object(raw) = value else {
        return Err(ApiFailure::invalid("The request body must be a JSON object."));
    };
    check_known_fields(&raw, pool_field)?;
    check_model(&raw)?;
    match (endpoint, raw.get("max_tokens")) {
        (Endpoint::Messages, None) => return Err(ApiFailure::invalid("max_tokens: Field required")),
        (_, Some(v)) => match v.as_u64() {
            Some(n) if n >= 1 && n <= u64::from(u32::MAX) => {}
            Some(0) => return Err(ApiFailure::invalid("max_tokens: Input should be greater than or equal to 1")),
            _ => return Err(ApiFailure::invalid("max_tokens: Input should be a valid positive integer")),
        },
        (Endpoint::CountTokens, None) => {}
    }
    let messages = match raw.get("messages") {
        None => return Err(ApiFailure::invalid("messages: Field required")),
        Some(Value::Array(m)) if m.is_empty() => return Err(ApiFailure::invalid("messages: at least one message is required")),
        Some(Value::Array(m)) => m,
        Some(_) => return Err(ApiFailure::invalid("messages: Input should be a valid list")),
    };
    let messages = messages.iter().enumerate().map(|(i, m)| check_message(i, m)).collect::<Result<Vec<_>, _>>()?;
    check_tool_pairing(&messages)?;
    if let Some(stream) = raw.get("stream") {
        if !stream.is_boolean() {
            return Err(ApiFailure::invalid("stream: Input should be a valid boolean"));
        }
    }
    for field in ["temperature", "top_p"] {
        if let Some(v) = raw.get(field) {
            if !v.as_f64().is_some_and(|x| (0.0..=1.0).contains(&x)) {
                return Err(ApiFailure::invalid(format!("{field}: Input should be a number between 0 and 1")));
            }
        }
    }
    if let Some(system) = raw.get("system") {
        let system: TextOrBlocks = serde_json::from_value(system.clone()).map_err(|e| ApiFailure::invalid(format!("system: {e}")))?;
        if system.blocks().iter().any(|b| !matches!(b, ContentBlock::Text(_))) {
            return Err(ApiFailure::invalid("system: only text blocks are allowed"));
        }
    }
    if let Some(metadata) = raw.get("metadata") {
        if !metadata.is_object() || metadata.get("user_id").is_some_and(|u| !u.is_string() && !u.is_null()) {
            return Err(ApiFailure::invalid("metadata.user_id: Input should be a valid string"));
        }
    }
    let tools = check_tools(&raw)?;
    check_tool_choice(&raw, &tools)?;
    let mut typed = raw.clone();
    typed.entry("max_tokens").or_insert(Value::from(1));
    let request: MessageRequest = serde_json::from_value(Value::Object(typed)).map_err(|e| ApiFailure::invalid(e.to_string()))?;
    Ok(Valid { request, raw })
}

/// [`check_body`]'s check of the top-level field names alone (a body that is
/// not a JSON object passes: `check_body` reports it), so that an unknown
/// field is refused before a thread is looked up.
pub(crate) fn check_known_fields_of(body: &[u8], pool_field: Option<&str>) -> Result<(), ApiFailure> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(raw)) => check_known_fields(&raw, pool_field),
        _ => Ok(()),
    }
}

/// The real API answers a top-level field it does not know with a 400 whose
/// message is `<field>: Extra inputs are not permitted`.
fn check_known_fields(raw: &Map<String, Value>, pool_field: Option<&str>) -> Result<(), ApiFailure> {
    let known = |k: &str| creditpool_core::request::MESSAGES_PARAMS.contains(&k) || pool_field == Some(k);
    match raw.keys().find(|k| !known(k)) {
        Some(k) => Err(ApiFailure::invalid(format!("{k}: Extra inputs are not permitted"))),
        None => Ok(()),
    }
}

fn check_model(raw: &Map<String, Value>) -> Result<(), ApiFailure> {
    match raw.get("model") {
        None => Err(ApiFailure::invalid("model: Field required")),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(()),
        Some(Value::String(_)) => Err(ApiFailure::invalid("model: String should have at least 1 character")),
        Some(_) => Err(ApiFailure::invalid("model: Input should be a valid string")),
    }
}

fn check_message(i: usize, m: &Value) -> Result<MessageParam, ApiFailure> {
    let at = |detail: String| ApiFailure::invalid(format!("messages.{i}{detail}"));
    let Value::Object(obj) = m else { return Err(at(": Input should be a valid dictionary".into())) };
    match obj.get("role").and_then(Value::as_str) {
        Some("user" | "assistant") => {}
        Some(other) => return Err(at(format!(".role: Input should be 'user' or 'assistant', not '{other}'"))),
        None => return Err(at(".role: Field required".into())),
    }
    match obj.get("content") {
        None => return Err(at(".content: Field required".into())),
        Some(Value::String(s)) if s.is_empty() => return Err(at(": messages must have non-empty content".into())),
        Some(Value::String(_)) => {}
        Some(Value::Array(blocks)) => {
            for (j, b) in blocks.iter().enumerate() {
                let block: ContentBlock = serde_json::from_value(b.clone()).map_err(|e| at(format!(".content.{j}: {e}")))?;
                if let ContentBlock::Text(t) = &block {
                    if t.text.is_empty() {
                        return Err(at(format!(".content.{j}.text: text content blocks must be non-empty")));
                    }
                }
            }
        }
        Some(_) => return Err(at(".content: Input should be a valid string or list of content blocks".into())),
    }
    serde_json::from_value(m.clone()).map_err(|e| at(format!(": {e}")))
}

fn tool_use_ids(m: &MessageParam) -> Vec<&str> {
    m.content
        .blocks()
        .iter()
        .filter_map(|b| match b {
            ContentBlock::ToolUse(t) => Some(t.id.as_str()),
            _ => None,
        })
        .collect()
}

fn tool_result_ids(m: &MessageParam) -> Vec<&str> {
    m.content
        .blocks()
        .iter()
        .filter_map(|b| match b {
            ContentBlock::ToolResult(r) => Some(r.tool_use_id.as_str()),
            _ => None,
        })
        .collect()
}

/// Every `tool_use` of an assistant turn is answered in the next (user) turn,
/// and every `tool_result` answers a `tool_use` of the turn just before.
fn check_tool_pairing(messages: &[MessageParam]) -> Result<(), ApiFailure> {
    for (i, m) in messages.iter().enumerate() {
        let results = tool_result_ids(m);
        if !results.is_empty() {
            let previous: HashSet<&str> = match i.checked_sub(1).and_then(|p| messages.get(p)) {
                Some(p) if p.role == Role::Assistant => tool_use_ids(p).into_iter().collect(),
                _ => HashSet::new(),
            };
            if let Some(stray) = results.iter().find(|id| !previous.contains(*id)) {
                return Err(ApiFailure::invalid(format!(
                    "messages.{i}.content: unexpected `tool_use_id` found in `tool_result` blocks: {stray}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                )));
            }
        }
        if m.role != Role::Assistant {
            continue;
        }
        let uses = tool_use_ids(m);
        if uses.is_empty() {
            continue;
        }
        let answered: HashSet<&str> = match messages.get(i + 1) {
            Some(next) if next.role == Role::User => tool_result_ids(next).into_iter().collect(),
            _ => HashSet::new(),
        };
        let missing: Vec<&str> = uses.into_iter().filter(|id| !answered.contains(id)).collect();
        if !missing.is_empty() {
            return Err(ApiFailure::invalid(format!(
                "messages.{}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
                i + 1,
                missing.join(", ")
            )));
        }
    }
    Ok(())
}

fn valid_tool_name(name: &str) -> bool {
    (1..=128).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn check_tools(raw: &Map<String, Value>) -> Result<Vec<ToolSpec>, ApiFailure> {
    let Some(tools) = raw.get("tools") else { return Ok(Vec::new()) };
    let Value::Array(list) = tools else { return Err(ApiFailure::invalid("tools: Input should be a valid list")) };
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let spec: ToolSpec = serde_json::from_value(t.clone()).map_err(|e| ApiFailure::invalid(format!("tools.{i}: {e}")))?;
        if let ToolSpec::Custom(tool) = &spec {
            if !valid_tool_name(&tool.name) {
                return Err(ApiFailure::invalid(format!("tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")));
            }
            if !tool.input_schema.is_object() {
                return Err(ApiFailure::invalid(format!("tools.{i}.custom.input_schema: Input should be a valid dictionary")));
            }
        }
        if !names.insert(spec.name().to_owned()) {
            return Err(ApiFailure::invalid("tools: Tool names must be unique."));
        }
        out.push(spec);
    }
    Ok(out)
}

fn check_tool_choice(raw: &Map<String, Value>, tools: &[ToolSpec]) -> Result<(), ApiFailure> {
    let Some(choice) = raw.get("tool_choice") else { return Ok(()) };
    let choice: ToolChoice = serde_json::from_value(choice.clone()).map_err(|e| ApiFailure::invalid(format!("tool_choice: {e}")))?;
    match &choice {
        ToolChoice::Tool(t) if !tools.iter().any(|s| s.name() == t.name) => {
            Err(ApiFailure::invalid(format!("tool_choice.name: tool `{}` is not among the request's tools", t.name)))
        }
        ToolChoice::Any(_) | ToolChoice::Tool(_) if tools.is_empty() => Err(ApiFailure::invalid("tool_choice: tools must be given when tool_choice is `any` or `tool`")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value) -> Result<Valid, String> {
        check_body(v.to_string().as_bytes(), Endpoint::Messages, Some("credit_pool")).map_err(|e| {
            assert_eq!((e.status, e.kind.as_str()), (400, "invalid_request_error"));
            e.message
        })
    }

    fn base() -> Value {
        json!({"model": "claude-haiku-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}]})
    }

    fn with(mut v: Value, key: &str, value: Value) -> Value {
        v[key] = value;
        v
    }

    #[test]
    fn a_plain_request_passes_with_the_pool_selector() {
        let ok = check(with(base(), "credit_pool", json!("programmatic"))).unwrap();
        assert_eq!(ok.raw["credit_pool"], "programmatic");
        assert_eq!(ok.request.model, "claude-haiku-4-5");
    }

    #[test]
    fn an_unknown_top_level_field_is_refused_as_the_api_does() {
        assert_eq!(check(with(base(), "temprature", json!(0.5))).unwrap_err(), "temprature: Extra inputs are not permitted");
        assert_eq!(check(with(base(), "extra_body", json!({}))).unwrap_err(), "extra_body: Extra inputs are not permitted");
        // The selector too, when the simulator is told to reject it (or it has another name).
        let body = with(base(), "credit_pool", json!("programmatic")).to_string();
        let err = check_body(body.as_bytes(), Endpoint::Messages, None).unwrap_err();
        assert_eq!((err.status, err.message.as_str()), (400, "credit_pool: Extra inputs are not permitted"));
        assert!(check_body(body.as_bytes(), Endpoint::Messages, Some("pool")).is_err());
        assert!(check(with(base(), "speed", json!("fast"))).is_ok());
    }

    #[test]
    fn required_fields() {
        let mut v = base();
        v.as_object_mut().unwrap().remove("model");
        assert_eq!(check(v).unwrap_err(), "model: Field required");
        assert!(check(with(base(), "model", json!(""))).unwrap_err().starts_with("model:"));
        assert!(check(with(base(), "model", json!(3))).unwrap_err().starts_with("model:"));
        let mut v = base();
        v.as_object_mut().unwrap().remove("max_tokens");
        assert_eq!(check(v).unwrap_err(), "max_tokens: Field required");
        assert!(check(with(base(), "max_tokens", json!(0))).unwrap_err().starts_with("max_tokens:"));
        assert!(check(with(base(), "max_tokens", json!("10"))).unwrap_err().starts_with("max_tokens:"));
        assert!(check(with(base(), "messages", json!([]))).unwrap_err().contains("at least one message"));
        assert!(check_body(b"{not json", Endpoint::Messages, Some("credit_pool")).is_err());
        assert!(check_body(b"[1]", Endpoint::Messages, Some("credit_pool")).is_err());
    }

    #[test]
    fn count_tokens_needs_no_max_tokens() {
        let mut v = base();
        v.as_object_mut().unwrap().remove("max_tokens");
        assert!(check_body(v.to_string().as_bytes(), Endpoint::CountTokens, Some("credit_pool")).is_ok());
    }

    #[test]
    fn malformed_blocks() {
        let bad = [
            json!([{"role": "user", "content": [{"type": "tool_use", "id": "x"}]}]),
            json!([{"role": "user", "content": [{"text": "no type"}]}]),
            json!([{"role": "user", "content": [{"type": "text", "text": ""}]}]),
            json!([{"role": "user", "content": ""}]),
            json!([{"role": "robot", "content": "hi"}]),
            json!([{"role": "user", "content": 5}]),
        ];
        for messages in bad {
            let err = check(with(base(), "messages", messages.clone())).unwrap_err();
            assert!(err.starts_with("messages.0"), "{messages}: {err}");
        }
    }

    #[test]
    fn tool_use_needs_a_tool_result_in_the_next_turn() {
        let messages = json!([
            {"role": "user", "content": "Find products"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "search", "input": {}}]},
            {"role": "user", "content": "never mind"}
        ]);
        let err = check(with(base(), "messages", messages)).unwrap_err();
        assert!(err.contains("toolu_1") && err.contains("without `tool_result`"), "{err}");
        let answered = json!([
            {"role": "user", "content": "Find products"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "search", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "3 products"}]}
        ]);
        assert!(check(with(base(), "messages", answered)).is_ok());
    }

    #[test]
    fn tool_result_must_answer_the_previous_turn() {
        let messages = json!([{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "x"}]}]);
        let err = check(with(base(), "messages", messages)).unwrap_err();
        assert!(err.contains("toolu_9") && err.contains("unexpected `tool_use_id`"), "{err}");
    }

    #[test]
    fn tools_and_tool_choice() {
        let tool = json!({"name": "search", "description": "d", "input_schema": {"type": "object"}});
        assert!(check(with(base(), "tools", json!([tool.clone()]))).is_ok());
        assert!(check(with(base(), "tools", json!([tool.clone(), tool.clone()]))).unwrap_err().contains("unique"));
        assert!(check(with(base(), "tools", json!([{"name": "bad name", "input_schema": {}}]))).unwrap_err().contains("pattern"));
        assert!(check(with(base(), "tools", json!([{"name": "f", "input_schema": 1}]))).unwrap_err().contains("input_schema"));
        let v = with(with(base(), "tools", json!([tool])), "tool_choice", json!({"type": "tool", "name": "other"}));
        assert!(check(v).unwrap_err().contains("tool_choice"));
        assert!(check(with(base(), "tool_choice", json!({"type": "any"}))).unwrap_err().contains("tool_choice"));
    }

    #[test]
    fn version_header() {
        let mut h = HeaderMap::new();
        assert!(check_version(&h).unwrap_err().message.contains("anthropic-version"));
        h.insert("anthropic-version", "2023-06-01".parse().unwrap());
        assert!(check_version(&h).is_ok());
        h.insert("anthropic-version", "2026-10-21".parse().unwrap());
        assert!(check_version(&h).is_ok());
        for bad in ["1999-01-01", "2023-6-1", "latest", "2023-06-01x"] {
            h.insert("anthropic-version", bad.parse().unwrap());
            assert!(check_version(&h).is_err(), "{bad}");
        }
    }
}
