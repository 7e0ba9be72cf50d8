//! The venue's single writer (decision 0008): every market's engine, every account's
//! balances and holds, open orders and the idempotency index, in memory, changed only by
//! [`Command`]s applied one after another. A command is answered at once from memory (an
//! [`Answer`] or a [`Refusal`]); what it changed is collected into a [`Batch`], which the
//! matcher process makes durable (the journal) and writes out (the projection).
//!
//! Determinism is the contract: the same commands with the same sequence numbers and times
//! give the same answers and the same batch, byte for byte. So a standby or a recovering
//! leader that replays the journal reaches the state the leader had, and an order's id is the
//! sequence number of the command that placed it.
//!
//! A refusal changes nothing. Risk checks — funds, holds, the asset's supply cap, every sum
//! fitting an `i64` — run before anything moves, so a command is either applied whole or
//! refused whole. What cannot happen when the checks hold (an engine payout beyond an `i64`,
//! a balance going negative) is reported as a [`CoreError`]: the process must stop using this
//! core and rebuild it from the journal, because its memory may be ahead of any state it can
//! explain.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use crate::{
    Owner, Side, TimeInForce,
    book::OrderId,
    market::{
        Account as MarketAccount, Asset, Effects, Engine, Input, MarketRules, OrderState,
        PostingKind, Status, required_hold,
    },
};

/// An asset, as the catalog names it (a UUID's 128 bits).
pub type AssetId = u128;
/// A market, as the catalog names it (a UUID's 128 bits).
pub type MarketId = u128;

/// What one owner has of one asset, in minor units. Both parts are never negative.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Balance {
    /// Free to spend or withdraw.
    pub available: i64,
    /// Held for open orders.
    pub held: i64,
}

/// A ledger account of one asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Account {
    /// An owner's spendable balance.
    Available(Owner),
    /// An owner's balance held for open orders.
    Held(Owner),
    /// The venue's fee income.
    Fees,
    /// Where credited money comes from: minus everything ever issued.
    Issuance,
}

/// Why money moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// An operator credited an account.
    Credit,
    /// An order's funds were held when it was placed.
    Hold,
    /// A trade paid or delivered.
    Trade,
    /// A fee was charged.
    Fee,
    /// A hold went back to available.
    Release,
}

/// One side of a ledger movement. The postings of one transaction sum to zero per asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    /// Whose money.
    pub account: Account,
    /// Which asset.
    pub asset: AssetId,
    /// Signed minor units.
    pub amount: i64,
    /// Why.
    pub reason: Reason,
    /// The order concerned, if any.
    pub order: Option<OrderId>,
    /// The trade concerned (market and its trade sequence), if any.
    pub trade: Option<(MarketId, u64)>,
}

/// An order as a trader sent it, after brain checked its shape (ticks, lots, the price band).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    /// Where.
    pub market: MarketId,
    /// Who.
    pub owner: Owner,
    /// The trader's idempotency key: a second place with the same key answers the first order.
    pub client_order_id: Option<Box<str>>,
    /// Buy or sell.
    pub side: Side,
    /// Limit price in ticks; `None` for a market order.
    pub price: Option<u64>,
    /// For a market BUY: the quote minor units it may spend, fees included.
    pub quote_budget: Option<u64>,
    /// Lots.
    pub qty: u64,
    /// Lifetime.
    pub tif: TimeInForce,
    /// Refuse to take liquidity.
    pub post_only: bool,
}

/// A market as the core needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listing {
    /// The market.
    pub market: MarketId,
    /// Its ticks, lots and fees.
    pub rules: MarketRules,
    /// The asset traded.
    pub base: AssetId,
    /// The asset prices are in.
    pub quote: AssetId,
    /// Whether it takes new orders.
    pub open: bool,
}

/// Everything that changes the core. Each is journaled before its answer is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Makes an asset known, with the most of it that may ever be issued.
    ListAsset {
        /// The asset.
        asset: AssetId,
        /// The supply cap, minor units (at most `i64::MAX`).
        supply_cap: i64,
    },
    /// Opens a new market (halted or open).
    ListMarket(Listing),
    /// Halts (`false`) or reopens (`true`) a market. Halted: places are refused, cancels run.
    SetOpen {
        /// The market.
        market: MarketId,
        /// Taking orders or not.
        open: bool,
    },
    /// Credits an owner from issuance (paper-trading funding, an operator's deposit).
    Credit {
        /// Who.
        owner: Owner,
        /// What.
        asset: AssetId,
        /// How much, minor units, more than zero.
        amount: i64,
    },
    /// Holds the order's funds and sends it to its market.
    Place(NewOrder),
    /// Cancels one live order of `owner`.
    Cancel {
        /// Who asks.
        owner: Owner,
        /// The order.
        order: OrderId,
    },
    /// Cancels every live order of `owner`, in one market or in all.
    CancelAll {
        /// Who asks.
        owner: Owner,
        /// One market, or every market.
        market: Option<MarketId>,
    },
}

