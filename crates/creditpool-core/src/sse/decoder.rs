//! An incremental Server-Sent-Events decoder, without I/O.
//!
//! Feed it bytes as they arrive with [`SseDecoder::feed`], pull events with
//! [`SseDecoder::next_event`] (`Ok(None)` means "feed me more"), and call
//! [`SseDecoder::finish`] once the input has ended: it hands out what is left
//! and tells a clean end from a stream cut in the middle of an event.
//!
//! ```
//! use creditpool_core::sse::decoder::SseDecoder;
//!
//! let mut dec = SseDecoder::default();
//! dec.feed(b"event: ping\ndata: {\"type\": \"pi");
//! assert_eq!(dec.next_event().unwrap(), None); // need more data
//! dec.feed(b"ng\"}\n\n");
//! let ev = dec.next_event().unwrap().unwrap();
//! assert_eq!(ev.event.as_deref(), Some("ping"));
//! assert_eq!(ev.data, "{\"type\": \"ping\"}");
//! assert_eq!(dec.finish().unwrap(), None); // ended cleanly
//! ```
//!
//! The parsing rules are those of the WHATWG HTML standard's event stream
//! format (section 9.2.6, "Interpreting an event stream"):
//!
//! * Lines end with CRLF, LF or CR. A CR at the end of one chunk followed by an
//!   LF at the start of the next is one line ending, not two.
//! * A UTF-8 byte order mark at the very start of the stream is skipped.
//! * Each complete line is decoded as UTF-8 on its own; invalid sequences become
//!   U+FFFD. Decoding never fails.
//! * A blank line dispatches the event being built. A line starting with `:` is
//!   a comment. Otherwise the field name is everything up to the first `:` (or
//!   the whole line), the value is the rest with one leading space removed.
//! * `data` appends the value and a line feed to the data buffer; the final line
//!   feed is dropped at dispatch. An event whose data buffer is empty is not
//!   dispatched (its event type is reset all the same).
//! * `event` sets the event type (empty means `message`).
//! * `id` sets the last event ID unless the value contains NUL. The last event
//!   ID belongs to the stream: it stays on every later event until changed.
//! * `retry` with a value of ASCII digits only sets the reconnection time.
//! * Any other field is ignored.
//! * At the end of the input a partly built event is discarded, never
//!   dispatched.
//!
//! Memory is bounded: one event may hold at most [`SseLimits::max_event_bytes`]
//! bytes (see there for what counts). An event over the cap yields
//! [`SseError::EventTooLarge`]; the decoder then skips the rest of that event,
//! unread, up to the next blank line, and carries on from there.
//!
//! Work is linear in the input however it is chunked: each byte is examined a
//! bounded number of times, and only a line cut by a chunk boundary is copied
//! into an internal buffer.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// The default cap on one event: 32 MiB, the API's own request size cap.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 32 * 1024 * 1024;

const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// Limits that keep the decoder's memory bounded whatever the peer sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SseLimits {
    /// The most bytes one event may hold at any moment: its data buffer (each
    /// `data` value plus one line feed), its event type, and the raw bytes of
    /// the line being read (terminator excluded). Default
    /// [`DEFAULT_MAX_EVENT_BYTES`].
    pub max_event_bytes: usize,
}

impl Default for SseLimits {
    fn default() -> Self {
        SseLimits { max_event_bytes: DEFAULT_MAX_EVENT_BYTES }
    }
}

impl SseLimits {
    /// These limits with the given cap on one event's size in bytes.
    pub fn with_max_event_bytes(mut self, max_event_bytes: usize) -> Self {
        self.max_event_bytes = max_event_bytes;
        self
    }
}

/// One dispatched Server-Sent Event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SseEvent {
    /// The event type from the `event` field; `None` means the default type
    /// `message` (an absent or empty `event` field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The `data` lines joined with `"\n"`.
    pub data: String,
    /// The stream's last event ID when this event was dispatched: the value of
    /// the most recent valid `id` field on the stream, in this event or an
    /// earlier one (`Some("")` after an empty `id` field), or `None` if the
    /// stream has had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The reconnection time in milliseconds from a valid `retry` field inside
    /// this event, if any (the last one wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<u64>,
}

