//! Writes one batch's [`Effects`] in the caller's transaction: trades, order states, balance
//! movements, ledger entries, candles, processed marks and the outbox rows. The caller
//! commits once for the whole batch (group commit), so a crash leaves either all of a batch
//! or none of it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, DurationRound, Utc};
use entity::{balances, candles, commands, ledger_entries, market_events, orders, trades};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QueryResult, QuerySelect, Value,
    sea_query::{Alias, CaseStatement, Expr, ExprTrait, OnConflict, Query},
};
use uuid::Uuid;

use common::{
    candles::INTERVALS,
    events::{Level, MarketEvent, OrderUpdate},
};
use engine::{
    Side,
    market::{Account, Asset, Effects, OrderState, PostingKind, Status},
};

use crate::runner::MatcherError;

/// Most rows of one multi-row statement: well under SQLite's bound-parameter limit.
const CHUNK: usize = 256;

/// The identifiers the database knows a market and its assets by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketIds {
    /// The market.
    pub id: Uuid,
    /// Its symbol (for topics).
    pub symbol: String,
    /// The base asset.
    pub base: Uuid,
    /// The quote asset.
    pub quote: Uuid,
}

impl MarketIds {
    fn asset(&self, asset: Asset) -> Uuid {
        match asset {
            Asset::Base => self.base,
            Asset::Quote => self.quote,
        }
    }
}

/// The stored spelling of a status.
pub fn status_str(status: Status) -> &'static str {
    match status {
        Status::Accepted => "accepted",
        Status::Open => "open",
        Status::PartiallyFilled => "partially_filled",
        Status::Filled => "filled",
        Status::Cancelled => "cancelled",
        Status::Rejected => "rejected",
    }
}

