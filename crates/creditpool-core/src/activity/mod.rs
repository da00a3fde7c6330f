//! Pool activity as data and as one chart: what was spent, when, by whom, on
//! which tools and models, against the limit and its alert thresholds.
//!
//! An [`Activity`] is built from a pool's [`Report`] ([`Activity::from_report`])
//! or from any ledger, a sequence of [`LedgerEntry`] ([`Activity::from_ledger`];
//! [`parse_ledger_jsonl`] reads the JSON Lines file). It holds:
//!
//! * cumulative settled spend over the cycle against the limit, with the
//!   thresholds (50 / 75 / 90 / 100 % by default) and when spend crossed each;
//! * spend per time bucket, stacked by agent, by tool (the conversation, what
//!   no tool was charged, is a stack of its own) and by model;
//! * the cost of each request (one point per settle: agent, model, cost,
//!   estimated or exact, late);
//! * refusals (over time by reason when the source has them; a report only
//!   counts them per agent).
//!
//! Bucket widths come from a fixed ladder (1 s, 10 s, 1 min, 5 min, 15 min,
//! 1 h, 6 h, 1 day, then whole days) so that a span takes at most
//! [`MAX_BUCKETS`] buckets. Ledger buckets are aligned on multiples of the width
//! since the Unix epoch (days at UTC midnight); a report's keep its alignment
//! on the cycle's start. Amounts are integer nano-USD, each with a `dollars`
//! float beside it for display only. Lists are sorted (by time, then name), so
//! the same input gives the same output, byte for byte, in every language.
//!
//! [`Activity::chart`] turns it into one Vega-Lite v5 specification, and
//! [`standalone_html`] into a page that draws it (see `docs/ACTIVITY.md`).

mod chart;
mod html;

pub use html::{standalone_html, VegaScripts, VEGA_EMBED_VERSION, VEGA_LITE_VERSION, VEGA_VERSION};

use crate::money::{Money, NANOS_PER_USD};
use crate::pool::alerts::reached;
use crate::pool::{LedgerEntry, LedgerKind, Name, Pool, PoolConfig, Report, DEFAULT_THRESHOLDS_PCT};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// At most this many buckets across the span (the ladder's widths are chosen
/// to stay within it).
pub const MAX_BUCKETS: u64 = 60;

/// A span of fewer buckets is drawn at least this wide, centred (a single
/// request is a bar among empty buckets, not a bar across the whole chart).
pub const MIN_BUCKETS_SHOWN: u64 = 10;

/// `start..end` (bucket bounds) widened to at least [`MIN_BUCKETS_SHOWN`] buckets, centred.
fn pad_span(start: u64, end: u64, width: u64) -> (u64, u64) {
    let n = end.saturating_sub(start) / width.max(1);
    if n >= MIN_BUCKETS_SHOWN {
        return (start, end);
    }
    let before = (MIN_BUCKETS_SHOWN - n) / 2;
    let after = MIN_BUCKETS_SHOWN - n - before;
    let from = start.saturating_sub(before * width);
    (from, end.saturating_add(after * width).max(from.saturating_add(MIN_BUCKETS_SHOWN * width)))
}

/// The ladder of bucket widths, in milliseconds; past the last, whole days.
pub const BUCKET_LADDER_MS: [u64; 8] = [1_000, 10_000, 60_000, 300_000, 900_000, 3_600_000, 21_600_000, DAY_MS];

const DAY_MS: u64 = 86_400_000;

/// The stack of a request's cost that no tool was charged.
pub const CONVERSATION: &str = "(conversation)";
/// The model of a settle that named none.
pub const NO_MODEL: &str = "(no model)";

/// What to draw, beyond what the source holds.
///
/// JSON, every field optional: `{"limit": 40000000, "thresholds_pct": [50, 75,
/// 90, 100], "cycle_start_ms": 1795570181123, "title": "Pool activity"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityOptions {
    /// The limit, in nano-USD. A ledger has none: without it, spend is drawn
    /// without the limit and thresholds. For a report, this replaces the
    /// report's limit when set.
    #[serde(default)]
    pub limit: Option<Money>,
    /// The thresholds in percent of the limit (the pool's `alerts.thresholds_pct`;
    /// sorted and deduplicated here, zeros dropped).
    #[serde(default = "default_thresholds")]
    pub thresholds_pct: Vec<u32>,
    /// For a ledger: the cycle to draw, by its `cycle_start_ms` (default: the
    /// latest cycle in the ledger). Entries of other cycles are left out.
    #[serde(default)]
    pub cycle_start_ms: Option<u64>,
    /// The dashboard's title (default: `Pool activity`, or `Pool "ID"
    /// activity` for a report).
    #[serde(default)]
    pub title: Option<String>,
}

