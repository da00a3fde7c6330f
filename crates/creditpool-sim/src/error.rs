//! Why the simulator could not start or keep running.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the simulator could not start or keep running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The command line is wrong.
    #[error("{detail}")]
    Usage {
        /// What is wrong, for the user.
        detail: String,
    },
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address tried.
        addr: SocketAddr,
        /// The system's reason.
        source: io::Error,
    },
    /// A scenario could not be read or is not valid.
    #[error("scenario {origin}: {detail}")]
    Scenario {
        /// Where the scenario came from (a file path, or `request body`).
        origin: String,
        /// What is wrong.
        detail: String,
    },
    /// The usage log could not be opened or written.
    #[error("usage log {path}: {source}")]
    UsageLog {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        source: io::Error,
    },
    /// The async runtime or the server failed.
    #[error("server: {source}")]
    Server {
        /// The underlying error.
        source: io::Error,
    },
}
