//! [`Error`]: everything that can go wrong in this crate, typed, each with a
//! stable [`code`](Error::code).

use crate::transport::TransportError;
use creditpool_core::agent::{AgentError, RunStatus};
use creditpool_core::api::Message;
use creditpool_core::call::{AttemptError, CallError, PreflightError};
use creditpool_core::error::{ApiError, ApiErrorKind};
use creditpool_core::pool::{PoolError, Refusal};
use creditpool_core::request::RequestError;
use std::path::PathBuf;

/// The code of [`Error::Io`] (not in the core's table yet).
const CODE_FILE_IO: &str = "file_io";
/// The code of [`Error::Webhook`] (not in the core's table yet).
const CODE_WEBHOOK_DELIVERY: &str = "webhook_delivery";
/// The code of [`Error::Store`] (not in the core's table yet; its `pool_`
/// prefix maps it to `PoolError`).
const CODE_POOL_STORE: &str = "pool_store";

/// An error of the creditpool front crate.
///
/// Every error has a stable [`code`](Error::code), the core's
/// ([`creditpool_core::codes`]): the same fault gives the same code in Rust,
/// Python and JS, and [`class_for_code`](creditpool_core::codes::class_for_code)
/// names the class the other languages raise for it.
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
    /// A request refused before it was sent: an invalid tool definition, or a
    /// parameter the model does not accept (see
    /// [`CallOptions::preflight`](creditpool_core::call::CallOptions::preflight)).
    #[error(transparent)]
    Preflight(Box<PreflightError>),
    /// A Messages API call failed for good, after the retries the policy
    /// allowed. [`Error::status`], [`Error::api_error`] and
    /// [`Error::partial`] read it. An endpoint that does not know the pool
    /// selector (code `pool_selector_rejected`) is told how to switch it off
    /// in Rust's words.
    #[error("{call}{hint}", call = .0, hint = selector_hint(.0.code()))]
    Call(Box<CallError>),
    /// An agent cannot run: an invalid tool definition, a model that cannot be
    /// priced, or a request the model does not accept.
    #[error(transparent)]
    Agent(Box<AgentError>),
    /// An agent run ended without an answer (see
    /// [`OutcomeExt::error`](crate::OutcomeExt::error)): a model call failed
    /// for good, `max_turns` or the run's budget was reached, or a request
    /// could not be priced or built.
    #[error("{message}")]
    Run {
        /// The stable code: the failed call's (`overloaded_error`,
        /// `stream_incomplete`, ...), `max_turns`, `budget_exhausted`, or the
        /// code of why a request was invalid.
        code: String,
        /// What went wrong, readable.
        message: String,
        /// The API error type, when the API reported one.
        api_error_type: Option<String>,
        /// The HTTP status, when there was one.
        http_status: Option<u16>,
        /// For a stream that failed part-way: the message received before
        /// (shared with the run's status, not copied).
        partial: Option<std::sync::Arc<Message>>,
    },
    /// The pool refused a reservation (an agent run ended with
    /// [`RunStatus::PoolRefused`]).
    #[error(transparent)]
    PoolRefused(Refusal),
    /// The pool refused a configuration or an operation.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// A [`PoolStore`](crate::PoolStore) could not apply an operation (a store
    /// that is unreachable).
    #[error("the pool store failed: {reason}")]
    Store {
        /// Why.
        reason: String,
    },
    /// The HTTP transport could not be built, or a call could not reach the
    /// server at all ([`TransportError::Unreachable`]: the origin and the OS
    /// error, never the path or the key).
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
    /// A Redis pool refused a configuration or could not read a reply (see
    /// [`RedisError::code`](creditpool_core::redis::RedisError::code)).
    #[error(transparent)]
    Redis(#[from] creditpool_core::redis::RedisError),
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

impl From<PreflightError> for Error {
    fn from(e: PreflightError) -> Error {
        match e {
            PreflightError::Request(e) => Error::Request(e),
            other => Error::Preflight(Box::new(other)),
        }
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Error {
        Error::PoolRefused(r)
    }
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, e: &std::io::Error) -> Error {
        Error::Io { path: path.into(), kind: e.kind(), message: e.to_string() }
    }

    /// The error of a run that ended without an answer, `None` for a run that
    /// completed, stopped for a stop reason, or was cancelled (the statuses
    /// whose [`RunStatus::code`] is `None`).
    pub fn from_run_status(status: &RunStatus) -> Option<Error> {
        let code = status.code()?.to_owned();
        Some(match status {
            RunStatus::PoolRefused { refusal } => Error::PoolRefused(refusal.clone()),
            RunStatus::Failed { error, api_error_type, http_status, partial, .. } => {
                let message = format!("{error}{}", selector_hint(&code));
                Error::Run { code, message, api_error_type: api_error_type.clone(), http_status: *http_status, partial: partial.clone() }
            }
            RunStatus::Invalid { error, .. } => Error::Run { code, message: error.clone(), api_error_type: None, http_status: None, partial: None },
            RunStatus::MaxTurns { max_turns } => Error::Run {
                code,
                message: format!("the run made {max_turns} model calls without the model finishing"),
                api_error_type: None,
                http_status: None,
                partial: None,
            },
            RunStatus::BudgetExhausted { needed, remaining } => Error::Run {
                code,
                message: format!("the run's budget cannot cover the next request: it needs {needed}, {remaining} is left"),
                api_error_type: None,
                http_status: None,
                partial: None,
            },
            other => Error::Run { code, message: format!("{other:?}"), api_error_type: None, http_status: None, partial: None },
        })
    }

    /// The stable error code (see [`creditpool_core::codes`]), e.g.
    /// `authentication_error`, `stream_incomplete`, `read_timeout`,
    /// `pool_exhausted`, `invalid_options`. The variants of this crate's own
    /// that the core's table does not list yet: [`Error::Io`] is `file_io`,
    /// [`Error::Webhook`] `webhook_delivery`, [`Error::Store`] `pool_store`.
    pub fn code(&self) -> &str {
        match self {
            Error::Request(e) => e.code(),
            Error::Preflight(e) => e.code(),
            Error::Call(e) => e.code(),
            Error::Agent(e) => e.code(),
            Error::Run { code, .. } => code,
            Error::PoolRefused(r) => r.code(),
            Error::Pool(e) => e.code(),
            Error::Store { .. } => CODE_POOL_STORE,
            Error::Transport(e) => e.code(),
            Error::Config { .. } => "invalid_options",
            Error::Io { .. } => CODE_FILE_IO,
            Error::Webhook { .. } => CODE_WEBHOOK_DELIVERY,
            Error::NoResult => "internal_error",
            Error::Redis(e) => e.code(),
        }
    }

    /// The API error behind a failed call, if the API reported one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Call(call) => match &call.error {
                AttemptError::Api(e) => Some(e),
                AttemptError::SelectorRejected(s) => Some(&s.api),
                _ => None,
            },
            _ => None,
        }
    }

    /// The HTTP status of a failed call or agent run, when it got one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Run { http_status, .. } => *http_status,
            _ => self.api_error().and_then(|e| e.status),
        }
    }

    /// Whether the API refused the key (401 `authentication_error`).
    pub fn is_authentication(&self) -> bool {
        match self {
            Error::Run { api_error_type, .. } => api_error_type.as_deref() == Some(ApiErrorKind::Authentication.code()),
            _ => self.api_error().is_some_and(|e| e.kind == ApiErrorKind::Authentication),
        }
    }

    /// For a stream that failed part-way (cut off, or an `error` event): the
    /// message received before the failure.
    pub fn partial(&self) -> Option<&Message> {
        match self {
            Error::Call(call) => call.partial.as_deref(),
            Error::Run { partial, .. } => partial.as_deref(),
            _ => None,
        }
    }
}

/// Rust's words for switching the pool selector off or renaming it, added to
/// the core's `SelectorRejected` (code `pool_selector_rejected`).
fn selector_hint(code: &str) -> &'static str {
    if code == "pool_selector_rejected" {
        ". In Rust: `Client::builder().no_pool_selector()` sends no selector; `.pool_selector(PoolSelector { field: \"...\".into(), value: ... })` renames it."
    } else {
        ""
    }
}
