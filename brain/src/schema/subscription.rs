//! Subscriptions (graphql-transport-ws through the gateway): the caller's orders and
//! balances as they change.

use std::sync::Arc;

use async_graphql::{Context, SimpleObject, Subscription};
use futures_util::{Stream, StreamExt};
use matcher::events::{MarketEvent, WireSide, market_topic, user_topic};

use super::{
    GqlResult,
    market_data::{BookLevel, TickerObject, TradeObject},
    trading::OrderObject,
    types::BalanceObject,
};
use crate::{
    BrainError,
    domain::market::{Balance, Market},
    live::{Live, book::BookView},
    store::{
        self,
        market_data::{Level, MarketTrade},
    },
};

/// One message of the `orderBook` subscription: a snapshot (`snapshot: true`, every visible
/// level) or a delta (only changed levels; quantity "0" removes one).
#[derive(SimpleObject)]
pub struct OrderBookUpdate {
    /// `BASE-QUOTE`.
    pub market: String,
    /// The market's event sequence this state includes.
    pub sequence: String,
    /// Whether this replaces the book (true) or changes it (false).
    pub snapshot: bool,
    /// Bid levels, best first.
    pub bids: Vec<BookLevel>,
    /// Ask levels, best first.
    pub asks: Vec<BookLevel>,
}

impl OrderBookUpdate {
    fn new(
        market: &Market,
        sequence: i64,
        snapshot: bool,
        bids: Vec<Level>,
        asks: Vec<Level>,
    ) -> Self {
        Self {
            market: market.spec.symbol.clone(),
            sequence: sequence.to_string(),
            snapshot,
            bids: BookLevel::list(market, &bids),
            asks: BookLevel::list(market, &asks),
        }
    }
}

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

    /// Every trade of a market, as it happens.
    async fn trades(
        &self,
        ctx: &Context<'_>,
        market: String,
    ) -> async_graphql::Result<impl Stream<Item = TradeObject>> {
        let svc = super::service(ctx).clone();
        let market = Arc::new(svc.market_by_symbol(&market).await.gql()?);
        let events = svc.live(&market_topic(&market.spec.symbol)).await.gql()?;
        Ok(events
            .filter_map(move |item| {
                let market = market.clone();
                async move {
                    let Live::Event(e) = item else { return None };
                    match e.event {
                        MarketEvent::Trade {
                            trade_id,
                            trade_seq,
                            price,
                            qty,
                            taker_side,
                            executed_at,
                            ..
                        } => Some(TradeObject::new(
                            &market,
                            &MarketTrade {
                                id: trade_id,
                                seq: trade_seq,
                                price_ticks: price,
                                qty_lots: qty,
                                taker_side: match taker_side {
                                    WireSide::Buy => matcher::Side::Buy,
                                    WireSide::Sell => matcher::Side::Sell,
                                },
                                executed_at,
                            },
                        )),
                        _ => None,
                    }
                }
            })
            .boxed())
    }

    /// A market's ticker, again after every batch that traded or moved its book.
    async fn ticker(
        &self,
        ctx: &Context<'_>,
        market: String,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<TickerObject>>> {
        let svc = super::service(ctx).clone();
        let market = Arc::new(svc.market_by_symbol(&market).await.gql()?);
        let events = svc.live(&market_topic(&market.spec.symbol)).await.gql()?;
        let first = svc.ticker(&market).await.gql()?;
        let first = TickerObject::new(&market, &first);
        let updates = events.filter_map(move |item| {
            let (svc, market) = (svc.clone(), market.clone());
            async move {
                // One update per batch: its book event (every batch that changes anything
                // moves the book), or any lag.
                let refresh = match item {
                    Live::Lagged => true,
                    Live::Event(e) => matches!(e.event, MarketEvent::Book { .. }),
                };
                if !refresh {
                    return None;
                }
                Some(
                    svc.ticker(&market)
                        .await
                        .map(|t| TickerObject::new(&market, &t))
                        .gql(),
                )
            }
        });
        Ok(futures_util::stream::once(async move { Ok(first) })
            .chain(updates)
            .boxed())
    }

    /// A market's order book: first a snapshot (`snapshot: true`) with its sequence, then
    /// only the levels that changed in the top `depth` (quantity "0" removes a level). A
    /// subscriber that falls behind gets a fresh snapshot instead of a gap.
    async fn order_book(
        &self,
        ctx: &Context<'_>,
        market: String,
        #[graphql(default = 20)] depth: Option<i32>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<OrderBookUpdate>>> {
        let svc = super::service(ctx).clone();
        let market = Arc::new(svc.market_by_symbol(&market).await.gql()?);
        let depth = usize::try_from(depth.unwrap_or(20))
            .ok()
            .filter(|d| (1..=100).contains(d))
            .ok_or_else(|| BrainError::invalid("depth must be between 1 and 100"))
            .gql()?;
        // Subscribe first, then read the snapshot: every event after it is in the stream.
        let mut events = svc
            .live(&market_topic(&market.spec.symbol))
            .await
            .gql()?
            .boxed();
        let stream = async_stream::stream! {
            let mut state: Option<(BookView, i64)> = None;
            loop {
                if state.is_none() {
                    match svc.full_book(&market).await {
                        Ok(snap) => {
                            let view = BookView::new(depth, &snap.bids, &snap.asks);
                            yield Ok(OrderBookUpdate::new(&market, snap.sequence, true, view.top_bids(), view.top_asks()));
                            state = Some((view, snap.sequence));
                        }
                        Err(e) => {
                            yield Err(e).gql();
                            return;
                        }
                    }
                }
                let Some(item) = events.next().await else { return };
                match item {
                    Live::Lagged => state = None,
                    Live::Event(e) => {
                        if let (MarketEvent::Book { seq, levels }, Some((view, last))) = (&e.event, state.as_mut()) {
                            if *seq <= *last {
                                continue;
                            }
                            *last = *seq;
                            let change = view.apply(levels);
                            if !change.is_empty() {
                                yield Ok(OrderBookUpdate::new(&market, *seq, false, change.bids, change.asks));
                            }
                        }
                    }
                }
            }
        };
        Ok(stream.boxed())
    }
}
