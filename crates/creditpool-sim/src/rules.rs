//! The rule-based "model": deterministic answers good enough for demos.
//!
//! * When the last user turn holds `tool_result` blocks, it answers with text
//!   that quotes them.
//! * Otherwise, when the request has custom tools (and `tool_choice` allows
//!   them), it calls the tool whose name and description share the most words
//!   with the latest prompt, filling the tool's required inputs from its JSON
//!   Schema: strings get a phrase of the prompt, numbers a number from the
//!   prompt (or a default), enums their first value, booleans `true`, objects
//!   and arrays are filled recursively.
//! * With no tool that fits, or after [`MAX_TOOL_CALLS`] calls in the
//!   conversation, it answers directly with text that says it is a simulator.

use creditpool_core::api::{ContentBlock, Extra, MessageRequest, Role, TextOrBlocks, Tool, ToolChoice, ToolUseBlock};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// The most tool calls the rule model makes in one conversation; after that it
/// answers with text, so an agent loop always ends.
pub const MAX_TOOL_CALLS: usize = 3;

/// How much of each tool result the answer quotes, in characters.
const QUOTE_CHARS: usize = 600;

/// How deep the schema filler descends.
const MAX_SCHEMA_DEPTH: usize = 8;

/// Words that say nothing about which tool to use.
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "for", "with", "by", "at", "from", "is", "are", "be", "me", "my", "i", "you", "your", "it",
    "this", "that", "these", "those", "what", "which", "who", "how", "can", "could", "would", "please", "some", "any", "all", "do", "does",
];

/// Leading words stripped from a prompt to get the phrase a string input gets.
const FILLER: &[&str] = &[
    "please", "can", "could", "would", "will", "you", "kindly", "find", "search", "look", "up", "lookup", "show", "me", "get", "list", "fetch", "give",
    "tell", "about", "what", "whats", "what's", "is", "are", "the", "for", "i", "want", "need", "to", "know", "all", "some", "check", "query",
];

/// The rule model's answer to a request. Tool call IDs are
/// `toolu_sim_{seq:06}_{n}`.
pub fn respond(request: &MessageRequest, seq: u64) -> Vec<ContentBlock> {
    let last_user = request.messages.iter().rev().find(|m| m.role == Role::User);
    if let Some(user) = last_user {
        if user.content.blocks().iter().any(|b| matches!(b, ContentBlock::ToolResult(_))) {
            return vec![ContentBlock::text(summarise_results(request, &user.content))];
        }
    }
    let prompt = last_user.map(|m| m.content.text()).unwrap_or_default();
    if let Some(tool) = choose_tool(request, &prompt) {
        let input = fill_schema(&tool.input_schema, "", &prompt, 0);
        return vec![
            ContentBlock::text(format!("I'll use the {} tool to help with that.", tool.name)),
            ContentBlock::ToolUse(ToolUseBlock { id: format!("toolu_sim_{seq:06}_0"), name: tool.name.clone(), input, cache_control: None, extra: Extra::new() }),
        ];
    }
    vec![ContentBlock::text(direct_answer(&prompt))]
}

fn direct_answer(prompt: &str) -> String {
    let quoted = clip(prompt.trim(), 200);
    if quoted.is_empty() {
        "This is creditpool-sim, an offline simulator of the Messages API. No model was consulted.".to_owned()
    } else {
        format!("This is creditpool-sim, an offline simulator of the Messages API. You asked: \"{quoted}\". No model was consulted, so this answer is canned.")
    }
}

fn tool_calls_so_far(request: &MessageRequest) -> usize {
    request
        .messages
        .iter()
        .filter(|m| m.role == Role::Assistant)
        .flat_map(|m| m.content.blocks())
        .filter(|b| matches!(b, ContentBlock::ToolUse(_)))
        .count()
}

