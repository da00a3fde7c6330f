//! Findings of the fuzz targets in `fuzz/` (docs/FUZZING.md), minimized and
//! kept as tests.

use creditpool_core::http::Headers;
use creditpool_core::pool::{Pool, PoolConfig};
use creditpool_core::response::{parse_message, ResponseLimits};
use creditpool_core::sse::decoder::{SseDecoder, SseError, SseLimits};
use creditpool_core::sse::MessageStream;

/// Decodes `stream` in one feed with the given cap: the data lengths of the
/// events dispatched, and the errors.
fn decode(cap: usize, stream: &[u8]) -> (Vec<usize>, Vec<SseError>) {
    let mut dec = SseDecoder::new(SseLimits::default().with_max_event_bytes(cap));
    dec.feed(stream);
    let (mut sizes, mut errors) = (Vec::new(), Vec::new());
    loop {
        match dec.finish() {
            Ok(Some(ev)) => sizes.push(ev.data.len()),
            Ok(None) => break,
            Err(e) => errors.push(e),
        }
    }
    (sizes, errors)
}

/// Finding 1 (sse_decoder, first minutes of fuzzing): the cap is checked
/// against the raw bytes of a line before the line is decoded, and each
/// invalid UTF-8 byte decodes to U+FFFD, three bytes. So a 15-byte line
/// `data:` + ten 0xFF bytes passes a 16-byte cap and leaves 30 bytes in the
/// data buffer: the event is dispatched with 30 bytes of data although
/// `SseLimits::max_event_bytes` says an event may hold at most 16 at any
/// moment. Memory stays bounded (by three times the cap), so nothing breaks;
/// the documented bound is what is exceeded.
///
/// Fixed: the decoder checks the cap again after decoding a `data` or `event`
/// value.
#[test]
fn invalid_utf8_does_not_stretch_an_event_past_the_cap() {
    let mut stream = b"data:".to_vec();
    stream.extend_from_slice(&[0xFF; 10]);
    stream.extend_from_slice(b"\n\n");
    let (sizes, errors) = decode(16, &stream);
    assert!(sizes.iter().all(|n| *n <= 16), "events of {sizes:?} bytes through a cap of 16 (errors: {errors:?})");
}

/// The same over a sweep of caps and lengths, for `data` and `event` values:
/// whatever the bytes, a dispatched event's data and type fit the cap.
#[test]
fn invalid_utf8_never_stretches_an_event_past_the_cap() {
    for cap in 0..64 {
        for n in 0..=cap {
            for prefix in [&b"data:"[..], b"data: ", b"event:", b"event: "] {
                let mut stream = prefix.to_vec();
                stream.extend(std::iter::repeat_n(0xFF, n));
                stream.extend_from_slice(b"\ndata: x\n\n");
                let mut dec = SseDecoder::new(SseLimits::default().with_max_event_bytes(cap));
                dec.feed(&stream);
                loop {
                    match dec.finish() {
                        Ok(Some(ev)) => {
                            let held = ev.data.len() + ev.event.as_ref().map_or(0, String::len);
                            assert!(held <= cap, "cap {cap}, {:?}: an event holding {held} bytes", String::from_utf8_lossy(&stream));
                        }
                        Ok(None) => break,
                        Err(_) => {}
                    }
                }
            }
        }
    }
}

/// Finding 2 (message_stream, 25 s into the long run; minimized by hand): the
/// accumulator copies every unknown key of a `message_delta`'s `delta` into
/// `message.extra`, including keys named like the message's own fields. After
/// `"delta": {"stop_reason": "end_turn", "model": "evil", "content": []}` the
/// message writes `"model"` and `"content"` twice: its own JSON does not read
/// back through `parse_message` (duplicate field), and every serializer where
/// the last key wins (`serde_json::Value`, the Python and JS bindings' object
/// conversion) shows the peer's `model` and `content` instead of the
/// accumulated ones. Fixed: the accumulator keeps a delta's unknown keys
/// except those named like the message's own fields.
#[test]
fn a_message_delta_cannot_shadow_the_message_fields() {
    let mut stream = MessageStream::new();
    stream.feed(b"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n");
    stream.feed(b"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"Hi\"}}\n\n");
    stream.feed(b"data: {\"type\":\"content_block_stop\",\"index\":0}\n\n");
    stream.feed(b"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"model\":\"evil\",\"content\":[]},\"usage\":{\"output_tokens\":2}}\n\n");
    stream.feed(b"data: {\"type\":\"message_stop\"}\n\n");
    let message = stream.finish().expect("the stream completes").message;
    assert_eq!((message.model.as_str(), message.text().as_str()), ("claude-haiku-4-5", "Hi"));

    // What a last-key-wins reader of the message sees.
    let seen = serde_json::to_value(&message).expect("serializes");
    assert_eq!(seen["model"], "claude-haiku-4-5", "the delta replaced the model: {seen}");
    assert_eq!(seen["content"][0]["text"], "Hi", "the delta replaced the content: {seen}");

    // The message's own JSON reads back to it.
    let json = serde_json::to_vec(&message).expect("serializes");
    let back = parse_message(200, &Headers::new(), &json, &ResponseLimits::default());
    assert_eq!(back.as_ref().ok(), Some(&message), "{back:?}\n{}", String::from_utf8_lossy(&json));
}

/// Finding 3 (snapshot_restore, 5 s into its long run; minimized by hand): a
/// pool told that the time is `u64::MAX` ms moves to the cycle containing it,
/// whose end saturates at `u64::MAX`; `last_now_ms` (`u64::MAX`) is then not
/// inside that cycle, and the pool's own snapshot is refused
/// (`InvalidSnapshot`: "state.last_now_ms is outside state.cycle"). A pool
/// kept in a directory writes its snapshot after every operation, so one
/// absurd time could leave a directory that no longer opens. Fixed: restore
/// accepts a clock at the end of a cycle that ends at the last instant.
#[test]
fn the_last_representable_time_leaves_a_pool_that_restores() {
    let config: PoolConfig = serde_json::from_str(r#"{"limit": 1000, "cycle": {"kind": "fixed", "start_ms": 0, "length_ms": 1000000}}"#).expect("config");
    let mut pool = Pool::new(config, 0).expect("pool");
    let _ = pool.tick(u64::MAX);
    let snapshot = pool.snapshot_json();
    if let Err(e) = Pool::restore_json(&snapshot) {
        panic!("the pool's own snapshot is refused: {e}\n{snapshot}");
    }
}
