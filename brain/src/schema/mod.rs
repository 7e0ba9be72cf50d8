//! The brain subgraph's GraphQL schema: thin resolvers over [`BrainService`].
//!
//! Root types are named `Query` and `Mutation` because the federation SDL prints no
//! `schema {}` block; other names would break composition. Each root is a merged object,
//! so trading (orders, fills) and live data add their parts beside these.

mod admin;
mod federation;
mod market_data;
mod query;
mod scalars;
mod subscription;
mod trading;
mod types;

use async_graphql::{Context, MergedObject, Schema, dataloader::DataLoader};
use common::{Caller, Identity};

use crate::{BrainError, BrainService};

pub use admin::AdminMutation;
pub use federation::{BalanceLoader, EntityQuery, UserAccount, UserEntity};
pub use market_data::{
    BookLevel, CandleInterval, CandleObject, MarketData, OrderBookObject, TickerObject, TradeObject,
};
pub use query::{AccountQuery, CatalogQuery};
pub use scalars::Decimal;
pub use subscription::Subscription;
pub use trading::{TradingMutation, TradingQuery};
pub use types::{
    AssetObject, BalanceObject, CreateAssetInput, CreateMarketInput, MarketInfo, MarketObject,
    MarketStatusGql,
};

/// The brain subgraph's root query: the catalog, the caller's account, and the federation
/// entity resolver.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Query(CatalogQuery, AccountQuery, TradingQuery, EntityQuery);

/// The brain subgraph's root mutation.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct Mutation(AdminMutation, TradingMutation);

/// The brain subgraph's schema type.
pub type BrainSchema = Schema<Query, Mutation, Subscription>;

/// Deepest selection accepted: deep enough for the standard introspection query, no deeper
/// (the same limit as auth).
pub const MAX_DEPTH: usize = 16;
/// Most complex selection accepted (one point per field).
pub const MAX_COMPLEXITY: usize = 500;

/// Builds the brain subgraph, with Federation v2 (`_service`, `_entities`, `@link`).
/// `introspection: false` refuses `__schema` and `__type` (production hardening); the
/// federation fields still answer.
pub fn build_schema(service: BrainService, introspection: bool) -> BrainSchema {
    let builder = Schema::build(Query::default(), Mutation::default(), Subscription)
        .data(service)
        .enable_federation()
        // The gateway composes subscriptions from `_service { sdl }`, which async-graphql
        // prints without the Subscription type unless told.
        .enable_subscription_in_federation()
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY);
    if introspection {
        builder.finish()
    } else {
        builder.disable_introspection().finish()
    }
}

/// A batching balance loader for one request (or one WebSocket connection), so that a
/// request's `_entities` reads balances once. Put it in the request data.
pub fn balance_loader(service: &BrainService) -> DataLoader<BalanceLoader> {
    DataLoader::new(BalanceLoader(service.clone()), tokio::spawn)
}

/// Turns a service result into a resolver result with the error's public code.
///
/// `async_graphql::Error` converts from anything `Display`, which would silently drop the
/// code; resolvers call `.gql()` instead of `?` on a [`BrainError`].
pub trait GqlResult<T> {
    /// Maps the error through [`ErrorExtensions`](async_graphql::ErrorExtensions).
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GqlResult<T> for Result<T, BrainError> {
    fn gql(self) -> async_graphql::Result<T> {
        use async_graphql::ErrorExtensions;
        self.map_err(|e| e.extend())
    }
}

fn service<'a>(ctx: &Context<'a>) -> &'a BrainService {
    // Always present: build_schema puts it in the schema data.
    ctx.data_unchecked::<BrainService>()
}

/// The caller if one is known; an error if a credential was presented and refused.
fn caller<'a>(ctx: &Context<'a>) -> Result<Option<&'a Identity>, BrainError> {
    match ctx.data_opt::<Caller>() {
        None | Some(Caller::Anonymous) => Ok(None),
        Some(Caller::Known(identity)) => Ok(Some(identity)),
        Some(Caller::Rejected) => Err(BrainError::Unauthenticated),
    }
}

/// The caller, which this field requires.
fn identity<'a>(ctx: &Context<'a>) -> Result<&'a Identity, BrainError> {
    caller(ctx)?.ok_or(BrainError::Unauthenticated)
}
