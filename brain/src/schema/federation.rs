//! The `User` federation entity, owned by auth and extended here with `balances`.
//!
//! Any user id resolves (brain knows users only by the ids in tokens), but a user's
//! balances are shown only to that user or an admin; anyone else sees an empty list, never
//! another user's money. Balances of the users in one `_entities` batch are loaded in one
//! query through a [`DataLoader`] when the request carries one ([`super::balance_loader`]).

use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    Context, ID, MergedObject, Object,
    dataloader::{DataLoader, Loader},
};
use uuid::Uuid;

use super::{GqlResult, types::BalanceObject};
use crate::{BrainError, BrainService, domain::market::Balance};

/// Loads users' balances in batches. It does no access check: the `balances` resolver
/// decides who may see what before it asks.
pub struct BalanceLoader(pub BrainService);

impl Loader<Uuid> for BalanceLoader {
    type Value = Vec<Balance>;
    type Error = Arc<BrainError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Vec<Balance>>, Self::Error> {
        self.0.balances_by_user(keys).await.map_err(Arc::new)
    }
}

/// The brain's fields of a user, one part of `User`.
pub struct UserAccount {
    /// The user.
    pub id: Uuid,
}

#[Object]
impl UserAccount {
    /// The user's id (the key auth owns).
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// The user's balances, by asset symbol: empty unless the caller is this user or an
    /// admin.
    async fn balances(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<BalanceObject>> {
        let caller = super::caller(ctx).gql()?;
        if !BrainService::may_see_balances(caller, self.id) {
            return Ok(Vec::new());
        }
        let balances = match ctx.data_opt::<DataLoader<BalanceLoader>>() {
            Some(loader) => loader
                .load_one(self.id)
                .await
                .map_err(|e| match Arc::try_unwrap(e) {
                    Ok(err) => err,
                    Err(shared) => BrainError::Internal(anyhow::anyhow!("{shared}")),
                })
                .gql()?
                .unwrap_or_default(),
            None => super::service(ctx)
                .balances_of(caller, self.id)
                .await
                .gql()?,
        };
        Ok(balances.into_iter().map(BalanceObject).collect())
    }
}

/// A Rialto account (owned by the auth subgraph), with what it holds here.
// A merged object: trading adds its fields (`openOrders`) as another part beside
// `UserAccount`.
#[derive(MergedObject)]
#[graphql(name = "User")]
pub struct UserEntity(pub UserAccount);

impl UserEntity {
    /// The entity for a user id.
    pub fn new(id: Uuid) -> Self {
        Self(UserAccount { id })
    }
}

/// Entity resolvers (served under `_entities`, hidden from the public schema).
#[derive(Default)]
pub struct EntityQuery;

#[Object]
impl EntityQuery {
    /// A user by id; null for an id that is not a UUID.
    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<UserEntity> {
        Uuid::parse_str(&id).ok().map(UserEntity::new)
    }
}
