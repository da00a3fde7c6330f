//! The key layout: every key of one pool under one hash tag,
//! `cp:{<name>}:<part>`, so that a pool lives in one slot of a Redis Cluster
//! and each script touches only keys it declares.

use super::RedisError;

/// The parts of a pool, in the order the script receives them as `KEYS`.
pub const KEY_PARTS: [&str; 15] = ["cfg", "st", "open", "lease", "xp", "xq", "ag", "pol", "md", "tl", "se", "hi", "idem", "ledger", "outbox"];

/// The longest pool name, in bytes.
pub const MAX_NAME_BYTES: usize = 200;

/// The keys of one pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolKeys {
    name: String,
    keys: Vec<String>,
}

impl PoolKeys {
    /// The keys of pool `name`: 1 to 200 bytes, without `{`, `}` or control
    /// characters (a brace would change the hash tag and split the pool across
    /// slots).
    pub fn new(name: &str) -> Result<PoolKeys, RedisError> {
        let why = if name.is_empty() {
            Some("is empty")
        } else if name.len() > MAX_NAME_BYTES {
            Some("is longer than 200 bytes")
        } else if name.contains(['{', '}']) {
            Some("contains a brace (it would change the Redis Cluster hash tag)")
        } else if name.chars().any(char::is_control) {
            Some("contains a control character")
        } else {
            None
        };
        if let Some(reason) = why {
            return Err(RedisError::InvalidPoolName { name: name.chars().take(64).collect(), reason: reason.to_owned() });
        }
        let keys = KEY_PARTS.iter().map(|p| format!("cp:{{{name}}}:{p}")).collect();
        Ok(PoolKeys { name: name.to_owned(), keys })
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The hash tag every key shares: `{<name>}`.
    pub fn hash_tag(&self) -> String {
        format!("{{{}}}", self.name)
    }

    /// Every key, in the script's `KEYS` order.
    pub fn all(&self) -> &[String] {
        &self.keys
    }

    fn part(&self, p: &str) -> &str {
        let i = KEY_PARTS.iter().position(|k| *k == p).unwrap_or(0);
        self.keys.get(i).map_or("", String::as_str)
    }

    /// The ledger stream (one entry per settle, release and expiry).
    pub fn ledger(&self) -> &str {
        self.part("ledger")
    }

    /// The alerts' outbox stream.
    pub fn outbox(&self) -> &str {
        self.part("outbox")
    }

    /// The configuration hash (its `json` field is the configuration).
    pub fn config(&self) -> &str {
        self.part("cfg")
    }

    /// The state hash (limit, cycle, totals, counters).
    pub fn state(&self) -> &str {
        self.part("st")
    }

    /// The book of message threads' index: a sorted set of message IDs
    /// scored by their entry's deadline (`cp:{<name>}:thz`).
    pub fn thread_index(&self) -> String {
        format!("cp:{{{}}}:thz", self.name)
    }

    /// One entry of the book of message threads (`cp:{<name>}:th:<message
    /// id>`), a string expiring at its deadline.
    pub fn thread_entry(&self, message_id: &str) -> String {
        format!("cp:{{{}}}:th:{message_id}", self.name)
    }

    /// The keys of a thread operation: the pool's, then
    /// [`PoolKeys::thread_index`] and [`PoolKeys::thread_entry`].
    pub fn with_thread(&self, message_id: &str) -> Vec<String> {
        let mut keys = self.keys.clone();
        keys.push(self.thread_index());
        keys.push(self.thread_entry(message_id));
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_one_hash_tag() {
        let k = PoolKeys::new("fleet").unwrap();
        assert_eq!(k.all().len(), 15);
        assert!(k.all().iter().all(|key| key.starts_with("cp:{fleet}:")));
        assert_eq!(k.ledger(), "cp:{fleet}:ledger");
        assert_eq!(k.outbox(), "cp:{fleet}:outbox");
        let t = k.with_thread("msg_1");
        assert_eq!(&t[15..], ["cp:{fleet}:thz", "cp:{fleet}:th:msg_1"]);
        for bad in ["", "a{b", "a}b", "a\nb"] {
            assert!(matches!(PoolKeys::new(bad), Err(RedisError::InvalidPoolName { .. })), "{bad:?}");
        }
        assert!(PoolKeys::new(&"x".repeat(201)).is_err());
    }
}
