//! Tolerant parsing of JSON that may have been cut off.
//!
//! A `tool_use` block's input streams as `input_json_delta` fragments. When the
//! stream stops early (stop reason `max_tokens`, or a cut connection), the
//! fragments joined so far are a prefix of a JSON document. [`parse_partial`]
//! makes the most of such a prefix, with exactly the result the official
//! Anthropic Python SDK gives its users: its stream accumulator calls
//! `jiter.from_json(buffer, partial_mode=True)` after every delta. The rules of
//! that mode, pinned by `tests/vectors/partial_json/jiter.json`:
//!
//! * Unclosed arrays and objects are closed; what they held so far is kept.
//! * An unfinished scalar inside a container is dropped: a string without its
//!   closing quote (however long; strings are never truncated), a number
//!   that cannot end yet (`-`, `1.`, `1e`, `1e+`), a literal cut short (`tr`),
//!   an escape cut short (`"\u00`, a surrogate pair missing its second half).
//!   A number that could be complete is kept (`12` at the end stays `12`).
//! * An object key without its value is dropped, whether or not the key or
//!   the colon is complete; so is a trailing comma at the cut.
//! * Where a `,` or a closing bracket was expected but something else comes,
//!   the innermost container ends there, and the next one out continues from
//!   that same place: `[{"a":1]` is `[{"a":1}]` and `[1 2]` is `[1]`.
//! * Anything after the top-level value is ignored.
//! * A top-level value that is itself an unfinished scalar (`"abc`, `tru`) is
//!   an error ([`PartialJsonError::Incomplete`]): nothing can be salvaged.
//! * Everything else that is not JSON is an error, even in an unfinished
//!   document: a bad escape, a raw control character in a string, a missing
//!   colon, a key that is not a string, a trailing comma before `]` or `}`.
//!
//! [`PartialJson::complete`] says whether the input was one whole JSON document
//! (surrounding whitespace allowed), with nothing closed, dropped or ignored.
//!
//! Where this parser deliberately differs from jiter:
//!
//! * **Empty input.** `""` (or only whitespace) gives `{}`, complete. The API
//!   sends the input of a tool that takes no arguments as no fragments at all
//!   (or only empty ones); the SDK then keeps the `{}` from
//!   `content_block_start` and never calls jiter (jiter itself would fail).
//! * **Non-finite numbers.** jiter accepts `NaN`, `Infinity` and `-Infinity`
//!   and turns `1e400` into infinity; JSON (and [`serde_json::Value`]) has no
//!   such numbers, so these are [`PartialJsonError::NonFinite`]. Their
//!   unfinished forms (`Na`, `-Inf`) are dropped as jiter drops them.
//! * **Huge integers.** Integers beyond the 64-bit range become the nearest
//!   `f64` (as `serde_json` does), where Python keeps them exact.
//!
//! Nesting is capped at [`MAX_DEPTH`], jiter's own limit, and the parser keeps
//! its own stack on the heap, so deep input is an error, never a stack
//! overflow.

use serde_json::{Map, Number, Value};

/// How deep a value may sit below the top-level value (jiter's limit): the
/// top-level value is at depth 0, its elements at depth 1, and so on. So up to
/// 201 arrays may be nested, but the innermost of 201 must then be empty.
pub const MAX_DEPTH: usize = 200;

/// The result of [`parse_partial`].
#[derive(Clone, Debug, PartialEq)]
pub struct PartialJson {
    /// The value recovered from the input.
    pub value: Value,
    /// Whether the input was one whole JSON document: nothing had to be
    /// closed, dropped or ignored to produce [`value`](Self::value).
    pub complete: bool,
}

/// Why [`parse_partial`] could not produce a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PartialJsonError {
    /// The input is not a prefix of any JSON document.
    #[error("invalid JSON at byte {offset}: {reason}")]
    Syntax {
        /// Byte offset of the offending input.
        offset: usize,
        /// What is wrong there.
        reason: &'static str,
    },
    /// The input ends inside a top-level scalar (`"abc`, `tru`, `1.`), so there
    /// is nothing to recover.
    #[error("JSON ends inside a top-level {what}")]
    Incomplete {
        /// `"string"`, `"number"` or `"literal"`.
        what: &'static str,
    },
    /// Arrays and objects nest deeper than [`MAX_DEPTH`].
    #[error("JSON nested deeper than {limit} levels at byte {offset}")]
    TooDeep {
        /// Byte offset of the value that was one level too deep.
        offset: usize,
        /// The limit, [`MAX_DEPTH`].
        limit: usize,
    },
    /// `NaN`, `Infinity`, `-Infinity`, or a number too large for an `f64`:
    /// not representable in JSON.
    #[error("non-finite number at byte {offset}")]
    NonFinite {
        /// Byte offset of the number.
        offset: usize,
    },
}

