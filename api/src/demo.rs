//! `rialto serve --demo`: a living market in a fresh install. It lists a cash asset and three
//! assets with their markets, opens demo accounts with funds (their logins are printed at
//! start), and runs a market maker that quotes both sides around a drifting fair price plus
//! a small random taker flow — all as a client of the server's own public GraphQL API
//! ([`client::Client`]), so the demo exercises exactly what an integrator's bot would.
//!
//! Only the accounts are made inside the process (like `rialto admin create-user`): the
//! demo's admin gets a fresh random password on every start, known only to the demo task.
//! Seeding is idempotent: on a data directory that already has the demo, it only signs in
//! and trades.
//!
//! **History.** A fresh seed also back-fills [`HISTORY`] of candles for every market, ending
//! at the minute the demo starts, so charts have a past from the first minute. The past is
//! the same walk and taker flow the live bots run, drawn backwards from the listing's fair
//! price (so it ends where the maker starts), folded into every candle interval by
//! [`brain::store::history`]. Only candles are written, directly in the database (the one
//! step that is not through the API: there is no public way to write the past): no trades,
//! orders or ledger entries, so the ledger audit holds, and the 24 h ticker and recent
//! trades show only what really traded. The bots start from the market's last price (a
//! real trade, else the last candle), so the live chart joins the history, on a restart too.

use std::time::Duration;

use auth::AuthService;
use brain::store::history::{PastTrade, insert_candle_history};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use client::{Client, ClientError, NewOrder, Session};
use common::Role;
use rand::{RngExt, SeedableRng, rngs::StdRng};
use sea_orm::{DatabaseConnection, TransactionTrait};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

/// The demo's cash asset.
const CASH: &str = "USD";

/// One listed asset of the demo: symbol, name, kind, and its starting fair price in cents
/// (its market's tick is one cent, so cents are ticks).
struct Listing {
    symbol: &'static str,
    name: &'static str,
    kind: &'static str,
    fair_cents: i64,
}

const LISTINGS: [Listing; 3] = [
    Listing {
        symbol: "ACME",
        name: "Acme Corporation shares",
        kind: "equity",
        fair_cents: 2_500,
    },
    Listing {
        symbol: "GOLDG",
        name: "Vaulted gold, one gram",
        kind: "commodity",
        fair_cents: 7_500,
    },
    Listing {
        symbol: "TULIP",
        name: "Tulip Club membership tokens",
        kind: "token",
        fair_cents: 400,
    },
];

/// The demo traders anyone may sign in as: (email, password).
pub const DEMO_USERS: [(&str, &str); 2] = [
    ("alice@demo.rialto.dev", "alice trades tulips at dawn"),
    ("bob@demo.rialto.dev", "bob buys gold before breakfast"),
];

/// The market maker bot's login name (its password is random, known only to the demo task).
pub const MAKER: &str = "maker-bot@demo.rialto.dev";
/// The taker bot's login name.
pub const TAKER: &str = "taker-bot@demo.rialto.dev";
const ADMIN: &str = "admin@demo.rialto.dev";

/// How often the maker re-quotes a market (each round: new quotes, then the old withdrawn).
const QUOTE_EVERY: Duration = Duration::from_secs(2);
/// Price levels quoted on each side.
const LEVELS: i64 = 4;
/// The chance that the taker trades in a market in one round.
const TAKE_CHANCE: f64 = 0.7;
/// How much candle history a fresh seed back-fills.
pub const HISTORY: TimeDelta = TimeDelta::hours(6);

