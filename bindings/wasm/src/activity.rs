//! `activityChart`, `parseLedgerJsonl`: `creditpool_core::activity`, the
//! activity dashboard of a pool's ledger as one Vega-Lite v5 specification.
//! (A live pool's dashboard is `RawPool.chart` / `RawPool.reportChart`.)

use creditpool_core::activity::{self, Activity, ActivityOptions};
use creditpool_core::pool::LedgerEntry;
use wasm_bindgen::prelude::*;

use crate::convert::{from_js, object, u64_js};
use crate::errors;

/// A spec (the core's `serde_json::Value`) as a JS value, through JSON text so
/// that it is exactly the core's JSON (key order included).
pub(crate) fn spec_js(spec: &serde_json::Value) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(spec).map_err(|e| errors::internal(&e.to_string()))?;
    js_sys::JSON::parse(&text).map_err(|_| errors::internal("cannot convert the activity chart"))
}

/// Every ledger entry of a JSON Lines text (blank lines skipped):
/// `activity::parse_ledger_jsonl`. A line that is not a ledger entry throws
/// an `InvalidOptionsError` (`type` `invalid_ledger`, `what` `ledger`, `line`
/// its number from 1).
#[wasm_bindgen(js_name = parseLedgerJsonl)]
pub fn parse_ledger_jsonl(text: &str) -> Result<JsValue, JsValue> {
    let entries = activity::parse_ledger_jsonl(text).map_err(|e| {
        let fields = object(&[("what", JsValue::from_str("ledger")), ("line", u64_js(e.line as u64))]);
        errors::make("invalid_options", "invalid_ledger", &format!("invalid ledger: {e}"), fields)
    })?;
    crate::convert::to_js(&entries)
}

/// The Vega-Lite specification of the activity in `ledger` (the pool's
/// ledger entries, as `onLedger` hands them out, in any order), with the
/// core's `ActivityOptions` JSON (`limit`, `thresholds_pct`,
/// `cycle_start_ms`, `title`; null for the defaults).
#[wasm_bindgen(js_name = activityChart)]
pub fn activity_chart(ledger: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    let ledger: Vec<LedgerEntry> = from_js(ledger, "ledger", "invalid_argument")?;
    let options: ActivityOptions =
        if options.is_undefined() || options.is_null() { ActivityOptions::default() } else { from_js(options, "activity options", "invalid_argument")? };
    spec_js(&Activity::from_ledger(&ledger, &options).chart())
}
