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

impl Money {
    /// The exact amount in dollars with no needless digit: `"1.5"`, `"0"`,
    /// `"1500"`, `"0.000015"` (what a dollar view such as Python's `Decimal`
    /// shows; never an exponent).
    pub fn to_dollars_string(self) -> String {
        let whole = self.0 / NANOS_PER_USD;
        let frac = format!("{:09}", self.0 % NANOS_PER_USD);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            format!("{whole}")
        } else {
            format!("{whole}.{frac}")
        }
    }

    /// Dollars written as text: digits with an optional decimal point, an
    /// optional leading `$` and an optional exponent (`"5"`, `"1.50"`,
    /// `"$0.02"`, `".5"`, `"1e-3"`, `"5E+1"`). Exact or refused: a value finer
    /// than a nano-dollar, a negative one, one beyond [`Money::MAX`] and
    /// anything else (spaces, commas, signs, other currencies) are a
    /// [`MoneyError`]. `"-0"` is zero.
    pub fn parse_usd(text: &str) -> Result<Money, MoneyError> {
        parse_usd(text)
    }
}

impl core::str::FromStr for Money {
    type Err = MoneyError;
    /// [`Money::parse_usd`].
    fn from_str(s: &str) -> Result<Money, MoneyError> {
        parse_usd(s)
    }
}

/// The largest amount, in dollars, as the error words show it.
pub const MAX_USD_TEXT: &str = "18446744073.709551615";

/// The longest part of a caller's text an error message repeats.
const SHOWN_CHARS: usize = 40;

/// `text` as an error message shows it: JSON-quoted, cut after
/// [`SHOWN_CHARS`] characters.
fn shown(text: &str) -> String {
    let cut: String = text.chars().take(SHOWN_CHARS).collect();
    let q = serde_json::to_string(&cut).unwrap_or_else(|_| "\"?\"".to_owned());
    if cut.len() < text.len() {
        format!("{}...\"", &q[..q.len() - 1])
    } else {
        q
    }
}

/// Why a text or a number is not an amount of money.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MoneyError {
    /// Not a decimal number of dollars.
    NotANumber {
        /// The text, as shown in messages (quoted, cut).
        shown: String,
    },
    /// Below zero.
    Negative {
        /// The value as shown.
        shown: String,
    },
    /// Finer than one nano-dollar (more than nine decimals of a dollar, or a
    /// fraction of a nano-dollar).
    TooPrecise {
        /// The value as shown.
        shown: String,
    },
    /// Beyond [`Money::MAX`].
    TooLarge {
        /// The value as shown.
        shown: String,
    },
}

impl MoneyError {
    /// The stable kind: `not_a_number`, `negative`, `too_precise`, `too_large`.
    pub fn kind(&self) -> &'static str {
        match self {
            MoneyError::NotANumber { .. } => "not_a_number",
            MoneyError::Negative { .. } => "negative",
            MoneyError::TooPrecise { .. } => "too_precise",
            MoneyError::TooLarge { .. } => "too_large",
        }
    }
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoneyError::NotANumber { shown } => write!(
                f,
                "{shown} is not an amount of dollars (write digits with an optional decimal point, e.g. \"1.50\" or \"$1.50\")"
            ),
            MoneyError::Negative { shown } => write!(f, "{shown} is negative; an amount of money cannot be"),
            MoneyError::TooPrecise { shown } => {
                write!(f, "{shown} is finer than a nano-dollar (dollars take at most 9 decimals; nothing is rounded)")
            }
            MoneyError::TooLarge { shown } => {
                write!(f, "{shown} is more than the largest amount, ${MAX_USD_TEXT}")
            }
        }
    }
}

impl std::error::Error for MoneyError {}