/// Makes the demo's accounts, then starts the seeding and the bots against `graphql_url`
/// (this server's own `/graphql`) in the background, and prints the demo logins. The
/// candle history is written through the auth service's database connection, which
/// `rialto serve` shares with brain and the matcher.
///
/// # Errors
/// Creating an account failed (the database is unreachable).
pub async fn start(auth: &AuthService, graphql_url: String) -> anyhow::Result<()> {
    let db = auth.db().clone();
    let admin_password = random_password();
    auth.create_user(ADMIN, &admin_password, Role::Admin)
        .await?;
    let bot_password = random_password();
    // Who gets what funds: each account with its password (the seed signs in as each to see
    // what it already has) and whether it is a bot.
    let mut accounts = Vec::new();
    for email in [MAKER, TAKER] {
        auth.create_user(email, &bot_password, Role::Trader).await?;
        accounts.push(Account {
            email,
            password: bot_password.clone(),
            bot: true,
        });
    }
    for (email, password) in DEMO_USERS {
        auth.create_user(email, password, Role::Trader).await?;
        accounts.push(Account {
            email,
            password: password.to_owned(),
            bot: false,
        });
    }
    let logins = DEMO_USERS
        .iter()
        .map(|(e, p)| format!("{e} / {p}"))
        .collect::<Vec<_>>()
        .join("; ");
    tracing::info!("demo mode: sign in as a demo trader (email / password): {logins}");
    tokio::spawn(async move {
        let base = Client::new(graphql_url);
        // The listener is bound but may not serve yet: retry the first sign-in briefly.
        let mut tries = 0;
        let mut admin = loop {
            match base.login(ADMIN, &admin_password).await {
                Ok((c, _)) => break c,
                Err(e) if tries < 50 => {
                    tries += 1;
                    tracing::debug!(error = %e, "demo: waiting for the server");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "demo: cannot sign in; no demo market");
                    return;
                }
            }
        };
        // Seeding takes a while (the candle history); with a short token lifetime the
        // admin's token may expire under it. Every step checks what exists first, so the seed
        // signs in again and carries on from where it stopped.
        let mut renewals = 0;
        loop {
            match seed(&base, &admin, &accounts, &db).await {
                Ok(()) => break,
                Err(e) if e.code() == Some("UNAUTHENTICATED") && renewals < 10 => {
                    renewals += 1;
                    match base.login(ADMIN, &admin_password).await {
                        Ok((c, _)) => admin = c,
                        Err(e) => {
                            tracing::error!(error = %e, "demo: cannot sign in again; no demo market");
                            return;
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "demo: seeding failed; no demo market");
                    return;
                }
            }
        }
        match (
            BotSession::sign_in(&base, MAKER, &bot_password).await,
            BotSession::sign_in(&base, TAKER, &bot_password).await,
        ) {
            (Ok(maker), Ok(taker)) => run_bots(maker, taker).await,
            (Err(e), _) | (_, Err(e)) => tracing::error!(error = %e, "demo: bots cannot sign in"),
        }
    });
    Ok(())
}

fn random_password() -> String {
    let mut rng = rand::rng();
    (0..32)
        .map(|_| char::from(b'a' + rng.random_range(0..26_u8)))
        .collect()
}

/// A demo account the seed funds.
struct Account {
    email: &'static str,
    password: String,
    bot: bool,
}

/// Lists the assets and markets (each with its back-filled history) and funds the
/// accounts. Every step checks what exists first, so a seed that an earlier start left
/// half done (stopped mid-way) is completed, and a complete one is left as it is — except
/// that an account which has spent all of an asset gets its demo allowance again.
async fn seed(
    base: &Client,
    admin: &Client,
    accounts: &[Account],
    db: &DatabaseConnection,
) -> Result<(), ClientError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Created {
        create_market: Id,
    }
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Balances {
        my_balances: Vec<Held>,
    }
    #[derive(Deserialize)]
    struct Held {
        asset: Symbol,
        total: String,
    }
    #[derive(Deserialize)]
    struct Symbol {
        symbol: String,
    }
    /// CONFLICT means "exists": `Ok(None)`.
    fn unless_exists<T>(r: Result<T, ClientError>) -> Result<Option<T>, ClientError> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.code() == Some("CONFLICT") => Ok(None),
            Err(e) => Err(e),
        }
    }
    let create_asset = "mutation($i: CreateAssetInput!) { createAsset(input: $i) { id } }";
    unless_exists(
        admin
            .execute::<serde_json::Value>(
                create_asset,
                json!({ "i": { "symbol": CASH, "name": "US Dollar", "kind": "cash", "decimals": 2 } }),
            )
            .await,
    )?;
    for l in &LISTINGS {
        unless_exists(
            admin
                .execute::<serde_json::Value>(
                    create_asset,
                    json!({ "i": { "symbol": l.symbol, "name": l.name, "kind": l.kind, "decimals": 0 } }),
                )
                .await,
        )?;
        let created: Option<Created> = unless_exists(
            admin
                .execute(
                    "mutation($i: CreateMarketInput!) { createMarket(input: $i) { id } }",
                    json!({ "i": { "base": l.symbol, "quote": CASH, "tickSize": "0.01", "lotSize": "1",
                                   "minQuantity": "1", "makerFeeBps": 5, "takerFeeBps": 10 } }),
                )
                .await,
        )?;
        // Right after listing, before any order: no live candle exists yet to race with.
        // A market without history still trades, so a failure is only a warning.
        let market = format!("{}-{CASH}", l.symbol);
        if let Some(created) = created {
            match backfill(db, &created.create_market.id, l, Utc::now()).await {
                Ok(candles) => tracing::debug!(%market, candles, "demo: history back-filled"),
                Err(e) => tracing::warn!(%market, error = %e, "demo: no candle history"),
            }
        }
    }
    let credit = "mutation($u: ID!, $a: String!, $n: Decimal!) { creditBalance(userId: $u, asset: $a, amount: $n, memo: \"demo\") { total } }";
    for account in accounts {
        let (client, session) = base.login(account.email, &account.password).await?;
        let held: Balances = client
            .execute("{ myBalances { asset { symbol } total } }", json!({}))
            .await?;
        let has = |asset: &str| {
            held.my_balances.iter().any(|b| {
                b.asset.symbol == asset && b.total.bytes().any(|c| (b'1'..=b'9').contains(&c))
            })
        };
        let cash = if account.bot { "10000000" } else { "100000" };
        let units = if account.bot { "1000000" } else { "1000" };
        let allowance =
            std::iter::once((CASH, cash)).chain(LISTINGS.iter().map(|l| (l.symbol, units)));
        for (asset, amount) in allowance {
            if !has(asset) {
                admin
                    .execute::<serde_json::Value>(
                        credit,
                        json!({ "u": session.user.id, "a": asset, "n": amount }),
                    )
                    .await?;
            }
        }
    }
    tracing::info!(
        markets = LISTINGS.len(),
        "demo: market listed and accounts funded"
    );
    Ok(())
}

