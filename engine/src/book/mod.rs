//! One market's limit order book.
//!
//! Orders live in a slab (`Vec<Node>` with an intrusive free list), each price level is an
//! intrusive FIFO of slab indices, an `FxHashMap` finds an order by id, and each side's
//! levels sit in a [`Ladder`] (dense window by tick + sparse map) that keeps its best price,
//! so best bid/ask are O(1). In steady state nothing allocates per order: the slab, the
//! index and the caller's event vector are reused.
//!
//! The rules are documented on [`types`]; `tests/` holds a naive reference model that the
//! property tests hold this implementation to.

mod ladder;
pub mod types;

use rustc_hash::FxHashMap;

pub use types::*;

use ladder::{Ladder, Level, NIL};

/// The configuration is outside what the engine accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidConfig;

/// A snapshot that cannot be restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreError {
    /// The configuration is invalid.
    Config,
    /// An order is invalid or duplicated (its id).
    Order(OrderId),
    /// The restored book would be crossed.
    Crossed,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    id: OrderId,
    owner: Owner,
    price: u64,
    qty: u64,
    prev: u32,
    next: u32,
    side: Side,
}

/// The incoming order while it matches.
struct Taker {
    id: OrderId,
    owner: Owner,
    side: Side,
    limit: Option<u64>,
    remaining: u64,
    /// What a market BUY may still spend (value + taker fee).
    budget: Option<u64>,
    stp: SelfTradePrevention,
}

/// Why matching ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Filled,
    NoMoreLiquidity,
    SelfTrade,
}

/// One market's order book.
#[derive(Debug, Clone)]
pub struct Book {
    config: BookConfig,
    nodes: Vec<Node>,
    free: u32,
    index: FxHashMap<OrderId, u32>,
    bids: Ladder,
    asks: Ladder,
    scratch: Vec<OrderId>,
}

impl Book {
    /// An empty book.
    pub fn new(config: BookConfig) -> Result<Self, InvalidConfig> {
        Self::with_capacity(config, 1024)
    }

    /// An empty book with room for `orders` resting orders before it allocates.
    pub fn with_capacity(config: BookConfig, orders: usize) -> Result<Self, InvalidConfig> {
        if config.quote_per_tick_lot == 0
            || config.maker_fee_bps > 10_000
            || config.taker_fee_bps > 10_000
        {
            return Err(InvalidConfig);
        }
        let mut index = FxHashMap::default();
        index.reserve(orders);
        Ok(Self {
            config,
            nodes: Vec::with_capacity(orders),
            free: NIL,
            index,
            bids: Ladder::new(Side::Buy),
            asks: Ladder::new(Side::Sell),
            scratch: Vec::new(),
        })
    }

    /// The market's constants.
    pub fn config(&self) -> BookConfig {
        self.config
    }

    /// Number of resting orders.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no order rests.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Best bid: price and total quantity there.
    pub fn best_bid(&self) -> Option<(u64, u64)> {
        let p = self.bids.best()?;
        Some((p, self.bids.get(p)?.qty))
    }

    /// Best ask: price and total quantity there.
    pub fn best_ask(&self) -> Option<(u64, u64)> {
        let p = self.asks.best()?;
        Some((p, self.asks.get(p)?.qty))
    }

    /// A resting order.
    pub fn order(&self, id: OrderId) -> Option<RestingOrder> {
        let n = &self.nodes[*self.index.get(&id)? as usize];
        Some(RestingOrder {
            id: n.id,
            owner: n.owner,
            side: n.side,
            price: n.price,
            qty: n.qty,
        })
    }

