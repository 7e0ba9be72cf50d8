//! The journal's entries as they are stored (decision 0008): one [`Entry`] per command the
//! core accepted, in `body` of the `journal` table. JSON, so an operator can read the
//! journal with `psql`; versioned (`v`), so a later Rialto can still replay an older one.
//!
//! The core's own types (`engine::venue`) carry no serde, so the engine stays free of any
//! format; this module converts both ways and a round trip is exact.

use engine::{
    BookConfig, Side, TimeInForce,
    market::MarketRules,
    venue::{Command, Listing, NewOrder},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The format version written now.
pub const VERSION: u8 = 1;

/// One journal row's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Format version ([`VERSION`]).
    pub v: u8,
    /// The command.
    #[serde(flatten)]
    pub command: Stored,
}

/// A market's rules, in the engine's integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRules {
    /// Quote minor units of one tick of one lot.
    pub quote_per_tick_lot: u64,
    /// Maker fee, basis points.
    pub maker_fee_bps: u32,
    /// Taker fee, basis points.
    pub taker_fee_bps: u32,
    /// Base minor units in one lot.
    pub lot_size: u64,
}

/// A command as stored: ids are UUIDs and enums are words, as everywhere else in the tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Stored {
    /// `Command::ListAsset`.
    ListAsset {
        /// The asset.
        asset: Uuid,
        /// Minor units.
        supply_cap: i64,
    },
    /// `Command::ListMarket`.
    ListMarket {
        /// The market.
        market: Uuid,
        /// Its rules.
        rules: StoredRules,
        /// The asset traded.
        base: Uuid,
        /// The asset prices are in.
        quote: Uuid,
        /// Taking orders.
        open: bool,
    },
    /// `Command::SetOpen`.
    SetOpen {
        /// The market.
        market: Uuid,
        /// Taking orders.
        open: bool,
    },
    /// `Command::Credit`.
    Credit {
        /// Who.
        owner: Uuid,
        /// What.
        asset: Uuid,
        /// Minor units.
        amount: i64,
    },
    /// `Command::Place`.
    Place {
        /// Where.
        market: Uuid,
        /// Who.
        owner: Uuid,
        /// The trader's idempotency key.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_order_id: Option<String>,
        /// `buy` or `sell`.
        side: StoredSide,
        /// Ticks; absent for a market order.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        price: Option<u64>,
        /// A market buy's budget, quote minor units.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quote_budget: Option<u64>,
        /// Lots.
        qty: u64,
        /// `gtc`, `ioc` or `fok`.
        tif: StoredTif,
        /// Refuse to take liquidity.
        #[serde(default)]
        post_only: bool,
    },
    /// `Command::Cancel`.
    Cancel {
        /// Who asks.
        owner: Uuid,
        /// The order.
        order: u64,
    },
    /// `Command::CancelAll`.
    CancelAll {
        /// Who asks.
        owner: Uuid,
        /// One market, or all.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        market: Option<Uuid>,
    },
}

/// A side as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoredSide {
    /// Bids.
    Buy,
    /// Asks.
    Sell,
}

/// A time in force as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoredTif {
    /// Good till cancelled.
    Gtc,
    /// Immediate or cancel.
    Ioc,
    /// Fill or kill.
    Fok,
}

/// Why a stored body is not a command this version can replay.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Not JSON of an entry.
    #[error("a journal entry that does not parse: {0}")]
    Malformed(#[from] serde_json::Error),
    /// Written by a newer Rialto.
    #[error("journal entry version {0} is newer than this Rialto reads ({VERSION})")]
    Version(u8),
}

/// The body stored for `command`.
pub fn encode(command: &Command) -> Vec<u8> {
    let entry = Entry {
        v: VERSION,
        command: Stored::from(command),
    };
    // Serialising plain data (no maps with non-string keys, no floats) cannot fail.
    serde_json::to_vec(&entry).unwrap_or_default()
}

