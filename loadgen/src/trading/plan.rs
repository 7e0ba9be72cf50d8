//! What the trading load sends, and when: a pure function of the order's number, so that the
//! workers need no shared state beyond a counter and the tests can check the rules.
//!
//! Orders come in pairs. Order `2m` is a *maker*: a post-only GTC limit SELL of `qty` at a
//! price drawn from `mid ± spread` ticks, placed by one of the maker traders. Order `2m + 1`
//! is a *taker*: an IOC limit BUY of the same `qty` at `mid + 2 × spread` ticks (above every
//! maker), placed by one of the taker traders. Makers and takers are different accounts, so
//! self-trade prevention never fires.
//!
//! Why the taker does not bid exactly its own maker's price: pairs are in flight
//! concurrently, and a taker takes the *best* ask, not its partner's. Had taker A bid its
//! maker's 100.10 and taken pair B's ask at 99.95, taker B's bid at 99.95 would then find
//! only A's 100.10 and cancel unfilled, leaving A's ask in the book for good. Bidding above
//! every maker price, each taker of `qty` meets asks of `qty` (every resting ask is whole:
//! each taker takes exactly one), so every taker fills exactly once as long as the book holds
//! an ask when it arrives. The run seeds the book with asks first (more than the orders that
//! can be in flight at once), so it always does: one trade per taker, and the book stays at
//! about the seed's size. The trade price is the maker's, so trades still spread over the
//! band.

use std::time::{Duration, Instant};

/// Buy or sell, as GraphQL spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `BUY`.
    Buy,
    /// `SELL`.
    Sell,
}

impl Side {
    /// The GraphQL enum value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buy => "BUY",
            Self::Sell => "SELL",
        }
    }
}

/// What a `clientOrderId` of this run stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// Order `k` of the measured stream.
    Order(u64),
    /// Ask `i` of the book's seed.
    Seed(u64),
    /// Probe `attempt` of trader `trader` (proves its `myOrders` subscription delivers; each
    /// attempt needs its own id, as a repeated id returns the first order).
    Probe {
        /// The trader.
        trader: u64,
        /// The attempt.
        attempt: u64,
    },
}

/// `clientOrderId`s of one run: `<run>-<k>`, `<run>-s<i>`, `<run>-p<t>x<attempt>`. The run part keeps
/// them unique across runs against one server (ids are per trader, and traders are fresh
/// for each run anyway).
#[derive(Debug, Clone)]
pub struct Ids {
    run: String,
}

impl Ids {
    /// Ids of run `run` (printable ASCII without `-`, a few characters).
    pub fn new(run: impl Into<String>) -> Self {
        Self { run: run.into() }
    }

    /// The run part.
    pub fn run(&self) -> &str {
        &self.run
    }

    /// The id of `tag`.
    pub fn id(&self, tag: Tag) -> String {
        match tag {
            Tag::Order(k) => format!("{}-{k}", self.run),
            Tag::Seed(i) => format!("{}-s{i}", self.run),
            Tag::Probe { trader, attempt } => format!("{}-p{trader}x{attempt}", self.run),
        }
    }

    /// What `id` stands for, if it is one of this run's.
    pub fn parse(&self, id: &str) -> Option<Tag> {
        let (run, rest) = id.split_once('-')?;
        if run != self.run {
            return None;
        }
        if let Some(i) = rest.strip_prefix('s') {
            i.parse().ok().map(Tag::Seed)
        } else if let Some(probe) = rest.strip_prefix('p') {
            let (trader, attempt) = probe.split_once('x')?;
            Some(Tag::Probe {
                trader: trader.parse().ok()?,
                attempt: attempt.parse().ok()?,
            })
        } else {
            rest.parse().ok().map(Tag::Order)
        }
    }
}

/// One order to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedOrder {
    /// Index into the run's traders.
    pub trader: usize,
    /// Buy or sell.
    pub side: Side,
    /// Whether it is the taker of its pair.
    pub taker: bool,
    /// Limit price in ticks.
    pub price_ticks: u64,
    /// `GTC` or `IOC`.
    pub time_in_force: &'static str,
    /// Post-only (the makers: they must rest).
    pub post_only: bool,
}

/// The rules of a run's orders.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Number of traders; the first half make, the rest take.
    pub traders: usize,
    /// Centre of the maker prices, in ticks.
    pub mid_ticks: u64,
    /// Half-width of the maker prices, in ticks.
    pub spread_ticks: u64,
    /// A seed for the maker prices.
    pub seed: u64,
}

