//! Orders and fills: `placeOrder`, `cancelOrder`, `cancelAllOrders`, `order`, `myOrders`,
//! `myFills`, and the `Order` and `Fill` types of API.md.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use engine::TimeInForce as EngineTif;

use super::{GqlResult, MarketObject, scalars::Decimal};
use crate::{
    BrainError, BrainService,
    domain::{
        market::Market,
        order::{Order, OrderKind, OrderStatus as Status, PlaceRequest},
    },
    store::orders::Fill,
};

/// Buy or sell.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum Side {
    /// Buy the base asset.
    Buy,
    /// Sell the base asset.
    Sell,
}

impl From<Side> for engine::Side {
    fn from(s: Side) -> Self {
        match s {
            Side::Buy => Self::Buy,
            Side::Sell => Self::Sell,
        }
    }
}

impl From<engine::Side> for Side {
    fn from(s: engine::Side) -> Self {
        match s {
            engine::Side::Buy => Self::Buy,
            engine::Side::Sell => Self::Sell,
        }
    }
}

/// Limit or market.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum OrderType {
    /// At a price or better; may rest in the book.
    Limit,
    /// At the best prices available now; never rests.
    Market,
}

/// How long an order lives.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TimeInForce {
    /// Good till cancelled.
    Gtc,
    /// Immediate or cancel: what does not trade at once is cancelled.
    Ioc,
    /// Fill or kill: all at once, or nothing.
    Fok,
}

/// Where an order stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum OrderStatus {
    /// Stored and funded, not yet matched.
    Accepted,
    /// Resting in the book, nothing traded.
    Open,
    /// Some traded.
    PartiallyFilled,
    /// All traded.
    Filled,
    /// Cancelled (by its owner, self-trade prevention, or expiry; see `reason`).
    Cancelled,
    /// Refused by the matcher (see `reason`).
    Rejected,
}

impl From<Status> for OrderStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Accepted => Self::Accepted,
            Status::Open => Self::Open,
            Status::PartiallyFilled => Self::PartiallyFilled,
            Status::Filled => Self::Filled,
            Status::Cancelled => Self::Cancelled,
            Status::Rejected => Self::Rejected,
        }
    }
}

impl From<OrderStatus> for Status {
    fn from(s: OrderStatus) -> Self {
        match s {
            OrderStatus::Accepted => Self::Accepted,
            OrderStatus::Open => Self::Open,
            OrderStatus::PartiallyFilled => Self::PartiallyFilled,
            OrderStatus::Filled => Self::Filled,
            OrderStatus::Cancelled => Self::Cancelled,
            OrderStatus::Rejected => Self::Rejected,
        }
    }
}

/// Whether a fill's order was resting (maker) or incoming (taker).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum Liquidity {
    /// Rested in the book; pays the maker fee.
    Maker,
    /// Took liquidity; pays the taker fee.
    Taker,
}

/// An order to place.
#[derive(InputObject, Debug)]
pub struct PlaceOrderInput {
    /// `BASE-QUOTE`.
    pub market: String,
    /// Buy or sell.
    pub side: Side,
    /// Limit or market.
    #[graphql(name = "type")]
    pub order_type: OrderType,
    /// Limit price (limit orders only), a multiple of the tick size.
    pub price: Option<Decimal>,
    /// Quantity in the base asset, a multiple of the lot size, at least the minimum.
    pub quantity: Decimal,
    /// Lifetime.
    #[graphql(default_with = "TimeInForce::Gtc")]
    pub time_in_force: TimeInForce,
    /// Refuse to trade on arrival (GTC limit orders only).
    #[graphql(default = false)]
    pub post_only: bool,
    /// Your own id (1–64 printable characters): a retry with the same id returns the same
    /// order instead of placing another.
    pub client_order_id: Option<String>,
}

/// An order, with its market's sizes to format it.
pub struct OrderObject {
    order: Order,
    market: Arc<Market>,
}

#[Object(name = "Order")]
impl OrderObject {
    /// Its id.
    async fn id(&self) -> ID {
        ID(self.order.id.to_string())
    }

    /// The id the trader gave it.
    async fn client_order_id(&self) -> Option<&str> {
        self.order.client_order_id.as_deref()
    }

    /// Its market.
    async fn market(&self) -> MarketObject {
        MarketObject::from((*self.market).clone())
    }

