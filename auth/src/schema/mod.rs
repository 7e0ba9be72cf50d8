//! The auth subgraph's GraphQL schema: thin resolvers over [`AuthService`].
//!
//! Root types are named `Query` and `Mutation` because the federation SDL prints no
//! `schema {}` block; other names would break composition.

mod federation;
mod mutation;
mod query;
mod types;

use async_graphql::{Context, EmptySubscription, MergedObject, Schema};
use common::{Caller, Identity, RequestMeta};

use crate::{AuthError, AuthService};

pub use federation::UserLoader;
pub use types::{ApiKeyObject, AuthPayload, UserObject};

/// The auth subgraph's root query: the public fields and the federation entity resolver.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Query(query::AuthQuery, federation::EntityQuery);

/// The auth subgraph's schema type.
pub type AuthSchema = Schema<Query, mutation::Mutation, EmptySubscription>;

/// Deepest selection accepted: deep enough for the standard introspection query (its type
/// references nest nine `ofType`s, as GraphiQL and codegen tools send them), no deeper.
pub const MAX_DEPTH: usize = 16;
/// Most complex selection accepted (one point per field).
pub const MAX_COMPLEXITY: usize = 500;

/// Builds the auth subgraph, with Federation v2 (`_service`, `_entities`, `@link`).
/// `introspection: false` refuses `__schema` and `__type` (production hardening); the
/// federation fields still answer.
pub fn build_schema(service: AuthService, introspection: bool) -> AuthSchema {
    let builder = Schema::build(Query::default(), mutation::Mutation, EmptySubscription)
        .data(service)
        .enable_federation()
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY);
    if introspection {
        builder.finish()
    } else {
        builder.disable_introspection().finish()
    }
}

fn service<'a>(ctx: &Context<'a>) -> &'a AuthService {
    // Always present: build_schema puts it in the schema data.
    ctx.data_unchecked::<AuthService>()
}

fn meta<'a>(ctx: &Context<'a>) -> RequestMeta {
    ctx.data_opt::<RequestMeta>().cloned().unwrap_or_default()
}

/// The caller if one is known; an error if a credential was presented and refused.
fn caller<'a>(ctx: &Context<'a>) -> Result<Option<&'a Identity>, AuthError> {
    match ctx.data_opt::<Caller>() {
        None | Some(Caller::Anonymous) => Ok(None),
        Some(Caller::Known(identity)) => Ok(Some(identity)),
        Some(Caller::Rejected) => Err(AuthError::InvalidCredential),
    }
}

/// The caller, which this field requires.
fn identity<'a>(ctx: &Context<'a>) -> Result<&'a Identity, AuthError> {
    caller(ctx)?.ok_or(AuthError::Unauthenticated)
}

/// A batching user loader for one request (or one WebSocket connection), so that a
/// request's `_entities` hits the database once.
pub fn user_loader(service: &AuthService) -> async_graphql::dataloader::DataLoader<UserLoader> {
    async_graphql::dataloader::DataLoader::new(UserLoader(service.clone()), tokio::spawn)
}
