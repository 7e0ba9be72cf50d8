//! GraphQL shapes of the auth subgraph, mapped from domain types.

use crate::error::GqlResult;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use common::{Role, Scope};

use crate::{
    AuthError,
    domain::{ApiKey, User},
    service::{CreatedApiKey, Session},
};

/// An account's role.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "Role")]
pub enum RoleGql {
    /// Trades with its own balances.
    Trader,
    /// Also manages assets and markets.
    Admin,
}

impl From<Role> for RoleGql {
    fn from(r: Role) -> Self {
        match r {
            Role::Trader => Self::Trader,
            Role::Admin => Self::Admin,
        }
    }
}

/// What an API key (or the current credential) may do.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "ApiScope")]
pub enum ApiScope {
    /// Read market data and the account's own data.
    Read,
    /// Place and cancel orders.
    Trade,
}

impl From<Scope> for ApiScope {
    fn from(s: Scope) -> Self {
        match s {
            Scope::Read => Self::Read,
            Scope::Trade => Self::Trade,
        }
    }
}

impl From<ApiScope> for Scope {
    fn from(s: ApiScope) -> Self {
        match s {
            ApiScope::Read => Self::Read,
            ApiScope::Trade => Self::Trade,
        }
    }
}

/// A Rialto account. Other subgraphs extend it by `id`.
pub struct UserObject {
    user: User,
    /// The caller is known to be this account (it just signed in), so its email may be shown.
    own: bool,
}

impl UserObject {
    /// The caller's own account (`me`, sign-in results).
    pub fn own(user: User) -> Self {
        Self { user, own: true }
    }

    /// Someone's account (entity resolution): private fields check the caller.
    pub fn other(user: User) -> Self {
        Self { user, own: false }
    }
}

/// A Rialto account.
#[Object(name = "User")]
impl UserObject {
    /// Stable id.
    async fn id(&self) -> ID {
        ID(self.user.id.to_string())
    }

    /// The account's email; visible only to the account itself and to admins.
    async fn email(&self, ctx: &Context<'_>) -> async_graphql::Result<&str> {
        if self.own {
            return Ok(&self.user.email);
        }
        let caller = super::identity(ctx).gql()?;
        if caller.user_id == self.user.id || caller.role == Role::Admin {
            Ok(&self.user.email)
        } else {
            Err(AuthError::Forbidden(
                "only the account itself may see its email",
            ))
            .gql()
        }
    }

    /// The name shown to others.
    async fn display_name(&self) -> &str {
        &self.user.display_name
    }

    /// Trader or admin.
    async fn role(&self) -> RoleGql {
        self.user.role.into()
    }

    /// When the account was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.user.created_at
    }
}

/// The result of register, login and refresh.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Short-lived JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Single-use token for `refresh`; keep it secret.
    pub refresh_token: String,
    /// When `accessToken` expires; refresh before then.
    pub access_token_expires_at: DateTime<Utc>,
    /// The signed-in account.
    pub user: UserObject,
}

impl From<Session> for AuthPayload {
    fn from(s: Session) -> Self {
        Self {
            access_token: s.access_token,
            refresh_token: s.refresh_token,
            access_token_expires_at: s.access_token_expires_at,
            user: UserObject::own(s.user),
        }
    }
}

/// An API key as listed (never the secret).
#[derive(SimpleObject)]
#[graphql(name = "ApiKey")]
pub struct ApiKeyObject {
    /// Key id.
    pub id: ID,
    /// The owner's label.
    pub name: String,
    /// The visible start of the key.
    pub prefix: String,
    /// What the key may do.
    pub scopes: Vec<ApiScope>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last authenticated a request (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyObject {
    fn from(k: ApiKey) -> Self {
        Self {
            id: ID(k.id.to_string()),
            name: k.name,
            prefix: k.prefix,
            scopes: k.scopes.into_iter().map(Into::into).collect(),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A new key with its secret, which is shown this once.
#[derive(SimpleObject)]
#[graphql(name = "CreatedApiKey")]
pub struct CreatedApiKeyObject {
    /// The key as listed.
    pub api_key: ApiKeyObject,
    /// The full key for `Authorization: Bearer`; store it now, it is not shown again.
    pub secret: String,
}

impl From<CreatedApiKey> for CreatedApiKeyObject {
    fn from(c: CreatedApiKey) -> Self {
        Self {
            api_key: c.key.into(),
            secret: c.secret,
        }
    }
}

/// Sign-up details.
#[derive(InputObject)]
pub struct RegisterInput {
    /// Email; trimmed and lower-cased.
    pub email: String,
    /// 8–128 characters, not a common or guessable password.
    pub password: String,
    /// Name shown to others, 1–64 characters.
    pub display_name: String,
}

/// Sign-in details.
#[derive(InputObject)]
pub struct LoginInput {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
}
