//! Brain queries: the public catalog and the caller's account.

use async_graphql::{Context, Object};

use super::{
    GqlResult,
    types::{AssetObject, BalanceObject, MarketObject},
};

/// The catalog: assets and markets, readable by anyone (market data is public).
#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// Every listed asset, by symbol.
    async fn assets(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<AssetObject>> {
        let assets = super::service(ctx).assets().await.gql()?;
        Ok(assets.into_iter().map(AssetObject).collect())
    }

    /// Every listed market, by symbol.
    async fn markets(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<MarketObject>> {
        let markets = super::service(ctx).markets().await.gql()?;
        Ok(markets.into_iter().map(Into::into).collect())
    }

    /// The market `BASE-QUOTE`; null if there is none.
    async fn market(
        &self,
        ctx: &Context<'_>,
        symbol: String,
    ) -> async_graphql::Result<Option<MarketObject>> {
        let market = super::service(ctx).market(&symbol).await.gql()?;
        Ok(market.map(Into::into))
    }
}

/// The caller's own account data.
#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The caller's balances, by asset symbol (assets never held are absent).
    async fn my_balances(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<BalanceObject>> {
        let caller = super::identity(ctx).gql()?;
        let balances = super::service(ctx).my_balances(caller).await.gql()?;
        Ok(balances.into_iter().map(BalanceObject).collect())
    }
}
