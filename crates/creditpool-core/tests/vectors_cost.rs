//! Runs the `cost` vectors: `pricing::cost` on a usage, at the built-in table
//! plus the case's overrides.

mod common;

use creditpool_core::api::Usage;
use creditpool_core::pricing::{cost, CostOptions, ModelPrices, PriceTable, PricingError};
use serde_json::{json, Value};

/// The table of a case: the built-in one with the case's `overrides`.
fn table_for(input: &Value) -> Result<PriceTable, PricingError> {
    let mut table = PriceTable::builtin();
    for o in input["overrides"].as_array().into_iter().flatten() {
        let model = o["model"].as_str().unwrap_or_default();
        table = table.with_override(model, ModelPrices::from_json_value(&o["prices"])?);
    }
    Ok(table)
}

/// The JSON form of a pricing error in the vectors.
fn error_json(e: &PricingError) -> Value {
    let mut v = json!({"kind": e.kind()});
    match e {
        PricingError::UnknownModel { model, .. } | PricingError::Unpriced { model, .. } | PricingError::UnsupportedUsage { model, .. } => v["model"] = json!(model),
        PricingError::InvalidPrice { value, .. } => v["value"] = json!(value),
        _ => {}
    }
    v
}

fn run(input: &Value) -> Result<Value, PricingError> {
    let table = table_for(input)?;
    let usage: Usage = serde_json::from_value(input["usage"].clone()).expect("usage");
    let options: CostOptions = match input.get("options") {
        Some(o) => serde_json::from_value(o.clone()).expect("options"),
        None => CostOptions::new(),
    };
    let c = cost(&table, input["model"].as_str().expect("model"), &usage, &options)?;
    let mut v = json!({
        "input": c.input, "cache_write_5m": c.cache_write_5m, "cache_write_1h": c.cache_write_1h,
        "cache_read": c.cache_read, "output": c.output, "web_search": c.web_search, "total": c.total,
        "long_context": c.long_context,
    });
    // Container time, only when counted (cases without it leave these out).
    if c.container_minutes > 0 {
        v["code_execution"] = json!(c.code_execution);
        v["container_minutes"] = json!(c.container_minutes);
    }
    if c.estimated {
        v["estimated"] = json!(true);
    }
    Ok(v)
}

#[test]
fn cost_vectors() {
    let n = common::run_kind("cost", |case| {
        let actual = match run(&case.input) {
            Ok(v) => v,
            Err(e) => json!({"error": error_json(&e)}),
        };
        match common::json_diff("$", &actual, &case.expected) {
            None => Ok(()),
            Some(d) => Err(d),
        }
    });
    assert!(n >= 35, "only {n} cost vectors");
}
