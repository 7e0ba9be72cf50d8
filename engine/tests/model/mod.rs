//! The reference model: a naive order book written to be obviously right, not fast.
//!
//! It implements the rules in `engine::book::types` (the engine's contract) as literally as
//! it can: each side is one `Vec` kept sorted by price-time priority, a level is a run of
//! equal prices in it, every lookup is a linear scan, and a FOK order is checked by matching
//! it against a throw-away clone of the whole model. The property tests hold
//! [`engine::Book`] to it event for event, so wherever the two disagree, one of them reads
//! the contract wrongly; the contract decides which.
//!
//! Readings of the contract where its text leaves room (each one also noted where it is
//! implemented):
//! - A market BUY meets self-trade prevention before its budget: a maker of its own owner is
//!   handled by the STP mode even when no budget is left.
//! - An amend to the same price and the same quantity keeps priority and still emits its
//!   `Delta` for the (unchanged) level: "emits `Amended` then a `Delta` for the old level".
//!
//! It derives values and fees itself ([`value`], [`fee`]) rather than calling the
//! engine's helpers, so a fast path there is checked too.

use engine::book::{
    BookConfig, BookDelta, CancelReason, Command, DoneReason, Event, MAX_PRICE, MAX_QTY, OrderId,
    OrderType, Owner, Place, RejectReason, RestingOrder, SelfTradePrevention, Side, TimeInForce,
    Trade,
};

/// A resting order with its arrival number (`seq`): within a price level the lower `seq`
/// trades first. Losing time priority means taking a fresh `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Resting {
    id: OrderId,
    owner: Owner,
    side: Side,
    price: u64,
    qty: u64,
    seq: u64,
}

/// Why matching an incoming order stopped before its quantity was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Self-trade prevention stopped it (`CancelIncoming` or `CancelBoth`).
    SelfTrade,
    /// A market BUY could not take a maker in full for lack of budget.
    Budget,
}

/// The naive book.
#[derive(Debug, Clone)]
pub struct Model {
    config: BookConfig,
    /// Best first: price descending, then `seq` ascending.
    bids: Vec<Resting>,
    /// Best first: price ascending, then `seq` ascending.
    asks: Vec<Resting>,
    next_seq: u64,
}

impl Model {
    /// An empty book. The caller passes a valid configuration (the model does not check it).
    pub fn new(config: BookConfig) -> Self {
        Self {
            config,
            bids: Vec::new(),
            asks: Vec::new(),
            next_seq: 0,
        }
    }

    /// A book holding `orders`, listed as [`Model::open_orders`] lists them: their order
    /// within a level is their time priority. The caller passes a valid snapshot.
    pub fn restore(config: BookConfig, orders: &[RestingOrder]) -> Self {
        let mut model = Self::new(config);
        for o in orders {
            model.insert_at_back(o.id, o.owner, o.side, o.price, o.qty);
        }
        model
    }

    /// Applies one command at time `ts` and returns what happened.
    pub fn apply(&mut self, cmd: &Command, ts: u64) -> Vec<Event> {
        let mut events = Vec::new();
        match *cmd {
            Command::Place(place) => self.place(&place, ts, &mut events),
            Command::Cancel { id, owner } => self.cancel(id, owner, &mut events),
            Command::CancelAll { owner } => self.cancel_all(owner, &mut events),
            Command::Amend {
                id,
                owner,
                price,
                qty,
            } => {
                self.amend(id, owner, price, qty, &mut events);
            }
        }
        events
    }

    /// Every resting order: bids best price first, FIFO within a level, then asks the same.
    pub fn open_orders(&self) -> Vec<RestingOrder> {
        self.bids
            .iter()
            .chain(&self.asks)
            .map(|o| RestingOrder {
                id: o.id,
                owner: o.owner,
                side: o.side,
                price: o.price,
                qty: o.qty,
            })
            .collect()
    }

    /// The L2 view of one side: every level, best first.
    pub fn depth(&self, side: Side) -> Vec<BookDelta> {
        let mut prices: Vec<u64> = self.side(side).iter().map(|o| o.price).collect();
        prices.dedup(); // the side is sorted, so equal prices are adjacent
        prices
            .into_iter()
            .map(|price| self.level(side, price))
            .collect()
    }