fn parse_usd(text: &str) -> Result<Money, MoneyError> {
    let bad = || MoneyError::NotANumber { shown: shown(text) };
    let body = text.strip_prefix('$').unwrap_or(text);
    let (negative, body) = match body.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, body),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part) {
        return Err(bad());
    }
    // The exponent, saturated: beyond a few thousand either way the answer is
    // the same (zero, too large or too precise).
    let exp: i64 = match exponent {
        None => 0,
        Some(e) => {
            let (sign, digits) = match e.as_bytes().first() {
                Some(b'+') => (1, &e[1..]),
                Some(b'-') => (-1, &e[1..]),
                _ => (1, e),
            };
            if digits.is_empty() || !all_digits(digits) {
                return Err(bad());
            }
            let d = digits.trim_start_matches('0');
            let v: i64 = if d.len() > 6 { 1_000_000 } else { d.parse().unwrap_or(0) };
            sign * v
        }
    };
    // value = digits * 10^(exp - frac_len); in nano-dollars, * 10^9.
    let digits = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    let sig = digits.trim_end_matches('0');
    if sig.is_empty() {
        return Ok(Money::ZERO);
    }
    if negative {
        return Err(MoneyError::Negative { shown: shown(text) });
    }
    let trailing = i64::try_from(digits.len() - sig.len()).unwrap_or(i64::MAX);
    let frac_len = i64::try_from(frac_part.len()).unwrap_or(i64::MAX);
    let power = 9i64.saturating_add(exp).saturating_sub(frac_len).saturating_add(trailing);
    if power < 0 {
        return Err(MoneyError::TooPrecise { shown: shown(text) });
    }
    let too_large = || MoneyError::TooLarge { shown: shown(text) };
    if i64::try_from(sig.len()).unwrap_or(i64::MAX).saturating_add(power) > 20 {
        return Err(too_large());
    }
    let mut n: u128 = sig.parse().map_err(|_| too_large())?;
    for _ in 0..power {
        n = n.checked_mul(10).ok_or_else(too_large)?;
    }
    u64::try_from(n).map(Money).map_err(|_| too_large())
}

