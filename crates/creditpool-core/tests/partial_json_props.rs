//! Property tests for `parse_partial`: whole documents read as serde_json reads
//! them, every prefix of a document is either recovered or (for a top-level
//! scalar) reported incomplete, and no input makes it panic.

use creditpool_core::partial_json::{parse_partial, PartialJsonError};
use proptest::prelude::*;
use serde_json::Value;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[a-z\u{e9}\u{1F600}\"\\\\/\n\t\u{1}]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{0,3}", inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn whole_documents_match_serde_json(v in json_value(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) };
        let text = text.unwrap();
        let p = parse_partial(&text).unwrap();
        prop_assert!(p.complete);
        prop_assert_eq!(p.value, v);
    }

    #[test]
    fn every_prefix_is_recovered(v in json_value()) {
        let text = serde_json::to_string(&v).unwrap();
        let container = v.is_array() || v.is_object();
        for (end, _) in text.char_indices().skip(1) {
            match parse_partial(&text[..end]) {
                Ok(p) => prop_assert!(!p.complete || !container, "{:?} marked complete", &text[..end]),
                Err(PartialJsonError::Incomplete { .. }) if !container => {}
                Err(e) => prop_assert!(false, "{:?}: {}", &text[..end], e),
            }
        }
    }

    #[test]
    fn never_panics(s in "[\\[\\]{}\":,\\\\u0-9a-fA-FeE.+\\-tnrl \u{1}\u{e9}]{0,40}") {
        let _ = parse_partial(&s);
    }
}
