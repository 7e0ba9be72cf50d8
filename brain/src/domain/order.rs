//! What a valid order is, and what it must hold: everything `placeOrder` checks before it
//! touches the database.

use common::money::{self, MoneyError};
use engine::{
    Side, TimeInForce,
    book::{MAX_PRICE, MAX_QTY},
    market::{Asset, required_hold},
};

use super::market::{MarketSpec, MarketStatus};
use crate::BrainError;

/// Limit or market.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    /// At a price or better; may rest.
    Limit,
    /// At any price; never rests.
    Market,
}

/// An order as the trader typed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaceRequest<'a> {
    /// Buy or sell.
    pub side: Side,
    /// Limit or market.
    pub kind: OrderKind,
    /// Decimal price in the quote asset (limit orders only).
    pub price: Option<&'a str>,
    /// Decimal quantity in the base asset.
    pub quantity: &'a str,
    /// Lifetime.
    pub tif: TimeInForce,
    /// Refuse to take liquidity.
    pub post_only: bool,
    /// The trader's own id, for idempotent retries.
    pub client_order_id: Option<&'a str>,
}

/// An order that passed every check, in integers, with its hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidOrder {
    /// Buy or sell.
    pub side: Side,
    /// Limit price in ticks; `None` for a market order.
    pub price: Option<u64>,
    /// Quantity in lots.
    pub qty: u64,
    /// For a market BUY: the budget the engine may spend (equal to the hold).
    pub quote_budget: Option<u64>,
    /// Lifetime.
    pub tif: TimeInForce,
    /// Refuse to take liquidity.
    pub post_only: bool,
    /// What to move from available to held.
    pub hold: u64,
    /// In which of the market's assets the hold is.
    pub hold_asset: Asset,
}

/// The longest client order id.
pub const MAX_CLIENT_ORDER_ID: usize = 64;

/// Checks an order against its market. `last_price` (ticks) anchors the price band and a
/// market BUY's budget.
///
/// A market BUY holds what its quantity would cost at the top of the band, so that it can
/// never spend more than the trader saw coming; with no trade yet there is no band, and
/// market BUYs are refused until the first trade.
///
/// # Errors
/// `MARKET_HALTED` for a halted market; otherwise `BAD_USER_INPUT` naming the rule broken.
pub fn validate(
    market: &MarketSpec,
    req: &PlaceRequest<'_>,
    last_price: Option<u64>,
) -> Result<ValidOrder, BrainError> {
    if market.status == MarketStatus::Halted {
        return Err(BrainError::MarketHalted(market.symbol.clone()));
    }
    if let Some(id) = req.client_order_id {
        let ok = (1..=MAX_CLIENT_ORDER_ID).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            return Err(BrainError::invalid(format!(
                "clientOrderId must be 1 to {MAX_CLIENT_ORDER_ID} printable ASCII characters"
            )));
        }
    }
    let rules = market.rules().ok_or_else(|| {
        BrainError::Internal(anyhow::anyhow!("market {} has no rules", market.symbol))
    })?;
    let qty = quantity_lots(market, req.quantity)?;
    let price = match (req.kind, req.price) {
        (OrderKind::Limit, Some(p)) => Some(price_ticks(market, p, last_price)?),
        (OrderKind::Limit, None) => return Err(BrainError::invalid("a limit order needs a price")),
        (OrderKind::Market, Some(_)) => {
            return Err(BrainError::invalid("a market order takes no price"));
        }
        (OrderKind::Market, None) => None,
    };
    if req.post_only && (req.kind == OrderKind::Market || req.tif != TimeInForce::Gtc) {
        return Err(BrainError::invalid(
            "post-only orders must be GTC limit orders",
        ));
    }
    let quote_budget = match (req.side, price) {
        (Side::Buy, None) => {
            let last = last_price.ok_or_else(|| {
                BrainError::invalid("no trade yet to price a market buy: use a limit order")
            })?;
            let (_, ceiling) = band(market, last);
            Some(required_hold(&rules, Side::Buy, Some(ceiling), None, qty).ok_or_else(too_large)?)
        }
        _ => None,
    };
    let hold = required_hold(&rules, req.side, price, quote_budget, qty).ok_or_else(too_large)?;
    if i64::try_from(hold).is_err() {
        return Err(too_large());
    }
    Ok(ValidOrder {
        side: req.side,
        price,
        qty,
        quote_budget,
        tif: req.tif,
        post_only: req.post_only,
        hold,
        hold_asset: match req.side {
            Side::Buy => Asset::Quote,
            Side::Sell => Asset::Base,
        },
    })
}

fn too_large() -> BrainError {
    BrainError::invalid("order value too large")
}

