//! The auth service's error, and its one mapping onto the public error codes.

use common::ErrorCode;

/// Everything an auth use case can refuse with.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Input broke a rule (weak password, malformed email, ...). Nothing changed.
    #[error("{0}")]
    InvalidInput(String),
    /// Sign-up with an email that already has an account.
    #[error("an account with this email already exists")]
    EmailTaken,
    /// Wrong email or password. Deliberately the same for both, so emails cannot be probed.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// The operation needs a caller and none was presented.
    #[error("authentication required")]
    Unauthenticated,
    /// A bearer credential was presented but is invalid, expired or revoked.
    #[error("invalid or expired credential")]
    InvalidCredential,
    /// A refresh token that is unknown, expired, revoked or already used.
    #[error("invalid or expired refresh token")]
    InvalidRefreshToken,
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The named object does not exist or is not the caller's.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Too many attempts from this account or address.
    #[error("too many attempts; retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until the next attempt may succeed.
        retry_after_secs: u64,
    },
    /// A fault on our side (database, key store, ...).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AuthError {
    /// The public code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidInput(_) => ErrorCode::BadUserInput,
            Self::EmailTaken => ErrorCode::Conflict,
            Self::InvalidCredentials
            | Self::Unauthenticated
            | Self::InvalidCredential
            | Self::InvalidRefreshToken => ErrorCode::Unauthenticated,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    /// Shorthand for [`AuthError::InvalidInput`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidInput(message.into())
    }
}

impl From<sea_orm::DbErr> for AuthError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Internal(anyhow::Error::new(err).context("database"))
    }
}

impl async_graphql::ErrorExtensions for AuthError {
    fn extend(&self) -> async_graphql::Error {
        let code = self.code();
        match self {
            AuthError::Internal(cause) => {
                // The cause chain is logged here, once; the client gets a generic message
                // and the request id (added by the HTTP edge) to quote.
                tracing::error!(error = format!("{cause:#}"), "internal error");
                code.error("internal error")
            }
            AuthError::RateLimited { retry_after_secs } => {
                let secs = *retry_after_secs;
                code.error(self.to_string())
                    .extend_with(|_, e| e.set("retryAfter", secs))
            }
            _ => code.error(self.to_string()),
        }
    }
}

/// Turns a service result into a resolver result with the error's public code.
///
/// `async_graphql::Error` converts from anything `Display`, which would silently drop the
/// code; resolvers call `.gql()` instead of `?` on an [`AuthError`].
pub trait GqlResult<T> {
    /// Maps the error through [`ErrorExtensions`](async_graphql::ErrorExtensions).
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GqlResult<T> for Result<T, AuthError> {
    fn gql(self) -> async_graphql::Result<T> {
        use async_graphql::ErrorExtensions;
        self.map_err(|e| e.extend())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_maps_to_its_public_code() {
        let table = [
            (AuthError::invalid("x"), "BAD_USER_INPUT"),
            (AuthError::EmailTaken, "CONFLICT"),
            (AuthError::InvalidCredentials, "UNAUTHENTICATED"),
            (AuthError::Unauthenticated, "UNAUTHENTICATED"),
            (AuthError::InvalidCredential, "UNAUTHENTICATED"),
            (AuthError::InvalidRefreshToken, "UNAUTHENTICATED"),
            (AuthError::Forbidden("no"), "FORBIDDEN"),
            (AuthError::NotFound("api key"), "NOT_FOUND"),
            (
                AuthError::RateLimited {
                    retry_after_secs: 3,
                },
                "RATE_LIMITED",
            ),
            (AuthError::Internal(anyhow::anyhow!("boom")), "INTERNAL"),
        ];
        for (err, code) in table {
            let gql = async_graphql::ErrorExtensions::extend(&err);
            let ext = gql.extensions.as_ref().and_then(|e| e.get("code")).cloned();
            assert_eq!(ext, Some(async_graphql::Value::from(code)));
        }
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let gql = async_graphql::ErrorExtensions::extend(&AuthError::Internal(anyhow::anyhow!(
            "secret dsn"
        )));
        assert_eq!(gql.message, "internal error");
    }
}
