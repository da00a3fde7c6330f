//! Unknown top-level request fields over real loopback HTTP: refused with the
//! real API's 400, except the configured pool selector, which the simulator
//! refuses too when started with `--reject-pool-selector` (or a scenario's
//! `reject_pool_field`).

mod common;

use common::*;
use serde_json::{json, Value};

fn request(extra: &[(&str, Value)]) -> Value {
    let mut v = json!({"model": "claude-haiku-4-5", "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]});
    for (k, x) in extra {
        v[*k] = x.clone();
    }
    v
}

fn assert_extra_inputs(r: &Resp, field: &str) {
    assert_eq!(r.status, 400, "{}", r.text());
    let body = r.json();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["message"], format!("{field}: Extra inputs are not permitted"));
}

#[test]
fn a_misspelled_field_is_a_400_and_the_selector_is_accepted() {
    let sim = start();
    assert_extra_inputs(&messages(sim.addr(), &request(&[("temprature", json!(0.5))])), "temprature");
    let ok = messages(sim.addr(), &request(&[("credit_pool", json!("programmatic")), ("temperature", json!(0.5))]));
    assert_eq!(ok.status, 200, "{}", ok.text());
}

#[test]
fn started_to_reject_the_selector_it_answers_as_an_api_that_does_not_know_it() {
    let sim = creditpool_sim::start(creditpool_sim::Config { reject_pool_selector: true, ..Default::default() }).unwrap();
    assert_extra_inputs(&messages(sim.addr(), &request(&[("credit_pool", json!("programmatic"))])), "credit_pool");
    assert_eq!(messages(sim.addr(), &request(&[])).status, 200);
    // The scenario form, with a renamed selector: the configured name is refused.
    let sim = start_with(json!({"steps": [], "pool_field": "team_pool", "reject_pool_field": true}));
    assert_extra_inputs(&messages(sim.addr(), &request(&[("team_pool", json!("a"))])), "team_pool");
    let sim = start_with(json!({"steps": [], "pool_field": "team_pool"}));
    assert_eq!(messages(sim.addr(), &request(&[("team_pool", json!("a"))])).status, 200);
    assert_extra_inputs(&messages(sim.addr(), &request(&[("credit_pool", json!("a"))])), "credit_pool");
}