/// Parses `s`, which may be a JSON document cut off anywhere, as the official
/// Python SDK's accumulator does (see the [module documentation](self)).
pub fn parse_partial(s: &str) -> Result<PartialJson, PartialJsonError> {
    Parser { s, b: s.as_bytes(), i: 0, complete: true, non_finite: None }.run()
}

/// How parsing one piece failed.
enum Fail {
    /// The input ran out (or a `,`/closer was missing): the innermost open
    /// container ends here, holding what it had.
    Soft(&'static str),
    /// Not JSON: the whole parse fails.
    Hard(PartialJsonError),
}

type Step<T> = Result<T, Fail>;

fn syntax<T>(offset: usize, reason: &'static str) -> Step<T> {
    Err(Fail::Hard(PartialJsonError::Syntax { offset, reason }))
}

/// An open container.
enum Frame {
    Array(Vec<Value>),
    /// The object so far and the key whose value is being parsed.
    Object(Map<String, Value>, String),
}

/// What to do next.
enum Next {
    /// Parse a value that starts at the current position (a non-whitespace
    /// byte is there).
    Value,
    /// A value is complete: store it in the innermost container, then look for
    /// `,` or the closer.
    Complete(Value),
    /// The innermost container cannot continue: close it as it stands.
    Close,
}

/// What follows a value inside a container.
enum After {
    /// Another array element; the position is at it.
    Value,
    /// Another object member with this key; the position is at its value.
    Member(String),
    /// The container's closing bracket (consumed).
    Closed,
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    complete: bool,
    /// Offset of the first non-finite number seen. It is reported only once
    /// the parse has otherwise succeeded, so that a later syntax error wins,
    /// as it does in jiter (which keeps such numbers as values).
    non_finite: Option<usize>,
}

impl Parser<'_> {
    fn run(mut self) -> Result<PartialJson, PartialJsonError> {
        if self.skip_ws().is_none() {
            return Ok(PartialJson { value: Value::Object(Map::new()), complete: true });
        }
        let mut stack: Vec<Frame> = Vec::new();
        let mut next = Next::Value;
        loop {
            next = match next {
                Next::Value => match self.value(&mut stack) {
                    Ok(n) => n,
                    Err(Fail::Hard(e)) => return Err(e),
                    Err(Fail::Soft(what)) => {
                        if stack.is_empty() {
                            return Err(PartialJsonError::Incomplete { what });
                        }
                        Next::Close
                    }
                },
                Next::Close => {
                    self.complete = false;
                    match stack.pop() {
                        Some(Frame::Array(items)) => Next::Complete(Value::Array(items)),
                        Some(Frame::Object(map, _)) => Next::Complete(Value::Object(map)),
                        None => {
                            return Err(PartialJsonError::Syntax { offset: self.i, reason: "internal: no container" })
                        }
                    }
                }
                Next::Complete(v) => {
                    let Some(top) = stack.last_mut() else {
                        if self.skip_ws().is_some() {
                            self.complete = false; // trailing input, ignored
                        }
                        if let Some(offset) = self.non_finite {
                            return Err(PartialJsonError::NonFinite { offset });
                        }
                        return Ok(PartialJson { value: v, complete: self.complete });
                    };
                    let step = match top {
                        Frame::Array(items) => {
                            items.push(v);
                            self.array_step()
                        }
                        Frame::Object(map, key) => {
                            map.insert(std::mem::take(key), v);
                            self.object_step()
                        }
                    };
                    match step {
                        Ok(After::Value) => Next::Value,
                        Ok(After::Member(key)) => {
                            if let Some(Frame::Object(_, k)) = stack.last_mut() {
                                *k = key;
                            }
                            Next::Value
                        }
                        Ok(After::Closed) => match stack.pop() {
                            Some(Frame::Array(items)) => Next::Complete(Value::Array(items)),
                            Some(Frame::Object(map, _)) => Next::Complete(Value::Object(map)),
                            None => Next::Close,
                        },
                        Err(Fail::Soft(_)) => Next::Close,
                        Err(Fail::Hard(e)) => return Err(e),
                    }
                }
            };
        }
    }