/// Writes [`HISTORY`] of candles for the market `market_id` of `listing`, ending at the
/// start of `now`'s minute (the live matcher owns that one), in one transaction; returns
/// how many candles were written.
async fn backfill(
    db: &DatabaseConnection,
    market_id: &str,
    listing: &Listing,
    now: DateTime<Utc>,
) -> anyhow::Result<u64> {
    let market_id = Uuid::parse_str(market_id)?;
    let end = now.duration_trunc(TimeDelta::minutes(1))?;
    let mut rng = StdRng::from_rng(&mut rand::rng());
    let trades = past_trades(listing, end, &mut rng);
    let tx = db.begin().await?;
    let written = insert_candle_history(&tx, market_id, &trades).await?;
    tx.commit().await?;
    Ok(written)
}

/// The trades of [`HISTORY`] before `end`, oldest first: one round every [`QUOTE_EVERY`],
/// each with the live walk's step and the live taker's chance, price and size. The walk is
/// drawn backwards from the listing's fair price (a random walk reversed is one too), so the
/// last round is at that price, where the live maker starts.
fn past_trades(listing: &Listing, end: DateTime<Utc>, rng: &mut StdRng) -> Vec<PastTrade> {
    let round = TimeDelta::from_std(QUOTE_EVERY).unwrap_or(TimeDelta::seconds(2));
    let rounds = HISTORY.num_milliseconds() / round.num_milliseconds().max(1);
    let floor = floor_of(listing.fair_cents);
    let mut fair = listing.fair_cents;
    let mut trades = Vec::new();
    let mut at = end - round;
    for _ in 0..rounds {
        if rng.random_bool(TAKE_CHANCE) {
            let buy = rng.random_bool(0.5);
            // The live taker lifts the best ask or hits the best bid: one spread from fair.
            let spread = spread_of(fair);
            trades.push(PastTrade {
                at,
                price_ticks: u64::try_from(if buy { fair + spread } else { fair - spread })
                    .unwrap_or(1)
                    .max(1),
                qty_lots: rng.random_range(1..=8_u64),
            });
        }
        fair = walk(fair, listing.fair_cents, floor, rng);
        at -= round;
    }
    trades.reverse();
    trades
}

/// The lowest the fair price of a market listed at `fair_cents` goes: a quarter of it.
fn floor_of(fair_cents: i64) -> i64 {
    (fair_cents / 4).max(10)
}

/// The maker's distance between quote levels around `fair`.
fn spread_of(fair: i64) -> i64 {
    (fair / 400).max(1)
}

/// One round of the fair price's random walk: up to two steps of 0.2 % either way, never
/// below `floor`; beyond a fifth away from `anchor` (the listing's price) half the steps
/// away from it turn back, so the price wanders without running off.
fn walk(fair: i64, anchor: i64, floor: i64, rng: &mut StdRng) -> i64 {
    let step = (fair / 500).max(1);
    let mut moves = rng.random_range(-2..=2_i64);
    let band = anchor / 5;
    if ((fair > anchor + band && moves > 0) || (fair < anchor - band && moves < 0))
        && rng.random_bool(0.5)
    {
        moves = -moves;
    }
    (fair + moves * step).max(floor)
}