fn side_str(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Writes a batch; returns the outbox rows it inserted, in sequence order, for publishing
/// after commit. `next_seq` is the market's next event sequence and is advanced.
///
/// Nothing that does not fit is written (decision 0005, "Bounds"): effects the engine could
/// not compute exactly are refused first, and every balance's new available, held and total
/// is computed from the locked current row before any is moved. SQLite would turn an
/// overflowing `+` into a float and PostgreSQL would raise an error; here it is a typed
/// refusal either way.
///
/// # Errors
/// [`MatcherError::Overflow`] and [`MatcherError::BalanceLimit`] for amounts that do not fit,
/// [`MatcherError::Fenced`] when another matcher processed the commands, any database error
/// (a violated `CHECK >= 0` included). The caller rolls back; see
/// [`MatcherError::is_transient`] for what it does next.
pub async fn write_batch<C: ConnectionTrait>(
    db: &C,
    market: &MarketIds,
    fx: &Effects,
    processed: &[i64],
    next_seq: &mut i64,
    now: DateTime<Utc>,
) -> Result<Vec<market_events::Model>, MatcherError> {
    if !fx.overflowed.is_empty() {
        return Err(MatcherError::Overflow(fx.overflowed.clone()));
    }
    // The fence: mark the batch's commands processed first, and only those still
    // unprocessed. A second matcher that processed them meanwhile (it took the market's lock
    // when ours was lost) has either committed, and we match fewer rows, or holds their row
    // locks, and we wait for it and then match fewer rows. Either way this batch rolls back.
    let marked = if processed.is_empty() {
        0
    } else {
        commands::Entity::update_many()
            .col_expr(commands::Column::ProcessedAt, Expr::value(now))
            .filter(commands::Column::Seq.is_in(processed.iter().copied()))
            .filter(commands::Column::ProcessedAt.is_null())
            .exec(db)
            .await?
            .rows_affected
    };
    if marked != processed.len() as u64 {
        return Err(MatcherError::Fenced(format!(
            "market {}: {} of {} commands were already processed by another matcher",
            market.symbol,
            processed.len() as u64 - marked,
            processed.len()
        )));
    }

    let mut outbox: Vec<MarketEvent> = Vec::new();
    let mut seq = || {
        let s = *next_seq;
        *next_seq += 1;
        s
    };

    // Trades first: ledger entries and events refer to their ids.
    let mut trade_ids: BTreeMap<u64, i64> = BTreeMap::new();
    for chunk in fx.trades.chunks(CHUNK) {
        let rows = chunk.iter().map(|t| trades::ActiveModel {
            id: NotSet,
            market_id: Set(market.id),
            seq: Set(signed(t.seq)),
            price_ticks: Set(signed(t.trade.price)),
            qty_lots: Set(signed(t.trade.qty)),
            value: Set(signed(t.trade.value)),
            maker_order_id: Set(signed(t.trade.maker_order)),
            taker_order_id: Set(signed(t.trade.taker_order)),
            buyer_id: Set(Uuid::from_u128(t.buyer)),
            seller_id: Set(Uuid::from_u128(t.seller)),
            taker_side: Set(side_str(t.trade.taker_side).to_owned()),
            maker_fee: Set(signed(t.trade.maker_fee)),
            taker_fee: Set(signed(t.trade.taker_fee)),
            executed_at: Set(now),
        });
        for row in trades::Entity::insert_many(rows)
            .exec_with_returning(db)
            .await?
        {
            trade_ids.insert(u64::try_from(row.seq).unwrap_or_default(), row.id);
        }
    }
    for t in &fx.trades {
        outbox.push(MarketEvent::Trade {
            seq: seq(),
            trade_id: trade_ids.get(&t.seq).copied().unwrap_or_default(),
            trade_seq: signed(t.seq),
            price: t.trade.price,
            qty: t.trade.qty,
            taker_side: t.trade.taker_side.into(),
            executed_at: now,
        });
    }
    if !fx.deltas.is_empty() {
        outbox.push(MarketEvent::Book {
            seq: seq(),
            levels: fx
                .deltas
                .iter()
                .map(|d| Level {
                    side: d.side.into(),
                    price: d.price,
                    qty: d.qty,
                    orders: d.orders,
                })
                .collect(),
        });
    }

    // The ledger, one transaction id per engine transaction.
    let entries: Vec<ledger_entries::ActiveModel> = fx
        .ledger
        .iter()
        .flat_map(|tx| {
            let tx_id = Uuid::now_v7();
            tx.iter().map(move |p| (tx_id, *p))
        })
        .map(|(tx_id, p)| {
            let (account, user) = match p.account {
                Account::Available(o) => ("user:available", Some(Uuid::from_u128(o))),
                Account::Held(o) => ("user:held", Some(Uuid::from_u128(o))),
                Account::Fees => ("system:fees", None),
            };
            ledger_entries::ActiveModel {
                id: NotSet,
                tx_id: Set(tx_id),
                account: Set(account.to_owned()),
                user_id: Set(user),
                asset_id: Set(market.asset(p.asset)),
                amount: Set(p.amount),
                kind: Set(match p.kind {
                    PostingKind::Trade => "trade",
                    PostingKind::Fee => "fee",
                    PostingKind::Release => "release",
                }
                .to_owned()),
                order_id: Set(Some(signed(p.order))),
                trade_id: Set(p.trade_seq.and_then(|s| trade_ids.get(&s).copied())),
                created_at: Set(now),
            }
        })
        .collect();
    for chunk in entries.chunks(CHUNK) {
        ledger_entries::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }

    // Balances: both deltas of each (user, asset), a chunk of keys per statement.
    let mut moves: BTreeMap<(Uuid, Uuid), (i128, i128)> = BTreeMap::new();
    for ((account, asset), delta) in fx.balance_changes() {
        let (owner, is_held) = match account {
            Account::Available(o) => (o, false),
            Account::Held(o) => (o, true),
            Account::Fees => continue,
        };
        let e = moves
            .entry((Uuid::from_u128(owner), market.asset(asset)))
            .or_default();
        if is_held {
            e.1 += delta;
        } else {
            e.0 += delta;
        }
    }
    for b in move_balances(db, &moves, now).await? {
        outbox.push(MarketEvent::Balance {
            seq: seq(),
            user: b.user_id,
            asset: b.asset_id,
            available: b.available,
            held: b.held,
        });
    }

    // Orders.
    let changed: Vec<&OrderState> = fx.orders.values().collect();
    for chunk in changed.chunks(CHUNK) {
        update_orders(db, &market.symbol, chunk, now).await?;
    }
    for o in changed {
        outbox.push(MarketEvent::Order {
            seq: seq(),
            user: Uuid::from_u128(o.owner),
            order: OrderUpdate {
                id: signed(o.id),
                status: status_str(o.status).to_owned(),
                filled_lots: signed(o.filled),
                filled_value: signed(o.filled_value),
                fees_paid: signed(o.fees_paid),
                reason: o.reason.map(str::to_owned),
            },
        });
    }

    write_candles(db, market.id, fx, now).await?;

    let mut rows = Vec::with_capacity(outbox.len());
    for event in &outbox {
        rows.push(market_events::ActiveModel {
            id: NotSet,
            market_id: Set(market.id),
            seq: Set(event.seq()),
            kind: Set(event.kind().to_owned()),
            user_id: Set(event.user()),
            payload: Set(serde_json::to_string(event)
                .map_err(|e| MatcherError::Corrupt(format!("event payload: {e}")))?),
            created_at: Set(now),
            published_at: Set(None),
        });
    }
    let mut inserted = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(CHUNK) {
        inserted.extend(
            market_events::Entity::insert_many(chunk.to_vec())
                .exec_with_returning(db)
                .await?,
        );
    }
    inserted.sort_by_key(|e| e.seq);
    Ok(inserted)
}

/// Adds signed deltas to a user's balance, creating the row if it is the first of this asset.
/// The `CHECK >= 0` constraints refuse a move that would go negative.
///
/// A move with a negative part is a plain UPDATE (the database checks an INSERT's row
/// before it resolves a conflict, so an upsert of a negative delta would always fail); a
/// balance that does not exist then has nothing to take from.
///
/// # Errors
/// A database error, including a violated check; [`DbErr::RecordNotUpdated`] when a negative
/// move names a balance that does not exist.
pub async fn add_to_balance<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    asset: Uuid,
    available: i64,
    held: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if available < 0 || held < 0 {
        let updated = balances::Entity::update_many()
            .col_expr(
                balances::Column::Available,
                Expr::col(balances::Column::Available).add(available),
            )
            .col_expr(
                balances::Column::Held,
                Expr::col(balances::Column::Held).add(held),
            )
            .col_expr(balances::Column::UpdatedAt, Expr::value(now))
            .filter(balances::Column::UserId.eq(user))
            .filter(balances::Column::AssetId.eq(asset))
            .exec(db)
            .await?;
        if updated.rows_affected == 0 {
            return Err(DbErr::RecordNotUpdated);
        }
        return Ok(());
    }
    let row = balances::ActiveModel {
        user_id: Set(user),
        asset_id: Set(asset),
        available: Set(available),
        held: Set(held),
        updated_at: Set(now),
    };
    balances::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([balances::Column::UserId, balances::Column::AssetId])
                .value(
                    balances::Column::Available,
                    Expr::col((balances::Entity, balances::Column::Available)).add(available),
                )
                .value(
                    balances::Column::Held,
                    Expr::col((balances::Entity, balances::Column::Held)).add(held),
                )
                .value(balances::Column::UpdatedAt, Expr::value(now))
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Locks the existing balance rows of `keys` in key order (PostgreSQL: `SELECT … ORDER BY
/// user_id, asset_id FOR UPDATE`; SQLite has one writer and needs nothing). Every writer
/// that moves several balances in one transaction — this matcher's batch, brain's place
/// batch — calls it first, so two of them always wait for each other in the same order and
/// never deadlock (a deadlock costs a second before PostgreSQL breaks it).
///
/// # Errors
/// A database error.
pub async fn lock_balances<C: ConnectionTrait>(
    db: &C,
    keys: &BTreeSet<(Uuid, Uuid)>,
) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    read_balances(db, keys).await.map(drop)
}

