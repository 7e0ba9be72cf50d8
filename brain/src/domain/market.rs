//! Assets and markets: what an admin may list, and a market's rules in integers.

use common::money::{self, MoneyError};
use engine::{BookConfig, market::MarketRules};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::BrainError;

/// An asset's identity and precision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetSpec {
    /// Upper-case symbol, `[A-Z0-9]{1,12}`.
    pub symbol: String,
    /// Digits after the decimal point of its minor unit (0–18; new assets 0–8).
    pub decimals: u8,
}

/// Checks an asset symbol: 1–12 upper-case letters and digits.
///
/// # Errors
/// [`BrainError::InvalidInput`] otherwise.
pub fn validate_symbol(symbol: &str) -> Result<(), BrainError> {
    let ok = (1..=12).contains(&symbol.len())
        && symbol
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(BrainError::invalid(
            "symbol must be 1 to 12 upper-case letters or digits",
        ))
    }
}

/// Whether a market is trading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MarketStatus {
    /// Orders are accepted.
    Open,
    /// New orders are refused with `MARKET_HALTED`; cancels still work.
    Halted,
}

/// The most a fee may be, in basis points (10 %): keeps a seller's fee below the value.
pub const MAX_FEE_BPS: u32 = 1_000;

/// A market in integers (decision 0005, "Units").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketSpec {
    /// `BASE-QUOTE`.
    pub symbol: String,
    /// The asset traded.
    pub base: AssetSpec,
    /// The asset prices are in.
    pub quote: AssetSpec,
    /// Quote minor units per whole base unit in one tick.
    pub tick_size: i64,
    /// Base minor units in one lot.
    pub lot_size: i64,
    /// Smallest order, base minor units (a multiple of the lot).
    pub min_qty: i64,
    /// How far from the last price a limit may be, in basis points.
    pub price_band_bps: u32,
    /// Fee of the resting side.
    pub maker_fee_bps: u32,
    /// Fee of the incoming side.
    pub taker_fee_bps: u32,
    /// Open or halted.
    pub status: MarketStatus,
}

/// What an admin asks for when listing a market: decimal strings as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMarket<'a> {
    /// Price increment in the quote asset, e.g. `"0.01"`.
    pub tick_size: &'a str,
    /// Quantity increment in the base asset, e.g. `"0.001"`.
    pub lot_size: &'a str,
    /// Smallest order in the base asset.
    pub min_quantity: &'a str,
    /// Fee of the resting side.
    pub maker_fee_bps: i32,
    /// Fee of the incoming side.
    pub taker_fee_bps: i32,
    /// Band around the last price, basis points (None: 10 %).
    pub price_band_bps: Option<i32>,
}

impl MarketSpec {
    /// Validates an admin's new market over two listed assets.
    ///
    /// # Errors
    /// [`BrainError::InvalidInput`] naming the field: a number that does not parse, a tick
    /// and lot whose product is not a whole number of quote minor units, a minimum that is
    /// not a lot multiple, fees outside `0..=1000`, the same asset on both sides.
    pub fn new(base: AssetSpec, quote: AssetSpec, m: &NewMarket<'_>) -> Result<Self, BrainError> {
        if base.symbol == quote.symbol {
            return Err(BrainError::invalid("base and quote must differ"));
        }
        let field = |name: &str, e: MoneyError| BrainError::invalid(format!("{name}: {e}"));
        let tick_size =
            money::parse_positive(m.tick_size, quote.decimals).map_err(|e| field("tickSize", e))?;
        let lot_size =
            money::parse_positive(m.lot_size, base.decimals).map_err(|e| field("lotSize", e))?;
        let min_qty = money::parse_positive(m.min_quantity, base.decimals)
            .map_err(|e| field("minQuantity", e))?;
        money::to_units(min_qty, lot_size).map_err(|e| field("minQuantity", e))?;
        let bps = |name: &str, v: i32, max: u32| {
            u32::try_from(v)
                .ok()
                .filter(|v| *v <= max)
                .ok_or_else(|| BrainError::invalid(format!("{name} must be between 0 and {max}")))
        };
        let spec = Self {
            symbol: format!("{}-{}", base.symbol, quote.symbol),
            tick_size,
            lot_size,
            min_qty,
            maker_fee_bps: bps("makerFeeBps", m.maker_fee_bps, MAX_FEE_BPS)?,
            taker_fee_bps: bps("takerFeeBps", m.taker_fee_bps, MAX_FEE_BPS)?,
            price_band_bps: bps("priceBandBps", m.price_band_bps.unwrap_or(1_000), 9_999)?,
            status: MarketStatus::Open,
            base,
            quote,
        };
        if spec.quote_per_tick_lot().is_none() {
            return Err(BrainError::invalid(
                "tickSize × lotSize must be a whole number of the quote asset's minor units",
            ));
        }
        Ok(spec)
    }

