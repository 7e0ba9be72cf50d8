//! `orders`, `commands` and `trades` queries of the trading use cases.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use engine::{Side, TimeInForce};
use entity::{commands, orders, trades};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TryInsertResult,
};
use uuid::Uuid;

use super::corrupt;
use crate::{
    BrainError,
    domain::order::{Order, OrderKind, OrderStatus, ValidOrder},
};

fn side_str(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

fn tif_str(tif: TimeInForce) -> &'static str {
    match tif {
        TimeInForce::Gtc => "gtc",
        TimeInForce::Ioc => "ioc",
        TimeInForce::Fok => "fok",
    }
}

fn to_domain(m: orders::Model) -> Result<Order, BrainError> {
    let bad = |what: &str| corrupt(format!("order {} {what}", m.id));
    Ok(Order {
        id: m.id,
        user_id: m.user_id,
        market_id: m.market_id,
        side: match m.side.as_str() {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            _ => return Err(bad("side")),
        },
        kind: match m.order_type.as_str() {
            "limit" => OrderKind::Limit,
            "market" => OrderKind::Market,
            _ => return Err(bad("type")),
        },
        tif: match m.time_in_force.as_str() {
            "gtc" => TimeInForce::Gtc,
            "ioc" => TimeInForce::Ioc,
            "fok" => TimeInForce::Fok,
            _ => return Err(bad("time in force")),
        },
        status: OrderStatus::parse(&m.status).ok_or_else(|| bad("status"))?,
        client_order_id: m.client_order_id,
        post_only: m.post_only,
        price: m.price_ticks,
        qty: m.qty_lots,
        filled: m.filled_lots,
        filled_value: m.filled_value,
        fees_paid: m.fees_paid,
        held: m.held_remaining,
        reason: m.reason,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Inserts an accepted order whose hold the caller has just taken, unless the user already
/// has one with this client order id (a retry): then nothing is written and `None` comes
/// back. `ON CONFLICT DO NOTHING` rather than catching the violation, so a duplicate never
/// aborts the caller's transaction (which may hold other traders' orders).
///
/// # Errors
/// A database fault, or an amount too large for the table.
pub async fn insert_new(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    market_id: Uuid,
    client_order_id: Option<&str>,
    kind: OrderKind,
    v: &ValidOrder,
    now: DateTime<Utc>,
) -> Result<Option<Order>, BrainError> {
    let as_i64 =
        |x: u64| i64::try_from(x).map_err(|_| BrainError::invalid("order value too large"));
    let row = orders::ActiveModel {
        id: NotSet,
        user_id: Set(user_id),
        market_id: Set(market_id),
        client_order_id: Set(client_order_id.map(str::to_owned)),
        side: Set(side_str(v.side).to_owned()),
        order_type: Set(match kind {
            OrderKind::Limit => "limit",
            OrderKind::Market => "market",
        }
        .to_owned()),
        time_in_force: Set(tif_str(v.tif).to_owned()),
        post_only: Set(v.post_only),
        price_ticks: Set(v.price.map(as_i64).transpose()?),
        qty_lots: Set(as_i64(v.qty)?),
        filled_lots: Set(0),
        quote_budget: Set(v.quote_budget.map(as_i64).transpose()?),
        held_remaining: Set(as_i64(v.hold)?),
        filled_value: Set(0),
        fees_paid: Set(0),
        status: Set(OrderStatus::Accepted.as_str().to_owned()),
        reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let inserted = orders::Entity::insert(row)
        .on_conflict_do_nothing_on([orders::Column::UserId, orders::Column::ClientOrderId])
        .exec_with_returning(db)
        .await;
    match inserted {
        Ok(TryInsertResult::Inserted(m)) => Ok(Some(to_domain(m)?)),
        Ok(TryInsertResult::Conflicted | TryInsertResult::Empty) => Ok(None),
        // SQLite reports the skipped row as one it could not read back.
        Err(DbErr::RecordNotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A command to append to the matcher's input log.
#[derive(Debug, Clone, Copy)]
pub struct NewCommand {
    /// The market whose matcher takes it.
    pub market_id: Uuid,
    /// `place`, `cancel` or `cancel_all`.
    pub kind: &'static str,
    /// The order it names, if any.
    pub order_id: Option<i64>,
    /// Whose command it is.
    pub user_id: Uuid,
}

/// Appends commands in one statement per chunk, in order: their sequence numbers follow
/// the slice, which is the time priority the matcher gives them.
///
/// # Errors
/// A database fault.
pub async fn append_commands(
    db: &impl ConnectionTrait,
    commands: &[NewCommand],
    now: DateTime<Utc>,
) -> Result<(), BrainError> {
    for chunk in commands.chunks(super::CHUNK) {
        let rows = chunk.iter().map(|c| commands::ActiveModel {
            seq: NotSet,
            market_id: Set(c.market_id),
            kind: Set(c.kind.to_owned()),
            order_id: Set(c.order_id),
            user_id: Set(c.user_id),
            created_at: Set(now),
            processed_at: Set(None),
        });
        commands::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Appends a command to the matcher's input log.
///
/// # Errors
/// A database fault.
pub async fn append_command(
    db: &impl ConnectionTrait,
    market_id: Uuid,
    kind: &str,
    order_id: Option<i64>,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<i64, BrainError> {
    let row = commands::ActiveModel {
        seq: NotSet,
        market_id: Set(market_id),
        kind: Set(kind.to_owned()),
        order_id: Set(order_id),
        user_id: Set(user_id),
        created_at: Set(now),
        processed_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(row.seq)
}

/// One order by id.
///
/// # Errors
/// A database fault or a corrupt row.
pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<Order>, BrainError> {
    orders::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(to_domain)
        .transpose()
}

/// A user's order by its client order id.
///
/// # Errors
/// A database fault or a corrupt row.
pub async fn find_by_client_id(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    client_order_id: &str,
) -> Result<Option<Order>, BrainError> {
    orders::Entity::find()
        .filter(orders::Column::UserId.eq(user_id))
        .filter(orders::Column::ClientOrderId.eq(client_order_id))
        .one(db)
        .await?
        .map(to_domain)
        .transpose()
}

/// What to list of a user's orders: newest first, after a cursor (an order id).
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    /// Only this market.
    pub market_id: Option<Uuid>,
    /// Only these statuses (empty: all).
    pub statuses: Vec<OrderStatus>,
    /// Only orders older than this id.
    pub before_id: Option<i64>,
    /// At most this many.
    pub limit: u64,
}

/// A user's orders, newest first.
///
/// # Errors
/// A database fault or a corrupt row.
pub async fn of_user(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    f: &OrderFilter,
) -> Result<Vec<Order>, BrainError> {
    let mut q = orders::Entity::find().filter(orders::Column::UserId.eq(user_id));
    if let Some(m) = f.market_id {
        q = q.filter(orders::Column::MarketId.eq(m));
    }
    if !f.statuses.is_empty() {
        q = q.filter(orders::Column::Status.is_in(f.statuses.iter().map(|s| s.as_str())));
    }
    if let Some(before) = f.before_id {
        q = q.filter(orders::Column::Id.lt(before));
    }
    q.order_by_desc(orders::Column::Id)
        .limit(f.limit)
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// The markets where a user has live orders.
///
/// # Errors
/// A database fault.
pub async fn markets_with_live_orders(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Vec<Uuid>, BrainError> {
    let rows = orders::Entity::find()
        .filter(orders::Column::UserId.eq(user_id))
        .filter(orders::Column::Status.is_in(["accepted", "open", "partially_filled"]))
        .select_only()
        .column(orders::Column::MarketId)
        .distinct()
        .into_tuple::<Uuid>()
        .all(db)
        .await?;
    Ok(rows)
}

/// The price of a market's last trade, in ticks (the anchor of its price band).
///
/// # Errors
/// A database fault.
pub async fn last_price(
    db: &impl ConnectionTrait,
    market_id: Uuid,
) -> Result<Option<u64>, BrainError> {
    let last = trades::Entity::find()
        .filter(trades::Column::MarketId.eq(market_id))
        .order_by_desc(trades::Column::Seq)
        .one(db)
        .await?;
    Ok(last.and_then(|t| u64::try_from(t.price_ticks).ok()))
}

/// The last price of each of these markets that has traded (one query per market: each is
/// a single index probe).
///
/// # Errors
/// A database fault.
pub async fn last_prices(
    db: &impl ConnectionTrait,
    market_ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, u64>, BrainError> {
    let mut out = HashMap::new();
    for id in market_ids {
        if let Some(p) = last_price(db, id).await? {
            out.insert(id, p);
        }
    }
    Ok(out)
}

/// One side of a trade, as the trader who was on it sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    /// The trade.
    pub trade_id: i64,
    /// The trader's order in it.
    pub order_id: i64,
    /// Its market.
    pub market_id: Uuid,
    /// The trader bought or sold.
    pub side: Side,
    /// Price in ticks.
    pub price: i64,
    /// Lots.
    pub qty: i64,
    /// The trader's fee, quote minor units.
    pub fee: i64,
    /// Whether the trader's order was resting (maker) or incoming (taker).
    pub maker: bool,
    /// When.
    pub executed_at: DateTime<Utc>,
}

fn fill_of(t: &trades::Model, user: Uuid) -> Fill {
    let buyer = t.buyer_id == user;
    let taker_buys = t.taker_side == "buy";
    // The buyer is the taker when the taker bought.
    let maker = buyer != taker_buys;
    Fill {
        trade_id: t.id,
        order_id: if maker {
            t.maker_order_id
        } else {
            t.taker_order_id
        },
        market_id: t.market_id,
        side: if buyer { Side::Buy } else { Side::Sell },
        price: t.price_ticks,
        qty: t.qty_lots,
        fee: if maker { t.maker_fee } else { t.taker_fee },
        maker,
        executed_at: t.executed_at,
    }
}

/// A user's fills, newest first, older than trade `before_id`.
///
/// # Errors
/// A database fault.
pub async fn fills_of_user(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    market_id: Option<Uuid>,
    before_id: Option<i64>,
    limit: u64,
) -> Result<Vec<Fill>, BrainError> {
    let mut q = trades::Entity::find().filter(
        sea_orm::Condition::any()
            .add(trades::Column::BuyerId.eq(user_id))
            .add(trades::Column::SellerId.eq(user_id)),
    );
    if let Some(m) = market_id {
        q = q.filter(trades::Column::MarketId.eq(m));
    }
    if let Some(before) = before_id {
        q = q.filter(trades::Column::Id.lt(before));
    }
    let rows = q
        .order_by_desc(trades::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows.iter().map(|t| fill_of(t, user_id)).collect())
}

/// The fills of one order (its owner's view), oldest first.
///
/// # Errors
/// A database fault.
pub async fn fills_of_order(
    db: &impl ConnectionTrait,
    order: &Order,
) -> Result<Vec<Fill>, BrainError> {
    let rows = trades::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(trades::Column::MakerOrderId.eq(order.id))
                .add(trades::Column::TakerOrderId.eq(order.id)),
        )
        .order_by_asc(trades::Column::Id)
        .all(db)
        .await?;
    Ok(rows.iter().map(|t| fill_of(t, order.user_id)).collect())
}