fn default_thresholds() -> Vec<u32> {
    DEFAULT_THRESHOLDS_PCT.to_vec()
}

impl Default for ActivityOptions {
    fn default() -> ActivityOptions {
        ActivityOptions { limit: None, thresholds_pct: default_thresholds(), cycle_start_ms: None, title: None }
    }
}

impl ActivityOptions {
    /// The options of a pool's configuration: its limit at creation and its
    /// alert thresholds.
    pub fn from_config(config: &PoolConfig) -> ActivityOptions {
        ActivityOptions { limit: Some(config.limit), thresholds_pct: config.alerts.thresholds_pct.clone(), cycle_start_ms: None, title: None }
    }

    /// The options for drawing a report of the pool with this configuration:
    /// its thresholds, and the limit the report itself carries (which a
    /// change of limit may have moved from the configured one).
    pub fn for_report_of(config: &PoolConfig) -> ActivityOptions {
        ActivityOptions { limit: None, ..ActivityOptions::from_config(config) }
    }

    fn thresholds(&self) -> Vec<u32> {
        let mut t: Vec<u32> = self.thresholds_pct.iter().copied().filter(|p| *p > 0).collect();
        t.sort_unstable();
        t.dedup();
        t
    }
}

/// Where an [`Activity`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivitySource {
    /// A pool's report: totals per bucket, per agent, tool and model.
    Report,
    /// A ledger: every settle, release and expiry.
    Ledger,
}

/// A threshold line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// Percent of the limit.
    pub percent: u32,
    /// The smallest spend that reaches it (the alert rule: `spend * 100 >=
    /// percent * limit`), nano-USD.
    pub amount: Money,
    /// `amount` in dollars (display only).
    pub dollars: f64,
    /// Its label, e.g. `75 % ($0.03)`.
    pub label: String,
    /// When settled spend reached it: the settle's time for a ledger, the end
    /// of the bucket in which it was reached for a report. `None` if not reached.
    pub crossed_at_ms: Option<u64>,
}

/// Cumulative settled spend at one instant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CumulativePoint {
    /// The instant, Unix milliseconds.
    pub at_ms: u64,
    /// Settled spend up to it, nano-USD.
    pub spent: Money,
    /// `spent` in dollars (display only).
    pub dollars: f64,
}

/// Spend in one time bucket, in total or for one name (agent, tool or model).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BucketSpend {
    /// The bucket's start, Unix milliseconds.
    pub start_ms: u64,
    /// Its end (exclusive).
    pub end_ms: u64,
    /// The agent, tool or model (`all` for a total).
    pub name: Name,
    /// Settled cost, nano-USD.
    pub cost: Money,
    /// `cost` in dollars (display only).
    pub dollars: f64,
    /// Settles that counted here.
    pub requests: u64,
}

/// One settled request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestPoint {
    /// When it settled, Unix milliseconds.
    pub at_ms: u64,
    /// The same, RFC 3339 in UTC (for tooltips).
    pub at: String,
    /// The agent.
    pub agent: Name,
    /// The model ([`NO_MODEL`] when the settle named none).
    pub model: Name,
    /// Its cost, nano-USD.
    pub cost: Money,
    /// `cost` in dollars (display only).
    pub dollars: f64,
    /// Whether the cost is the reserved worst case of an attempt whose usage is unknown.
    pub estimated: bool,
    /// `estimated` or `exact`.
    pub exactness: String,
    /// Whether it settled after its reservation had expired.
    pub late: bool,
    /// The API's request ID, if known.
    pub request_id: Option<String>,
    /// The reservation.
    pub reservation_id: u64,
}

/// Refusals of one reason for one agent, in one bucket when their times are known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalCount {
    /// The bucket's start (`None`: the whole cycle, time unknown).
    pub start_ms: Option<u64>,
    /// The bucket's end.
    pub end_ms: Option<u64>,
    /// The agent.
    pub agent: Name,
    /// The refusal's reason (`pool_exhausted`, `agent_cap`, ...), or `refused`
    /// when unknown (a report counts refusals without reasons).
    pub reason: String,
    /// How many.
    pub count: u64,
}

