//! Balances: a user reads their own (an admin anyone's), and an admin credits paper money.
//!
//! A credit is one ledger transaction (`system:issuance −x`, `user:available +x`), the
//! balance upsert, and the audit row, all in one database transaction. It is the only way
//! money enters, so it is where the supply bound is kept (ADR 0005, "Bounds").

use std::collections::HashMap;

use common::{Identity, money};
use sea_orm::TransactionTrait;
use serde_json::json;
use uuid::Uuid;

use super::{BrainService, require_admin, require_read};
use crate::{
    BrainError,
    domain::market::Balance,
    store::{
        self,
        ledger::{Account, Posting},
    },
};

/// The longest memo on a credit, in characters.
pub const MAX_MEMO: usize = 256;

impl BrainService {
    /// The caller's balances, by asset symbol.
    ///
    /// # Errors
    /// `FORBIDDEN` for a credential without the `read` scope.
    pub async fn my_balances(&self, caller: &Identity) -> Result<Vec<Balance>, BrainError> {
        require_read(caller)?;
        store::balances::of_users(self.db(), &[caller.user_id]).await
    }

    /// Whether `caller` may see `user_id`'s balances: the user itself with a credential
    /// that may read, or an admin signed in ([`require_admin`]: an admin's API key reads
    /// only its own account).
    pub fn may_see_balances(caller: Option<&Identity>, user_id: Uuid) -> bool {
        caller.is_some_and(|c| {
            require_read(c).is_ok() && (c.user_id == user_id || require_admin(c).is_ok())
        })
    }

    /// `user_id`'s balances if `caller` may see them ([`Self::may_see_balances`]), else an
    /// empty list: another user's money is never shown, and not telling "none" apart from
    /// "not yours" reveals nothing either.
    pub async fn balances_of(
        &self,
        caller: Option<&Identity>,
        user_id: Uuid,
    ) -> Result<Vec<Balance>, BrainError> {
        if !Self::may_see_balances(caller, user_id) {
            return Ok(Vec::new());
        }
        store::balances::of_users(self.db(), &[user_id]).await
    }

    /// The balances of many users at once, for batched entity resolution. No access check:
    /// the caller filters with [`Self::may_see_balances`] first.
    pub async fn balances_by_user(
        &self,
        user_ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<Balance>>, BrainError> {
        let mut out: HashMap<Uuid, Vec<Balance>> = HashMap::new();
        for b in store::balances::of_users(self.db(), user_ids).await? {
            out.entry(b.user_id).or_default().push(b);
        }
        Ok(out)
    }

    /// Credits `amount` (a positive decimal with at most the asset's decimals) of `asset`
    /// to `user_id`'s available balance (admin; paper-trading funding). Brain does not know
    /// which user ids exist (auth owns accounts), so any id can be credited.
    ///
    /// # Errors
    /// `FORBIDDEN` for a non-admin, `NOT_FOUND` for an unknown asset, `BAD_USER_INPUT` for a
    /// bad amount or memo, or a credit that would take the asset's supply (all it ever
    /// issued) past [`money::MAX_SUPPLY`] minor units, or a balance past an `i64`. Nothing
    /// changes on error.
    #[tracing::instrument(skip_all, fields(admin = %caller.user_id, user = %user_id, asset = asset))]
    pub async fn credit_balance(
        &self,
        caller: &Identity,
        user_id: Uuid,
        asset: &str,
        amount: &str,
        memo: Option<&str>,
    ) -> Result<Balance, BrainError> {
        require_admin(caller)?;
        let memo = memo.map(str::trim).filter(|m| !m.is_empty());
        if memo.is_some_and(|m| m.chars().count() > MAX_MEMO) {
            return Err(BrainError::invalid(format!(
                "memo must be at most {MAX_MEMO} characters"
            )));
        }
        let now = Self::now();
        let txn = self.db().begin().await?;
        let asset = store::assets::find_by_symbol(&txn, asset)
            .await?
            .ok_or(BrainError::NotFound("asset"))?;
        let minor = money::parse_positive(amount, asset.decimals)
            .map_err(|e| BrainError::invalid(format!("amount: {e}")))?;
        // The supply bound (ADR 0005, "Bounds"): what is issued never exceeds an amount, so
        // no balance, and no sum of them, can overflow later, whoever trades it.
        let issued = store::ledger::lock_issued(&txn, asset.id).await?;
        if issued + i128::from(minor) > i128::from(money::MAX_SUPPLY) {
            let so_far = i64::try_from(issued)
                .map_or_else(|_| "more than that".to_owned(), |i| asset.format(i));
            return Err(BrainError::invalid(format!(
                "amount: at most {} {} can ever be issued, and {so_far} is issued already",
                asset.format(money::MAX_SUPPLY),
                asset.symbol,
            )));
        }
        let postings = [
            Posting::new(Account::SystemIssuance, asset.id, -minor),
            Posting::new(Account::UserAvailable(user_id), asset.id, minor),
        ];
        let posted = store::ledger::post(&txn, "credit", &postings, now).await?;
        let detail = json!({
            "asset": asset.symbol,
            "amount": asset.format(minor),
            "txId": posted.tx_id,
            "memo": memo,
        });
        store::admin::record(
            &txn,
            caller.user_id,
            "credit_balance",
            &user_id.to_string(),
            &detail,
            now,
        )
        .await?;
        let row = posted
            .balances
            .iter()
            .find(|b| b.user_id == user_id && b.asset_id == asset.id)
            .copied()
            .ok_or_else(|| BrainError::Internal(anyhow::anyhow!("credit moved no balance")))?;
        txn.commit().await?;
        tracing::info!(asset = %asset.symbol, amount = %asset.format(minor), "balance credited");
        Ok(Balance {
            user_id,
            asset,
            available: row.available,
            held: row.held,
        })
    }
}
