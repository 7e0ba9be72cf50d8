//! The app's one error type: what a command returns to the web app.
//!
//! A command's error reaches JavaScript as `{ code, message }` (the promise of `invoke`
//! rejects with it); `code` is stable and meant for the web app's logic, `message` for a
//! person. `INTERNAL` carries a generic message: its cause is logged here, once, and never
//! sent (it may name paths or D-Bus details).

use serde::{Serialize, Serializer, ser::SerializeStruct};

/// Everything a command or the plain functions under it can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server URL is not a plain `http(s)://host[:port]` origin.
    #[error("invalid server URL: {0}")]
    InvalidServerUrl(String),
    /// A market symbol is not `BASE-QUOTE` (each 1 to 12 upper-case letters or digits).
    #[error("invalid market symbol {0:?}: expected BASE-QUOTE, e.g. ACME-USD")]
    InvalidMarket(String),
    /// A refresh token is empty, too long or not printable ASCII.
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    /// A fill the web app reported does not hold together.
    #[error("invalid fill: {0}")]
    InvalidFill(String),
    /// The operating system's secure store cannot be reached (no Secret Service on Linux,
    /// a locked keychain): nothing is remembered, sign in again next time.
    #[error("the system keychain is unavailable: {0}")]
    KeychainUnavailable(String),
    /// The `rialto` binary of the local demo is not installed next to the app (nor named
    /// by `RIALTO_BIN`).
    #[error("the local demo is unavailable: {0}")]
    DemoUnavailable(String),
    /// The local demo server did not come up, or stopped.
    #[error("the local demo failed: {0}")]
    DemoFailed(String),
    /// The caller may not have this: a token for a server the app is not configured for,
    /// or a command from a page that is not the app's own.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A server did not answer as a Rialto server does.
    #[error("the server did not answer: {0}")]
    Server(String),
    /// Anything else: a bug or the environment (disk full, ...).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    /// The stable code the web app matches on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidServerUrl(_) => "INVALID_SERVER_URL",
            Error::InvalidMarket(_) => "INVALID_MARKET",
            Error::InvalidToken(_) => "INVALID_TOKEN",
            Error::InvalidFill(_) => "INVALID_FILL",
            Error::KeychainUnavailable(_) => "KEYCHAIN_UNAVAILABLE",
            Error::DemoUnavailable(_) => "DEMO_UNAVAILABLE",
            Error::DemoFailed(_) => "DEMO_FAILED",
            Error::Forbidden(_) => "FORBIDDEN",
            Error::Server(_) => "SERVER_UNREACHABLE",
            Error::Internal(_) => "INTERNAL",
        }
    }
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let message = match self {
            Error::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "command failed");
                "internal error (see the app's log)".to_owned()
            }
            other => other.to_string(),
        };
        let mut s = serializer.serialize_struct("Error", 2)?;
        s.serialize_field("code", self.code())?;
        s.serialize_field("message", &message)?;
        s.end()
    }
}

/// The result of the app's functions.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_serialises_to_its_code_and_message() {
        let cases = [
            (Error::InvalidServerUrl("x".into()), "INVALID_SERVER_URL"),
            (Error::InvalidMarket("x".into()), "INVALID_MARKET"),
            (Error::InvalidToken("empty"), "INVALID_TOKEN"),
            (Error::InvalidFill("x".into()), "INVALID_FILL"),
            (
                Error::KeychainUnavailable("x".into()),
                "KEYCHAIN_UNAVAILABLE",
            ),
            (Error::DemoUnavailable("x".into()), "DEMO_UNAVAILABLE"),
            (Error::DemoFailed("x".into()), "DEMO_FAILED"),
            (Error::Forbidden("x".into()), "FORBIDDEN"),
            (Error::Server("x".into()), "SERVER_UNREACHABLE"),
            (Error::Internal(anyhow::anyhow!("x")), "INTERNAL"),
        ];
        for (error, code) in cases {
            let json = serde_json::to_value(&error).unwrap();
            assert_eq!(json["code"], code);
            assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }

    #[test]
    fn an_internal_error_does_not_leak_its_cause() {
        let error = Error::Internal(anyhow::anyhow!("/home/someone/.config: permission denied"));
        let json = serde_json::to_value(&error).unwrap();
        assert!(!json["message"].as_str().unwrap().contains("/home"));
    }
}
