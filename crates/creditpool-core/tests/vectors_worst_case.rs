//! Runs the `worst_case` vectors: `pricing::worst_case` on a request, at the
//! built-in table plus the case's overrides.

mod common;

use creditpool_core::api::MessageRequest;
use creditpool_core::pricing::{worst_case, EstimateMode, ModelPrices, PriceTable, PricingError};
use serde_json::{json, Value};

fn table_for(input: &Value) -> Result<PriceTable, PricingError> {
    let mut table = PriceTable::builtin();
    for o in input["overrides"].as_array().into_iter().flatten() {
        let model = o["model"].as_str().unwrap_or_default();
        table = table.with_override(model, ModelPrices::from_json_value(&o["prices"])?);
    }
    Ok(table)
}

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
    let request: MessageRequest = serde_json::from_value(input["request"].clone()).expect("request");
    let body_len = usize::try_from(input["body_len"].as_u64().expect("body_len")).expect("body_len fits");
    let mode: EstimateMode = match input.get("mode") {
        Some(m) => serde_json::from_value(m.clone()).expect("mode"),
        None => EstimateMode::default(),
    };
    let e = worst_case(&table, &request, body_len, mode)?;
    if e.may_overshoot && e.notes.is_empty() {
        panic!("an estimate that may overshoot must say why");
    }
    let mut v = json!({
        "input_tokens_bound": e.input_tokens_bound,
        "output_tokens_bound": e.output_tokens_bound,
        "cost": e.cost,
        "may_overshoot": e.may_overshoot,
    });
    // Container time, only when assumed (cases without it leave these out).
    if e.container_minutes > 0 {
        v["container_minutes"] = json!(e.container_minutes);
        v["container_cost"] = json!(e.container_cost);
    }
    Ok(v)
}

#[test]
fn worst_case_vectors() {
    let n = common::run_kind("worst_case", |case| {
        let actual = match run(&case.input) {
            Ok(v) => v,
            Err(e) => json!({"error": error_json(&e)}),
        };
        match common::json_diff("$", &actual, &case.expected) {
            None => Ok(()),
            Some(d) => Err(d),
        }
    });
    assert!(n >= 15, "only {n} worst_case vectors");
}
