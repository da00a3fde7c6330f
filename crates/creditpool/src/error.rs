//! [`Error`]: everything that can go wrong in this crate, typed.

use crate::transport::TransportError;
use creditpool_core::agent::AgentError;
use creditpool_core::call::{AttemptError, CallError};
use creditpool_core::error::{ApiError, ApiErrorKind};
use creditpool_core::pool::PoolError;
use creditpool_core::request::RequestError;
use std::path::PathBuf;

/// An error of the creditpool front crate.
///
/// No message ever contains the API key: the key lives in an
/// [`ApiKey`](creditpool_core::ApiKey), which prints as `****`, and travels only
/// in a request header that nothing here reports.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client's settings or a request are invalid: no API key, a bad
    /// header, an empty model, no messages, ...
    #[error(transparent)]
    Request(#[from] RequestError),
    /// A Messages API call failed for good, after the retries the policy
    /// allowed. [`Error::status`] and [`Error::api_error`] read it.
    #[error(transparent)]
    Call(Box<CallError>),
    /// An agent cannot run: an invalid tool definition, a model that cannot be
    /// priced, or a request the model does not accept.
    #[error(transparent)]
    Agent(Box<AgentError>),
    /// The pool refused a configuration or an operation.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// The HTTP transport could not be built.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A builder was given an invalid or incomplete setting.
    #[error("invalid configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// A file could not be opened or written (the ledger file).
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The kind of I/O error.
        kind: std::io::ErrorKind,
        /// The operating system's message.
        message: String,
    },
    /// An alert's webhook could not be delivered.
    #[error("webhook delivery of {idempotency_key} to {host} failed after {attempts} attempt(s): {reason}")]
    Webhook {
        /// The receiver's host (never the full URL, which may hold a token).
        host: String,
        /// The alert's idempotency key.
        idempotency_key: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        reason: String,
    },
    /// The driver ended a call without a result (a bug: please report it).
    #[error("the call ended without a result")]
    NoResult,
}

impl From<CallError> for Error {
    fn from(e: CallError) -> Error {
        Error::Call(Box::new(e))
    }
}

impl From<AgentError> for Error {
    fn from(e: AgentError) -> Error {
        Error::Agent(Box::new(e))
    }
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, e: &std::io::Error) -> Error {
        Error::Io { path: path.into(), kind: e.kind(), message: e.to_string() }
    }

    /// The API error behind a failed call, if the API reported one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Call(call) => match &call.error {
                AttemptError::Api(e) => Some(e),
                _ => None,
            },
            _ => None,
        }
    }

    /// The HTTP status of a failed call, when it got one.
    pub fn status(&self) -> Option<u16> {
        self.api_error().and_then(|e| e.status)
    }

    /// Whether the API refused the key (401 `authentication_error`).
    pub fn is_authentication(&self) -> bool {
        self.api_error().is_some_and(|e| e.kind == ApiErrorKind::Authentication)
    }
}
