//! Alerts: thresholds of the limit, each fired at most once per cycle and in
//! ascending order, and an optional burn-rate projection.
//!
//! A threshold of `p` percent is reached when `amount * 100 >= p * limit` and the
//! amount is not zero; the amount is settled spend (and, with
//! [`AlertConfig::on_committed`](super::AlertConfig::on_committed), separately,
//! settled plus reserved). Thresholds are checked after every settle, reserve and
//! limit change; when one change reaches several, they fire together, lowest
//! first. A raised limit does not re-arm a fired threshold; a new cycle does.
//!
//! The burn-rate projection extrapolates the cycle's pace so far: with `S`
//! settled over `E` milliseconds since the cycle started and `R` remaining, the
//! pool runs out at `now + R * E / S` (integer arithmetic). It fires once per
//! cycle, on a settle, when that instant falls before the cycle's end.

use super::cycle::CycleBounds;
use super::name::Name;
use crate::money::Money;
use serde::{Deserialize, Serialize};

/// What an alert reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "alert", rename_all = "snake_case")]
pub enum AlertKind {
    /// Settled spend reached `percent` of the limit.
    Threshold {
        /// The threshold, in percent.
        percent: u32,
    },
    /// Settled plus reserved reached `percent` of the limit.
    CommittedThreshold {
        /// The threshold, in percent.
        percent: u32,
    },
    /// At the cycle's pace so far, the pool runs out at `at_ms`, before the
    /// cycle ends.
    ProjectedExhaustion {
        /// The projected instant, Unix milliseconds.
        at_ms: u64,
    },
}

impl AlertKind {
    /// The kind's name in payloads: `threshold`, `committed_threshold`,
    /// `projected_exhaustion`.
    pub fn name(&self) -> &'static str {
        match self {
            AlertKind::Threshold { .. } => "threshold",
            AlertKind::CommittedThreshold { .. } => "committed_threshold",
            AlertKind::ProjectedExhaustion { .. } => "projected_exhaustion",
        }
    }

    /// The threshold in percent, for threshold kinds.
    pub fn percent(&self) -> Option<u32> {
        match *self {
            AlertKind::Threshold { percent } | AlertKind::CommittedThreshold { percent } => Some(percent),
            AlertKind::ProjectedExhaustion { .. } => None,
        }
    }
}

/// An alert, pulled with [`Pool::poll_event`](super::Pool::poll_event). Turn it
/// into a webhook with [`Alert::webhook`] (see [`super::webhook`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// The pool's [`pool_id`](super::PoolConfig::pool_id).
    pub pool_id: Name,
    /// What happened.
    #[serde(flatten)]
    pub kind: AlertKind,
    /// When, Unix milliseconds (the time of the operation that caused it).
    pub occurred_at_ms: u64,
    /// The cycle it belongs to.
    pub cycle: CycleBounds,
    /// The limit at that moment.
    pub limit: Money,
    /// Settled spend at that moment.
    pub settled: Money,
    /// Open reservations at that moment.
    pub reserved: Money,
}

impl Alert {
    /// A key unique to this alert in this pool and cycle, stable across
    /// deliveries: `"{pool_id}:{cycle_start_ms}:{kind}:{percent}"`, with
    /// `projection` in place of the percent for a projection.
    pub fn idempotency_key(&self) -> String {
        match self.kind.percent() {
            Some(p) => format!("{}:{}:{}:{p}", self.pool_id, self.cycle.start_ms, self.kind.name()),
            None => format!("{}:{}:{}:projection", self.pool_id, self.cycle.start_ms, self.kind.name()),
        }
    }

