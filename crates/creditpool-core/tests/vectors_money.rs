//! Runs the `money` vectors: the rules for writing amounts
//! (`creditpool_core::money`) and the formatting of one.

mod common;

use creditpool_core::money::{self, AmountInput};
use creditpool_core::Money;
use serde_json::{json, Value};

fn text_of(v: &Value) -> (String, &'static str) {
    match v {
        Value::Number(n) if n.is_u64() || n.is_i64() => (n.to_string(), "integer"),
        Value::Number(n) => (n.to_string(), "number"),
        Value::String(s) => (s.clone(), "text"),
        other => (other.to_string(), "other"),
    }
}

#[test]
fn money_vectors() {
    let n = common::run_kind("money", |case| {
        let i = &case.input;
        let rule = i["rule"].as_str().ok_or("input.rule missing")?;
        let (text, kind) = if let Some(s) = i.get("integer").and_then(Value::as_str) {
            (s.to_owned(), "integer")
        } else if let Some(s) = i.get("money").and_then(Value::as_str) {
            (s.to_owned(), "money")
        } else if let Some(s) = i.get("nanos").and_then(Value::as_str) {
            (s.to_owned(), "money")
        } else {
            text_of(&i["value"])
        };
        let input = match kind {
            "integer" => AmountInput::Integer(&text),
            "number" => AmountInput::Number(&text),
            "text" => AmountInput::Text(&text),
            "money" => AmountInput::Money(Money::from_nanos(text.parse().map_err(|_| "bad nanos")?)),
            _ => AmountInput::Other(&text),
        };
        let result = match rule {
            "usd" => money::usd(input),
            "nanos" => money::nanos(input),
            "amount" => money::check_amount(i["argument"].as_str().ok_or("argument missing")?, input),
            "format" => Ok(Money::from_nanos(text.parse().map_err(|_| "bad nanos")?)),
            r => return Err(format!("unknown rule {r}")),
        };
        let actual = match result {
            Ok(m) => json!({"nanos": m.nanos().to_string(), "dollars": m.to_dollars_string(), "usd": m.to_string()}),
            Err(e) => json!({"error": {"reason": e.kind, "argument": e.argument, "message": e.message}}),
        };
        if actual == case.expected {
            Ok(())
        } else {
            Err(format!("got {actual}, expected {}", case.expected))
        }
    });
    assert!(n >= 30, "expected at least 30 money vectors, found {n}");
}
