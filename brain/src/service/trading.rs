//! Placing and cancelling orders (DESIGN.md §4): brain validates, holds the funds and
//! appends a command in one transaction; the matcher does the rest and tells us through the
//! bus. `placeOrder` and `cancelOrder` wait for that answer, briefly, so a trader sees the
//! order as the matcher left it.

use std::time::Duration;

use bytes::Bytes;
use common::events::{Envelope, MarketEvent, WAKE_TOPIC, user_topic};
use common::{Identity, Scope};
use futures_util::StreamExt;

use super::{
    BrainService,
    placing::{OwnedRequest, Placed},
};
use crate::{
    BrainError,
    domain::{
        market::Market,
        order::{Order, OrderStatus, PlaceRequest},
    },
    store::{self, orders::OrderFilter},
};

/// How long `placeOrder` and `cancelOrder` wait for the matcher before answering with the
/// order as stored (`ACCEPTED`, or still live for a cancel).
pub const MATCHER_WAIT: Duration = Duration::from_secs(2);

/// Trading needs the `trade` scope: a read-only key is refused.
///
/// # Errors
/// [`BrainError::Forbidden`] otherwise.
pub fn require_trade(caller: &Identity) -> Result<(), BrainError> {
    if caller.has_scope(Scope::Trade) {
        Ok(())
    } else {
        Err(BrainError::Forbidden("this credential may not trade"))
    }
}

impl BrainService {
    /// Places an order on a market by symbol; a retry with the same client order id returns
    /// the first order unchanged.
    ///
    /// # Errors
    /// `FORBIDDEN` without the trade scope, `NOT_FOUND` for an unknown market,
    /// `MARKET_HALTED`, `BAD_USER_INPUT` for any rule broken, `INSUFFICIENT_FUNDS`.
    pub async fn place_order(
        &self,
        caller: &Identity,
        market_symbol: &str,
        req: &PlaceRequest<'_>,
    ) -> Result<(Order, Market), BrainError> {
        require_trade(caller)?;
        // The market's rules from the cache; whether it is open is checked again in the
        // place transaction, from the database.
        let market = self.market_by_symbol(market_symbol).await?;
        // Subscribe before the command exists, so the matcher's answer cannot be missed.
        let mut updates = self.bus().subscribe(&user_topic(caller.user_id)).await.ok();
        let placed = self
            .placer()
            .place(caller.user_id, market.clone(), OwnedRequest::new(req))
            .await?;
        let placed = match placed {
            Placed::New(o) => o,
            Placed::Existing(first) => {
                // A retry: answer with the first order, in its own market, whatever was sent.
                let market = self.market_by_id(first.market_id).await?;
                return Ok((first, market));
            }
        };
        if let Some(updates) = updates.as_mut() {
            wait_for(updates, placed.id, |s| s != OrderStatus::Accepted).await;
        }
        let order = store::orders::find(self.db(), placed.id)
            .await?
            .ok_or(BrainError::NotFound("order"))?;
        Ok((order, market))
    }

    /// Asks the matcher to cancel one of the caller's orders and returns it as the matcher
    /// left it.
    ///
    /// # Errors
    /// `FORBIDDEN` without the trade scope; `NOT_FOUND` for an order that is not the
    /// caller's; `CONFLICT` for an order already done.
    pub async fn cancel_order(&self, caller: &Identity, id: i64) -> Result<Order, BrainError> {
        require_trade(caller)?;
        let order = self.own_order(caller, id).await?;
        if !order.status.is_live() {
            return Err(BrainError::Conflict(format!(
                "order {id} is already {}",
                order.status.as_str()
            )));
        }
        let mut updates = self.bus().subscribe(&user_topic(caller.user_id)).await.ok();
        store::orders::append_command(
            self.db(),
            order.market_id,
            "cancel",
            Some(id),
            caller.user_id,
            Self::now(),
        )
        .await?;
        self.wake_matcher().await;
        if let Some(updates) = updates.as_mut() {
            wait_for(updates, id, |s| !s.is_live()).await;
        }
        store::orders::find(self.db(), id)
            .await?
            .ok_or(BrainError::NotFound("order"))
    }

