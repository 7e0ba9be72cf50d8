//! The `extensions.code` values of API.md. Every service maps its own error enum onto these
//! at the GraphQL edge, so clients can branch on a stable code instead of a message.

use async_graphql::{Error, ErrorExtensions};

/// A public error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The input is malformed or breaks a rule; nothing changed.
    BadUserInput,
    /// No valid credential was presented.
    Unauthenticated,
    /// The credential is valid but lacks the right (scope or role).
    Forbidden,
    /// The object does not exist or belongs to someone else.
    NotFound,
    /// The request conflicts with existing state (a duplicate, an order already done).
    Conflict,
    /// Not enough available balance for the hold.
    InsufficientFunds,
    /// The market is halted.
    MarketHalted,
    /// Too many requests; retry later.
    RateLimited,
    /// A fault on our side; the message is generic and the request id points at the logs.
    Internal,
}

impl ErrorCode {
    /// The wire spelling, as in API.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::Conflict => "CONFLICT",
            Self::InsufficientFunds => "INSUFFICIENT_FUNDS",
            Self::MarketHalted => "MARKET_HALTED",
            Self::RateLimited => "RATE_LIMITED",
            Self::Internal => "INTERNAL",
        }
    }

    /// A GraphQL error carrying this code in `extensions.code`.
    pub fn error(self, message: impl Into<String>) -> Error {
        Error::new(message).extend_with(|_, e| e.set("code", self.as_str()))
    }
}