    /// Buy or sell.
    async fn side(&self) -> Side {
        self.order.side.into()
    }

    /// Limit or market.
    #[graphql(name = "type")]
    async fn order_type(&self) -> OrderType {
        match self.order.kind {
            OrderKind::Limit => OrderType::Limit,
            OrderKind::Market => OrderType::Market,
        }
    }

    /// Lifetime.
    async fn time_in_force(&self) -> TimeInForce {
        match self.order.tif {
            EngineTif::Gtc => TimeInForce::Gtc,
            EngineTif::Ioc => TimeInForce::Ioc,
            EngineTif::Fok => TimeInForce::Fok,
        }
    }

    /// Refuses to take liquidity.
    async fn post_only(&self) -> bool {
        self.order.post_only
    }

    /// Limit price; null for a market order.
    async fn price(&self) -> Option<Decimal> {
        self.order.price.map(|p| self.price_text(p))
    }

    /// Quantity ordered.
    async fn quantity(&self) -> Decimal {
        self.qty_text(self.order.qty)
    }

    /// Quantity traded so far.
    async fn filled_quantity(&self) -> Decimal {
        self.qty_text(self.order.filled)
    }

    /// Value-weighted average price of its trades, rounded down to the quote asset's
    /// precision; null before the first trade.
    async fn average_price(&self) -> Option<Decimal> {
        let base_units = i128::from(self.order.filled) * i128::from(self.market.spec.lot_size);
        if base_units == 0 {
            return None;
        }
        // filled_value is quote minor units; price = value / (base minor / 10^base_decimals).
        let scale = 10i128.checked_pow(u32::from(self.market.base.decimals))?;
        let minor = i128::from(self.order.filled_value) * scale / base_units;
        Some(Decimal(common::money::format_amount(
            i64::try_from(minor).ok()?,
            self.market.quote.decimals,
        )))
    }

    /// Where it stands.
    async fn status(&self) -> OrderStatus {
        self.order.status.into()
    }

    /// Why it was cancelled or rejected (`CANCELLED_BY_OWNER`, `SELF_TRADE_PREVENTED`,
    /// `IOC_REMAINDER_EXPIRED`, `POST_ONLY_WOULD_CROSS`, `FOK_NOT_FILLABLE`, ...).
    async fn reason(&self) -> Option<&str> {
        self.order.reason.as_deref()
    }

    /// When it was placed.
    async fn created_at(&self) -> DateTime<Utc> {
        self.order.created_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.order.updated_at
    }

    /// Its trades, oldest first.
    async fn fills(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<FillObject>> {
        let fills = crate::store::orders::fills_of_order(service(ctx).db(), &self.order)
            .await
            .gql()?;
        Ok(fills
            .into_iter()
            .map(|fill| FillObject {
                fill,
                market: self.market.clone(),
            })
            .collect())
    }
}

impl OrderObject {
    /// An order with the market that formats it.
    pub(super) fn new(order: Order, market: Arc<Market>) -> Self {
        Self { order, market }
    }

    fn price_text(&self, ticks: i64) -> Decimal {
        Decimal(
            self.market
                .spec
                .format_price(u64::try_from(ticks).unwrap_or_default()),
        )
    }

    fn qty_text(&self, lots: i64) -> Decimal {
        Decimal(
            self.market
                .spec
                .format_qty(u64::try_from(lots).unwrap_or_default()),
        )
    }
}

/// One of the caller's trades.
pub struct FillObject {
    fill: Fill,
    market: Arc<Market>,
}

#[Object(name = "Fill")]
impl FillObject {
    /// The trade.
    async fn trade_id(&self) -> ID {
        ID(self.fill.trade_id.to_string())
    }

    /// The caller's order in it.
    async fn order_id(&self) -> ID {
        ID(self.fill.order_id.to_string())
    }

    /// `BASE-QUOTE`.
    async fn market(&self) -> &str {
        &self.market.spec.symbol
    }

    /// Bought or sold.
    async fn side(&self) -> Side {
        self.fill.side.into()
    }

    /// Trade price.
    async fn price(&self) -> Decimal {
        Decimal(
            self.market
                .spec
                .format_price(u64::try_from(self.fill.price).unwrap_or_default()),
        )
    }

    /// Trade quantity.
    async fn quantity(&self) -> Decimal {
        Decimal(
            self.market
                .spec
                .format_qty(u64::try_from(self.fill.qty).unwrap_or_default()),
        )
    }