    /// Quote minor units of one tick of one lot, when that is a positive integer.
    pub fn quote_per_tick_lot(&self) -> Option<u64> {
        let product = i128::from(self.tick_size) * i128::from(self.lot_size);
        let scale = 10i128.checked_pow(u32::from(self.base.decimals))?;
        (product % scale == 0)
            .then(|| product / scale)
            .and_then(|q| u64::try_from(q).ok())
            .filter(|q| *q > 0)
    }

    /// The rules the engine needs.
    pub fn rules(&self) -> Option<MarketRules> {
        Some(MarketRules {
            book: BookConfig {
                quote_per_tick_lot: self.quote_per_tick_lot()?,
                maker_fee_bps: self.maker_fee_bps,
                taker_fee_bps: self.taker_fee_bps,
            },
            lot_size: u64::try_from(self.lot_size).ok()?,
        })
    }

    /// A price in ticks as the API shows it (quote per whole base unit).
    pub fn format_price(&self, ticks: u64) -> String {
        let minor = i64::try_from(ticks)
            .ok()
            .and_then(|t| t.checked_mul(self.tick_size));
        minor.map_or_else(
            || "overflow".to_owned(),
            |m| money::format_amount(m, self.quote.decimals),
        )
    }

    /// A quantity in lots as the API shows it (base units).
    pub fn format_qty(&self, lots: u64) -> String {
        let minor = i64::try_from(lots)
            .ok()
            .and_then(|l| l.checked_mul(self.lot_size));
        minor.map_or_else(
            || "overflow".to_owned(),
            |m| money::format_amount(m, self.base.decimals),
        )
    }
}

/// The longest asset name, in characters.
pub const MAX_ASSET_NAME: usize = 64;
/// The longest asset kind, in characters.
pub const MAX_ASSET_KIND: usize = 32;

/// A listed asset with its id: what balances, amounts and markets are denominated in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// Stable id.
    pub id: Uuid,
    /// Upper-case symbol, `[A-Z0-9]{1,12}`, unique.
    pub symbol: String,
    /// Human name (`"US Dollar"`).
    pub name: String,
    /// Free-form class, lower-case (`"cash"`, `"equity"`, `"token"`).
    pub kind: String,
    /// Digits after the decimal point of its minor unit (0–18; new assets 0–8).
    pub decimals: u8,
}

impl Asset {
    /// The part of the asset the market rules need.
    pub fn spec(&self) -> AssetSpec {
        AssetSpec {
            symbol: self.symbol.clone(),
            decimals: self.decimals,
        }
    }

    /// An amount of this asset in minor units, as the API shows it.
    pub fn format(&self, minor: i64) -> String {
        money::format_amount(minor, self.decimals)
    }
}

