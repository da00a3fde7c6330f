//! Interned names: agents, models and tools.
//!
//! The pool's hot path must not allocate a `String` per reservation, so every
//! agent, model and tool name is stored once and shared as a [`Name`] (a
//! reference-counted string: cloning it is a counter increment, not a copy).

use super::hash::FxBuildHasher;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A shared, immutable name (agent, model or tool). Serialized as a JSON string.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(Arc<str>);

impl Name {
    /// A name holding a copy of `s`.
    pub fn new(s: &str) -> Name {
        Name(Arc::from(s))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name::new(s)
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        Name(Arc::from(s))
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Name, D::Error> {
        String::deserialize(d).map(Name::from)
    }
}

/// A table of names, each with a dense index (`u32`) assigned in order of first
/// appearance. Looking up an existing name does not allocate.
#[derive(Clone, Debug, Default)]
pub(crate) struct Interner {
    names: Vec<Name>,
    index: HashMap<Name, u32, FxBuildHasher>,
}

impl Interner {
    /// The index of `name`, if known.
    pub(crate) fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// The index of `name`, adding it if new.
    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        if let Some(i) = self.index.get(name) {
            return *i;
        }
        let i = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        let n = Name::new(name);
        self.names.push(n.clone());
        self.index.insert(n, i);
        i
    }

    /// The name at `i` (an index this table handed out).
    pub(crate) fn name(&self, i: u32) -> Option<&Name> {
        self.names.get(i as usize)
    }

    /// Every name, by index.
    pub(crate) fn names(&self) -> &[Name] {
        &self.names
    }

    /// How many names.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_once_in_order() {
        let mut t = Interner::default();
        assert_eq!(t.intern("b"), 0);
        assert_eq!(t.intern("a"), 1);
        assert_eq!(t.intern("b"), 0);
        assert_eq!(t.get("a"), Some(1));
        assert_eq!(t.get("c"), None);
        assert_eq!(t.name(1).map(Name::as_str), Some("a"));
        assert_eq!(t.len(), 2);
        assert_eq!(serde_json::to_string(&Name::new("x\"y")).unwrap(), r#""x\"y""#);
    }
}
