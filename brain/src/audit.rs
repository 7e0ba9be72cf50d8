//! The ledger audit (DESIGN.md §4.5, decision record 0005 "Ledger"): reads the brain's tables
//! and reports every place where the money, the orders or the books disagree with each other.
//!
//! [`run`] never writes and never stops at the first problem: it returns an [`AuditReport`]
//! with every [`Violation`] found and what it looked at. A `DbErr` means the audit could not
//! read the database, not that the data is wrong.
//!
//! Amounts are in the asset's minor units, prices in ticks and quantities in lots, exactly as
//! stored. Sums are computed exactly: the database adds the high and the low 32 bits of each
//! value separately (neither part can overflow a `BIGINT` before 2^31 rows), and the two are
//! recombined as an `i128` here. So a sum beyond `i64` is reported as a violation instead of
//! failing the query (SQLite raises "integer overflow", PostgreSQL "bigint out of range").
//!
//! The checks run as several statements. On a live system run the audit inside one read-only
//! `REPEATABLE READ` transaction (a `DatabaseTransaction` is a `ConnectionTrait`) so that they
//! all see the same snapshot; otherwise a batch committed between two statements shows up as a
//! spurious violation.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use sea_orm::prelude::Uuid;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Value};

/// The account of a user's free funds.
const USER_AVAILABLE: &str = "user:available";
/// The account of a user's funds reserved by live orders.
const USER_HELD: &str = "user:held";
/// The counter-account of every admin credit: minus what was issued.
const SYSTEM_ISSUANCE: &str = "system:issuance";
/// Where trading fees accrue.
const SYSTEM_FEES: &str = "system:fees";

/// Order statuses whose hold is still taken (`accepted` takes it when the order is inserted).
const HOLDING_STATUSES: &str = "('accepted', 'open', 'partially_filled')";
/// Order statuses of an order resting in the book.
const RESTING_STATUSES: &str = "('open', 'partially_filled')";
/// Order statuses of an order that is done and must hold nothing.
const DONE_STATUSES: &str = "('filled', 'cancelled', 'rejected')";
/// Every account the ledger knows.
const ACCOUNTS: &str = "('user:available', 'user:held', 'system:issuance', 'system:fees')";

/// 2^32: the split of every summed value into a high and a low part (see the module doc).
const SPLIT: i128 = 1 << 32;

/// What the audit found: every violation, in check order, and what it looked at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditReport {
    /// Every broken invariant; empty when the data is consistent.
    pub violations: Vec<Violation>,
    /// How many rows of each kind were audited.
    pub checked: Counts,
    /// Per asset, what was issued and where it is now, from the ledger.
    pub supply: Vec<AssetSupply>,
}

impl AuditReport {
    /// True when no violation was found.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }
}

impl fmt::Display for AuditReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.checked;
        writeln!(
            f,
            "audited {} assets, {} markets, {} balances, {} orders, {} trades, \
             {} ledger entries in {} transactions",
            c.assets, c.markets, c.balances, c.orders, c.trades, c.ledger_entries, c.transactions
        )?;
        for s in &self.supply {
            writeln!(f, "{s}")?;
        }
        if self.violations.is_empty() {
            return writeln!(f, "no violations");
        }
        writeln!(f, "{} violations:", self.violations.len())?;
        for v in &self.violations {
            writeln!(f, "- {v}")?;
        }
        Ok(())
    }
}

/// How many rows of each table the audit covered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Rows of `assets`.
    pub assets: u64,
    /// Rows of `markets`.
    pub markets: u64,
    /// Rows of `balances`.
    pub balances: u64,
    /// Rows of `orders`.
    pub orders: u64,
    /// Rows of `trades`.
    pub trades: u64,
    /// Rows of `ledger_entries`.
    pub ledger_entries: u64,
    /// Distinct `tx_id`s of `ledger_entries`.
    pub transactions: u64,
}

/// An asset as the audit names it: its id and symbol (the id when the symbol is unknown).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AssetRef {
    /// `assets.id`.
    pub id: Uuid,
    /// `assets.symbol`.
    pub symbol: String,
}

impl fmt::Display for AssetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.symbol)
    }
}

/// A market as the audit names it: its id and symbol (the id when the symbol is unknown).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MarketRef {
    /// `markets.id`.
    pub id: Uuid,
    /// `markets.symbol`.
    pub symbol: String,
}

impl fmt::Display for MarketRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.symbol)
    }
}

/// One of the two amount columns of a balance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BalanceColumn {
    /// `balances.available`, kept equal to the `user:available` entries.
    Available,
    /// `balances.held`, kept equal to the `user:held` entries.
    Held,
}

impl fmt::Display for BalanceColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Available => "available",
            Self::Held => "held",
        })
    }
}

