//! Auth mutations.

use crate::error::GqlResult;
use async_graphql::{Context, ID, Object};
use uuid::Uuid;

use super::types::{
    ApiKeyObject, ApiScope, AuthPayload, CreatedApiKeyObject, LoginInput, RegisterInput,
};
use crate::AuthError;

/// The auth subgraph's root mutation.
pub struct Mutation;

#[Object(name = "Mutation")]
impl Mutation {
    /// Creates an account and signs it in.
    async fn register(
        &self,
        ctx: &Context<'_>,
        input: RegisterInput,
    ) -> async_graphql::Result<AuthPayload> {
        let session = super::service(ctx)
            .register(
                &input.email,
                &input.password,
                &input.display_name,
                &super::meta(ctx),
            )
            .await
            .gql()?;
        Ok(session.into())
    }

    /// Signs in. A wrong password and an unknown email give the same error.
    async fn login(
        &self,
        ctx: &Context<'_>,
        input: LoginInput,
    ) -> async_graphql::Result<AuthPayload> {
        let session = super::service(ctx)
            .login(&input.email, &input.password, &super::meta(ctx))
            .await
            .gql()?;
        Ok(session.into())
    }

    /// Exchanges a refresh token for a new pair; the old one is spent, and reusing a spent
    /// token ends the whole session.
    async fn refresh(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<AuthPayload> {
        let session = super::service(ctx)
            .refresh(&refresh_token, &super::meta(ctx))
            .await
            .gql()?;
        Ok(session.into())
    }

    /// Ends the session of this refresh token. True if a live session was ended.
    async fn logout(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<bool> {
        super::service(ctx)
            .logout(&refresh_token, &super::meta(ctx))
            .await
            .gql()
    }

    /// Changes the password and signs out every session.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> async_graphql::Result<bool> {
        let caller = super::identity(ctx).gql()?;
        super::service(ctx)
            .change_password(caller, &current_password, &new_password, &super::meta(ctx))
            .await
            .gql()?;
        Ok(true)
    }

    /// Creates an API key; its secret is returned this once.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        name: String,
        scopes: Vec<ApiScope>,
    ) -> async_graphql::Result<CreatedApiKeyObject> {
        let caller = super::identity(ctx).gql()?;
        let scopes: Vec<common::Scope> = scopes.into_iter().map(Into::into).collect();
        let created = super::service(ctx)
            .create_api_key(caller, &name, &scopes, &super::meta(ctx))
            .await
            .gql()?;
        Ok(created.into())
    }

    /// Revokes an API key; requests with it fail at once.
    async fn revoke_api_key(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<ApiKeyObject> {
        let caller = super::identity(ctx).gql()?;
        let id = Uuid::parse_str(&id)
            .map_err(|_| AuthError::NotFound("API key"))
            .gql()?;
        let key = super::service(ctx)
            .revoke_api_key(caller, id, &super::meta(ctx))
            .await
            .gql()?;
        Ok(key.into())
    }
}
