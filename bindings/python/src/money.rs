//! Money: int nano-USD, shown by the core's own formatting.

use creditpool_core::Money;
use pyo3::prelude::*;

/// The exact amount in dollars as a decimal string (`"1.500000000"`).
#[pyfunction]
pub fn usd_decimal_string(nanos: u64) -> String {
    Money::from_nanos(nanos).to_decimal_string()
}

/// Dollars trimmed to at least two decimals (`"$1.50"`, `"$0.000015"`).
#[pyfunction]
pub fn format_usd(nanos: u64) -> String {
    Money::from_nanos(nanos).to_string()
}
