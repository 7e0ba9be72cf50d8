//! `ledger_entries`: the double-entry journal (decision 0005, "Ledger").
//!
//! A ledger transaction is a set of postings that sums to zero **per asset**; [`record`]
//! refuses anything else before it writes, so an unbalanced journal can only come from a
//! bug that also bypasses this module. [`post`] is what use cases call: it records the
//! transaction and moves the user balances by the same amounts, so `balances` always
//! equals the sums of the user accounts' entries.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::{assets, ledger_entries};
use sea_orm::{
    ActiveValue::NotSet,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QuerySelect,
    sea_query::{Expr, LockType, Query},
};
use uuid::Uuid;

use super::balances::{self, BalanceRow};
use crate::BrainError;

/// A ledger account: a user's available or held amount, or one of the system accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    /// `user:available` of this user.
    UserAvailable(Uuid),
    /// `user:held` of this user.
    UserHeld(Uuid),
    /// `system:issuance`: where credited money comes from; it runs negative.
    SystemIssuance,
    /// `system:fees`: where trading fees go.
    SystemFees,
}

impl Account {
    /// The stored account name.
    pub fn name(self) -> &'static str {
        match self {
            Self::UserAvailable(_) => "user:available",
            Self::UserHeld(_) => "user:held",
            Self::SystemIssuance => "system:issuance",
            Self::SystemFees => "system:fees",
        }
    }

    /// The user of a `user:*` account.
    pub fn user_id(self) -> Option<Uuid> {
        match self {
            Self::UserAvailable(u) | Self::UserHeld(u) => Some(u),
            Self::SystemIssuance | Self::SystemFees => None,
        }
    }
}

/// One leg of a ledger transaction: a signed amount, in the asset's minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    /// Whose money moves.
    pub account: Account,
    /// Which asset.
    pub asset_id: Uuid,
    /// Signed minor units (positive adds to the account).
    pub amount: i64,
    /// The order this leg belongs to, if any.
    pub order_id: Option<i64>,
    /// The trade this leg belongs to, if any.
    pub trade_id: Option<i64>,
}

impl Posting {
    /// A leg with no order or trade.
    pub fn new(account: Account, asset_id: Uuid, amount: i64) -> Self {
        Self {
            account,
            asset_id,
            amount,
            order_id: None,
            trade_id: None,
        }
    }

    /// The same leg, tied to an order.
    pub fn with_order(self, order_id: i64) -> Self {
        Self {
            order_id: Some(order_id),
            ..self
        }
    }

    /// The same leg, tied to a trade.
    pub fn with_trade(self, trade_id: i64) -> Self {
        Self {
            trade_id: Some(trade_id),
            ..self
        }
    }
}

/// Checks that the postings sum to zero per asset (in `i128`, so no sum overflows) and
/// that there is at least one non-zero leg.
///
/// # Errors
/// [`BrainError::Internal`]: an unbalanced transaction is a bug in its caller.
pub fn check_balanced(postings: &[Posting]) -> Result<(), BrainError> {
    let mut sums: BTreeMap<Uuid, i128> = BTreeMap::new();
    for p in postings {
        *sums.entry(p.asset_id).or_default() += i128::from(p.amount);
    }
    if let Some((asset, sum)) = sums.iter().find(|(_, s)| **s != 0) {
        return Err(BrainError::Internal(anyhow::anyhow!(
            "unbalanced ledger transaction: asset {asset} sums to {sum}"
        )));
    }
    if postings.iter().all(|p| p.amount == 0) {
        return Err(BrainError::Internal(anyhow::anyhow!(
            "empty ledger transaction"
        )));
    }
    Ok(())
}

