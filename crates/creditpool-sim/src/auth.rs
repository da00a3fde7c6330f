//! The API key: `x-api-key`, or `Authorization: Bearer KEY` (the official Python
//! SDK 2.x sends the latter).

use crate::api_error::ApiFailure;
use axum::http::HeaderMap;

/// The key a request carries: `x-api-key` first, then a bearer token.
pub(crate) fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(key.trim());
    }
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok())?;
    let (scheme, token) = auth.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Checks the key: it must be present and non-empty, and one of `keys` when
/// any are configured. 401 `authentication_error` otherwise.
pub(crate) fn check(headers: &HeaderMap, keys: &[String]) -> Result<(), ApiFailure> {
    match presented_key(headers) {
        None | Some("") => Err(ApiFailure::authentication("x-api-key header is required")),
        Some(key) if !keys.is_empty() && !keys.iter().any(|k| k == key) => Err(ApiFailure::authentication("invalid x-api-key")),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn either_header_carries_the_key() {
        assert_eq!(presented_key(&headers(&[("x-api-key", "k1")])), Some("k1"));
        assert_eq!(presented_key(&headers(&[("authorization", "Bearer k2")])), Some("k2"));
        assert_eq!(presented_key(&headers(&[("authorization", "bearer  k3 ")])), Some("k3"));
        assert_eq!(presented_key(&headers(&[("authorization", "Basic abc")])), None);
        assert_eq!(presented_key(&headers(&[])), None);
    }

    #[test]
    fn configured_keys_are_enforced() {
        let keys = vec!["good".to_owned()];
        assert!(check(&headers(&[("x-api-key", "good")]), &keys).is_ok());
        assert_eq!(check(&headers(&[("x-api-key", "bad")]), &keys).unwrap_err().status, 401);
        assert_eq!(check(&headers(&[("x-api-key", "")]), &[]).unwrap_err().status, 401);
        assert!(check(&headers(&[("x-api-key", "anything")]), &[]).is_ok());
        assert_eq!(check(&headers(&[]), &[]).unwrap_err().kind, "authentication_error");
    }
}
