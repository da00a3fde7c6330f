//! `MessageStream`: arbitrary SSE bytes, fed in arbitrary chunks, drained after
//! every feed, then `end_of_input` and `finish`.
//!
//! Input: `[cap, split, stream...]`, as for `sse_decoder`.
//!
//! Checks, besides "never panics":
//! * an error from `next_event` is final: it comes back from every later
//!   `next_event` and from `finish`;
//! * the events and the result do not depend on the chunking;
//! * a finished message reads back, as JSON, through the non-streaming
//!   `response::parse_message` to the same message.
#![no_main]

use creditpool_core::http::Headers;
use creditpool_core::response::{parse_message, ResponseLimits};
use creditpool_core::sse::decoder::{SseError, SseLimits, DEFAULT_MAX_EVENT_BYTES};
use creditpool_core::api::StreamEvent;
use creditpool_core::sse::{MessageStream, StreamError};
use creditpool_fuzz::{cap_from_byte, json_eq, split, Input};
use libfuzzer_sys::fuzz_target;

/// Events seen, the first error, and what `finish` gave.
struct Run {
    events: Vec<StreamEvent>,
    error: Option<StreamError>,
    finish: Result<creditpool_core::sse::Finished, StreamError>,
}

/// The error without the chunking-dependent `size` of an oversized event.
fn normalize(e: &StreamError) -> StreamError {
    match e {
        StreamError::Decode(SseError::EventTooLarge { limit, .. }) => StreamError::Decode(SseError::EventTooLarge { size: 0, limit: *limit }),
        other => other.clone(),
    }
}

fn drain(stream: &mut MessageStream, events: &mut Vec<StreamEvent>, error: &mut Option<StreamError>) {
    if let Some(e) = error {
        assert_eq!(stream.next_event().as_ref().err(), Some(&*e), "an error from next_event was not final");
        return;
    }
    for _ in 0..1_000_000 {
        match stream.next_event() {
            Ok(Some(ev)) => {
                let _ = ev.type_tag();
                events.push(ev);
            }
            Ok(None) => return,
            Err(e) => {
                assert_eq!(stream.next_event().as_ref().err(), Some(&e), "an error from next_event was not final");
                *error = Some(e);
                return;
            }
        }
    }
    panic!("next_event never returned Ok(None)");
}

fn run(cap: usize, chunks: &[&[u8]]) -> Run {
    let mut stream = MessageStream::with_limits(SseLimits::default().with_max_event_bytes(cap));
    let (mut events, mut error) = (Vec::new(), None);
    for c in chunks {
        stream.feed(c);
        drain(&mut stream, &mut events, &mut error);
    }
    stream.end_of_input();
    drain(&mut stream, &mut events, &mut error);
    // Partial tool inputs of every block, as a binding may ask for them.
    if let Some(n) = stream.message().map(|m| m.content.len()) {
        for i in 0..n {
            let _ = stream.accumulator().partial_tool_input(i);
        }
    }
    let finish = stream.finish();
    if let Some(e) = &error {
        assert_eq!(finish.as_ref().err(), Some(e), "finish did not repeat the stream's error");
    }
    Run { events, error, finish }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let cap = cap_from_byte(input.u8(), DEFAULT_MAX_EVENT_BYTES);
    let how = input.u8();
    let bytes = input.rest();

    let chunked = run(cap, &split(bytes, how));
    if how != 0 {
        let whole = run(cap, &[bytes]);
        assert_eq!(chunked.events, whole.events, "events depend on the chunking");
        assert_eq!(chunked.error.as_ref().map(normalize), whole.error.as_ref().map(normalize), "the stream's error depends on the chunking");
        match (&chunked.finish, &whole.finish) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "the final message depends on the chunking"),
            (Err(a), Err(b)) => assert_eq!(normalize(a), normalize(b), "the final error depends on the chunking"),
            (a, b) => panic!("finish depends on the chunking: {a:?} / {b:?}"),
        }
    }

    if let Ok(finished) = &chunked.finish {
        let _ = finished.message.text();
        let body = serde_json::to_vec(&finished.message).expect("a message serializes");
        match parse_message(200, &Headers::new(), &body, &ResponseLimits::default()) {
            Ok(back) => {
                let (a, b) = (serde_json::to_value(&finished.message).unwrap(), serde_json::to_value(&back).unwrap());
                assert!(json_eq(&a, &b), "a streamed message changes when read back: {a} / {b}");
            }
            Err(e) => panic!("a streamed message does not read back through parse_message: {e}\n{}", String::from_utf8_lossy(&body)),
        }
    }
});