/// Per asset, the ledger's totals by account (minor units, exact).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetSupply {
    /// The asset.
    pub asset: AssetRef,
    /// Minus the sum of `system:issuance`: everything ever credited.
    pub issued: i128,
    /// The sum of all `user:available` entries.
    pub available: i128,
    /// The sum of all `user:held` entries.
    pub held: i128,
    /// The sum of `system:fees`.
    pub fees: i128,
    /// The sum of entries on accounts the ledger does not know (zero unless reported).
    pub other: i128,
}

impl AssetSupply {
    /// What the entries of the asset add up to: zero when everything issued is accounted for.
    pub fn imbalance(&self) -> i128 {
        self.available + self.held + self.fees + self.other - self.issued
    }
}

impl fmt::Display for AssetSupply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: issued {}, users {} available + {} held, fees {}",
            self.asset, self.issued, self.available, self.held, self.fees
        )?;
        if self.other != 0 {
            write!(f, ", unknown accounts {}", self.other)?;
        }
        Ok(())
    }
}

/// One broken invariant, naming the objects involved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// Check 1: the entries of a ledger transaction do not sum to zero in an asset.
    UnbalancedTransaction {
        /// `ledger_entries.tx_id`.
        tx_id: Uuid,
        /// The asset in which it does not balance.
        asset: AssetRef,
        /// What its entries in that asset sum to.
        sum: i128,
    },
    /// Check 2: a balance column differs from the sum of its account's entries.
    BalanceMismatch {
        /// The user.
        user_id: Uuid,
        /// The asset.
        asset: AssetRef,
        /// Which column.
        column: BalanceColumn,
        /// The value in `balances`.
        balance: i64,
        /// The sum of the account's ledger entries.
        ledger: i128,
    },
    /// Check 2: a user's entries in an asset do not sum to zero, yet they have no balance row.
    MissingBalance {
        /// The user.
        user_id: Uuid,
        /// The asset.
        asset: AssetRef,
        /// The sum of their `user:available` entries.
        available: i128,
        /// The sum of their `user:held` entries.
        held: i128,
    },
    /// Check 3: a balance column is negative.
    NegativeBalance {
        /// The user.
        user_id: Uuid,
        /// The asset.
        asset: AssetRef,
        /// Which column.
        column: BalanceColumn,
        /// Its value.
        amount: i64,
    },
    /// Check 4: the asset's entries do not sum to zero, so users and fees do not hold exactly
    /// what was issued.
    SupplyMismatch(AssetSupply),
    /// Check 4: an account's total in an asset is beyond the `i64` range of an amount.
    SupplyOverflow {
        /// The asset.
        asset: AssetRef,
        /// The account (`system:issuance`, `user:available`, ...).
        account: &'static str,
        /// The exact sum of its entries.
        sum: i128,
    },
    /// Check 5: an order filled more lots than it has.
    OverFilled {
        /// `orders.id`.
        order_id: i64,
        /// `orders.filled_lots`.
        filled_lots: i64,
        /// `orders.qty_lots`.
        qty_lots: i64,
    },
    /// Check 5: an order's `filled_lots` differs from the lots of its trades.
    FilledLotsMismatch {
        /// `orders.id`.
        order_id: i64,
        /// `orders.filled_lots`.
        filled_lots: i64,
        /// The sum of `qty_lots` of the trades it is maker or taker of.
        trades_lots: i128,
    },
    /// Check 5: an order's `filled_value` differs from the value of its trades.
    FilledValueMismatch {
        /// `orders.id`.
        order_id: i64,
        /// `orders.filled_value`.
        filled_value: i64,
        /// The sum of `value` of the trades it is maker or taker of.
        trades_value: i128,
    },
    /// Check 6: a live order holds a negative amount.
    NegativeHold {
        /// `orders.id`.
        order_id: i64,
        /// `orders.status`.
        status: String,
        /// `orders.held_remaining`.
        held_remaining: i64,
    },
    /// Check 6: a done order still holds something.
    DoneOrderHolds {
        /// `orders.id`.
        order_id: i64,
        /// `orders.status`.
        status: String,
        /// `orders.held_remaining`.
        held_remaining: i64,
    },
    /// Check 6: a user's held balance differs from what their live orders hold.
    HoldMismatch {
        /// The user.
        user_id: Uuid,
        /// The held asset (quote of a buy, base of a sell).
        asset: AssetRef,
        /// `balances.held` (0 without a balance row).
        held: i64,
        /// The sum of `held_remaining` of their `accepted`, `open` and `partially_filled` orders.
        orders: i128,
    },
    /// Check 7: a market's best live bid is at or above its best live ask.
    CrossedBook {
        /// The market.
        market: MarketRef,
        /// The highest `price_ticks` of a live buy.
        best_bid: i64,
        /// The lowest `price_ticks` of a live sell.
        best_ask: i64,
    },
    /// Check 8: a market's trade sequence is not `1..=n`.
    TradeSeqGap {
        /// The market.
        market: MarketRef,
        /// How many trades it has.
        trades: i64,
        /// The smallest `seq`.
        first: i64,
        /// The largest `seq`.
        last: i64,
        /// The first number of `1..=last` that is missing, if any (none when the sequence
        /// starts below 1, or numbers repeat because the unique index is gone).
        first_missing: Option<i64>,
    },
    /// A text column holds a value none of the code knows (an account, a side, a status).
    UnknownValue {
        /// `ledger_entries.account`, `orders.side` or `orders.status`.
        column: &'static str,
        /// The value.
        value: String,
        /// How many rows hold it.
        rows: i64,
        /// The smallest id among them.
        first_id: i64,
    },
    /// Entries on a `user:*` account without a `user_id`.
    UserEntryWithoutUser {
        /// `user:available` or `user:held`.
        account: String,
        /// How many entries.
        rows: i64,
        /// The smallest id among them.
        first_id: i64,
    },
}

