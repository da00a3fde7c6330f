//! The activity dashboard as one Vega-Lite v5 specification.
//!
//! One `vconcat` of charts sharing a time axis (the span's buckets), the data
//! inline under `datasets`: cumulative spend against the limit with the
//! thresholds, spend per bucket stacked by agent, tool and model (totals per
//! name for a report), the cost of each request, and refusals when there are
//! any. Colours are explicit (`scale.domain` of sorted names, a fixed `range`),
//! so an agent keeps its colour in every chart and every language. The JSON
//! has no floats but the `dollars` fields, which are computed from integers the
//! same way everywhere.

use super::{decimals_for, usd_text, Activity, ActivitySource, BucketSpend, CONVERSATION};
use crate::money::Money;
use crate::pool::Name;
use crate::time::format_rfc3339;
use serde_json::{json, Map, Value};

/// The Vega-Lite schema the specification follows.
pub const SCHEMA: &str = "https://vega.github.io/schema/vega-lite/v5.json";

const WIDTH: u32 = 720;
const TALL: u32 = 220;
const SHORT: u32 = 150;

/// Agents: Tableau 10, then Category 20 when more are needed.
const AGENT_COLOURS: [&str; 10] = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac"];
const MANY_COLOURS: [&str; 20] = [
    "#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896", "#9467bd", "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2",
    "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d", "#17becf", "#9edae5",
];
/// Tools: Dark 2 (the conversation is grey).
const TOOL_COLOURS: [&str; 7] = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"];
const CONVERSATION_COLOUR: &str = "#c7c7c7";
/// Models: Set 1.
const MODEL_COLOURS: [&str; 8] = ["#377eb8", "#e41a1c", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf", "#999999"];
/// Refusal reasons.
const REASON_COLOURS: [&str; 6] = ["#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#7f7f7f"];
const LINE_COLOUR: &str = "#4c78a8";

fn names(v: &[Name]) -> Vec<&str> {
    v.iter().map(Name::as_str).collect()
}

fn palette(n: usize, base: &[&'static str]) -> Vec<&'static str> {
    let list: &[&'static str] = if n <= base.len() { base } else { &MANY_COLOURS };
    (0..n).map(|i| list.get(i % list.len()).copied().unwrap_or("#888888")).collect()
}

fn agent_scale(a: &Activity) -> Value {
    json!({"domain": names(&a.agents), "range": palette(a.agents.len(), &AGENT_COLOURS)})
}

fn tool_scale(a: &Activity) -> Value {
    let tools: Vec<&str> = names(&a.tools).into_iter().filter(|t| *t != CONVERSATION).collect();
    let mut range = palette(tools.len(), &TOOL_COLOURS);
    if a.tools.iter().any(|t| t.as_str() == CONVERSATION) {
        range.push(CONVERSATION_COLOUR);
    }
    json!({"domain": names(&a.tools), "range": range})
}

fn model_scale(a: &Activity) -> Value {
    json!({"domain": names(&a.models), "range": palette(a.models.len(), &MODEL_COLOURS)})
}

/// A d3 format for dollars with `decimals` decimals.
fn money_format(decimals: u32) -> String {
    format!("$,.{decimals}~f")
}

/// `2026-12-04 22:31 UTC`.
fn minute_text(ms: u64) -> String {
    let s = format_rfc3339(ms);
    format!("{} UTC", s.get(..16).unwrap_or(&s).replacen('T', " ", 1))
}

/// `2026-12-04 22:31:07 UTC`.
fn second_text(ms: u64) -> String {
    let s = format_rfc3339(ms);
    format!("{} UTC", s.get(..19).unwrap_or(&s).replacen('T', " ", 1))
}

/// A time-axis label format that fits the bucket width and the span.
fn time_format(a: &Activity) -> &'static str {
    let span = a.end_ms.saturating_sub(a.start_ms);
    if a.bucket_ms >= 86_400_000 {
        "%b %d"
    } else if span > 86_400_000 {
        "%b %d %H:%M"
    } else if a.bucket_ms >= 60_000 {
        "%H:%M"
    } else {
        "%H:%M:%S"
    }
}

fn time_x(a: &Activity, field: &str) -> Value {
    json!({
        "field": field, "type": "temporal", "title": format!("Time (UTC), buckets of {}", a.bucket_label),
        "scale": {"type": "utc", "domain": [a.start_ms, a.end_ms]},
        "axis": {"format": time_format(a), "labelOverlap": true, "tickCount": 8},
    })
}

fn time_tooltip(field: &str, title: &str) -> Value {
    json!({"field": field, "type": "nominal", "title": title})
}

/// Bucket rows with their stack bounds (`y0`, `y1`, dollars) and start as text,
/// stacked in the order of `order` (the colour domain) from the bottom up.
fn stacked_rows(rows: &[BucketSpend], order: &[Name]) -> Vec<Value> {
    let rank = |n: &Name| order.iter().position(|o| o == n).unwrap_or(usize::MAX);
    let mut sorted: Vec<&BucketSpend> = rows.iter().collect();
    sorted.sort_by(|a, b| a.start_ms.cmp(&b.start_ms).then_with(|| rank(&a.name).cmp(&rank(&b.name))).then_with(|| a.name.cmp(&b.name)));
    let mut out = Vec::with_capacity(sorted.len());
    let mut base = Money::ZERO;
    let mut bucket = None;
    for r in sorted {
        if bucket != Some(r.start_ms) {
            bucket = Some(r.start_ms);
            base = Money::ZERO;
        }
        let top = base.saturating_add(r.cost);
        let mut v = json!(r);
        v["start"] = json!(second_text(r.start_ms));
        v["y0"] = json!(super::dollars(base));
        v["y1"] = json!(super::dollars(top));
        out.push(v);
        base = top;
    }
    out
}

fn money_y(title: &str, max: Money) -> Value {
    json!({"field": "dollars", "type": "quantitative", "title": title, "axis": {"format": money_format(decimals_for(max))}})
}

fn money_tooltip(title: &str, max: Money) -> Value {
    json!({"field": "dollars", "type": "quantitative", "title": title, "format": money_format((decimals_for(max) + 2).min(9))})
}

fn max_cost<'a>(rows: impl Iterator<Item = &'a BucketSpend>) -> Money {
    rows.map(|r| r.cost).max().unwrap_or(Money::ZERO)
}

/// The largest stack of a per-bucket breakdown.
fn max_stack(rows: &[BucketSpend]) -> Money {
    let mut best = Money::ZERO;
    let mut i = 0;
    while let Some(first) = rows.get(i) {
        let sum: Money = rows[i..].iter().take_while(|r| r.start_ms == first.start_ms).map(|r| r.cost).sum();
        best = best.max(sum);
        i += rows[i..].iter().take_while(|r| r.start_ms == first.start_ms).count();
    }
    best
}

fn note_layer(text: &str, y: u32) -> Value {
    json!({
        "data": {"values": [{"note": text}]},
        "mark": {"type": "text", "fontSize": 16, "color": "#666666", "align": "center", "baseline": "middle"},
        "encoding": {"text": {"field": "note", "type": "nominal"}, "x": {"value": WIDTH / 2}, "y": {"value": y}},
    })
}

fn threshold_colour() -> Value {
    json!({"condition": [{"test": "datum.percent >= 100", "value": "#d62728"}, {"test": "datum.percent >= 90", "value": "#f58518"}], "value": "#8c8c8c"})
}

fn cumulative_chart(a: &Activity, data: &mut Map<String, Value>) -> Value {
    let empty = a.cumulative.is_empty();
    let top = a.thresholds.iter().map(|t| t.amount).chain(a.limit).chain(std::iter::once(a.spent)).max().unwrap_or(Money::ZERO);
    let top_dollars = super::dollars(top);
    let y_scale = if top.is_zero() { json!({"zero": true}) } else { json!({"domain": [0.0, top_dollars], "zero": true}) };
    let y = |title: &str| {
        let mut y = money_y(title, top);
        y["scale"] = y_scale.clone();
        y
    };
    let mut layers = Vec::new();
    if !empty {
        data.insert("cumulative".into(), json!(a.cumulative));
        let interpolate = match a.source {
            ActivitySource::Ledger => "step-after",
            ActivitySource::Report => "linear",
        };
        let x = time_x(a, "at_ms");
        layers.push(json!({
            "data": {"name": "cumulative"},
            "mark": {"type": "area", "interpolate": interpolate, "color": LINE_COLOUR, "opacity": 0.15},
            "encoding": {"x": x, "y": y("Settled spend")},
        }));
        layers.push(json!({
            "data": {"name": "cumulative"},
            "mark": {"type": "line", "interpolate": interpolate, "color": LINE_COLOUR, "strokeWidth": 2},
            "encoding": {"x": x, "y": y("Settled spend")},
        }));
    }
    if !a.thresholds.is_empty() {
        let rows: Vec<Value> = a
            .thresholds
            .iter()
            .map(|t| {
                json!({"percent": t.percent, "dollars": t.dollars, "label": t.label,
                       "crossed_at_ms": t.crossed_at_ms, "crossed_at": t.crossed_at_ms.map(second_text)})
            })
            .collect();
        data.insert("thresholds".into(), json!(rows));
        layers.push(json!({
            "data": {"name": "thresholds"},
            "mark": {"type": "rule", "strokeDash": [6, 4], "strokeWidth": 1.5},
            "encoding": {"y": y("Settled spend"), "color": threshold_colour(),
                         "tooltip": [{"field": "label", "type": "nominal", "title": "Threshold"},
                                     {"field": "crossed_at", "type": "nominal", "title": "Reached at"}]},
        }));
        layers.push(json!({
            "data": {"name": "thresholds"},
            "mark": {"type": "text", "align": "left", "baseline": "bottom", "dx": 4, "dy": -2, "fontSize": 11, "fontWeight": "bold"},
            "encoding": {"y": y("Settled spend"), "x": {"value": 0}, "text": {"field": "label", "type": "nominal"}, "color": threshold_colour()},
        }));
        let crossed: Vec<Value> = a
            .thresholds
            .iter()
            .filter_map(|t| {
                t.crossed_at_ms.map(|at| {
                    json!({"percent": t.percent, "dollars": t.dollars, "label": format!("{} reached", t.label),
                           "at_ms": at, "at": second_text(at)})
                })
            })
            .collect();
        if !crossed.is_empty() && !empty {
            data.insert("crossings".into(), json!(crossed));
            layers.push(json!({
                "data": {"name": "crossings"},
                "mark": {"type": "point", "shape": "diamond", "filled": true, "size": 160, "stroke": "#333333", "strokeWidth": 1, "opacity": 1},
                "encoding": {"x": time_x(a, "at_ms"), "y": y("Settled spend"), "color": threshold_colour(),
                             "tooltip": [{"field": "label", "type": "nominal", "title": "Alert"},
                                         time_tooltip("at", "At")]},
            }));
        }
    }
    let text = match (a.limit, empty) {
        (Some(l), false) => format!("Cumulative spend against the limit ({}), with the alert thresholds", usd_text(l, decimals_for(l))),
        (None, false) => "Cumulative spend (no limit given)".to_owned(),
        (Some(l), true) => format!("No spend yet: limit {}, alert thresholds shown", usd_text(l, decimals_for(l))),
        (None, true) => "No spend yet".to_owned(),
    };
    if empty {
        layers.push(note_layer("No spend yet", TALL * 3 / 4));
    }
    let subtitle = if empty { "Nothing settled in this ledger or cycle." } else { "Diamonds mark where spend reached a threshold (an alert fired)." };
    json!({"title": {"text": text, "subtitle": subtitle}, "width": WIDTH, "height": TALL, "layer": layers})
}

fn stacked_chart(a: &Activity, dataset: &str, rows: &[BucketSpend], what: &str, legend: &str, scale: Value) -> Value {
    let max = max_stack(rows);
    json!({
        "title": {"text": format!("Spend per {} by {what}", a.bucket_label), "subtitle": format!("Each bar is one {} bucket, stacked by {what}.", a.bucket_label)},
        "width": WIDTH, "height": SHORT,
        "data": {"name": dataset},
        "mark": {"type": "bar", "stroke": "white", "strokeWidth": 0.5},
        "encoding": {
            "x": time_x(a, "start_ms"), "x2": {"field": "end_ms"},
            "y": {"field": "y1", "type": "quantitative", "title": "Spend", "scale": {"zero": true}, "axis": {"format": money_format(decimals_for(max))}},
            "y2": {"field": "y0"},
            "color": {"field": "name", "type": "nominal", "title": legend, "scale": scale, "legend": {"orient": "right"}},
            "tooltip": [{"field": "name", "type": "nominal", "title": legend}, time_tooltip("start", "Bucket start"),
                        money_tooltip("Spend", max_cost(rows.iter())), {"field": "requests", "type": "quantitative", "title": "Requests"}],
        },
    })
}

fn totals_chart(dataset: &str, rows: &[BucketSpend], what: &str, legend: &str, scale: Value) -> Value {
    let max = max_cost(rows.iter());
    let mut x = money_y("Spend this cycle", max);
    x["axis"]["tickCount"] = json!(4);
    json!({
        "title": {"text": format!("Spend by {what}, this cycle")},
        "width": 200, "height": {"step": 18},
        "data": {"name": dataset},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "name", "type": "nominal", "title": null, "sort": "-x"},
            "x": x,
            "color": {"field": "name", "type": "nominal", "title": legend, "scale": scale, "legend": null},
            "tooltip": [{"field": "name", "type": "nominal", "title": legend}, money_tooltip("Spend", max),
                        {"field": "requests", "type": "quantitative", "title": "Requests"}],
        },
    })
}

