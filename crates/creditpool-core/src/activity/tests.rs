//! Unit tests of the activity data and chart. (The conformance vectors and the
//! Vega-Lite schema check live in `tests/`.)

use super::*;
use crate::pool::{AttributionInput, CycleSpec, ToolPart, ToolShare};

fn m(n: u64) -> Money {
    Money::from_nanos(n)
}

fn pool(limit: u64) -> Pool {
    let mut c = PoolConfig::new(m(limit));
    c.cycle = CycleSpec::Fixed { start_ms: 0, length_ms: 86_400_000 };
    c.report_bucket_ms = 60_000;
    Pool::new(c, 0).unwrap()
}

fn drain(p: &mut Pool) -> Vec<LedgerEntry> {
    std::iter::from_fn(|| p.poll_ledger()).collect()
}

#[test]
fn ladder_fits_sixty_buckets() {
    assert_eq!(bucket_width_ms(0, 0), 1_000);
    assert_eq!(bucket_width_ms(0, 59_999), 1_000);
    assert_eq!(bucket_width_ms(0, 60_000), 10_000);
    assert_eq!(bucket_width_ms(1_000_000, 1_000_000 + 3_600_000), 300_000);
    assert_eq!(bucket_width_ms(0, 30 * DAY_MS), DAY_MS);
    assert_eq!(bucket_width_ms(0, 200 * DAY_MS), 4 * DAY_MS);
    assert_eq!(pad_span(10_000, 11_000, 1_000), (6_000, 16_000));
    assert_eq!(pad_span(0, 2_000, 1_000), (0, 10_000));
    assert_eq!(pad_span(0, 60_000, 1_000), (0, 60_000));
    assert_eq!(width_label(60_000), "1 min");
    assert_eq!(width_label(DAY_MS * 2), "2 days");
    assert_eq!(width_label(1_500), "1500 ms");
}

#[test]
fn money_text() {
    assert_eq!(usd_text(m(40_000_000), 2), "$0.04");
    assert_eq!(usd_text(m(1_234_567_890_000), 2), "$1,234.57");
    assert_eq!(usd_text(m(15_000), 6), "$0.000015");
    assert_eq!(decimals_for(m(40_000_000)), 3);
    assert_eq!(decimals_for(m(5_000_000_000)), 2);
    assert_eq!(decimals_for(m(0)), 2);
    assert_eq!(decimals_for(m(1)), 9);
}

#[test]
fn empty_ledger_draws_a_note() {
    let a = Activity::from_ledger(&[], &ActivityOptions { limit: Some(m(1_000_000_000)), ..ActivityOptions::default() });
    assert!(a.is_empty());
    assert_eq!(a.thresholds.len(), 4);
    let spec = a.chart();
    assert_eq!(spec["$schema"], "https://vega.github.io/schema/vega-lite/v5.json");
    let text = spec.to_string();
    assert!(text.contains("No spend yet"));
    assert!(text.contains("75 % ($0.75)"));
    // Without a limit: only the note.
    let spec = Activity::from_ledger(&[], &ActivityOptions::default()).chart();
    assert_eq!(spec["vconcat"].as_array().map(Vec::len), Some(1));
}

