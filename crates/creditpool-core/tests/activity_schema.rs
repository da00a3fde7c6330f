//! Validates the activity charts against the Vega-Lite JSON schema (the
//! version `scripts/lib/vega-lite-schema.sh` pins): every `activity_chart`
//! vector's expected spec, and the chart of a report. The schema file comes
//! from the npm package; without `VEGA_LITE_SCHEMA` the test says so and
//! passes.
//!
//!     VEGA_LITE_SCHEMA="$(bash scripts/lib/vega-lite-schema.sh)" \
//!         cargo test -p creditpool-core --test activity_schema -- --nocapture
#![allow(clippy::print_stderr)]

mod common;

use creditpool_core::activity::{Activity, ActivityOptions};
use creditpool_core::pool::{AttributionInput, CycleSpec, Pool, PoolConfig, ToolPart, ToolShare};
use creditpool_core::Money;
use serde_json::Value;

fn report_spec() -> Value {
    let mut c = PoolConfig::new(Money::from_nanos(10_000_000));
    c.cycle = CycleSpec::Fixed { start_ms: 1_796_083_200_000, length_ms: 86_400_000 };
    c.report_bucket_ms = 60_000;
    c.pool_id = "team".into();
    let mut p = Pool::new(c, 1_796_083_200_000).expect("pool");
    let mut input = AttributionInput::new("claude-haiku-4-5");
    input.input_cost = Money::from_nanos(1_000_000);
    input.input_bytes = 1_000;
    input.tools = vec![ToolShare { tool: "search".into(), part: ToolPart::Definition, bytes: 300 }];
    for (i, agent) in ["a", "b", "a", "c"].iter().enumerate() {
        let t = 1_796_083_200_000 + 60_000 + i as u64 * 150_000;
        if let Ok(r) = p.reserve(agent, Money::from_nanos(3_000_000), t) {
            let _ = p.settle(r.id, Money::from_nanos(2_500_000), Some(&input), t + 1_000);
        }
    }
    let _ = p.reserve("c", Money::from_nanos(9_000_000), 1_796_083_900_000);
    Activity::from_pool(&p, 1_796_083_900_000).chart()
}

/// Percent-encodes the characters of Vega-Lite's definition names (`<`, `>`,
/// `|`, `[`, ...: all but a URI fragment's characters) in `$ref`s: a `$ref` must be a URI reference, and the JSON
/// pointer in its fragment is percent-decoded when resolved.
fn encode_refs(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match x {
                    Value::String(s) if k == "$ref" => {
                        let mut out = String::with_capacity(s.len());
                        for c in s.chars() {
                            match c {
                                c if c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/?#%".contains(c) => out.push(c),
                                c => out.push_str(&format!("%{:02X}", c as u32)),
                            }
                        }
                        *s = out;
                    }
                    x => encode_refs(x),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(encode_refs),
        _ => {}
    }
}

#[test]
fn activity_specs_match_the_vega_lite_schema() {
    let Some(path) = std::env::var_os("VEGA_LITE_SCHEMA") else {
        eprintln!("skipped: set VEGA_LITE_SCHEMA to vega-lite's build/vega-lite-schema.json (bash scripts/lib/vega-lite-schema.sh prints it)");
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.to_string_lossy()));
    let mut schema: Value = serde_json::from_str(&text).expect("schema JSON");
    encode_refs(&mut schema);
    let validator = jsonschema::options().offline().build(&schema).expect("the Vega-Lite schema compiles");
    let mut specs: Vec<(String, Value)> = common::load_kind("activity_chart").into_iter().map(|c| (c.name, c.expected["spec"].clone())).collect();
    specs.push(("report".into(), report_spec()));
    specs.push((
        "report_empty".into(),
        Activity::from_report(&Pool::new(PoolConfig::new(Money::from_nanos(1)), 0).expect("pool").report(0), &ActivityOptions::default()).chart(),
    ));
    // The validator is not vacuous: a wrong mark or an unknown encoding channel fails.
    let bad = serde_json::json!({"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "data": {"values": []}, "mark": "no_such_mark"});
    assert!(!validator.is_valid(&bad), "a spec with an unknown mark passed");
    let bad = serde_json::json!({"data": {"values": []}, "mark": "bar", "encoding": {"colour": {"field": "a"}}});
    assert!(!validator.is_valid(&bad), "a spec with an unknown channel passed");
    let mut failures = Vec::new();
    for (name, spec) in &specs {
        assert_eq!(spec["$schema"], "https://vega.github.io/schema/vega-lite/v5.json", "{name}");
        for e in validator.iter_errors(spec) {
            failures.push(format!("{name}: {} at {}", e, e.instance_path().as_str()));
        }
    }
    assert!(failures.is_empty(), "{} schema errors:\n{}", failures.len(), failures.join("\n"));
    // For a look (screenshots): ACTIVITY_SPEC_DIR=DIR writes each spec as DIR/NAME.vl.json.
    if let Some(dir) = std::env::var_os("ACTIVITY_SPEC_DIR") {
        for (name, spec) in &specs {
            let path = std::path::Path::new(&dir).join(format!("{name}.vl.json"));
            std::fs::write(&path, serde_json::to_string_pretty(spec).expect("json")).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
    eprintln!("{} activity specs valid against {}", specs.len(), path.to_string_lossy());
}