/// The tool to call, if any: forced by `tool_choice`, or the best match.
fn choose_tool<'r>(request: &'r MessageRequest, prompt: &str) -> Option<&'r Tool> {
    let tools: Vec<&Tool> = request.custom_tools().collect();
    if tools.is_empty() || tool_calls_so_far(request) >= MAX_TOOL_CALLS {
        return None;
    }
    match &request.tool_choice {
        Some(ToolChoice::None(_)) => return None,
        Some(ToolChoice::Tool(t)) => return tools.into_iter().find(|tool| tool.name == t.name),
        _ => {}
    }
    let forced = matches!(request.tool_choice, Some(ToolChoice::Any(_)));
    let wanted: HashSet<String> = words(prompt).collect();
    let mut best: Option<(&Tool, usize)> = None;
    for tool in tools.iter().copied() {
        let name: HashSet<String> = words(&tool.name).collect();
        let description: HashSet<String> = words(tool.description.as_deref().unwrap_or("")).collect();
        let score = wanted.iter().map(|w| 2 * usize::from(name.contains(w)) + usize::from(description.contains(w))).sum();
        if best.is_none_or(|(_, s)| score > s) {
            best = Some((tool, score));
        }
    }
    match best {
        Some((tool, score)) if score > 0 || forced => Some(tool),
        _ => None,
    }
}

/// Lowercase words of at least two characters, without stopwords, with a
/// plural `s` removed and a few verbs mapped to the one tools use.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() >= 2).map(str::to_lowercase).filter(|w| !STOPWORDS.contains(&w.as_str())).map(|w| {
        let w = match w.as_str() {
            "find" | "look" | "lookup" | "searching" | "searches" => "search".to_owned(),
            "fetch" | "retrieve" | "obtain" => "get".to_owned(),
            _ => w,
        };
        if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") {
            w.get(..w.len() - 1).unwrap_or(&w).to_owned()
        } else {
            w
        }
    })
}

/// The phrase of the prompt a string input gets: its first line, without
/// leading filler ("Find", "Can you", ...) or a closing `?`, `.` or `!`.
pub fn phrase(prompt: &str) -> String {
    let line = prompt.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let mut rest = line;
    loop {
        let trimmed = rest.trim_start();
        let end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
        let (word, tail) = trimmed.split_at(end);
        let bare = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'').to_lowercase();
        if bare.is_empty() || !FILLER.contains(&bare.as_str()) || tail.trim().is_empty() {
            break;
        }
        rest = tail;
    }
    let out = rest.trim().trim_end_matches(['?', '.', '!']).trim();
    let out = if out.is_empty() { line.trim() } else { out };
    clip(out, 200)
}

/// The first number in the prompt (`$50` gives 50, `2.5` gives 2.5).
fn first_number(prompt: &str) -> Option<f64> {
    let bytes = prompt.as_bytes();
    let start = bytes.iter().position(u8::is_ascii_digit)?;
    let len = prompt.get(start..)?.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ',')).unwrap_or(prompt.len() - start);
    let text: String = prompt.get(start..start + len)?.chars().filter(|c| *c != ',').collect();
    text.trim_end_matches('.').parse().ok()
}

/// A token of the prompt that looks like an e-mail address or a URL.
fn token_like(prompt: &str, pred: impl Fn(&str) -> bool) -> Option<String> {
    prompt.split_whitespace().map(|t| t.trim_matches(|c: char| matches!(c, ',' | '.' | ';' | '?' | '!' | '(' | ')' | '"' | '\''))).find(|t| pred(t)).map(str::to_owned)
}

/// A value for `schema`, taken from the prompt where it can be.
fn fill_schema(schema: &Value, property: &str, prompt: &str, depth: usize) -> Value {
    if depth > MAX_SCHEMA_DEPTH {
        return Value::Null;
    }
    let Some(obj) = schema.as_object() else { return Value::String(phrase(prompt)) };
    if let Some(c) = obj.get("const") {
        return c.clone();
    }
    if let Some(first) = obj.get("enum").and_then(Value::as_array).and_then(|e| e.first()) {
        return first.clone();
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(first) = obj.get(key).and_then(Value::as_array).and_then(|a| a.first()) {
            return fill_schema(first, property, prompt, depth + 1);
        }
    }
    let kind = match obj.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("null"),
        _ if obj.contains_key("properties") => "object",
        _ => "string",
    };
    match kind {
        "object" => fill_object(obj, prompt, depth),
        "array" => {
            let item = obj.get("items").map(|items| fill_schema(items, property, prompt, depth + 1)).unwrap_or_else(|| Value::String(phrase(prompt)));
            Value::Array(vec![item])
        }
        "integer" | "number" => fill_number(obj, property, prompt, kind == "integer"),
        "boolean" => Value::Bool(true),
        "null" => Value::Null,
        _ => fill_string(property, prompt),
    }
}

