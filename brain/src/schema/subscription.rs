//! Subscriptions (graphql-transport-ws through the gateway): the caller's orders and
//! balances as they change.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, SimpleObject, Subscription};
use common::events::{MarketEvent, WireSide, market_topic, user_topic};
use futures_util::{Stream, StreamExt, stream::BoxStream};

use super::{
    GqlResult,
    market_data::{BookLevel, TickerObject, TradeObject},
    trading::OrderObject,
    types::BalanceObject,
};
use uuid::Uuid;

use crate::{
    BrainError, BrainService,
    domain::market::{Asset, Balance, Market},
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

/// The caller's private events (orders and balances), for a caller who may read them.
async fn account_events(
    ctx: &Context<'_>,
) -> async_graphql::Result<(BrainService, BoxStream<'static, Live>)> {
    let caller = super::identity(ctx).gql()?;
    crate::service::require_read(caller).gql()?;
    let svc = super::service(ctx).clone();
    let events = svc.live(&user_topic(caller.user_id)).await.gql()?.boxed();
    Ok((svc, events))
}

/// Order `id` as the API shows it, with its market from (or added to) `markets`.
async fn order_object(
    svc: &BrainService,
    markets: &mut HashMap<Uuid, Arc<Market>>,
    id: i64,
) -> Result<Option<OrderObject>, BrainError> {
    let Some(order) = store::orders::find(svc.db(), id).await? else {
        return Ok(None);
    };
    let market = match markets.get(&order.market_id) {
        Some(m) => m.clone(),
        None => {
            let m = Arc::new(svc.market_by_id(order.market_id).await?);
            markets.insert(order.market_id, m.clone());
            m
        }
    };
    Ok(Some(OrderObject::new(order, market)))
}

#[Subscription]
impl Subscription {
    /// Every change to one of the caller's orders, as the matcher leaves it.
    async fn my_orders(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<OrderObject>>> {
        let (svc, mut events) = account_events(ctx).await?;
        Ok(async_stream::stream! {
            // The markets this stream's orders are in, looked up once each.
            let mut markets: HashMap<Uuid, Arc<Market>> = HashMap::new();
            while let Some(item) = events.next().await {
                let id = match item {
                    Live::Lagged => {
                        yield Err(lagged());
                        continue;
                    }
                    Live::Event(e) => match e.event {
                        MarketEvent::Order { order, .. } => order.id,
                        _ => continue,
                    },
                };
                match order_object(&svc, &mut markets, id).await {
                    Ok(Some(o)) => yield Ok(o),
                    Ok(None) => {}
                    Err(e) => yield Err(e).gql(),
                }
            }
        }
        .boxed())
    }

    /// Every change to one of the caller's balances.
    async fn my_balances(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<BalanceObject>>> {
        let (svc, mut events) = account_events(ctx).await?;
        Ok(async_stream::stream! {
            // The event carries the balance; only its asset is looked up, once each.
            let mut assets: HashMap<Uuid, Asset> = HashMap::new();
            while let Some(item) = events.next().await {
                let (user, asset_id, available, held) = match item {
                    Live::Lagged => {
                        yield Err(lagged());
                        continue;
                    }
                    Live::Event(e) => match e.event {
                        MarketEvent::Balance { user, asset, available, held, .. } => {
                            (user, asset, available, held)
                        }
                        _ => continue,
                    },
                };
                if !assets.contains_key(&asset_id) {
                    match store::assets::find_by_ids(svc.db(), [asset_id]).await {
                        Ok(found) => assets.extend(found),
                        Err(e) => {
                            yield Err(e).gql();
                            continue;
                        }
                    }
                }
                if let Some(asset) = assets.get(&asset_id) {
                    yield Ok(BalanceObject(Balance { user_id: user, asset: asset.clone(), available, held }));
                }
            }
        }
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
                                    WireSide::Buy => engine::Side::Buy,
                                    WireSide::Sell => engine::Side::Sell,
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
