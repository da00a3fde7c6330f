//! Every scenario example in docs/SIMULATOR.md is a valid scenario.

use creditpool_sim::Scenario;

#[test]
fn documented_scenarios_parse() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/SIMULATOR.md");
    let doc = std::fs::read_to_string(path).expect("docs/SIMULATOR.md");
    let mut checked = 0;
    for block in doc.split("```json").skip(1) {
        let json = block.split("```").next().unwrap_or("");
        if json.trim_start().starts_with(r#"{"steps""#) {
            Scenario::from_json(json, "docs/SIMULATOR.md").unwrap_or_else(|e| panic!("{e}\n{json}"));
            checked += 1;
        }
    }
    assert!(checked >= 5, "found only {checked} scenario examples");
}
