//! Property tests for the SSE decoder: on random streams built from the
//! format's own pieces, chunked at random, it agrees with a deliberately naive
//! whole-stream reading of the WHATWG rules, and never panics on any bytes.

use creditpool_core::sse::decoder::{SseDecoder, SseError, SseEvent, SseLimits};
use proptest::prelude::*;

/// How a run ended.
#[derive(Debug, PartialEq)]
enum End {
    Clean,
    MidEvent,
    TooLarge,
}

fn decode(limits: SseLimits, chunks: &[&[u8]]) -> (Vec<SseEvent>, End) {
    let mut dec = SseDecoder::new(limits);
    let mut out = Vec::new();
    let end = |e: SseError| match e {
        SseError::EventTooLarge { .. } => End::TooLarge,
        _ => End::MidEvent,
    };
    for c in chunks {
        dec.feed(c);
        loop {
            match dec.next_event() {
                Ok(Some(ev)) => out.push(ev),
                Ok(None) => break,
                Err(e) => return (out, end(e)),
            }
        }
    }
    loop {
        match dec.finish() {
            Ok(Some(ev)) => out.push(ev),
            Ok(None) => return (out, End::Clean),
            Err(e) => return (out, end(e)),
        }
    }
}

/// The rules read literally over the whole stream at once: strip one BOM,
/// decode everything lossily, split into lines, interpret each.
fn reference(stream: &[u8]) -> (Vec<SseEvent>, End) {
    let stream = stream.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(stream);
    let text = String::from_utf8_lossy(stream);
    let mut lines = Vec::new();
    let mut rest: &str = &text;
    let mut partial = false;
    while !rest.is_empty() {
        match rest.find(['\r', '\n']) {
            Some(i) => {
                lines.push(&rest[..i]);
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
            }
            None => {
                partial = true;
                break;
            }
        }
    }
    let (mut data, mut etype, mut id, mut retry, mut in_event) = (String::new(), String::new(), None, None, false);
    let mut out = Vec::new();
    for line in lines {
        if line.is_empty() {
            if !data.is_empty() {
                data.pop();
                out.push(SseEvent {
                    event: if etype.is_empty() { None } else { Some(etype.clone()) },
                    data: data.clone(),
                    id: id.clone(),
                    retry,
                });
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
    (out, if in_event || partial { End::MidEvent } else { End::Clean })
}

fn piece() -> impl Strategy<Value = &'static [u8]> {
    prop::sample::select(vec![
        &b"data"[..],
        b"data: ",
        b"event:",
        b"id: ",
        b"retry: ",
        b":",
        b" ",
        b"\n",
        b"\r",
        b"\r\n",
        b"\n\n",
        b"x",
        b"12",
        b"\0",
        b"\xEF\xBB\xBF",
        b"\xE2\x82\xAC",
        b"\xE2\x82",
        b"\xFF",
    ])
}

/// A stream and the points to cut it at.
fn stream_and_cuts() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    prop::collection::vec(piece(), 0..60).prop_map(|ps| ps.concat()).prop_flat_map(|s| {
        let n = s.len();
        (Just(s), prop::collection::vec(0..=n, 0..8))
    })
}

fn cut<'a>(s: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts = cuts.to_vec();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut at = 0;
    for c in cuts.into_iter().chain(std::iter::once(s.len())) {
        out.push(&s[at..c]);
        at = c;
    }
    out
}

proptest! {
    #[test]
    fn agrees_with_naive_reading((s, cuts) in stream_and_cuts()) {
        let chunks = cut(&s, &cuts);
        prop_assert_eq!(decode(SseLimits::default(), &chunks), reference(&s));
    }

    #[test]
    fn size_cap_result_does_not_depend_on_chunking((s, cuts) in stream_and_cuts(), limit in 0usize..40) {
        let limits = SseLimits::default().with_max_event_bytes(limit);
        let chunks = cut(&s, &cuts);
        prop_assert_eq!(decode(limits, &chunks), decode(limits, &[&s]));
    }

    #[test]
    fn never_panics_on_arbitrary_bytes(s in prop::collection::vec(any::<u8>(), 0..300), cuts in prop::collection::vec(0usize..300, 0..6)) {
        let cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(s.len())).collect();
        let _ = decode(SseLimits::default().with_max_event_bytes(64), &cut(&s, &cuts));
    }
}