impl Plan {
    /// Traders who place the asks.
    pub fn makers(&self) -> usize {
        (self.traders / 2).max(1)
    }

    /// Traders who take them.
    pub fn takers(&self) -> usize {
        self.traders.saturating_sub(self.makers()).max(1)
    }

    /// Whether trader `t` is a maker.
    pub fn is_maker(&self, t: usize) -> bool {
        t < self.makers()
    }

    /// The bid of every taker: above every maker price.
    pub fn taker_price(&self) -> u64 {
        self.mid_ticks + 2 * self.spread_ticks
    }

    /// A price that crosses nothing the run rests: the probes' IOC bids.
    pub fn probe_price(&self) -> u64 {
        self.mid_ticks.saturating_sub(3 * self.spread_ticks).max(1)
    }

    /// The price of maker `n` (order pair or seed): spread evenly-ish over the band.
    pub fn maker_price(&self, n: u64) -> u64 {
        let width = 2 * self.spread_ticks + 1;
        let offset = splitmix64(n ^ self.seed) % width;
        (self.mid_ticks + offset)
            .saturating_sub(self.spread_ticks)
            .max(1)
    }

    /// Order `k` of the stream.
    pub fn order(&self, k: u64) -> PlannedOrder {
        let pair = k / 2;
        if k.is_multiple_of(2) {
            PlannedOrder {
                trader: index(pair, self.makers()),
                side: Side::Sell,
                taker: false,
                price_ticks: self.maker_price(pair),
                time_in_force: "GTC",
                post_only: true,
            }
        } else {
            PlannedOrder {
                trader: self.makers() + index(pair, self.takers()),
                side: Side::Buy,
                taker: true,
                price_ticks: self.taker_price(),
                time_in_force: "IOC",
                post_only: false,
            }
        }
    }

    /// Seed ask `i`: a maker order outside the stream's numbering.
    pub fn seed_order(&self, i: u64) -> PlannedOrder {
        PlannedOrder {
            trader: index(i, self.makers()),
            side: Side::Sell,
            taker: false,
            price_ticks: self.maker_price(i.wrapping_add(1 << 40)),
            time_in_force: "GTC",
            post_only: true,
        }
    }
}

fn index(n: u64, of: usize) -> usize {
    usize::try_from(n % u64::try_from(of.max(1)).unwrap_or(1)).unwrap_or(0)
}

/// A well-mixed 64-bit hash (the SplitMix64 finaliser).
pub(crate) fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// When order `k` is due in an open-loop run: `start + k / rate`, whatever happened to the
/// orders before it, so a slow answer cannot delay the next sends (no coordinated omission).
#[derive(Debug, Clone, Copy)]
pub struct Pacer {
    start: Instant,
    nanos_per_order: f64,
}

impl Pacer {
    /// `rate` orders per second from `start`.
    pub fn new(start: Instant, rate: f64) -> Self {
        Self {
            start,
            nanos_per_order: 1e9 / rate,
        }
    }

    /// The instant order `k` is due.
    pub fn due(&self, k: u64) -> Instant {
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let nanos = (k as f64 * self.nanos_per_order) as u64;
        self.start + Duration::from_nanos(nanos)
    }

    /// The orders due by `now` (`0..n`).
    pub fn due_by(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.start).as_nanos();
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let n = (elapsed as f64 / self.nanos_per_order).floor() as u64;
        n + 1
    }
}

/// Minor units of a decimal string with `decimals` digits after the point (`"0.01"`, 2 → 1).
pub fn parse_units(s: &str, decimals: u32) -> Option<u64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let decimals = usize::try_from(decimals).ok()?;
    if frac.len() > decimals || int.is_empty() && frac.is_empty() {
        return None;
    }
    let int: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_value: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    let scale = 10u64.checked_pow(u32::try_from(decimals).ok()?)?;
    let frac_scale = 10u64.checked_pow(u32::try_from(decimals - frac.len()).ok()?)?;
    int.checked_mul(scale)?
        .checked_add(frac_value.checked_mul(frac_scale)?)
}