    /// The model's own consistency: sorted sides, positive quantities, unique ids, valid
    /// prices and values, and an uncrossed book.
    pub fn check_invariants(&self) -> Result<(), String> {
        for side in [Side::Buy, Side::Sell] {
            let orders = self.side(side);
            for o in orders {
                if o.side != side || o.qty == 0 || o.qty > MAX_QTY {
                    return Err(format!("bad resting order {o:?} on {side:?}"));
                }
                if !(1..=MAX_PRICE).contains(&o.price)
                    || value(o.price, o.qty, self.config.quote_per_tick_lot).is_none()
                {
                    return Err(format!("resting order {o:?} has an invalid price or value"));
                }
            }
            for pair in orders.windows(2) {
                if Self::priority_key(&pair[0]) >= Self::priority_key(&pair[1]) {
                    return Err(format!("{side:?} out of priority order: {pair:?}"));
                }
            }
        }
        let mut ids: Vec<OrderId> = self.bids.iter().chain(&self.asks).map(|o| o.id).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err("duplicate live id".into());
        }
        if let (Some(bid), Some(ask)) = (self.best_price(Side::Buy), self.best_price(Side::Sell))
            && bid >= ask
        {
            return Err(format!("crossed: bid {bid} >= ask {ask}"));
        }
        Ok(())
    }

    // ---- place ----

    fn place(&mut self, p: &Place, ts: u64, events: &mut Vec<Event>) {
        if let Err(reason) = self.validate(p) {
            events.push(done(p.id, p.owner, DoneReason::Rejected(reason)));
            return;
        }
        events.push(Event::Accepted { id: p.id });
        let (remaining, stop) = self.match_incoming(p, ts, events);

        // The incoming order: rests (GTC limit remainder) or is done.
        let reason = if remaining == 0 {
            DoneReason::Filled
        } else if stop == Some(Stop::SelfTrade) {
            DoneReason::Cancelled(CancelReason::SelfTrade)
        } else if let (OrderType::Limit { price }, TimeInForce::Gtc) = (p.order_type, p.tif) {
            self.insert_at_back(p.id, p.owner, p.side, price, remaining);
            events.push(Event::Rested {
                id: p.id,
                side: p.side,
                price,
                qty: remaining,
            });
            events.push(Event::Delta(self.level(p.side, price)));
            return;
        } else {
            // IOC, FOK, market orders (GTC on a market order is IOC), market BUY out of budget.
            DoneReason::Expired
        };
        events.push(done(p.id, p.owner, reason));
    }

    /// The place checks, in the contract's order.
    fn validate(&self, p: &Place) -> Result<(), RejectReason> {
        if self.find(p.id).is_some() {
            return Err(RejectReason::DuplicateOrderId);
        }
        if !(1..=MAX_QTY).contains(&p.qty) {
            return Err(RejectReason::InvalidQuantity);
        }
        if let OrderType::Limit { price } = p.order_type
            && !(1..=MAX_PRICE).contains(&price)
        {
            return Err(RejectReason::InvalidPrice);
        }
        if p.post_only && matches!(p.order_type, OrderType::Market { .. }) {
            return Err(RejectReason::PostOnlyMarket);
        }
        if p.side == Side::Buy && p.order_type == (OrderType::Market { quote_budget: None }) {
            return Err(RejectReason::MissingBudget);
        }
        if let OrderType::Limit { price } = p.order_type
            && value(price, p.qty, self.config.quote_per_tick_lot).is_none()
        {
            return Err(RejectReason::Overflow);
        }
        if let OrderType::Limit { price } = p.order_type
            && self.level_total(p.side, price, None) + u128::from(p.qty) > u128::from(u64::MAX)
        {
            return Err(RejectReason::Overflow);
        }
        if let OrderType::Limit { price } = p.order_type
            && p.post_only
            && self.would_cross(p.side, price)
        {
            return Err(RejectReason::PostOnlyWouldCross);
        }
        if p.tif == TimeInForce::Fok && !self.fills_entirely(p) {
            return Err(RejectReason::FokNotFillable);
        }
        Ok(())
    }

    /// Whether `p` would trade its whole quantity right now: match it against a clone and
    /// look. The clone applies the limit, the budget and self-trade prevention exactly as
    /// the real match would (own makers skipped under `CancelResting`, the first one ending
    /// it otherwise), and is thrown away, so the book is untouched.
    fn fills_entirely(&self, p: &Place) -> bool {
        let mut scratch = self.clone();
        let (remaining, _) = scratch.match_incoming(p, 0, &mut Vec::new());
        remaining == 0
    }

    /// Matches `p` against the opposite side; returns its unfilled quantity and why it
    /// stopped early, if it did. Emits the makers' events and one `Delta` per level touched.
    fn match_incoming(
        &mut self,
        p: &Place,
        ts: u64,
        events: &mut Vec<Event>,
    ) -> (u64, Option<Stop>) {
        let limit = match p.order_type {
            OrderType::Limit { price } => Some(price),
            OrderType::Market { .. } => None,
        };
        // Only a market BUY has a budget; a SELL ignores it.
        let mut budget = match (p.side, p.order_type) {
            (Side::Buy, OrderType::Market { quote_budget }) => quote_budget,
            _ => None,
        };
        let book_side = p.side.opposite();
        let mut remaining = p.qty;
        let mut stop = None;

        while remaining > 0 && stop.is_none() {
            let Some(level_price) = self.best_price(book_side) else {
                break;
            };
            if let Some(limit) = limit
                && !reaches(p.side, limit, level_price)
            {
                break;
            }
            let mut level_changed = false;
            // The level is the run of `level_price` at the front of the side; `i` walks it.
            let mut i = 0;
            while remaining > 0 && i < self.side(book_side).len() {
                let maker = self.side(book_side)[i];
                if maker.price != level_price {
                    break;
                }
                // Self-trade prevention comes first (see the module doc).
                if maker.owner == p.owner {
                    if p.stp != SelfTradePrevention::CancelIncoming {
                        self.side_mut(book_side).remove(i);
                        level_changed = true;
                        events.push(done(
                            maker.id,
                            maker.owner,
                            DoneReason::Cancelled(CancelReason::SelfTrade),
                        ));
                    }
                    if p.stp != SelfTradePrevention::CancelResting {
                        stop = Some(Stop::SelfTrade);
                        break;
                    }
                    continue;
                }
                let mut qty = remaining.min(maker.qty);
                if let Some(left) = budget {
                    let affordable = self.affordable_qty(maker.price, qty, left);
                    if affordable < qty {
                        stop = Some(Stop::Budget);
                    }
                    qty = affordable;
                }
                if qty > 0 {
                    let trade = self.trade(&maker, p, qty, ts);
                    if let Some(left) = budget.as_mut() {
                        *left -= trade.value + trade.taker_fee;
                    }
                    events.push(Event::Trade(trade));
                    remaining -= qty;
                    level_changed = true;
                    if qty == maker.qty {
                        self.side_mut(book_side).remove(i);
                        events.push(done(maker.id, maker.owner, DoneReason::Filled));
                    } else {
                        self.side_mut(book_side)[i].qty -= qty;
                        i += 1;
                    }
                }
                if stop.is_some() {
                    break;
                }
            }
            if level_changed {
                events.push(Event::Delta(self.level(book_side, level_price)));
            }
        }
        (remaining, stop)
    }

    /// The trade of `qty` lots between `maker` and the incoming order `taker`, at the
    /// maker's price. Its value fits: the maker's whole value was checked when it rested.
    fn trade(&self, maker: &Resting, taker: &Place, qty: u64, ts: u64) -> Trade {
        let value = value(maker.price, qty, self.config.quote_per_tick_lot)
            .expect("a part of a resting order's value fits, as the whole did");
        Trade {
            maker_order: maker.id,
            taker_order: taker.id,
            maker_owner: maker.owner,
            taker_owner: taker.owner,
            taker_side: taker.side,
            price: maker.price,
            qty,
            value,
            maker_fee: fee(value, self.config.maker_fee_bps).expect("a fee is at most its value"),
            taker_fee: fee(value, self.config.taker_fee_bps).expect("a fee is at most its value"),
            ts,
        }
    }

    /// The largest quantity in `0..=max_qty` whose value plus taker fee at `price` fits in
    /// `budget`. The cost only grows with the quantity, so a binary search finds it.
    fn affordable_qty(&self, price: u64, max_qty: u64, budget: u64) -> u64 {
        let fits = |qty: u64| {
            value(price, qty, self.config.quote_per_tick_lot)
                .and_then(|v| v.checked_add(fee(v, self.config.taker_fee_bps)?))
                .is_some_and(|cost| cost <= budget)
        };
        let (mut lo, mut hi) = (0, max_qty); // fits(lo) always holds: 0 lots cost nothing
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if fits(mid) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo
    }

    // ---- cancel, cancel all ----

    fn cancel(&mut self, id: OrderId, owner: Owner, events: &mut Vec<Event>) {
        match self.find(id) {
            // A foreign order looks exactly like an unknown one.
            Some(o) if o.owner == owner => {
                self.remove(id);
                events.push(done(
                    id,
                    owner,
                    DoneReason::Cancelled(CancelReason::ByOwner),
                ));
                events.push(Event::Delta(self.level(o.side, o.price)));
            }
            _ => events.push(Event::CancelRejected {
                id,
                reason: RejectReason::UnknownOrder,
            }),
        }
    }

    fn cancel_all(&mut self, owner: Owner, events: &mut Vec<Event>) {
        let mut ids: Vec<OrderId> = self
            .bids
            .iter()
            .chain(&self.asks)
            .filter(|o| o.owner == owner)
            .map(|o| o.id)
            .collect();
        ids.sort_unstable();
        for id in ids {
            self.cancel(id, owner, events);
        }
    }

    // ---- amend ----

    fn amend(&mut self, id: OrderId, owner: Owner, price: u64, qty: u64, events: &mut Vec<Event>) {
        let reject = |reason| Event::CancelRejected { id, reason };
        let Some(old) = self.find(id).filter(|o| o.owner == owner) else {
            events.push(reject(RejectReason::UnknownOrder));
            return;
        };
        if !(1..=MAX_QTY).contains(&qty) {
            events.push(reject(RejectReason::InvalidQuantity));
            return;
        }
        if !(1..=MAX_PRICE).contains(&price) {
            events.push(reject(RejectReason::InvalidPrice));
            return;
        }
        if value(price, qty, self.config.quote_per_tick_lot).is_none()
            || self.level_total(old.side, price, Some(id)) + u128::from(qty) > u128::from(u64::MAX)
        {
            events.push(reject(RejectReason::Overflow));
            return;
        }
        if self.would_cross(old.side, price) {
            events.push(reject(RejectReason::AmendWouldCross));
            return;
        }
        let price_changed = price != old.price;
        // Only a new price or a larger quantity costs the order its place; the same price
        // and quantity keeps it (see the module doc).
        let kept_priority = !price_changed && qty <= old.qty;
        if kept_priority {
            let o = self
                .side_mut(old.side)
                .iter_mut()
                .find(|o| o.id == id)
                .expect("found above");
            o.qty = qty;
        } else {
            self.remove(id);
            self.insert_at_back(id, owner, old.side, price, qty);
        }
        events.push(Event::Amended {
            id,
            price,
            qty,
            kept_priority,
        });
        events.push(Event::Delta(self.level(old.side, old.price)));
        if price_changed {
            events.push(Event::Delta(self.level(old.side, price)));
        }
    }

    // ---- the sides ----

    /// Total open quantity at one price of one side, leaving out `except`, in 128 bits.
    fn level_total(&self, side: Side, price: u64, except: Option<OrderId>) -> u128 {
        self.side(side)
            .iter()
            .filter(|o| o.price == price && Some(o.id) != except)
            .map(|o| u128::from(o.qty))
            .sum()
    }

    fn side(&self, side: Side) -> &Vec<Resting> {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut Vec<Resting> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// Sort key of a resting order within its side: better price first, then arrival.
    fn priority_key(o: &Resting) -> (i128, u64) {
        let price = i128::from(o.price);
        match o.side {
            Side::Buy => (-price, o.seq),
            Side::Sell => (price, o.seq),
        }
    }

    /// Adds an order behind everything already at its price.
    fn insert_at_back(&mut self, id: OrderId, owner: Owner, side: Side, price: u64, qty: u64) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let orders = self.side_mut(side);
        orders.push(Resting {
            id,
            owner,
            side,
            price,
            qty,
            seq,
        });
        orders.sort_by_key(Self::priority_key);
    }

    fn find(&self, id: OrderId) -> Option<Resting> {
        self.bids
            .iter()
            .chain(&self.asks)
            .find(|o| o.id == id)
            .copied()
    }

    fn remove(&mut self, id: OrderId) {
        self.bids.retain(|o| o.id != id);
        self.asks.retain(|o| o.id != id);
    }

    fn best_price(&self, side: Side) -> Option<u64> {
        self.side(side).first().map(|o| o.price)
    }

    /// Whether a limit order of `side` at `price` reaches the opposite best price.
    fn would_cross(&self, side: Side, price: u64) -> bool {
        self.best_price(side.opposite())
            .is_some_and(|best| reaches(side, price, best))
    }

    /// A level's state now (quantity and count 0 when it is gone).
    fn level(&self, side: Side, price: u64) -> BookDelta {
        let orders = self.side(side).iter().filter(|o| o.price == price);
        BookDelta {
            side,
            price,
            qty: orders.clone().map(|o| o.qty).sum(),
            orders: u32::try_from(orders.count()).expect("fewer than 2^32 orders"),
        }
    }
}

/// Whether an order of `side` limited at `limit` may trade with a maker at `maker_price`.
fn reaches(side: Side, limit: u64, maker_price: u64) -> bool {
    match side {
        Side::Buy => maker_price <= limit,
        Side::Sell => maker_price >= limit,
    }
}

fn done(id: OrderId, owner: Owner, reason: DoneReason) -> Event {
    Event::Done { id, owner, reason }
}

/// `price * qty * quote_per_tick_lot` in quote minor units, or `None` when it overflows.
pub fn value(price: u64, qty: u64, quote_per_tick_lot: u64) -> Option<u64> {
    price.checked_mul(qty)?.checked_mul(quote_per_tick_lot)
}

/// `ceil(value * bps / 10_000)`, computed wide, or `None` when it does not fit a `u64`.
pub fn fee(value: u64, bps: u32) -> Option<u64> {
    let wide = u128::from(value) * u128::from(bps);
    u64::try_from(wide.div_ceil(10_000)).ok()
}
