//! A message stream: SSE bytes in, [`StreamEvent`]s and the final [`Message`] out.
//!
//! ```
//! use creditpool_core::sse::MessageStream;
//!
//! let mut stream = MessageStream::new();
//! stream.feed(b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n");
//! stream.feed(b"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
//! stream.feed(b"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi!\"}}\n\n");
//! stream.feed(b"data: {\"type\":\"content_block_stop\",\"index\":0}\n\n");
//! stream.feed(b"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":3}}\n\n");
//! stream.feed(b"data: {\"type\":\"message_stop\"}\n\n");
//! stream.end_of_input();
//! let mut types = Vec::new();
//! while let Some(event) = stream.next_event()? {
//!     types.push(event.type_tag().to_owned());
//! }
//! assert_eq!(types.len(), 6);
//! let finished = stream.finish()?;
//! assert_eq!(finished.message.text(), "Hi!");
//! assert_eq!(finished.message.usage.output_tokens, 3);
//! # Ok::<(), creditpool_core::sse::StreamError>(())
//! ```

use super::accumulator::{Finished, MessageAccumulator, StreamError};
use super::decoder::{SseDecoder, SseEvent, SseLimits};
use crate::api::{Message, StreamEvent};

/// Decodes and accumulates one streamed response. Feed bytes as they arrive,
/// pull events until `Ok(None)`, call [`MessageStream::end_of_input`] when the
/// body ends, pull the rest, then [`MessageStream::finish`].
///
/// A body that ends without the blank line after its last event (some
/// recordings do) still dispatches that event if its data is a complete JSON
/// event; a stream cut anywhere else ends in [`StreamError::Incomplete`], which
/// keeps the message so far.
///
/// A failure moves the message so far out of the accumulator into the error,
/// never copies it: the error the stream keeps (and returns again, and shows
/// as [`message`](Self::message)) shares that one message with the error it
/// returned (see [`StreamError`]).
#[derive(Debug, Clone)]
pub struct MessageStream {
    decoder: SseDecoder,
    acc: MessageAccumulator,
    ended: bool,
    failed: Option<StreamError>,
}

impl Default for MessageStream {
    fn default() -> MessageStream {
        MessageStream::new()
    }
}

impl MessageStream {
    /// A stream with the default limits (32 MiB per event).
    pub fn new() -> MessageStream {
        MessageStream::with_limits(SseLimits::default())
    }

    /// A stream with the given limits.
    pub fn with_limits(limits: SseLimits) -> MessageStream {
        MessageStream { decoder: SseDecoder::new(limits), acc: MessageAccumulator::new(), ended: false, failed: None }
    }

    /// This stream, told that its body will bring at most `max_stream_bytes`
    /// bytes in all (the caller stops it past that, as a
    /// [`crate::call::MessagesCall`] does at
    /// [`crate::call::CallOptions::max_stream_bytes`]): a text that grows past
    /// 1 MiB then gets room for the rest of the stream at once instead of
    /// being moved by doubling (see
    /// [`MessageAccumulator::with_max_stream_bytes`]).
    pub fn with_max_stream_bytes(mut self, max_stream_bytes: usize) -> MessageStream {
        self.acc = std::mem::take(&mut self.acc).with_max_stream_bytes(max_stream_bytes);
        self
    }

