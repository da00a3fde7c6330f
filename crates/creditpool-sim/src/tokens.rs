//! The deterministic token estimate, and cutting output to `max_tokens`.
//!
//! A token is counted per 4 bytes of UTF-8 content (rounded up): text is
//! counted as its bytes, other blocks as their JSON. A request with tools adds
//! [`TOOL_OVERHEAD_TOKENS`] (the real API adds a tool-use system prompt of
//! about that size). Two hard rules hold whatever the estimate says, because
//! the credit pool's no-overshoot guarantee relies on them:
//!
//! * reported input tokens never exceed the request body's UTF-8 byte length;
//! * reported output tokens never exceed `max_tokens` (the output is cut to fit).

use creditpool_core::api::{ContentBlock, MessageRequest, TextOrBlocks};

/// Input tokens added when a request defines tools.
pub const TOOL_OVERHEAD_TOKENS: u64 = 346;

/// Bytes per token in the estimate.
pub const BYTES_PER_TOKEN: u64 = 4;

fn tokens_for(bytes: u64) -> u64 {
    bytes.div_ceil(BYTES_PER_TOKEN)
}

fn json_len<T: serde::Serialize>(value: &T) -> u64 {
    serde_json::to_vec(value).map(|v| v.len() as u64).unwrap_or(0)
}

fn text_or_blocks_bytes(content: &TextOrBlocks) -> u64 {
    match content {
        TextOrBlocks::Text(s) => s.len() as u64,
        TextOrBlocks::Blocks(blocks) => blocks.iter().map(block_bytes).sum(),
    }
}

/// The bytes a content block counts for: the text of text-like blocks, the
/// name and input JSON of tool calls, the JSON of anything else.
pub fn block_bytes(block: &ContentBlock) -> u64 {
    match block {
        ContentBlock::Text(t) => t.text.len() as u64,
        ContentBlock::Thinking(t) => t.thinking.len() as u64,
        ContentBlock::ToolUse(t) => t.name.len() as u64 + json_len(&t.input),
        ContentBlock::ServerToolUse(t) => t.name.len() as u64 + json_len(&t.input),
        ContentBlock::ToolResult(r) => r.content.as_ref().map(text_or_blocks_bytes).unwrap_or(0),
        other => json_len(other),
    }
}

/// The estimated input tokens of a request whose body is `body_len` bytes:
/// never more than `body_len`, never less than 1.
pub fn input_tokens(request: &MessageRequest, body_len: usize) -> u64 {
    let mut bytes = request.system.as_ref().map(text_or_blocks_bytes).unwrap_or(0);
    for m in &request.messages {
        bytes += text_or_blocks_bytes(&m.content);
    }
    if !request.tools.is_empty() {
        bytes += json_len(&request.tools);
    }
    let overhead = if request.tools.is_empty() { 0 } else { TOOL_OVERHEAD_TOKENS };
    let estimate = tokens_for(bytes) + overhead;
    estimate.clamp(1, (body_len as u64).max(1))
}

/// The output tokens of a response's content: at least 1.
pub fn output_tokens(content: &[ContentBlock]) -> u64 {
    tokens_for(content.iter().map(block_bytes).sum()).max(1)
}

/// A tool call whose input JSON was cut by `max_tokens`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CutToolInput {
    /// The block's index in the content.
    pub index: usize,
    /// The JSON text that fit: a prefix of the full input's JSON.
    pub partial_json: String,
}

/// Content cut to fit `max_tokens`.
#[derive(Clone, Debug, PartialEq)]
pub struct Truncated {
    /// The content that fits. A cut tool call's `input` holds what can be
    /// recovered from the prefix (as a client's partial-JSON parser would).
    pub content: Vec<ContentBlock>,
    /// Whether anything was cut.
    pub cut: bool,
    /// The bytes the kept output counts for (a cut tool call counts its JSON
    /// prefix), so that `ceil(bytes / 4)` is at most `max_tokens`.
    pub bytes: u64,
    /// The tool call cut mid-input, if any (streams send its JSON prefix).
    pub cut_tool_input: Option<CutToolInput>,
}

