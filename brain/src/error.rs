//! The brain service's error, and its one mapping onto the public error codes.

use common::ErrorCode;

/// Everything a brain use case can refuse with. Each refusal changes nothing.
#[derive(Debug, thiserror::Error)]
pub enum BrainError {
    /// Input broke a rule (not a number, not a tick multiple, outside the band, ...).
    #[error("{0}")]
    InvalidInput(String),
    /// The operation needs a caller and none was presented.
    #[error("authentication required")]
    Unauthenticated,
    /// The caller may not do this (a read-only key trading, a trader acting as admin).
    #[error("{0}")]
    Forbidden(&'static str),
    /// The named object does not exist or is not the caller's: the two are not told apart.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with existing state (a duplicate symbol, an order already done).
    #[error("{0}")]
    Conflict(String),
    /// Not enough available balance for the hold.
    #[error("insufficient funds: {0}")]
    InsufficientFunds(String),
    /// The market is halted.
    #[error("market {0} is halted")]
    MarketHalted(String),
    /// A fault on our side (database, bus, ...).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl BrainError {
    /// The public code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidInput(_) => ErrorCode::BadUserInput,
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::InsufficientFunds(_) => ErrorCode::InsufficientFunds,
            Self::MarketHalted(_) => ErrorCode::MarketHalted,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    /// Shorthand for [`BrainError::InvalidInput`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidInput(message.into())
    }
}

impl From<sea_orm::DbErr> for BrainError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Internal(anyhow::Error::new(err).context("database"))
    }
}

impl async_graphql::ErrorExtensions for BrainError {
    fn extend(&self) -> async_graphql::Error {
        let code = self.code();
        if let BrainError::Internal(cause) = self {
            // Logged once, here; the client gets a generic message and the request id.
            tracing::error!(error = format!("{cause:#}"), "internal error");
            return code.error("internal error");
        }
        code.error(self.to_string())
    }
}
