//! The SSE writer: a [`Reply`] as the events of a streamed response, in the
//! real API's grammar.
//!
//! `message_start` (empty content, input usage), then per block
//! `content_block_start`, its deltas and `content_block_stop` (a `ping` follows
//! the first block start), then `message_delta` with the stop reason and the
//! cumulative usage, then `message_stop`. Text is split into several
//! `text_delta`s; tool input JSON into several `input_json_delta`s, the first
//! one empty, as the API sends them. Every event is written as
//! `event: NAME\ndata: JSON\n\n`.

use crate::reply::Reply;
use bytes::Bytes;
use creditpool_core::api::{
    ContentBlock, ContentBlockDeltaEvent, ContentBlockStartEvent, ContentBlockStopEvent, Delta, EmptyEvent, Extra, InputJsonDelta, Message, MessageDeltaBody,
    MessageDeltaEvent, MessageStartEvent, SignatureDelta, StreamEvent, TextDelta, ThinkingDelta, Usage,
};
use serde_json::{json, Value};

/// Bytes per text piece, roughly (pieces end after a word).
const TEXT_PIECE: usize = 12;
/// Bytes per tool-input JSON piece.
const JSON_PIECE: usize = 16;

/// One encoded event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The event's bytes: `event: NAME\ndata: JSON\n\n`.
    pub bytes: Bytes,
    /// Whether it is a `content_block_delta`.
    pub is_delta: bool,
    /// Whether it is `message_delta` (a mid-stream error goes before it at the latest).
    pub is_message_delta: bool,
}

/// Encodes one event.
pub fn encode(event: &StreamEvent) -> Bytes {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "{}".to_owned());
    Bytes::from(format!("event: {}\ndata: {data}\n\n", event.type_tag()))
}

/// An `error` event, as the API sends one after HTTP 200.
pub fn error_event(kind: &str, message: &str, request_id: &str) -> Bytes {
    let data = json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id});
    Bytes::from(format!("event: error\ndata: {data}\n\n"))
}