    /// The caller's fee.
    async fn fee(&self) -> Decimal {
        Decimal(common::money::format_amount(
            self.fill.fee,
            self.market.quote.decimals,
        ))
    }

    /// The asset the fee is in (always the quote asset).
    async fn fee_asset(&self) -> &str {
        &self.market.quote.symbol
    }

    /// Maker or taker.
    async fn liquidity(&self) -> Liquidity {
        if self.fill.maker {
            Liquidity::Maker
        } else {
            Liquidity::Taker
        }
    }

    /// When.
    async fn executed_at(&self) -> DateTime<Utc> {
        self.fill.executed_at
    }
}

/// Relay paging info.
#[derive(SimpleObject)]
pub struct PageInfo {
    /// Whether there are more after `endCursor`.
    pub has_next_page: bool,
    /// The cursor of the last edge.
    pub end_cursor: Option<String>,
}

/// An order and its cursor.
#[derive(SimpleObject)]
#[graphql(name = "OrderEdge")]
pub struct OrderEdge {
    /// The order.
    pub node: OrderObject,
    /// Pass as `after` to continue after it.
    pub cursor: String,
}

/// A page of the caller's orders, newest first.
#[derive(SimpleObject)]
#[graphql(name = "OrderConnection")]
pub struct OrderConnection {
    /// The orders.
    pub edges: Vec<OrderEdge>,
    /// Paging.
    pub page_info: PageInfo,
}

/// A fill and its cursor.
#[derive(SimpleObject)]
#[graphql(name = "FillEdge")]
pub struct FillEdge {
    /// The fill.
    pub node: FillObject,
    /// Pass as `after` to continue after it.
    pub cursor: String,
}

/// A page of the caller's fills, newest first.
#[derive(SimpleObject)]
#[graphql(name = "FillConnection")]
pub struct FillConnection {
    /// The fills.
    pub edges: Vec<FillEdge>,
    /// Paging.
    pub page_info: PageInfo,
}

/// The largest page.
pub const MAX_PAGE: i32 = 100;

fn service<'a>(ctx: &Context<'a>) -> &'a BrainService {
    ctx.data_unchecked::<BrainService>()
}

/// `first` within 1..=100 (default 50); `after` an id cursor.
fn paging(first: Option<i32>, after: Option<&str>) -> Result<(u64, Option<i64>), BrainError> {
    let first = first.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&first) {
        return Err(BrainError::invalid(format!(
            "first must be between 1 and {MAX_PAGE}"
        )));
    }
    let after = after
        .map(|a| {
            a.parse::<i64>()
                .map_err(|_| BrainError::invalid("after is not a cursor of this list"))
        })
        .transpose()?;
    Ok((u64::try_from(first).unwrap_or(50), after))
}

/// Every market by id, for formatting a page of orders or fills with one query.
async fn markets(svc: &BrainService) -> Result<HashMap<uuid::Uuid, Arc<Market>>, BrainError> {
    Ok(svc
        .markets()
        .await?
        .into_iter()
        .map(|m| (m.id, Arc::new(m)))
        .collect())
}

pub(super) async fn with_market(
    svc: &BrainService,
    order: Order,
) -> Result<OrderObject, BrainError> {
    let market = Arc::new(svc.market_by_id(order.market_id).await?);
    Ok(OrderObject { order, market })
}

fn order_id(id: &ID) -> Result<i64, BrainError> {
    // Ids are numbers; anything else names no order (NOT_FOUND, like another's order).
    id.parse::<i64>().map_err(|_| BrainError::NotFound("order"))
}

/// The caller's orders and fills.
#[derive(Default)]
pub struct TradingQuery;