    /// Skips whitespace; returns the next byte, if any.
    fn skip_ws(&mut self) -> Option<u8> {
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b' ' | b'\t' | b'\n' | b'\r' => self.i += 1,
                _ => return Some(c),
            }
        }
        None
    }

    /// Parses the value at the current position (a non-whitespace byte). A
    /// scalar leaves the position unchanged when it fails.
    fn value(&mut self, stack: &mut Vec<Frame>) -> Step<Next> {
        if stack.len() > MAX_DEPTH {
            return Err(Fail::Hard(PartialJsonError::TooDeep { offset: self.i, limit: MAX_DEPTH }));
        }
        let start = self.i;
        match self.b.get(start) {
            Some(b'[') => {
                self.i += 1;
                match self.skip_ws() {
                    None => {
                        stack.push(Frame::Array(Vec::new()));
                        Ok(Next::Close)
                    }
                    Some(b']') => {
                        self.i += 1;
                        Ok(Next::Complete(Value::Array(Vec::new())))
                    }
                    Some(_) => {
                        stack.push(Frame::Array(Vec::new()));
                        Ok(Next::Value)
                    }
                }
            }
            Some(b'{') => {
                self.i += 1;
                match self.skip_ws() {
                    Some(b'}') => {
                        self.i += 1;
                        Ok(Next::Complete(Value::Object(Map::new())))
                    }
                    Some(b'"') => {
                        let key = self.key();
                        stack.push(Frame::Object(Map::new(), String::new()));
                        match key {
                            Ok(key) => {
                                if let Some(Frame::Object(_, k)) = stack.last_mut() {
                                    *k = key;
                                }
                                Ok(Next::Value)
                            }
                            Err(Fail::Soft(_)) => Ok(Next::Close),
                            Err(hard) => Err(hard),
                        }
                    }
                    Some(_) => syntax(self.i, "object key must be a string"),
                    None => {
                        stack.push(Frame::Object(Map::new(), String::new()));
                        Ok(Next::Close)
                    }
                }
            }
            Some(b'"') => {
                let (text, end) = self.string(start)?;
                self.i = end;
                Ok(Next::Complete(Value::String(text)))
            }
            Some(b't') => self.literal(start, b"true", Value::Bool(true)),
            Some(b'f') => self.literal(start, b"false", Value::Bool(false)),
            Some(b'n') => self.literal(start, b"null", Value::Null),
            Some(b'0'..=b'9' | b'-' | b'N' | b'I') => {
                let (n, end) = self.number(start)?;
                self.i = end;
                match n {
                    Some(n) => Ok(Next::Complete(Value::Number(n))),
                    None => {
                        self.non_finite.get_or_insert(start);
                        Ok(Next::Complete(Value::Null))
                    }
                }
            }
            _ => syntax(start, "expected a value"),
        }
    }

    /// After a value in an array: another value follows, or the array closed.
    fn array_step(&mut self) -> Step<After> {
        match self.skip_ws() {
            Some(b',') => {
                self.i += 1;
                match self.skip_ws() {
                    Some(b']') => syntax(self.i, "trailing comma"),
                    Some(_) => Ok(After::Value),
                    None => Err(Fail::Soft("array")),
                }
            }
            Some(b']') => {
                self.i += 1;
                Ok(After::Closed)
            }
            Some(_) => Err(Fail::Soft("array")),
            None => Err(Fail::Soft("array")),
        }
    }

    /// After a value in an object: another member follows, or the object
    /// closed.
    fn object_step(&mut self) -> Step<After> {
        match self.skip_ws() {
            Some(b',') => {
                self.i += 1;
                match self.skip_ws() {
                    Some(b'"') => self.key().map(After::Member),
                    Some(b'}') => syntax(self.i, "trailing comma"),
                    Some(_) => syntax(self.i, "object key must be a string"),
                    None => Err(Fail::Soft("object")),
                }
            }
            Some(b'}') => {
                self.i += 1;
                Ok(After::Closed)
            }
            Some(_) => Err(Fail::Soft("object")),
            None => Err(Fail::Soft("object")),
        }
    }

    /// A key at the current position (a `"`), its colon, and the whitespace up
    /// to its value, which must have begun.
    fn key(&mut self) -> Step<String> {
        let (key, end) = self.string(self.i)?;
        self.i = end;
        match self.skip_ws() {
            Some(b':') => self.i += 1,
            Some(_) => return syntax(self.i, "expected `:` after an object key"),
            None => return Err(Fail::Soft("object")),
        }
        match self.skip_ws() {
            Some(_) => Ok(key),
            None => Err(Fail::Soft("object")),
        }
    }

    /// `true`, `false` or `null` starting at `start`; only its first byte has
    /// been checked.
    fn literal(&mut self, start: usize, word: &[u8], v: Value) -> Step<Next> {
        let end = self.ident(start, word)?;
        self.i = end;
        Ok(Next::Complete(v))
    }

    /// Matches `word` at `start` (its first byte already known to match):
    /// a mismatch is a syntax error, running out of input a soft failure.
    fn ident(&self, start: usize, word: &[u8]) -> Step<usize> {
        for (k, want) in word.iter().enumerate().skip(1) {
            match self.b.get(start + k) {
                Some(c) if c == want => {}
                Some(_) => return syntax(start + k, "invalid literal"),
                None => return Err(Fail::Soft("literal")),
            }
        }
        Ok(start + word.len())
    }

    /// The string whose opening quote is at `start`; returns it and the
    /// position after its closing quote.
    fn string(&self, start: usize) -> Step<(String, usize)> {
        const SOFT: Fail = Fail::Soft("string");
        let b = self.b;
        let mut out = String::new();
        let mut i = start + 1;
        let mut run = i;
        loop {
            let Some(&c) = b.get(i) else { return Err(SOFT) };
            match c {
                b'"' => {
                    out.push_str(self.s.get(run..i).unwrap_or_default());
                    return Ok((out, i + 1));
                }
                0x00..=0x1F => return syntax(i, "control character in string"),
                b'\\' => {
                    out.push_str(self.s.get(run..i).unwrap_or_default());
                    i += 1;
                    let Some(&e) = b.get(i) else { return Err(SOFT) };
                    let simple = match e {
                        b'"' => Some('"'),
                        b'\\' => Some('\\'),
                        b'/' => Some('/'),
                        b'b' => Some('\u{8}'),
                        b'f' => Some('\u{c}'),
                        b'n' => Some('\n'),
                        b'r' => Some('\r'),
                        b't' => Some('\t'),
                        b'u' => None,
                        _ => return syntax(i, "invalid escape"),
                    };
                    if let Some(ch) = simple {
                        out.push(ch);
                        i += 1;
                    } else {
                        let (ch, end) = self.unicode_escape(i)?;
                        out.push(ch);
                        i = end;
                    }
                    run = i;
                }
                _ => i += 1,
            }
        }
    }

    /// Four hex digits after the `u` at `u`: their value.
    fn hex4(&self, u: usize) -> Step<u32> {
        let Some(digits) = self.b.get(u + 1..u + 5) else { return Err(Fail::Soft("string")) };
        let mut n = 0u32;
        for (k, &d) in digits.iter().enumerate() {
            let v = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return syntax(u + 1 + k, "invalid escape"),
            };
            n = (n << 4) | u32::from(v);
        }
        Ok(n)
    }

    /// A `\uXXXX` escape (with its low surrogate, if it needs one) whose `u` is
    /// at `u`; returns the character and the position after it.
    fn unicode_escape(&self, u: usize) -> Step<(char, usize)> {
        let n = self.hex4(u)?;
        let after = u + 5;
        match n {
            0xDC00..=0xDFFF => syntax(u, "lone low surrogate"),
            0xD800..=0xDBFF => match self.b.get(after..after + 2) {
                Some(b"\\u") => {
                    let n2 = self.hex4(after + 1)?;
                    if !(0xDC00..=0xDFFF).contains(&n2) {
                        return syntax(after + 1, "high surrogate not followed by a low surrogate");
                    }
                    let c = 0x1_0000 + ((n - 0xD800) << 10) + (n2 - 0xDC00);
                    match char::from_u32(c) {
                        Some(ch) => Ok((ch, after + 6)),
                        None => syntax(u, "invalid escape"),
                    }
                }
                Some(_) => syntax(after, "high surrogate not followed by a low surrogate"),
                None => match self.b.get(after) {
                    None | Some(b'\\') => Err(Fail::Soft("string")),
                    Some(_) => syntax(after, "high surrogate not followed by a low surrogate"),
                },
            },
            _ => match char::from_u32(n) {
                Some(ch) => Ok((ch, after)),
                None => syntax(u, "invalid escape"),
            },
        }
    }

    /// The number starting at `start`, or `None` for a non-finite one, and
    /// the position after it.
    fn number(&self, start: usize) -> Step<(Option<Number>, usize)> {
        const SOFT: Fail = Fail::Soft("number");
        let b = self.b;
        let mut i = start;
        if b.get(i) == Some(&b'N') {
            return Ok((None, self.ident(i, b"NaN")?));
        }
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            None => return Err(SOFT),
            Some(b'I') => return Ok((None, self.ident(i, b"Infinity")?)),
            Some(b'0') => {
                i += 1;
                if b.get(i).is_some_and(u8::is_ascii_digit) {
                    return syntax(i, "leading zero in number");
                }
            }
            Some(b'1'..=b'9') => {
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            Some(_) => return syntax(i, "invalid number"),
        }
        let mut float = false;
        if b.get(i) == Some(&b'.') {
            float = true;
            i += 1;
            match b.get(i) {
                None => return Err(SOFT),
                Some(d) if d.is_ascii_digit() => {}
                Some(_) => return syntax(i, "invalid number"),
            }
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            float = true;
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            match b.get(i) {
                None => return Err(SOFT),
                Some(d) if d.is_ascii_digit() => {}
                Some(_) => return syntax(i, "invalid number"),
            }
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        let text = self.s.get(start..i).unwrap_or_default();
        if !float {
            if let Ok(n) = text.parse::<i64>() {
                return Ok((Some(Number::from(n)), i));
            }
            if let Ok(n) = text.parse::<u64>() {
                return Ok((Some(Number::from(n)), i));
            }
        }
        Ok((text.parse::<f64>().ok().and_then(Number::from_f64), i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(s: &str) -> (Value, bool) {
        let p = parse_partial(s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
        (p.value, p.complete)
    }

    #[test]
    fn empty_input_is_an_empty_object() {
        assert_eq!(ok(""), (json!({}), true));
        assert_eq!(ok(" \n"), (json!({}), true));
    }

    #[test]
    fn complete_documents() {
        assert!(ok(r#"{"a": [1, 2.5, -3e2, true, false, null, "x\u00e9\ud83d\ude00"]}"#).1);
        assert_eq!(ok(r#" {"a":1} "#), (json!({"a": 1}), true));
        assert_eq!(ok("12"), (json!(12), true));
        assert_eq!(ok("-0"), (json!(0), true));
        assert_eq!(ok("18446744073709551615"), (json!(u64::MAX), true));
        assert_eq!(ok("-9223372036854775808"), (json!(i64::MIN), true));
        assert_eq!(ok(r#""\"\\\/\b\f\n\r\t""#), (json!("\"\\/\u{8}\u{c}\n\r\t"), true));
    }

    #[test]
    fn truncated_tails_are_dropped() {
        assert_eq!(ok(r#"{"a": 1, "b": "hel"#), (json!({"a": 1}), false));
        assert_eq!(ok(r#"{"a": 1, "b""#), (json!({"a": 1}), false));
        assert_eq!(ok(r#"{"a": 1, "b":"#), (json!({"a": 1}), false));
        assert_eq!(ok(r#"{"a": [1, 2"#), (json!({"a": [1, 2]}), false));
        assert_eq!(ok(r#"{"a": [1, 2."#), (json!({"a": [1]}), false));
        assert_eq!(ok(r#"[1e+"#), (json!([]), false));
        assert_eq!(ok(r#"[tr"#), (json!([]), false));
        assert_eq!(ok(r#"["\ud83d"#), (json!([]), false));
        assert_eq!(ok(r#"["\ud83d\ude0"#), (json!([]), false));
        assert_eq!(ok(r#"{"a":{"b":[{"#), (json!({"a": {"b": [{}]}}), false));
    }

    #[test]
    fn missing_commas_close_the_innermost_container() {
        assert_eq!(ok("[1 2]"), (json!([1]), false));
        assert_eq!(ok(r#"[{"a":1], 5]"#), (json!([{"a": 1}]), false));
        assert_eq!(ok(r#"{"x":[1}, "y":2}"#), (json!({"x": [1]}), false));
        assert_eq!(ok(r#"{"a":1} trailing"#), (json!({"a": 1}), false));
        assert_eq!(ok("[true x"), (json!([true]), false));
    }

    #[test]
    fn errors() {
        let syn = |s: &str| matches!(parse_partial(s), Err(PartialJsonError::Syntax { .. }));
        for s in [
            "x",
            "[1,]",
            r#"{"a":1,}"#,
            "{1",
            r#"{"a"1"#,
            r#"["\x"#,
            "[01",
            "[1.x",
            "[tx",
            "[\"a\u{1}",
            r#"["\udc00"]"#,
            r#"["\ud800x"#,
        ] {
            assert!(syn(s), "{s:?} should be a syntax error: {:?}", parse_partial(s));
        }
        for s in ["\"abc", "tru", "1.", "-"] {
            assert!(matches!(parse_partial(s), Err(PartialJsonError::Incomplete { .. })), "{s:?}");
        }
        for s in ["[NaN", "[-Infinity]", "1e400", "Infinity", "[1, NaN, 2"] {
            assert!(matches!(parse_partial(s), Err(PartialJsonError::NonFinite { .. })), "{s:?}");
        }
        // A syntax error after a non-finite number wins, as in jiter.
        assert!(matches!(parse_partial("[NaN, 1,]"), Err(PartialJsonError::Syntax { .. })));
        assert_eq!(ok("[Na"), (json!([]), false));
    }

    #[test]
    fn depth_limit_matches_jiter() {
        let open = |n: usize| "[".repeat(n);
        assert!(parse_partial(&open(201)).is_ok());
        assert!(parse_partial(&(open(201) + "]")).is_ok());
        assert!(matches!(parse_partial(&(open(201) + "1")), Err(PartialJsonError::TooDeep { limit: 200, .. })));
        assert!(matches!(parse_partial(&open(202)), Err(PartialJsonError::TooDeep { .. })));
        // Far deeper input is an error, not a stack overflow.
        assert!(matches!(parse_partial(&open(1_000_000)), Err(PartialJsonError::TooDeep { .. })));
        let deep = format!("{}1{}", open(200), "]".repeat(200));
        assert!(parse_partial(&deep).unwrap().complete);
    }

    #[test]
    fn duplicate_keys_last_wins_but_an_unfinished_one_is_dropped() {
        assert_eq!(ok(r#"{"a":1,"a":2}"#), (json!({"a": 2}), true));
        assert_eq!(ok(r#"{"a":1,"a":"#), (json!({"a": 1}), false));
        assert_eq!(ok(r#"{"a":1,"a":["#), (json!({"a": []}), false));
    }

    #[test]
    fn agrees_with_serde_json_on_whole_documents() {
        let docs = [
            r#"{"location": "San Francisco, CA", "unit": "celsius", "days": [1, 2, 3]}"#,
            r#"[0.1, 1e-7, 123456789.125, -0.0, 5E+3, 17]"#,
            r#"{"nested": {"deeper": {"list": [[], {}, [[]], "\u20ac"]}}}"#,
        ];
        for d in docs {
            let p = parse_partial(d).unwrap();
            assert!(p.complete);
            assert_eq!(p.value, serde_json::from_str::<Value>(d).unwrap(), "{d}");
        }
    }

    #[test]
    fn every_prefix_parses_or_fails_cleanly() {
        let doc = r#"{"q": "caf\u00e9 \ud83d\ude00", "n": [-1.5e3, 0, true, null], "o": {"k": "v"}}"#;
        for end in 0..=doc.len() {
            let prefix = &doc[..end];
            match parse_partial(prefix) {
                Ok(p) => assert_eq!(p.complete, end == doc.len() || end == 0, "{prefix:?}"),
                Err(e) => panic!("{prefix:?}: {e}"),
            }
        }
    }
}
