//! Who is calling. The HTTP edge turns a bearer credential into an [`Identity`]; resolvers
//! only ever look at this, never at tokens.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An account's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Trades with its own balances.
    Trader,
    /// May also list assets and markets, halt markets and credit balances.
    Admin,
}

impl Role {
    /// The stored spelling (`trader`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trader => "trader",
            Self::Admin => "admin",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "trader" => Some(Self::Trader),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// What a credential may do. A session token carries both; an API key what it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read market data and the account's own data.
    Read,
    /// Place and cancel orders.
    Trade,
}

impl Scope {
    /// The stored spelling (`read`, `trade`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Trade => "trade",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Self::Read),
            "trade" => Some(Self::Trade),
            _ => None,
        }
    }
}

/// Which kind of credential established the identity; account management needs a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Credential {
    /// A short-lived access token from login, register or refresh; `jti` is its id.
    AccessToken {
        /// The token's unique id.
        jti: String,
        /// The session (refresh-token family) it was issued in: a logout ends the session,
        /// and with it every socket opened with one of its tokens. `None` for tokens
        /// issued before sessions were named.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<Uuid>,
        /// When it was issued (seconds since the epoch): a password change ends every
        /// session that began before it.
        #[serde(default)]
        issued_at: i64,
    },
    /// An integrator's API key.
    ApiKey {
        /// The key's id.
        id: Uuid,
    },
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The account.
    pub user_id: Uuid,
    /// The account's role when the credential was issued.
    pub role: Role,
    /// What this credential may do, sorted and without duplicates.
    pub scopes: Vec<Scope>,
    /// How the caller proved who it is.
    pub credential: Credential,
    /// When the credential stops being valid (seconds since the epoch): an access token's
    /// `exp`; `None` for a credential that does not expire by itself (an API key). A
    /// WebSocket opened with it is closed then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl Identity {
    /// Whether the credential carries `scope`.
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    /// Whether this identity came from a session (not an API key).
    pub fn is_session(&self) -> bool {
        matches!(self.credential, Credential::AccessToken { .. })
    }

    /// The API key behind this identity, if it came from one.
    pub fn api_key(&self) -> Option<Uuid> {
        match self.credential {
            Credential::ApiKey { id } => Some(id),
            Credential::AccessToken { .. } => None,
        }
    }

    /// The session an access token was issued in, if it names one.
    pub fn session(&self) -> Option<Uuid> {
        match self.credential {
            Credential::AccessToken { session, .. } => session,
            Credential::ApiKey { .. } => None,
        }
    }
}

/// What the HTTP edge learned about the caller; put into every GraphQL request's data.
///
/// A presented but invalid credential is not the same as none: `me` answers `null` to an
/// anonymous caller but `UNAUTHENTICATED` to a bad token, so a client learns its token died.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Caller {
    /// No credential was presented.
    #[default]
    Anonymous,
    /// A valid credential.
    Known(Identity),
    /// A credential was presented and refused (bad signature, expired, revoked, ...).
    Rejected,
}