/// A decimal price string of a one-cent market (`"25"`, `"25.5"`, `"25.00"`) in cents.
fn cents(price: &str) -> Option<i64> {
    let (whole, frac) = price.split_once('.').unwrap_or((price, ""));
    if frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac: i64 = format!("{frac:0<2}").parse().ok()?;
    let whole: i64 = whole.parse().ok()?;
    whole.checked_mul(100)?.checked_add(frac)
}

/// Where the maker starts quoting `market`: its last trade's price, else its last candle's
/// close (a fresh seed's history), else the listing's price.
async fn last_price(client: &Client, market: &str, listed: i64) -> i64 {
    #[derive(Deserialize)]
    struct Data {
        market: Option<Last>,
    }
    #[derive(Deserialize)]
    struct Last {
        trades: Vec<Price>,
        candles: Vec<Close>,
    }
    #[derive(Deserialize)]
    struct Price {
        price: String,
    }
    #[derive(Deserialize)]
    struct Close {
        close: String,
    }
    let read: Result<Data, _> = client
        .execute(
            "query($m: String!) { market(symbol: $m) { trades(limit: 1) { price } candles(interval: M1, limit: 1) { close } } }",
            json!({ "m": market }),
        )
        .await;
    match read {
        Ok(Data { market: Some(last) }) => last
            .trades
            .first()
            .map(|t| t.price.as_str())
            .or_else(|| last.candles.last().map(|c| c.close.as_str()))
            .and_then(cents)
            .filter(|&c| c > 0)
            .unwrap_or(listed),
        Ok(Data { market: None }) => listed,
        Err(e) => {
            tracing::warn!(%market, error = %e, "demo: last price unknown; starting at the listing's");
            listed
        }
    }
}

/// One market as the maker sees it: the fair price it quotes around, in cents.
struct Quoting {
    market: String,
    fair: i64,
    /// The listing's price, which the walk stays around.
    anchor: i64,
    floor: i64,
    /// The maker's resting quotes, replaced each round.
    quotes: Vec<String>,
}

/// How long before its access token expires a bot refreshes it.
const REFRESH_AHEAD: TimeDelta = TimeDelta::seconds(60);

/// A bot's signed-in client, kept signed in: access tokens live minutes and the bots run
/// for as long as the server does, so each round starts by refreshing a token that is about
/// to expire (rotating the refresh token), or by signing in again when refreshing fails.
struct BotSession {
    base: Client,
    email: &'static str,
    password: String,
    client: Client,
    session: Session,
}

impl BotSession {
    async fn sign_in(
        base: &Client,
        email: &'static str,
        password: &str,
    ) -> Result<Self, ClientError> {
        let (client, session) = base.login(email, password).await?;
        Ok(Self {
            base: base.clone(),
            email,
            password: password.to_owned(),
            client,
            session,
        })
    }

    /// The client, with a token valid for at least [`REFRESH_AHEAD`] when the server answers.
    async fn client(&mut self) -> &Client {
        if self.session.access_token_expires_at - Utc::now() < REFRESH_AHEAD {
            let renewed = match self.base.refresh(&self.session.refresh_token).await {
                Ok(renewed) => Ok(renewed),
                Err(e) => {
                    tracing::warn!(bot = self.email, error = %e, "demo: refresh failed; signing in again");
                    self.base.login(self.email, &self.password).await
                }
            };
            match renewed {
                Ok((client, session)) => (self.client, self.session) = (client, session),
                Err(e) => {
                    tracing::warn!(bot = self.email, error = %e, "demo: cannot sign in again")
                }
            }
        }
        &self.client
    }
}

/// Quotes every market and sends a small random taker flow, until the process ends.
async fn run_bots(mut maker: BotSession, mut taker: BotSession) {
    let mut rng = StdRng::from_rng(&mut rand::rng());
    let mut books = Vec::with_capacity(LISTINGS.len());
    for l in &LISTINGS {
        let market = format!("{}-{CASH}", l.symbol);
        let fair = last_price(maker.client().await, &market, l.fair_cents).await;
        books.push(Quoting {
            market,
            fair,
            anchor: l.fair_cents,
            floor: floor_of(l.fair_cents),
            quotes: Vec::new(),
        });
    }
    // Quotes a previous run left are not tracked: start clean.
    if let Err(e) = maker.client().await.cancel_all(None).await {
        tracing::warn!(error = %e, "demo: clearing old quotes failed");
    }
    tracing::info!("demo: market maker and taker running");
    let mut tick = tokio::time::interval(QUOTE_EVERY);
    loop {
        tick.tick().await;
        let (maker, taker) = (maker.client().await.clone(), taker.client().await.clone());
        for q in &mut books {
            q.fair = walk(q.fair, q.anchor, q.floor, &mut rng);
            if let Err(e) = requote(&maker, q, &mut rng).await {
                tracing::warn!(market = %q.market, error = %e, "demo: quoting failed");
            }
            if rng.random_bool(TAKE_CHANCE)
                && let Err(e) = take(&taker, q, &mut rng).await
                && e.code() != Some("INSUFFICIENT_FUNDS")
            {
                tracing::warn!(market = %q.market, error = %e, "demo: taking failed");
            }
        }
    }
}

