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

use std::time::Duration;

use auth::AuthService;
use client::{Client, ClientError, NewOrder};
use common::Role;
use rand::{RngExt, SeedableRng, rngs::StdRng};
use serde_json::json;

/// The demo's cash asset.
const CASH: &str = "USD";

/// One listed asset of the demo: symbol, name, kind, and its starting fair price in cents.
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

const MAKER: &str = "maker-bot@demo.rialto.dev";
const TAKER: &str = "taker-bot@demo.rialto.dev";
const ADMIN: &str = "admin@demo.rialto.dev";

/// How often the maker re-quotes a market (each round: new quotes, then the old withdrawn).
const QUOTE_EVERY: Duration = Duration::from_secs(2);
/// Price levels quoted on each side.
const LEVELS: i64 = 4;

/// Makes the demo's accounts, then starts the seeding and the bots against `graphql_url`
/// (this server's own `/graphql`) in the background, and prints the demo logins.
///
/// # Errors
/// Creating an account failed (the database is unreachable).
pub async fn start(auth: &AuthService, graphql_url: String) -> anyhow::Result<()> {
    let admin_password = random_password();
    auth.create_user(ADMIN, &admin_password, Role::Admin)
        .await?;
    let bot_password = random_password();
    // (user id, is a bot): who gets what funds.
    let mut accounts = Vec::new();
    for email in [MAKER, TAKER] {
        let user = auth.create_user(email, &bot_password, Role::Trader).await?;
        accounts.push((user.id.to_string(), true));
    }
    for (email, password) in DEMO_USERS {
        let user = auth.create_user(email, password, Role::Trader).await?;
        accounts.push((user.id.to_string(), false));
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
        let admin = loop {
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
        if let Err(e) = seed(&admin, &accounts).await {
            tracing::error!(error = %e, "demo: seeding failed; no demo market");
            return;
        }
        match (
            base.login(MAKER, &bot_password).await,
            base.login(TAKER, &bot_password).await,
        ) {
            (Ok((maker, _)), Ok((taker, _))) => run_bots(maker, taker).await,
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

/// Lists the assets and markets and funds the accounts, unless the demo market exists.
async fn seed(admin: &Client, accounts: &[(String, bool)]) -> Result<(), ClientError> {
    let create_asset = "mutation($i: CreateAssetInput!) { createAsset(input: $i) { id } }";
    match admin
        .execute::<serde_json::Value>(
            create_asset,
            json!({ "i": { "symbol": CASH, "name": "US Dollar", "kind": "cash", "decimals": 2 } }),
        )
        .await
    {
        Ok(_) => {}
        // Seeded on an earlier start: nothing to do.
        Err(e) if e.code() == Some("CONFLICT") => return Ok(()),
        Err(e) => return Err(e),
    }
    for l in &LISTINGS {
        admin
            .execute::<serde_json::Value>(
                create_asset,
                json!({ "i": { "symbol": l.symbol, "name": l.name, "kind": l.kind, "decimals": 0 } }),
            )
            .await?;
        admin
            .execute::<serde_json::Value>(
                "mutation($i: CreateMarketInput!) { createMarket(input: $i) { id } }",
                json!({ "i": { "base": l.symbol, "quote": CASH, "tickSize": "0.01", "lotSize": "1",
                               "minQuantity": "1", "makerFeeBps": 5, "takerFeeBps": 10 } }),
            )
            .await?;
    }
    let credit = "mutation($u: ID!, $a: String!, $n: Decimal!) { creditBalance(userId: $u, asset: $a, amount: $n, memo: \"demo\") { total } }";
    for (id, bot) in accounts {
        let cash = if *bot { "10000000" } else { "100000" };
        admin
            .execute::<serde_json::Value>(credit, json!({ "u": id, "a": CASH, "n": cash }))
            .await?;
        for l in &LISTINGS {
            let units = if *bot { "1000000" } else { "1000" };
            admin
                .execute::<serde_json::Value>(credit, json!({ "u": id, "a": l.symbol, "n": units }))
                .await?;
        }
    }
    tracing::info!(
        markets = LISTINGS.len(),
        "demo: market listed and accounts funded"
    );
    Ok(())
}

/// One market as the maker sees it: the fair price it quotes around, in cents.
struct Quoting {
    market: String,
    fair: i64,
    floor: i64,
    /// The maker's resting quotes, replaced each round.
    quotes: Vec<String>,
}

/// Quotes every market and sends a small random taker flow, until the process ends.
async fn run_bots(maker: Client, taker: Client) {
    let mut rng = StdRng::from_rng(&mut rand::rng());
    let mut books: Vec<Quoting> = LISTINGS
        .iter()
        .map(|l| Quoting {
            market: format!("{}-{CASH}", l.symbol),
            fair: l.fair_cents,
            floor: (l.fair_cents / 4).max(10),
            quotes: Vec::new(),
        })
        .collect();
    // Quotes a previous run left are not tracked: start clean.
    if let Err(e) = maker.cancel_all(None).await {
        tracing::warn!(error = %e, "demo: clearing old quotes failed");
    }
    tracing::info!("demo: market maker and taker running");
    let mut tick = tokio::time::interval(QUOTE_EVERY);
    loop {
        tick.tick().await;
        for q in &mut books {
            // A small random walk, never below a quarter of where it started.
            let step = (q.fair / 500).max(1);
            q.fair = (q.fair + rng.random_range(-2..=2) * step).max(q.floor);
            if let Err(e) = requote(&maker, q, &mut rng).await {
                tracing::warn!(market = %q.market, error = %e, "demo: quoting failed");
            }
            if rng.random_bool(0.7)
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
    let spread = (q.fair / 400).max(1);
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