/// An asset an admin asks to list, checked and normalised (no id yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAsset {
    /// Checked by [`validate_symbol`].
    pub symbol: String,
    /// Trimmed, 1–[`MAX_ASSET_NAME`] characters, no control characters.
    pub name: String,
    /// Trimmed and lower-cased, 1–[`MAX_ASSET_KIND`] of `[a-z0-9_-]`.
    pub kind: String,
    /// 0–[`money::MAX_LISTED_DECIMALS`].
    pub decimals: u8,
}

impl NewAsset {
    /// Validates an admin's new asset.
    ///
    /// # Errors
    /// [`BrainError::InvalidInput`] naming the field.
    pub fn new(symbol: &str, name: &str, kind: &str, decimals: i32) -> Result<Self, BrainError> {
        validate_symbol(symbol)?;
        let name = name.trim();
        if name.is_empty()
            || name.chars().count() > MAX_ASSET_NAME
            || name.chars().any(char::is_control)
        {
            return Err(BrainError::invalid(format!(
                "name must be 1 to {MAX_ASSET_NAME} printable characters"
            )));
        }
        let kind = kind.trim().to_ascii_lowercase();
        let kind_ok = (1..=MAX_ASSET_KIND).contains(&kind.len())
            && kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !kind_ok {
            return Err(BrainError::invalid(format!(
                "kind must be 1 to {MAX_ASSET_KIND} letters, digits, '-' or '_'"
            )));
        }
        let decimals = u8::try_from(decimals)
            .ok()
            .filter(|d| *d <= money::MAX_LISTED_DECIMALS)
            .ok_or_else(|| {
                BrainError::invalid(format!(
                    "decimals must be between 0 and {max}: amounts are 64-bit numbers of \
                     minor units, and with {max} decimals an asset can still issue {supply} \
                     units",
                    max = money::MAX_LISTED_DECIMALS,
                    supply = money::format_amount(money::MAX_SUPPLY, money::MAX_LISTED_DECIMALS),
                ))
            })?;
        Ok(Self {
            symbol: symbol.to_owned(),
            name: name.to_owned(),
            kind,
            decimals,
        })
    }
}

impl MarketStatus {
    /// The stored spelling (`open`, `halted`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Halted => "halted",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Self::Open),
            "halted" => Some(Self::Halted),
            _ => None,
        }
    }
}

/// A listed market with its id and its two assets in full. `spec` carries the integer
/// rules (its `base`/`quote` are the same assets' symbols and decimals).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Market {
    /// Stable id.
    pub id: Uuid,
    /// The rules in integers.
    pub spec: MarketSpec,
    /// The asset traded.
    pub base: Asset,
    /// The asset prices are in.
    pub quote: Asset,
}

impl Market {
    /// The tick as the API shows it (quote per whole base unit).
    pub fn tick_size_text(&self) -> String {
        self.quote.format(self.spec.tick_size)
    }

    /// The lot as the API shows it (base units).
    pub fn lot_size_text(&self) -> String {
        self.base.format(self.spec.lot_size)
    }

    /// The minimum order quantity as the API shows it (base units).
    pub fn min_quantity_text(&self) -> String {
        self.base.format(self.spec.min_qty)
    }
}

/// One user's holding of one asset, in the asset's minor units. Both parts are `>= 0`
/// (the database refuses anything else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    /// The owner (an auth user id; brain never reads the users table).
    pub user_id: Uuid,
    /// What it is a balance of.
    pub asset: Asset,
    /// Free to spend.
    pub available: i64,
    /// Reserved by open orders.
    pub held: i64,
}

impl Balance {
    /// `available + held`; `None` on overflow (the balance upsert refuses to get there).
    pub fn total(&self) -> Option<i64> {
        self.available.checked_add(self.held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(symbol: &str, decimals: u8) -> AssetSpec {
        AssetSpec {
            symbol: symbol.into(),
            decimals,
        }
    }

    fn new_market<'a>(tick: &'a str, lot: &'a str, min: &'a str) -> NewMarket<'a> {
        NewMarket {
            tick_size: tick,
            lot_size: lot,
            min_quantity: min,
            maker_fee_bps: 10,
            taker_fee_bps: 20,
            price_band_bps: None,
        }
    }

