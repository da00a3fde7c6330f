//! [`RedisValue`]: a Redis reply as plain data, whatever client read it.

use super::RedisError;

/// One Redis reply (RESP2 types; a binding maps its client's reply type onto
/// this, RESP3 maps and sets as arrays of their items).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedisValue {
    /// A nil bulk string or array.
    Nil,
    /// An integer.
    Int(i64),
    /// A bulk string.
    Bulk(Vec<u8>),
    /// An array.
    Array(Vec<RedisValue>),
    /// A simple string (`+OK`).
    Status(String),
    /// An error reply (`-ERR ...`), its whole text.
    Error(String),
}

pub(crate) fn bad(reason: impl Into<String>) -> RedisError {
    RedisError::Reply { reason: reason.into() }
}

impl RedisValue {
    /// A bulk string.
    pub fn bulk(s: impl Into<Vec<u8>>) -> RedisValue {
        RedisValue::Bulk(s.into())
    }

    /// The value as text (a bulk string, a status or an integer).
    pub fn as_text(&self) -> Result<String, RedisError> {
        match self {
            RedisValue::Bulk(b) => String::from_utf8(b.clone()).map_err(|_| bad("a reply string is not UTF-8")),
            RedisValue::Status(s) => Ok(s.clone()),
            RedisValue::Int(i) => Ok(i.to_string()),
            other => Err(bad(format!("expected a string, got {}", other.kind()))),
        }
    }

    /// The value as an unsigned integer (an integer, or a string of digits).
    pub fn as_u64(&self) -> Result<u64, RedisError> {
        match self {
            RedisValue::Int(i) => u64::try_from(*i).map_err(|_| bad(format!("negative integer {i} in a reply"))),
            RedisValue::Bulk(_) | RedisValue::Status(_) => {
                let t = self.as_text()?;
                t.parse::<u64>().map_err(|_| bad(format!("expected an integer, got {t:?}")))
            }
            other => Err(bad(format!("expected an integer, got {}", other.kind()))),
        }
    }

    /// The items of an array (a nil counts as empty).
    pub fn as_array(&self) -> Result<&[RedisValue], RedisError> {
        match self {
            RedisValue::Array(v) => Ok(v),
            RedisValue::Nil => Ok(&[]),
            RedisValue::Error(e) => Err(bad(format!("error reply: {e}"))),
            other => Err(bad(format!("expected an array, got {}", other.kind()))),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            RedisValue::Nil => "nil",
            RedisValue::Int(_) => "an integer",
            RedisValue::Bulk(_) => "a bulk string",
            RedisValue::Array(_) => "an array",
            RedisValue::Status(_) => "a status",
            RedisValue::Error(_) => "an error",
        }
    }
}

/// A flat `[field, value, field, value, ...]` reply (HGETALL) as pairs of text.
pub(crate) fn pairs(v: &RedisValue) -> Result<Vec<(String, String)>, RedisError> {
    let items = v.as_array()?;
    if items.len() % 2 != 0 {
        return Err(bad("a field list has an odd length"));
    }
    items.chunks(2).map(|c| Ok((c[0].as_text()?, c[1].as_text()?))).collect()
}
