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
}

impl Agents {
    /// The index of a known agent.
    pub(crate) fn get(&self, name: &str) -> Option<u32> {
        self.names.get(name)
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
    pub(crate) fn name(&self, i: u32) -> Name {
        self.names.name(i).cloned().unwrap_or_else(|| Name::new(""))
    }

    /// An agent's policy.
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
