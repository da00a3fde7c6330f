//! Rate limits by the generic cell rate algorithm (GCRA), in integers.
//!
//! A limit of `rate` units per `period_ms` has a burst of one period's allowance:
//! a full bucket admits `rate` units at once, then refills at `rate` per period.
//! The only state is the *theoretical arrival time* (TAT): the instant at which
//! the bucket would be full again. To stay exact with any rate, time is scaled by
//! `rate` (one unit costs `period_ms` scaled milliseconds), and the TAT is stored
//! as whole milliseconds plus a remainder below `rate`.
//!
//! A request larger than the whole burst can never fit the rule above, so it is
//! admitted when the bucket is full and pushes the TAT into the future (the agent
//! then waits until the debt is paid). A refund (unused reserved credit) moves
//! the TAT back, never before now.

use serde::{Deserialize, Serialize};

/// The state of one GCRA limiter: its theoretical arrival time,
/// `tat_ms + tat_rem / rate` milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcraState {
    /// Whole milliseconds of the theoretical arrival time.
    pub tat_ms: u64,
    /// The fraction of a millisecond, in units of `1 / rate` ms.
    #[serde(default)]
    pub tat_rem: u64,
}

/// A GCRA limit: `rate` units per `period_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gcra {
    rate: u64,
    period_ms: u64,
}

impl Gcra {
    /// A limit of `rate` units per `period_ms` (both at least 1; 0 counts as 1).
    pub fn new(rate: u64, period_ms: u64) -> Gcra {
        Gcra { rate: rate.max(1), period_ms: period_ms.max(1) }
    }

    /// A per-minute limit.
    pub fn per_minute(rate: u64) -> Gcra {
        Gcra::new(rate, crate::time::MS_PER_MINUTE)
    }

    fn scaled(&self, ms: u64) -> u128 {
        u128::from(ms) * u128::from(self.rate)
    }

    fn tat(&self, s: GcraState) -> u128 {
        self.scaled(s.tat_ms).saturating_add(u128::from(s.tat_rem))
    }

    fn store(&self, scaled: u128) -> GcraState {
        let rate = u128::from(self.rate);
        GcraState {
            tat_ms: u64::try_from(scaled / rate).unwrap_or(u64::MAX),
            tat_rem: u64::try_from(scaled % rate).unwrap_or(0),
        }
    }

    fn tolerance(&self) -> u128 {
        u128::from(self.rate) * u128::from(self.period_ms)
    }

    /// Admits `units` at `now_ms`: the new state, or `Err(retry_at_ms)`, the
    /// earliest instant at which the same request would be admitted.
    pub fn check(&self, state: GcraState, units: u64, now_ms: u64) -> Result<GcraState, u64> {
        let now = self.scaled(now_ms);
        let tat = self.tat(state);
        let cost = u128::from(units).saturating_mul(u128::from(self.period_ms));
        let tau = self.tolerance();
        let new_tat = tat.max(now).saturating_add(cost);
        if new_tat - now <= tau || tat <= now {
            return Ok(self.store(new_tat));
        }
        // Not now. Within the burst: when the bucket has drained enough; beyond
        // it: when the bucket is full.
        let retry = if cost <= tau { tat.saturating_add(cost) - tau } else { tat };
        let rate = u128::from(self.rate);
        let retry_ms = retry.div_ceil(rate);
        Err(u64::try_from(retry_ms).unwrap_or(u64::MAX).max(now_ms.saturating_add(1)))
    }

    /// Returns `units` to the bucket at `now_ms` (the TAT moves back, not before now).
    pub fn refund(&self, state: GcraState, units: u64, now_ms: u64) -> GcraState {
        let cost = u128::from(units).saturating_mul(u128::from(self.period_ms));
        let tat = self.tat(state).saturating_sub(cost).max(self.scaled(now_ms));
        self.store(tat)
    }

    /// How many units a request could take at `now_ms` without waiting.
    pub fn available(&self, state: GcraState, now_ms: u64) -> u64 {
        let now = self.scaled(now_ms);
        let used = self.tat(state).saturating_sub(now);
        let free = self.tolerance().saturating_sub(used) / u128::from(self.period_ms);
        u64::try_from(free).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady_rate() {
        // 60 per minute: one per second, burst 60.
        let g = Gcra::per_minute(60);
        let mut s = GcraState::default();
        let t0 = 1_000_000;
        for _ in 0..60 {
            s = g.check(s, 1, t0).unwrap();
        }
        assert_eq!(g.check(s, 1, t0), Err(t0 + 1_000));
        s = g.check(s, 1, t0 + 1_000).unwrap();
        assert_eq!(g.check(s, 1, t0 + 1_000), Err(t0 + 2_000));
        assert_eq!(g.available(s, t0 + 61_000), 60);
    }

    #[test]
    fn fractional_rates_are_exact() {
        // 7 per minute: one every 8571.43 ms.
        let g = Gcra::per_minute(7);
        let mut s = GcraState::default();
        for _ in 0..7 {
            s = g.check(s, 1, 0).unwrap();
        }
        let retry = g.check(s, 1, 0).unwrap_err();
        assert_eq!(retry, 8_572);
        assert!(g.check(s, 1, retry - 1).is_err());
        assert!(g.check(s, 1, retry).is_ok());
    }

    #[test]
    fn oversized_request_goes_when_full_then_waits() {
        let g = Gcra::per_minute(100);
        let s = g.check(GcraState::default(), 250, 0).unwrap();
        // 250 units at 100/min: full again at 150 s; 1 unit fits at 90.6 s.
        assert_eq!(g.check(s, 1, 0), Err(90_600));
        assert_eq!(g.check(s, 250, 10), Err(150_000));
    }

    #[test]
    fn refund_gives_back_not_before_now() {
        let g = Gcra::per_minute(100);
        let s = g.check(GcraState::default(), 100, 0).unwrap();
        assert!(g.check(s, 50, 0).is_err());
        let s2 = g.refund(s, 60, 0);
        assert!(g.check(s2, 50, 0).is_ok());
        let s3 = g.refund(s, 1_000, 5);
        assert_eq!(s3, GcraState { tat_ms: 5, tat_rem: 0 });
    }

    #[test]
    fn huge_values_do_not_panic() {
        let g = Gcra::per_minute(u64::MAX);
        let s = g.check(GcraState { tat_ms: u64::MAX, tat_rem: u64::MAX }, u64::MAX, u64::MAX);
        assert!(s.is_ok() || s.is_err());
        let _ = g.refund(GcraState { tat_ms: u64::MAX, tat_rem: 0 }, u64::MAX, 0);
        let _ = g.available(GcraState::default(), u64::MAX);
    }
}
