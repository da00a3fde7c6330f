//! The `anthropic-ratelimit-*` headers: a fixed one-minute window with
//! generous limits (the simulator never enforces them; a script's 429 does).

use creditpool_core::time::format_rfc3339;

/// Requests per minute the headers announce.
pub(crate) const REQUESTS_LIMIT: u64 = 4_000;
/// Tokens per minute the headers announce.
pub(crate) const TOKENS_LIMIT: u64 = 2_000_000;
const WINDOW_MS: u64 = 60_000;

/// Requests and tokens counted in the current minute.
#[derive(Clone, Debug, Default)]
pub(crate) struct RateWindow {
    start_ms: u64,
    requests: u64,
    tokens: u64,
}

impl RateWindow {
    fn roll(&mut self, now_ms: u64) {
        if now_ms >= self.start_ms.saturating_add(WINDOW_MS) {
            *self = RateWindow { start_ms: now_ms, requests: 0, tokens: 0 };
        }
    }

    /// Counts a request.
    pub fn count_request(&mut self, now_ms: u64) {
        self.roll(now_ms);
        self.requests += 1;
    }

    /// Counts tokens a response reported.
    pub fn count_tokens(&mut self, tokens: u64, now_ms: u64) {
        self.roll(now_ms);
        self.tokens = self.tokens.saturating_add(tokens);
    }

    /// The headers, as of `now_ms`.
    pub fn headers(&mut self, now_ms: u64) -> Vec<(&'static str, String)> {
        self.roll(now_ms);
        let reset = format_rfc3339(self.start_ms.saturating_add(WINDOW_MS));
        vec![
            ("anthropic-ratelimit-requests-limit", REQUESTS_LIMIT.to_string()),
            ("anthropic-ratelimit-requests-remaining", REQUESTS_LIMIT.saturating_sub(self.requests).to_string()),
            ("anthropic-ratelimit-requests-reset", reset.clone()),
            ("anthropic-ratelimit-tokens-limit", TOKENS_LIMIT.to_string()),
            ("anthropic-ratelimit-tokens-remaining", TOKENS_LIMIT.saturating_sub(self.tokens).to_string()),
            ("anthropic-ratelimit-tokens-reset", reset),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_counts_down_and_resets_each_minute() {
        let mut w = RateWindow::default();
        w.count_request(1_000_000);
        w.count_request(1_000_001);
        w.count_tokens(500, 1_000_002);
        let h = w.headers(1_000_003);
        assert!(h.contains(&("anthropic-ratelimit-requests-remaining", (REQUESTS_LIMIT - 2).to_string())));
        assert!(h.contains(&("anthropic-ratelimit-tokens-remaining", (TOKENS_LIMIT - 500).to_string())));
        let later = w.headers(1_000_000 + WINDOW_MS);
        assert!(later.contains(&("anthropic-ratelimit-requests-remaining", REQUESTS_LIMIT.to_string())));
        assert!(later.iter().any(|(k, v)| *k == "anthropic-ratelimit-requests-reset" && v.ends_with('Z')));
    }
}