/// A sum with a sign, as the ledger reads: `+5`, `-3`, `0`.
struct Signed(i128);

impl fmt::Display for Signed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 > 0 {
            write!(f, "+{}", self.0)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnbalancedTransaction { tx_id, asset, sum } => write!(
                f,
                "ledger transaction {tx_id} does not balance for asset {asset}: {}",
                Signed(*sum)
            ),
            Self::BalanceMismatch {
                user_id,
                asset,
                column,
                balance,
                ledger,
            } => write!(
                f,
                "balance of user {user_id} in {asset}: {column} {balance} but the ledger says \
                 {ledger}"
            ),
            Self::MissingBalance {
                user_id,
                asset,
                available,
                held,
            } => write!(
                f,
                "user {user_id} has no balance row in {asset} but the ledger says available \
                 {available}, held {held}"
            ),
            Self::NegativeBalance {
                user_id,
                asset,
                column,
                amount,
            } => write!(
                f,
                "balance of user {user_id} in {asset}: {column} is negative ({amount})"
            ),
            Self::SupplyMismatch(s) => {
                write!(
                    f,
                    "asset {} does not add up: issued {} but users hold {} available + {} held \
                     and fees are {}",
                    s.asset, s.issued, s.available, s.held, s.fees
                )?;
                if s.other != 0 {
                    write!(f, " and unknown accounts {}", s.other)?;
                }
                write!(f, " (off by {})", Signed(s.imbalance()))
            }
            Self::SupplyOverflow {
                asset,
                account,
                sum,
            } => write!(
                f,
                "asset {asset}: the {account} entries sum to {sum}, beyond the i64 range of an \
                 amount"
            ),
            Self::OverFilled {
                order_id,
                filled_lots,
                qty_lots,
            } => write!(
                f,
                "order {order_id} filled {filled_lots} lots but has only {qty_lots}"
            ),
            Self::FilledLotsMismatch {
                order_id,
                filled_lots,
                trades_lots,
            } => write!(
                f,
                "order {order_id} filled {filled_lots} lots but its trades sum to {trades_lots}"
            ),
            Self::FilledValueMismatch {
                order_id,
                filled_value,
                trades_value,
            } => write!(
                f,
                "order {order_id} has filled value {filled_value} but its trades sum to \
                 {trades_value}"
            ),
            Self::NegativeHold {
                order_id,
                status,
                held_remaining,
            } => write!(
                f,
                "order {order_id} ({status}) holds a negative amount: {held_remaining}"
            ),
            Self::DoneOrderHolds {
                order_id,
                status,
                held_remaining,
            } => write!(
                f,
                "order {order_id} is {status} but still holds {held_remaining}"
            ),
            Self::HoldMismatch {
                user_id,
                asset,
                held,
                orders,
            } => write!(
                f,
                "balance of user {user_id} in {asset}: held {held} but their live orders hold \
                 {orders}"
            ),
            Self::CrossedBook {
                market,
                best_bid,
                best_ask,
            } => write!(
                f,
                "book of market {market} is crossed: best bid {best_bid} >= best ask {best_ask} \
                 (ticks)"
            ),
            Self::TradeSeqGap {
                market,
                trades,
                first,
                last,
                first_missing,
            } => {
                write!(
                    f,
                    "trades of market {market} are not numbered 1..={trades}: "
                )?;
                match first_missing {
                    Some(missing) => write!(f, "seq {missing} is missing")?,
                    None if *first < 1 => write!(f, "seq starts at {first}")?,
                    None => write!(f, "seq numbers repeat")?,
                }
                write!(f, " ({trades} trades, seq {first}..={last})")
            }
            Self::UnknownValue {
                column,
                value,
                rows,
                first_id,
            } => write!(
                f,
                "{column} has the unknown value {value:?} in {rows} rows (first id {first_id})"
            ),
            Self::UserEntryWithoutUser {
                account,
                rows,
                first_id,
            } => write!(
                f,
                "{rows} ledger entries on {account} have no user (first id {first_id})"
            ),
        }
    }
}