fn requests_chart(a: &Activity) -> Value {
    let max = a.requests.iter().map(|r| r.cost).max().unwrap_or(Money::ZERO);
    json!({
        "title": {"text": "Cost per request", "subtitle": "Each point is one settled request; triangles are estimates (the reserved worst case of an attempt the API may have billed)."},
        "width": WIDTH, "height": SHORT,
        "data": {"name": "requests"},
        "mark": {"type": "point", "filled": true, "size": 70, "opacity": 0.85},
        "encoding": {
            "x": time_x(a, "at_ms"),
            "y": {"field": "dollars", "type": "quantitative", "title": "Cost", "scale": {"zero": true}, "axis": {"format": money_format(decimals_for(max))}},
            "color": {"field": "agent", "type": "nominal", "title": "Agent", "scale": agent_scale(a)},
            "shape": {"field": "exactness", "type": "nominal", "title": "Cost", "scale": {"domain": ["exact", "estimated"], "range": ["circle", "triangle-up"]}},
            "tooltip": [
                {"field": "at", "type": "nominal", "title": "Settled at (UTC)"},
                {"field": "agent", "type": "nominal", "title": "Agent"},
                {"field": "model", "type": "nominal", "title": "Model"},
                {"field": "request_id", "type": "nominal", "title": "Request ID"},
                money_tooltip("Cost", max),
                {"field": "exactness", "type": "nominal", "title": "Exact or estimated"},
                {"field": "late", "type": "nominal", "title": "Late settle"},
            ],
        },
    })
}