/// What an accepted command did, for its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A listing or a status change took effect.
    Done,
    /// The owner's balance after a credit.
    Credited(Balance),
    /// The new order as its market left it: open, filled, cancelled or rejected, with the
    /// reason.
    Placed(OrderState),
    /// A retry: the order first placed with this client order id (nothing new happened).
    Existing(OrderId),
    /// The orders cancelled, as they ended.
    Cancelled(Vec<OrderState>),
}

impl Answer {
    /// Whether the command changed anything (and so must be journaled).
    pub fn changed_state(&self) -> bool {
        !matches!(self, Self::Existing(_))
    }
}

/// Why a command was refused. A refused command changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// No such market.
    UnknownMarket,
    /// No such asset.
    UnknownAsset,
    /// The market or asset is already listed.
    AlreadyListed,
    /// The market's rules are unusable.
    InvalidRules,
    /// The market is halted.
    MarketHalted,
    /// The order is malformed (a market BUY without a budget, no quantity, a price of 0).
    InvalidOrder,
    /// Not enough available to hold what the order needs.
    InsufficientFunds,
    /// An amount would not fit (a hold beyond an `i64`, a credit beyond the supply cap).
    BalanceLimit,
    /// No live order of the caller by that id (another owner's looks the same).
    NotFound,
}

/// A state the checks should make impossible; the core must be rebuilt from the journal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// A balance would have gone negative or beyond an `i64` while applying `order`'s effects
    /// (or an engine payout did not fit).
    #[error("applying order {order}'s effects broke the ledger's bounds")]
    Ledger {
        /// The order concerned.
        order: OrderId,
    },
}

/// Everything the commands since the last [`Core::take_batch`] changed, for the journal's
/// projection: per market the engine's effects (trades, order states, book deltas), the
/// ledger in order, and the final value of every touched balance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// The engine's effects per market, in command order within each market (their `ledger`
    /// is empty: see `ledger`).
    pub markets: BTreeMap<MarketId, Effects>,
    /// Ledger transactions in the order they happened; each sums to zero per asset.
    pub ledger: Vec<Vec<Posting>>,
    /// Touched balances as they stand after the batch.
    pub balances: BTreeMap<(Owner, AssetId), Balance>,
    /// Markets listed or whose status changed, as they stand after the batch.
    pub listings: BTreeMap<MarketId, Listing>,
    /// Per asset, the total issued after the batch (for assets credited in it).
    pub issued: BTreeMap<AssetId, i64>,
}

/// The whole venue as a recovering leader loads it from the projection (and as a test takes
/// it from a live core): enough to rebuild every decision the core makes next.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Every asset: (asset, supply cap, issued, fee income).
    pub assets: Vec<(AssetId, i64, i64, i64)>,
    /// Every market with its last trade sequence and its live orders. Orders may come in any
    /// order: an order's id is its place command's sequence, so sorting by id restores time
    /// priority.
    pub markets: Vec<(Listing, u64, Vec<OrderState>)>,
    /// Every balance that is not zero.
    pub balances: Vec<((Owner, AssetId), Balance)>,
    /// The idempotency index.
    pub client_ids: Vec<((Owner, Box<str>), OrderId)>,
}

/// Why a snapshot does not make a venue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    /// A market's engine refused its rules or its orders.
    #[error("market {market:x} cannot be rebuilt: {reason}")]
    Market {
        /// The market.
        market: MarketId,
        /// What its engine said.
        reason: String,
    },
    /// The ledger does not balance, or holds do not match the orders.
    #[error("the snapshot's ledger is inconsistent: {0}")]
    Ledger(String),
}

struct MarketSlot {
    listing: Listing,
    engine: Engine,
}

#[derive(Debug, Clone, Copy, Default)]
struct AssetSlot {
    supply_cap: i64,
    issued: i64,
    fees: i64,
}