/// A refusal seen by whoever drove the pool (the ledger does not record them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefusalEvent {
    /// When, Unix milliseconds.
    pub at_ms: u64,
    /// The agent refused.
    pub agent: Name,
    /// The reason, as [`Refusal::reason`](crate::pool::Refusal::reason) names it.
    pub reason: String,
}

/// A pool's activity (see the module documentation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// Where it came from.
    pub source: ActivitySource,
    /// The dashboard's title.
    pub title: String,
    /// The pool, when known (a report).
    pub pool_id: Option<Name>,
    /// The cycle's start, Unix milliseconds.
    pub cycle_start_ms: Option<u64>,
    /// The cycle's end, when known (a report).
    pub cycle_end_ms: Option<u64>,
    /// The drawn span's start (a bucket's start), Unix milliseconds: the
    /// first bucket with activity, or earlier to show at least
    /// [`MIN_BUCKETS_SHOWN`] buckets.
    pub start_ms: u64,
    /// The drawn span's end (a bucket's end).
    pub end_ms: u64,
    /// The bucket width, milliseconds.
    pub bucket_ms: u64,
    /// The bucket width in words (`1 min`).
    pub bucket_label: String,
    /// The limit, nano-USD, when known.
    pub limit: Option<Money>,
    /// `limit` in dollars (display only).
    pub limit_dollars: Option<f64>,
    /// Settled spend in the drawn cycle, nano-USD.
    pub spent: Money,
    /// `spent` in dollars (display only).
    pub spent_dollars: f64,
    /// Settles (requests).
    pub settles: u64,
    /// Of which estimated.
    pub estimated: u64,
    /// Of which late.
    pub late: u64,
    /// Releases (a ledger only).
    pub releases: u64,
    /// Expiries (a ledger only).
    pub expiries: u64,
    /// The thresholds, ascending (empty without a limit).
    pub thresholds: Vec<Threshold>,
    /// Cumulative settled spend: from zero at the span's start to `spent` at
    /// its end.
    pub cumulative: Vec<CumulativePoint>,
    /// Whether `by_agent`, `by_tool` and `by_model` are per bucket (a ledger)
    /// or one total per name over the span (a report).
    pub per_bucket: bool,
    /// Total spend per bucket (name `all`), buckets with settles only.
    pub buckets: Vec<BucketSpend>,
    /// Spend by agent.
    pub by_agent: Vec<BucketSpend>,
    /// Spend by tool, the conversation as [`CONVERSATION`].
    pub by_tool: Vec<BucketSpend>,
    /// Spend by model.
    pub by_model: Vec<BucketSpend>,
    /// Every settled request, in ledger order (empty for a report).
    pub requests: Vec<RequestPoint>,
    /// Refusals.
    pub refusals: Vec<RefusalCount>,
    /// Every agent that appears, sorted (the colour domain shared by the charts).
    pub agents: Vec<Name>,
    /// Every tool that appears, sorted, [`CONVERSATION`] last when present.
    pub tools: Vec<Name>,
    /// Every model that appears, sorted.
    pub models: Vec<Name>,
}

/// A line of a JSON Lines ledger that is not a [`LedgerEntry`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("ledger line {line}: {message}")]
pub struct LedgerParseError {
    /// The line, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

/// Reads a JSON Lines ledger (one [`LedgerEntry`] per line; blank lines are skipped).
pub fn parse_ledger_jsonl(text: &str) -> Result<Vec<LedgerEntry>, LedgerParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let e: LedgerEntry = serde_json::from_str(line).map_err(|e| LedgerParseError { line: i + 1, message: e.to_string() })?;
        out.push(e);
    }
    Ok(out)
}

/// Dollars as a float, for display only.
pub fn dollars(m: Money) -> f64 {
    m.nanos() as f64 / NANOS_PER_USD as f64
}