/// An axis of whole counts up to `max`: integer ticks only.
fn count_axis(max: u64) -> Value {
    if max <= 10 {
        json!({"values": (0..=max).collect::<Vec<u64>>(), "format": "d"})
    } else {
        json!({"tickMinStep": 1, "format": "d"})
    }
}

fn refusals_chart(a: &Activity, data: &mut Map<String, Value>) -> Value {
    let timed = a.refusals.iter().all(|r| r.start_ms.is_some());
    if timed {
        let mut reasons: Vec<&str> = a.refusals.iter().map(|r| r.reason.as_str()).collect();
        reasons.sort_unstable();
        reasons.dedup();
        // Stacked by reason, then agent, from the bottom up.
        let mut sorted: Vec<_> = a.refusals.iter().collect();
        sorted.sort_by(|x, y| x.start_ms.cmp(&y.start_ms).then_with(|| x.reason.cmp(&y.reason)).then_with(|| x.agent.cmp(&y.agent)));
        let mut rows = Vec::with_capacity(sorted.len());
        let (mut bucket, mut base) = (None, 0u64);
        for r in sorted {
            if bucket != r.start_ms {
                bucket = r.start_ms;
                base = 0;
            }
            let mut v = json!(r);
            v["start"] = json!(r.start_ms.map(second_text));
            v["y0"] = json!(base);
            base = base.saturating_add(r.count);
            v["y1"] = json!(base);
            rows.push(v);
        }
        let max = rows.iter().filter_map(|r| r["y1"].as_u64()).max().unwrap_or(0);
        data.insert("refusals".into(), json!(rows));
        let range = palette(reasons.len(), &REASON_COLOURS);
        json!({
            "title": {"text": format!("Refusals per {} by reason", a.bucket_label), "subtitle": "Reservations the pool refused, before anything was sent."},
            "width": WIDTH, "height": SHORT,
            "data": {"name": "refusals"},
            "mark": {"type": "bar", "stroke": "white", "strokeWidth": 0.5},
            "encoding": {
                "x": time_x(a, "start_ms"), "x2": {"field": "end_ms"},
                "y": {"field": "y1", "type": "quantitative", "title": "Refusals", "scale": {"zero": true}, "axis": count_axis(max)},
                "y2": {"field": "y0"},
                "color": {"field": "reason", "type": "nominal", "title": "Reason", "scale": {"domain": reasons, "range": range}},
                "tooltip": [{"field": "reason", "type": "nominal", "title": "Reason"}, {"field": "agent", "type": "nominal", "title": "Agent"},
                            time_tooltip("start", "Bucket start"), {"field": "count", "type": "quantitative", "title": "Refusals"}],
            },
        })
    } else {
        data.insert("refusals".into(), json!(a.refusals));
        json!({
            "title": {"text": "Refused reservations this cycle, by agent", "subtitle": "The report counts refusals per agent, without their times or reasons."},
            "width": WIDTH, "height": {"step": 18},
            "data": {"name": "refusals"},
            "mark": {"type": "bar"},
            "encoding": {
                "y": {"field": "agent", "type": "nominal", "title": null, "sort": "-x"},
                "x": {"field": "count", "type": "quantitative", "title": "Refusals", "axis": count_axis(a.refusals.iter().map(|r| r.count).max().unwrap_or(0))},
                "color": {"field": "agent", "type": "nominal", "title": "Agent", "scale": agent_scale(a), "legend": null},
                "tooltip": [{"field": "agent", "type": "nominal", "title": "Agent"}, {"field": "count", "type": "quantitative", "title": "Refusals"}],
            },
        })
    }
}

