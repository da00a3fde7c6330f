//! Billing cycles: a calendar month anchored on a day (UTC), or a fixed length.
//!
//! Spending is counted per cycle. When an input arrives at or after the end of the
//! current cycle, the pool rolls over: the closed cycle goes to history, spending
//! starts again from zero and the alert thresholds re-arm. Open reservations carry
//! over into the new cycle (their cost counts in the cycle in which they settle).

use crate::time::{civil_from_days, days_from_civil, days_in_month, MS_PER_DAY};
use serde::{Deserialize, Serialize};

/// How the pool's billing cycles are laid out in time.
///
/// JSON: `{"kind": "monthly", "anchor_day": 1}` or
/// `{"kind": "fixed", "start_ms": 0, "length_ms": 86400000}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CycleSpec {
    /// A calendar month starting at 00:00 UTC on `anchor_day` (1 to 31). In a
    /// month shorter than the anchor day, the cycle starts on its last day.
    Monthly {
        /// The day of the month on which a cycle starts.
        anchor_day: u32,
    },
    /// Cycles of `length_ms` milliseconds, one of them starting at `start_ms`
    /// (the grid extends both ways from there).
    Fixed {
        /// The start of one cycle, Unix milliseconds.
        start_ms: u64,
        /// The length of every cycle, in milliseconds (at least 1).
        length_ms: u64,
    },
}

impl Default for CycleSpec {
    /// Calendar months starting on the 1st.
    fn default() -> CycleSpec {
        CycleSpec::Monthly { anchor_day: 1 }
    }
}

/// The bounds of one cycle: `start_ms <= t < end_ms`, Unix milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleBounds {
    /// The first millisecond of the cycle.
    pub start_ms: u64,
    /// The first millisecond after the cycle.
    pub end_ms: u64,
}

impl CycleBounds {
    /// Whether `t` falls inside the cycle.
    pub fn contains(&self, t: u64) -> bool {
        self.start_ms <= t && t < self.end_ms
    }

    /// The cycle's length in milliseconds.
    pub fn length_ms(&self) -> u64 {
        self.end_ms.saturating_sub(self.start_ms)
    }
}

fn clamp_ms(ms: i128) -> u64 {
    u64::try_from(ms.max(0)).unwrap_or(u64::MAX)
}

/// The anchor instant in a (year, month), in signed milliseconds.
fn anchor_ms(year: i64, month: u32, anchor_day: u32) -> i128 {
    let day = anchor_day.clamp(1, days_in_month(year, month));
    i128::from(days_from_civil(year, month, day)) * i128::from(MS_PER_DAY)
}

fn prev_month(year: i64, month: u32) -> (i64, u32) {
    if month <= 1 {
        (year - 1, 12)
    } else {
        (year, month - 1)
    }
}

fn next_month(year: i64, month: u32) -> (i64, u32) {
    if month >= 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    }
}

impl CycleSpec {
    /// Checks the fields: `anchor_day` in 1..=31, `length_ms` at least 1.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            CycleSpec::Monthly { anchor_day } if !(1..=31).contains(&anchor_day) => {
                Err(format!("cycle.anchor_day must be 1 to 31, got {anchor_day}"))
            }
            CycleSpec::Fixed { length_ms: 0, .. } => Err("cycle.length_ms must be at least 1".to_owned()),
            _ => Ok(()),
        }
    }

    /// The cycle that contains `now_ms`. (End times past `u64::MAX` are clamped.)
    pub fn bounds_at(&self, now_ms: u64) -> CycleBounds {
        let now = i128::from(now_ms);
        match *self {
            CycleSpec::Monthly { anchor_day } => {
                let days = i64::try_from(now_ms / MS_PER_DAY).unwrap_or(i64::MAX);
                let (y, m, _) = civil_from_days(days);
                let (mut y, mut m) = (y, m);
                let mut start = anchor_ms(y, m, anchor_day);
                if now < start {
                    (y, m) = prev_month(y, m);
                    start = anchor_ms(y, m, anchor_day);
                }
                let (ny, nm) = next_month(y, m);
                CycleBounds { start_ms: clamp_ms(start), end_ms: clamp_ms(anchor_ms(ny, nm, anchor_day)) }
            }
            CycleSpec::Fixed { start_ms, length_ms } => {
                let len = i128::from(length_ms.max(1));
                let k = (now - i128::from(start_ms)).div_euclid(len);
                let start = i128::from(start_ms) + k * len;
                CycleBounds { start_ms: clamp_ms(start), end_ms: clamp_ms(start + len) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::DateTime;

    fn ms(y: i64, mo: u32, d: u32) -> u64 {
        DateTime { year: y, month: mo, day: d, hour: 0, minute: 0, second: 0, millis: 0 }.to_unix_ms().unwrap()
    }

    #[test]
    fn monthly_on_the_first() {
        let c = CycleSpec::Monthly { anchor_day: 1 };
        let b = c.bounds_at(ms(2026, 11, 25) + 5);
        assert_eq!(b, CycleBounds { start_ms: ms(2026, 11, 1), end_ms: ms(2026, 12, 1) });
        assert_eq!(c.bounds_at(ms(2026, 12, 1)).start_ms, ms(2026, 12, 1));
        assert_eq!(c.bounds_at(ms(2026, 12, 1) - 1).end_ms, ms(2026, 12, 1));
        let dec = c.bounds_at(ms(2026, 12, 31));
        assert_eq!(dec.end_ms, ms(2027, 1, 1));
    }

    #[test]
    fn monthly_anchor_clamps_to_short_months() {
        let c = CycleSpec::Monthly { anchor_day: 31 };
        // 2027-02 has 28 days: the February cycle starts on the 28th.
        let b = c.bounds_at(ms(2027, 3, 5));
        assert_eq!(b, CycleBounds { start_ms: ms(2027, 2, 28), end_ms: ms(2027, 3, 31) });
        let b = c.bounds_at(ms(2027, 2, 10));
        assert_eq!(b, CycleBounds { start_ms: ms(2027, 1, 31), end_ms: ms(2027, 2, 28) });
        // Before the first anchor after the epoch, the start clamps at 0.
        assert_eq!(CycleSpec::Monthly { anchor_day: 15 }.bounds_at(0).start_ms, 0);
    }

    #[test]
    fn fixed_grid_extends_both_ways() {
        let c = CycleSpec::Fixed { start_ms: 1_000, length_ms: 100 };
        assert_eq!(c.bounds_at(1_000), CycleBounds { start_ms: 1_000, end_ms: 1_100 });
        assert_eq!(c.bounds_at(1_250), CycleBounds { start_ms: 1_200, end_ms: 1_300 });
        assert_eq!(c.bounds_at(950), CycleBounds { start_ms: 900, end_ms: 1_000 });
        assert_eq!(c.bounds_at(u64::MAX).end_ms, u64::MAX);
        assert!(CycleSpec::Fixed { start_ms: 0, length_ms: 0 }.validate().is_err());
        assert!(CycleSpec::Monthly { anchor_day: 0 }.validate().is_err());
    }

    #[test]
    fn extreme_times_do_not_panic() {
        for t in [0, 1, u64::MAX / 2, u64::MAX - 1, u64::MAX] {
            let b = CycleSpec::Monthly { anchor_day: 31 }.bounds_at(t);
            assert!(b.start_ms <= t);
        }
    }
}
