//! The audit ledger: one entry per settle, release and expiry.
//!
//! Entries are pulled with [`Pool::poll_ledger`](super::Pool::poll_ledger), in
//! order of their sequence numbers, and are meant to be appended to a JSON Lines
//! file ([`LedgerEntry::to_json_line`]). The sum of the `cost` of a cycle's
//! entries equals the cycle's settled spend. The ledger never holds the API key:
//! the pool never sees it.
//!
//! An entry in JSON (optional fields absent when empty):
//!
//! ```json
//! {"seq": 7, "at_ms": 1795570181123, "kind": "settle", "reservation_id": 3,
//!  "agent": "researcher", "cycle_start_ms": 1793491200000,
//!  "reserved": 90000000, "cost": 41250000, "refunded": 48750000, "overrun": 0, "late": false,
//!  "model": "claude-sonnet-4-5", "request_id": "req_011", "message_id": "msg_01",
//!  "tokens": {"input": 10000, "output": 750, "cache_write_5m": 0, "cache_write_1h": 0,
//!             "cache_read": 0, "web_search_requests": 0},
//!  "attribution": {"conversation": 40000000,
//!                  "tools": [{"tool": "search", "part": "definition", "cost": 1250000}]}}
//! ```

use super::attribution::Attribution;
use super::name::Name;
use crate::api::Usage;
use crate::money::Money;
use serde::{Deserialize, Serialize};

/// What closed a reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    /// Settled with its actual cost.
    Settle,
    /// Released (the request failed): nothing spent.
    Release,
    /// Its lease ended unsettled: its amount, the request's worst case, is
    /// counted as spent and flagged `estimated` (a late settle may follow,
    /// recording what was observed).
    Expire,
}

/// Tokens by kind, from the API's usage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenCounts {
    /// Uncached input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Tokens written to the 5-minute cache.
    pub cache_write_5m: u64,
    /// Tokens written to the 1-hour cache.
    pub cache_write_1h: u64,
    /// Tokens read from the cache.
    pub cache_read: u64,
    /// Web searches.
    pub web_search_requests: u64,
}

impl TokenCounts {
    /// The counts of a usage.
    pub fn from_usage(u: &Usage) -> TokenCounts {
        let (w5, w1) = u.cache_writes();
        TokenCounts {
            input: u.input_tokens,
            output: u.output_tokens,
            cache_write_5m: w5,
            cache_write_1h: w1,
            cache_read: u.cache_read_input_tokens.unwrap_or(0),
            web_search_requests: u.server_tool_use.as_ref().map_or(0, |s| s.web_search_requests),
        }
    }

    /// The sum of two counts (saturating).
    pub fn plus(self, o: TokenCounts) -> TokenCounts {
        TokenCounts {
            input: self.input.saturating_add(o.input),
            output: self.output.saturating_add(o.output),
            cache_write_5m: self.cache_write_5m.saturating_add(o.cache_write_5m),
            cache_write_1h: self.cache_write_1h.saturating_add(o.cache_write_1h),
            cache_read: self.cache_read.saturating_add(o.cache_read),
            web_search_requests: self.web_search_requests.saturating_add(o.web_search_requests),
        }
    }
}

/// One ledger entry (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerEntry {
    /// The entry's sequence number, from 1, without gaps.
    pub seq: u64,
    /// When: the settle or release time, or the lease end for an expiry.
    pub at_ms: u64,
    /// What happened.
    pub kind: LedgerKind,
    /// The reservation.
    pub reservation_id: u64,
    /// The agent.
    pub agent: Name,
    /// The start of the cycle the entry counts in.
    pub cycle_start_ms: u64,
    /// What the reservation held when it closed (for a late settle: what its
    /// expiry counted, zero if the expiry returned it to the pool).
    pub reserved: Money,
    /// What this entry adds to the cycle's spend: the cost for a settle, zero
    /// for a release, the reserved worst case for an expiry, and for a late
    /// settle what its cost exceeds the expiry's estimate by.
    pub cost: Money,
    /// What went back to the pool.
    pub refunded: Money,
    /// What the cost exceeded the reservation by: non-zero flags an overrun.
    pub overrun: Money,
    /// Whether this settle came after the reservation had expired.
    #[serde(default)]
    pub late: bool,
    /// Whether the cost is an estimate: the reserved worst case of an attempt
    /// the API may have billed but whose usage is unknown. `tokens` then holds
    /// what was observed, so that a reconciliation against the bill can
    /// correct it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub estimated: bool,
    /// The cost a late settle was given, when its expiry had already counted
    /// the reservation's worst case (`cost` then holds only the excess): for
    /// a reconciliation of the expiry's estimate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_cost: Option<Money>,
    /// The model (settles with an attribution input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<Name>,
    /// The API's `request-id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The message ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Tokens by kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenCounts>,
    /// The cost split across the conversation and tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<Attribution>,
}

impl LedgerEntry {
    /// The entry as one line of JSON Lines, ending in `\n`.
    pub fn to_json_line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push('\n');
        s
    }
}