fn subtitle(a: &Activity) -> Vec<String> {
    let mut lines = Vec::new();
    let spent = usd_text(a.spent, if a.spent.is_zero() { 2 } else { (decimals_for(a.spent) + 1).min(9) });
    lines.push(match a.limit {
        Some(l) if !l.is_zero() => {
            let permille = u128::from(a.spent.nanos()) * 1000 / u128::from(l.nanos());
            let pct = if permille == 0 && !a.spent.is_zero() { "under 0.1".to_owned() } else { format!("{}.{}", permille / 10, permille % 10) };
            format!("Spent {spent} of the {} limit ({pct} %).", usd_text(l, decimals_for(l)))
        }
        Some(l) => format!("Spent {spent} of the {} limit.", usd_text(l, decimals_for(l))),
        None => format!("Spent {spent} (no limit given)."),
    });
    let mut counts = format!("{} request{} settled", a.settles, if a.settles == 1 { "" } else { "s" });
    if a.source == ActivitySource::Ledger {
        counts.push_str(&format!(" ({} estimated, {} late), {} released, {} expired", a.estimated, a.late, a.releases, a.expiries));
    }
    let refused: u64 = a.refusals.iter().map(|r| r.count).sum();
    if refused > 0 {
        counts.push_str(&format!(", {refused} refused"));
    }
    counts.push('.');
    lines.push(counts);
    let mut when = match (a.cycle_start_ms, a.cycle_end_ms) {
        (Some(s), Some(e)) => format!("Cycle {} to {}.", minute_text(s), minute_text(e)),
        (Some(s), None) => format!("Cycle from {}.", minute_text(s)),
        _ => String::new(),
    };
    if !a.cumulative.is_empty() {
        if !when.is_empty() {
            when.push(' ');
        }
        let (from, to) = if a.bucket_ms < 60_000 { (second_text(a.start_ms), second_text(a.end_ms)) } else { (minute_text(a.start_ms), minute_text(a.end_ms)) };
        when.push_str(&format!("Drawn from {from} to {to}, in buckets of {}.", a.bucket_label));
    }
    if !when.is_empty() {
        lines.push(when);
    }
    lines
}