fn fill_object(obj: &Map<String, Value>, prompt: &str, depth: usize) -> Value {
    let empty = Map::new();
    let properties = obj.get("properties").and_then(Value::as_object).unwrap_or(&empty);
    let names: Vec<&str> = match obj.get("required").and_then(Value::as_array) {
        Some(required) => required.iter().filter_map(Value::as_str).collect(),
        None => properties.keys().map(String::as_str).collect(),
    };
    let mut out = Map::new();
    for name in names {
        let schema = properties.get(name).cloned().unwrap_or(Value::Object(Map::new()));
        out.insert(name.to_owned(), fill_schema(&schema, name, prompt, depth + 1));
    }
    Value::Object(out)
}

fn fill_string(property: &str, prompt: &str) -> Value {
    let p = property.to_lowercase();
    if p.contains("email") {
        if let Some(e) = token_like(prompt, |t| t.contains('@') && t.contains('.')) {
            return Value::String(e);
        }
    }
    if p.contains("url") || p.contains("link") {
        if let Some(u) = token_like(prompt, |t| t.starts_with("http://") || t.starts_with("https://")) {
            return Value::String(u);
        }
    }
    Value::String(phrase(prompt))
}

fn fill_number(obj: &Map<String, Value>, property: &str, prompt: &str, integer: bool) -> Value {
    let p = property.to_lowercase();
    let default = if ["limit", "max", "count", "top", "size", "num"].iter().any(|k| p.contains(k)) { 10.0 } else { 1.0 };
    let mut n = first_number(prompt).or_else(|| obj.get("default").and_then(Value::as_f64)).or_else(|| obj.get("minimum").and_then(Value::as_f64)).unwrap_or(default);
    if let Some(min) = obj.get("minimum").and_then(Value::as_f64) {
        n = n.max(min);
    }
    if let Some(max) = obj.get("maximum").and_then(Value::as_f64) {
        n = n.min(max);
    }
    if integer || n.fract() == 0.0 {
        // Truncation is the intent: "$49.99" fills an integer as 49.
        let i = n as i64;
        Value::from(i)
    } else {
        serde_json::Number::from_f64(n).map(Value::Number).unwrap_or(Value::from(0))
    }
}

/// The answer to a turn of tool results: what each tool returned, quoted.
fn summarise_results(request: &MessageRequest, content: &TextOrBlocks) -> String {
    let names: Vec<(String, String)> = request
        .messages
        .iter()
        .flat_map(|m| m.content.blocks())
        .filter_map(|b| match b {
            ContentBlock::ToolUse(t) => Some((t.id.clone(), t.name.clone())),
            _ => None,
        })
        .collect();
    let mut parts = Vec::new();
    for block in content.blocks() {
        let ContentBlock::ToolResult(r) = block else { continue };
        let name = names.iter().rev().find(|(id, _)| *id == r.tool_use_id).map(|(_, n)| n.as_str()).unwrap_or("the tool");
        let text = r.content.as_ref().map(result_text).unwrap_or_default();
        let text = text.trim();
        parts.push(if r.is_error == Some(true) {
            format!("{name} reported an error: {}", clip(text, QUOTE_CHARS))
        } else if text.is_empty() {
            format!("{name} returned nothing.")
        } else {
            format!("Here is what {name} returned: {}", clip(text, QUOTE_CHARS))
        });
    }
    parts.join("\n")
}