/// The venue in memory. See the module documentation.
#[derive(Default)]
pub struct Core {
    assets: FxHashMap<AssetId, AssetSlot>,
    markets: BTreeMap<MarketId, MarketSlot>,
    balances: FxHashMap<(Owner, AssetId), Balance>,
    /// (owner, client order id) → the order placed with it.
    client_ids: FxHashMap<(Owner, Box<str>), OrderId>,
    /// Live orders → their market.
    live: FxHashMap<OrderId, MarketId>,
    batch: Batch,
}

impl Core {
    /// An empty venue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `command`, the journal's entry `seq` at time `ts` (nanoseconds since the
    /// epoch): answers it, or refuses it and changes nothing.
    ///
    /// # Errors
    /// [`CoreError`] when applying broke an invariant the checks should guarantee; the core
    /// must then be discarded and rebuilt from the journal.
    pub fn apply(
        &mut self,
        command: &Command,
        seq: u64,
        ts: u64,
    ) -> Result<Result<Answer, Refusal>, CoreError> {
        match command {
            Command::ListAsset { asset, supply_cap } => Ok(self.list_asset(*asset, *supply_cap)),
            Command::ListMarket(listing) => self.list_market(*listing),
            Command::SetOpen { market, open } => Ok(self.set_open(*market, *open)),
            Command::Credit {
                owner,
                asset,
                amount,
            } => Ok(self.credit(*owner, *asset, *amount)),
            Command::Place(order) => self.place(order, seq, ts),
            Command::Cancel { owner, order } => self.cancel(*owner, *order, ts),
            Command::CancelAll { owner, market } => self.cancel_all(*owner, *market, ts),
        }
    }

    /// A venue rebuilt from `snapshot`, checked with [`Core::audit`] before it is used.
    ///
    /// # Errors
    /// [`RestoreError`] when a market cannot be rebuilt or the ledger does not balance.
    pub fn restore(snapshot: Snapshot) -> Result<Self, RestoreError> {
        let mut core = Self::new();
        for (asset, supply_cap, issued, fees) in snapshot.assets {
            core.assets.insert(
                asset,
                AssetSlot {
                    supply_cap,
                    issued,
                    fees,
                },
            );
        }
        for (listing, trade_seq, mut live) in snapshot.markets {
            live.sort_by_key(|o| o.id);
            for o in &live {
                core.live.insert(o.id, listing.market);
            }
            let engine = Engine::restore(listing.rules, trade_seq, live).map_err(|e| {
                RestoreError::Market {
                    market: listing.market,
                    reason: format!("{e:?}"),
                }
            })?;
            core.markets
                .insert(listing.market, MarketSlot { listing, engine });
        }
        core.balances.extend(snapshot.balances);
        core.client_ids.extend(snapshot.client_ids);
        core.audit().map_err(RestoreError::Ledger)?;
        Ok(core)
    }

    /// The venue as [`Core::restore`] takes it, in a canonical order (so two equal venues give
    /// equal snapshots).
    pub fn snapshot(&self) -> Snapshot {
        let mut assets: Vec<_> = self
            .assets
            .iter()
            .map(|(&a, s)| (a, s.supply_cap, s.issued, s.fees))
            .collect();
        assets.sort_unstable();
        let markets = self
            .markets
            .values()
            .map(|m| {
                let mut live: Vec<OrderState> = m.engine.live_orders().copied().collect();
                live.sort_by_key(|o| o.id);
                (m.listing, m.engine.trade_seq(), live)
            })
            .collect();
        let mut balances: Vec<_> = self
            .balances
            .iter()
            .filter(|(_, b)| **b != Balance::default())
            .map(|(k, b)| (*k, *b))
            .collect();
        balances.sort_unstable_by_key(|(k, _)| *k);
        let mut client_ids: Vec<_> = self
            .client_ids
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        client_ids.sort_unstable();
        Snapshot {
            assets,
            markets,
            balances,
            client_ids,
        }
    }

    /// What the commands since the last call changed; the next batch starts empty.
    pub fn take_batch(&mut self) -> Batch {
        std::mem::take(&mut self.batch)
    }

    /// An owner's balance of an asset (zero if never touched).
    pub fn balance(&self, owner: Owner, asset: AssetId) -> Balance {
        self.balances
            .get(&(owner, asset))
            .copied()
            .unwrap_or_default()
    }

    /// A live order's state.
    pub fn order(&self, id: OrderId) -> Option<&OrderState> {
        let market = self.live.get(&id)?;
        self.markets.get(market)?.engine.order(id)
    }

