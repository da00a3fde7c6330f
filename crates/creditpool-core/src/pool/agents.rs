//! The agent table: each agent's name, interned to a dense index, and its
//! resolved policy (its own from the configuration, or the default).
//!
//! Agents are added on first use (or at creation, for those the configuration
//! names) and never removed, so that indices stay valid for the pool's life.

use super::config::AgentPolicy;
use super::name::{Interner, Name};

/// The policy used if an index is somehow unknown (never, in practice).
const FALLBACK_POLICY: AgentPolicy = AgentPolicy { cap: None, weight: 1, credits_per_minute: None, requests_per_minute: None };

/// Agents by index.
#[derive(Clone, Debug, Default)]
pub(crate) struct Agents {
    names: Interner,
    policies: Vec<AgentPolicy>,
    /// The last agent looked up: most callers reserve for one agent at a time,
    /// and comparing one string is cheaper than hashing it.
    last: Option<u32>,
}

impl Agents {
    /// The index of a known agent.
    pub(crate) fn get(&self, name: &str) -> Option<u32> {
        self.names.get(name)
    }

    /// The index of a known agent, remembering it for the next lookup.
    #[inline]
    pub(crate) fn lookup(&mut self, name: &str) -> Option<u32> {
        if let Some(i) = self.last {
            if self.names.name(i).is_some_and(|n| n.as_str() == name) {
                return Some(i);
            }
        }
        let i = self.names.get(name)?;
        self.last = Some(i);
        Some(i)
    }

    /// How many agents.
    pub(crate) fn len(&self) -> usize {
        self.policies.len()
    }

    /// Adds an agent (or returns its index if known, leaving its policy).
    pub(crate) fn add(&mut self, name: &str, policy: AgentPolicy) -> u32 {
        if let Some(i) = self.names.get(name) {
            return i;
        }
        let i = self.names.intern(name);
        self.policies.push(policy);
        i
    }

    /// An agent's name.
    #[inline]
    pub(crate) fn name(&self, i: u32) -> Name {
        self.names.name(i).cloned().unwrap_or_else(|| Name::new(""))
    }

    /// An agent's policy.
    #[inline]
    pub(crate) fn policy(&self, i: u32) -> &AgentPolicy {
        self.policies.get(i as usize).unwrap_or(&FALLBACK_POLICY)
    }

    /// Replaces an agent's policy.
    pub(crate) fn set_policy(&mut self, i: u32, policy: AgentPolicy) {
        if let Some(p) = self.policies.get_mut(i as usize) {
            *p = policy;
        }
    }
}
