//! API-shaped error responses:
//! `{"type":"error","error":{"type":..,"message":..},"request_id":..}`, with
//! `error.details` when the API gives them (`{"error_code": ...}`).

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use creditpool_core::error::ApiErrorKind;
use serde_json::json;

/// An error the simulator answers with, before it is given its request ID.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ApiFailure {
    /// The HTTP status.
    pub status: u16,
    /// The `error.type`.
    pub kind: String,
    /// The `error.message`.
    pub message: String,
    /// Extra response headers (`retry-after`, scripted headers).
    pub headers: Vec<(String, String)>,
    /// The `error.details` object, if any (`{"error_code": "thread_not_found"}`).
    pub details: Option<serde_json::Value>,
}

impl ApiFailure {
    /// An error with a status and the `error.type` that goes with it.
    pub fn new(status: u16, message: impl Into<String>) -> ApiFailure {
        ApiFailure { status, kind: ApiErrorKind::from_status(status).as_str().to_owned(), message: message.into(), headers: Vec::new(), details: None }
    }

    /// 400 `invalid_request_error`.
    pub fn invalid(message: impl Into<String>) -> ApiFailure {
        ApiFailure::new(400, message)
    }

    /// 401 `authentication_error`.
    pub fn authentication(message: impl Into<String>) -> ApiFailure {
        ApiFailure::new(401, message)
    }

    /// The response, with the error body naming `request_id`.
    pub fn into_response(self, request_id: &str) -> Response {
        let mut error = json!({"type": self.kind, "message": self.message});
        if let Some(details) = self.details {
            error["details"] = details;
        }
        let body = json!({
            "type": "error",
            "error": error,
            "request_id": request_id,
        });
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, [("content-type", "application/json")], body.to_string()).into_response();
        for (name, value) in self.headers {
            if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
                response.headers_mut().insert(n, v);
            }
        }
        response
    }
}

/// The message the API gives for an error type, when a script names none.
pub(crate) fn default_message(kind: &str) -> &'static str {
    match kind {
        "invalid_request_error" => "Invalid request.",
        "authentication_error" => "invalid x-api-key",
        "billing_error" => "Your credit balance is too low to access the Anthropic API.",
        "permission_error" => "Your API key does not have permission to use the specified resource.",
        "not_found_error" => "Not found.",
        "conflict_error" => "Conflict.",
        "request_too_large" => "Request exceeds the maximum allowed number of bytes.",
        "rate_limit_error" => "Number of requests has exceeded your rate limit.",
        "timeout_error" => "Request timed out.",
        "overloaded_error" => "Overloaded",
        _ => "Internal server error",
    }
}