    /// A market's engine (its book, for snapshots).
    pub fn engine(&self, market: MarketId) -> Option<&Engine> {
        self.markets.get(&market).map(|m| &m.engine)
    }

    /// Checks the ledger's invariants over the whole venue: for every asset the balances plus
    /// fee income equal what was issued; no part of a balance is negative; every owner's held
    /// amount equals what their live orders hold. The audit of the projection checks the
    /// same on the tables; this one is for tests and for a recovering leader.
    ///
    /// # Errors
    /// A description of the first broken invariant.
    pub fn audit(&self) -> Result<(), String> {
        let mut sums: FxHashMap<AssetId, i128> = FxHashMap::default();
        let mut held: FxHashMap<(Owner, AssetId), i128> = FxHashMap::default();
        for (&(owner, asset), b) in &self.balances {
            if b.available < 0 || b.held < 0 {
                return Err(format!(
                    "{owner:x} has a negative balance of {asset:x}: {b:?}"
                ));
            }
            *sums.entry(asset).or_default() += i128::from(b.available) + i128::from(b.held);
            if b.held != 0 {
                held.insert((owner, asset), i128::from(b.held));
            }
        }
        for (&asset, a) in &self.assets {
            let total = sums.get(&asset).copied().unwrap_or(0) + i128::from(a.fees);
            if total != i128::from(a.issued) {
                return Err(format!(
                    "asset {asset:x}: balances and fees are {total}, issued {}",
                    a.issued
                ));
            }
        }
        for (&id, market) in &self.live {
            let slot = self
                .markets
                .get(market)
                .ok_or_else(|| format!("order {id} in unknown market {market:x}"))?;
            let o = slot
                .engine
                .order(id)
                .ok_or_else(|| format!("order {id} is live but its market does not know it"))?;
            let asset = match o.side {
                Side::Buy => slot.listing.quote,
                Side::Sell => slot.listing.base,
            };
            *held.entry((o.owner, asset)).or_default() -= i128::from(o.held);
        }
        match held.into_iter().find(|(_, v)| *v != 0) {
            Some(((owner, asset), v)) => Err(format!(
                "{owner:x} holds {v} of {asset:x} more than their live orders need"
            )),
            None => Ok(()),
        }
    }

    fn list_asset(&mut self, asset: AssetId, supply_cap: i64) -> Result<Answer, Refusal> {
        if supply_cap < 0 {
            return Err(Refusal::BalanceLimit);
        }
        if self.assets.contains_key(&asset) {
            return Err(Refusal::AlreadyListed);
        }
        self.assets.insert(
            asset,
            AssetSlot {
                supply_cap,
                ..AssetSlot::default()
            },
        );
        Ok(Answer::Done)
    }

    fn list_market(&mut self, listing: Listing) -> Result<Result<Answer, Refusal>, CoreError> {
        if self.markets.contains_key(&listing.market) {
            return Ok(Err(Refusal::AlreadyListed));
        }
        if !self.assets.contains_key(&listing.base) || !self.assets.contains_key(&listing.quote) {
            return Ok(Err(Refusal::UnknownAsset));
        }
        let Ok(engine) = Engine::new(listing.rules, 0) else {
            return Ok(Err(Refusal::InvalidRules));
        };
        self.markets
            .insert(listing.market, MarketSlot { listing, engine });
        self.batch.listings.insert(listing.market, listing);
        Ok(Ok(Answer::Done))
    }

    fn set_open(&mut self, market: MarketId, open: bool) -> Result<Answer, Refusal> {
        let slot = self
            .markets
            .get_mut(&market)
            .ok_or(Refusal::UnknownMarket)?;
        slot.listing.open = open;
        self.batch.listings.insert(market, slot.listing);
        Ok(Answer::Done)
    }

