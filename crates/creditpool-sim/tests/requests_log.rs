//! `GET /_sim/requests`: the bodies of the last 32 checked `/v1/messages`
//! requests, oldest first, what a client really sent (the tool-failure tests
//! in Rust, Python and JS read the words the model was sent from it); a body
//! above 1 MiB is kept by its size only; a refused request is not kept;
//! `/_sim/reset` empties it.

mod common;

use common::*;
use serde_json::{json, Value};

fn requests(sim: &creditpool_sim::Running) -> Vec<Value> {
    request(sim.addr(), "GET", "/_sim/requests", &[], b"").json().as_array().cloned().unwrap()
}

#[test]
fn the_last_requests_are_kept_oldest_first_and_bounded() {
    let sim = start();
    for i in 0..40 {
        assert_eq!(messages(sim.addr(), &body(&format!("prompt {i}"))).status, 200);
    }
    let kept = requests(&sim);
    assert_eq!(kept.len(), 32);
    assert_eq!(kept[0]["body"]["messages"][0]["content"], "prompt 8");
    assert_eq!(kept[31]["body"]["messages"][0]["content"], "prompt 39");
    assert_eq!(kept[31]["request_id"], "req_sim_000040");
    // A refused request (an unknown field) is not kept.
    let mut bad = body("refused");
    bad["temprature"] = json!(1);
    assert_eq!(messages(sim.addr(), &bad).status, 400);
    assert_eq!(requests(&sim).last().unwrap()["body"]["messages"][0]["content"], "prompt 39");
    // A body above 1 MiB by its size only.
    let big = body(&"x".repeat(1_100_000));
    assert_eq!(messages(sim.addr(), &big).status, 200);
    let last = requests(&sim).last().cloned().unwrap();
    assert!(last["body"].is_null() && last["body_bytes"].as_u64().unwrap() > 1_000_000, "{}", last["body_bytes"]);
    assert_eq!(post(sim.addr(), "/_sim/reset", &json!({})).status, 200);
    assert!(requests(&sim).is_empty());
}