    #[test]
    fn tick_times_lot_must_be_whole_minor_units() {
        // BTC (8 decimals) in USD (2): a 0.01 USD tick of a 0.001 BTC lot is 0.001 cent.
        let err = MarketSpec::new(
            asset("BTC", 8),
            asset("USD", 2),
            &new_market("0.01", "0.001", "0.001"),
        );
        assert!(err.is_err());
        let ok = MarketSpec::new(
            asset("BTC", 8),
            asset("USD", 2),
            &new_market("1", "0.01", "0.01"),
        )
        .unwrap();
        // 100 cents per BTC per tick × 0.01 BTC = 1 cent.
        assert_eq!(ok.quote_per_tick_lot(), Some(1));
        assert_eq!(ok.format_price(10_125), "10125");
        assert_eq!(ok.format_qty(150), "1.5");
    }

    #[test]
    fn bad_market_numbers_are_refused_with_the_field_named() {
        let cases = [
            new_market("0", "1", "1"),
            new_market("abc", "1", "1"),
            new_market("0.001", "1", "1"),
            new_market("0.01", "1", "1.5"),
            new_market("0.01", "2", "3"),
        ];
        for m in cases {
            let err = MarketSpec::new(asset("ACME", 0), asset("USD", 2), &m).unwrap_err();
            assert!(matches!(err, BrainError::InvalidInput(_)), "{m:?}: {err}");
        }
        let mut fees = new_market("0.01", "1", "1");
        fees.taker_fee_bps = 1_001;
        assert!(MarketSpec::new(asset("ACME", 0), asset("USD", 2), &fees).is_err());
        assert!(
            MarketSpec::new(
                asset("USD", 2),
                asset("USD", 2),
                &new_market("0.01", "1", "1")
            )
            .is_err()
        );
    }

    #[test]
    fn symbols_are_short_upper_case_words() {
        assert!(validate_symbol("ACME").is_ok());
        assert!(validate_symbol("X1").is_ok());
        for bad in ["", "acme", "AC-ME", "ABCDEFGHIJKLM", "ÄB"] {
            assert!(validate_symbol(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_new_asset_is_checked_and_normalised() {
        let a = NewAsset::new("USD", "  US Dollar ", " Cash", 2).unwrap();
        assert_eq!(
            (a.name.as_str(), a.kind.as_str(), a.decimals),
            ("US Dollar", "cash", 2)
        );
        assert!(NewAsset::new("usd", "x", "cash", 2).is_err());
        assert!(NewAsset::new("USD", " ", "cash", 2).is_err());
        assert!(NewAsset::new("USD", "a\nb", "cash", 2).is_err());
        assert!(NewAsset::new("USD", &"x".repeat(65), "cash", 2).is_err());
        assert!(NewAsset::new("USD", "x", "ca sh", 2).is_err());
        assert!(NewAsset::new("USD", "x", "", 2).is_err());
        assert!(NewAsset::new("USD", "x", "cash", -1).is_err());
        assert!(NewAsset::new("USD", "x", "cash", 19).is_err());
        // 18 decimals would stop every balance at 9.22 units (issue 17): 8 is the most.
        assert!(NewAsset::new("X", "x", "cash", 8).is_ok());
        let err = NewAsset::new("X", "x", "cash", 9).unwrap_err().to_string();
        assert!(
            err.contains("between 0 and 8") && err.contains("92233720368.54775807"),
            "{err}"
        );
        assert!(NewAsset::new("X", "x", "cash", 18).is_err());
    }

    #[test]
    fn market_status_spellings_round_trip() {
        for s in [MarketStatus::Open, MarketStatus::Halted] {
            assert_eq!(MarketStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(MarketStatus::parse("OPEN"), None);
    }
}