    fn credit(&mut self, owner: Owner, asset: AssetId, amount: i64) -> Result<Answer, Refusal> {
        if amount <= 0 {
            return Err(Refusal::InvalidOrder);
        }
        let slot = self.assets.get(&asset).ok_or(Refusal::UnknownAsset)?;
        let issued = slot
            .issued
            .checked_add(amount)
            .filter(|v| *v <= slot.supply_cap)
            .ok_or(Refusal::BalanceLimit)?;
        // Every balance is at most what was issued, so this fits once the cap holds.
        let mut balance = self.balance(owner, asset);
        balance.available = balance
            .available
            .checked_add(amount)
            .ok_or(Refusal::BalanceLimit)?;
        if let Some(slot) = self.assets.get_mut(&asset) {
            slot.issued = issued;
        }
        self.batch.issued.insert(asset, issued);
        self.set_balance(owner, asset, balance);
        self.batch.ledger.push(vec![
            Posting {
                account: Account::Issuance,
                asset,
                amount: -amount,
                reason: Reason::Credit,
                order: None,
                trade: None,
            },
            Posting {
                account: Account::Available(owner),
                asset,
                amount,
                reason: Reason::Credit,
                order: None,
                trade: None,
            },
        ]);
        Ok(Answer::Credited(balance))
    }

    fn place(
        &mut self,
        new: &NewOrder,
        seq: u64,
        ts: u64,
    ) -> Result<Result<Answer, Refusal>, CoreError> {
        let Some(slot) = self.markets.get(&new.market) else {
            return Ok(Err(Refusal::UnknownMarket));
        };
        if let Some(cid) = &new.client_order_id
            && let Some(&first) = self.client_ids.get(&(new.owner, cid.clone()))
        {
            return Ok(Ok(Answer::Existing(first)));
        }
        if !slot.listing.open {
            return Ok(Err(Refusal::MarketHalted));
        }
        let market_buy_without_budget =
            new.side == Side::Buy && new.price.is_none() && new.quote_budget.is_none();
        if new.qty == 0 || new.price == Some(0) || market_buy_without_budget {
            return Ok(Err(Refusal::InvalidOrder));
        }
        let rules = slot.listing.rules;
        let asset = match new.side {
            Side::Buy => slot.listing.quote,
            Side::Sell => slot.listing.base,
        };
        let Some(hold) = required_hold(&rules, new.side, new.price, new.quote_budget, new.qty)
            .and_then(|h| i64::try_from(h).ok())
        else {
            return Ok(Err(Refusal::BalanceLimit));
        };
        let mut balance = self.balance(new.owner, asset);
        if balance.available < hold {
            return Ok(Err(Refusal::InsufficientFunds));
        }
        // The checks are done: from here the order is accepted.
        balance.available -= hold;
        balance.held += hold;
        self.set_balance(new.owner, asset, balance);
        self.batch.ledger.push(vec![
            Posting {
                account: Account::Available(new.owner),
                asset,
                amount: -hold,
                reason: Reason::Hold,
                order: Some(seq),
                trade: None,
            },
            Posting {
                account: Account::Held(new.owner),
                asset,
                amount: hold,
                reason: Reason::Hold,
                order: Some(seq),
                trade: None,
            },
        ]);
        if let Some(cid) = &new.client_order_id {
            self.client_ids.insert((new.owner, cid.clone()), seq);
        }
        let order = OrderState {
            id: seq,
            owner: new.owner,
            side: new.side,
            price: new.price,
            quote_budget: new.quote_budget,
            tif: new.tif,
            post_only: new.post_only,
            qty: new.qty,
            filled: 0,
            filled_value: 0,
            fees_paid: 0,
            // Checked above: the hold is a non-negative i64.
            held: hold.unsigned_abs(),
            status: Status::Accepted,
            reason: None,
        };
        let fx = self.run(new.market, Input::Place(order), ts)?;
        let placed = fx.orders.get(&seq).copied().unwrap_or(order);
        Ok(Ok(Answer::Placed(placed)))
    }

    fn cancel(
        &mut self,
        owner: Owner,
        id: OrderId,
        ts: u64,
    ) -> Result<Result<Answer, Refusal>, CoreError> {
        let Some(&market) = self.live.get(&id) else {
            return Ok(Err(Refusal::NotFound));
        };
        if self.order(id).is_none_or(|o| o.owner != owner) {
            return Ok(Err(Refusal::NotFound));
        }
        let fx = self.run(market, Input::Cancel { id, owner }, ts)?;
        Ok(Ok(Answer::Cancelled(
            fx.orders.get(&id).copied().into_iter().collect(),
        )))
    }

    fn cancel_all(
        &mut self,
        owner: Owner,
        market: Option<MarketId>,
        ts: u64,
    ) -> Result<Result<Answer, Refusal>, CoreError> {
        let markets: Vec<MarketId> = match market {
            Some(m) if self.markets.contains_key(&m) => vec![m],
            Some(_) => return Ok(Err(Refusal::UnknownMarket)),
            None => self.markets.keys().copied().collect(),
        };
        let mut cancelled = Vec::new();
        for m in markets {
            let fx = self.run(m, Input::CancelAll { owner }, ts)?;
            cancelled.extend(fx.orders.values().filter(|o| !o.status.is_live()).copied());
        }
        cancelled.sort_by_key(|o| o.id);
        Ok(Ok(Answer::Cancelled(cancelled)))
    }