/// The bucket width for a span: the smallest ladder width that puts `first_ms`
/// and `last_ms` at most [`MAX_BUCKETS`] buckets apart (epoch-aligned), else
/// whole days.
pub fn bucket_width_ms(first_ms: u64, last_ms: u64) -> u64 {
    let last = last_ms.max(first_ms);
    for w in BUCKET_LADDER_MS {
        if last / w - first_ms / w < MAX_BUCKETS {
            return w;
        }
    }
    let days = (last / DAY_MS - first_ms / DAY_MS) / MAX_BUCKETS + 1;
    days.saturating_mul(DAY_MS)
}

/// A width in words: `1 s`, `10 s`, `1 min`, `6 h`, `1 day`, `3 days`, `250 ms`.
pub fn width_label(ms: u64) -> String {
    let units: [(u64, &str, &str); 4] = [(DAY_MS, "day", "days"), (3_600_000, "h", "h"), (60_000, "min", "min"), (1_000, "s", "s")];
    for (size, one, many) in units {
        if ms >= size && ms % size == 0 {
            let n = ms / size;
            return format!("{n} {}", if n == 1 { one } else { many });
        }
    }
    format!("{ms} ms")
}

/// Exact dollars with `decimals` decimals (rounded half up), thousands separated: `$1,234.50`.
pub(crate) fn usd_text(m: Money, decimals: u32) -> String {
    let decimals = decimals.min(9);
    let unit = 10u64.pow(9 - decimals);
    let n = u128::from(m.nanos()) + u128::from(unit / 2);
    let scaled = n / u128::from(unit);
    let whole = scaled / 10u128.pow(decimals);
    let frac = scaled % 10u128.pow(decimals);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if decimals == 0 {
        format!("${grouped}")
    } else {
        format!("${grouped}.{frac:0width$}", width = decimals as usize)
    }
}

/// The decimals that show an amount of this size with two significant digits
/// (at least 2, at most 9).
pub(crate) fn decimals_for(m: Money) -> u32 {
    if m.is_zero() {
        return 2;
    }
    let mut d = 2;
    let mut unit = NANOS_PER_USD / 100;
    while d < 9 && m.nanos() < unit.saturating_mul(10) {
        d += 1;
        unit /= 10;
    }
    d
}

fn threshold_amount(limit: Money, percent: u32) -> Money {
    let n = u128::from(limit.nanos()) * u128::from(percent);
    let a = n.div_ceil(100).max(1);
    Money::from_nanos(u64::try_from(a).unwrap_or(u64::MAX))
}

fn thresholds_for(limit: Option<Money>, pcts: &[u32]) -> Vec<Threshold> {
    let Some(limit) = limit else { return Vec::new() };
    pcts.iter()
        .map(|&p| {
            let amount = threshold_amount(limit, p);
            let label = format!("{p} % ({})", usd_text(amount, decimals_for(amount)));
            Threshold { percent: p, amount, dollars: dollars(amount), label, crossed_at_ms: None }
        })
        .collect()
}

/// Marks the thresholds that `spent` reaches at `at_ms` (the first time only).
fn mark_crossings(thresholds: &mut [Threshold], limit: Option<Money>, spent: Money, at_ms: u64) {
    let Some(limit) = limit else { return };
    for t in thresholds.iter_mut().filter(|t| t.crossed_at_ms.is_none()) {
        if reached(spent, limit, t.percent) {
            t.crossed_at_ms = Some(at_ms);
        }
    }
}

fn point(at_ms: u64, spent: Money) -> CumulativePoint {
    CumulativePoint { at_ms, spent, dollars: dollars(spent) }
}

/// Sums per (bucket start, name).
#[derive(Default)]
struct Sums(BTreeMap<(u64, Name), (Money, u64)>);

impl Sums {
    fn add(&mut self, start: u64, name: &Name, cost: Money, requests: u64) {
        let e = self.0.entry((start, name.clone())).or_insert((Money::ZERO, 0));
        e.0 = e.0.saturating_add(cost);
        e.1 = e.1.saturating_add(requests);
    }

    fn rows(self, width: u64) -> Vec<BucketSpend> {
        self.0
            .into_iter()
            .filter(|(_, (cost, requests))| !cost.is_zero() || *requests > 0)
            .map(|((start, name), (cost, requests))| BucketSpend {
                start_ms: start,
                end_ms: start.saturating_add(width),
                name,
                cost,
                dollars: dollars(cost),
                requests,
            })
            .collect()
    }
}

