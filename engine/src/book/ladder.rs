//! One side's price levels: a dense window of levels indexed by tick around where trading
//! happens, with a bitset of the non-empty ones (so the next level is a few word scans
//! away), and a sparse `BTreeMap` for prices outside the window. The window re-centres on
//! the next insert whenever it holds no level.

use std::collections::BTreeMap;

use super::types::Side;

/// "No node" in the intrusive lists.
pub const NIL: u32 = u32::MAX;

/// Number of ticks in the dense window.
const WINDOW: usize = 1 << 14;
const WORDS: usize = WINDOW / 64;

/// A price level: an intrusive FIFO of order slots plus its aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// Oldest order (first to trade).
    pub head: u32,
    /// Newest order.
    pub tail: u32,
    /// Total open quantity.
    pub qty: u64,
    /// Number of orders.
    pub count: u32,
}

impl Level {
    const EMPTY: Level = Level {
        head: NIL,
        tail: NIL,
        qty: 0,
        count: 0,
    };

    /// Whether the level holds no order.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// One side's levels.
#[derive(Debug, Clone)]
pub struct Ladder {
    side: Side,
    /// Price of `dense[0]`.
    base: u64,
    dense: Vec<Level>,
    bits: Vec<u64>,
    /// Non-empty dense levels.
    dense_levels: usize,
    sparse: BTreeMap<u64, Level>,
    best: Option<u64>,
}

impl Ladder {
    /// An empty side.
    pub fn new(side: Side) -> Self {
        Self {
            side,
            base: 0,
            dense: vec![Level::EMPTY; WINDOW],
            bits: vec![0; WORDS],
            dense_levels: 0,
            sparse: BTreeMap::new(),
            best: None,
        }
    }

    /// The best price (highest bid, lowest ask).
    #[inline]
    pub fn best(&self) -> Option<u64> {
        self.best
    }

    #[inline]
    fn slot(&self, price: u64) -> Option<usize> {
        let offset = price.checked_sub(self.base)?;
        (offset < WINDOW as u64).then_some(offset as usize)
    }

    /// Whether `a` is a better price than `b` on this side.
    #[inline]
    pub fn better(&self, a: u64, b: u64) -> bool {
        match self.side {
            Side::Buy => a > b,
            Side::Sell => a < b,
        }
    }

    /// The level at `price`, if it holds orders.
    #[inline]
    pub fn get(&self, price: u64) -> Option<&Level> {
        let level = match self.slot(price) {
            Some(i) => &self.dense[i],
            None => self.sparse.get(&price)?,
        };
        (!level.is_empty()).then_some(level)
    }

    /// The level at `price`, which must hold orders.
    #[inline]
    pub fn get_mut(&mut self, price: u64) -> Option<&mut Level> {
        match self.slot(price) {
            Some(i) => Some(&mut self.dense[i]),
            None => self.sparse.get_mut(&price),
        }
    }

    /// The level at `price`, created empty (and made best if it is) when missing. The
    /// caller then links an order into it.
    #[inline]
    pub fn get_or_insert(&mut self, price: u64) -> &mut Level {
        if self.dense_levels == 0 && self.slot(price).is_none() {
            self.recentre(price);
        }
        if self.best.is_none_or(|b| self.better(price, b)) {
            self.best = Some(price);
        }
        match self.slot(price) {
            Some(i) => {
                if self.dense[i].is_empty() {
                    self.bits[i / 64] |= 1 << (i % 64);
                    self.dense_levels += 1;
                }
                &mut self.dense[i]
            }
            None => self.sparse.entry(price).or_insert(Level::EMPTY),
        }
    }

    /// Forgets the level at `price`, which the caller emptied.
    #[inline]
    pub fn remove_empty(&mut self, price: u64) {
        match self.slot(price) {
            Some(i) => {
                self.dense[i] = Level::EMPTY;
                self.bits[i / 64] &= !(1 << (i % 64));
                self.dense_levels -= 1;
            }
            None => {
                self.sparse.remove(&price);
            }
        }
        if self.best == Some(price) {
            self.best = self.next_after(price);
        }
    }

    /// The next non-empty price strictly worse than `price`.
    #[inline]
    pub fn next_after(&self, price: u64) -> Option<u64> {
        let dense = self.dense_next_after(price);
        let sparse = match self.side {
            Side::Buy => self.sparse.range(..price).next_back().map(|(p, _)| *p),
            Side::Sell => self
                .sparse
                .range(price.saturating_add(1)..)
                .next()
                .map(|(p, _)| *p),
        };
        match (dense, sparse) {
            (Some(d), Some(s)) => Some(if self.better(d, s) { d } else { s }),
            (d, s) => d.or(s),
        }
    }