/// A decimal quantity to lots: a positive multiple of the lot, at least the minimum.
fn quantity_lots(market: &MarketSpec, quantity: &str) -> Result<u64, BrainError> {
    let minor = money::parse_positive(quantity, market.base.decimals)
        .map_err(|e| BrainError::invalid(format!("quantity: {e}")))?;
    let lots = money::to_units(minor, market.lot_size).map_err(|e| match e {
        MoneyError::NotMultiple { .. } => BrainError::invalid(format!(
            "quantity must be a multiple of the lot size {}",
            money::format_amount(market.lot_size, market.base.decimals)
        )),
        other => BrainError::invalid(format!("quantity: {other}")),
    })?;
    if minor < market.min_qty {
        return Err(BrainError::invalid(format!(
            "quantity is below the minimum {}",
            money::format_amount(market.min_qty, market.base.decimals)
        )));
    }
    u64::try_from(lots)
        .ok()
        .filter(|l| *l <= MAX_QTY)
        .ok_or_else(|| BrainError::invalid("quantity: too large"))
}

/// A decimal price to ticks: a positive multiple of the tick, inside the band.
fn price_ticks(market: &MarketSpec, price: &str, last: Option<u64>) -> Result<u64, BrainError> {
    let minor = money::parse_positive(price, market.quote.decimals)
        .map_err(|e| BrainError::invalid(format!("price: {e}")))?;
    let ticks = money::to_units(minor, market.tick_size).map_err(|e| match e {
        MoneyError::NotMultiple { .. } => BrainError::invalid(format!(
            "price must be a multiple of the tick size {}",
            money::format_amount(market.tick_size, market.quote.decimals)
        )),
        other => BrainError::invalid(format!("price: {other}")),
    })?;
    let ticks = u64::try_from(ticks)
        .ok()
        .filter(|t| *t <= MAX_PRICE)
        .ok_or_else(|| BrainError::invalid("price: too large"))?;
    if let Some(last) = last {
        let (low, high) = band(market, last);
        if ticks < low || ticks > high {
            return Err(BrainError::invalid(format!(
                "price must be between {} and {} (within {} bps of the last price)",
                market.format_price(low),
                market.format_price(high),
                market.price_band_bps
            )));
        }
    }
    Ok(ticks)
}

/// The lowest and highest price in ticks allowed around `last`: `last ∓ last × band`,
/// rounded inwards, never below one tick.
pub fn band(market: &MarketSpec, last: u64) -> (u64, u64) {
    let width = u128::from(last) * u128::from(market.price_band_bps) / 10_000;
    let width = u64::try_from(width).unwrap_or(u64::MAX);
    (
        last.saturating_sub(width).max(1),
        last.saturating_add(width).min(MAX_PRICE),
    )
}

/// Where an order stands, as the API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// Stored and held for, not yet matched.
    Accepted,
    /// Resting, nothing traded.
    Open,
    /// Some traded; resting, or ended with the rest cancelled.
    PartiallyFilled,
    /// Completely traded.
    Filled,
    /// Cancelled by its owner, by self-trade prevention, or expired (see `reason`).
    Cancelled,
    /// Refused by the matcher (post-only would cross, FOK not fillable, ...).
    Rejected,
}

impl OrderStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Open => "open",
            Self::PartiallyFilled => "partially_filled",
            Self::Filled => "filled",
            Self::Cancelled => "cancelled",
            Self::Rejected => "rejected",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "accepted" => Self::Accepted,
            "open" => Self::Open,
            "partially_filled" => Self::PartiallyFilled,
            "filled" => Self::Filled,
            "cancelled" => Self::Cancelled,
            "rejected" => Self::Rejected,
            _ => return None,
        })
    }

    /// Whether the order can still trade or be cancelled.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Accepted | Self::Open | Self::PartiallyFilled)
    }
}

