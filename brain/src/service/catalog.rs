//! Assets and markets: anyone may read the catalog; admins list assets and markets and
//! open or halt markets.
//!
//! Catalog reads go through the hot cache ([`crate::hot`]) under the catalog's version,
//! which every admin act here renews once its transaction has committed.

use common::hot::CATALOG_VERSION_KEY;
use sea_orm::TransactionTrait;
use serde_json::json;

use super::{BrainService, require_admin};
use crate::{
    BrainError,
    domain::market::{Asset, Market, MarketSpec, MarketStatus, NewAsset, NewMarket},
    hot::{DEFAULT_TTL, Kind, keys},
    store,
};

/// What an admin asks for when listing an asset: text as typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateAsset<'a> {
    /// `[A-Z0-9]{1,12}`.
    pub symbol: &'a str,
    /// Human name.
    pub name: &'a str,
    /// Free-form class (`cash`, `equity`, ...).
    pub kind: &'a str,
    /// Minor-unit places, 0–8 (`common::money::MAX_LISTED_DECIMALS`).
    pub decimals: i32,
}

impl BrainService {
    /// Every asset, by symbol. Public.
    pub async fn assets(&self) -> Result<Vec<Asset>, BrainError> {
        self.hot()
            .read(
                Kind::Assets,
                keys::ASSETS,
                CATALOG_VERSION_KEY,
                DEFAULT_TTL,
                || store::assets::list(self.db()),
            )
            .await
    }

    /// Every market, by symbol. Public.
    pub async fn markets(&self) -> Result<Vec<Market>, BrainError> {
        self.hot()
            .read(
                Kind::Markets,
                keys::MARKETS,
                CATALOG_VERSION_KEY,
                DEFAULT_TTL,
                || store::markets::list(self.db()),
            )
            .await
    }

    /// The market `BASE-QUOTE`, if listed. Public.
    ///
    /// Only listed markets are cached (an unknown symbol asks the database every time), so
    /// made-up symbols cannot fill the cache.
    pub async fn market(&self, symbol: &str) -> Result<Option<Market>, BrainError> {
        let Some(key) = keys::market_by_symbol(symbol) else {
            return store::markets::find_by_symbol(self.db(), symbol).await;
        };
        self.cached_market(&key, || store::markets::find_by_symbol(self.db(), symbol))
            .await
    }

    /// The market with this id, if listed, through the cache like [`BrainService::market`].
    pub(crate) async fn market_with_id(
        &self,
        id: uuid::Uuid,
    ) -> Result<Option<Market>, BrainError> {
        self.cached_market(&keys::market_by_id(id), || {
            store::markets::find_by_id(self.db(), id)
        })
        .await
    }

    /// One listed market through the catalog's cache; an absent one is not cached.
    async fn cached_market<F, Fut>(&self, key: &str, load: F) -> Result<Option<Market>, BrainError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<Market>, BrainError>>,
    {
        let found = self
            .hot()
            .read(
                Kind::Market,
                key,
                CATALOG_VERSION_KEY,
                DEFAULT_TTL,
                || async { load().await?.ok_or(BrainError::NotFound("market")) },
            )
            .await;
        match found {
            Ok(market) => Ok(Some(market)),
            Err(BrainError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Lists an asset (admin).
    ///
    /// # Errors
    /// `FORBIDDEN` for a non-admin, `BAD_USER_INPUT` for a bad field, `CONFLICT` for a
    /// symbol already listed. Nothing changes on error.
    #[tracing::instrument(skip_all, fields(admin = %caller.user_id, symbol = input.symbol))]
    pub async fn create_asset(
        &self,
        caller: &common::Identity,
        input: CreateAsset<'_>,
    ) -> Result<Asset, BrainError> {
        require_admin(caller)?;
        let new = NewAsset::new(input.symbol, input.name, input.kind, input.decimals)?;
        let now = Self::now();
        let txn = self.db().begin().await?;
        let asset = store::assets::insert(&txn, &new, now).await?;
        let detail = json!({
            "id": asset.id,
            "name": asset.name,
            "kind": asset.kind,
            "decimals": asset.decimals,
        });
        store::admin::record(
            &txn,
            caller.user_id,
            "create_asset",
            &asset.symbol,
            &detail,
            now,
        )
        .await?;
        txn.commit().await?;
        self.hot().bump_catalog().await;
        tracing::info!(asset = %asset.symbol, "asset listed");
        Ok(asset)
    }

    /// Lists the market `BASE-QUOTE` over two listed assets (admin). It opens at once.
    ///
    /// # Errors
    /// `FORBIDDEN` for a non-admin, `NOT_FOUND` for an unknown asset, `BAD_USER_INPUT` for
    /// numbers [`MarketSpec::new`] refuses, `CONFLICT` for a market already listed. Nothing
    /// changes on error.
    #[tracing::instrument(skip_all, fields(admin = %caller.user_id, base = base, quote = quote))]
    pub async fn create_market(
        &self,
        caller: &common::Identity,
        base: &str,
        quote: &str,
        new: &NewMarket<'_>,
    ) -> Result<Market, BrainError> {
        require_admin(caller)?;
        let now = Self::now();
        let txn = self.db().begin().await?;
        let base = store::assets::find_by_symbol(&txn, base)
            .await?
            .ok_or(BrainError::NotFound("base asset"))?;
        let quote = store::assets::find_by_symbol(&txn, quote)
            .await?
            .ok_or(BrainError::NotFound("quote asset"))?;
        let spec = MarketSpec::new(base.spec(), quote.spec(), new)?;
        let market = store::markets::insert(&txn, &spec, &base, &quote, now).await?;
        let detail = json!({
            "id": market.id,
            "tickSize": market.tick_size_text(),
            "lotSize": market.lot_size_text(),
            "minQuantity": market.min_quantity_text(),
            "makerFeeBps": spec.maker_fee_bps,
            "takerFeeBps": spec.taker_fee_bps,
            "priceBandBps": spec.price_band_bps,
        });
        store::admin::record(
            &txn,
            caller.user_id,
            "create_market",
            &spec.symbol,
            &detail,
            now,
        )
        .await?;
        txn.commit().await?;
        self.hot().bump_catalog().await;
        tracing::info!(market = %market.spec.symbol, "market listed");
        Ok(market)
    }

    /// Opens or halts a market (admin). Setting the status it already has is allowed and
    /// still audited.
    ///
    /// # Errors
    /// `FORBIDDEN` for a non-admin, `NOT_FOUND` for an unknown market.
    #[tracing::instrument(skip_all, fields(admin = %caller.user_id, market = symbol))]
    pub async fn set_market_status(
        &self,
        caller: &common::Identity,
        symbol: &str,
        status: MarketStatus,
    ) -> Result<Market, BrainError> {
        require_admin(caller)?;
        let now = Self::now();
        let txn = self.db().begin().await?;
        let mut market = store::markets::find_by_symbol(&txn, symbol)
            .await?
            .ok_or(BrainError::NotFound("market"))?;
        store::markets::set_status(&txn, market.id, status, now).await?;
        let detail = json!({
            "from": market.spec.status.as_str(),
            "to": status.as_str(),
        });
        store::admin::record(
            &txn,
            caller.user_id,
            "set_market_status",
            &market.spec.symbol,
            &detail,
            now,
        )
        .await?;
        txn.commit().await?;
        self.hot().bump_catalog().await;
        market.spec.status = status;
        tracing::info!(market = %market.spec.symbol, status = status.as_str(), "market status set");
        Ok(market)
    }
}
