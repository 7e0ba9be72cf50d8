//! Subscriptions (graphql-transport-ws through the gateway): the caller's orders and
//! balances as they change.

use async_graphql::{Context, Subscription};
use futures_util::{Stream, StreamExt};
use matcher::events::{MarketEvent, user_topic};

use super::{GqlResult, trading::OrderObject, types::BalanceObject};
use crate::{BrainError, domain::market::Balance, live::Live, store};

/// The brain subgraph's root subscription.
#[derive(Default)]
pub struct Subscription;

/// What a subscriber that fell behind receives (then the stream goes on): its view may have
/// missed a change, so it refetches the current state.
fn lagged() -> async_graphql::Error {
    use async_graphql::ErrorExtensions;
    BrainError::Conflict("fell behind the live stream: refetch the current state".into()).extend()
}

#[Subscription]
impl Subscription {
    /// Every change to one of the caller's orders, as the matcher leaves it.
    async fn my_orders(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<OrderObject>>> {
        let caller = super::identity(ctx).gql()?.clone();
        crate::service::require_read(&caller).gql()?;
        let svc = super::service(ctx).clone();
        let events = svc.live(&user_topic(caller.user_id)).await.gql()?;
        Ok(events
            .filter_map(move |item| {
                let svc = svc.clone();
                async move {
                    match item {
                        Live::Lagged => Some(Err(lagged())),
                        Live::Event(e) => match e.event {
                            MarketEvent::Order { order, .. } => {
                                let found = store::orders::find(svc.db(), order.id).await;
                                match found {
                                    Ok(Some(o)) => {
                                        Some(super::trading::with_market(&svc, o).await.gql())
                                    }
                                    Ok(None) => None,
                                    Err(e) => Some(Err(e).gql()),
                                }
                            }
                            _ => None,
                        },
                    }
                }
            })
            .boxed())
    }

    /// Every change to one of the caller's balances.
    async fn my_balances(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<BalanceObject>>> {
        let caller = super::identity(ctx).gql()?.clone();
        crate::service::require_read(&caller).gql()?;
        let svc = super::service(ctx).clone();
        let events = svc.live(&user_topic(caller.user_id)).await.gql()?;
        Ok(events
            .filter_map(move |item| {
                let svc = svc.clone();
                async move {
                    match item {
                        Live::Lagged => Some(Err(lagged())),
                        Live::Event(e) => match e.event {
                            MarketEvent::Balance {
                                user,
                                asset,
                                available,
                                held,
                                ..
                            } => {
                                let assets = store::assets::find_by_ids(svc.db(), [asset]).await;
                                match assets {
                                    Ok(map) => map.get(&asset).cloned().map(|asset| {
                                        Ok(BalanceObject(Balance {
                                            user_id: user,
                                            asset,
                                            available,
                                            held,
                                        }))
                                    }),
                                    Err(e) => Some(Err(e).gql()),
                                }
                            }
                            _ => None,
                        },
                    }
                }
            })
            .boxed())
    }
}
