//! `markets` queries. A market is always returned with both of its assets in full.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::markets;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::{assets, corrupt, is_unique_violation};
use crate::{
    BrainError,
    domain::market::{Asset, Market, MarketSpec, MarketStatus},
};

fn to_domain(m: markets::Model, assets: &HashMap<Uuid, Asset>) -> Result<Market, BrainError> {
    let asset = |id: Uuid| {
        assets
            .get(&id)
            .cloned()
            .ok_or_else(|| corrupt(format!("market {} refers to missing asset {id}", m.symbol)))
    };
    let base = asset(m.base_asset_id)?;
    let quote = asset(m.quote_asset_id)?;
    let bps =
        |v: i32| u32::try_from(v).map_err(|_| corrupt(format!("market {} bps {v}", m.symbol)));
    let status = MarketStatus::parse(&m.status)
        .ok_or_else(|| corrupt(format!("market {} status {}", m.symbol, m.status)))?;
    let spec = MarketSpec {
        symbol: m.symbol.clone(),
        base: base.spec(),
        quote: quote.spec(),
        tick_size: m.tick_size,
        lot_size: m.lot_size,
        min_qty: m.min_qty,
        price_band_bps: bps(m.price_band_bps)?,
        maker_fee_bps: bps(m.maker_fee_bps)?,
        taker_fee_bps: bps(m.taker_fee_bps)?,
        status,
    };
    Ok(Market {
        id: m.id,
        spec,
        base,
        quote,
    })
}

async fn with_assets(
    db: &impl ConnectionTrait,
    rows: Vec<markets::Model>,
) -> Result<Vec<Market>, BrainError> {
    let ids = rows
        .iter()
        .flat_map(|m| [m.base_asset_id, m.quote_asset_id]);
    let assets = assets::find_by_ids(db, ids).await?;
    rows.into_iter().map(|m| to_domain(m, &assets)).collect()
}

/// Lists a validated market over its two assets; a symbol already listed is
/// [`BrainError::Conflict`].
pub async fn insert(
    db: &impl ConnectionTrait,
    spec: &MarketSpec,
    base: &Asset,
    quote: &Asset,
    now: DateTime<Utc>,
) -> Result<Market, BrainError> {
    // MarketSpec::new refuses a market without a positive whole quote_per_tick_lot.
    let quote_per_tick_lot = spec
        .quote_per_tick_lot()
        .and_then(|q| i64::try_from(q).ok())
        .ok_or_else(|| BrainError::invalid("tickSize × lotSize is too large"))?;
    let bps =
        |v: u32| i32::try_from(v).map_err(|_| BrainError::invalid("basis points out of range"));
    let model = markets::ActiveModel {
        id: Set(Uuid::now_v7()),
        symbol: Set(spec.symbol.clone()),
        base_asset_id: Set(base.id),
        quote_asset_id: Set(quote.id),
        tick_size: Set(spec.tick_size),
        lot_size: Set(spec.lot_size),
        min_qty: Set(spec.min_qty),
        quote_per_tick_lot: Set(quote_per_tick_lot),
        price_band_bps: Set(bps(spec.price_band_bps)?),
        maker_fee_bps: Set(bps(spec.maker_fee_bps)?),
        taker_fee_bps: Set(bps(spec.taker_fee_bps)?),
        status: Set(spec.status.as_str().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let m = match markets::Entity::insert(model).exec_with_returning(db).await {
        Ok(m) => m,
        Err(e) if is_unique_violation(&e) => {
            return Err(BrainError::Conflict(format!(
                "market {} already exists",
                spec.symbol
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let assets = HashMap::from([(base.id, base.clone()), (quote.id, quote.clone())]);
    to_domain(m, &assets)
}

/// Every market, by symbol (two queries: markets, then their assets).
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<Market>, BrainError> {
    let rows = markets::Entity::find()
        .order_by_asc(markets::Column::Symbol)
        .all(db)
        .await?;
    with_assets(db, rows).await
}

/// The market with this symbol (`BASE-QUOTE`).
pub async fn find_by_symbol(
    db: &impl ConnectionTrait,
    symbol: &str,
) -> Result<Option<Market>, BrainError> {
    let rows = markets::Entity::find()
        .filter(markets::Column::Symbol.eq(symbol))
        .all(db)
        .await?;
    Ok(with_assets(db, rows).await?.pop())
}

/// The market with this id.
pub async fn find_by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Market>, BrainError> {
    let rows = markets::Entity::find_by_id(id).all(db).await?;
    Ok(with_assets(db, rows).await?.pop())
}

/// Whether each of these markets is open or halted, as stored now: what the place path
/// checks inside its transaction, whatever a cache said.
///
/// # Errors
/// A database fault, or a status the code does not know.
pub async fn statuses(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, MarketStatus>, BrainError> {
    let rows: Vec<(Uuid, String)> = markets::Entity::find()
        .filter(markets::Column::Id.is_in(ids))
        .select_only()
        .column(markets::Column::Id)
        .column(markets::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    rows.into_iter()
        .map(|(id, status)| {
            MarketStatus::parse(&status)
                .map(|s| (id, s))
                .ok_or_else(|| corrupt(format!("market {id} status {status}")))
        })
        .collect()
}

/// Opens or halts a market.
pub async fn set_status(
    db: &impl ConnectionTrait,
    id: Uuid,
    status: MarketStatus,
    now: DateTime<Utc>,
) -> Result<(), BrainError> {
    markets::Entity::update_many()
        .col_expr(markets::Column::Status, status.as_str().into())
        .col_expr(markets::Column::UpdatedAt, now.into())
        .filter(markets::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
