//! `balances` queries: reads, and the one write every balance movement goes through.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use entity::balances;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use uuid::Uuid;

use super::{assets, check_violation, corrupt};
use crate::{
    BrainError,
    domain::market::{Asset, Balance},
};

/// A user's available and held amount of one asset after a change, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceRow {
    /// The owner.
    pub user_id: Uuid,
    /// The asset.
    pub asset_id: Uuid,
    /// Free to spend.
    pub available: i64,
    /// Reserved by open orders.
    pub held: i64,
}

/// Adds signed deltas to a user's available and held amount of an asset, creating the row
/// at zero first if there is none. Call it only next to the ledger entries that justify the
/// change, in the same transaction (see `ledger::post`).
///
/// One statement: `INSERT … ON CONFLICT (user_id, asset_id) DO UPDATE SET available =
/// balances.available + Δ, held = balances.held + Δ`, so concurrent movements of the same
/// balance serialise on the row and never lose an update.
///
/// # Errors
/// - [`BrainError::InsufficientFunds`] when `available` would go below zero (checked here
///   first, and by the table's CHECK constraint when a concurrent transaction got there
///   first);
/// - [`BrainError::InvalidInput`] when the balance would no longer fit in an `i64` (SQLite
///   would silently turn the sum into a float, so this is checked before writing);
/// - [`BrainError::Internal`] when `held` would go below zero: releasing more than is held
///   is a bug, not a user error.
pub async fn add(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    asset_id: Uuid,
    d_available: i64,
    d_held: i64,
    now: DateTime<Utc>,
) -> Result<BalanceRow, BrainError> {
    let current = balances::Entity::find_by_id((user_id, asset_id))
        .one(db)
        .await?
        .map_or((0, 0), |m| (m.available, m.held));
    let too_large = || BrainError::invalid("the balance would exceed the largest amount");
    let available = current.0.checked_add(d_available).ok_or_else(too_large)?;
    let held = current.1.checked_add(d_held).ok_or_else(too_large)?;
    available.checked_add(held).ok_or_else(too_large)?;
    if available < 0 {
        return Err(BrainError::InsufficientFunds(
            "the available balance is too small".into(),
        ));
    }
    if held < 0 {
        return Err(BrainError::Internal(anyhow::anyhow!(
            "held balance of {user_id} in {asset_id} would go below zero"
        )));
    }

    // Both databases check the proposed row against the CHECKs before they look for a
    // conflict, so it must hold valid values: those computed above. They are used only when
    // there is no row yet (then they equal the deltas); otherwise the update adds the deltas
    // to whatever the row holds when its lock is ours.
    let row = balances::ActiveModel {
        user_id: Set(user_id),
        asset_id: Set(asset_id),
        available: Set(available),
        held: Set(held),
        updated_at: Set(now),
    };
    let mut on_conflict =
        OnConflict::columns([balances::Column::UserId, balances::Column::AssetId]);
    on_conflict
        .value(
            balances::Column::Available,
            Expr::col((balances::Entity, balances::Column::Available)).add(d_available),
        )
        .value(
            balances::Column::Held,
            Expr::col((balances::Entity, balances::Column::Held)).add(d_held),
        )
        .value(balances::Column::UpdatedAt, Expr::value(now));
    match balances::Entity::insert(row)
        .on_conflict(on_conflict)
        .exec_with_returning(db)
        .await
    {
        Ok(m) => Ok(BalanceRow {
            user_id: m.user_id,
            asset_id: m.asset_id,
            available: m.available,
            held: m.held,
        }),
        Err(e) => match check_violation(&e) {
            Some(msg) if msg.contains("held") => Err(BrainError::Internal(
                anyhow::Error::new(e).context("held balance would go below zero"),
            )),
            Some(_) => Err(BrainError::InsufficientFunds(
                "the available balance is too small".into(),
            )),
            None => Err(e.into()),
        },
    }
}

/// Locks the existing balance rows of these (user, asset) keys in key order, before a
/// transaction moves several of them; the matcher's batches do the same (see
/// `matcher::settle::lock_balances`, the one implementation), so the two never deadlock.
///
/// # Errors
/// A database fault.
pub async fn lock(
    db: &impl ConnectionTrait,
    keys: &BTreeSet<(Uuid, Uuid)>,
) -> Result<(), BrainError> {
    Ok(matcher::settle::lock_balances(db, keys).await?)
}

/// Moves `amount` of a user's asset from available to held if at least that much is
/// available; returns whether it did. One conditional UPDATE that raises no error when the
/// funds are short, so it can run inside a transaction shared with other traders' orders
/// (see `service::placing`). The ledger entries that justify the move are the caller's to
/// write in the same transaction.
///
/// # Errors
/// A database fault.
pub async fn take_hold(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    asset_id: Uuid,
    amount: i64,
    now: DateTime<Utc>,
) -> Result<bool, BrainError> {
    let moved = balances::Entity::update_many()
        .col_expr(
            balances::Column::Available,
            Expr::col(balances::Column::Available).sub(amount),
        )
        .col_expr(
            balances::Column::Held,
            Expr::col(balances::Column::Held).add(amount),
        )
        .col_expr(balances::Column::UpdatedAt, Expr::value(now))
        .filter(balances::Column::UserId.eq(user_id))
        .filter(balances::Column::AssetId.eq(asset_id))
        .filter(balances::Column::Available.gte(amount))
        .exec(db)
        .await?;
    Ok(moved.rows_affected == 1)
}

fn to_domain(m: balances::Model, assets: &HashMap<Uuid, Asset>) -> Result<Balance, BrainError> {
    let asset = assets
        .get(&m.asset_id)
        .cloned()
        .ok_or_else(|| corrupt(format!("balance refers to missing asset {}", m.asset_id)))?;
    Ok(Balance {
        user_id: m.user_id,
        asset,
        available: m.available,
        held: m.held,
    })
}

/// The balances of these users, each user's by asset symbol (two queries). Users without a
/// balance are absent.
pub async fn of_users(
    db: &impl ConnectionTrait,
    user_ids: &[Uuid],
) -> Result<Vec<Balance>, BrainError> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = balances::Entity::find()
        .filter(balances::Column::UserId.is_in(user_ids.iter().copied()))
        .order_by_asc(balances::Column::UserId)
        .all(db)
        .await?;
    let assets = assets::find_by_ids(db, rows.iter().map(|m| m.asset_id)).await?;
    let mut out = rows
        .into_iter()
        .map(|m| to_domain(m, &assets))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by(|a, b| (a.user_id, &a.asset.symbol).cmp(&(b.user_id, &b.asset.symbol)));
    Ok(out)
}

/// One user's balance of one asset, if it has a row.
pub async fn find(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    asset: &Asset,
) -> Result<Option<Balance>, BrainError> {
    Ok(balances::Entity::find_by_id((user_id, asset.id))
        .one(db)
        .await?
        .map(|m| Balance {
            user_id: m.user_id,
            asset: asset.clone(),
            available: m.available,
            held: m.held,
        }))
}
