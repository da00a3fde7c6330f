//! Prints the activity chart of a ledger: reads `{"ledger": [LedgerEntry...],
//! "options": ActivityOptions}` on stdin and writes `{"spec": Vega-Lite spec}`
//! on stdout. `scripts/vectors/gen_activity_vectors.py` fills the
//! `activity_chart` vectors' `expected` with it.
//!
//!     cargo run -q -p creditpool-core --example activity_spec < case.json
//!
//! With `--html NODE_MODULES` (a directory holding the npm packages vega,
//! vega-lite and vega-embed, e.g. `target/vega-lite/node_modules` after
//! `bash scripts/lib/vega-lite-schema.sh`), it writes instead the standalone
//! page with the three bundles inlined, which opens offline.
#![allow(clippy::print_stdout)]

use creditpool_core::activity::{standalone_html, Activity, ActivityOptions, VegaScripts};
use creditpool_core::pool::LedgerEntry;
use std::io::Read;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    let input: serde_json::Value = serde_json::from_str(&text)?;
    let ledger: Vec<LedgerEntry> = serde_json::from_value(input["ledger"].clone())?;
    let options: ActivityOptions = match input.get("options") {
        Some(o) => serde_json::from_value(o.clone())?,
        None => ActivityOptions::default(),
    };
    let activity = Activity::from_ledger(&ledger, &options);
    let spec = activity.chart();
    match args.as_slice() {
        [] => println!("{}", serde_json::json!({ "spec": spec })),
        [flag, dir] if flag == "--html" => {
            let read = |p: &str| std::fs::read_to_string(Path::new(dir).join(p));
            let (vega, vega_lite, vega_embed) =
                (read("vega/build/vega.min.js")?, read("vega-lite/build/vega-lite.min.js")?, read("vega-embed/build/vega-embed.min.js")?);
            let scripts = VegaScripts::Inline { vega: &vega, vega_lite: &vega_lite, vega_embed: &vega_embed };
            print!("{}", standalone_html(&spec, &activity.title, &scripts));
        }
        _ => return Err("usage: activity_spec [--html NODE_MODULES] < input.json".into()),
    }
    Ok(())
}
