//! Token usage as the API reports it.

use super::Extra;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Cache-write tokens split by time to live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheCreation {
    /// Tokens written to the 5-minute cache.
    #[serde(default)]
    pub ephemeral_5m_input_tokens: u64,
    /// Tokens written to the 1-hour cache.
    #[serde(default)]
    pub ephemeral_1h_input_tokens: u64,
}

/// Server-side tool calls billed per use.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerToolUsage {
    /// Web searches performed ($10 per 1,000).
    #[serde(default)]
    pub web_search_requests: u64,
    /// Web fetches performed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_fetch_requests: Option<u64>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One sampling iteration of a request (for example a fallback chain), each
/// billed at the rates of the model that served it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageIteration {
    /// `"message"` today.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The model that served this iteration, when it differs from the message's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Uncached input tokens.
    #[serde(default)]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// Tokens written to the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Tokens read from the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// Cache writes by time to live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation: Option<CacheCreation>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A message's token usage.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Uncached input tokens.
    #[serde(default)]
    pub input_tokens: u64,
    /// Output tokens (including thinking).
    #[serde(default)]
    pub output_tokens: u64,
    /// Tokens written to the cache (5 m and 1 h together).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Tokens read from the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// Cache writes by time to live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation: Option<CacheCreation>,
    /// Server tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_tool_use: Option<ServerToolUsage>,
    /// `"standard"`, `"priority"` or `"batch"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// Where inference ran (`"global"`, `"us"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_geo: Option<String>,
    /// Per-iteration usage, when the API reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<Vec<UsageIteration>>,
    /// Unknown fields (for example `output_tokens_details`).
    #[serde(flatten)]
    pub extra: Extra,
}

impl Usage {
    /// Input tokens of every kind: uncached, cache writes and cache reads.
    pub fn total_input_tokens(&self) -> u64 {
        self.input_tokens
            .saturating_add(self.cache_creation_input_tokens.unwrap_or(0))
            .saturating_add(self.cache_read_input_tokens.unwrap_or(0))
    }

    /// Cache writes split into (5-minute, 1-hour) tokens. Without a split, every
    /// write counts as 5-minute.
    pub fn cache_writes(&self) -> (u64, u64) {
        match self.cache_creation {
            Some(c) => (c.ephemeral_5m_input_tokens, c.ephemeral_1h_input_tokens),
            None => (self.cache_creation_input_tokens.unwrap_or(0), 0),
        }
    }

    /// Applies the `usage` of a `message_delta` event. The API's figures there
    /// are cumulative: every field present (and not `null`) overwrites, none is
    /// added.
    pub fn apply_delta(&mut self, delta: &Extra) {
        for (key, value) in delta {
            if value.is_null() {
                continue;
            }
            match key.as_str() {
                "input_tokens" => overwrite_u64(&mut self.input_tokens, value),
                "output_tokens" => overwrite_u64(&mut self.output_tokens, value),
                "cache_creation_input_tokens" => self.cache_creation_input_tokens = value.as_u64(),
                "cache_read_input_tokens" => self.cache_read_input_tokens = value.as_u64(),
                "cache_creation" => self.cache_creation = serde_json::from_value(value.clone()).ok(),
                "server_tool_use" => self.server_tool_use = serde_json::from_value(value.clone()).ok(),
                "service_tier" => self.service_tier = value.as_str().map(str::to_owned),
                "inference_geo" => self.inference_geo = value.as_str().map(str::to_owned),
                "iterations" => self.iterations = serde_json::from_value(value.clone()).ok(),
                _ => {
                    self.extra.insert(key.clone(), value.clone());
                }
            }
        }
    }
}

fn overwrite_u64(field: &mut u64, value: &Value) {
    if let Some(n) = value.as_u64() {
        *field = n;
    }
}