/// The command a stored body holds.
///
/// # Errors
/// [`JournalError`] for a body that is not an entry or is of a newer version.
pub fn decode(body: &[u8]) -> Result<Command, JournalError> {
    let entry: Entry = serde_json::from_slice(body)?;
    if entry.v > VERSION {
        return Err(JournalError::Version(entry.v));
    }
    Ok(entry.command.into())
}

impl From<&Command> for Stored {
    fn from(command: &Command) -> Self {
        match command {
            Command::ListAsset { asset, supply_cap } => Self::ListAsset {
                asset: Uuid::from_u128(*asset),
                supply_cap: *supply_cap,
            },
            Command::ListMarket(l) => Self::ListMarket {
                market: Uuid::from_u128(l.market),
                rules: StoredRules {
                    quote_per_tick_lot: l.rules.book.quote_per_tick_lot,
                    maker_fee_bps: l.rules.book.maker_fee_bps,
                    taker_fee_bps: l.rules.book.taker_fee_bps,
                    lot_size: l.rules.lot_size,
                },
                base: Uuid::from_u128(l.base),
                quote: Uuid::from_u128(l.quote),
                open: l.open,
            },
            Command::SetOpen { market, open } => Self::SetOpen {
                market: Uuid::from_u128(*market),
                open: *open,
            },
            Command::Credit {
                owner,
                asset,
                amount,
            } => Self::Credit {
                owner: Uuid::from_u128(*owner),
                asset: Uuid::from_u128(*asset),
                amount: *amount,
            },
            Command::Place(o) => Self::Place {
                market: Uuid::from_u128(o.market),
                owner: Uuid::from_u128(o.owner),
                client_order_id: o.client_order_id.as_deref().map(str::to_owned),
                side: match o.side {
                    Side::Buy => StoredSide::Buy,
                    Side::Sell => StoredSide::Sell,
                },
                price: o.price,
                quote_budget: o.quote_budget,
                qty: o.qty,
                tif: match o.tif {
                    TimeInForce::Gtc => StoredTif::Gtc,
                    TimeInForce::Ioc => StoredTif::Ioc,
                    TimeInForce::Fok => StoredTif::Fok,
                },
                post_only: o.post_only,
            },
            Command::Cancel { owner, order } => Self::Cancel {
                owner: Uuid::from_u128(*owner),
                order: *order,
            },
            Command::CancelAll { owner, market } => Self::CancelAll {
                owner: Uuid::from_u128(*owner),
                market: market.map(Uuid::from_u128),
            },
        }
    }
}