/// Audits the brain's tables through `db` and reports every violation of the ledger, order and
/// book invariants: the known-values check first, then checks 1–8 in order (each
/// [`Violation`] variant names its check).
///
/// Read-only. Run it in a `REPEATABLE READ` transaction on a live system (see the module doc).
pub async fn run(db: &impl ConnectionTrait) -> Result<AuditReport, DbErr> {
    let mut audit = Audit::load(db).await?;
    audit.known_values(db).await?;
    audit.transactions_balance(db).await?;
    let balances = audit.load_balances(db).await?;
    audit.balances_match_ledger(db, &balances).await?;
    audit.no_negative_balance(&balances);
    let supply = audit.supply_is_accounted_for(db).await?;
    audit.fills_match_trades(db).await?;
    audit.holds_match_orders(db, &balances).await?;
    audit.books_not_crossed(db).await?;
    audit.trade_sequences(db).await?;
    Ok(AuditReport {
        violations: audit.violations,
        checked: audit.counts,
        supply,
    })
}

/// A balance row: `(available, held)` by `(user, asset)`.
type Balances = BTreeMap<(Uuid, Uuid), (i64, i64)>;

/// The audit in progress: names of assets and markets, what was counted, what was found.
struct Audit {
    /// Symbol by asset id.
    assets: BTreeMap<Uuid, String>,
    /// `(symbol, base asset, quote asset)` by market id.
    markets: BTreeMap<Uuid, (String, Uuid, Uuid)>,
    counts: Counts,
    violations: Vec<Violation>,
}

impl Audit {
    /// Loads the asset and market names and counts the rows of each audited table.
    async fn load(db: &impl ConnectionTrait) -> Result<Self, DbErr> {
        let mut assets = BTreeMap::new();
        for row in query(db, "SELECT id, symbol FROM assets").await? {
            assets.insert(get::<Uuid>(&row, "id")?, get::<String>(&row, "symbol")?);
        }
        let mut markets = BTreeMap::new();
        for row in query(
            db,
            "SELECT id, symbol, base_asset_id, quote_asset_id FROM markets",
        )
        .await?
        {
            markets.insert(
                get::<Uuid>(&row, "id")?,
                (
                    get::<String>(&row, "symbol")?,
                    get::<Uuid>(&row, "base_asset_id")?,
                    get::<Uuid>(&row, "quote_asset_id")?,
                ),
            );
        }
        let counts = Counts {
            assets: count(db, "SELECT COUNT(*) AS n FROM assets").await?,
            markets: count(db, "SELECT COUNT(*) AS n FROM markets").await?,
            balances: count(db, "SELECT COUNT(*) AS n FROM balances").await?,
            orders: count(db, "SELECT COUNT(*) AS n FROM orders").await?,
            trades: count(db, "SELECT COUNT(*) AS n FROM trades").await?,
            ledger_entries: count(db, "SELECT COUNT(*) AS n FROM ledger_entries").await?,
            transactions: count(db, "SELECT COUNT(DISTINCT tx_id) AS n FROM ledger_entries")
                .await?,
        };
        Ok(Self {
            assets,
            markets,
            counts,
            violations: Vec::new(),
        })
    }

    fn asset(&self, id: Uuid) -> AssetRef {
        AssetRef {
            id,
            symbol: self
                .assets
                .get(&id)
                .cloned()
                .unwrap_or_else(|| id.to_string()),
        }
    }

    fn market(&self, id: Uuid) -> MarketRef {
        MarketRef {
            id,
            symbol: self
                .markets
                .get(&id)
                .map(|(symbol, _, _)| symbol.clone())
                .unwrap_or_else(|| id.to_string()),
        }
    }

    /// Accounts, sides and statuses the code does not know, and user entries without a user.
    ///
    /// Why: every other check interprets these columns; a row none of them understands would
    /// otherwise be silently left out of the sums it belongs to.
    async fn known_values(&mut self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        let unknown = [
            (
                "ledger_entries.account",
                format!(
                    "SELECT account AS v, COUNT(*) AS n, MIN(id) AS first_id FROM ledger_entries \
                     WHERE account NOT IN {ACCOUNTS} GROUP BY account ORDER BY account"
                ),
            ),
            (
                "orders.side",
                "SELECT side AS v, COUNT(*) AS n, MIN(id) AS first_id FROM orders \
                 WHERE side NOT IN ('buy', 'sell') GROUP BY side ORDER BY side"
                    .to_string(),
            ),
            (
                "orders.status",
                format!(
                    "SELECT status AS v, COUNT(*) AS n, MIN(id) AS first_id FROM orders \
                     WHERE status NOT IN {HOLDING_STATUSES} AND status NOT IN {DONE_STATUSES} \
                     GROUP BY status ORDER BY status"
                ),
            ),
        ];
        for (column, sql) in unknown {
            for row in query(db, &sql).await? {
                self.violations.push(Violation::UnknownValue {
                    column,
                    value: get(&row, "v")?,
                    rows: get(&row, "n")?,
                    first_id: get(&row, "first_id")?,
                });
            }
        }
        let sql = format!(
            "SELECT account, COUNT(*) AS n, MIN(id) AS first_id FROM ledger_entries \
             WHERE account IN ('{USER_AVAILABLE}', '{USER_HELD}') AND user_id IS NULL \
             GROUP BY account ORDER BY account"
        );
        for row in query(db, &sql).await? {
            self.violations.push(Violation::UserEntryWithoutUser {
                account: get(&row, "account")?,
                rows: get(&row, "n")?,
                first_id: get(&row, "first_id")?,
            });
        }
        Ok(())
    }

