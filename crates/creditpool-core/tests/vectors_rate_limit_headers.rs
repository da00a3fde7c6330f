//! Runs the `rate_limit_headers` vectors: `RateLimitInfo::from_headers`.

mod common;

use creditpool_core::http::Headers;
use creditpool_core::ratelimit::RateLimitInfo;

#[test]
fn rate_limit_headers_vectors() {
    let n = common::run_kind("rate_limit_headers", |case| {
        let headers: Headers = serde_json::from_value(case.input["headers"].clone()).map_err(|e| format!("input.headers: {e}"))?;
        let now_ms = case.input["now_ms"].as_u64().ok_or("input.now_ms is not a u64")?;
        let info = RateLimitInfo::from_headers(&headers, now_ms);
        let actual = serde_json::to_value(&info).map_err(|e| e.to_string())?;
        match common::json_diff("", &actual, &case.expected) {
            Some(d) => Err(d),
            None => Ok(()),
        }
    });
    assert!(n >= 10, "only {n} rate_limit_headers vectors");
}
