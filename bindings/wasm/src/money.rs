//! Money for JS (`creditpool_core::money`): the rule for amount arguments
//! and its words, dollars parsed exactly, the display, and the factory that
//! makes every amount the module hands out a JS `Money`.

use std::cell::RefCell;

use creditpool_core::money::{self, AmountInput};
use creditpool_core::Money;
use js_sys::{Array, BigInt, Function};
use wasm_bindgen::prelude::*;

use crate::convert::object;
use crate::errors;

thread_local! {
    static FACTORY: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Registers the function that builds money values:
/// `factory(nanos: bigint, usd: string) -> Money`.
#[wasm_bindgen(js_name = setMoneyFactory)]
pub fn set_money_factory(factory: Function) {
    FACTORY.with(|f| {
        if let Ok(mut slot) = f.try_borrow_mut() {
            *slot = Some(factory);
        }
    });
}

/// The JS `Money` for `m`, when the factory is registered and answers.
pub(crate) fn make(m: Money) -> Option<JsValue> {
    let factory = FACTORY.with(|f| f.try_borrow().ok().and_then(|slot| slot.clone()))?;
    let nanos: JsValue = BigInt::from(m.nanos()).into();
    factory.call2(&JsValue::NULL, &nanos, &JsValue::from_str(&m.to_string())).ok()
}

fn u64_of(v: &JsValue) -> Option<u64> {
    let b = v.dyn_ref::<BigInt>()?;
    u64::try_from(b.clone()).ok()
}

/// One money rule of the core on a value the JS side has sorted: `rule` is
/// `usd`, `nanos` or `amount` (an amount argument named `argument`); `kind`
/// is `money` (then `nanos`, a bigint, is its value), `integer`, `number`,
/// `text` or `other` (then `text` is the type's name). Returns the
/// nano-USD as a bigint, or throws `InvalidOptionsError` (code
/// `invalid_options`, `argument`, `reason`).
#[wasm_bindgen(js_name = moneyRule)]
pub fn money_rule(rule: &str, argument: &str, kind: &str, text: &str, nanos: JsValue) -> Result<BigInt, JsValue> {
    money::apply_rule(rule, argument, AmountInput::from_kind(kind, text, u64_of(&nanos).unwrap_or(0)))
        .map(|m| BigInt::from(m.nanos())).map_err(|e| {
        let fields = object(&[
            ("kind", JsValue::from_str("invalid_options")),
            ("argument", JsValue::from_str(&e.argument)),
            ("reason", JsValue::from_str(e.kind)),
        ]);
        errors::make("invalid_options", "configuration_error", &e.message, fields)
    })
}

/// Dollars for display, at least two decimals (`"$1.50"`).
#[wasm_bindgen(js_name = formatUsd)]
pub fn format_usd(nanos: BigInt) -> Result<String, JsValue> {
    let n = u64::try_from(nanos).map_err(|_| errors::simple("invalid_argument", "an amount must be 0 to 2^64 - 1 nano-USD"))?;
    Ok(Money::from_nanos(n).to_string())
}

/// The exact dollars with no needless digit (`"1.5"`, `"0"`).
#[wasm_bindgen(js_name = dollarsString)]
pub fn dollars_string(nanos: BigInt) -> Result<String, JsValue> {
    let n = u64::try_from(nanos).map_err(|_| errors::simple("invalid_argument", "an amount must be 0 to 2^64 - 1 nano-USD"))?;
    Ok(Money::from_nanos(n).to_dollars_string())
}

/// The paths of every amount in a pool configuration (`*`: any agent).
#[wasm_bindgen(js_name = poolConfigAmounts)]
pub fn pool_config_amounts() -> Array {
    money::POOL_CONFIG_AMOUNTS.iter().map(|p| JsValue::from_str(p)).collect()
}
