//! One subscriber's view of a market's L2 book: the full book as the matcher's deltas leave
//! it, and the top `depth` levels a client sees. Keeping the full book (not only the top) is
//! what makes deltas exact: when a top level empties, the next level down becomes visible
//! and is sent, so snapshot plus deltas always equal `orderBook(depth)`.

use std::collections::BTreeMap;

use common::events::{Level as DeltaLevel, WireSide};

use crate::store::market_data::Level;

/// A level as the book view keeps it: open lots and order count.
type Entry = (u64, u32);

/// The full book, by price.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookView {
    bids: BTreeMap<u64, Entry>,
    asks: BTreeMap<u64, Entry>,
    depth: usize,
}

/// What changed in the visible top of the book: levels with their new state, `qty_lots` 0
/// for a level that left the view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisibleChange {
    /// Changed bid levels, best first.
    pub bids: Vec<Level>,
    /// Changed ask levels, best first.
    pub asks: Vec<Level>,
}

impl VisibleChange {
    /// Whether nothing visible changed.
    pub fn is_empty(&self) -> bool {
        self.bids.is_empty() && self.asks.is_empty()
    }
}

impl BookView {
    /// A view of `depth` levels per side over the full book given (bids and asks in any
    /// order).
    pub fn new(depth: usize, bids: &[Level], asks: &[Level]) -> Self {
        let map = |levels: &[Level]| {
            levels
                .iter()
                .filter(|l| l.qty_lots > 0)
                .map(|l| (l.price_ticks, (l.qty_lots, l.orders)))
                .collect()
        };
        Self {
            bids: map(bids),
            asks: map(asks),
            depth,
        }
    }

    /// The visible bids, best (highest) first.
    pub fn top_bids(&self) -> Vec<Level> {
        self.bids
            .iter()
            .rev()
            .take(self.depth)
            .map(|(p, (q, n))| level(*p, *q, *n))
            .collect()
    }

    /// The visible asks, best (lowest) first.
    pub fn top_asks(&self) -> Vec<Level> {
        self.asks
            .iter()
            .take(self.depth)
            .map(|(p, (q, n))| level(*p, *q, *n))
            .collect()
    }

    /// Applies the matcher's level changes and returns what changed in the visible top.
    pub fn apply(&mut self, deltas: &[DeltaLevel]) -> VisibleChange {
        let (bids_before, asks_before) = (self.top_bids(), self.top_asks());
        for d in deltas {
            let side = match d.side {
                WireSide::Buy => &mut self.bids,
                WireSide::Sell => &mut self.asks,
            };
            if d.qty == 0 {
                side.remove(&d.price);
            } else {
                side.insert(d.price, (d.qty, d.orders));
            }
        }
        VisibleChange {
            bids: diff(&bids_before, &self.top_bids()),
            asks: diff(&asks_before, &self.top_asks()),
        }
    }
}

fn level(price_ticks: u64, qty_lots: u64, orders: u32) -> Level {
    Level {
        price_ticks,
        qty_lots,
        orders,
    }
}

/// Levels of `after` that are new or changed, then levels of `before` that are gone (as
/// quantity 0), in the order of `after` then `before`.
fn diff(before: &[Level], after: &[Level]) -> Vec<Level> {
    let mut out: Vec<Level> = after
        .iter()
        .filter(|a| !before.contains(a))
        .copied()
        .collect();
    for b in before {
        if !after.iter().any(|a| a.price_ticks == b.price_ticks) {
            out.push(level(b.price_ticks, 0, 0));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(side: WireSide, price: u64, qty: u64, orders: u32) -> DeltaLevel {
        DeltaLevel {
            side,
            price,
            qty,
            orders,
        }
    }

    /// A client's book: the snapshot's top with every visible change applied.
    fn client_apply(book: &mut BTreeMap<u64, Entry>, change: &[Level]) {
        for l in change {
            if l.qty_lots == 0 {
                book.remove(&l.price_ticks);
            } else {
                book.insert(l.price_ticks, (l.qty_lots, l.orders));
            }
        }
    }

    #[test]
    fn when_a_top_level_empties_the_next_one_becomes_visible() {
        let asks = [level(101, 5, 1), level(102, 3, 2), level(103, 7, 1)];
        let mut view = BookView::new(2, &[], &asks);
        assert_eq!(view.top_asks(), vec![level(101, 5, 1), level(102, 3, 2)]);
        let change = view.apply(&[delta(WireSide::Sell, 101, 0, 0)]);
        assert_eq!(change.asks, vec![level(103, 7, 1), level(101, 0, 0)]);
        assert!(change.bids.is_empty());
    }

    #[test]
    fn changes_below_the_visible_depth_are_not_sent() {
        let bids = [level(100, 1, 1), level(99, 1, 1)];
        let mut view = BookView::new(1, &bids, &[]);
        assert!(view.apply(&[delta(WireSide::Buy, 99, 4, 2)]).is_empty());
        let change = view.apply(&[delta(WireSide::Buy, 100, 0, 0)]);
        assert_eq!(change.bids, vec![level(99, 4, 2), level(100, 0, 0)]);
    }

    proptest::proptest! {
        /// Snapshot plus visible changes always equal the view's own top: what a client
        /// rebuilds is exactly what `orderBook(depth)` would answer.
        #[test]
        fn snapshot_plus_changes_equal_the_top(
            depth in 1usize..4,
            steps in proptest::collection::vec((proptest::bool::ANY, 95u64..106, 0u64..4), 0..60),
        ) {
            let mut view = BookView::new(depth, &[], &[]);
            let mut bids: BTreeMap<u64, Entry> = BTreeMap::new();
            let mut asks: BTreeMap<u64, Entry> = BTreeMap::new();
            for (buy, price, qty) in steps {
                let side = if buy { WireSide::Buy } else { WireSide::Sell };
                let change = view.apply(&[delta(side, price, qty, u32::from(qty > 0))]);
                client_apply(&mut bids, &change.bids);
                client_apply(&mut asks, &change.asks);
                let client_bids: Vec<Level> = bids.iter().rev().map(|(p, (q, n))| level(*p, *q, *n)).collect();
                let client_asks: Vec<Level> = asks.iter().map(|(p, (q, n))| level(*p, *q, *n)).collect();
                proptest::prop_assert_eq!(client_bids, view.top_bids());
                proptest::prop_assert_eq!(client_asks, view.top_asks());
            }
        }
    }
}