/// Inserts one balanced transaction under a fresh `tx_id` (a UUID v7, so ids sort by
/// time) and returns that id. Zero legs (a zero fee) are not written. Does not touch
/// `balances`; use [`post`] unless the caller moves the balances itself.
///
/// # Errors
/// [`BrainError::Internal`] when the postings do not balance, or on a database fault.
pub async fn record(
    db: &impl ConnectionTrait,
    kind: &str,
    postings: &[Posting],
    now: DateTime<Utc>,
) -> Result<Uuid, BrainError> {
    check_balanced(postings)?;
    let tx_id = Uuid::now_v7();
    let rows = postings
        .iter()
        .filter(|p| p.amount != 0)
        .map(|p| entry(tx_id, kind, p, now));
    ledger_entries::Entity::insert_many(rows).exec(db).await?;
    Ok(tx_id)
}

/// Inserts many balanced transactions, each under its own fresh `tx_id`, in one statement
/// per chunk of rows: what a batch of placed orders writes (see `service::placing`). Like
/// [`record`], it does not touch `balances`.
///
/// # Errors
/// [`BrainError::Internal`] when a transaction does not balance (nothing is written), or on a
/// database fault.
pub async fn record_many(
    db: &impl ConnectionTrait,
    transactions: &[(&str, Vec<Posting>)],
    now: DateTime<Utc>,
) -> Result<(), BrainError> {
    for (_, postings) in transactions {
        check_balanced(postings)?;
    }
    let rows: Vec<ledger_entries::ActiveModel> = transactions
        .iter()
        .flat_map(|(kind, postings)| {
            let tx_id = Uuid::now_v7();
            postings
                .iter()
                .filter(|p| p.amount != 0)
                .map(move |p| entry(tx_id, kind, p, now))
        })
        .collect();
    for chunk in rows.chunks(super::CHUNK) {
        ledger_entries::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

fn entry(tx_id: Uuid, kind: &str, p: &Posting, now: DateTime<Utc>) -> ledger_entries::ActiveModel {
    ledger_entries::ActiveModel {
        id: NotSet,
        tx_id: Set(tx_id),
        account: Set(p.account.name().to_owned()),
        user_id: Set(p.account.user_id()),
        asset_id: Set(p.asset_id),
        amount: Set(p.amount),
        kind: Set(kind.to_owned()),
        order_id: Set(p.order_id),
        trade_id: Set(p.trade_id),
        created_at: Set(now),
    }
}

/// How much of an asset has been issued so far (minus the sum of its `system:issuance`
/// entries), with the asset locked against other issuers until the caller's transaction
/// ends, so that two concurrent credits never both pass a check against the same total.
/// PostgreSQL locks the asset's row `FOR NO KEY UPDATE`, which leaves the foreign-key checks
/// of trading's ledger and balance writes free; SQLite has a single writer.
///
/// Only the asset's issuance entries are read, through their partial index
/// (`idx_ledger_entries_issuance`; the account is written as a literal so that both databases
/// match the index's predicate), and the sum is exact like the audit's: an asset that an
/// earlier release let grow beyond an `i64` is reported, not an error.
///
/// # Errors
/// A database fault.
pub async fn lock_issued(db: &impl ConnectionTrait, asset_id: Uuid) -> Result<i128, BrainError> {
    if db.get_database_backend() == DbBackend::Postgres {
        assets::Entity::find_by_id(asset_id)
            .select_only()
            .column(assets::Column::Id)
            .lock(LockType::NoKeyUpdate)
            .into_tuple::<Uuid>()
            .one(db)
            .await?;
    }
    // Each amount split in a high and a low part that no SUM can overflow (see `audit`).
    let query = Query::select()
        .expr_as(Expr::cust("CAST(SUM(amount / 4294967296) AS BIGINT)"), "hi")
        .expr_as(Expr::cust("CAST(SUM(amount % 4294967296) AS BIGINT)"), "lo")
        .from(ledger_entries::Entity)
        .and_where(Expr::cust("account = 'system:issuance'"))
        .and_where(ledger_entries::Column::AssetId.eq(asset_id))
        .to_owned();
    let Some(row) = db.query_one(&query).await? else {
        return Ok(0);
    };
    let hi: Option<i64> = row.try_get("", "hi")?;
    let lo: Option<i64> = row.try_get("", "lo")?;
    Ok(-(i128::from(hi.unwrap_or(0)) * (1 << 32) + i128::from(lo.unwrap_or(0))))
}

/// What [`post`] wrote: the transaction id and every user balance it moved, as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    /// The ledger transaction.
    pub tx_id: Uuid,
    /// The moved balances, ordered by (user, asset).
    pub balances: Vec<BalanceRow>,
}

/// Records a balanced transaction and applies its user legs to `balances`, in the caller's
/// transaction. Balances are updated in (user, asset) order, so two concurrent posts never
/// lock the same rows in opposite orders.
///
/// # Errors
/// As [`record`] and [`balances::add`] (notably [`BrainError::InsufficientFunds`]); the
/// caller rolls back.
pub async fn post(
    db: &impl ConnectionTrait,
    kind: &str,
    postings: &[Posting],
    now: DateTime<Utc>,
) -> Result<Posted, BrainError> {
    let tx_id = record(db, kind, postings, now).await?;
    // (user, asset) → (Δ available, Δ held); the i128 sums cannot overflow.
    let mut deltas: BTreeMap<(Uuid, Uuid), (i128, i128)> = BTreeMap::new();
    for p in postings {
        let (user, is_held) = match p.account {
            Account::UserAvailable(u) => (u, false),
            Account::UserHeld(u) => (u, true),
            Account::SystemIssuance | Account::SystemFees => continue,
        };
        let d = deltas.entry((user, p.asset_id)).or_default();
        if is_held {
            d.1 += i128::from(p.amount);
        } else {
            d.0 += i128::from(p.amount);
        }
    }
    let too_large = || BrainError::invalid("the balance would exceed the largest amount");
    let mut moved = Vec::with_capacity(deltas.len());
    for ((user, asset), (d_available, d_held)) in deltas {
        let d_available = i64::try_from(d_available).map_err(|_| too_large())?;
        let d_held = i64::try_from(d_held).map_err(|_| too_large())?;
        moved.push(balances::add(db, user, asset, d_available, d_held, now).await?);
    }
    Ok(Posted {
        tx_id,
        balances: moved,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credit_balances_and_a_one_sided_posting_does_not() {
        let (user, usd, acme) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let credit = [
            Posting::new(Account::SystemIssuance, usd, -100),
            Posting::new(Account::UserAvailable(user), usd, 100),
        ];
        assert!(check_balanced(&credit).is_ok());
        assert!(check_balanced(&credit[..1]).is_err());
        // Balanced in total but not per asset.
        let crossed = [
            Posting::new(Account::SystemIssuance, usd, -100),
            Posting::new(Account::UserAvailable(user), acme, 100),
        ];
        assert!(check_balanced(&crossed).is_err());
        assert!(check_balanced(&[]).is_err());
        assert!(check_balanced(&[Posting::new(Account::SystemFees, usd, 0)]).is_err());
    }

    #[test]
    fn sums_that_overflow_an_i64_are_still_checked_exactly() {
        let (user, usd) = (Uuid::new_v4(), Uuid::new_v4());
        let legs = [
            Posting::new(Account::UserAvailable(user), usd, i64::MAX),
            Posting::new(Account::UserHeld(user), usd, i64::MAX),
            Posting::new(Account::SystemIssuance, usd, i64::MIN),
            Posting::new(Account::SystemIssuance, usd, i64::MIN + 2),
        ];
        assert!(check_balanced(&legs).is_ok());
    }

    #[test]
    fn accounts_have_their_stored_names() {
        let u = Uuid::new_v4();
        assert_eq!(Account::UserAvailable(u).name(), "user:available");
        assert_eq!(Account::UserHeld(u).name(), "user:held");
        assert_eq!(Account::SystemIssuance.name(), "system:issuance");
        assert_eq!(Account::SystemFees.name(), "system:fees");
        assert_eq!(Account::UserHeld(u).user_id(), Some(u));
        assert_eq!(Account::SystemFees.user_id(), None);
    }
}