/// The current (available, held) of the existing balances among `keys`, their rows locked in
/// key order on PostgreSQL as [`lock_balances`] does (one statement per chunk either way).
async fn read_balances<C: ConnectionTrait>(
    db: &C,
    keys: &BTreeSet<(Uuid, Uuid)>,
) -> Result<BTreeMap<(Uuid, Uuid), (i64, i64)>, DbErr> {
    let mut found = BTreeMap::new();
    let keys: Vec<(Uuid, Uuid)> = keys.iter().copied().collect();
    // Chunks in key order keep the whole sequence of locks in key order.
    for chunk in keys.chunks(CHUNK) {
        let pairs = chunk.iter().fold(Condition::any(), |any, &(user, asset)| {
            any.add(
                Condition::all()
                    .add(balances::Column::UserId.eq(user))
                    .add(balances::Column::AssetId.eq(asset)),
            )
        });
        let rows = balances::Entity::find()
            .select_only()
            .columns([
                balances::Column::UserId,
                balances::Column::AssetId,
                balances::Column::Available,
                balances::Column::Held,
            ])
            .filter(pairs)
            .order_by_asc(balances::Column::UserId)
            .order_by_asc(balances::Column::AssetId)
            .lock_exclusive()
            .into_tuple::<(Uuid, Uuid, i64, i64)>()
            .all(db)
            .await?;
        found.extend(rows.into_iter().map(|(u, a, av, h)| ((u, a), (av, h))));
    }
    Ok(found)
}