/// The decimal string of `units` minor units with `decimals` digits (`1050`, 2 → `"10.50"`).
pub fn format_units(units: u64, decimals: u32) -> String {
    if decimals == 0 {
        return units.to_string();
    }
    let scale = 10u64.pow(decimals);
    format!(
        "{}.{:0width$}",
        units / scale,
        units % scale,
        width = usize::try_from(decimals).unwrap_or(0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan {
            traders: 8,
            mid_ticks: 10_000,
            spread_ticks: 50,
            seed: 7,
        }
    }

    #[test]
    fn ids_round_trip_and_ignore_other_runs() {
        let ids = Ids::new("ab12");
        for tag in [
            Tag::Order(0),
            Tag::Order(123_456),
            Tag::Seed(3),
            Tag::Probe {
                trader: 7,
                attempt: 2,
            },
        ] {
            assert_eq!(ids.parse(&ids.id(tag)), Some(tag));
        }
        assert_eq!(ids.parse("zz99-5"), None);
        assert_eq!(ids.parse("ab12-x"), None);
        assert_eq!(ids.parse("ab12-p3"), None);
        assert_eq!(ids.parse("nodash"), None);
        assert!(ids.id(Tag::Order(u64::MAX)).len() <= 64);
    }

    #[test]
    fn pairs_are_a_maker_sell_then_a_taker_buy_from_another_account() {
        let p = plan();
        for pair in 0..1_000 {
            let maker = p.order(2 * pair);
            let taker = p.order(2 * pair + 1);
            assert_eq!(
                (maker.side, maker.taker, maker.post_only),
                (Side::Sell, false, true)
            );
            assert_eq!(maker.time_in_force, "GTC");
            assert_eq!(
                (taker.side, taker.taker, taker.post_only),
                (Side::Buy, true, false)
            );
            assert_eq!(taker.time_in_force, "IOC");
            assert!(p.is_maker(maker.trader) && !p.is_maker(taker.trader));
            assert!(taker.trader < p.traders);
            // The taker's bid is above every maker price: it always meets the best ask.
            assert!(taker.price_ticks > maker.price_ticks);
            assert!(maker.price_ticks.abs_diff(p.mid_ticks) <= p.spread_ticks);
            assert!(p.probe_price() < maker.price_ticks);
        }
    }

    #[test]
    fn maker_prices_cover_the_band_and_traders_take_turns() {
        let p = plan();
        let prices: std::collections::BTreeSet<u64> =
            (0..10_000).map(|m| p.maker_price(m)).collect();
        assert_eq!(prices.first(), Some(&(p.mid_ticks - p.spread_ticks)));
        assert_eq!(prices.last(), Some(&(p.mid_ticks + p.spread_ticks)));
        assert!(prices.len() > 90, "{} distinct prices", prices.len());
        let makers: std::collections::BTreeSet<usize> = (0..8).map(|k| p.order(k).trader).collect();
        assert_eq!(makers, [0, 1, 2, 3, 4, 5, 6, 7].into_iter().collect());
        // The band rule of brain (10 % of the last price by default): every price the run
        // sends, probes included, stays well inside it whichever maker price traded last.
        for last in [p.mid_ticks - p.spread_ticks, p.mid_ticks + p.spread_ticks] {
            let width = last / 10;
            for price in [p.taker_price(), p.probe_price()] {
                assert!(price.abs_diff(last) < width / 2, "{price} vs last {last}");
            }
        }
    }

    #[test]
    fn the_pacer_spaces_orders_from_the_start_not_from_the_last_answer() {
        let start = Instant::now();
        let pacer = Pacer::new(start, 1_000.0);
        assert_eq!(pacer.due(0), start);
        assert_eq!(pacer.due(1), start + Duration::from_millis(1));
        assert_eq!(pacer.due(2_500), start + Duration::from_millis(2_500));
        assert_eq!(pacer.due_by(start), 1);
        assert_eq!(pacer.due_by(start + Duration::from_micros(999)), 1);
        assert_eq!(pacer.due_by(start + Duration::from_millis(1)), 2);
        assert_eq!(pacer.due_by(start + Duration::from_secs(3)), 3_001);
        let fast = Pacer::new(start, 30_000.0);
        assert_eq!(fast.due(30_000), start + Duration::from_secs(1));
    }

    #[test]
    fn decimal_units() {
        assert_eq!(parse_units("0.01", 2), Some(1));
        assert_eq!(parse_units("1", 0), Some(1));
        assert_eq!(parse_units("100.5", 2), Some(10_050));
        assert_eq!(parse_units("100.123", 2), None);
        assert_eq!(parse_units("abc", 2), None);
        assert_eq!(parse_units("", 2), None);
        assert_eq!(format_units(10_050, 2), "100.50");
        assert_eq!(format_units(7, 2), "0.07");
        assert_eq!(format_units(3, 0), "3");
    }
}