/// Cuts `content` so that [`output_tokens`] of the result is at most
/// `max_tokens` (which must be at least 1). Text is cut at a character
/// boundary; a tool call keeps its name and a prefix of its input JSON; a
/// block that cannot be cut (an image, redacted thinking) is dropped whole.
pub fn truncate(content: Vec<ContentBlock>, max_tokens: u32) -> Truncated {
    let budget = u64::from(max_tokens.max(1)) * BYTES_PER_TOKEN;
    let total: u64 = content.iter().map(block_bytes).sum();
    if total <= budget {
        return Truncated { content, cut: false, bytes: total, cut_tool_input: None };
    }
    let mut used = 0u64;
    let mut out = Vec::new();
    let mut cut_tool_input = None;
    for block in content {
        let size = block_bytes(&block);
        if used + size <= budget {
            used += size;
            out.push(block);
            continue;
        }
        let room = (budget - used) as usize;
        match block {
            ContentBlock::Text(mut t) => {
                t.text = prefix(&t.text, room).to_owned();
                used += t.text.len() as u64;
                if !t.text.is_empty() {
                    out.push(ContentBlock::Text(t));
                }
            }
            ContentBlock::Thinking(mut t) => {
                t.thinking = prefix(&t.thinking, room).to_owned();
                used += t.thinking.len() as u64;
                t.signature.clear();
                out.push(ContentBlock::Thinking(t));
            }
            ContentBlock::ToolUse(mut t) if t.name.len() <= room => {
                let json = serde_json::to_string(&t.input).unwrap_or_default();
                let partial = prefix(&json, room - t.name.len()).to_owned();
                used += (t.name.len() + partial.len()) as u64;
                t.input = recover(&partial);
                cut_tool_input = Some(CutToolInput { index: out.len(), partial_json: partial });
                out.push(ContentBlock::ToolUse(t));
            }
            _ => {}
        }
        break;
    }
    Truncated { content: out, cut: true, bytes: used, cut_tool_input }
}

/// What a client's partial-JSON parser recovers from a prefix of an object's
/// JSON: an object, possibly empty.
fn recover(partial: &str) -> serde_json::Value {
    match creditpool_core::partial_json::parse_partial(partial) {
        Ok(p) if p.value.is_object() => p.value,
        _ => serde_json::Value::Object(serde_json::Map::new()),
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends at a character boundary.
pub fn prefix(s: &str, max: usize) -> &str {
    if max >= s.len() {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(v: serde_json::Value) -> MessageRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn estimate_counts_four_bytes_per_token_plus_tool_overhead() {
        let r = request(json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "abcdefgh!"}]}));
        assert_eq!(input_tokens(&r, 1000), 3);
        let with_tools = request(json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "abcd"}],
            "tools": [{"name": "f", "input_schema": {"type": "object"}}]}));
        let tools_json = serde_json::to_vec(&with_tools.tools).unwrap().len() as u64;
        assert_eq!(input_tokens(&with_tools, 100_000), 1 + tools_json.div_ceil(4) + TOOL_OVERHEAD_TOKENS);
    }

    #[test]
    fn input_never_exceeds_body_bytes() {
        let r = request(json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "x"}],
            "tools": [{"name": "f", "input_schema": {"type": "object"}}]}));
        assert_eq!(input_tokens(&r, 120), 120);
    }

    #[test]
    fn truncation_fits_max_tokens_and_cuts_tool_json() {
        let content = vec![
            ContentBlock::text("I will search."),
            serde_json::from_value(json!({"type": "tool_use", "id": "t", "name": "search", "input": {"query": "a long query string here", "limit": 10}})).unwrap(),
        ];
        let t = truncate(content.clone(), 6);
        assert!(t.cut);
        assert!(t.bytes <= 24, "{}", t.bytes);
        let cut = t.cut_tool_input.unwrap();
        assert_eq!(cut.index, 1);
        assert!(r#"{"limit":10,"query":"a long query string here"}"#.starts_with(&cut.partial_json) || r#"{"query":"a long query string here","limit":10}"#.starts_with(&cut.partial_json));
        assert!(t.content[1].type_tag() == "tool_use");
        let whole = truncate(content, 1000);
        assert!(!whole.cut && whole.content.len() == 2);
    }

    #[test]
    fn prefix_respects_char_boundaries() {
        assert_eq!(prefix("héllo", 2), "h");
        assert_eq!(prefix("héllo", 3), "hé");
        assert_eq!(prefix("abc", 10), "abc");
    }
}