impl SseEvent {
    /// The event type, with the default applied: `"message"` when no type was
    /// given.
    pub fn event_type(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }
}

/// Errors from [`SseDecoder`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SseError {
    /// One event grew past the size cap; the rest of it is skipped.
    #[error("server-sent event too large: {size} bytes held, limit {limit}")]
    EventTooLarge {
        /// Bytes the event held when it crossed the cap (a lower bound on its
        /// full size).
        size: usize,
        /// The cap, [`SseLimits::max_event_bytes`].
        limit: usize,
    },
    /// The input ended in the middle of an event (after a field line or inside
    /// a line, before the blank line that ends the event); that partial event
    /// was discarded. This is how a cut stream shows.
    #[error("event stream ended in the middle of an event ({discarded_bytes} bytes discarded)")]
    Truncated {
        /// Bytes of the partial event that were discarded: its data buffer,
        /// event type and unterminated line.
        discarded_bytes: usize,
    },
}

/// Where the decoder stands with respect to the optional byte order mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BomState {
    /// This many leading bytes of the stream matched the BOM so far (0 to 2).
    Checking(usize),
    /// The BOM question is settled.
    Done,
}

/// An incremental, sans-I/O Server-Sent-Events decoder (see the
/// [module documentation](self) for the rules it follows).
#[derive(Clone, Debug)]
pub struct SseDecoder {
    limits: SseLimits,
    bom: BomState,
    /// Raw bytes of a line cut by a chunk boundary.
    line: Vec<u8>,
    /// The previous chunk ended with CR: an LF at the start of the next chunk
    /// belongs to that line ending.
    skip_lf: bool,
    /// After [`SseError::EventTooLarge`]: discarding input up to a blank line.
    skipping: bool,
    /// While skipping: the last byte seen ended a line (or nothing seen yet).
    skip_at_line_start: bool,
    data: String,
    event_type: String,
    retry: Option<u64>,
    /// A field line (not a comment) was read since the last blank line.
    in_event: bool,
    last_event_id: Option<String>,
    reconnection_ms: Option<u64>,
    ready: VecDeque<Result<SseEvent, SseError>>,
    finished: bool,
    /// Emptied buffers of events handed back by [`recycle`](Self::recycle),
    /// reused for the next events' data and type instead of allocating.
    spare: Vec<String>,
    /// The capacity `spare` holds, in bytes (bounded by [`SPARE_BYTES`]).
    spare_bytes: usize,
}

/// The most bytes of buffer capacity [`SseDecoder::recycle`] keeps for reuse.
const SPARE_BYTES: usize = 256 * 1024;
/// Buffers larger than this are not kept (an occasional huge event does not
/// pin its memory).
const SPARE_MAX_CAPACITY: usize = 16 * 1024;

impl Default for SseDecoder {
    fn default() -> Self {
        SseDecoder::new(SseLimits::default())
    }
}

impl SseDecoder {
    /// A decoder at the start of a stream.
    pub fn new(limits: SseLimits) -> SseDecoder {
        SseDecoder {
            limits,
            bom: BomState::Checking(0),
            line: Vec::new(),
            skip_lf: false,
            skipping: false,
            skip_at_line_start: false,
            data: String::new(),
            event_type: String::new(),
            retry: None,
            in_event: false,
            last_event_id: None,
            reconnection_ms: None,
            ready: VecDeque::new(),
            finished: false,
            spare: Vec::new(),
            spare_bytes: 0,
        }
    }

    /// The limits this decoder enforces.
    pub fn limits(&self) -> SseLimits {
        self.limits
    }

    /// The stream's last event ID so far (see [`SseEvent::id`]): what a client
    /// would send as `Last-Event-ID` when reconnecting.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// The most recent reconnection time in milliseconds set by a valid `retry`
    /// field anywhere on the stream, dispatched or not.
    pub fn reconnection_time_ms(&self) -> Option<u64> {
        self.reconnection_ms
    }