/// The events of a reply, in order.
pub fn events(reply: &Reply) -> Vec<Event> {
    let m = &reply.message;
    let mut out = Vec::new();
    let mut push = |e: StreamEvent| {
        out.push(Event {
            is_delta: matches!(e, StreamEvent::ContentBlockDelta(_)),
            is_message_delta: matches!(e, StreamEvent::MessageDelta(_)),
            bytes: encode(&e),
        })
    };
    let start_usage = Usage { output_tokens: m.usage.output_tokens.min(1), ..m.usage.clone() };
    push(StreamEvent::MessageStart(MessageStartEvent {
        message: Message { content: Vec::new(), stop_reason: None, stop_sequence: None, usage: start_usage, extra: Extra::new(), ..m.clone() },
        extra: Extra::new(),
    }));
    if m.content.is_empty() {
        push(StreamEvent::Ping(EmptyEvent::default()));
    }
    for (index, block) in m.content.iter().enumerate() {
        let (start, deltas) = split_block(block, reply.cut_tool_input.as_ref().filter(|c| c.index == index).map(|c| c.partial_json.as_str()));
        push(StreamEvent::ContentBlockStart(ContentBlockStartEvent { index, content_block: start, extra: Extra::new() }));
        if index == 0 {
            push(StreamEvent::Ping(EmptyEvent::default()));
        }
        for delta in deltas {
            push(StreamEvent::ContentBlockDelta(ContentBlockDeltaEvent { index, delta, extra: Extra::new() }));
        }
        push(StreamEvent::ContentBlockStop(ContentBlockStopEvent { index, extra: Extra::new() }));
    }
    let mut delta_body = MessageDeltaBody { stop_reason: m.stop_reason.clone(), stop_sequence: m.stop_sequence.clone(), extra: Extra::new() };
    delta_body.extra.extend(m.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    push(StreamEvent::MessageDelta(MessageDeltaEvent { delta: delta_body, usage: cumulative_usage(&m.usage), extra: Extra::new() }));
    push(StreamEvent::MessageStop(EmptyEvent::default()));
    out
}

/// The usage of `message_delta`: cumulative figures, never increments.
fn cumulative_usage(usage: &Usage) -> Extra {
    let mut map = Extra::new();
    map.insert("input_tokens".into(), Value::from(usage.input_tokens));
    map.insert("cache_creation_input_tokens".into(), Value::from(usage.cache_creation_input_tokens.unwrap_or(0)));
    map.insert("cache_read_input_tokens".into(), Value::from(usage.cache_read_input_tokens.unwrap_or(0)));
    map.insert("output_tokens".into(), Value::from(usage.output_tokens));
    if let Some(s) = &usage.server_tool_use {
        if let Ok(v) = serde_json::to_value(s) {
            map.insert("server_tool_use".into(), v);
        }
    }
    map
}

/// A block's `content_block_start` value and its deltas. `cut_json` replaces a
/// tool call's input JSON (cut by `max_tokens`).
fn split_block(block: &ContentBlock, cut_json: Option<&str>) -> (ContentBlock, Vec<Delta>) {
    match block {
        ContentBlock::Text(t) => {
            let mut start = t.clone();
            start.text = String::new();
            let mut deltas: Vec<Delta> = Vec::new();
            if let Some(citations) = &t.citations {
                start.citations = Some(Vec::new());
                deltas.extend(citations.iter().map(|c| Delta::Citations(creditpool_core::api::CitationsDelta { citation: c.clone() })));
            }
            deltas.extend(text_pieces(&t.text).into_iter().map(|p| Delta::Text(TextDelta { text: p.to_owned() })));
            (ContentBlock::Text(start), deltas)
        }
        ContentBlock::ToolUse(t) => {
            let json = cut_json.map(str::to_owned).unwrap_or_else(|| serde_json::to_string(&t.input).unwrap_or_default());
            let mut start = t.clone();
            start.input = Value::Object(serde_json::Map::new());
            (ContentBlock::ToolUse(start), json_deltas(&json))
        }
        ContentBlock::ServerToolUse(t) => {
            let json = serde_json::to_string(&t.input).unwrap_or_default();
            let mut start = t.clone();
            start.input = Value::Object(serde_json::Map::new());
            (ContentBlock::ServerToolUse(start), json_deltas(&json))
        }
        ContentBlock::Thinking(t) => {
            let mut start = t.clone();
            start.thinking = String::new();
            start.signature = String::new();
            let mut deltas: Vec<Delta> = text_pieces(&t.thinking).into_iter().map(|p| Delta::Thinking(ThinkingDelta { thinking: p.to_owned() })).collect();
            if !t.signature.is_empty() {
                deltas.push(Delta::Signature(SignatureDelta { signature: t.signature.clone() }));
            }
            (ContentBlock::Thinking(start), deltas)
        }
        other => (other.clone(), Vec::new()),
    }
}

fn json_deltas(json: &str) -> Vec<Delta> {
    let mut deltas = vec![Delta::InputJson(InputJsonDelta { partial_json: String::new() })];
    deltas.extend(pieces(json, JSON_PIECE, false).into_iter().map(|p| Delta::InputJson(InputJsonDelta { partial_json: p.to_owned() })));
    deltas
}

fn text_pieces(text: &str) -> Vec<&str> {
    pieces(text, TEXT_PIECE, true)
}

/// Splits `s` into pieces of about `size` bytes at character boundaries; with
/// `at_words`, a piece runs on to the end of the word it is in.
pub fn pieces(s: &str, size: usize, at_words: bool) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let mut end = size.min(rest.len());
        while end < rest.len() && !rest.is_char_boundary(end) {
            end += 1;
        }
        if at_words {
            while end < rest.len() && !rest.get(end..).is_some_and(|r| r.starts_with(char::is_whitespace)) {
                end += 1;
                while end < rest.len() && !rest.is_char_boundary(end) {
                    end += 1;
                }
            }
        }
        let (piece, tail) = rest.split_at(end);
        out.push(piece);
        rest = tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply;
    use creditpool_core::api::MessageRequest;

    #[test]
    fn pieces_cover_the_text_exactly() {
        for s in ["", "a", "Hello there, general Kenobi!", "ünïcödé ünïcödé ünïcödé", "{\"query\":\"products under $50\"}"] {
            for words in [true, false] {
                let p = pieces(s, 5, words);
                assert_eq!(p.concat(), s);
                assert!(p.iter().all(|x| !x.is_empty()));
            }
        }
        assert!(pieces("one two three four five six seven", 8, true).len() >= 3);
    }

    #[test]
    fn events_follow_the_api_grammar() {
        let r: MessageRequest = serde_json::from_value(json!({"model": "m", "max_tokens": 100,
            "tools": [{"name": "search_database", "description": "Query the product inventory database.", "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}],
            "messages": [{"role": "user", "content": "Find products under $50"}]}))
        .unwrap();
        let reply = reply::build(&r, 1000, None, 1);
        let names: Vec<String> = events(&reply)
            .iter()
            .map(|e| {
                let text = std::str::from_utf8(&e.bytes).unwrap();
                assert!(text.ends_with("\n\n"));
                text.lines().next().unwrap().trim_start_matches("event: ").to_owned()
            })
            .collect();
        assert_eq!(names.first().map(String::as_str), Some("message_start"));
        assert_eq!(names.get(1).map(String::as_str), Some("content_block_start"));
        assert_eq!(names.get(2).map(String::as_str), Some("ping"));
        assert_eq!(&names[names.len() - 2..], ["message_delta", "message_stop"]);
        assert_eq!(names.iter().filter(|n| *n == "content_block_start").count(), 2);
        assert!(names.iter().filter(|n| *n == "content_block_delta").count() >= 5);
    }
}