    /// Cancels all of the caller's live orders, in one market or in every market; returns
    /// them as the matcher left them.
    ///
    /// # Errors
    /// `FORBIDDEN` without the trade scope; `NOT_FOUND` for an unknown market.
    pub async fn cancel_all_orders(
        &self,
        caller: &Identity,
        market_symbol: Option<&str>,
    ) -> Result<Vec<Order>, BrainError> {
        require_trade(caller)?;
        let markets = match market_symbol {
            Some(symbol) => vec![self.market_by_symbol(symbol).await?.id],
            None => store::orders::markets_with_live_orders(self.db(), caller.user_id).await?,
        };
        let live = OrderFilter {
            statuses: vec![
                OrderStatus::Accepted,
                OrderStatus::Open,
                OrderStatus::PartiallyFilled,
            ],
            limit: 10_000,
            ..OrderFilter::default()
        };
        let mut orders: Vec<Order> = store::orders::of_user(self.db(), caller.user_id, &live)
            .await?
            .into_iter()
            .filter(|o| markets.contains(&o.market_id))
            .collect();
        if orders.is_empty() {
            return Ok(orders);
        }
        let mut updates = self.bus().subscribe(&user_topic(caller.user_id)).await.ok();
        let now = Self::now();
        for market in &markets {
            store::orders::append_command(
                self.db(),
                *market,
                "cancel_all",
                None,
                caller.user_id,
                now,
            )
            .await?;
        }
        self.wake_matcher().await;
        if let Some(updates) = updates.as_mut() {
            let deadline = tokio::time::Instant::now() + MATCHER_WAIT;
            let mut pending: std::collections::HashSet<i64> = orders.iter().map(|o| o.id).collect();
            while !pending.is_empty() {
                let Ok(Some(item)) = tokio::time::timeout_at(deadline, updates.next()).await else {
                    break;
                };
                if let Some((id, status)) = order_update(&item)
                    && !status.is_live()
                {
                    pending.remove(&id);
                }
            }
        }
        for o in &mut orders {
            if let Some(now) = store::orders::find(self.db(), o.id).await? {
                *o = now;
            }
        }
        Ok(orders)
    }

    /// One of the caller's orders; another user's is `NOT_FOUND`, exactly like a missing one.
    ///
    /// # Errors
    /// `NOT_FOUND`, or a database fault.
    pub async fn own_order(&self, caller: &Identity, id: i64) -> Result<Order, BrainError> {
        match store::orders::find(self.db(), id).await? {
            Some(o) if o.user_id == caller.user_id => Ok(o),
            _ => Err(BrainError::NotFound("order")),
        }
    }

    /// The caller's orders, newest first.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown market, or a database fault.
    pub async fn my_orders(
        &self,
        caller: &Identity,
        market_symbol: Option<&str>,
        statuses: Vec<OrderStatus>,
        before_id: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Order>, BrainError> {
        let market_id = match market_symbol {
            Some(s) => Some(self.market_by_symbol(s).await?.id),
            None => None,
        };
        store::orders::of_user(
            self.db(),
            caller.user_id,
            &OrderFilter {
                market_id,
                statuses,
                before_id,
                limit,
            },
        )
        .await
    }

    /// A market by symbol, `NOT_FOUND` if unknown.
    ///
    /// # Errors
    /// `NOT_FOUND`, or a database fault.
    pub async fn market_by_symbol(&self, symbol: &str) -> Result<Market, BrainError> {
        self.market(symbol)
            .await?
            .ok_or(BrainError::NotFound("market"))
    }

    /// The market an order or event names by id (through the hot cache).
    ///
    /// # Errors
    /// `NOT_FOUND`, or a database fault.
    pub async fn market_by_id(&self, id: uuid::Uuid) -> Result<Market, BrainError> {
        self.market_with_id(id)
            .await?
            .ok_or(BrainError::NotFound("market"))
    }

    /// Tells the matcher there is work. Best effort: it also polls.
    async fn wake_matcher(&self) {
        if let Err(e) = self.bus().publish(WAKE_TOPIC, Bytes::new()).await {
            tracing::debug!(error = %e, "waking the matcher failed; it will poll");
        }
    }
}

/// The order id and status an update on a user topic carries, if it is an order update.
fn order_update(item: &bus::BusItem) -> Option<(i64, OrderStatus)> {
    let bus::BusItem::Message(payload) = item else {
        return None;
    };
    let envelope: Envelope = serde_json::from_slice(payload).ok()?;
    match envelope.event {
        MarketEvent::Order { order, .. } => Some((order.id, OrderStatus::parse(&order.status)?)),
        _ => None,
    }
}

/// Waits up to [`MATCHER_WAIT`] for an update of order `id` whose status satisfies `done`.
async fn wait_for(updates: &mut bus::Subscription, id: i64, done: impl Fn(OrderStatus) -> bool) {
    let deadline = tokio::time::Instant::now() + MATCHER_WAIT;
    loop {
        match tokio::time::timeout_at(deadline, updates.next()).await {
            Ok(Some(item)) => {
                if let Some((got, status)) = order_update(&item)
                    && got == id
                    && done(status)
                {
                    return;
                }
            }
            Ok(None) | Err(_) => return,
        }
    }
}
