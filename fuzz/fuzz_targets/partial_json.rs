//! `partial_json::parse_partial`: arbitrary text (the input if it is UTF-8,
//! else decoded lossily).
//!
//! Checks, besides "never panics" (deep nesting included: the parser keeps its
//! own stack):
//! * a whole JSON document that serde_json reads is read completely, to the
//!   same value (numbers compared as numbers);
//! * a result marked complete is one serde_json reads too (or one nested
//!   deeper than serde_json's recursion limit of 128, or blank input, which
//!   is `{}` by design);
//! * prefixes of such a document, cut at a few points, never give a syntax or
//!   depth error (a cut number may be too large to be finite: `NonFinite`).
#![no_main]

use creditpool_core::partial_json::{parse_partial, PartialJsonError};
use creditpool_fuzz::{json_eq, text};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let s = text(data);
    let s: &str = &s;
    let ours = parse_partial(s);
    let serde = serde_json::from_str::<Value>(s);

    if let Ok(p) = &ours {
        // The value is plain JSON: it writes out.
        let _ = serde_json::to_string(&p.value).expect("a recovered value serializes");
        // Empty (or blank) input is `{}`, complete, by design (module docs).
        if p.complete && !s.trim().is_empty() {
            if let Err(e) = &serde {
                assert!(e.to_string().contains("recursion limit"), "complete per parse_partial, but serde_json says: {e}\n{s:?}");
            }
        }
    }

    let Ok(v) = serde else { return };
    match &ours {
        Ok(p) => {
            assert!(p.complete, "a whole document marked incomplete: {s:?}");
            assert!(json_eq(&p.value, &v), "parse_partial and serde_json disagree on {s:?}: {} / {v}", p.value);
        }
        Err(e) => panic!("parse_partial fails on a document serde_json reads: {e}\n{s:?}"),
    }

    // Prefixes, at up to eight char boundaries spread over the document.
    let container = v.is_array() || v.is_object();
    let bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).skip(1).collect();
    let step = (bounds.len() / 8).max(1);
    for &end in bounds.iter().step_by(step) {
        let prefix = &s[..end];
        match parse_partial(prefix) {
            Ok(p) => {
                if container && p.complete && !prefix.trim().is_empty() {
                    assert_eq!(prefix.trim_end(), s.trim_end(), "a cut document marked complete: {prefix:?}");
                }
            }
            Err(PartialJsonError::Incomplete { .. }) if !container => {}
            Err(PartialJsonError::NonFinite { .. }) => {}
            Err(e) => panic!("a prefix of a JSON document gives {e}\nprefix: {prefix:?}\ndocument: {s:?}"),
        }
    }
});
