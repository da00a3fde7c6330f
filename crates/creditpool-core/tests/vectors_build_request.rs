//! Runs the `build_request` vectors.
mod common;

use creditpool_core::request::{request_from_params, RequestBuilder, RequestError, RequestOptions};
use creditpool_core::ApiKey;
use serde_json::{json, Value};

fn build(input: &Value) -> Result<creditpool_core::http::HttpRequest, &'static str> {
    let options: RequestOptions = serde_json::from_value(input["options"].clone()).map_err(|_| "invalid_options")?;
    let key = ApiKey::new(input["api_key"].as_str().unwrap_or_default());
    let builder = RequestBuilder::new(options.into_config(key)).map_err(kind)?;
    // The caller's request as every binding reads it: names checked,
    // `extra_body` sent as given.
    let request = request_from_params(input["request"].clone()).map_err(kind)?;
    match input["endpoint"].as_str() {
        Some("count_tokens") => builder.count_tokens(&request),
        _ => builder.messages(&request, input["stream"].as_bool().unwrap_or(false)),
    }
    .map_err(kind)
}

fn kind(e: RequestError) -> &'static str {
    e.code()
}

#[test]
fn build_request_vectors() {
    common::run_kind("build_request", |case| {
        let actual = match build(&case.input) {
            Ok(http) => {
                let headers: serde_json::Map<String, Value> =
                    http.headers.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
                let body: Value = serde_json::from_slice(&http.body).map_err(|e| e.to_string())?;
                json!({"method": http.method.as_str(), "path": http.path, "headers": headers, "body": body})
            }
            Err(k) => json!({"error": k}),
        };
        match common::json_diff("", &actual, &case.expected) {
            None => Ok(()),
            Some(d) => Err(d),
        }
    });
}