/// Whether a balance still fits after a move: its available, its held and their total at
/// most `i64::MAX` (exact, in `i128`). Going below zero is the database's to refuse (its
/// `CHECK >= 0`): that is a fault, not a limit.
fn fits(current: (i64, i64), delta: (i128, i128)) -> bool {
    let available = i128::from(current.0) + delta.0;
    let held = i128::from(current.1) + delta.1;
    let max = i128::from(i64::MAX);
    available <= max && held <= max && available + held <= max
}

/// Moves every balance of a batch by its (available, held) deltas and returns the new rows in
/// key order, for the balance events. The same statements as [`add_to_balance`], a chunk of
/// keys each rather than one key each (a round trip per key was most of a batch's time):
/// keys that only gain are upserted, keys with a negative part are updated, and both return
/// the rows they wrote, so no read follows.
///
/// First the current rows are read (and locked on PostgreSQL) and every new value checked
/// ([`fits`]), so nothing beyond an amount reaches the database.
///
/// # Errors
/// [`MatcherError::BalanceLimit`] for a balance that would no longer fit (the first in key
/// order); a database error, including a violated `CHECK >= 0`; [`DbErr::RecordNotUpdated`]
/// when a negative move names a balance that does not exist.
async fn move_balances<C: ConnectionTrait>(
    db: &C,
    moves: &BTreeMap<(Uuid, Uuid), (i128, i128)>,
    now: DateTime<Utc>,
) -> Result<Vec<balances::Model>, MatcherError> {
    type Move = ((Uuid, Uuid), (i64, i64));
    let current = read_balances(db, &moves.keys().copied().collect()).await?;
    let mut checked: Vec<Move> = Vec::with_capacity(moves.len());
    for (&(user, asset), &delta) in moves {
        let before = current.get(&(user, asset)).copied();
        let deltas = (i64::try_from(delta.0), i64::try_from(delta.1));
        let (Ok(available), Ok(held)) = deltas else {
            return Err(MatcherError::BalanceLimit { user, asset });
        };
        if !fits(before.unwrap_or((0, 0)), delta) {
            return Err(MatcherError::BalanceLimit { user, asset });
        }
        checked.push(((user, asset), (available, held)));
    }
    let (gains, losses): (Vec<Move>, Vec<Move>) = checked
        .into_iter()
        .partition(|(_, (available, held))| *available >= 0 && *held >= 0);
    let mut rows = Vec::with_capacity(moves.len());

    // The insert's own row must pass the checks before its conflict is resolved, which the
    // non-negative deltas of these keys do.
    let excluded = Alias::new("excluded");
    for chunk in gains.chunks(CHUNK) {
        let mut insert = Query::insert();
        insert.into_table(balances::Entity).columns([
            balances::Column::UserId,
            balances::Column::AssetId,
            balances::Column::Available,
            balances::Column::Held,
            balances::Column::UpdatedAt,
        ]);
        for &((user, asset), (available, held)) in chunk {
            insert
                .values([
                    user.into(),
                    asset.into(),
                    available.into(),
                    held.into(),
                    now.into(),
                ])
                .map_err(|e| DbErr::Custom(format!("balance upsert: {e}")))?;
        }
        insert
            .on_conflict(
                OnConflict::columns([balances::Column::UserId, balances::Column::AssetId])
                    .value(
                        balances::Column::Available,
                        Expr::col((balances::Entity, balances::Column::Available))
                            .add(Expr::col((excluded.clone(), balances::Column::Available))),
                    )
                    .value(
                        balances::Column::Held,
                        Expr::col((balances::Entity, balances::Column::Held))
                            .add(Expr::col((excluded.clone(), balances::Column::Held))),
                    )
                    .value(balances::Column::UpdatedAt, Expr::value(now))
                    .to_owned(),
            )
            .returning_all();
        rows.extend(balance_rows(db.query_all(&insert).await?)?);
    }

    // A plain UPDATE: `available + CASE (user, asset) ... END`, only on the chunk's keys.
    for chunk in losses.chunks(CHUNK) {
        let key = |(user, asset): (Uuid, Uuid)| {
            Condition::all()
                .add(balances::Column::UserId.eq(user))
                .add(balances::Column::AssetId.eq(asset))
        };
        let delta = |col: balances::Column, pick: fn((i64, i64)) -> i64| {
            let cases: Vec<(Condition, i64)> = chunk
                .iter()
                .filter(|(_, d)| pick(*d) != 0)
                .map(|&(k, d)| (key(k), pick(d)))
                .collect();
            (!cases.is_empty()).then(|| {
                let case = cases
                    .into_iter()
                    .fold(CaseStatement::new(), |case, (when, amount)| {
                        case.case(when, amount)
                    })
                    .finally(0_i64);
                Expr::col(col).add(case)
            })
        };
        let mut update = Query::update();
        update.table(balances::Entity);
        if let Some(expr) = delta(balances::Column::Available, |d| d.0) {
            update.value(balances::Column::Available, expr);
        }
        if let Some(expr) = delta(balances::Column::Held, |d| d.1) {
            update.value(balances::Column::Held, expr);
        }
        let users: BTreeSet<Uuid> = chunk.iter().map(|((user, _), _)| *user).collect();
        update
            .value(balances::Column::UpdatedAt, Expr::value(now))
            // The user list lets the primary key find the rows; the pairs make it exact.
            .cond_where(
                Condition::all()
                    .add(balances::Column::UserId.is_in(users))
                    .add(
                        chunk
                            .iter()
                            .fold(Condition::any(), |any, &(k, _)| any.add(key(k))),
                    ),
            )
            .returning_all();
        let updated = balance_rows(db.query_all(&update).await?)?;
        if updated.len() != chunk.len() {
            return Err(DbErr::RecordNotUpdated.into());
        }
        rows.extend(updated);
    }
    rows.sort_by_key(|b| (b.user_id, b.asset_id));
    Ok(rows)
}

