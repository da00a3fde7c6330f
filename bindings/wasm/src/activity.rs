//! `activityChart`: `creditpool_core::activity`, the activity dashboard of a
//! pool's ledger as one Vega-Lite v5 specification.

use creditpool_core::activity::{Activity, ActivityOptions};
use creditpool_core::pool::LedgerEntry;
use wasm_bindgen::prelude::*;

use crate::convert::from_js;
use crate::errors;

/// The Vega-Lite specification of the activity in `ledger` (the pool's
/// ledger entries, as `onLedger` hands them out, in any order), with the
/// core's `ActivityOptions` JSON (`limit`, `thresholds_pct`,
/// `cycle_start_ms`, `title`; null for the defaults).
#[wasm_bindgen(js_name = activityChart)]
pub fn activity_chart(ledger: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    let ledger: Vec<LedgerEntry> = from_js(ledger, "ledger", "invalid_argument")?;
    let options: ActivityOptions =
        if options.is_undefined() || options.is_null() { ActivityOptions::default() } else { from_js(options, "activity options", "invalid_argument")? };
    let spec = Activity::from_ledger(&ledger, &options).chart();
    // Through JSON text, so that the spec is exactly the core's JSON.
    let text = serde_json::to_string(&spec).map_err(|e| errors::internal(&e.to_string()))?;
    js_sys::JSON::parse(&text).map_err(|_| errors::internal("cannot convert the activity chart"))
}
