//! Fill notifications: what the web app reports when one of the user's orders fills, and
//! the text of the native notification shown for it.
//!
//! The web app sees fills first (its `orders` subscription), so it calls `notify_fill`;
//! the app only checks the report and words it. Checking keeps the notification from
//! becoming a way to show arbitrary text with the app's name on it.

use serde::Deserialize;

use crate::{
    error::{Error, Result},
    settings::MarketSymbol,
};

/// Which way the order went (the API's `Side`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Side {
    /// A buy order.
    Buy,
    /// A sell order.
    Sell,
}

/// A fill as the web app reports it: `{ market, side, quantity, price, partial }`, with the
/// quantity and price as the API's decimal strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fill {
    /// `BASE-QUOTE`.
    pub market: String,
    /// The user's side.
    pub side: Side,
    /// Base quantity filled by this trade, e.g. `"2.5"`.
    pub quantity: String,
    /// The trade's price in the quote asset, e.g. `"101.25"`.
    pub price: String,
    /// Whether the order still has quantity open after this fill.
    #[serde(default)]
    pub partial: bool,
}

/// The notification's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The first line.
    pub title: String,
    /// The second.
    pub body: String,
}

/// Whether `s` is a plain unsigned decimal as the API prints them (`"12"`, `"0.05"`).
fn is_decimal(s: &str) -> bool {
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    s.len() <= 40
        && !int.is_empty()
        && !frac.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a fill and words its notification: "Order filled" / "Bought 2 ACME at 101.25 USD".
pub fn notification(fill: &Fill) -> Result<Notification> {
    let market = MarketSymbol::parse(&fill.market)?;
    for (what, value) in [("quantity", &fill.quantity), ("price", &fill.price)] {
        if !is_decimal(value) {
            return Err(Error::InvalidFill(format!(
                "{what} {value:?} is not a decimal"
            )));
        }
    }
    let verb = match fill.side {
        Side::Buy => "Bought",
        Side::Sell => "Sold",
    };
    let title = if fill.partial {
        "Order partly filled"
    } else {
        "Order filled"
    };
    Ok(Notification {
        title: title.to_owned(),
        body: format!(
            "{verb} {} {} at {} {} ({market})",
            fill.quantity,
            market.base(),
            fill.price,
            market.quote()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(json: serde_json::Value) -> Fill {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_fill_is_worded_for_a_person() {
        let n = notification(&fill(serde_json::json!({
            "market": "ACME-USD", "side": "BUY", "quantity": "2", "price": "101.25"
        })))
        .unwrap();
        assert_eq!(n.title, "Order filled");
        assert_eq!(n.body, "Bought 2 ACME at 101.25 USD (ACME-USD)");

        let n = notification(&fill(serde_json::json!({
            "market": "ACME-USD", "side": "SELL", "quantity": "0.5", "price": "99", "partial": true
        })))
        .unwrap();
        assert_eq!(n.title, "Order partly filled");
        assert_eq!(n.body, "Sold 0.5 ACME at 99 USD (ACME-USD)");
    }

    #[test]
    fn a_fill_that_does_not_hold_together_is_refused() {
        let base = serde_json::json!({
            "market": "ACME-USD", "side": "BUY", "quantity": "2", "price": "101.25"
        });
        for (field, value) in [
            ("market", "<b>hi</b>"),
            ("quantity", "-2"),
            ("quantity", "1e9"),
            ("quantity", ""),
            ("price", ".5"),
            ("price", "5."),
            ("price", "1.2.3"),
            ("price", "Click here"),
        ] {
            let mut json = base.clone();
            json[field] = value.into();
            assert!(notification(&fill(json)).is_err(), "{field} = {value}");
        }
        let mut json = base.clone();
        json["side"] = "SHORT".into();
        assert!(serde_json::from_value::<Fill>(json).is_err());
        let mut json = base;
        json["title"] = "You won".into();
        assert!(serde_json::from_value::<Fill>(json).is_err());
    }
}