#[test]
fn ledger_crossings_buckets_and_colours() {
    let mut p = pool(1_000_000);
    let mut input = AttributionInput::new("claude-haiku-4-5");
    input.input_cost = m(100_000);
    input.output_cost = m(100_000);
    input.input_bytes = 1_000;
    input.output_bytes = 100;
    input.tools = vec![ToolShare { tool: "search".into(), part: ToolPart::Definition, bytes: 500 }];
    for (i, agent) in ["b", "a", "b"].iter().enumerate() {
        let t = 10_000 + i as u64 * 20_000;
        let r = p.reserve(agent, m(300_000), t).unwrap();
        p.settle(r.id, m(200_000), Some(&input), t + 5_000).unwrap();
    }
    let r = p.reserve("c", m(100_000), 70_000).unwrap();
    p.release(r.id, 71_000).unwrap();
    let ledger = drain(&mut p);
    let opts = ActivityOptions { limit: Some(m(1_000_000)), ..ActivityOptions::default() };
    let a = Activity::from_ledger(&ledger, &opts);
    assert_eq!((a.settles, a.releases, a.spent), (3, 1, m(600_000)));
    // 15 s to 71 s: 57 one-second buckets.
    assert_eq!(a.bucket_ms, 1_000);
    assert_eq!(a.thresholds[0].crossed_at_ms, Some(55_000));
    assert_eq!(a.thresholds[1].crossed_at_ms, None);
    assert_eq!(names(&a.agents), ["a", "b"]);
    assert_eq!(names(&a.tools), ["search", CONVERSATION]);
    let tool_sum: Money = a.by_tool.iter().map(|r| r.cost).sum();
    assert_eq!(tool_sum, a.spent);
    assert_eq!(a.cumulative.first().map(|p| (p.at_ms, p.spent)), Some((15_000, Money::ZERO)));
    assert_eq!(a.cumulative.last().map(|p| (p.at_ms, p.spent)), Some((72_000, m(600_000))));
    let spec = a.chart();
    // One agent domain everywhere it appears.
    let text = spec.to_string();
    assert_eq!(text.matches(r##""domain":["a","b"],"range":["#4c78a8","#f58518"]"##).count(), 2);
    // Same input, same bytes, whatever the entries' order.
    let mut shuffled = ledger.clone();
    shuffled.reverse();
    assert_eq!(Activity::from_ledger(&shuffled, &opts).chart().to_string(), text);
}

fn names(v: &[Name]) -> Vec<&str> {
    v.iter().map(Name::as_str).collect()
}

#[test]
fn ledger_picks_the_latest_cycle() {
    let mut p = pool(1_000_000);
    let r = p.reserve("a", m(10), 1_000).unwrap();
    p.settle(r.id, m(10), None, 2_000).unwrap();
    let mut ledger = drain(&mut p);
    let mut later = ledger[0].clone();
    later.cycle_start_ms = 86_400_000;
    later.at_ms = 86_400_500;
    later.cost = m(7);
    ledger.push(later);
    let a = Activity::from_ledger(&ledger, &ActivityOptions::default());
    assert_eq!((a.spent, a.cycle_start_ms), (m(7), Some(86_400_000)));
    let a = Activity::from_ledger(&ledger, &ActivityOptions { cycle_start_ms: Some(0), ..ActivityOptions::default() });
    assert_eq!(a.spent, m(10));
    assert!(a.limit.is_none() && a.thresholds.is_empty());
}

#[test]
fn from_pool_uses_the_report() {
    let mut p = pool(1_000_000);
    for (agent, t) in [("x", 1_000), ("y", 200_000), ("x", 400_000)] {
        let r = p.reserve(agent, m(400_000), t).unwrap();
        p.settle(r.id, m(300_000), None, t + 1).unwrap();
    }
    assert!(p.reserve("y", m(400_000), 500_000).is_err());
    let a = Activity::from_pool(&p, 500_000);
    assert_eq!(a.source, ActivitySource::Report);
    assert!(!a.per_bucket);
    assert_eq!(a.spent, m(900_000));
    assert_eq!(a.bucket_ms, 60_000);
    assert_eq!(a.thresholds[0].crossed_at_ms, Some(240_000));
    assert_eq!(a.thresholds[2].crossed_at_ms, Some(420_000));
    assert_eq!(a.refusals.len(), 1);
    assert_eq!(a.refusals[0].agent.as_str(), "y");
    let spec = p.report(500_000).chart();
    assert_eq!(spec["title"]["text"], "Pool \"default\" activity");
    assert!(spec["datasets"]["refusals"].is_array());
}

#[test]
fn timed_refusals_by_reason() {
    let refusals = [
        RefusalEvent { at_ms: 5_000, agent: Name::new("a"), reason: "agent_cap".into() },
        RefusalEvent { at_ms: 5_500, agent: Name::new("a"), reason: "agent_cap".into() },
    ];
    let a = Activity::from_ledger_with_refusals(&[], &refusals, &ActivityOptions::default());
    assert_eq!(a.refusals.len(), 1);
    assert_eq!(a.refusals[0].count, 2);
    assert_eq!(a.refusals[0].start_ms, Some(5_000));
    let spec = a.chart();
    assert!(spec.to_string().contains("Refusals per 1 s by reason"));
}

#[test]
fn jsonl_parse_reports_the_line() {
    let e = parse_ledger_jsonl("\n{\"seq\": 1}\n").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(parse_ledger_jsonl("\n  \n").unwrap().is_empty());
}

#[test]
fn options_are_strict() {
    assert!(serde_json::from_str::<ActivityOptions>(r#"{"limits": 1}"#).is_err());
    let o: ActivityOptions = serde_json::from_str(r#"{"limit": 5, "thresholds_pct": [90, 50, 50, 0]}"#).unwrap();
    assert_eq!(o.thresholds(), [50, 90]);
}