#[Object]
impl TradingQuery {
    /// One of the caller's orders; null for an unknown id or another user's order.
    async fn order(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<OrderObject>> {
        let caller = super::identity(ctx).gql()?;
        let svc = service(ctx);
        let Ok(id) = order_id(&id) else {
            return Ok(None);
        };
        match svc.own_order(caller, id).await {
            Ok(order) => Ok(Some(with_market(svc, order).await.gql()?)),
            Err(BrainError::NotFound(_)) => Ok(None),
            Err(e) => Err(e).gql(),
        }
    }

    /// The caller's orders, newest first.
    async fn my_orders(
        &self,
        ctx: &Context<'_>,
        market: Option<String>,
        status: Option<Vec<OrderStatus>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<OrderConnection> {
        let caller = super::identity(ctx).gql()?;
        let svc = service(ctx);
        let (limit, before) = paging(first, after.as_deref()).gql()?;
        let statuses = status
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect();
        let mut orders = svc
            .my_orders(caller, market.as_deref(), statuses, before, limit + 1)
            .await
            .gql()?;
        let has_next_page = orders.len() as u64 > limit;
        orders.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let all = markets(svc).await.gql()?;
        let edges: Vec<OrderEdge> = orders
            .into_iter()
            .filter_map(|order| {
                let market = all.get(&order.market_id)?.clone();
                Some(OrderEdge {
                    cursor: order.id.to_string(),
                    node: OrderObject { order, market },
                })
            })
            .collect();
        Ok(OrderConnection {
            page_info: PageInfo {
                has_next_page,
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            edges,
        })
    }

    /// The caller's fills, newest first.
    async fn my_fills(
        &self,
        ctx: &Context<'_>,
        market: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<FillConnection> {
        let caller = super::identity(ctx).gql()?;
        let svc = service(ctx);
        let (limit, before) = paging(first, after.as_deref()).gql()?;
        let market_id = match market.as_deref() {
            Some(s) => Some(svc.market_by_symbol(s).await.gql()?.id),
            None => None,
        };
        let mut fills = crate::store::orders::fills_of_user(
            svc.db(),
            caller.user_id,
            market_id,
            before,
            limit + 1,
        )
        .await
        .gql()?;
        let has_next_page = fills.len() as u64 > limit;
        fills.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let all = markets(svc).await.gql()?;
        let edges: Vec<FillEdge> = fills
            .into_iter()
            .filter_map(|fill| {
                let market = all.get(&fill.market_id)?.clone();
                Some(FillEdge {
                    cursor: fill.trade_id.to_string(),
                    node: FillObject { fill, market },
                })
            })
            .collect();
        Ok(FillConnection {
            page_info: PageInfo {
                has_next_page,
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            edges,
        })
    }
}

/// Placing and cancelling orders.
#[derive(Default)]
pub struct TradingMutation;

#[Object]
impl TradingMutation {
    /// Places an order. Returns it as the matcher left it (or `ACCEPTED` if the matcher did
    /// not answer within two seconds).
    async fn place_order(
        &self,
        ctx: &Context<'_>,
        input: PlaceOrderInput,
    ) -> async_graphql::Result<OrderObject> {
        let caller = super::identity(ctx).gql()?;
        let svc = service(ctx);
        let req = PlaceRequest {
            side: input.side.into(),
            kind: match input.order_type {
                OrderType::Limit => OrderKind::Limit,
                OrderType::Market => OrderKind::Market,
            },
            price: input.price.as_ref().map(Decimal::as_str),
            quantity: input.quantity.as_str(),
            tif: match input.time_in_force {
                TimeInForce::Gtc => EngineTif::Gtc,
                TimeInForce::Ioc => EngineTif::Ioc,
                TimeInForce::Fok => EngineTif::Fok,
            },
            post_only: input.post_only,
            client_order_id: input.client_order_id.as_deref(),
        };
        let (order, market) = svc.place_order(caller, &input.market, &req).await.gql()?;
        Ok(OrderObject {
            order,
            market: Arc::new(market),
        })
    }

    /// Cancels one of the caller's orders.
    async fn cancel_order(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<OrderObject> {
        let caller = super::identity(ctx).gql()?;
        let svc = service(ctx);
        let order = svc.cancel_order(caller, order_id(&id).gql()?).await.gql()?;
        with_market(svc, order).await.gql()
    }

    /// Cancels all of the caller's live orders (in one market, or everywhere).
    async fn cancel_all_orders(
        &self,
        ctx: &Context<'_>,
        market: Option<String>,
    ) -> async_graphql::Result<Vec<OrderObject>> {
        let caller = super::identity(ctx).gql()?;
        let svc = service(ctx);
        let orders = svc
            .cancel_all_orders(caller, market.as_deref())
            .await
            .gql()?;
        let all = markets(svc).await.gql()?;
        Ok(orders
            .into_iter()
            .filter_map(|order| {
                let market = all.get(&order.market_id)?.clone();
                Some(OrderObject { order, market })
            })
            .collect())
    }
}