fn balance_rows(rows: Vec<QueryResult>) -> Result<Vec<balances::Model>, DbErr> {
    rows.iter()
        .map(|row| balances::Model::from_query_result(row, ""))
        .collect()
}

/// Writes the final state of a chunk of orders in one statement (`SET col = CASE id ...`
/// per column, `WHERE id IN (...)`) rather than one per order. Every order of a batch exists
/// (the engine only reports orders it loaded from the table), so a shortfall is an error.
async fn update_orders<C: ConnectionTrait>(
    db: &C,
    market: &str,
    chunk: &[&OrderState],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let by_id = |col: orders::Column, value: fn(&OrderState) -> Value| -> Expr {
        chunk
            .iter()
            .fold(CaseStatement::new(), |case, o| {
                case.case(orders::Column::Id.eq(signed(o.id)), Expr::val(value(o)))
            })
            .finally(Expr::col(col))
            .into()
    };
    let updated = orders::Entity::update_many()
        .col_expr(
            orders::Column::Status,
            by_id(orders::Column::Status, |o| status_str(o.status).into()),
        )
        .col_expr(
            orders::Column::FilledLots,
            by_id(orders::Column::FilledLots, |o| signed(o.filled).into()),
        )
        .col_expr(
            orders::Column::FilledValue,
            by_id(orders::Column::FilledValue, |o| {
                signed(o.filled_value).into()
            }),
        )
        .col_expr(
            orders::Column::FeesPaid,
            by_id(orders::Column::FeesPaid, |o| signed(o.fees_paid).into()),
        )
        .col_expr(
            orders::Column::HeldRemaining,
            by_id(orders::Column::HeldRemaining, |o| signed(o.held).into()),
        )
        .col_expr(
            orders::Column::Reason,
            by_id(orders::Column::Reason, |o| o.reason.into()),
        )
        .col_expr(orders::Column::UpdatedAt, Expr::value(now))
        .filter(orders::Column::Id.is_in(chunk.iter().map(|o| signed(o.id))))
        .exec(db)
        .await?;
    if updated.rows_affected != chunk.len() as u64 {
        return Err(DbErr::Custom(format!(
            "market {market}: {} of {} orders to update were found",
            updated.rows_affected,
            chunk.len()
        )));
    }
    Ok(())
}

