//! Ledger lines: arbitrary text through `activity::parse_ledger_jsonl` (and
//! the whole input as one `pool::LedgerEntry`), then the activity dashboard
//! drawn from whatever entries were read, values as hostile as they come
//! (times and amounts up to `u64::MAX`, any cycle, any order).
//!
//! Checks, besides "never panics" (overflow checks are on in fuzz builds):
//! * every entry read writes back (`to_json_line`) and reads to itself;
//! * the activity and its chart serialize.
#![no_main]

use creditpool_core::activity::{parse_ledger_jsonl, Activity, ActivityOptions};
use creditpool_core::pool::LedgerEntry;
use creditpool_core::Money;
use creditpool_fuzz::text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = serde_json::from_slice::<LedgerEntry>(data) {
        let back = parse_ledger_jsonl(&e.to_json_line()).expect("an entry's own line reads back");
        assert_eq!(back, vec![e]);
    }

    let s = text(data);
    let Ok(entries) = parse_ledger_jsonl(&s) else { return };
    let lines: String = entries.iter().map(LedgerEntry::to_json_line).collect();
    assert_eq!(parse_ledger_jsonl(&lines).expect("the ledger's own lines read back"), entries);

    // The dashboard with the default options, then with a limit (the first
    // entry's reservation) and the cycle of the last entry.
    let activity = Activity::from_ledger(&entries, &ActivityOptions::default());
    let _ = serde_json::to_string(&activity).expect("an activity serializes");
    let _ = serde_json::to_string(&activity.chart()).expect("a chart serializes");
    if let (Some(first), Some(last)) = (entries.first(), entries.last()) {
        let options = ActivityOptions {
            limit: Some(Money::from_nanos(first.reserved.nanos().max(1))),
            thresholds_pct: vec![0, 50, 100, 100, 250, u32::MAX],
            cycle_start_ms: Some(last.cycle_start_ms),
            title: Some(format!("ledger \"{}\"", last.agent.as_str())),
        };
        let activity = Activity::from_ledger(&entries, &options);
        let _ = serde_json::to_string(&activity.chart()).expect("a chart serializes");
    }
});