    fn ladder(&self, side: Side) -> &Ladder {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn ladder_mut(&mut self, side: Side) -> &mut Ladder {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// L2 levels of one side, best first.
    pub fn depth(&self, side: Side, levels: usize) -> Vec<BookDelta> {
        self.ladder(side)
            .levels()
            .take(levels)
            .map(|(price, l)| BookDelta {
                side,
                price,
                qty: l.qty,
                orders: l.count,
            })
            .collect()
    }

    /// Every resting order in priority order: bids best first (FIFO within a level), then
    /// asks. [`Book::restore`] rebuilds an identical book from it.
    pub fn open_orders(&self) -> Vec<RestingOrder> {
        let mut out = Vec::with_capacity(self.len());
        for side in [Side::Buy, Side::Sell] {
            for (_, level) in self.ladder(side).levels() {
                let mut i = level.head;
                while i != NIL {
                    let n = &self.nodes[i as usize];
                    out.push(RestingOrder {
                        id: n.id,
                        owner: n.owner,
                        side: n.side,
                        price: n.price,
                        qty: n.qty,
                    });
                    i = n.next;
                }
            }
        }
        out
    }

    /// Rebuilds a book from [`Book::open_orders`] output (any order within a level is taken
    /// as its time priority).
    pub fn restore(config: BookConfig, orders: &[RestingOrder]) -> Result<Self, RestoreError> {
        let mut book = Self::with_capacity(config, orders.len().max(1024))
            .map_err(|_| RestoreError::Config)?;
        for o in orders {
            let valid = (1..=MAX_QTY).contains(&o.qty)
                && (1..=MAX_PRICE).contains(&o.price)
                && value(o.price, o.qty, config.quote_per_tick_lot).is_some()
                && book
                    .ladder(o.side)
                    .get(o.price)
                    .is_none_or(|l| l.qty.checked_add(o.qty).is_some())
                && !book.index.contains_key(&o.id);
            if !valid {
                return Err(RestoreError::Order(o.id));
            }
            book.link_new(o.id, o.owner, o.side, o.price, o.qty);
        }
        if let (Some(b), Some(a)) = (book.bids.best(), book.asks.best())
            && b >= a
        {
            return Err(RestoreError::Crossed);
        }
        Ok(book)
    }

    /// Applies one command, appending what happened to `out`.
    pub fn apply(&mut self, command: &Command, ts: u64, out: &mut Vec<Event>) {
        match *command {
            Command::Place(p) => self.place(&p, ts, out),
            Command::Cancel { id, owner } => {
                if !self.cancel(id, owner, CancelReason::ByOwner, out) {
                    out.push(Event::CancelRejected {
                        id,
                        reason: RejectReason::UnknownOrder,
                    });
                }
            }
            Command::CancelAll { owner } => self.cancel_all(owner, out),
            Command::Amend {
                id,
                owner,
                price,
                qty,
            } => self.amend(id, owner, price, qty, out),
        }
    }

    // ---- placing and matching ----

    #[inline]
    fn place(&mut self, p: &Place, ts: u64, out: &mut Vec<Event>) {
        if let Err(reason) = self.validate(p) {
            out.push(Event::Done {
                id: p.id,
                owner: p.owner,
                reason: DoneReason::Rejected(reason),
            });
            return;
        }
        let (limit, budget) = match p.order_type {
            OrderType::Limit { price } => (Some(price), None),
            OrderType::Market { quote_budget } => (
                None,
                if p.side == Side::Buy {
                    quote_budget
                } else {
                    None
                },
            ),
        };
        let opposite = self.ladder(p.side.opposite()).best();
        if p.post_only
            && let (Some(limit), Some(best)) = (limit, opposite)
            && crosses(p.side, limit, best)
        {
            out.push(Event::Done {
                id: p.id,
                owner: p.owner,
                reason: DoneReason::Rejected(RejectReason::PostOnlyWouldCross),
            });
            return;
        }
        let mut taker = Taker {
            id: p.id,
            owner: p.owner,
            side: p.side,
            limit,
            remaining: p.qty,
            budget,
            stp: p.stp,
        };
        if p.tif == TimeInForce::Fok && !self.fok_fillable(&taker) {
            out.push(Event::Done {
                id: p.id,
                owner: p.owner,
                reason: DoneReason::Rejected(RejectReason::FokNotFillable),
            });
            return;
        }
        out.push(Event::Accepted { id: p.id });
        let stop = self.match_taker(&mut taker, ts, out);
        let reason = match stop {
            Stop::Filled => DoneReason::Filled,
            Stop::SelfTrade => DoneReason::Cancelled(CancelReason::SelfTrade),
            Stop::NoMoreLiquidity => match (limit, p.tif) {
                (Some(price), TimeInForce::Gtc) => {
                    let level = self.link_new(p.id, p.owner, p.side, price, taker.remaining);
                    out.push(Event::Rested {
                        id: p.id,
                        side: p.side,
                        price,
                        qty: taker.remaining,
                    });
                    out.push(delta(p.side, price, &level));
                    return;
                }
                _ => DoneReason::Expired,
            },
        };
        out.push(Event::Done {
            id: p.id,
            owner: p.owner,
            reason,
        });
    }

    #[inline]
    fn validate(&self, p: &Place) -> Result<(), RejectReason> {
        if self.index.contains_key(&p.id) {
            return Err(RejectReason::DuplicateOrderId);
        }
        if !(1..=MAX_QTY).contains(&p.qty) {
            return Err(RejectReason::InvalidQuantity);
        }
        match p.order_type {
            OrderType::Limit { price } => {
                if !(1..=MAX_PRICE).contains(&price) {
                    return Err(RejectReason::InvalidPrice);
                }
                if value(price, p.qty, self.config.quote_per_tick_lot).is_none()
                    || self
                        .ladder(p.side)
                        .get(price)
                        .is_some_and(|l| l.qty.checked_add(p.qty).is_none())
                {
                    return Err(RejectReason::Overflow);
                }
            }
            OrderType::Market { quote_budget } => {
                if p.post_only {
                    return Err(RejectReason::PostOnlyMarket);
                }
                if p.side == Side::Buy && quote_budget.is_none() {
                    return Err(RejectReason::MissingBudget);
                }
            }
        }
        Ok(())
    }

    /// Value plus taker fee of `qty` at `price`; `None` when it exceeds `u64` (and so any
    /// budget).
    #[inline]
    fn cost(&self, price: u64, qty: u64) -> Option<u64> {
        let v = value(price, qty, self.config.quote_per_tick_lot)?;
        v.checked_add(fee(v, self.config.taker_fee_bps)?)
    }

    /// Largest quantity `<= max` whose value plus taker fee at `price` fits in `budget`.
    #[inline]
    fn affordable(&self, price: u64, max: u64, budget: u64) -> u64 {
        if self.cost(price, max).is_some_and(|c| c <= budget) {
            return max;
        }
        // Rare path (the budget runs out at this maker). cost(q) >= q * unit * (10_000 +
        // bps) / 10_000, so this bounds q from above; step down to the exact answer.
        let unit = u128::from(price) * u128::from(self.config.quote_per_tick_lot);
        let bps = u128::from(self.config.taker_fee_bps);
        let bound = u128::from(budget) * 10_000 / (unit * (10_000 + bps));
        let mut q = u64::try_from(bound).unwrap_or(u64::MAX).min(max);
        while q > 0 && self.cost(price, q).is_none_or(|c| c > budget) {
            q -= 1;
        }
        q
    }

    /// Whether `taker` could trade its whole quantity now (no side effects).
    fn fok_fillable(&self, taker: &Taker) -> bool {
        let book = self.ladder(taker.side.opposite());
        let mut need = taker.remaining;
        let mut budget = taker.budget;
        let mut next = book.best();
        while let Some(price) = next {
            if taker
                .limit
                .is_some_and(|limit| !crosses(taker.side, limit, price))
            {
                return false;
            }
            let Some(level) = book.get(price) else {
                return false;
            };
            let mut i = level.head;
            while i != NIL {
                let maker = &self.nodes[i as usize];
                i = maker.next;
                if maker.owner == taker.owner {
                    if taker.stp == SelfTradePrevention::CancelResting {
                        continue;
                    }
                    return false;
                }
                let mut q = maker.qty.min(need);
                if let Some(b) = budget.as_mut() {
                    let afford = self.affordable(price, q, *b);
                    *b -= self.cost(price, afford).unwrap_or(*b);
                    if afford < q {
                        // The budget ends here, short of the whole quantity.
                        return false;
                    }
                    q = afford;
                }
                need -= q;
                if need == 0 {
                    return true;
                }
            }
            next = book.next_after(price);
        }
        false
    }

    fn match_taker(&mut self, taker: &mut Taker, ts: u64, out: &mut Vec<Event>) -> Stop {
        let maker_side = taker.side.opposite();
        loop {
            if taker.remaining == 0 {
                return Stop::Filled;
            }
            let Some(price) = self.ladder(maker_side).best() else {
                return Stop::NoMoreLiquidity;
            };
            if taker
                .limit
                .is_some_and(|limit| !crosses(taker.side, limit, price))
            {
                return Stop::NoMoreLiquidity;
            }
            let mut changed = false;
            let mut stop = None;
            while let Some(level) = self.ladder(maker_side).get(price) {
                let head = level.head;
                let maker = self.nodes[head as usize];
                if maker.owner == taker.owner {
                    if taker.stp != SelfTradePrevention::CancelIncoming {
                        // CancelResting and CancelBoth take the resting order out.
                        self.unlink(head, maker_side, price);
                        self.release(head, maker.id);
                        out.push(Event::Done {
                            id: maker.id,
                            owner: maker.owner,
                            reason: DoneReason::Cancelled(CancelReason::SelfTrade),
                        });
                        changed = true;
                    }
                    if taker.stp == SelfTradePrevention::CancelResting {
                        continue;
                    }
                    stop = Some(Stop::SelfTrade);
                    break;
                }
                let mut qty = maker.qty.min(taker.remaining);
                let mut out_of_budget = false;
                if let Some(budget) = taker.budget {
                    let afford = self.affordable(price, qty, budget);
                    if afford == 0 {
                        stop = Some(Stop::NoMoreLiquidity);
                        break;
                    }
                    out_of_budget = afford < qty;
                    qty = afford;
                    taker.budget = Some(budget - self.cost(price, qty).unwrap_or(budget));
                }
                // Cannot overflow: the maker's own price * qty * unit was checked on entry.
                let value = price
                    .saturating_mul(qty)
                    .saturating_mul(self.config.quote_per_tick_lot);
                out.push(Event::Trade(Trade {
                    maker_order: maker.id,
                    taker_order: taker.id,
                    maker_owner: maker.owner,
                    taker_owner: taker.owner,
                    taker_side: taker.side,
                    price,
                    qty,
                    value,
                    maker_fee: fee(value, self.config.maker_fee_bps).unwrap_or(value),
                    taker_fee: fee(value, self.config.taker_fee_bps).unwrap_or(value),
                    ts,
                }));
                changed = true;
                taker.remaining -= qty;
                if qty == maker.qty {
                    self.unlink(head, maker_side, price);
                    self.release(head, maker.id);
                    out.push(Event::Done {
                        id: maker.id,
                        owner: maker.owner,
                        reason: DoneReason::Filled,
                    });
                } else {
                    self.nodes[head as usize].qty -= qty;
                    if let Some(level) = self.ladder_mut(maker_side).get_mut(price) {
                        level.qty -= qty;
                    }
                }
                if out_of_budget {
                    stop = Some(Stop::NoMoreLiquidity);
                    break;
                }
                if taker.remaining == 0 {
                    stop = Some(Stop::Filled);
                    break;
                }
            }
            if changed {
                self.emit_level(maker_side, price, out);
            }
            if let Some(stop) = stop {
                return stop;
            }
        }
    }

    // ---- cancel and amend ----

    #[inline]
    fn cancel(
        &mut self,
        id: OrderId,
        owner: Owner,
        reason: CancelReason,
        out: &mut Vec<Event>,
    ) -> bool {
        let Some(&slot) = self.index.get(&id) else {
            return false;
        };
        let node = self.nodes[slot as usize];
        if node.owner != owner {
            return false;
        }
        self.unlink(slot, node.side, node.price);
        self.release(slot, id);
        out.push(Event::Done {
            id,
            owner,
            reason: DoneReason::Cancelled(reason),
        });
        self.emit_level(node.side, node.price, out);
        true
    }

    fn cancel_all(&mut self, owner: Owner, out: &mut Vec<Event>) {
        let mut ids = std::mem::take(&mut self.scratch);
        ids.clear();
        ids.extend(
            self.index
                .iter()
                .filter(|(_, s)| self.nodes[**s as usize].owner == owner)
                .map(|(id, _)| *id),
        );
        ids.sort_unstable();
        for &id in &ids {
            self.cancel(id, owner, CancelReason::ByOwner, out);
        }
        self.scratch = ids;
    }

    fn amend(&mut self, id: OrderId, owner: Owner, price: u64, qty: u64, out: &mut Vec<Event>) {
        let reject = |out: &mut Vec<Event>, reason| out.push(Event::CancelRejected { id, reason });
        let Some(&slot) = self.index.get(&id) else {
            return reject(out, RejectReason::UnknownOrder);
        };
        let node = self.nodes[slot as usize];
        if node.owner != owner {
            return reject(out, RejectReason::UnknownOrder);
        }
        if !(1..=MAX_QTY).contains(&qty) {
            return reject(out, RejectReason::InvalidQuantity);
        }
        if !(1..=MAX_PRICE).contains(&price) {
            return reject(out, RejectReason::InvalidPrice);
        }
        let others_at_price = self.ladder(node.side).get(price).map_or(0, |l| {
            if price == node.price {
                l.qty - node.qty
            } else {
                l.qty
            }
        });
        if value(price, qty, self.config.quote_per_tick_lot).is_none()
            || others_at_price.checked_add(qty).is_none()
        {
            return reject(out, RejectReason::Overflow);
        }
        if self
            .ladder(node.side.opposite())
            .best()
            .is_some_and(|best| crosses(node.side, price, best))
        {
            return reject(out, RejectReason::AmendWouldCross);
        }
        let keep = price == node.price && qty <= node.qty;
        if keep {
            self.nodes[slot as usize].qty = qty;
            if let Some(level) = self.ladder_mut(node.side).get_mut(price) {
                level.qty -= node.qty - qty;
            }
            out.push(Event::Amended {
                id,
                price,
                qty,
                kept_priority: true,
            });
            self.emit_level(node.side, price, out);
            return;
        }
        self.unlink(slot, node.side, node.price);
        self.nodes[slot as usize].price = price;
        self.nodes[slot as usize].qty = qty;
        self.link(slot, node.side, price, qty);
        out.push(Event::Amended {
            id,
            price,
            qty,
            kept_priority: false,
        });
        self.emit_level(node.side, node.price, out);
        if price != node.price {
            self.emit_level(node.side, price, out);
        }
    }

    // ---- slab and level plumbing ----

    /// Stores a new order at the back of its level; returns the level's new state.
    #[inline]
    fn link_new(&mut self, id: OrderId, owner: Owner, side: Side, price: u64, qty: u64) -> Level {
        let node = Node {
            id,
            owner,
            price,
            qty,
            prev: NIL,
            next: NIL,
            side,
        };
        let slot = if self.free == NIL {
            self.nodes.push(node);
            (self.nodes.len() - 1) as u32
        } else {
            let slot = self.free;
            self.free = self.nodes[slot as usize].next;
            self.nodes[slot as usize] = node;
            slot
        };
        self.index.insert(id, slot);
        self.link(slot, side, price, qty)
    }

    /// Appends `slot` to the level at `price`.
    #[inline]
    fn link(&mut self, slot: u32, side: Side, price: u64, qty: u64) -> Level {
        let ladder = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let level = ladder.get_or_insert(price);
        let tail = level.tail;
        level.tail = slot;
        if tail == NIL {
            level.head = slot;
        }
        level.qty += qty;
        level.count += 1;
        let state = *level;
        self.nodes[slot as usize].prev = tail;
        self.nodes[slot as usize].next = NIL;
        if tail != NIL {
            self.nodes[tail as usize].next = slot;
        }
        state
    }

    /// Takes `slot` out of its level (dropping the level when it empties).
    #[inline]
    fn unlink(&mut self, slot: u32, side: Side, price: u64) {
        let Node {
            prev, next, qty, ..
        } = self.nodes[slot as usize];
        if prev != NIL {
            self.nodes[prev as usize].next = next;
        }
        if next != NIL {
            self.nodes[next as usize].prev = prev;
        }
        let ladder = self.ladder_mut(side);
        let Some(level) = ladder.get_mut(price) else {
            return;
        };
        if level.head == slot {
            level.head = next;
        }
        if level.tail == slot {
            level.tail = prev;
        }
        level.qty -= qty;
        level.count -= 1;
        if level.count == 0 {
            ladder.remove_empty(price);
        }
    }

    /// Frees a slot that is no longer in any level.
    #[inline]
    fn release(&mut self, slot: u32, id: OrderId) {
        self.index.remove(&id);
        self.nodes[slot as usize].next = self.free;
        self.free = slot;
    }

    #[inline]
    fn emit_level(&self, side: Side, price: u64, out: &mut Vec<Event>) {
        let (qty, orders) = self
            .ladder(side)
            .get(price)
            .map_or((0, 0), |l| (l.qty, l.count));
        out.push(Event::Delta(BookDelta {
            side,
            price,
            qty,
            orders,
        }));
    }

    /// Checks every internal invariant (tests call it after each command): links, level
    /// aggregates, the index, the ladders' caches, and that the book is not crossed.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.bids.check()?;
        self.asks.check()?;
        let mut seen = 0usize;
        for side in [Side::Buy, Side::Sell] {
            for (price, level) in self.ladder(side).levels() {
                let (mut qty, mut count, mut prev, mut i) = (0u64, 0u32, NIL, level.head);
                while i != NIL {
                    let n = &self.nodes[i as usize];
                    if n.prev != prev || n.side != side || n.price != price || n.qty == 0 {
                        return Err(format!(
                            "order {} at {side:?} {price} is mislinked or empty",
                            n.id
                        ));
                    }
                    if self.index.get(&n.id) != Some(&i) {
                        return Err(format!("order {} is not indexed at its slot", n.id));
                    }
                    qty += n.qty;
                    count += 1;
                    prev = i;
                    i = n.next;
                }
                if prev != level.tail || qty != level.qty || count != level.count || count == 0 {
                    return Err(format!("{side:?} level {price} aggregates are wrong"));
                }
                seen += count as usize;
            }
        }
        if seen != self.index.len() {
            return Err(format!(
                "{} orders indexed but {seen} in levels",
                self.index.len()
            ));
        }
        if let (Some(b), Some(a)) = (self.bids.best(), self.asks.best())
            && b >= a
        {
            return Err(format!("crossed book: bid {b} >= ask {a}"));
        }
        Ok(())
    }
}

/// Whether an order on `side` limited at `limit` trades against `best` of the other side.
#[inline]
fn crosses(side: Side, limit: u64, best: u64) -> bool {
    match side {
        Side::Buy => limit >= best,
        Side::Sell => limit <= best,
    }
}

fn delta(side: Side, price: u64, level: &Level) -> Event {
    Event::Delta(BookDelta {
        side,
        price,
        qty: level.qty,
        orders: level.count,
    })
}
