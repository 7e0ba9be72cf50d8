//! Auth queries.

use crate::error::GqlResult;
use async_graphql::{Context, Object};

use super::types::{ApiKeyObject, ApiScope, UserObject};

/// Auth queries.
#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// The signed-in account; null when no credential is presented.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<UserObject>> {
        let Some(caller) = super::caller(ctx).gql()? else {
            return Ok(None);
        };
        Ok(super::service(ctx)
            .me(caller)
            .await
            .gql()?
            .map(UserObject::own))
    }

    /// The caller's API keys, newest first, revoked ones included.
    async fn api_keys(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiKeyObject>> {
        let caller = super::identity(ctx).gql()?;
        let keys = super::service(ctx).api_keys(caller).await.gql()?;
        Ok(keys.into_iter().map(Into::into).collect())
    }

    /// What the credential of this request may do (empty when anonymous). A session token
    /// carries every scope; an API key the scopes it was created with.
    async fn my_scopes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiScope>> {
        let scopes = super::caller(ctx)
            .gql()?
            .map(|c| c.scopes.clone())
            .unwrap_or_default();
        Ok(scopes.into_iter().map(Into::into).collect())
    }
}
