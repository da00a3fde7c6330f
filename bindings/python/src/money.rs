//! Money: int nano-USD, read and shown by the core's own rules
//! (`creditpool_core::money`): parsing dollars, the rule for amount
//! arguments and its words, and the formatting.

use creditpool_core::money::{self, AmountError, AmountInput};
use creditpool_core::Money;
use pyo3::prelude::*;

use crate::errors::{obj, raise};

/// The exact amount in dollars as a decimal string (`"1.500000000"`).
#[pyfunction]
pub fn usd_decimal_string(nanos: u64) -> String {
    Money::from_nanos(nanos).to_decimal_string()
}

/// The exact amount in dollars with no needless digit (`"1.5"`, `"0"`).
#[pyfunction]
pub fn dollars_string(nanos: u64) -> String {
    Money::from_nanos(nanos).to_dollars_string()
}

/// Dollars trimmed to at least two decimals (`"$1.50"`, `"$0.000015"`).
#[pyfunction]
pub fn format_usd(nanos: u64) -> String {
    Money::from_nanos(nanos).to_string()
}

/// The paths of every amount in a pool configuration (`*`: any agent).
#[pyfunction]
pub fn pool_config_amounts() -> Vec<&'static str> {
    money::POOL_CONFIG_AMOUNTS.to_vec()
}

/// One money rule of the core, on a value the Python side has sorted:
/// `rule` is `usd`, `nanos` or `amount` (an amount argument named
/// `argument`); `kind` is `money` (then `nanos` is its value), `integer`,
/// `number`, `text` or `other` (then `text` is the type's name). Returns
/// the nano-USD, or raises `InvalidOptionsError` (code `invalid_options`,
/// `what` and `argument` naming the argument, `reason` the kind of fault).
#[pyfunction]
#[pyo3(signature = (rule, argument, kind, text, nanos=None))]
pub fn money_rule(py: Python<'_>, rule: &str, argument: &str, kind: &str, text: &str, nanos: Option<u64>) -> PyResult<u64> {
    money::apply_rule(rule, argument, AmountInput::from_kind(kind, text, nanos.unwrap_or(0)))
        .map(Money::nanos).map_err(|e: AmountError| {
        raise(
            py,
            "invalid_options",
            &e.message,
            &[("what", obj(py, e.argument.as_str())), ("argument", obj(py, e.argument.as_str())), ("reason", obj(py, e.kind))],
        )
    })
}

/// `m` as the package's `creditpool.Money` (what every amount handed to
/// Python is); an int of nano-USD should the class be unreachable.
pub fn py_money<'py>(py: Python<'py>, m: Money) -> Bound<'py, PyAny> {
    let made = (|| -> PyResult<Bound<'py, PyAny>> {
        let class = py.import("creditpool._money")?.getattr("Money")?;
        let kwargs = pyo3::types::PyDict::new(py);
        kwargs.set_item("nanos", m.nanos())?;
        class.call((), Some(&kwargs))
    })();
    made.unwrap_or_else(|_| obj(py, m.nanos()))
}