fn result_text(content: &TextOrBlocks) -> String {
    match content {
        TextOrBlocks::Text(s) => s.clone(),
        TextOrBlocks::Blocks(blocks) => blocks
            .iter()
            .map(|b| match b {
                ContentBlock::Text(t) => t.text.clone(),
                other => format!("[{}]", other.type_tag()),
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// At most `max` characters of `s`, with an ellipsis when cut.
fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((end, _)) => format!("{}…", s.get(..end).unwrap_or(s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(v: Value) -> MessageRequest {
        serde_json::from_value(v).unwrap()
    }

    fn search_tool() -> Value {
        json!({"name": "search_database", "description": "Query the product inventory database.",
               "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}})
    }

    #[test]
    fn the_seed_demo_calls_search_database_with_the_phrase() {
        let r = request(json!({"model": "m", "max_tokens": 100, "tools": [search_tool()],
            "messages": [{"role": "user", "content": "Find products under $50"}]}));
        let out = respond(&r, 7);
        let ContentBlock::ToolUse(t) = &out[1] else { panic!("no tool call: {out:?}") };
        assert_eq!(t.name, "search_database");
        assert_eq!(t.input, json!({"query": "products under $50"}));
        assert_eq!(t.id, "toolu_sim_000007_0");
    }

    #[test]
    fn the_best_matching_tool_wins() {
        let weather = json!({"name": "get_weather", "description": "Current weather for a city.",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
              "days": {"type": "integer", "minimum": 1, "maximum": 7}, "alerts": {"type": "boolean"},
              "where": {"type": "object", "properties": {"lat": {"type": "number"}}, "required": ["lat"]}},
              "required": ["city", "unit", "days", "alerts", "where"]}});
        let r = request(json!({"model": "m", "max_tokens": 100, "tools": [search_tool(), weather],
            "messages": [{"role": "user", "content": "What is the weather in Paris for 3 days?"}]}));
        let out = respond(&r, 1);
        let ContentBlock::ToolUse(t) = &out[1] else { panic!("no tool call") };
        assert_eq!(t.name, "get_weather");
        assert_eq!(t.input, json!({"city": "weather in Paris for 3 days", "unit": "celsius", "days": 3, "alerts": true, "where": {"lat": 3}}));
    }

    #[test]
    fn no_matching_tool_means_a_direct_answer() {
        let r = request(json!({"model": "m", "max_tokens": 100, "tools": [search_tool()],
            "messages": [{"role": "user", "content": "Hello there"}]}));
        let out = respond(&r, 1);
        assert_eq!(out.len(), 1);
        assert!(out[0].as_text().unwrap().contains("simulator"));
        let forced = request(json!({"model": "m", "max_tokens": 100, "tools": [search_tool()], "tool_choice": {"type": "any"},
            "messages": [{"role": "user", "content": "Hello there"}]}));
        assert_eq!(respond(&forced, 1)[1].type_tag(), "tool_use");
        let none = request(json!({"model": "m", "max_tokens": 100, "tools": [search_tool()], "tool_choice": {"type": "none"},
            "messages": [{"role": "user", "content": "Find products"}]}));
        assert_eq!(respond(&none, 1).len(), 1);
    }

    #[test]
    fn tool_results_are_quoted() {
        let r = request(json!({"model": "m", "max_tokens": 100, "tools": [search_tool()], "messages": [
            {"role": "user", "content": "Find products under $50"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "search_database", "input": {"query": "x"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "Desk lamp $35; Mug $12"}]}
        ]}));
        let out = respond(&r, 2);
        assert_eq!(out.len(), 1);
        let text = out[0].as_text().unwrap();
        assert!(text.contains("search_database") && text.contains("Desk lamp $35; Mug $12"), "{text}");
    }

    #[test]
    fn tool_calls_are_capped_per_conversation() {
        let mut messages = vec![json!({"role": "user", "content": "Find products"})];
        for i in 0..MAX_TOOL_CALLS {
            messages.push(json!({"role": "assistant", "content": [{"type": "tool_use", "id": format!("t{i}"), "name": "search_database", "input": {}}]}));
            messages.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": format!("t{i}"), "content": "r"}, {"type": "text", "text": "Find more products"}]}));
        }
        messages.push(json!({"role": "assistant", "content": "ok"}));
        messages.push(json!({"role": "user", "content": "Find products again"}));
        let r = request(json!({"model": "m", "max_tokens": 100, "tools": [search_tool()], "messages": messages}));
        assert_eq!(respond(&r, 9).len(), 1);
    }

    #[test]
    fn phrases() {
        assert_eq!(phrase("Find products under $50"), "products under $50");
        assert_eq!(phrase("Can you please search for red shoes?"), "red shoes");
        assert_eq!(phrase("Find"), "Find");
        assert_eq!(phrase("  \nList all open orders.\nThanks"), "open orders");
        assert_eq!(first_number("under $1,250.50 please"), Some(1250.5));
        assert_eq!(first_number("none"), None);
    }
}
