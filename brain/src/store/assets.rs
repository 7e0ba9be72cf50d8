//! `assets` queries.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::assets;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::{corrupt, is_unique_violation};
use crate::{
    BrainError,
    domain::market::{Asset, NewAsset},
};

pub(crate) fn to_domain(m: assets::Model) -> Result<Asset, BrainError> {
    let decimals = u8::try_from(m.decimals)
        .ok()
        .filter(|d| *d <= common::money::MAX_DECIMALS)
        .ok_or_else(|| corrupt(format!("asset {} has {} decimals", m.symbol, m.decimals)))?;
    Ok(Asset {
        id: m.id,
        symbol: m.symbol,
        name: m.name,
        kind: m.kind,
        decimals,
    })
}

/// Lists a new asset; a symbol already listed is [`BrainError::Conflict`].
pub async fn insert(
    db: &impl ConnectionTrait,
    new: &NewAsset,
    now: DateTime<Utc>,
) -> Result<Asset, BrainError> {
    let model = assets::ActiveModel {
        id: Set(Uuid::now_v7()),
        symbol: Set(new.symbol.clone()),
        name: Set(new.name.clone()),
        kind: Set(new.kind.clone()),
        decimals: Set(i32::from(new.decimals)),
        created_at: Set(now),
    };
    match assets::Entity::insert(model).exec_with_returning(db).await {
        Ok(m) => to_domain(m),
        Err(e) if is_unique_violation(&e) => Err(BrainError::Conflict(format!(
            "asset {} already exists",
            new.symbol
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Every asset, by symbol.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<Asset>, BrainError> {
    assets::Entity::find()
        .order_by_asc(assets::Column::Symbol)
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// The asset with this symbol.
pub async fn find_by_symbol(
    db: &impl ConnectionTrait,
    symbol: &str,
) -> Result<Option<Asset>, BrainError> {
    assets::Entity::find()
        .filter(assets::Column::Symbol.eq(symbol))
        .one(db)
        .await?
        .map(to_domain)
        .transpose()
}

/// Assets by id (one query), for joining markets and balances to their assets.
pub async fn find_by_ids(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, Asset>, BrainError> {
    let mut ids: Vec<Uuid> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    assets::Entity::find()
        .filter(assets::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|m| to_domain(m).map(|a| (a.id, a)))
        .collect()
}
