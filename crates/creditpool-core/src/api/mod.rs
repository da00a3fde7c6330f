//! The Messages API model: typed request and response structs for
//! `POST /v1/messages`, and the events of its SSE stream.
//!
//! Reading is lenient and loses nothing: block, delta, event and stop-reason
//! types from a newer API are kept as raw JSON ([`ContentBlock::Unknown`],
//! [`Delta::Unknown`], [`StreamEvent::Unknown`], [`StopReason::Other`]), and
//! unknown fields of known objects are kept in their `extra` map, so that a
//! message read and written back is the message that was sent. A *known* type
//! with a malformed body is an error, never silently demoted to `Unknown`: the
//! tag is checked first, then the body is parsed strictly.

#[macro_use]
mod open_enum;
mod content;
mod message;
mod request;
mod stream;
mod usage;

pub use content::*;
pub use message::*;
pub use request::*;
pub use stream::*;
pub use usage::*;

/// Unknown fields of a known object, kept verbatim.
pub type Extra = serde_json::Map<String, serde_json::Value>;

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_block_is_kept_verbatim() {
        let raw = json!({"type": "hologram", "frames": [1, 2], "fps": 30});
        let block: ContentBlock = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(block.type_tag(), "hologram");
        assert!(matches!(block, ContentBlock::Unknown(_)));
        assert_eq!(serde_json::to_value(&block).unwrap(), raw);
    }

    #[test]
    fn malformed_known_block_is_an_error_not_unknown() {
        let err = serde_json::from_value::<ContentBlock>(json!({"type": "tool_use", "id": "t1", "input": {}})).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("malformed content block `tool_use`"), "{msg}");
        assert!(msg.contains("name"), "{msg}");
        assert!(serde_json::from_value::<ContentBlock>(json!({"text": "no type"})).is_err());
    }

    #[test]
    fn moved_value_fields_keep_their_value_and_stay_required() {
        let input = json!({"rows": [{"a": 1, "b": [true, null, "x"]}], "n": 1.5});
        for (raw, field) in [
            (json!({"type": "tool_use", "id": "t1", "name": "f", "input": input, "caller": 1}), "input"),
            (json!({"type": "server_tool_use", "id": "s1", "name": "web_search", "input": input}), "input"),
            (json!({"type": "web_search_tool_result", "tool_use_id": "s1", "content": input}), "content"),
            (json!({"type": "document", "source": input, "title": "t"}), "source"),
        ] {
            let block: ContentBlock = serde_json::from_value(raw.clone()).unwrap();
            assert_eq!(serde_json::to_value(&block).unwrap(), raw);
            let text = raw.to_string();
            assert_eq!(serde_json::from_str::<ContentBlock>(&text).unwrap(), block);
            // Without the moved field the block is still malformed, naming it.
            let mut missing = raw.clone();
            missing.as_object_mut().unwrap().remove(field);
            let msg = serde_json::from_value::<ContentBlock>(missing).unwrap_err().to_string();
            assert!(msg.contains(&format!("missing field `{field}`")), "{msg}");
        }
        // A null input is a value like any other.
        let raw = json!({"type": "tool_use", "id": "t1", "name": "f", "input": null});
        let ContentBlock::ToolUse(t) = serde_json::from_value::<ContentBlock>(raw).unwrap() else { panic!("not tool_use") };
        assert_eq!(t.input, serde_json::Value::Null);
        let delta: Delta = serde_json::from_value(json!({"type": "citations_delta", "citation": {"cited_text": "x"}})).unwrap();
        assert_eq!(delta, Delta::Citations(CitationsDelta { citation: json!({"cited_text": "x"}) }));
    }

    #[test]
    fn message_reads_as_the_derived_impl_did() {
        let body = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 1, "output_tokens": 2}, "container": {"id": "c"}, "stop_details": null});
        let m: Message = serde_json::from_str(&body.to_string()).unwrap();
        assert_eq!(serde_json::to_value(&m).unwrap(), body);
        assert_eq!(serde_json::from_value::<Message>(body.clone()).unwrap(), m);
        // `type` defaults; stop_reason and stop_sequence may be missing.
        let mut short = body.clone();
        for k in ["type", "stop_reason", "stop_sequence"] {
            short.as_object_mut().unwrap().remove(k);
        }
        let m: Message = serde_json::from_value(short).unwrap();
        assert_eq!((m.kind.as_str(), m.stop_reason, m.stop_sequence), ("message", None, None));
        // Every other field is required, by name.
        for k in ["id", "role", "model", "content", "usage"] {
            let mut v = body.clone();
            v.as_object_mut().unwrap().remove(k);
            let msg = serde_json::from_value::<Message>(v).unwrap_err().to_string();
            assert!(msg.contains(&format!("missing field `{k}`")), "{msg}");
        }
        let msg = serde_json::from_str::<Message>(r#"{"id": "a", "id": "b"}"#).unwrap_err().to_string();
        assert!(msg.contains("duplicate field `id`"), "{msg}");
        let msg = serde_json::from_str::<Message>(r#"{"id": 5}"#).unwrap_err().to_string();
        assert!(msg.contains("invalid type: integer `5`, expected a string"), "{msg}");
        let msg = serde_json::from_str::<Message>(r#"["msg_1"]"#).unwrap_err().to_string();
        assert!(msg.contains("expected struct Message"), "{msg}");
        // A message inside a message_start event reads the same.
        let event = json!({"type": "message_start", "message": body});
        let StreamEvent::MessageStart(e) = serde_json::from_value::<StreamEvent>(event).unwrap() else { panic!("not message_start") };
        assert_eq!(serde_json::to_value(&e.message).unwrap(), body);
    }

    #[test]
    fn extra_fields_round_trip() {
        let raw = json!({"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}, "caller": {"type": "direct"}});
        let block: ContentBlock = serde_json::from_value(raw.clone()).unwrap();
        let ContentBlock::ToolUse(t) = &block else { panic!("not tool_use") };
        assert_eq!(t.extra["caller"], json!({"type": "direct"}));
        assert_eq!(serde_json::to_value(&block).unwrap(), raw);
    }

    #[test]
    fn tools_split_into_custom_and_server() {
        let tools: Vec<ToolSpec> = serde_json::from_value(json!([
            {"name": "search_database", "description": "Query.", "input_schema": {"type": "object"}},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
        ]))
        .unwrap();
        assert!(matches!(&tools[0], ToolSpec::Custom(t) if t.name == "search_database"));
        assert!(matches!(&tools[1], ToolSpec::Server(t) if t.tool_type == "web_search_20250305" && t.extra["max_uses"] == 3));
    }

    #[test]
    fn stop_reason_is_open() {
        let r: StopReason = serde_json::from_value(json!("pause_turn")).unwrap();
        assert_eq!(r, StopReason::PauseTurn);
        let r: StopReason = serde_json::from_value(json!("teleported")).unwrap();
        assert_eq!(r, StopReason::Other("teleported".into()));
        assert_eq!(serde_json::to_value(&r).unwrap(), json!("teleported"));
    }

    #[test]
    fn request_round_trips_every_parameter() {
        let raw = json!({
            "model": "claude-sonnet-4-5", "max_tokens": 1024,
            "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "Look"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
                    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "doc"}, "title": "T"}
                ]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "xyz"},
                    {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}
                ]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "42", "is_error": false}]}
            ],
            "tools": [{"name": "f", "description": "d", "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
            "temperature": 0.5, "top_p": 0.9, "top_k": 40, "stop_sequences": ["END"],
            "metadata": {"user_id": "u1"}, "thinking": {"type": "enabled", "budget_tokens": 2048},
            "service_tier": "auto", "inference_geo": "us", "future_param": {"x": 1}
        });
        let req: MessageRequest = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(req.tool_choice, Some(ToolChoice::Any(ToolChoiceOptions { disable_parallel_tool_use: true, extra: Extra::new() })));
        assert_eq!(req.extra["future_param"], json!({"x": 1}));
        assert_eq!(serde_json::to_value(&req).unwrap(), raw);
    }
}