fn sorted_names<'a>(rows: impl Iterator<Item = &'a BucketSpend>) -> Vec<Name> {
    let mut v: Vec<Name> = rows.map(|r| r.name.clone()).collect();
    v.sort();
    v.dedup();
    v
}

/// Tools sorted, the conversation last.
fn tool_names(rows: &[BucketSpend]) -> Vec<Name> {
    let mut v = sorted_names(rows.iter().filter(|r| r.name.as_str() != CONVERSATION));
    if rows.iter().any(|r| r.name.as_str() == CONVERSATION) {
        v.push(Name::new(CONVERSATION));
    }
    v
}

impl Activity {
    /// The activity of a pool's report: cumulative spend from the report's
    /// time series, per-agent, per-tool and per-model totals over the cycle,
    /// and refusal counts per agent.
    pub fn from_report(report: &Report, options: &ActivityOptions) -> Activity {
        let limit = Some(options.limit.unwrap_or(report.limit));
        let mut thresholds = thresholds_for(limit, &options.thresholds());
        let cycle_start = report.cycle.start_ms;
        // Re-bucket the series onto a ladder width when it has too many buckets.
        let bw = report.bucket_ms.max(1);
        let first = report.series.first().map_or(cycle_start, |b| b.start_ms);
        let last = report.series.last().map_or(first, |b| b.start_ms);
        let width = if (last - first.min(last)) / bw < MAX_BUCKETS {
            bw
        } else {
            let ladder = BUCKET_LADDER_MS.iter().copied().find(|w| *w >= bw && w % bw == 0 && (last - first.min(last)) / w < MAX_BUCKETS);
            ladder.unwrap_or_else(|| bw.saturating_mul((last - first.min(last)) / bw / MAX_BUCKETS + 1))
        };
        let align = |t: u64| cycle_start.saturating_add(t.saturating_sub(cycle_start) / width * width);
        let mut totals = Sums::default();
        let all = Name::new("all");
        for b in &report.series {
            totals.add(align(b.start_ms), &all, b.cost, b.requests);
        }
        let buckets = totals.rows(width);
        let (start_ms, end_ms) = match (buckets.first(), buckets.last()) {
            (Some(f), Some(l)) => {
                // Padding never reaches before the cycle's start.
                let (s, e) = pad_span(f.start_ms, l.end_ms, width);
                let from = s.max(cycle_start.min(f.start_ms));
                (from, e.saturating_add(from - s))
            }
            _ => (align(report.at_ms), align(report.at_ms).saturating_add(width)),
        };
        let mut cumulative = Vec::new();
        let mut spent = Money::ZERO;
        if !buckets.is_empty() {
            cumulative.push(point(start_ms, Money::ZERO));
            for b in &buckets {
                if cumulative.last().is_some_and(|p| p.at_ms < b.start_ms) {
                    cumulative.push(point(b.start_ms, spent));
                }
                spent = spent.saturating_add(b.cost);
                let at = b.end_ms.min(report.at_ms.max(b.start_ms));
                cumulative.push(point(at, spent));
                mark_crossings(&mut thresholds, limit, spent, at);
            }
        }
        let whole = |name: &Name, cost: Money, requests: u64| BucketSpend { start_ms, end_ms, name: name.clone(), cost, dollars: dollars(cost), requests };
        let mut by_agent: Vec<BucketSpend> = report.agents.iter().filter(|a| !a.settled.is_zero()).map(|a| whole(&a.agent, a.settled, a.requests)).collect();
        let mut by_tool: Vec<BucketSpend> = report.tools.iter().map(|t| whole(&t.tool, t.total, t.stats.definition_requests)).collect();
        if !report.conversation.is_zero() {
            by_tool.push(whole(&Name::new(CONVERSATION), report.conversation, report.requests));
        }
        let mut by_model: Vec<BucketSpend> = report.models.iter().map(|m| whole(&m.model, m.stats.cost, m.stats.requests)).collect();
        for v in [&mut by_agent, &mut by_tool, &mut by_model] {
            v.sort_by(|a, b| a.name.cmp(&b.name));
        }
        let mut refusals: Vec<RefusalCount> = report
            .agents
            .iter()
            .filter(|a| a.refusals > 0)
            .map(|a| RefusalCount { start_ms: None, end_ms: None, agent: a.agent.clone(), reason: "refused".into(), count: a.refusals })
            .collect();
        refusals.sort_by(|a, b| a.agent.cmp(&b.agent));
        let mut agents = sorted_names(by_agent.iter());
        agents.extend(refusals.iter().map(|r| r.agent.clone()));
        agents.sort();
        agents.dedup();
        let tools = tool_names(&by_tool);
        let models = sorted_names(by_model.iter());
        let title = options.title.clone().unwrap_or_else(|| format!("Pool \"{}\" activity", report.pool_id));
        let spent_total = report.settled;
        Activity {
            source: ActivitySource::Report,
            title,
            pool_id: Some(report.pool_id.clone()),
            cycle_start_ms: Some(cycle_start),
            cycle_end_ms: Some(report.cycle.end_ms),
            start_ms,
            end_ms,
            bucket_ms: width,
            bucket_label: width_label(width),
            limit,
            limit_dollars: limit.map(dollars),
            spent: spent_total,
            spent_dollars: dollars(spent_total),
            settles: report.requests,
            estimated: 0,
            late: 0,
            releases: 0,
            expiries: 0,
            thresholds,
            cumulative,
            per_bucket: false,
            buckets,
            by_agent,
            by_tool,
            by_model,
            requests: Vec::new(),
            refusals,
            agents,
            tools,
            models,
        }
    }

