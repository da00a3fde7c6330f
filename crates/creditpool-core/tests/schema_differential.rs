//! The core's own JSON Schema checker against a full validator (the
//! `jsonschema` crate, a dev-dependency only): for every `tool_input` vector,
//! both must agree on whether the input is valid, and on the paths of the
//! violations; and every schema the `tool_definition` vectors accept must
//! compile in both. (Where the core deliberately differs, at definition time,
//! the `tool_definition` vectors say so: patterns with look-around,
//! backreferences or `\p{..}` classes, and references that loop without
//! descending into the input, are refused. And `multipleOf` works on numbers
//! as written in decimal, where the full validator uses the binary double: the
//! two can differ for floats past 2^53, such as `1e300`, which the random
//! inputs therefore leave out.)

mod common;

use creditpool_core::api::{ToolSpec, ToolUseBlock};
use creditpool_core::tools::ToolSet;
use serde_json::Value;

fn full_validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::options()
        .offline()
        .should_validate_formats(true)
        .build(schema)
        .expect("the reference validator compiles the schema")
}

#[test]
fn tool_input_vectors_agree_with_a_full_validator() {
    let mut disagreements = Vec::new();
    let mut compared = 0;
    for case in common::load_kind("tool_input") {
        let Ok(specs) = serde_json::from_value::<Vec<ToolSpec>>(case.input["tools"].clone()) else {
            continue;
        };
        let Ok(set) = ToolSet::from_specs(&specs) else {
            continue;
        };
        let Ok(call) = serde_json::from_value::<ToolUseBlock>(case.input["call"].clone()) else {
            continue;
        };
        let Some(schema) = case.input["tools"]
            .as_array()
            .and_then(|tools| tools.iter().find(|t| t["name"] == call.name.as_str()))
            .map(|t| t["input_schema"].clone())
        else {
            continue;
        };
        if !schema.is_object() || case.input.get("truncated") == Some(&Value::Bool(true)) {
            continue;
        }
        let reference = full_validator(&schema);
        let mut theirs: Vec<String> = reference
            .iter_errors(&call.input)
            .map(|e| e.instance_path().as_str().to_owned())
            .collect();
        theirs.sort();
        let ours: Vec<String> = match set.check_input(&call.name, &call.input) {
            Ok(()) => Vec::new(),
            Err(e) if e.kind() != "invalid_input" => continue,
            Err(e) => serde_json::to_value(&e).unwrap()["errors"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|v| v["path"].as_str().unwrap_or_default().to_owned())
                        .collect()
                })
                .unwrap_or_default(),
        };
        compared += 1;
        // Ours keeps the first 20 violations by path; compare only validity past that.
        if theirs.is_empty() != ours.is_empty() || (ours.len() < 20 && theirs != ours) {
            disagreements.push(format!(
                "{} / {}: full validator {:?}, ours {:?}",
                case.file, case.name, theirs, ours
            ));
        }
    }
    assert!(compared >= 150, "only {compared} vectors compared");
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

#[test]
fn schemas_the_tool_definition_vectors_accept_compile_in_a_full_validator() {
    let mut n = 0;
    for case in common::load_kind("tool_definition") {
        if case.expected.get("ok") != Some(&Value::Bool(true)) {
            continue;
        }
        let tools: Vec<Value> = match (case.input.get("tool"), case.input.get("tools")) {
            (Some(t), _) => vec![t.clone()],
            (_, Some(Value::Array(ts))) => ts.clone(),
            _ => continue,
        };
        for t in tools.iter().filter_map(|t| t.get("input_schema")) {
            assert!(
                jsonschema::options().offline().build(t).is_ok(),
                "{} / {}: the full validator refuses {t}",
                case.file,
                case.name
            );
            n += 1;
        }
    }
    assert!(n >= 20, "only {n} schemas compared");
}

mod random_inputs {
    use super::*;
    use proptest::prelude::*;

    /// Small JSON values of every kind, with the strings, numbers and keys the
    /// vector schemas care about, so that both outcomes are common.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-300i64..300).prop_map(Value::from),
            prop::sample::select(vec![0.5, -273.15, 21.25, 100.5, 1e15, 19.99, 0.125, 10.5])
                .prop_map(Value::from),
            prop::sample::select(vec![
                "",
                "a",
                "x",
                "FR",
                "France",
                "EUR",
                "2026-03-02T09:30:00Z",
                "2023-02-29",
                "ana@example.com",
                "not an address",
                "0b4c9e5e-4a39-4c1c-9f55-2d0f1d7b3a61",
                "10.0.0.256",
                "::1",
                "https://example.com/a",
                "/a/b",
                "P1D",
                "日本語",
                "card",
            ])
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop::sample::select(vec![
                        "v", "a", "b", "c", "q", "query", "limit", "kind", "amount", "currency",
                        "name", "children", "x-a", "next", "n", "card", "cvv"
                    ]),
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(
                    m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )),
            ]
        })
    }

    fn schemas() -> Vec<(String, ToolSet, jsonschema::Validator, String)> {
        let mut out = Vec::new();
        for case in common::load_kind("tool_input") {
            let Some(tools) = case.input["tools"].as_array() else {
                continue;
            };
            for t in tools {
                let schema = &t["input_schema"];
                if !schema.is_object() {
                    continue;
                }
                let Ok(spec) =
                    serde_json::from_value::<Vec<ToolSpec>>(Value::Array(vec![t.clone()]))
                else {
                    continue;
                };
                let Ok(set) = ToolSet::from_specs(&spec) else {
                    continue;
                };
                let name = t["name"].as_str().unwrap_or_default().to_owned();
                out.push((case.name.clone(), set, full_validator(schema), name));
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        #[test]
        fn random_inputs_get_the_same_verdict(inputs in prop::collection::vec(json_value(), 1..4)) {
            for (case, set, reference, name) in schemas() {
                for input in &inputs {
                    for candidate in [input.clone(), serde_json::json!({"v": input})] {
                        let ours = set.check_input(&name, &candidate).is_ok();
                        let theirs = reference.is_valid(&candidate);
                        prop_assert_eq!(ours, theirs, "schema of {:?}, input {}", case, candidate);
                    }
                }
            }
        }
    }
}