/// What a caller passed where an amount of money goes, as its language sees
/// it. The bindings sort a value into one of these; the words are the core's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmountInput<'a> {
    /// A money value (`usd(..)`, `nanos(..)`): accepted as is.
    Money(Money),
    /// A bare integer, written as the language writes it (`"5"`).
    Integer(&'a str),
    /// A bare number that is not an integer (`"0.5"`, `"NaN"`).
    Number(&'a str),
    /// A string.
    Text(&'a str),
    /// Any other type, by its name in the user's language (`"Decimal"`, `"list"`).
    Other(&'a str),
}

impl<'a> AmountInput<'a> {
    /// A value as a binding sorted it, by the kind's name: `money` (then
    /// `nanos` is its value), `integer`, `number`, `text`, or anything else
    /// (then `text` is the type's name in the user's language).
    pub fn from_kind(kind: &str, text: &'a str, nanos: u64) -> AmountInput<'a> {
        match kind {
            "money" => AmountInput::Money(Money::from_nanos(nanos)),
            "integer" => AmountInput::Integer(text),
            "number" => AmountInput::Number(text),
            "text" => AmountInput::Text(text),
            _ => AmountInput::Other(text),
        }
    }
}

/// One money rule by its name, as the bindings call it: `usd` ([`usd`]),
/// `nanos` ([`nanos`]), or anything else for an amount argument named
/// `argument` ([`check_amount`]).
pub fn apply_rule(rule: &str, argument: &str, input: AmountInput<'_>) -> Result<Money, AmountError> {
    match rule {
        "usd" => usd(input),
        "nanos" => nanos(input),
        _ => check_amount(argument, input),
    }
}

/// Why a value is not accepted as an amount: the argument it was given for,
/// a stable kind and the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AmountError {
    /// The argument, as the caller wrote it (`"limit"`, `"max_spend"`, `"usd()"`).
    pub argument: String,
    /// `bare_number`, `bare_string`, `wrong_type`, `fractional_nanos`, or a
    /// [`MoneyError::kind`].
    pub kind: &'static str,
    /// The whole message, naming the argument and how to write the amount.
    pub message: String,
}

impl fmt::Display for AmountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AmountError {}

fn amount_error(argument: &str, kind: &'static str, message: String) -> AmountError {
    AmountError { argument: argument.to_owned(), kind, message }
}

/// The one rule for an amount argument: a money value, or a string with a
/// leading `$` (the unit is then written). A bare number or any other string
/// is refused, the message saying how to write it:
/// `limit=5: a bare number is not an amount of money; write usd(5) for 5
/// dollars or nanos(5) for 5 nano-dollars`.
pub fn check_amount(argument: &str, input: AmountInput<'_>) -> Result<Money, AmountError> {
    match input {
        AmountInput::Money(m) => Ok(m),
        AmountInput::Integer(t) => {
            let t: String = t.chars().take(SHOWN_CHARS).collect();
            Err(amount_error(
                argument,
                "bare_number",
                format!("{argument}={t}: a bare number is not an amount of money; write usd({t}) for {t} dollars or nanos({t}) for {t} nano-dollars"),
            ))
        }
        AmountInput::Number(t) => {
            let t: String = t.chars().take(SHOWN_CHARS).collect();
            Err(amount_error(argument, "bare_number", format!("{argument}={t}: a bare number is not an amount of money; write usd({t}) for {t} dollars")))
        }
        AmountInput::Text(t) if t.starts_with('$') => {
            parse_usd(t).map_err(|e| amount_error(argument, e.kind(), format!("{argument}={}: {e}", shown(t))))
        }
        AmountInput::Text(t) => {
            let s = shown(t);
            match parse_usd(t) {
                Ok(_) => {
                    let dollar = shown(&format!("${t}"));
                    Err(amount_error(
                        argument,
                        "bare_string",
                        format!("{argument}={s}: a string amount needs its unit; write usd({s}) or {dollar} for {} dollars", &s[1..s.len() - 1]),
                    ))
                }
                Err(e) => Err(amount_error(argument, e.kind(), format!("{argument}={s}: {e}"))),
            }
        }
        AmountInput::Other(ty) => Err(amount_error(
            argument,
            "wrong_type",
            format!("{argument}: a {ty} is not an amount of money; write usd(\"1.50\") for dollars or nanos(n) for nano-dollars"),
        )),
    }
}

/// `usd(x)`: dollars from a number or a text (the language's own shortest
/// text of a number, or the caller's string). Any error names `usd(..)`.
pub fn usd(input: AmountInput<'_>) -> Result<Money, AmountError> {
    let call = |t: &str| format!("usd({t})");
    match input {
        AmountInput::Money(m) => Ok(m),
        AmountInput::Integer(t) | AmountInput::Number(t) => {
            let shown_t: String = t.chars().take(SHOWN_CHARS).collect();
            parse_usd(t).map_err(|e| {
                let e = match e {
                    MoneyError::NotANumber { .. } => {
                        return amount_error(&call(&shown_t), "not_a_number", format!("{}: {shown_t} is not a finite number", call(&shown_t)));
                    }
                    e => e,
                };
                amount_error(&call(&shown_t), e.kind(), format!("{}: {}", call(&shown_t), reshow(&e, &shown_t)))
            })
        }
        AmountInput::Text(t) => parse_usd(t).map_err(|e| amount_error(&call(&shown(t)), e.kind(), format!("{}: {e}", call(&shown(t))))),
        AmountInput::Other(ty) => Err(amount_error(
            "usd()",
            "wrong_type",
            format!("usd() takes dollars as a number or a decimal string (\"1.50\"), not a {ty}"),
        )),
    }
}

/// A [`MoneyError`] about a number, showing the number unquoted.
fn reshow(e: &MoneyError, t: &str) -> String {
    let t = t.to_owned();
    match e {
        MoneyError::NotANumber { .. } => MoneyError::NotANumber { shown: t },
        MoneyError::Negative { .. } => MoneyError::Negative { shown: t },
        MoneyError::TooPrecise { .. } => MoneyError::TooPrecise { shown: t },
        MoneyError::TooLarge { .. } => MoneyError::TooLarge { shown: t },
    }
    .to_string()
}

/// `nanos(n)`: whole nano-dollars, from an integer's text.
pub fn nanos(input: AmountInput<'_>) -> Result<Money, AmountError> {
    match input {
        AmountInput::Money(m) => Ok(m),
        AmountInput::Integer(t) => {
            let t: String = t.chars().take(SHOWN_CHARS).collect();
            let call = format!("nanos({t})");
            if let Some(rest) = t.strip_prefix('-') {
                if rest.bytes().all(|b| b == b'0') {
                    return Ok(Money::ZERO);
                }
                return Err(amount_error(&call, "negative", format!("{call}: {t} is negative; an amount of money cannot be")));
            }
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(amount_error(&call, "not_a_number", format!("{call}: {t} is not a whole number")));
            }
            t.parse::<u64>().map(Money).map_err(|_| {
                amount_error(&call, "too_large", format!("{call}: {t} is more than the largest amount, {} nano-dollars", u64::MAX))
            })
        }
        AmountInput::Number(t) => {
            let t: String = t.chars().take(SHOWN_CHARS).collect();
            let call = format!("nanos({t})");
            Err(amount_error(
                &call,
                "fractional_nanos",
                format!("{call}: nano-dollars are whole; write usd({t}) for {t} dollars"),
            ))
        }
        AmountInput::Text(t) => {
            let s = shown(t);
            let call = format!("nanos({s})");
            Err(amount_error(&call, "wrong_type", format!("{call}: nanos() takes a whole number of nano-dollars; for dollars write usd({s})")))
        }
        AmountInput::Other(ty) => Err(amount_error(
            "nanos()",
            "wrong_type",
            format!("nanos() takes a whole number of nano-dollars, not a {ty}"),
        )),
    }
}

/// The paths of every amount of money in a `PoolConfig` (`*` any agent's
/// name), for a binding that takes the config as its language's data and
/// must check each amount there with [`check_amount`].
pub const POOL_CONFIG_AMOUNTS: &[&str] =
    &["limit", "agents.*.cap.amount", "agents.*.credits_per_minute", "default_agent.cap.amount", "default_agent.credits_per_minute"];

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
    fn pool_config_amounts_are_every_amount() {
        use crate::pool::{AgentPolicy, Cap, PoolConfig};
        let mut c = PoolConfig::new(Money::from_nanos(900_000_000_001));
        let p = AgentPolicy {
            cap: Some(Cap::Absolute { amount: Money::from_nanos(900_000_000_002) }),
            credits_per_minute: Some(Money::from_nanos(900_000_000_003)),
            ..AgentPolicy::default()
        };
        c.agents.insert("a".into(), p.clone());
        c.default_agent = AgentPolicy {
            cap: Some(Cap::Absolute { amount: Money::from_nanos(900_000_000_004) }),
            credits_per_minute: Some(Money::from_nanos(900_000_000_005)),
            ..AgentPolicy::default()
        };
        let v = serde_json::to_value(&c).unwrap_or_default();
        let mut found = Vec::new();
        fn walk(v: &serde_json::Value, path: &str, found: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, x) in m {
                        let k = if path == "agents" { "*" } else { k.as_str() };
                        walk(x, &if path.is_empty() { k.to_owned() } else { format!("{path}.{k}") }, found);
                    }
                }
                serde_json::Value::Number(n) if n.as_u64().is_some_and(|n| n > 900_000_000_000) => found.push(path.to_owned()),
                _ => {}
            }
        }
        walk(&v, "", &mut found);
        found.sort();
        let mut want: Vec<String> = POOL_CONFIG_AMOUNTS.iter().map(|s| (*s).to_owned()).collect();
        want.sort();
        assert_eq!(found, want);
    }

    #[test]
    fn parse_is_exact_or_refused() {
        let p = |s: &str| Money::parse_usd(s).map(Money::nanos).map_err(|e| e.kind());
        assert_eq!(p("1.50"), Ok(1_500_000_000));
        assert_eq!(p("$0.000000001"), Ok(1));
        assert_eq!(p("1e-9"), Ok(1));
        assert_eq!(p("5E+1"), Ok(50_000_000_000));
        assert_eq!(p("0E-9"), Ok(0));
        assert_eq!(p("-0"), Ok(0));
        assert_eq!(p("18446744073.709551615"), Ok(u64::MAX));
        assert_eq!(p("18446744073.709551616"), Err("too_large"));
        assert_eq!(p("1e999999999999"), Err("too_large"));
        assert_eq!(p("1e-999999999999"), Err("too_precise"));
        assert_eq!(p("0.0000000001"), Err("too_precise"));
        assert_eq!(p("-1"), Err("negative"));
        for bad in ["", "$", ".", "1,000", " 1", "+1", "$$1", "1$", "USD 1", "1e", "1.2.3", "NaN", "Infinity", "0x10"] {
            assert_eq!(p(bad), Err("not_a_number"), "{bad:?}");
        }
        assert_eq!(Money::from_nanos(1_500_000_000).to_dollars_string(), "1.5");
        assert_eq!(Money::ZERO.to_dollars_string(), "0");
    }

    #[test]
    fn rules_by_name_are_the_rules() {
        let five = AmountInput::from_kind("integer", "5", 0);
        assert_eq!(five, AmountInput::Integer("5"));
        assert_eq!(AmountInput::from_kind("money", "ignored", 7), AmountInput::Money(Money::from_nanos(7)));
        assert_eq!(AmountInput::from_kind("Decimal", "Decimal", 0), AmountInput::Other("Decimal"));
        assert_eq!(apply_rule("usd", "", five), usd(five));
        assert_eq!(apply_rule("nanos", "", five), Ok(Money::from_nanos(5)));
        let refused = apply_rule("amount", "limit", five).unwrap_err();
        assert_eq!(refused, check_amount("limit", five).unwrap_err());
        assert_eq!(refused.argument, "limit");
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(Money::MAX.checked_add(Money::from_nanos(1)), None);
        assert_eq!(Money::ZERO.checked_sub(Money::from_nanos(1)), None);
        assert_eq!(Money::from_usd(2), Some(Money::from_nanos(2_000_000_000)));
        assert_eq!(Money::from_nanos(5).saturating_sub(Money::from_nanos(9)), Money::ZERO);
    }
}