    /// Hands over the next bytes of the body.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.decoder.feed(bytes);
    }

    /// Marks the end of the body.
    pub fn end_of_input(&mut self) {
        self.ended = true;
    }

    /// The message so far, once `message_start` has arrived (after a
    /// failure, the one the failure holds).
    pub fn message(&self) -> Option<&Message> {
        self.acc.message().or_else(|| self.failed.as_ref().and_then(StreamError::partial))
    }

    /// The accumulator, for partial tool inputs and the like.
    pub fn accumulator(&self) -> &MessageAccumulator {
        &self.acc
    }

    /// The next event, already applied to the message; `Ok(None)` when more
    /// bytes are needed (or, after [`end_of_input`](Self::end_of_input), when
    /// the stream is drained). An error is final: the same error comes back
    /// from [`finish`](Self::finish) (sharing its partial message, not a copy).
    #[must_use = "events must be pulled until Ok(None)"]
    pub fn next_event(&mut self) -> Result<Option<StreamEvent>, StreamError> {
        if let Some(e) = &self.failed {
            // Cheap: the partial message is shared, not copied.
            return Err(e.clone());
        }
        let sse = if self.ended { self.finish_decoder() } else { self.decoder.next_event().map_err(StreamError::from) };
        let sse = match sse {
            Ok(Some(sse)) => sse,
            Ok(None) => return Ok(None),
            Err(e) => return Err(self.fail(e)),
        };
        let parsed = parse_event(&sse);
        self.decoder.recycle(sse);
        match parsed {
            // An `error` event becomes the stream's error, with the message
            // so far moved into it (see MessageAccumulator::handle_event).
            Ok(event) => match self.acc.handle_event(&event) {
                Ok(()) => Ok(Some(event)),
                Err(e) => Err(self.fail(e)),
            },
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The final message, once the stream is drained. Without `message_stop`,
    /// [`StreamError::Incomplete`] with the message so far.
    pub fn finish(mut self) -> Result<Finished, StreamError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        // Drain whatever is left, so that finish() alone is enough.
        self.ended = true;
        while self.next_event()?.is_some() {}
        self.acc.finish()
    }

    /// Ends the stream where it is, without reading what the decoder still
    /// holds (at most an incomplete event: every complete one has been pulled
    /// by [`next_event`](Self::next_event)): like [`finish`](Self::finish),
    /// but the message so far is moved into the result, never copied. For a
    /// stream stopped by its size cap, whose message may be as large as the
    /// cap.
    pub fn cut(mut self) -> Result<Finished, StreamError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        self.acc.finish()
    }

    /// The message so far, moved out of a stream that is abandoned part-way
    /// (a timeout, a lost connection): as [`message`](Self::message) shows
    /// it, uncopied. After a failure, the message the failure holds.
    pub fn into_message(mut self) -> Option<Message> {
        match self.failed.take() {
            Some(mut e) => e.take_partial(),
            None => self.acc.take_message(),
        }
    }

    /// Keeps the failure and returns it: the two share the partial message
    /// (an `Arc`), so the clone costs the error's small fields only.
    fn fail(&mut self, e: StreamError) -> StreamError {
        self.failed = Some(e.clone());
        e
    }

    fn finish_decoder(&mut self) -> Result<Option<SseEvent>, StreamError> {
        // Complete events first; only then look at what the body left open.
        if let Some(ev) = self.decoder.next_event()? {
            return Ok(Some(ev));
        }
        if !self.decoder.ends_mid_event() {
            return self.decoder.finish().map_err(StreamError::from);
        }
        // Try the event that lacks only its closing blank line: end it (in
        // the decoder itself, not a copy: the event may be as large as the
        // event cap) and take it if its data is a complete JSON event.
        self.decoder.feed(b"\n\n");
        if let Ok(Some(ev)) = self.decoder.finish() {
            if serde_json::from_str::<StreamEvent>(&ev.data).is_ok() {
                return Ok(Some(ev));
            }
        }
        Err(StreamError::Incomplete {
            partial: self.acc.take_message().map(std::sync::Arc::new),
            reason: "the body ended in the middle of an event".into(),
        })
    }
}

fn parse_event(sse: &SseEvent) -> Result<StreamEvent, StreamError> {
    if let Some(event) = fast::content_block_delta(&sse.data) {
        return Ok(event);
    }
    serde_json::from_str::<StreamEvent>(&sse.data).map_err(|e| StreamError::Malformed { detail: e.to_string() })
}

/// A fast path for the event that dominates every stream.
///
/// `content_block_delta` events make up nearly all of a stream. The general
/// parser reads each event into a `serde_json::Value` first (to check the tag
/// before parsing strictly, and to keep unknown fields); this path parses the
/// common shapes (a text, input JSON, thinking or signature delta, with no
/// unknown field anywhere) straight into their structs. Anything else (an
/// unknown field, an unknown delta type, a citation, a malformed body) returns
/// `None` and takes the general path, so the result is always the one the
/// general parser gives.
mod fast {
    use crate::api::{ContentBlockDeltaEvent, Delta, Extra, InputJsonDelta, SignatureDelta, StreamEvent, TextDelta, ThinkingDelta};
    use serde::Deserialize;
    use std::borrow::Cow;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Event<'a> {
        #[serde(rename = "type", borrow)]
        kind: Cow<'a, str>,
        index: usize,
        #[serde(borrow)]
        delta: Body<'a>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body<'a> {
        #[serde(rename = "type", borrow)]
        kind: Cow<'a, str>,
        text: Option<String>,
        partial_json: Option<String>,
        thinking: Option<String>,
        signature: Option<String>,
    }

