//! Exact money: integer nano-USD.
//!
//! One credit is one US dollar, and the ledger counts in nano-USD (10^9 units per
//! dollar). Every published per-million-token price is then an exact integer per
//! token: $0.08 per million tokens is 80 nano-USD per token. Floats never store
//! money; they may only be produced for display.

use core::fmt;
use serde::{Deserialize, Serialize};

/// Nano-USD per US dollar.
pub const NANOS_PER_USD: u64 = 1_000_000_000;

/// An amount of money in integer nano-USD (1 USD = 10^9). Never negative.
///
/// Serialized as a plain JSON integer. Arithmetic is checked: an overflow is a
/// `None`, not a wrap-around.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Money(u64);

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(0);
    /// The largest representable amount (about 18.4 billion USD).
    pub const MAX: Money = Money(u64::MAX);

    /// An amount of nano-USD.
    pub const fn from_nanos(nanos: u64) -> Money {
        Money(nanos)
    }

    /// Whole US dollars, or `None` on overflow.
    pub const fn from_usd(usd: u64) -> Option<Money> {
        match usd.checked_mul(NANOS_PER_USD) {
            Some(n) => Some(Money(n)),
            None => None,
        }
    }

    /// Micro-USD (10^-6 USD), or `None` on overflow.
    pub const fn from_micros(micros: u64) -> Option<Money> {
        match micros.checked_mul(1_000) {
            Some(n) => Some(Money(n)),
            None => None,
        }
    }

    /// The amount in nano-USD.
    pub const fn nanos(self) -> u64 {
        self.0
    }

    /// `self + rhs`, or `None` on overflow.
    pub const fn checked_add(self, rhs: Money) -> Option<Money> {
        match self.0.checked_add(rhs.0) {
            Some(n) => Some(Money(n)),
            None => None,
        }
    }

    /// `self - rhs`, or `None` if it would be negative.
    pub const fn checked_sub(self, rhs: Money) -> Option<Money> {
        match self.0.checked_sub(rhs.0) {
            Some(n) => Some(Money(n)),
            None => None,
        }
    }

    /// `self * factor`, or `None` on overflow.
    pub const fn checked_mul(self, factor: u64) -> Option<Money> {
        match self.0.checked_mul(factor) {
            Some(n) => Some(Money(n)),
            None => None,
        }
    }

    /// `self + rhs`, clamped at [`Money::MAX`].
    pub const fn saturating_add(self, rhs: Money) -> Money {
        Money(self.0.saturating_add(rhs.0))
    }

    /// `self - rhs`, clamped at zero.
    pub const fn saturating_sub(self, rhs: Money) -> Money {
        Money(self.0.saturating_sub(rhs.0))
    }

    /// Whether the amount is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// A display string in dollars with all nine decimals, e.g. `"$0.000150000"`.
    /// Exact; see [`Money::to_decimal_string`] for the bare number.
    pub fn to_usd_string(self) -> String {
        format!("${}", self.to_decimal_string())
    }

    /// The exact amount in dollars as a decimal string, e.g. `"1.500000000"`.
    pub fn to_decimal_string(self) -> String {
        format!("{}.{:09}", self.0 / NANOS_PER_USD, self.0 % NANOS_PER_USD)
    }
}

impl fmt::Display for Money {
    /// Dollars, trimmed to at least two decimals: `$1.50`, `$0.000015`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / NANOS_PER_USD;
        let frac = format!("{:09}", self.0 % NANOS_PER_USD);
        let trimmed = frac.trim_end_matches('0');
        let frac = if trimmed.len() < 2 { &frac[..2] } else { trimmed };
        write!(f, "${whole}.{frac}")
    }
}

impl core::iter::Sum for Money {
    /// Saturating sum.
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Money::saturating_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_trims_but_keeps_cents() {
        assert_eq!(Money::from_nanos(1_500_000_000).to_string(), "$1.50");
        assert_eq!(Money::from_nanos(15_000).to_string(), "$0.000015");
        assert_eq!(Money::ZERO.to_string(), "$0.00");
        assert_eq!(Money::from_nanos(1).to_usd_string(), "$0.000000001");
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(Money::MAX.checked_add(Money::from_nanos(1)), None);
        assert_eq!(Money::ZERO.checked_sub(Money::from_nanos(1)), None);
        assert_eq!(Money::from_usd(2), Some(Money::from_nanos(2_000_000_000)));
        assert_eq!(Money::from_nanos(5).saturating_sub(Money::from_nanos(9)), Money::ZERO);
    }
}