pub(super) fn chart(a: &Activity) -> Value {
    let mut data = Map::new();
    let mut rows = vec![cumulative_chart(a, &mut data)];
    if !a.cumulative.is_empty() {
        if a.per_bucket {
            data.insert("by_agent".into(), json!(stacked_rows(&a.by_agent, &a.agents)));
            data.insert("by_tool".into(), json!(stacked_rows(&a.by_tool, &a.tools)));
            data.insert("by_model".into(), json!(stacked_rows(&a.by_model, &a.models)));
            rows.push(stacked_chart(a, "by_agent", &a.by_agent, "agent", "Agent", agent_scale(a)));
            rows.push(stacked_chart(a, "by_tool", &a.by_tool, "tool", "Tool", tool_scale(a)));
            rows.push(stacked_chart(a, "by_model", &a.by_model, "model", "Model", model_scale(a)));
        } else {
            data.insert("buckets".into(), json!(stacked_rows(&a.buckets, &[])));
            data.insert("by_agent".into(), json!(a.by_agent));
            data.insert("by_tool".into(), json!(a.by_tool));
            data.insert("by_model".into(), json!(a.by_model));
            let max = max_cost(a.buckets.iter());
            rows.push(json!({
                "title": {"text": format!("Spend per {}, all agents", a.bucket_label), "subtitle": "A report keeps totals per bucket; a ledger also splits them by agent, tool and model."},
                "width": WIDTH, "height": SHORT,
                "data": {"name": "buckets"},
                "mark": {"type": "bar", "color": LINE_COLOUR, "stroke": "white", "strokeWidth": 0.5},
                "encoding": {"x": time_x(a, "start_ms"), "x2": {"field": "end_ms"},
                             "y": {"field": "y1", "type": "quantitative", "title": "Spend", "scale": {"zero": true}, "axis": {"format": money_format(decimals_for(max))}},
                             "y2": {"field": "y0"},
                             "tooltip": [time_tooltip("start", "Bucket start"), money_tooltip("Spend", max),
                                         {"field": "requests", "type": "quantitative", "title": "Requests"}]},
            }));
            rows.push(json!({"hconcat": [
                totals_chart("by_agent", &a.by_agent, "agent", "Agent", agent_scale(a)),
                totals_chart("by_tool", &a.by_tool, "tool", "Tool", tool_scale(a)),
                totals_chart("by_model", &a.by_model, "model", "Model", model_scale(a)),
            ], "spacing": 40, "resolve": {"scale": {"color": "independent", "x": "independent", "y": "independent"}}}));
        }
        if !a.requests.is_empty() {
            data.insert("requests".into(), json!(a.requests));
            rows.push(requests_chart(a));
        }
    }
    if !a.refusals.is_empty() {
        rows.push(refusals_chart(a, &mut data));
    }
    json!({
        "$schema": SCHEMA,
        "title": {"text": a.title, "subtitle": subtitle(a), "anchor": "start", "fontSize": 18, "subtitleFontSize": 12, "subtitleColor": "#555555", "offset": 12},
        "datasets": data,
        "vconcat": rows,
        "spacing": 30,
        "resolve": {
            "scale": {"color": "independent", "shape": "independent", "x": "independent", "y": "independent"},
            "legend": {"color": "independent", "shape": "independent"},
        },
        "config": {
            "view": {"stroke": "#dddddd"},
            "title": {"anchor": "start", "fontSize": 13, "subtitleFontSize": 11, "subtitleColor": "#666666"},
            "axis": {"labelFontSize": 11, "titleFontSize": 11, "titleColor": "#444444"},
            "legend": {"labelLimit": 260, "titleFontSize": 11, "labelFontSize": 11},
        },
    })
}