/// A stored order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Its id (also the engine's).
    pub id: i64,
    /// Its owner.
    pub user_id: uuid::Uuid,
    /// Its market.
    pub market_id: uuid::Uuid,
    /// The trader's own id.
    pub client_order_id: Option<String>,
    /// Buy or sell.
    pub side: Side,
    /// Limit or market.
    pub kind: OrderKind,
    /// Lifetime.
    pub tif: TimeInForce,
    /// Refuses to take liquidity.
    pub post_only: bool,
    /// Limit price in ticks.
    pub price: Option<i64>,
    /// Quantity in lots.
    pub qty: i64,
    /// Lots traded.
    pub filled: i64,
    /// Quote minor units traded (for the average price).
    pub filled_value: i64,
    /// Fees paid, quote minor units.
    pub fees_paid: i64,
    /// Still held for it.
    pub held: i64,
    /// Where it stands.
    pub status: OrderStatus,
    /// Why it ended, when cancelled or rejected.
    pub reason: Option<String>,
    /// When it was placed.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::market::{AssetSpec, NewMarket};

    /// ACME (0 decimals) against USD (2): tick 0.01, lot 1, minimum 1, band 10 %.
    fn acme() -> MarketSpec {
        MarketSpec::new(
            AssetSpec {
                symbol: "ACME".into(),
                decimals: 0,
            },
            AssetSpec {
                symbol: "USD".into(),
                decimals: 2,
            },
            &NewMarket {
                tick_size: "0.05",
                lot_size: "1",
                min_quantity: "2",
                maker_fee_bps: 10,
                taker_fee_bps: 20,
                price_band_bps: None,
            },
        )
        .unwrap()
    }

    fn limit<'a>(side: Side, price: &'a str, qty: &'a str) -> PlaceRequest<'a> {
        PlaceRequest {
            side,
            kind: OrderKind::Limit,
            price: Some(price),
            quantity: qty,
            tif: TimeInForce::Gtc,
            post_only: false,
            client_order_id: None,
        }
    }

    #[test]
    fn a_limit_buy_holds_its_value_and_the_higher_fee_per_lot() {
        let v = validate(&acme(), &limit(Side::Buy, "100.05", "3"), None).unwrap();
        assert_eq!(v.price, Some(2001));
        assert_eq!(v.qty, 3);
        // One lot at 100.05 is 10_005 cents, plus 20 bps rounded up (21): 10_026 per lot.
        assert_eq!(v.hold, 3 * 10_026);
        assert_eq!(v.hold_asset, Asset::Quote);
        let s = validate(&acme(), &limit(Side::Sell, "100", "3"), None).unwrap();
        assert_eq!((s.hold, s.hold_asset), (3, Asset::Base));
    }

    #[test]
    fn every_kind_of_bad_number_is_refused_with_a_clear_message() {
        let cases = [
            ("100.03", "3", "multiple of the tick size 0.05"),
            ("100", "2.5", "quantity: must be a whole number"),
            ("100", "1", "below the minimum 2"),
            ("0", "3", "price: must be positive"),
            ("-5", "3", "price: must not be negative"),
            ("100.001", "3", "price: at most 2 decimal places"),
            (
                "1234567890123456789012345678901234567890",
                "3",
                "price: too large",
            ),
            ("abc", "3", "price: not a decimal number"),
            ("100", "abc", "quantity: not a decimal number"),
            ("100", "0", "quantity: must be positive"),
        ];
        for (price, qty, expected) in cases {
            let err = validate(&acme(), &limit(Side::Buy, price, qty), None).unwrap_err();
            assert!(
                matches!(err, BrainError::InvalidInput(_)),
                "{price} {qty}: {err:?}"
            );
            assert!(err.to_string().contains(expected), "{price} {qty}: {err}");
        }
    }

    #[test]
    fn the_band_keeps_limits_near_the_last_price() {
        // Last 100.00 = 2000 ticks; 10 % band is 1800..=2200 ticks (90.00 to 110.00).
        assert!(validate(&acme(), &limit(Side::Buy, "110", "2"), Some(2000)).is_ok());
        assert!(validate(&acme(), &limit(Side::Buy, "90", "2"), Some(2000)).is_ok());
        let err = validate(&acme(), &limit(Side::Buy, "110.05", "2"), Some(2000)).unwrap_err();
        assert!(err.to_string().contains("between 90 and 110"), "{err}");
    }

    #[test]
    fn market_orders_take_no_price_and_a_market_buy_needs_a_last_price() {
        let mut m = limit(Side::Buy, "1", "2");
        m.kind = OrderKind::Market;
        assert!(validate(&acme(), &m, Some(2000)).is_err());
        m.price = None;
        assert!(validate(&acme(), &m, None).is_err());
        let v = validate(&acme(), &m, Some(2000)).unwrap();
        // Budget at the band's top (110.00): 11_000 + 22 fee per lot.
        assert_eq!(v.quote_budget, Some(2 * 11_022));
        assert_eq!(v.hold, 2 * 11_022);
        let mut sell = m;
        sell.side = Side::Sell;
        assert_eq!(validate(&acme(), &sell, None).unwrap().hold, 2);
    }

    #[test]
    fn post_only_is_for_resting_limits_and_halted_markets_refuse() {
        let mut p = limit(Side::Sell, "100", "2");
        p.post_only = true;
        p.tif = TimeInForce::Ioc;
        assert!(validate(&acme(), &p, None).is_err());
        let mut halted = acme();
        halted.status = MarketStatus::Halted;
        let err = validate(&halted, &limit(Side::Sell, "100", "2"), None).unwrap_err();
        assert!(matches!(err, BrainError::MarketHalted(_)));
    }

    #[test]
    fn client_order_ids_are_short_and_printable() {
        let mut p = limit(Side::Sell, "100", "2");
        p.client_order_id = Some("my-order-1");
        assert!(validate(&acme(), &p, None).is_ok());
        let long = "x".repeat(65);
        for bad in ["", "with space", long.as_str()] {
            p.client_order_id = Some(bad);
            assert!(validate(&acme(), &p, None).is_err(), "{bad:?}");
        }
    }
}
