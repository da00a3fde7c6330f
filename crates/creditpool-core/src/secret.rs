//! The API key, which never shows itself.

use core::fmt;

/// An Anthropic API key.
///
/// Its `Debug` and `Display` print `ApiKey(****)` whatever the key is, so that a key
/// can sit inside any struct that is logged, shown in an error or snapshotted
/// without leaking. It deliberately implements neither `Serialize` nor
/// `Deserialize`: no snapshot or ledger can hold it. Read the key only to put it
/// on the wire, with [`ApiKey::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key. Surrounding whitespace (a trailing newline from a file or an
    /// environment variable, say) is trimmed.
    pub fn new(key: impl Into<String>) -> ApiKey {
        let key: String = key.into();
        let trimmed = key.trim();
        if trimmed.len() == key.len() {
            ApiKey(key)
        } else {
            ApiKey(trimmed.to_owned())
        }
    }

    /// The key itself, for the `x-api-key` header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the key is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(****)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_shows_itself() {
        let key = ApiKey::new("sk-test-0123456789abcdef\n");
        assert_eq!(format!("{key:?}"), "ApiKey(****)");
        assert_eq!(format!("{key}"), "****");
        assert_eq!(format!("{:#?}", Some(&key)), "Some(\n    ApiKey(****),\n)");
        assert_eq!(key.expose(), "sk-test-0123456789abcdef");
    }
}
