//! `SseDecoder` and `MessageStreamParser`: `creditpool_core::sse`, for callers
//! who read a stream's bytes themselves.

use creditpool_core::sse::decoder::{self, SseEvent, SseLimits};
use creditpool_core::sse::{self as core_sse};
use wasm_bindgen::prelude::*;

use crate::convert::{bytes_from_js, object, opt_str, to_js};
use crate::errors;

fn limits(max_event_bytes: Option<f64>) -> Result<SseLimits, JsValue> {
    let mut limits = SseLimits::default();
    if let Some(max) = max_event_bytes {
        if !(max >= 0.0 && max.fract() == 0.0 && max <= 9_007_199_254_740_991.0) {
            return Err(errors::simple("invalid_argument", "maxEventBytes must be a non-negative integer"));
        }
        limits = limits.with_max_event_bytes(usize::try_from(max as u64).unwrap_or(usize::MAX));
    }
    Ok(limits)
}

fn event_js(ev: &SseEvent) -> JsValue {
    object(&[
        ("event", opt_str(ev.event.as_deref())),
        ("data", JsValue::from_str(&ev.data)),
        ("id", opt_str(ev.id.as_deref())),
        ("retry", ev.retry.map_or(JsValue::NULL, |r| JsValue::from_f64(r as f64))),
    ])
}

/// An incremental Server-Sent-Events decoder (WHATWG rules).
#[wasm_bindgen]
pub struct SseDecoder(decoder::SseDecoder);

#[wasm_bindgen]
impl SseDecoder {
    /// A decoder; `maxEventBytes` caps one event (default 32 MiB).
    #[wasm_bindgen(constructor)]
    pub fn new(max_event_bytes: Option<f64>) -> Result<SseDecoder, JsValue> {
        Ok(SseDecoder(decoder::SseDecoder::new(limits(max_event_bytes)?)))
    }

    /// Hands over the next bytes (a `Uint8Array`, or a string as UTF-8).
    pub fn feed(&mut self, bytes: JsValue) -> Result<(), JsValue> {
        let bytes = bytes_from_js(&bytes, "bytes")?;
        self.0.feed(&bytes);
        Ok(())
    }

    /// The next event `{event, data, id, retry}`, or `null` when more bytes
    /// are needed. Throws `event_too_large` for an event over the cap (the
    /// decoder then skips that event and carries on).
    #[wasm_bindgen(js_name = next)]
    pub fn next_event(&mut self) -> Result<JsValue, JsValue> {
        match self.0.next_event() {
            Ok(Some(ev)) => Ok(event_js(&ev)),
            Ok(None) => Ok(JsValue::NULL),
            Err(e) => Err(errors::sse_error(&e)),
        }
    }

    /// After the input ended: the next remaining event, or `null` at a clean
    /// end. Throws `stream_incomplete` when the input stopped inside an event.
    pub fn finish(&mut self) -> Result<JsValue, JsValue> {
        match self.0.finish() {
            Ok(Some(ev)) => Ok(event_js(&ev)),
            Ok(None) => Ok(JsValue::NULL),
            Err(e) => Err(errors::sse_error(&e)),
        }
    }
}

/// Decodes and accumulates one Messages API stream: bytes in, API events and
/// the final message out.
#[wasm_bindgen]
pub struct MessageStreamParser(Option<core_sse::MessageStream>);

#[wasm_bindgen]
impl MessageStreamParser {
    /// A parser; `maxEventBytes` caps one event (default 32 MiB).
    #[wasm_bindgen(constructor)]
    pub fn new(max_event_bytes: Option<f64>) -> Result<MessageStreamParser, JsValue> {
        Ok(MessageStreamParser(Some(core_sse::MessageStream::with_limits(limits(max_event_bytes)?))))
    }

    fn stream(&mut self) -> Result<&mut core_sse::MessageStream, JsValue> {
        self.0.as_mut().ok_or_else(|| errors::simple("invalid_argument", "this parser has finished"))
    }

    /// Hands over the next bytes of the body.
    pub fn feed(&mut self, bytes: JsValue) -> Result<(), JsValue> {
        let bytes = bytes_from_js(&bytes, "bytes")?;
        self.stream()?.feed(&bytes);
        Ok(())
    }

    /// Marks the end of the body.
    #[wasm_bindgen(js_name = endOfInput)]
    pub fn end_of_input(&mut self) -> Result<(), JsValue> {
        self.stream()?.end_of_input();
        Ok(())
    }

    /// The next API event (already applied to the message), or `null` when
    /// more bytes are needed or, after `endOfInput()`, when drained. A failure
    /// is thrown, and thrown again by every later call.
    #[wasm_bindgen(js_name = next)]
    pub fn next_event(&mut self) -> Result<JsValue, JsValue> {
        match self.stream()?.next_event() {
            Ok(Some(ev)) => to_js(&ev),
            Ok(None) => Ok(JsValue::NULL),
            Err(e) => Err(errors::stream_error(&e)),
        }
    }

    /// Pulls every event available now without converting it to JS, for
    /// callers who want only the final message; returns how many there were.
    /// The message accumulates them as `next()` would.
    #[wasm_bindgen(js_name = skipAvailable)]
    pub fn skip_available(&mut self) -> Result<u32, JsValue> {
        let stream = self.stream()?;
        let mut n = 0u32;
        loop {
            match stream.next_event() {
                Ok(Some(_)) => n = n.saturating_add(1),
                Ok(None) => return Ok(n),
                Err(e) => return Err(errors::stream_error(&e)),
            }
        }
    }

    /// The message so far (`null` before `message_start`).
    #[wasm_bindgen(getter)]
    pub fn message(&self) -> Result<JsValue, JsValue> {
        match self.0.as_ref().and_then(|s| s.message()) {
            Some(m) => to_js(m),
            None => Ok(JsValue::NULL),
        }
    }

    /// Ends the stream: `{message, tool_input_issues}`. Throws the stream's
    /// failure: an API error from an `error` event (with `partial`),
    /// `stream_incomplete` (with `partial`), `stream_malformed`,
    /// `stream_protocol` or `event_too_large`. The parser cannot be used
    /// afterwards.
    pub fn finish(&mut self) -> Result<JsValue, JsValue> {
        let stream = self.0.take().ok_or_else(|| errors::simple("invalid_argument", "this parser has finished"))?;
        let finished = stream.finish().map_err(|e| errors::stream_error(&e))?;
        finished_js(&finished)
    }
}

/// `{message, tool_input_issues}`.
pub(crate) fn finished_js(finished: &core_sse::Finished) -> Result<JsValue, JsValue> {
    Ok(object(&[("message", to_js(&finished.message)?), ("tool_input_issues", to_js(&finished.tool_input_issues)?)]))
}
