//! Runs the `activity_chart` vectors: `Activity::from_ledger(ledger,
//! options).chart()` must give exactly the expected Vega-Lite specification.

mod common;

use creditpool_core::activity::{Activity, ActivityOptions};
use creditpool_core::pool::LedgerEntry;
use serde_json::{json, Value};

fn spec(input: &Value) -> Value {
    let ledger: Vec<LedgerEntry> = serde_json::from_value(input["ledger"].clone()).expect("ledger");
    let options: ActivityOptions = match input.get("options") {
        Some(o) => serde_json::from_value(o.clone()).expect("options"),
        None => ActivityOptions::default(),
    };
    Activity::from_ledger(&ledger, &options).chart()
}

#[test]
fn activity_chart_vectors() {
    let n = common::run_kind("activity_chart", |case| {
        let actual = json!({"spec": spec(&case.input)});
        match common::json_diff("$", &actual, &case.expected) {
            None => Ok(()),
            Some(d) => Err(d),
        }
    });
    assert!(n >= 3, "only {n} activity_chart vectors");
}

/// The ledger's JSON Lines form draws the same chart, byte for byte.
#[test]
fn jsonl_round_trip_gives_the_same_bytes() {
    for case in common::load_kind("activity_chart") {
        let ledger: Vec<LedgerEntry> = serde_json::from_value(case.input["ledger"].clone()).expect("ledger");
        let text: String = ledger.iter().map(LedgerEntry::to_json_line).collect();
        let parsed = creditpool_core::activity::parse_ledger_jsonl(&text).expect("jsonl");
        let options: ActivityOptions = serde_json::from_value(case.input["options"].clone()).expect("options");
        let a = serde_json::to_string(&Activity::from_ledger(&parsed, &options).chart()).expect("json");
        let b = serde_json::to_string(&spec(&case.input)).expect("json");
        assert_eq!(a, b, "{}", case.name);
    }
}
