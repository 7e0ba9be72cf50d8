//! Admin mutations: listing assets and markets, opening and halting markets, crediting
//! balances. Each is audited in `admin_actions` by the service.

use async_graphql::{Context, ID, Object};
use uuid::Uuid;

use super::{
    GqlResult,
    scalars::Decimal,
    types::{
        AssetObject, BalanceObject, CreateAssetInput, CreateMarketInput, MarketObject,
        MarketStatusGql,
    },
};
use crate::{
    BrainError,
    domain::market::NewMarket,
    service::{catalog::CreateAsset, require_admin},
};

/// The admin-only mutations.
#[derive(Default)]
pub struct AdminMutation;

#[Object]
impl AdminMutation {
    /// Lists an asset (admin only).
    async fn create_asset(
        &self,
        ctx: &Context<'_>,
        input: CreateAssetInput,
    ) -> async_graphql::Result<AssetObject> {
        let caller = super::identity(ctx).gql()?;
        let asset = super::service(ctx)
            .create_asset(
                caller,
                CreateAsset {
                    symbol: &input.symbol,
                    name: &input.name,
                    kind: &input.kind,
                    decimals: input.decimals,
                },
            )
            .await
            .gql()?;
        Ok(AssetObject(asset))
    }

    /// Lists the market `BASE-QUOTE` over two listed assets; it opens at once (admin only).
    async fn create_market(
        &self,
        ctx: &Context<'_>,
        input: CreateMarketInput,
    ) -> async_graphql::Result<MarketObject> {
        let caller = super::identity(ctx).gql()?;
        let new = NewMarket {
            tick_size: input.tick_size.as_str(),
            lot_size: input.lot_size.as_str(),
            min_quantity: input.min_quantity.as_str(),
            maker_fee_bps: input.maker_fee_bps,
            taker_fee_bps: input.taker_fee_bps,
            price_band_bps: input.price_band_bps,
        };
        let market = super::service(ctx)
            .create_market(caller, &input.base, &input.quote, &new)
            .await
            .gql()?;
        Ok(market.into())
    }

    /// Opens or halts a market (admin only). A halted market refuses new orders.
    async fn set_market_status(
        &self,
        ctx: &Context<'_>,
        market: String,
        status: MarketStatusGql,
    ) -> async_graphql::Result<MarketObject> {
        let caller = super::identity(ctx).gql()?;
        let market = super::service(ctx)
            .set_market_status(caller, &market, status.into())
            .await
            .gql()?;
        Ok(market.into())
    }

    /// Credits `amount` of `asset` to a user's available balance: paper-trading funding
    /// (admin only). Returns the user's balance after the credit.
    async fn credit_balance(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        asset: String,
        amount: Decimal,
        memo: Option<String>,
    ) -> async_graphql::Result<BalanceObject> {
        let caller = super::identity(ctx).gql()?;
        let Ok(user_id) = Uuid::parse_str(&user_id) else {
            // Who may ask comes before what was asked.
            require_admin(caller).gql()?;
            return Err(BrainError::invalid("userId: not a user id")).gql();
        };
        let balance = super::service(ctx)
            .credit_balance(caller, user_id, &asset, amount.as_str(), memo.as_deref())
            .await
            .gql()?;
        Ok(BalanceObject(balance))
    }
}