/// Cents as a decimal price string.
fn price(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Places a fresh ladder of quotes, then withdraws the previous one: the book is never
/// empty between the two (the walk moves less than a level per round, so new quotes never
/// cross old ones).
async fn requote(maker: &Client, q: &mut Quoting, rng: &mut StdRng) -> Result<(), ClientError> {
    let spread = spread_of(q.fair);
    let mut placed = Vec::new();
    for level in 1..=LEVELS {
        for (side, cents) in [
            ("BUY", q.fair - level * spread),
            ("SELL", q.fair + level * spread),
        ] {
            if cents <= 0 {
                continue;
            }
            let order = NewOrder {
                market: &q.market,
                side,
                kind: "LIMIT",
                price: Some(price(cents)),
                quantity: rng.random_range(5..=40_u32).to_string(),
                post_only: true,
                ..NewOrder::default()
            };
            match maker.place_order(&order).await {
                Ok(o) => placed.push(o.id),
                // A demo trader's resting order crossed the new quote: skip that level.
                Err(e) if e.code().is_some() => {
                    tracing::debug!(market = %q.market, error = %e, "demo: quote refused");
                }
                Err(e) => return Err(e),
            }
        }
    }
    for id in std::mem::replace(&mut q.quotes, placed) {
        match maker.cancel_order(&id).await {
            // Filled or refused meanwhile: nothing to withdraw.
            Ok(_) | Err(ClientError::Graphql { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn take(taker: &Client, q: &Quoting, rng: &mut StdRng) -> Result<(), ClientError> {
    let buy = rng.random_bool(0.5);
    let reach = (q.fair / 100).max(2);
    let order = NewOrder {
        market: &q.market,
        side: if buy { "BUY" } else { "SELL" },
        kind: "LIMIT",
        price: Some(price(if buy { q.fair + reach } else { q.fair - reach })),
        quantity: rng.random_range(1..=8_u32).to_string(),
        time_in_force: Some("IOC"),
        ..NewOrder::default()
    };
    taker.place_order(&order).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_covers_its_span_and_ends_at_the_listing_price() {
        let end = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(20_000);
        for (seed, l) in LISTINGS.iter().enumerate() {
            let mut rng = StdRng::seed_from_u64(seed as u64);
            let trades = past_trades(l, end, &mut rng);
            assert!(trades.windows(2).all(|w| w[0].at <= w[1].at));
            let (first, last) = (trades[0], trades[trades.len() - 1]);
            assert!(first.at <= end - HISTORY + TimeDelta::minutes(1));
            assert!(last.at < end && last.at >= end - TimeDelta::minutes(1));
            // The last rounds trade about one spread from the listing's price.
            let spread = u64::try_from(spread_of(l.fair_cents)).unwrap();
            let fair = u64::try_from(l.fair_cents).unwrap();
            assert!(last.price_ticks.abs_diff(fair) <= spread + fair / 20);
            let floor = u64::try_from(floor_of(l.fair_cents)).unwrap();
            assert!(trades.iter().all(|t| t.price_ticks + spread >= floor));
            assert!(trades.iter().all(|t| (1..=8).contains(&t.qty_lots)));
            // Some trade in nearly every minute (0.7 a round, 30 rounds a minute).
            assert!(trades.len() > 6 * 60 * 15, "{}", trades.len());
        }
    }

    #[test]
    fn prices_read_as_cents() {
        assert_eq!(cents("25.00"), Some(2_500));
        assert_eq!(cents("25.5"), Some(2_550));
        assert_eq!(cents("25"), Some(2_500));
        assert_eq!(cents("0.07"), Some(7));
        assert_eq!(cents("1.234"), None);
        assert_eq!(cents("x"), None);
        assert_eq!(price(cents("74.99").unwrap()), "74.99");
    }
}