/// Folds the batch's trades into the candles of every interval: read the touched buckets,
/// merge, write back; one statement for each step, not one per interval.
async fn write_candles<C: ConnectionTrait>(
    db: &C,
    market: Uuid,
    fx: &Effects,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if fx.trades.is_empty() {
        return Ok(());
    }
    let mut buckets = Vec::with_capacity(INTERVALS.len());
    for (name, width) in INTERVALS {
        let open_time = now
            .duration_trunc(width)
            .map_err(|e| DbErr::Custom(format!("candle time: {e}")))?;
        buckets.push((name, open_time));
    }
    let existing = candles::Entity::find()
        .filter(candles::Column::MarketId.eq(market))
        .filter(
            buckets
                .iter()
                .fold(Condition::any(), |any, &(name, open_time)| {
                    any.add(
                        Condition::all()
                            .add(candles::Column::Interval.eq(name))
                            .add(candles::Column::OpenTime.eq(open_time)),
                    )
                }),
        )
        .all(db)
        .await?;
    let mut rows = Vec::with_capacity(buckets.len());
    for (name, open_time) in buckets {
        let mut c = existing
            .iter()
            .find(|c| c.interval == name && c.open_time == open_time)
            .cloned()
            .unwrap_or(candles::Model {
                market_id: market,
                interval: name.to_owned(),
                open_time,
                open: signed(fx.trades[0].trade.price),
                high: 0,
                low: i64::MAX,
                close: 0,
                volume_lots: 0,
                trade_count: 0,
            });
        for t in &fx.trades {
            let p = signed(t.trade.price);
            c.high = Ord::max(c.high, p);
            c.low = Ord::min(c.low, p);
            c.close = p;
            c.volume_lots = c.volume_lots.saturating_add(signed(t.trade.qty));
            c.trade_count += 1;
        }
        rows.push(candles::ActiveModel {
            market_id: Set(c.market_id),
            interval: Set(c.interval),
            open_time: Set(c.open_time),
            open: Set(c.open),
            high: Set(c.high),
            low: Set(c.low),
            close: Set(c.close),
            volume_lots: Set(c.volume_lots),
            trade_count: Set(c.trade_count),
        });
    }
    candles::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                candles::Column::MarketId,
                candles::Column::Interval,
                candles::Column::OpenTime,
            ])
            .update_columns([
                candles::Column::High,
                candles::Column::Low,
                candles::Column::Close,
                candles::Column::VolumeLots,
                candles::Column::TradeCount,
            ])
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}
