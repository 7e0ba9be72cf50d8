//! The one error type of the crate: what a caller can do about a failed bus or cache call.

/// Why a bus or cache operation failed. The in-process implementations never fail; the Redis
/// ones fail fast instead of queueing while Redis is unreachable, so callers can fall back (the
/// cache to the database, the matcher to retrying its outbox later).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The URL or the options cannot make a Redis client; retrying will not help.
    #[error("invalid Redis configuration: {0}")]
    Config(String),
    /// Redis cannot be reached now (refused, closed, timed out, reconnecting); retry later.
    #[error("Redis is unavailable: {0}")]
    Unavailable(String),
    /// Redis answered, but with an error or a value of an unexpected type.
    #[error("Redis error: {0}")]
    Redis(String),
}

impl Error {
    /// Sorts a fred error into what the caller can do about it (kept private so fred's types
    /// stay out of this crate's public API).
    pub(crate) fn fred(error: fred::error::Error) -> Self {
        use fred::error::ErrorKind;
        let text = error.to_string();
        match error.kind() {
            ErrorKind::Config | ErrorKind::Url => Self::Config(text),
            ErrorKind::IO
            | ErrorKind::Canceled
            | ErrorKind::Timeout
            | ErrorKind::Backpressure
            | ErrorKind::Routing
            | ErrorKind::Cluster
            | ErrorKind::Sentinel
            | ErrorKind::Unknown => Self::Unavailable(text),
            _ => Self::Redis(text),
        }
    }
}
