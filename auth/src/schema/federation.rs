//! The `User` federation entity. Representations are resolved in one batched query per
//! request through a DataLoader; a missing user is null, never an error that would fail
//! the whole `_entities` batch.

use crate::error::GqlResult;
use std::collections::HashMap;

use async_graphql::{
    Context, ID, Object,
    dataloader::{DataLoader, Loader},
};
use uuid::Uuid;

use super::types::UserObject;
use crate::{AuthError, AuthService, domain::User};

/// Loads users by id in batches.
pub struct UserLoader(pub AuthService);

impl Loader<Uuid> for UserLoader {
    type Value = User;
    type Error = std::sync::Arc<AuthError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, User>, Self::Error> {
        let users = self
            .0
            .users_by_ids(keys)
            .await
            .map_err(std::sync::Arc::new)?;
        Ok(users.into_iter().map(|u| (u.id, u)).collect())
    }
}

/// Entity resolvers (served under `_entities`, hidden from the public schema).
#[derive(Default)]
pub struct EntityQuery;

#[Object]
impl EntityQuery {
    #[graphql(entity)]
    async fn find_user_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<UserObject>> {
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        let loader = match ctx.data_opt::<DataLoader<UserLoader>>() {
            Some(loader) => loader,
            None => {
                return Ok(super::service(ctx)
                    .users_by_ids(&[id])
                    .await
                    .gql()?
                    .pop()
                    .map(UserObject::other));
            }
        };
        match loader.load_one(id).await {
            Ok(user) => Ok(user.map(UserObject::other)),
            Err(e) => Err(match std::sync::Arc::try_unwrap(e) {
                Ok(err) => err,
                Err(shared) => AuthError::Internal(anyhow::anyhow!("{shared}")),
            })
            .gql(),
        }
    }
}