    /// Hands the decoder the next bytes of the stream. Complete events become
    /// available to [`next_event`](Self::next_event) at once and wait in a
    /// queue until pulled, so pull after every feed. Bytes fed after
    /// [`finish`](Self::finish) are ignored.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.finished {
            return;
        }
        let mut input = bytes;
        if let BomState::Checking(matched) = self.bom {
            let mut m = matched;
            while m < BOM.len() {
                match input.first() {
                    None => {
                        self.bom = BomState::Checking(m);
                        return;
                    }
                    Some(&b) if Some(&b) == BOM.get(m) => {
                        m += 1;
                        input = input.get(1..).unwrap_or_default();
                    }
                    Some(_) => break,
                }
            }
            self.bom = BomState::Done;
            if m < BOM.len() {
                // Not a BOM after all: the bytes that matched are ordinary input.
                self.process(BOM.get(..m).unwrap_or_default());
            }
        }
        self.process(input);
    }

    /// Hands back an event that has been read, so that its buffers hold the
    /// next events' data instead of new allocations. Optional: a caller that
    /// keeps its events never needs it. The memory kept this way is bounded
    /// (256 KiB of capacity, no buffer over 16 KiB).
    pub fn recycle(&mut self, event: SseEvent) {
        let SseEvent { event, data, .. } = event;
        self.keep_spare(data);
        if let Some(buf) = event {
            self.keep_spare(buf);
        }
    }

    /// Keeps an emptied buffer for reuse, within the bounds.
    #[inline]
    fn keep_spare(&mut self, mut buf: String) {
        let cap = buf.capacity();
        if cap == 0 || cap > SPARE_MAX_CAPACITY || self.spare_bytes.saturating_add(cap) > SPARE_BYTES {
            return;
        }
        buf.clear();
        self.spare_bytes += cap;
        self.spare.push(buf);
    }

    /// An empty buffer: a recycled one when there is one.
    fn fresh_buffer(&mut self) -> String {
        match self.spare.pop() {
            Some(buf) => {
                self.spare_bytes = self.spare_bytes.saturating_sub(buf.capacity());
                buf
            }
            None => String::new(),
        }
    }

    /// The next complete event: `Ok(Some(event))`, an error, or `Ok(None)`
    /// when more input is needed. After [`finish`](Self::finish) this behaves
    /// like `finish`.
    #[must_use = "events must be pulled until Ok(None)"]
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, SseError> {
        match self.ready.pop_front() {
            Some(Ok(ev)) => Ok(Some(ev)),
            Some(Err(e)) => Err(e),
            None => Ok(None),
        }
    }

    /// Signals the end of the input and hands out what is left. Call it until
    /// it returns `Ok(None)` (the stream ended at an event boundary) or an
    /// error: events still waiting come first, in order, then
    /// [`SseError::Truncated`] if the input stopped inside an event, which is
    /// discarded as the standard requires. Calling it again is harmless.
    #[must_use = "events must be pulled until Ok(None) or an error"]
    pub fn finish(&mut self) -> Result<Option<SseEvent>, SseError> {
        if !self.finished {
            if let BomState::Checking(m) = self.bom {
                // The stream ended inside what might have been a BOM.
                self.bom = BomState::Done;
                self.process(BOM.get(..m).unwrap_or_default());
            }
            self.finished = true;
            let cut = self.in_event || self.skipping || !self.line.is_empty();
            if cut {
                let discarded_bytes = self.held(self.line.len());
                self.ready.push_back(Err(SseError::Truncated { discarded_bytes }));
            }
            self.reset_event();
            self.line = Vec::new();
            self.skipping = false;
        }
        self.next_event()
    }

    /// Whether [`finish`](Self::finish) would report [`SseError::Truncated`]
    /// now: the input stopped inside an event (or inside what may be a byte
    /// order mark), and no event waits in the queue.
    #[cold]
    pub(crate) fn ends_mid_event(&self) -> bool {
        !self.finished && self.ready.is_empty() && (self.in_event || self.skipping || !self.line.is_empty() || matches!(self.bom, BomState::Checking(m) if m > 0))
    }

    /// Bytes the current event holds, given the length of the line in progress.
    fn held(&self, line_len: usize) -> usize {
        self.data.len().saturating_add(self.event_type.len()).saturating_add(line_len)
    }

    fn reset_event(&mut self) {
        self.data.clear();
        self.event_type.clear();
        self.retry = None;
        self.in_event = false;
    }

    /// Checks the cap with a line of `line_len` bytes in progress; past it,
    /// reports the error and starts skipping. `line_ended` says whether that
    /// line's terminator has already been consumed.
    fn over_limit(&mut self, line_len: usize, line_ended: bool) -> bool {
        let size = self.held(line_len);
        if size > self.limits.max_event_bytes {
            self.ready.push_back(Err(SseError::EventTooLarge { size, limit: self.limits.max_event_bytes }));
            self.reset_event();
            // Give back what the oversized event had grown to.
            self.data = String::new();
            self.event_type = String::new();
            self.line = Vec::new();
            self.skipping = true;
            self.skip_at_line_start = line_ended;
            true
        } else {
            false
        }
    }

    /// Splits `input` into lines and handles each; keeps a trailing partial
    /// line in `self.line`.
    fn process(&mut self, mut input: &[u8]) {
        while !input.is_empty() {
            if self.skip_lf {
                self.skip_lf = false;
                if input.first() == Some(&b'\n') {
                    input = input.get(1..).unwrap_or_default();
                    continue;
                }
            }
            let Some(pos) = memchr::memchr2(b'\n', b'\r', input) else {
                // No line ending: remember the partial line.
                if self.skipping {
                    self.skip_at_line_start = false;
                } else if !self.over_limit(self.line.len().saturating_add(input.len()), false) {
                    self.line.extend_from_slice(input);
                }
                return;
            };
            let (head, rest) = input.split_at(pos);
            let terminator = rest.first().copied();
            input = rest.get(1..).unwrap_or_default();
            if terminator == Some(b'\r') {
                match input.first() {
                    Some(b'\n') => input = input.get(1..).unwrap_or_default(),
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
            if self.skipping {
                if head.is_empty() && self.skip_at_line_start {
                    // The blank line that ends the oversized event.
                    self.skipping = false;
                    self.reset_event();
                } else {
                    self.skip_at_line_start = true;
                }
                continue;
            }
            if self.line.is_empty() {
                self.complete_line(head);
            } else if !self.over_limit(self.line.len().saturating_add(head.len()), true) {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(head);
                self.complete_line(&line);
                line.clear();
                self.line = line;
            }
        }
    }

    /// Handles one complete line (terminator removed).
    fn complete_line(&mut self, line: &[u8]) {
        if line.is_empty() {
            self.dispatch();
            return;
        }
        if self.over_limit(line.len(), true) {
            return;
        }
        if line.first() == Some(&b':') {
            return; // a comment
        }
        self.in_event = true;
        let (name, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let (name, rest) = line.split_at(colon);
                let value = rest.get(1..).unwrap_or_default();
                (name, value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" => {
                // Room for the line and its '\n' at once: `data` starts empty
                // for every event (dispatch hands the buffer over).
                self.data.reserve(value.len().saturating_add(1));
                push_lossy(&mut self.data, value);
                self.data.push('\n');
                // Invalid UTF-8 decodes to U+FFFD, three bytes for one: the
                // cap counts what the event holds after decoding.
                let _ = self.over_limit(0, true);
            }
            b"event" => {
                self.event_type.clear();
                push_lossy(&mut self.event_type, value);
                let _ = self.over_limit(0, true);
            }
            b"id" if !value.contains(&0) => {
                self.last_event_id = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // A value past u64 is ignored.
                if let Some(ms) = std::str::from_utf8(value).ok().and_then(|v| v.parse::<u64>().ok()) {
                    self.retry = Some(ms);
                    self.reconnection_ms = Some(ms);
                }
            }
            _ => {}
        }
    }

    fn dispatch(&mut self) {
        if self.data.is_empty() {
            self.reset_event();
            return;
        }
        let next = self.fresh_buffer();
        let mut data = std::mem::replace(&mut self.data, next);
        if data.ends_with('\n') {
            data.pop();
        }
        let event = if self.event_type.is_empty() {
            None
        } else {
            let next = self.fresh_buffer();
            Some(std::mem::replace(&mut self.event_type, next))
        };
        let ev = SseEvent { event, data, id: self.last_event_id.clone(), retry: self.retry };
        self.reset_event();
        self.ready.push_back(Ok(ev));
    }
}

/// Appends `bytes` as UTF-8, invalid sequences replaced by U+FFFD (as
/// `String::from_utf8_lossy` does). Valid UTF-8, the usual case, is checked
/// with `str::from_utf8`, several times faster than the lossy decoder's
/// chunk iterator, and copied without an intermediate allocation.
fn push_lossy(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => out.push_str(s),
        Err(_) => out.push_str(&String::from_utf8_lossy(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_in_data_and_event_decodes_as_the_lossy_decoder_does() {
        let mut dec = SseDecoder::default();
        dec.feed(b"event: a\xffb\ndata: x\xe2\x82y\ndata: \xf0\x9f\x98\x80 ok\n\n");
        let ev = dec.next_event().unwrap().unwrap();
        assert_eq!(ev.event.as_deref(), Some("a\u{FFFD}b"));
        assert_eq!(ev.data, "x\u{FFFD}y\n\u{1F600} ok");
        assert_eq!(ev.data, format!("{}\n{}", String::from_utf8_lossy(b"x\xe2\x82y"), "\u{1F600} ok"));
    }

    fn decode_all(dec: &mut SseDecoder, chunks: &[&[u8]]) -> (Vec<SseEvent>, Result<(), SseError>) {
        let mut out = Vec::new();
        for c in chunks {
            dec.feed(c);
            loop {
                match dec.next_event() {
                    Ok(Some(ev)) => out.push(ev),
                    Ok(None) => break,
                    Err(e) => return (out, Err(e)),
                }
            }
        }
        loop {
            match dec.finish() {
                Ok(Some(ev)) => out.push(ev),
                Ok(None) => return (out, Ok(())),
                Err(e) => return (out, Err(e)),
            }
        }
    }

    fn ev(data: &str) -> SseEvent {
        SseEvent { data: data.to_owned(), ..SseEvent::default() }
    }

    #[test]
    fn recycled_buffers_change_no_event_and_stay_bounded() {
        // Events of every size around the bounds, with types, ids and an
        // event over the reuse cap; decoded with and without recycling.
        let mut input = Vec::new();
        for i in 0..400usize {
            let len = [0, 1, 7, 200, 5_000, 20_000][i % 6];
            let kind = if i % 3 == 0 { format!("event: kind{i}\n") } else { String::new() };
            input.extend_from_slice(format!("{kind}id: {i}\ndata: {}\ndata: {i}\n\n", "x".repeat(len)).as_bytes());
        }
        let (plain, end) = decode_all(&mut SseDecoder::default(), &input.chunks(4096).collect::<Vec<_>>());
        assert_eq!(end, Ok(()));
        assert_eq!(plain.len(), 400);

        let mut dec = SseDecoder::default();
        let mut recycled = Vec::new();
        for chunk in input.chunks(4096) {
            dec.feed(chunk);
            while let Some(ev) = dec.next_event().unwrap() {
                recycled.push(ev.clone());
                dec.recycle(ev);
                assert!(dec.spare_bytes <= SPARE_BYTES);
                assert_eq!(dec.spare_bytes, dec.spare.iter().map(String::capacity).sum::<usize>());
                assert!(dec.spare.iter().all(|b| b.is_empty() && b.capacity() <= SPARE_MAX_CAPACITY));
            }
        }
        assert_eq!(dec.finish(), Ok(None));
        assert_eq!(recycled, plain);
        assert!(!dec.spare.is_empty(), "small events' buffers are kept for reuse");
    }

    #[test]
    fn pulls_none_until_a_blank_line() {
        let mut d = SseDecoder::default();
        d.feed(b"data: a\n");
        assert_eq!(d.next_event(), Ok(None));
        d.feed(b"\n");
        assert_eq!(d.next_event(), Ok(Some(ev("a"))));
        assert_eq!(d.next_event(), Ok(None));
    }

    #[test]
    fn cr_at_chunk_end_then_lf_is_one_line_ending() {
        let (evs, end) = decode_all(&mut SseDecoder::default(), &[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]);
        assert_eq!(evs, vec![ev("a\nb")]);
        assert_eq!(end, Ok(()));
    }

    #[test]
    fn lone_cr_then_data_is_two_lines() {
        let (evs, _) = decode_all(&mut SseDecoder::default(), &[b"data: a\r", b"data: b\r\r"]);
        assert_eq!(evs, vec![ev("a\nb")]);
    }

    #[test]
    fn finish_reports_a_cut() {
        let (evs, end) = decode_all(&mut SseDecoder::default(), &[b"data: a\n\ndata: b\n"]);
        assert_eq!(evs, vec![ev("a")]);
        assert_eq!(end, Err(SseError::Truncated { discarded_bytes: 2 }));
        let (_, end) = decode_all(&mut SseDecoder::default(), &[b"data: a\n\nda"]);
        assert_eq!(end, Err(SseError::Truncated { discarded_bytes: 2 }));
    }

    #[test]
    fn finish_hands_out_waiting_events_first_and_is_idempotent() {
        let mut d = SseDecoder::default();
        d.feed(b"data: a\n\ndata: b\n\ndata: c");
        assert_eq!(d.finish(), Ok(Some(ev("a"))));
        assert_eq!(d.finish(), Ok(Some(ev("b"))));
        assert!(matches!(d.finish(), Err(SseError::Truncated { .. })));
        assert_eq!(d.finish(), Ok(None));
        d.feed(b"data: ignored\n\n");
        assert_eq!(d.next_event(), Ok(None));
    }

    #[test]
    fn comment_after_last_event_is_a_clean_end() {
        let (_, end) = decode_all(&mut SseDecoder::default(), &[b"data: a\n\n: keep-alive\n"]);
        assert_eq!(end, Ok(()));
        let (_, end) = decode_all(&mut SseDecoder::default(), &[b"data: a\n\n: keep-al"]);
        assert!(end.is_err());
    }

    #[test]
    fn too_large_then_recovers_at_next_event() {
        let mut d = SseDecoder::new(SseLimits::default().with_max_event_bytes(16));
        d.feed(b"data: 0123456789abcdef\ndata: more\nid: 7\n\ndata: ok\n\n");
        assert_eq!(d.next_event(), Err(SseError::EventTooLarge { size: 22, limit: 16 }));
        // The rest of the oversized event, including its id, was skipped.
        assert_eq!(d.next_event(), Ok(Some(ev("ok"))));
        assert_eq!(d.last_event_id(), None);
        assert_eq!(d.finish(), Ok(None));
    }

    #[test]
    fn too_large_partial_line_is_not_buffered() {
        let mut d = SseDecoder::new(SseLimits::default().with_max_event_bytes(8));
        d.feed(b"data: 01");
        assert_eq!(d.next_event(), Ok(None));
        d.feed(b"23456789");
        assert!(matches!(d.next_event(), Err(SseError::EventTooLarge { limit: 8, .. })));
        for _ in 0..1000 {
            d.feed(b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        }
        assert!(d.line.capacity() <= 16, "skipped bytes must not be buffered");
        d.feed(b"\n\ndata: ok\n\n");
        assert_eq!(d.next_event(), Ok(Some(ev("ok"))));
    }

    #[test]
    fn data_accumulating_past_the_cap() {
        let mut d = SseDecoder::new(SseLimits::default().with_max_event_bytes(10));
        // Each "data:a" line (6 raw bytes) adds 2 bytes ("a" and LF) to the data
        // buffer: the third line is checked at 4 + 6 = 10 (fine), the fourth at
        // 6 + 6 = 12 (too large).
        d.feed(b"data:a\ndata:a\ndata:a\n");
        assert_eq!(d.next_event(), Ok(None));
        d.feed(b"data:a\n\n");
        assert_eq!(d.next_event(), Err(SseError::EventTooLarge { size: 12, limit: 10 }));
        assert_eq!(d.next_event(), Ok(None));
        assert_eq!(d.finish(), Ok(None));
        let mut d = SseDecoder::new(SseLimits::default().with_max_event_bytes(10));
        d.feed(b"data:a\ndata:a\ndata:a\n\n");
        assert_eq!(d.next_event(), Ok(Some(ev("a\na\na"))));
    }

    #[test]
    fn id_persists_and_nul_is_ignored() {
        let (evs, _) = decode_all(
            &mut SseDecoder::default(),
            &[b"id: 1\ndata: a\n\ndata: b\n\nid: x\0y\ndata: c\n\nid\ndata: d\n\n"],
        );
        let ids: Vec<_> = evs.iter().map(|e| e.id.clone()).collect();
        assert_eq!(ids, vec![Some("1".into()), Some("1".into()), Some("1".into()), Some(String::new())]);
    }

    #[test]
    fn retry_is_per_event_and_stream_wide() {
        let mut d = SseDecoder::default();
        d.feed(b"retry: 1500\n\ndata: a\nretry: 12x\n\ndata: b\nretry: 99999999999999999999999\nretry: 7\n\n");
        assert_eq!(d.next_event().unwrap().unwrap().retry, None);
        assert_eq!(d.next_event().unwrap().unwrap().retry, Some(7));
        assert_eq!(d.reconnection_time_ms(), Some(7));
    }

    #[test]
    fn bom_only_at_start_and_split() {
        let (evs, _) =
            decode_all(&mut SseDecoder::default(), &[b"\xEF", b"\xBB", b"\xBFdata: a\n\n\xEF\xBB\xBFdata: b\n\n"]);
        // The second BOM is part of a line: field name "\u{FEFF}data", ignored.
        assert_eq!(evs, vec![ev("a")]);
        // A BOM prefix that is not a BOM is ordinary (invalid UTF-8) input.
        let (evs, _) = decode_all(&mut SseDecoder::default(), &[b"\xEF\xBB", b"data: a\n\ndata: b\n\n"]);
        assert_eq!(evs, vec![ev("b")]);
        let (evs, end) = decode_all(&mut SseDecoder::default(), &[b"\xEF\xBB"]);
        assert!(evs.is_empty());
        assert_eq!(end, Err(SseError::Truncated { discarded_bytes: 2 }));
        let (evs, end) = decode_all(&mut SseDecoder::default(), &[b"\xEF\xBB\xBF"]);
        assert!(evs.is_empty());
        assert_eq!(end, Ok(()));
    }

    #[test]
    fn utf8_split_across_chunks_and_invalid_bytes() {
        let euro = "data: \u{20AC}!\n\n".as_bytes();
        for k in 0..euro.len() {
            let (a, b) = euro.split_at(k);
            let (evs, _) = decode_all(&mut SseDecoder::default(), &[a, b]);
            assert_eq!(evs, vec![ev("\u{20AC}!")], "split at {k}");
        }
        let (evs, _) = decode_all(&mut SseDecoder::default(), &[b"data: a\xFFb\xE2\x82\n\n"]);
        assert_eq!(evs, vec![ev("a\u{FFFD}b\u{FFFD}")]);
    }

    #[test]
    fn event_type_resets_even_without_dispatch() {
        let (evs, _) = decode_all(&mut SseDecoder::default(), &[b"event: x\n\ndata: a\n\n"]);
        assert_eq!(evs, vec![ev("a")]);
        assert_eq!(evs[0].event_type(), "message");
    }

    #[test]
    fn serde_round_trip() {
        let e = SseEvent { event: Some("ping".into()), data: "{}".into(), id: None, retry: Some(3) };
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, r#"{"event":"ping","data":"{}","retry":3}"#);
        assert_eq!(serde_json::from_str::<SseEvent>(&json).unwrap(), e);
    }

    #[test]
    fn one_byte_at_a_time_is_linear() {
        // A 4 MiB single-line event fed byte by byte: quadratic rescanning would
        // take minutes here; this asserts the result and relies on test time.
        let mut body = b"data: ".to_vec();
        body.extend(std::iter::repeat_n(b'x', 4 << 20));
        body.extend_from_slice(b"\n\n");
        let mut d = SseDecoder::default();
        let mut n = 0;
        for b in &body {
            d.feed(std::slice::from_ref(b));
            while let Some(e) = d.next_event().unwrap() {
                n += e.data.len();
            }
        }
        assert_eq!(n, 4 << 20);
    }
}