    /// Check 1: every ledger transaction sums to zero per asset.
    ///
    /// Why: double entry is what makes money impossible to create or destroy by accident; a
    /// transaction that does not balance minted or burned funds (a lost or duplicated leg).
    async fn transactions_balance(&mut self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        // The HAVING keeps every group whose parts do not both sum to zero: a superset of the
        // unbalanced ones, narrowed exactly below.
        let sql = format!(
            "SELECT tx_id, asset_id, {} FROM ledger_entries GROUP BY tx_id, asset_id \
             HAVING SUM(amount / 4294967296) <> 0 OR SUM(amount % 4294967296) <> 0 \
             ORDER BY tx_id, asset_id",
            exact_sum("amount", "total")
        );
        for row in query(db, &sql).await? {
            let sum = get_sum(&row, "total")?;
            if sum != 0 {
                let asset = self.asset(get(&row, "asset_id")?);
                self.violations.push(Violation::UnbalancedTransaction {
                    tx_id: get(&row, "tx_id")?,
                    asset,
                    sum,
                });
            }
        }
        Ok(())
    }

    async fn load_balances(&mut self, db: &impl ConnectionTrait) -> Result<Balances, DbErr> {
        let mut balances = Balances::new();
        let rows = query(
            db,
            "SELECT user_id, asset_id, available, held FROM balances",
        )
        .await?;
        for row in rows {
            balances.insert(
                (get(&row, "user_id")?, get(&row, "asset_id")?),
                (get(&row, "available")?, get(&row, "held")?),
            );
        }
        Ok(balances)
    }

