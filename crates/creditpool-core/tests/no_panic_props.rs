//! Malformed input of every kind yields a typed error, never a panic: random
//! bytes and mutated real streams through every parser that reads peer data.

use creditpool_core::api::{ContentBlock, Message, MessageRequest, StreamEvent};
use creditpool_core::http::Headers;
use creditpool_core::partial_json::parse_partial;
use creditpool_core::response::{parse_count_tokens, parse_message, ResponseLimits};
use creditpool_core::sse::MessageStream;
use proptest::prelude::*;

const STREAM: &str = concat!(
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n",
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi \\u00e9\"}}\n\n",
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}}\n\n",
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\": [1, {\\\"b\\\": \\\"c\"}}\n\n",
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"}]}\"}}\n\n",
    "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":9}}\n\n",
    "data: {\"type\":\"message_stop\"}\n\n",
);

fn drain(stream: &mut MessageStream) {
    for _ in 0..10_000 {
        match stream.next_event() {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
}

fn run_stream(chunks: &[Vec<u8>]) {
    let mut stream = MessageStream::new();
    for c in chunks {
        stream.feed(c);
        drain(&mut stream);
    }
    stream.end_of_input();
    drain(&mut stream);
    let _ = stream.finish();
}

/// A real stream with some bytes replaced, dropped or duplicated.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec((0..STREAM.len(), any::<u8>(), 0u8..3), 0..8).prop_map(|edits| {
        let mut b = STREAM.as_bytes().to_vec();
        for (pos, byte, op) in edits {
            let pos = pos.min(b.len().saturating_sub(1));
            match op {
                0 => b[pos] = byte,
                1 => {
                    b.remove(pos);
                }
                _ => b.insert(pos, byte),
            }
        }
        b
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn streams_of_random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600), cut in 0usize..600) {
        let cut = cut.min(bytes.len());
        run_stream(&[bytes[..cut].to_vec(), bytes[cut..].to_vec()]);
    }

    #[test]
    fn mutated_streams_never_panic(bytes in mutated(), cut in 0usize..2000) {
        let cut = cut.min(bytes.len());
        run_stream(&[bytes[..cut].to_vec(), bytes[cut..].to_vec()]);
    }

    #[test]
    fn response_bodies_never_panic(status in 100u16..600, body in prop::collection::vec(any::<u8>(), 0..300)) {
        let limits = ResponseLimits::default();
        let _ = parse_message(status, &Headers::new(), &body, &limits);
        let _ = parse_count_tokens(status, &Headers::new(), &body, &limits);
    }

    #[test]
    fn random_json_text_never_panics(text in "[\\[\\]{}\":,a-z0-9 .\\-\\\\]{0,200}") {
        let _ = parse_partial(&text);
        let _ = serde_json::from_str::<StreamEvent>(&text);
        let _ = serde_json::from_str::<Message>(&text);
        let _ = serde_json::from_str::<MessageRequest>(&text);
        let _ = serde_json::from_str::<ContentBlock>(&text);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = "[".repeat(200_000);
    assert!(parse_partial(&deep).is_err());
    let body = format!("{{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":{deep}}}}}");
    let mut s = MessageStream::new();
    s.feed(format!("data: {body}\n\n").as_bytes());
    assert!(s.next_event().is_err());
    assert!(parse_message(200, &Headers::new(), deep.as_bytes(), &ResponseLimits::default()).is_err());
}
