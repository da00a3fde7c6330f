//! `SseDecoder`: arbitrary bytes, fed in arbitrary chunks, then `finish`.
//!
//! Input: `[cap, split, stream...]`. `cap` picks `max_event_bytes`
//! (`0x00..=0x7F`: that many bytes; else the 32 MiB default); `split` picks
//! the chunking (0: one chunk; else chunks of 1 to `split` bytes).
//!
//! Checks, besides "never panics":
//! * the decoder's heap stays bounded by the cap (and the largest chunk fed)
//!   after every feed, measured by a counting global allocator;
//! * a dispatched event fits the cap, counted in decoded bytes;
//!   `EventTooLarge` names the cap;
//! * the outcome does not depend on the chunking (the `size` of an
//!   `EventTooLarge` excepted: it is a lower bound that depends on where the
//!   chunk ended);
//! * with the default cap, the outcome is the one of a naive whole-stream
//!   reading of the WHATWG rules (the reference of `tests/sse_decoder_props.rs`);
//! * `finish` is idempotent and bytes fed after it are ignored.
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use creditpool_core::sse::decoder::{SseDecoder, SseError, SseEvent, SseLimits, DEFAULT_MAX_EVENT_BYTES};
use creditpool_fuzz::{cap_from_byte, split, Input};
use libfuzzer_sys::fuzz_target;

/// Counts the bytes currently allocated through the Rust global allocator.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to `System` with the same arguments; the counter
// is only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE.fetch_add(new_size, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// One outcome of a pull.
#[derive(Debug, PartialEq)]
enum Item {
    Event(SseEvent),
    /// `EventTooLarge`, without its chunking-dependent `size`.
    TooLarge,
    Truncated(usize),
}

#[derive(Debug, PartialEq)]
struct Outcome {
    items: Vec<Item>,
    last_event_id: Option<String>,
    reconnection_ms: Option<u64>,
}

fn item(r: Result<SseEvent, SseError>, cap: usize) -> Item {
    match r {
        Ok(ev) => {
            // Decoded bytes count: invalid UTF-8 becomes U+FFFD, three bytes a
            // byte (docs/FUZZING.md, finding 1).
            let held = ev.data.len() + ev.event.as_ref().map_or(0, String::len);
            assert!(held <= cap, "an event of {held} bytes (data and type) got through a cap of {cap}: {ev:?}");
            Item::Event(ev)
        }
        Err(SseError::EventTooLarge { size, limit }) => {
            assert_eq!(limit, cap);
            assert!(size > cap, "EventTooLarge with size {size} under the cap {cap}");
            Item::TooLarge
        }
        Err(SseError::Truncated { discarded_bytes }) => Item::Truncated(discarded_bytes),
        Err(e) => panic!("unexpected error {e:?}"),
    }
}

/// The most heap the decoder may hold between feeds: its line, data, event
/// type and last-ID buffers grow to at most a few times the cap (capacity
/// doubling, and U+FFFD for invalid UTF-8), and its queue of ready events,
/// drained but not shrunk, to a slot per three bytes of the largest chunk.
fn heap_bound(cap: usize, largest_chunk: usize) -> usize {
    let slot = std::mem::size_of::<Result<SseEvent, SseError>>();
    cap.saturating_mul(16).saturating_add(slot.saturating_mul(largest_chunk + 8)).saturating_add(4096)
}