    /// Check 2: each balance's `available` and `held` equal the sums of the user's
    /// `user:available` and `user:held` entries in that asset; a balance row without entries is
    /// zero, and entries without a balance row sum to zero.
    ///
    /// Why: the balance row is a cache of the ledger that every hold and withdrawal trusts; if
    /// it drifts, users can spend money they do not have, or lose money they do.
    async fn balances_match_ledger(
        &mut self,
        db: &impl ConnectionTrait,
        balances: &Balances,
    ) -> Result<(), DbErr> {
        let sql = format!(
            "SELECT user_id, asset_id, account, {} FROM ledger_entries \
             WHERE account IN ('{USER_AVAILABLE}', '{USER_HELD}') AND user_id IS NOT NULL \
             GROUP BY user_id, asset_id, account",
            exact_sum("amount", "total")
        );
        // (available, held) by (user, asset), from the ledger.
        let mut ledger: BTreeMap<(Uuid, Uuid), (i128, i128)> = BTreeMap::new();
        for row in query(db, &sql).await? {
            let key = (get(&row, "user_id")?, get(&row, "asset_id")?);
            let sum = get_sum(&row, "total")?;
            let entry = ledger.entry(key).or_default();
            if get::<String>(&row, "account")? == USER_AVAILABLE {
                entry.0 = sum;
            } else {
                entry.1 = sum;
            }
        }
        let keys: BTreeSet<(Uuid, Uuid)> = ledger.keys().chain(balances.keys()).copied().collect();
        for key @ (user_id, asset_id) in keys {
            let (available, held) = ledger.get(&key).copied().unwrap_or_default();
            match balances.get(&key) {
                None if available != 0 || held != 0 => {
                    self.violations.push(Violation::MissingBalance {
                        user_id,
                        asset: self.asset(asset_id),
                        available,
                        held,
                    });
                }
                None => {}
                Some(&(balance_available, balance_held)) => {
                    for (column, balance, ledger) in [
                        (BalanceColumn::Available, balance_available, available),
                        (BalanceColumn::Held, balance_held, held),
                    ] {
                        if i128::from(balance) != ledger {
                            self.violations.push(Violation::BalanceMismatch {
                                user_id,
                                asset: self.asset(asset_id),
                                column,
                                balance,
                                ledger,
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Check 3: no balance is negative.
    ///
    /// Why: a negative balance is an overdraft the platform never grants. The database's CHECK
    /// constraints refuse one, so finding one means the constraint was dropped or bypassed.
    fn no_negative_balance(&mut self, balances: &Balances) {
        for (&(user_id, asset_id), &(available, held)) in balances {
            for (column, amount) in [
                (BalanceColumn::Available, available),
                (BalanceColumn::Held, held),
            ] {
                if amount < 0 {
                    self.violations.push(Violation::NegativeBalance {
                        user_id,
                        asset: self.asset(asset_id),
                        column,
                        amount,
                    });
                }
            }
        }
    }

    /// Check 4: per asset, the users' available and held plus `system:fees` equal minus
    /// `system:issuance`, i.e. all the asset's entries sum to zero; each account's total fits
    /// an `i64`. Returns every asset's totals.
    ///
    /// Why: this is DESIGN.md §4.5's headline invariant, that everything issued is somewhere.
    /// It is the sum of check 1 over all transactions, so it also catches an imbalance that
    /// check 1 attributes to many transactions, and it states the issued total.
    async fn supply_is_accounted_for(
        &mut self,
        db: &impl ConnectionTrait,
    ) -> Result<Vec<AssetSupply>, DbErr> {
        let sql = format!(
            "SELECT asset_id, account, {} FROM ledger_entries GROUP BY asset_id, account \
             ORDER BY asset_id, account",
            exact_sum("amount", "total")
        );
        let mut supply: BTreeMap<Uuid, AssetSupply> = self
            .assets
            .keys()
            .map(|&id| (id, self.empty_supply(id)))
            .collect();
        let mut overflows = Vec::new();
        for row in query(db, &sql).await? {
            let asset_id: Uuid = get(&row, "asset_id")?;
            let account: String = get(&row, "account")?;
            let sum = get_sum(&row, "total")?;
            let s = supply
                .entry(asset_id)
                .or_insert_with(|| self.empty_supply(asset_id));
            let known = match account.as_str() {
                USER_AVAILABLE => {
                    s.available = sum;
                    Some(USER_AVAILABLE)
                }
                USER_HELD => {
                    s.held = sum;
                    Some(USER_HELD)
                }
                SYSTEM_FEES => {
                    s.fees = sum;
                    Some(SYSTEM_FEES)
                }
                SYSTEM_ISSUANCE => {
                    s.issued = -sum;
                    Some(SYSTEM_ISSUANCE)
                }
                _ => {
                    s.other += sum;
                    None
                }
            };
            if let Some(account) = known
                && i64::try_from(sum).is_err()
            {
                overflows.push(Violation::SupplyOverflow {
                    asset: self.asset(asset_id),
                    account,
                    sum,
                });
            }
        }
        for s in supply.values() {
            if s.imbalance() != 0 {
                self.violations.push(Violation::SupplyMismatch(s.clone()));
            }
        }
        self.violations.append(&mut overflows);
        Ok(supply.into_values().collect())
    }

    fn empty_supply(&self, id: Uuid) -> AssetSupply {
        AssetSupply {
            asset: self.asset(id),
            issued: 0,
            available: 0,
            held: 0,
            fees: 0,
            other: 0,
        }
    }

    /// Check 5: every order's `filled_lots` equals the lots of the trades it is maker or taker
    /// of and is at most `qty_lots`, and its `filled_value` equals their value.
    ///
    /// Why: the order's fill is what the owner sees and what the matcher rebuilds the book
    /// from; one that disagrees with the trades means a lost or double fill (DESIGN.md §4).
    async fn fills_match_trades(&mut self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        // Only orders that may be wrong come back: over-filled ones, and those whose parts
        // differ from their trades' (a superset of the mismatches, narrowed exactly below). A
        // trade whose maker is its taker counts once for that order.
        let sql = format!(
            "SELECT o.id, o.qty_lots, o.filled_lots, o.filled_value, \
                    t.lots_hi, t.lots_lo, t.value_hi, t.value_lo \
             FROM orders o LEFT JOIN ( \
                 SELECT order_id, {}, {} FROM ( \
                     SELECT maker_order_id AS order_id, qty_lots, \"value\" FROM trades \
                     UNION ALL \
                     SELECT taker_order_id AS order_id, qty_lots, \"value\" FROM trades \
                     WHERE taker_order_id <> maker_order_id \
                 ) f GROUP BY order_id \
             ) t ON t.order_id = o.id \
             WHERE o.filled_lots > o.qty_lots \
                OR o.filled_lots / 4294967296 <> COALESCE(t.lots_hi, 0) \
                OR o.filled_lots % 4294967296 <> COALESCE(t.lots_lo, 0) \
                OR o.filled_value / 4294967296 <> COALESCE(t.value_hi, 0) \
                OR o.filled_value % 4294967296 <> COALESCE(t.value_lo, 0) \
             ORDER BY o.id",
            exact_sum("qty_lots", "lots"),
            exact_sum("\"value\"", "value")
        );
        for row in query(db, &sql).await? {
            let order_id: i64 = get(&row, "id")?;
            let qty_lots: i64 = get(&row, "qty_lots")?;
            let filled_lots: i64 = get(&row, "filled_lots")?;
            let filled_value: i64 = get(&row, "filled_value")?;
            let trades_lots = get_sum(&row, "lots")?;
            let trades_value = get_sum(&row, "value")?;
            if filled_lots > qty_lots {
                self.violations.push(Violation::OverFilled {
                    order_id,
                    filled_lots,
                    qty_lots,
                });
            }
            if i128::from(filled_lots) != trades_lots {
                self.violations.push(Violation::FilledLotsMismatch {
                    order_id,
                    filled_lots,
                    trades_lots,
                });
            }
            if i128::from(filled_value) != trades_value {
                self.violations.push(Violation::FilledValueMismatch {
                    order_id,
                    filled_value,
                    trades_value,
                });
            }
        }
        Ok(())
    }

    /// Check 6: a live order's `held_remaining` is not negative, a done order's is zero, and
    /// per user and held asset (the quote of a buy, the base of a sell) the live orders' holds
    /// (`accepted` included) sum to the balance's `held`.
    ///
    /// Why: `held` is only ever moved by orders; money held for no order is stuck forever, and
    /// an order holding more than the balance can be filled with money that is not there.
    async fn holds_match_orders(
        &mut self,
        db: &impl ConnectionTrait,
        balances: &Balances,
    ) -> Result<(), DbErr> {
        let sql = format!(
            "SELECT id, status, held_remaining FROM orders \
             WHERE (status IN {HOLDING_STATUSES} AND held_remaining < 0) \
                OR (status IN {DONE_STATUSES} AND held_remaining <> 0) \
             ORDER BY id"
        );
        for row in query(db, &sql).await? {
            let order_id = get(&row, "id")?;
            let status: String = get(&row, "status")?;
            let held_remaining: i64 = get(&row, "held_remaining")?;
            self.violations.push(if held_remaining < 0 {
                Violation::NegativeHold {
                    order_id,
                    status,
                    held_remaining,
                }
            } else {
                Violation::DoneOrderHolds {
                    order_id,
                    status,
                    held_remaining,
                }
            });
        }

        let sql = format!(
            "SELECT user_id, market_id, side, {} FROM orders \
             WHERE status IN {HOLDING_STATUSES} GROUP BY user_id, market_id, side",
            exact_sum("held_remaining", "held")
        );
        let mut holds: BTreeMap<(Uuid, Uuid), i128> = BTreeMap::new();
        for row in query(db, &sql).await? {
            let market_id: Uuid = get(&row, "market_id")?;
            let side: String = get(&row, "side")?;
            // A market the foreign key guarantees; an unknown side is reported by
            // `known_values`. Either way the order cannot be attributed to an asset.
            let Some(&(_, base, quote)) = self.markets.get(&market_id) else {
                continue;
            };
            let asset = match side.as_str() {
                "buy" => quote,
                "sell" => base,
                _ => continue,
            };
            *holds.entry((get(&row, "user_id")?, asset)).or_default() += get_sum(&row, "held")?;
        }
        let keys: BTreeSet<(Uuid, Uuid)> = holds
            .keys()
            .copied()
            .chain(
                balances
                    .iter()
                    .filter(|(_, (_, held))| *held != 0)
                    .map(|(key, _)| *key),
            )
            .collect();
        for key @ (user_id, asset_id) in keys {
            let orders = holds.get(&key).copied().unwrap_or(0);
            let held = balances.get(&key).map_or(0, |&(_, held)| held);
            if i128::from(held) != orders {
                self.violations.push(Violation::HoldMismatch {
                    user_id,
                    asset: self.asset(asset_id),
                    held,
                    orders,
                });
            }
        }
        Ok(())
    }

    /// Check 7: in every market the highest live buy is below the lowest live sell.
    ///
    /// Why: the matcher trades every crossing pair before its batch commits (DESIGN.md §4.5);
    /// a crossed book means it skipped a match, and rebuilding the book from these rows would
    /// start from a state the engine never produces.
    async fn books_not_crossed(&mut self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        let sql = format!(
            "SELECT market_id, \
                    MAX(CASE WHEN side = 'buy' THEN price_ticks END) AS best_bid, \
                    MIN(CASE WHEN side = 'sell' THEN price_ticks END) AS best_ask \
             FROM orders WHERE status IN {RESTING_STATUSES} GROUP BY market_id"
        );
        let mut crossed = Vec::new();
        for row in query(db, &sql).await? {
            let bid: Option<i64> = get(&row, "best_bid")?;
            let ask: Option<i64> = get(&row, "best_ask")?;
            if let (Some(best_bid), Some(best_ask)) = (bid, ask)
                && best_bid >= best_ask
            {
                crossed.push(Violation::CrossedBook {
                    market: self.market(get(&row, "market_id")?),
                    best_bid,
                    best_ask,
                });
            }
        }
        crossed.sort_by_key(Violation::to_string);
        self.violations.append(&mut crossed);
        Ok(())
    }

    /// Check 8: in every market the trades' `seq` are exactly `1..=n`.
    ///
    /// Why: subscribers detect a missed trade by a gap in the market sequence and resync; a
    /// gap in the table itself means a trade was lost (or numbered twice across a failover).
    async fn trade_sequences(&mut self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        // (market_id, seq) is unique, so the numbers are 1..=n exactly when the smallest is 1
        // and the largest is n.
        let sql = "SELECT market_id, COUNT(*) AS n, MIN(seq) AS first, MAX(seq) AS last \
                   FROM trades GROUP BY market_id";
        let mut gaps = Vec::new();
        for row in query(db, sql).await? {
            let market_id: Uuid = get(&row, "market_id")?;
            let trades: i64 = get(&row, "n")?;
            let first: i64 = get(&row, "first")?;
            let last: i64 = get(&row, "last")?;
            if first == 1 && last == trades {
                continue;
            }
            let first_missing = if first > 1 {
                Some(1)
            } else if first < 1 {
                None
            } else {
                first_gap(db, market_id).await?
            };
            gaps.push(Violation::TradeSeqGap {
                market: self.market(market_id),
                trades,
                first,
                last,
                first_missing,
            });
        }
        gaps.sort_by_key(Violation::to_string);
        self.violations.append(&mut gaps);
        Ok(())
    }
}

/// The first missing trade `seq` of a market whose sequence starts at 1 but has a gap.
async fn first_gap(db: &impl ConnectionTrait, market_id: Uuid) -> Result<Option<i64>, DbErr> {
    let backend = db.get_database_backend();
    let p = match backend {
        DbBackend::Postgres => "$1",
        _ => "?",
    };
    // The smallest seq whose successor is missing, below the largest (so `seq + 1` cannot
    // overflow).
    let sql = format!(
        "SELECT MIN(t.seq) AS before_gap FROM trades t \
         WHERE t.market_id = {p} AND t.seq >= 1 \
           AND t.seq < (SELECT MAX(u.seq) FROM trades u WHERE u.market_id = t.market_id) \
           AND NOT EXISTS (SELECT 1 FROM trades u \
                           WHERE u.market_id = t.market_id AND u.seq = t.seq + 1)"
    );
    let stmt = Statement::from_sql_and_values(backend, sql, [Value::from(market_id)]);
    let Some(row) = db.query_one_raw(stmt).await? else {
        return Ok(None);
    };
    let before: Option<i64> = get(&row, "before_gap")?;
    Ok(before.and_then(|seq| seq.checked_add(1)))
}

/// Two select items summing `expr` exactly: `{alias}_hi` and `{alias}_lo`, the sums of its
/// high and low 32-bit parts (integer division and remainder truncate toward zero on both
/// backends, so `x = hi * 2^32 + lo` for every row). Recombined by [`get_sum`].
fn exact_sum(expr: &str, alias: &str) -> String {
    format!(
        "CAST(SUM({expr} / 4294967296) AS BIGINT) AS {alias}_hi, \
         CAST(SUM({expr} % 4294967296) AS BIGINT) AS {alias}_lo"
    )
}

/// Reads a sum written by [`exact_sum`] (null, for no rows, is zero).
fn get_sum(row: &QueryResult, alias: &str) -> Result<i128, DbErr> {
    let hi: Option<i64> = get(row, &format!("{alias}_hi"))?;
    let lo: Option<i64> = get(row, &format!("{alias}_lo"))?;
    Ok(i128::from(hi.unwrap_or(0)) * SPLIT + i128::from(lo.unwrap_or(0)))
}

/// Runs a portable statement without parameters.
async fn query(db: &impl ConnectionTrait, sql: &str) -> Result<Vec<QueryResult>, DbErr> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
}

/// Runs a `SELECT COUNT(*) AS n` statement.
async fn count(db: &impl ConnectionTrait, sql: &str) -> Result<u64, DbErr> {
    let n = match db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
    {
        Some(row) => get::<i64>(&row, "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Reads column `col` of `row`.
fn get<T: sea_orm::TryGetable>(row: &QueryResult, col: &str) -> Result<T, DbErr> {
    row.try_get("", col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_sums_show_their_sign() {
        assert_eq!(Signed(5).to_string(), "+5");
        assert_eq!(Signed(-3).to_string(), "-3");
        assert_eq!(Signed(0).to_string(), "0");
    }

    #[test]
    fn the_split_recombines_every_i64() {
        // What the database computes for one row, with Rust's (also truncating) / and %.
        for x in [0, 1, -1, 4_294_967_295, -4_294_967_297, i64::MAX, i64::MIN] {
            let (hi, lo) = (x / 4_294_967_296, x % 4_294_967_296);
            assert_eq!(i128::from(hi) * SPLIT + i128::from(lo), i128::from(x));
        }
    }
}