    /// A one-line, human-readable, Slack-compatible text.
    pub fn text(&self) -> String {
        let day = |ms: u64| {
            let s = crate::time::format_rfc3339(ms);
            s.get(..10).map(str::to_owned).unwrap_or(s)
        };
        let cycle = format!("cycle {} to {} (UTC)", day(self.cycle.start_ms), day(self.cycle.end_ms));
        match self.kind {
            AlertKind::Threshold { percent } => format!(
                "creditpool \"{}\": {percent}% of the limit spent ({} of {}), {cycle}.",
                self.pool_id, self.settled, self.limit
            ),
            AlertKind::CommittedThreshold { percent } => format!(
                "creditpool \"{}\": {percent}% of the limit committed ({} settled + {} reserved of {}), {cycle}.",
                self.pool_id, self.settled, self.reserved, self.limit
            ),
            AlertKind::ProjectedExhaustion { at_ms } => format!(
                "creditpool \"{}\": at this pace the pool runs out at {} ({} of {} spent), {cycle}.",
                self.pool_id,
                crate::time::format_rfc3339(at_ms),
                self.settled,
                self.limit
            ),
        }
    }
}

/// Whether `amount` reaches `percent` of `limit` (never for a zero amount).
pub(crate) fn reached(amount: Money, limit: Money, percent: u32) -> bool {
    !amount.is_zero() && u128::from(amount.nanos()) * 100 >= u128::from(percent) * u128::from(limit.nanos())
}

/// How many of `thresholds` (ascending) `amount` reaches.
#[cfg(test)]
pub(crate) fn reached_count(thresholds: &[u32], amount: Money, limit: Money) -> u32 {
    let n = thresholds.iter().take_while(|p| reached(amount, limit, **p)).count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The projected exhaustion instant, if it falls before the cycle's end.
pub(crate) fn projected_exhaustion(settled: Money, limit: Money, cycle: CycleBounds, now_ms: u64, min_elapsed_ms: u64) -> Option<u64> {
    if settled.is_zero() || settled >= limit {
        return None;
    }
    let elapsed = now_ms.saturating_sub(cycle.start_ms);
    if elapsed == 0 || elapsed < min_elapsed_ms {
        return None;
    }
    let remaining = u128::from(limit.saturating_sub(settled).nanos());
    let more = remaining * u128::from(elapsed) / u128::from(settled.nanos());
    let at = u128::from(now_ms) + more;
    (at < u128::from(cycle.end_ms)).then(|| u64::try_from(at).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(n: u64) -> Money {
        Money::from_nanos(n)
    }

    #[test]
    fn thresholds_reached() {
        assert!(reached(m(50), m(100), 50));
        assert!(!reached(m(49), m(100), 50));
        assert!(!reached(Money::ZERO, Money::ZERO, 50));
        assert!(reached(m(1), Money::ZERO, 100));
        assert_eq!(reached_count(&[50, 75, 90, 100], m(80), m(100)), 2);
        assert_eq!(reached_count(&[50, 75, 90, 100], Money::MAX, m(1)), 4);
    }

    #[test]
    fn projection() {
        let c = CycleBounds { start_ms: 0, end_ms: 1_000 };
        // 10 spent in 100 ms, 90 remain: 900 ms more -> 1000, not before the end.
        assert_eq!(projected_exhaustion(m(10), m(100), c, 100, 0), None);
        // 20 spent in 100 ms: 400 ms more.
        assert_eq!(projected_exhaustion(m(20), m(100), c, 100, 0), Some(500));
        assert_eq!(projected_exhaustion(m(20), m(100), c, 100, 101), None);
        assert_eq!(projected_exhaustion(m(100), m(100), c, 100, 0), None);
    }

    #[test]
    fn idempotency_key_and_text() {
        let a = Alert {
            pool_id: Name::new("team"),
            kind: AlertKind::Threshold { percent: 75 },
            occurred_at_ms: 1_795_570_181_123,
            cycle: CycleBounds { start_ms: 1_793_491_200_000, end_ms: 1_796_083_200_000 },
            limit: m(10_000_000_000),
            settled: m(7_500_000_000),
            reserved: m(0),
        };
        assert_eq!(a.idempotency_key(), "team:1793491200000:threshold:75");
        assert_eq!(a.text(), "creditpool \"team\": 75% of the limit spent ($7.50 of $10.00), cycle 2026-11-01 to 2026-12-01 (UTC).");
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["alert"], "threshold");
        assert_eq!(serde_json::from_value::<Alert>(v).unwrap(), a);
    }
}