    /// The activity of a pool now: its report at `now_ms`, with its configured
    /// thresholds.
    pub fn from_pool(pool: &Pool, now_ms: u64) -> Activity {
        Activity::from_report(&pool.report(now_ms), &ActivityOptions::for_report_of(pool.config()))
    }

    /// The activity of a ledger (entries in any order; they are taken in order
    /// of time, then sequence number). Only the entries of one cycle count:
    /// `options.cycle_start_ms`, else the latest in the ledger.
    pub fn from_ledger<'a>(entries: impl IntoIterator<Item = &'a LedgerEntry>, options: &ActivityOptions) -> Activity {
        Activity::from_ledger_with_refusals(entries, &[], options)
    }

    /// [`Activity::from_ledger`] with the refusals the driver saw (the ledger
    /// holds none), drawn over time by reason. Refusals outside the drawn
    /// span's cycle are kept when they fall within the span.
    pub fn from_ledger_with_refusals<'a>(entries: impl IntoIterator<Item = &'a LedgerEntry>, refusals: &[RefusalEvent], options: &ActivityOptions) -> Activity {
        let all: Vec<&LedgerEntry> = entries.into_iter().collect();
        let cycle = options.cycle_start_ms.or_else(|| all.iter().map(|e| e.cycle_start_ms).max());
        let mut entries: Vec<&LedgerEntry> = all.into_iter().filter(|e| Some(e.cycle_start_ms) == cycle).collect();
        entries.sort_by_key(|e| (e.at_ms, e.seq));
        let limit = options.limit;
        let mut thresholds = thresholds_for(limit, &options.thresholds());
        let times = entries.iter().map(|e| e.at_ms).chain(refusals.iter().map(|r| r.at_ms));
        let (first, last) = times.fold((u64::MAX, 0), |(lo, hi), t| (lo.min(t), hi.max(t)));
        let have_times = first <= last;
        let width = if have_times { bucket_width_ms(first, last) } else { BUCKET_LADDER_MS[0] };
        let bucket = |t: u64| t / width * width;
        let (start_ms, end_ms) = if have_times { pad_span(bucket(first), bucket(last).saturating_add(width), width) } else { (0, 0) };

        let mut cumulative = Vec::new();
        let mut spent = Money::ZERO;
        let (mut settles, mut estimated, mut late, mut releases, mut expiries) = (0u64, 0u64, 0u64, 0u64, 0u64);
        let (mut totals, mut agents, mut tools, mut models) = (Sums::default(), Sums::default(), Sums::default(), Sums::default());
        let mut requests = Vec::new();
        let all_name = Name::new("all");
        let conversation = Name::new(CONVERSATION);
        let no_model = Name::new(NO_MODEL);
        for e in &entries {
            // An expiry counts its worst case (`estimated`): spend like a
            // settle's (one written before that rule has a zero cost).
            let spends = match e.kind {
                LedgerKind::Release => {
                    releases += 1;
                    false
                }
                LedgerKind::Expire => {
                    expiries += 1;
                    !e.cost.is_zero()
                }
                LedgerKind::Settle => {
                    settles += 1;
                    true
                }
            };
            if !spends {
                continue;
            }
            estimated += u64::from(e.estimated);
            late += u64::from(e.late);
            if cumulative.is_empty() {
                cumulative.push(point(start_ms, Money::ZERO));
            }
            spent = spent.saturating_add(e.cost);
            cumulative.push(point(e.at_ms, spent));
            mark_crossings(&mut thresholds, limit, spent, e.at_ms);
            let b = bucket(e.at_ms);
            totals.add(b, &all_name, e.cost, 1);
            agents.add(b, &e.agent, e.cost, 1);
            let model = e.model.as_ref().unwrap_or(&no_model);
            models.add(b, model, e.cost, 1);
            match &e.attribution {
                Some(a) => {
                    tools.add(b, &conversation, a.conversation, 0);
                    let mut charged: Vec<&Name> = Vec::new();
                    for c in &a.tools {
                        let first_charge = !charged.contains(&&c.tool);
                        if first_charge {
                            charged.push(&c.tool);
                        }
                        tools.add(b, &c.tool, c.cost, u64::from(first_charge));
                    }
                }
                None => tools.add(b, &conversation, e.cost, 0),
            }
            requests.push(RequestPoint {
                at_ms: e.at_ms,
                at: crate::time::format_rfc3339(e.at_ms),
                agent: e.agent.clone(),
                model: model.clone(),
                cost: e.cost,
                dollars: dollars(e.cost),
                estimated: e.estimated,
                exactness: if e.estimated { "estimated" } else { "exact" }.into(),
                late: e.late,
                request_id: e.request_id.clone(),
                reservation_id: e.reservation_id,
            });
        }
        if !cumulative.is_empty() {
            cumulative.push(point(end_ms, spent));
        }
        let mut refusal_sums: BTreeMap<(u64, Name, String), u64> = BTreeMap::new();
        for r in refusals {
            *refusal_sums.entry((bucket(r.at_ms), r.agent.clone(), r.reason.clone())).or_insert(0) += 1;
        }
        let refusals: Vec<RefusalCount> = refusal_sums
            .into_iter()
            .map(|((s, agent, reason), count)| RefusalCount { start_ms: Some(s), end_ms: Some(s.saturating_add(width)), agent, reason, count })
            .collect();
        let by_agent = agents.rows(width);
        let by_tool = tools.rows(width);
        let by_model = models.rows(width);
        let mut agent_names = sorted_names(by_agent.iter());
        agent_names.extend(refusals.iter().map(|r| r.agent.clone()));
        agent_names.sort();
        agent_names.dedup();
        let tool_list = tool_names(&by_tool);
        let model_list = sorted_names(by_model.iter());
        Activity {
            source: ActivitySource::Ledger,
            title: options.title.clone().unwrap_or_else(|| "Pool activity".into()),
            pool_id: None,
            cycle_start_ms: cycle,
            cycle_end_ms: None,
            start_ms,
            end_ms,
            bucket_ms: width,
            bucket_label: width_label(width),
            limit,
            limit_dollars: limit.map(dollars),
            spent,
            spent_dollars: dollars(spent),
            settles,
            estimated,
            late,
            releases,
            expiries,
            thresholds,
            cumulative,
            per_bucket: true,
            buckets: totals.rows(width),
            by_agent,
            by_tool,
            by_model,
            requests,
            refusals,
            agents: agent_names,
            tools: tool_list,
            models: model_list,
        }
    }

    /// Whether anything was spent.
    pub fn is_empty(&self) -> bool {
        self.settles == 0 && self.spent.is_zero()
    }

    /// The dashboard as one Vega-Lite v5 specification, the data inline (see
    /// `docs/ACTIVITY.md`). Deterministic: the same activity gives the same
    /// JSON, byte for byte.
    pub fn chart(&self) -> serde_json::Value {
        chart::chart(self)
    }
}

impl Report {
    /// The report's activity dashboard as a Vega-Lite v5 specification, with
    /// the default thresholds (50 / 75 / 90 / 100 %); for a pool's own
    /// thresholds use [`Activity::from_pool`] or [`Activity::from_report`].
    pub fn chart(&self) -> serde_json::Value {
        Activity::from_report(self, &ActivityOptions::default()).chart()
    }
}

#[cfg(test)]
mod tests;