impl From<Stored> for Command {
    fn from(stored: Stored) -> Self {
        match stored {
            Stored::ListAsset { asset, supply_cap } => Self::ListAsset {
                asset: asset.as_u128(),
                supply_cap,
            },
            Stored::ListMarket {
                market,
                rules,
                base,
                quote,
                open,
            } => Self::ListMarket(Listing {
                market: market.as_u128(),
                rules: MarketRules {
                    book: BookConfig {
                        quote_per_tick_lot: rules.quote_per_tick_lot,
                        maker_fee_bps: rules.maker_fee_bps,
                        taker_fee_bps: rules.taker_fee_bps,
                    },
                    lot_size: rules.lot_size,
                },
                base: base.as_u128(),
                quote: quote.as_u128(),
                open,
            }),
            Stored::SetOpen { market, open } => Self::SetOpen {
                market: market.as_u128(),
                open,
            },
            Stored::Credit {
                owner,
                asset,
                amount,
            } => Self::Credit {
                owner: owner.as_u128(),
                asset: asset.as_u128(),
                amount,
            },
            Stored::Place {
                market,
                owner,
                client_order_id,
                side,
                price,
                quote_budget,
                qty,
                tif,
                post_only,
            } => Self::Place(NewOrder {
                market: market.as_u128(),
                owner: owner.as_u128(),
                client_order_id: client_order_id.map(String::into_boxed_str),
                side: match side {
                    StoredSide::Buy => Side::Buy,
                    StoredSide::Sell => Side::Sell,
                },
                price,
                quote_budget,
                qty,
                tif: match tif {
                    StoredTif::Gtc => TimeInForce::Gtc,
                    StoredTif::Ioc => TimeInForce::Ioc,
                    StoredTif::Fok => TimeInForce::Fok,
                },
                post_only,
            }),
            Stored::Cancel { owner, order } => Self::Cancel {
                owner: owner.as_u128(),
                order,
            },
            Stored::CancelAll { owner, market } => Self::CancelAll {
                owner: owner.as_u128(),
                market: market.map(|m| m.as_u128()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    fn side() -> impl Strategy<Value = Side> {
        prop_oneof![Just(Side::Buy), Just(Side::Sell)]
    }

    fn tif() -> impl Strategy<Value = TimeInForce> {
        prop_oneof![
            Just(TimeInForce::Gtc),
            Just(TimeInForce::Ioc),
            Just(TimeInForce::Fok)
        ]
    }

    fn command() -> impl Strategy<Value = Command> {
        prop_oneof![
            (any::<u128>(), any::<i64>())
                .prop_map(|(asset, supply_cap)| Command::ListAsset { asset, supply_cap }),
            (
                any::<[u128; 3]>(),
                any::<(u64, u32, u32, u64)>(),
                any::<bool>()
            )
                .prop_map(|([market, base, quote], (q, m, t, l), open)| {
                    Command::ListMarket(Listing {
                        market,
                        rules: MarketRules {
                            book: BookConfig {
                                quote_per_tick_lot: q,
                                maker_fee_bps: m,
                                taker_fee_bps: t,
                            },
                            lot_size: l,
                        },
                        base,
                        quote,
                        open,
                    })
                }),
            (any::<u128>(), any::<bool>())
                .prop_map(|(market, open)| Command::SetOpen { market, open }),
            (any::<u128>(), any::<u128>(), any::<i64>()).prop_map(|(owner, asset, amount)| {
                Command::Credit {
                    owner,
                    asset,
                    amount,
                }
            }),
            (
                any::<[u128; 2]>(),
                prop::option::of("\\PC{0,40}"),
                side(),
                any::<(Option<u64>, Option<u64>, u64)>(),
                tif(),
                any::<bool>()
            )
                .prop_map(
                    |([market, owner], cid, side, (price, quote_budget, qty), tif, post_only)| {
                        Command::Place(NewOrder {
                            market,
                            owner,
                            client_order_id: cid.map(String::into_boxed_str),
                            side,
                            price,
                            quote_budget,
                            qty,
                            tif,
                            post_only,
                        })
                    }
                ),
            (any::<u128>(), any::<u64>())
                .prop_map(|(owner, order)| Command::Cancel { owner, order }),
            (any::<u128>(), any::<Option<u128>>())
                .prop_map(|(owner, market)| Command::CancelAll { owner, market }),
        ]
    }

    proptest! {
        #[test]
        fn every_command_round_trips_exactly(c in command()) {
            prop_assert_eq!(decode(&encode(&c)).unwrap(), c);
        }
    }

    #[test]
    fn an_entry_reads_as_an_operator_expects() {
        let c = Command::Cancel {
            owner: 1,
            order: 42,
        };
        let body = String::from_utf8(encode(&c)).unwrap();
        assert_eq!(
            body,
            r#"{"v":1,"kind":"cancel","owner":"00000000-0000-0000-0000-000000000001","order":42}"#
        );
    }

    #[test]
    fn a_newer_or_malformed_entry_is_refused_not_guessed() {
        let newer =
            br#"{"v":2,"kind":"cancel","owner":"00000000-0000-0000-0000-000000000001","order":1}"#;
        assert!(matches!(decode(newer), Err(JournalError::Version(2))));
        assert!(matches!(
            decode(b"{\"v\":1,\"kind\":\"mint\"}"),
            Err(JournalError::Malformed(_))
        ));
    }
}