    #[inline]
    fn dense_next_after(&self, price: u64) -> Option<u64> {
        if self.dense_levels == 0 {
            return None;
        }
        match self.side {
            // Bids: the next lower price.
            Side::Buy => {
                let start = if price <= self.base {
                    return None;
                } else if price - self.base > WINDOW as u64 {
                    WINDOW - 1
                } else {
                    (price - self.base - 1) as usize
                };
                let mut word = start / 64;
                let mut bits = self.bits[word] & (u64::MAX >> (63 - start % 64));
                loop {
                    if bits != 0 {
                        let i = word * 64 + 63 - bits.leading_zeros() as usize;
                        return Some(self.base + i as u64);
                    }
                    if word == 0 {
                        return None;
                    }
                    word -= 1;
                    bits = self.bits[word];
                }
            }
            // Asks: the next higher price.
            Side::Sell => {
                let start = if price < self.base {
                    0
                } else {
                    let offset = price - self.base + 1;
                    if offset >= WINDOW as u64 {
                        return None;
                    }
                    offset as usize
                };
                let mut word = start / 64;
                let mut bits = self.bits[word] & (u64::MAX << (start % 64));
                loop {
                    if bits != 0 {
                        return Some(
                            self.base + (word * 64) as u64 + u64::from(bits.trailing_zeros()),
                        );
                    }
                    word += 1;
                    if word == WORDS {
                        return None;
                    }
                    bits = self.bits[word];
                }
            }
        }
    }

    /// Moves the empty window so that `price` sits in its middle, pulling in any sparse
    /// levels that now fall inside it.
    fn recentre(&mut self, price: u64) {
        self.base = price.saturating_sub(WINDOW as u64 / 2);
        let end = self.base.saturating_add(WINDOW as u64);
        let inside: Vec<u64> = self.sparse.range(self.base..end).map(|(p, _)| *p).collect();
        for p in inside {
            if let Some(level) = self.sparse.remove(&p) {
                let i = (p - self.base) as usize;
                self.dense[i] = level;
                self.bits[i / 64] |= 1 << (i % 64);
                self.dense_levels += 1;
            }
        }
    }

    /// Every non-empty level, best first.
    pub fn levels(&self) -> impl Iterator<Item = (u64, &Level)> + '_ {
        let mut next = self.best;
        std::iter::from_fn(move || {
            let price = next?;
            next = self.next_after(price);
            self.get(price).map(|level| (price, level))
        })
    }

    /// Consistency of the bitset, counters and best price (tests call it after every
    /// command, so it walks the bitset rather than all the window's levels; a non-empty
    /// level without its bit would hide its orders, which `Book::check_invariants` counts).
    pub fn check(&self) -> Result<(), String> {
        let mut non_empty = 0;
        let mut dense_best: Option<u64> = None;
        for (word, bits) in self.bits.iter().enumerate() {
            let mut rest = *bits;
            while rest != 0 {
                let i = word * 64 + rest.trailing_zeros() as usize;
                rest &= rest - 1;
                let price = self.base + i as u64;
                if self.dense[i].is_empty() {
                    return Err(format!(
                        "{:?} dense level {price} has its bit but no order",
                        self.side
                    ));
                }
                non_empty += 1;
                if dense_best.is_none_or(|b| self.better(price, b)) {
                    dense_best = Some(price);
                }
            }
        }
        if non_empty != self.dense_levels {
            return Err(format!(
                "{:?} dense_levels {} but {non_empty} set",
                self.side, self.dense_levels
            ));
        }
        if let Some((p, _)) = self.sparse.iter().find(|(_, l)| l.is_empty()) {
            return Err(format!("{:?} empty sparse level at {p}", self.side));
        }
        if let Some(p) = self.sparse.keys().find(|p| self.slot(**p).is_some()) {
            return Err(format!(
                "{:?} sparse level {p} inside the window",
                self.side
            ));
        }
        let sparse_best = match self.side {
            Side::Buy => self.sparse.keys().next_back(),
            Side::Sell => self.sparse.keys().next(),
        };
        let actual = match (dense_best, sparse_best.copied()) {
            (Some(d), Some(s)) => Some(if self.better(d, s) { d } else { s }),
            (d, s) => d.or(s),
        };
        if actual != self.best {
            return Err(format!(
                "{:?} best cached {:?} but actual {actual:?}",
                self.side, self.best
            ));
        }
        Ok(())
    }
}