fn decode(cap: usize, chunks: &[&[u8]], check_heap: bool) -> Outcome {
    let base = LIVE.load(Ordering::Relaxed);
    let mut dec = SseDecoder::new(SseLimits::default().with_max_event_bytes(cap));
    let mut items = Vec::new();
    let mut largest = 0;
    // Heap in `items`' strings: ours, not the decoder's.
    let mut ours = 0;
    for c in chunks {
        dec.feed(c);
        largest = largest.max(c.len());
        loop {
            match dec.next_event() {
                Ok(None) => break,
                r => {
                    let i = item(r.map(|o| o.expect("Some")), cap);
                    if let Item::Event(ev) = &i {
                        ours += ev.data.capacity() + ev.event.as_ref().map_or(0, String::capacity) + ev.id.as_ref().map_or(0, String::capacity);
                    }
                    items.push(i);
                }
            }
        }
        if check_heap {
            let ours = ours + items.capacity() * std::mem::size_of::<Item>();
            let held = LIVE.load(Ordering::Relaxed).saturating_sub(base).saturating_sub(ours);
            let bound = heap_bound(cap, largest);
            assert!(held <= bound, "decoder holds {held} bytes after a feed, bound {bound} (cap {cap}, largest chunk {largest})");
        }
    }
    let mut guard = 0;
    loop {
        match dec.finish() {
            Ok(None) => break,
            r => items.push(item(r.map(|o| o.expect("Some")), cap)),
        }
        guard += 1;
        assert!(guard < 1_000_000, "finish never returns Ok(None)");
    }
    // Truncated comes last if at all.
    if let Some(pos) = items.iter().position(|i| matches!(i, Item::Truncated(_))) {
        assert_eq!(pos, items.len() - 1, "Truncated before the end: {items:?}");
    }
    assert_eq!(dec.finish(), Ok(None), "finish is not idempotent");
    dec.feed(b"data: after finish\n\n");
    assert_eq!(dec.next_event(), Ok(None), "bytes fed after finish were read");
    Outcome { items, last_event_id: dec.last_event_id().map(str::to_owned), reconnection_ms: dec.reconnection_time_ms() }
}

/// The WHATWG rules read literally over the whole stream at once (no cap).
fn reference(stream: &[u8]) -> Vec<Item> {
    let stream = stream.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(stream);
    let text = String::from_utf8_lossy(stream);
    let mut lines = Vec::new();
    let mut rest: &str = &text;
    let mut partial = None;
    while !rest.is_empty() {
        match rest.find(['\r', '\n']) {
            Some(i) => {
                lines.push(&rest[..i]);
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
            }
            None => {
                partial = Some(rest);
                break;
            }
        }
    }
    let (mut data, mut etype, mut id, mut retry, mut in_event) = (String::new(), String::new(), None::<String>, None, false);
    let mut out = Vec::new();
    for line in lines {
        if line.is_empty() {
            if !data.is_empty() {
                data.pop();
                out.push(Item::Event(SseEvent { event: if etype.is_empty() { None } else { Some(etype.clone()) }, data: data.clone(), id: id.clone(), retry }));
            }
            data.clear();
            etype.clear();
            retry = None;
            in_event = false;
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        in_event = true;
        let (name, value) = match line.split_once(':') {
            Some((n, v)) => (n, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match name {
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "event" => etype = value.to_owned(),
            "id" if !value.contains('\0') => id = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(v) = value.parse() {
                    retry = Some(v);
                }
            }
            _ => {}
        }
    }
    if in_event || partial.is_some() {
        // What the decoder counts as discarded: the data buffer, the event
        // type and the raw bytes of the unterminated line. The reference works
        // on decoded text, so only its presence is compared (see below).
        out.push(Item::Truncated(usize::MAX));
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let cap = cap_from_byte(input.u8(), DEFAULT_MAX_EVENT_BYTES);
    let how = input.u8();
    let stream = input.rest();

    let chunked = decode(cap, &split(stream, how), true);
    if how != 0 {
        let whole = decode(cap, &[stream], false);
        assert_eq!(chunked, whole, "the outcome depends on the chunking");
    }

    if cap == DEFAULT_MAX_EVENT_BYTES {
        let mut got = chunked.items;
        if let Some(Item::Truncated(n)) = got.last_mut() {
            *n = usize::MAX;
        }
        assert_eq!(got, reference(stream), "the decoder disagrees with the naive reading");
    }
});
