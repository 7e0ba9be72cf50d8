//! GraphQL shapes of the brain's catalog and balances, mapped from domain types.
//!
//! `Market` is a merged object: trading adds its market-data fields (ticker, book, trades,
//! candles) as another part beside [`MarketInfo`], without touching this file's resolvers.

use std::sync::Arc;

use async_graphql::{Enum, ID, InputObject, MergedObject, Object};

use super::{GqlResult, market_data::MarketData, scalars::Decimal};
use crate::{
    BrainError,
    domain::market::{Asset, Balance, Market, MarketStatus},
};

/// Something balances and prices are denominated in.
pub struct AssetObject(pub Asset);

/// Something balances and prices are denominated in.
#[Object(name = "Asset")]
impl AssetObject {
    /// Stable id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Upper-case symbol, unique (`USD`, `ACME`).
    async fn symbol(&self) -> &str {
        &self.0.symbol
    }

    /// Human name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Free-form class (`cash`, `equity`, ...).
    async fn kind(&self) -> &str {
        &self.0.kind
    }

    /// Digits after the decimal point of the smallest unit.
    async fn decimals(&self) -> i32 {
        i32::from(self.0.decimals)
    }
}

/// Whether a market is trading.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "MarketStatus")]
pub enum MarketStatusGql {
    /// Orders are accepted.
    Open,
    /// New orders are refused with `MARKET_HALTED`; cancels still work.
    Halted,
}

impl From<MarketStatus> for MarketStatusGql {
    fn from(s: MarketStatus) -> Self {
        match s {
            MarketStatus::Open => Self::Open,
            MarketStatus::Halted => Self::Halted,
        }
    }
}

impl From<MarketStatusGql> for MarketStatus {
    fn from(s: MarketStatusGql) -> Self {
        match s {
            MarketStatusGql::Open => Self::Open,
            MarketStatusGql::Halted => Self::Halted,
        }
    }
}

/// The catalog fields of a market (its listing rules), one part of `Market`.
pub struct MarketInfo(pub Arc<Market>);

#[Object]
impl MarketInfo {
    /// Stable id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// `BASE-QUOTE`.
    async fn symbol(&self) -> &str {
        &self.0.spec.symbol
    }

    /// The asset traded.
    async fn base(&self) -> AssetObject {
        AssetObject(self.0.base.clone())
    }

    /// The asset prices are in.
    async fn quote(&self) -> AssetObject {
        AssetObject(self.0.quote.clone())
    }

    /// Price increment, in the quote asset per whole base unit.
    async fn tick_size(&self) -> Decimal {
        Decimal(self.0.tick_size_text())
    }

    /// Quantity increment, in the base asset.
    async fn lot_size(&self) -> Decimal {
        Decimal(self.0.lot_size_text())
    }

    /// Smallest order quantity, in the base asset.
    async fn min_quantity(&self) -> Decimal {
        Decimal(self.0.min_quantity_text())
    }

    /// Open or halted.
    async fn status(&self) -> MarketStatusGql {
        self.0.spec.status.into()
    }

    /// Fee of the resting side, basis points of the trade value.
    async fn maker_fee_bps(&self) -> i32 {
        bps(self.0.spec.maker_fee_bps)
    }

    /// Fee of the incoming side, basis points of the trade value.
    async fn taker_fee_bps(&self) -> i32 {
        bps(self.0.spec.taker_fee_bps)
    }
}

/// Fees are at most 1000 bps (domain rule), so this never saturates in practice.
fn bps(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// A base asset quoted in a quote asset, traded through a limit order book: its listing
/// rules ([`MarketInfo`]) and its market data ([`MarketData`]).
#[derive(MergedObject)]
#[graphql(name = "Market")]
pub struct MarketObject(pub MarketInfo, pub MarketData);

impl From<Market> for MarketObject {
    fn from(m: Market) -> Self {
        let m = Arc::new(m);
        Self(MarketInfo(Arc::clone(&m)), MarketData(m))
    }
}

/// A user's holding of one asset.
pub struct BalanceObject(pub Balance);

/// A user's holding of one asset.
#[Object(name = "Balance")]
impl BalanceObject {
    /// What it is a balance of.
    async fn asset(&self) -> AssetObject {
        AssetObject(self.0.asset.clone())
    }

    /// Free to spend.
    async fn available(&self) -> Decimal {
        Decimal(self.0.asset.format(self.0.available))
    }

    /// Reserved by open orders.
    async fn held(&self) -> Decimal {
        Decimal(self.0.asset.format(self.0.held))
    }

    /// `available + held`.
    async fn total(&self) -> async_graphql::Result<Decimal> {
        let total = self
            .0
            .total()
            .ok_or_else(|| BrainError::Internal(anyhow::anyhow!("balance total overflows")))
            .gql()?;
        Ok(Decimal(self.0.asset.format(total)))
    }
}

/// An asset to list.
#[derive(InputObject)]
pub struct CreateAssetInput {
    /// 1–12 upper-case letters or digits, unique.
    pub symbol: String,
    /// Human name, 1–64 characters.
    pub name: String,
    /// Free-form class (`cash`, `equity`, `token`, ...), lower-cased.
    pub kind: String,
    /// Digits after the decimal point of the smallest unit, 0–8 (so a balance can hold the
    /// asset's whole supply in 64-bit minor units; ADR 0005, "Bounds").
    pub decimals: i32,
}

/// A market to list over two listed assets; its symbol is `BASE-QUOTE`.
#[derive(InputObject)]
pub struct CreateMarketInput {
    /// Symbol of the asset traded.
    pub base: String,
    /// Symbol of the asset prices are in.
    pub quote: String,
    /// Price increment in the quote asset, e.g. `"0.01"`.
    pub tick_size: Decimal,
    /// Quantity increment in the base asset, e.g. `"1"`.
    pub lot_size: Decimal,
    /// Smallest order quantity, a multiple of the lot.
    pub min_quantity: Decimal,
    /// Fee of the resting side, 0–1000 basis points.
    pub maker_fee_bps: i32,
    /// Fee of the incoming side, 0–1000 basis points.
    pub taker_fee_bps: i32,
    /// How far from the last price a limit order may be, 0–9999 basis points (default 1000).
    pub price_band_bps: Option<i32>,
}