    /// Runs one input through a market's engine and applies what it did: the ledger to the
    /// balances, the orders to the live index, everything to the batch. Returns the engine's
    /// effects of this input alone.
    fn run(&mut self, market: MarketId, input: Input, ts: u64) -> Result<Effects, CoreError> {
        let order_hint = match input {
            Input::Place(o) => o.id,
            Input::Cancel { id, .. } => id,
            Input::CancelAll { .. } => 0,
        };
        let Some(slot) = self.markets.get_mut(&market) else {
            return Ok(Effects::default());
        };
        let mut fx = Effects::default();
        slot.engine.apply(input, ts, &mut fx);
        if let Some(&order) = fx.overflowed.first() {
            return Err(CoreError::Ledger { order });
        }
        let (base, quote) = (slot.listing.base, slot.listing.quote);
        // The ledger first, into a copy: a broken sum leaves the balances as they were.
        let mut touched: BTreeMap<(Owner, AssetId), Balance> = BTreeMap::new();
        let mut fees: i64 = 0;
        let mut ledger = Vec::with_capacity(fx.ledger.len());
        for tx in &fx.ledger {
            let mut out = Vec::with_capacity(tx.len());
            for p in tx {
                let asset = match p.asset {
                    Asset::Base => base,
                    Asset::Quote => quote,
                };
                let account = match p.account {
                    MarketAccount::Available(o) => Account::Available(o),
                    MarketAccount::Held(o) => Account::Held(o),
                    MarketAccount::Fees => Account::Fees,
                };
                let broken = CoreError::Ledger { order: p.order };
                match account {
                    Account::Available(o) | Account::Held(o) => {
                        let b = touched.entry((o, asset)).or_insert_with(|| {
                            self.balances.get(&(o, asset)).copied().unwrap_or_default()
                        });
                        let part = if matches!(account, Account::Held(_)) {
                            &mut b.held
                        } else {
                            &mut b.available
                        };
                        *part = part
                            .checked_add(p.amount)
                            .filter(|v| *v >= 0)
                            .ok_or(broken)?;
                    }
                    Account::Fees => {
                        // Fees are always in the quote asset.
                        fees = fees.checked_add(p.amount).ok_or(broken)?;
                    }
                    Account::Issuance => {}
                }
                out.push(Posting {
                    account,
                    asset,
                    amount: p.amount,
                    reason: match p.kind {
                        PostingKind::Trade => Reason::Trade,
                        PostingKind::Fee => Reason::Fee,
                        PostingKind::Release => Reason::Release,
                    },
                    order: Some(p.order),
                    trade: p.trade_seq.map(|s| (market, s)),
                });
            }
            ledger.push(out);
        }
        if fees != 0 {
            let slot = self
                .assets
                .get_mut(&quote)
                .ok_or(CoreError::Ledger { order: order_hint })?;
            slot.fees = slot
                .fees
                .checked_add(fees)
                .ok_or(CoreError::Ledger { order: order_hint })?;
        }
        for ((owner, asset), b) in touched {
            self.set_balance(owner, asset, b);
        }
        self.batch.ledger.extend(ledger);
        for (&id, o) in &fx.orders {
            if o.status.is_live() {
                self.live.insert(id, market);
            } else {
                self.live.remove(&id);
            }
        }
        merge(self.batch.markets.entry(market).or_default(), &fx);
        Ok(fx)
    }

    fn set_balance(&mut self, owner: Owner, asset: AssetId, b: Balance) {
        self.balances.insert((owner, asset), b);
        self.batch.balances.insert((owner, asset), b);
    }
}

/// Adds one input's effects to the batch's effects of its market. The ledger is not copied:
/// the batch keeps it once, with assets resolved ([`Batch::ledger`]).
fn merge(into: &mut Effects, fx: &Effects) {
    into.trades.extend_from_slice(&fx.trades);
    into.orders.extend(fx.orders.iter().map(|(k, v)| (*k, *v)));
    into.deltas.extend_from_slice(&fx.deltas);
    into.rejected_cancels
        .extend_from_slice(&fx.rejected_cancels);
}
