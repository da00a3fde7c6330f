//! The webhook payloads match the published JSON Schema (`docs/webhook.schema.json`):
//! every field is declared, every required field is present, constants and enums
//! hold. (A full validator runs over the vectors' payloads in other suites.)

use creditpool_core::pool::{webhook, BurnRateConfig, CycleSpec, Pool, PoolConfig};
use creditpool_core::Money;
use serde_json::Value;
use std::collections::BTreeSet;

fn schema() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/webhook.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn payloads_of_every_kind_match_the_schema() {
    let mut c = PoolConfig::new(Money::from_nanos(1_000));
    c.cycle = CycleSpec::Fixed { start_ms: 0, length_ms: 1_000_000 };
    c.alerts.on_committed = true;
    c.alerts.burn_rate = Some(BurnRateConfig { min_elapsed_ms: 1 });
    let mut p = Pool::new(c, 0).unwrap();
    p.reserve("a", Money::from_nanos(600), 10).unwrap();
    p.settle(1, Money::from_nanos(600), None, 100).unwrap();
    let alerts: Vec<_> = std::iter::from_fn(|| p.poll_event()).collect();
    let kinds: BTreeSet<&str> = alerts.iter().map(|a| a.kind.name()).collect();
    assert_eq!(kinds, BTreeSet::from(["committed_threshold", "projected_exhaustion", "threshold"]));

    let s = schema();
    let props: BTreeSet<String> = s["properties"].as_object().unwrap().keys().cloned().collect();
    let required: BTreeSet<String> = s["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    let alert_enum: Vec<Value> = s["properties"]["alert"]["enum"].as_array().unwrap().clone();
    for a in &alerts {
        let d = a.webhook(b"k", a.occurred_at_ms);
        let t = d.header(webhook::TIMESTAMP_HEADER).unwrap();
        assert!(webhook::verify_signature(b"k", t, &d.body, d.header(webhook::SIGNATURE_HEADER).unwrap()));
        let v: Value = serde_json::from_slice(&d.body).unwrap();
        let keys: BTreeSet<String> = v.as_object().unwrap().keys().cloned().collect();
        assert!(keys.is_subset(&props), "undeclared: {:?}", keys.difference(&props).collect::<Vec<_>>());
        assert!(required.is_subset(&keys), "missing: {:?}", required.difference(&keys).collect::<Vec<_>>());
        assert_eq!(v["type"], s["properties"]["type"]["const"]);
        assert_eq!(v["version"], s["properties"]["version"]["const"]);
        assert!(alert_enum.contains(&v["alert"]));
        assert_eq!(v.get("percent").is_some(), v["alert"] != "projected_exhaustion");
    }
}