    /// The substring search for the tag, built once: `memmem::find` builds its
    /// searcher on every call, which cost more than the search itself on
    /// events of a hundred bytes.
    fn tag_finder() -> &'static memchr::memmem::Finder<'static> {
        static FINDER: std::sync::OnceLock<memchr::memmem::Finder<'static>> = std::sync::OnceLock::new();
        FINDER.get_or_init(|| memchr::memmem::Finder::new(br#""content_block_delta""#))
    }

    pub(super) fn content_block_delta(data: &str) -> Option<StreamEvent> {
        // Cheap test before any parsing: the tag must be there (the API puts
        // it first; anywhere else is found by a substring search).
        if !data.starts_with(r#"{"type":"content_block_delta","#) && tag_finder().find(data.as_bytes()).is_none() {
            return None;
        }
        let e: Event<'_> = serde_json::from_str(data).ok()?;
        if e.kind != "content_block_delta" {
            return None;
        }
        let b = e.delta;
        let delta = match (&*b.kind, b.text, b.partial_json, b.thinking, b.signature) {
            ("text_delta", Some(text), None, None, None) => Delta::Text(TextDelta { text }),
            ("input_json_delta", None, Some(partial_json), None, None) => Delta::InputJson(InputJsonDelta { partial_json }),
            ("thinking_delta", None, None, Some(thinking), None) => Delta::Thinking(ThinkingDelta { thinking }),
            ("signature_delta", None, None, None, Some(signature)) => Delta::Signature(SignatureDelta { signature }),
            _ => return None,
        };
        Some(StreamEvent::ContentBlockDelta(ContentBlockDeltaEvent { index: e.index, delta, extra: Extra::new() }))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn both(data: &str) -> (Option<StreamEvent>, Option<StreamEvent>) {
            (content_block_delta(data), serde_json::from_str::<StreamEvent>(data).ok())
        }

        #[test]
        fn agrees_with_the_general_parser() {
            for data in [
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi \u00e9 \"q\""}}"#,
                r#"{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\"a\": "}}"#,
                r#"{"index":1,"delta":{"thinking":"hmm","type":"thinking_delta"},"type":"content_block_delta"}"#,
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"signature_delta","signature":"c2ln"}}"#,
            ] {
                let (fast, general) = both(data);
                assert!(fast.is_some(), "{data}");
                assert_eq!(fast, general, "{data}");
            }
        }

        #[test]
        fn leaves_everything_else_to_the_general_parser() {
            for data in [
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x","future":1}}"#,
                r#"{"type":"content_block_delta","index":0,"future":1,"delta":{"type":"text_delta","text":"x"}}"#,
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"citations_delta","citation":{"a":1}}}"#,
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"hologram_delta","frames":2}}"#,
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta"}}"#,
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a","partial_json":"b"}}"#,
                r#"{"type":"content_block_delta","index":-1,"delta":{"type":"text_delta","text":"a"}}"#,
                r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":1},"x":"content_block_delta"}"#,
                r#"{"type":"ping"}"#,
            ] {
                assert_eq!(content_block_delta(data), None, "{data}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ContentBlock;

    const START: &str = concat!(
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n",
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"so far\"}}\n\n",
    );

    /// Where the message's text lives: the same address after a failure
    /// means the message was moved, not copied.
    fn text_at(m: &Message) -> *const u8 {
        match m.content.first() {
            Some(ContentBlock::Text(t)) => t.text.as_ptr(),
            other => panic!("no text block: {other:?}"),
        }
    }

    fn started() -> (MessageStream, *const u8) {
        let mut s = MessageStream::new();
        s.feed(START.as_bytes());
        while s.next_event().unwrap().is_some() {}
        let at = text_at(s.message().unwrap());
        (s, at)
    }

    /// Issue 10, item 13: an `error` event moves the message so far into the
    /// error (before, the accumulator and the stream's kept failure each made
    /// a copy, up to the stream cap each); the error `finish` returns again
    /// shares it.
    #[test]
    fn an_error_event_moves_the_message_into_the_error() {
        let (mut s, at) = started();
        s.feed(b"data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n");
        let StreamError::Api { error, partial: Some(first) } = s.next_event().unwrap_err() else { panic!("not an API error") };
        assert_eq!(error.message, "Overloaded");
        assert_eq!((first.text(), text_at(&first)), ("so far".to_owned(), at));
        assert_eq!(s.message().map(text_at), Some(at), "the stream shows the failure's message, no copy");
        let Err(StreamError::Api { partial: Some(again), .. }) = s.finish() else { panic!("not the same error") };
        assert!(std::sync::Arc::ptr_eq(&first, &again), "the error returned again shares the message");
    }

    /// A body cut in the middle of an event: the message so far moves into
    /// `Incomplete` (before: copied, and the decoder, with the event it held,
    /// copied as a probe); an event that lacks only its closing blank line is
    /// still taken.
    #[test]
    fn a_body_cut_mid_event_moves_the_message_into_the_error() {
        let (mut s, at) = started();
        s.feed(b"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"te");
        s.end_of_input();
        let Err(mut e @ StreamError::Incomplete { .. }) = s.next_event() else { panic!("not incomplete") };
        assert_eq!(e.to_string(), "stream ended before message_stop (the body ended in the middle of an event)");
        // The stream keeps its failure, sharing the message; once it is gone
        // the message moves out of the error.
        drop(s);
        let partial = e.take_partial().unwrap();
        assert_eq!((partial.text(), text_at(&partial)), ("so far".to_owned(), at));

        let (mut s, _) = started();
        s.feed(b"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"!\"}}\n");
        s.end_of_input();
        assert!(matches!(s.next_event(), Ok(Some(StreamEvent::ContentBlockDelta(_)))));
        assert!(s.next_event().unwrap().is_none());
        assert_eq!(s.message().unwrap().text(), "so far!");
    }

    /// A stream abandoned part-way hands its message over uncopied.
    #[test]
    fn into_message_moves_the_message() {
        let (s, at) = started();
        let m = s.into_message().unwrap();
        assert_eq!(text_at(&m), at);
    }
}
