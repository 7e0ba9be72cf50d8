//! Everything before the measured run, through the public API as any client would (the
//! typed [`client::Client`]): the admin's session, the market (listed if absent), the
//! traders (signed up, funded), and their tokens (refreshed before they expire).
//!
//! Every call of a run, the measured `placeOrder`s included, goes through clones of one
//! [`Client`], so they share one connection pool: HTTP/1.1 keep-alive, one connection per
//! request in flight, no proxy.

use std::{sync::Arc, sync::RwLock, time::Duration};

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use client::Client;
use serde_json::{Value, json};

use super::plan::parse_units;

/// The longest a call outside the measured stream may take.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The client every call of a run derives from: `url`'s endpoint over one connection pool
/// that never goes through a proxy (the load is aimed at this server, not whatever
/// `HTTP_PROXY` says), Nagle off, [`SETUP_TIMEOUT`] a call.
///
/// # Errors
/// The HTTP client cannot be built (no TLS backend, ...).
pub fn base_client(url: &str) -> anyhow::Result<Client> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .build()
        .context("building the HTTP client")?;
    Ok(Client::with_http(url, http).with_timeout(SETUP_TIMEOUT))
}

/// A signed-in account. Its client (and token) is swapped when the token is refreshed.
pub struct Session {
    /// The user's id.
    pub user_id: String,
    /// The user's role as the API says it.
    pub role: String,
    current: RwLock<Current>,
}

/// What a refresh replaces.
struct Current {
    client: Client,
    token: String,
    refresh_token: String,
    expires_at: DateTime<Utc>,
}

impl Session {
    fn new(client: Client, session: client::Session) -> Self {
        Self {
            user_id: session.user.id,
            role: session.user.role,
            current: RwLock::new(Current {
                client,
                token: session.access_token,
                refresh_token: session.refresh_token,
                expires_at: session.access_token_expires_at,
            }),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Current> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A client calling as this user with the current token (a cheap clone).
    pub fn client(&self) -> Client {
        self.read().client.clone()
    }

    /// The access token alone (for a socket's `connection_init`).
    pub fn token(&self) -> String {
        self.read().token.clone()
    }

    /// How long the access token is still valid.
    pub fn lifetime_left(&self) -> Duration {
        (self.read().expires_at - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
    }

    /// Rotates the tokens through `refresh`, calling through `base`.
    ///
    /// # Errors
    /// The API refuses the refresh token.
    pub async fn refresh(&self, base: &Client) -> anyhow::Result<()> {
        let refresh_token = self.read().refresh_token.clone();
        let (client, fresh) = base
            .refresh(&refresh_token)
            .await
            .context("refreshing a session")?;
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Current {
            client,
            token: fresh.access_token,
            refresh_token: fresh.refresh_token,
            expires_at: fresh.access_token_expires_at,
        };
        Ok(())
    }
}

/// Keeps `session` signed in: refreshes a minute before each expiry, until aborted.
pub async fn keep_fresh(session: Arc<Session>, base: Client) {
    loop {
        let left = session.lifetime_left();
        tokio::time::sleep(
            left.saturating_sub(Duration::from_secs(60))
                .max(Duration::from_secs(1)),
        )
        .await;
        if let Err(e) = session.refresh(&base).await {
            eprintln!("rialto-loadgen: could not refresh a trader's token: {e:#}");
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    }
}

/// Signs in.
///
/// # Errors
/// Bad credentials, or a refusal (rate limits on sign-in).
pub async fn login(base: &Client, email: &str, password: &str) -> anyhow::Result<Session> {
    let (client, session) = base
        .login(email, password)
        .await
        .with_context(|| format!("logging in as {email}"))?;
    Ok(Session::new(client, session))
}

/// Signs up a new account and returns its session (`register` signs in).
///
/// # Errors
/// A refusal (duplicate email, weak password, sign-up rate limit).
pub async fn register(
    base: &Client,
    email: &str,
    password: &str,
    display_name: &str,
) -> anyhow::Result<Session> {
    let (client, session, _) = base
        .register(email, password, display_name)
        .await
        .with_context(|| format!("signing up {email}"))?;
    Ok(Session::new(client, session))
}

/// A market's sizes as the run needs them.
#[derive(Debug, Clone)]
pub struct MarketInfo {
    /// `BASE-QUOTE`.
    pub symbol: String,
    /// Base asset symbol.
    pub base: String,
    /// Quote asset symbol.
    pub quote: String,
    /// Digits of the quote asset.
    pub quote_decimals: u32,
    /// Digits of the base asset.
    pub base_decimals: u32,
    /// Tick in quote minor units.
    pub tick: u64,
    /// The order quantity the run uses (the market's minimum), as the API writes it.
    pub min_quantity: String,
    /// Last trade price in ticks, if any.
    pub last_ticks: Option<u64>,
}

impl MarketInfo {
    /// A price in ticks as the API takes it.
    pub fn price(&self, ticks: u64) -> String {
        super::plan::format_units(ticks * self.tick, self.quote_decimals)
    }

    /// A decimal price to ticks (rounded down to the tick).
    pub fn ticks(&self, price: &str) -> Option<u64> {
        Some(parse_units(price, self.quote_decimals)? / self.tick.max(1))
    }
}

const MARKET: &str = "query($s: String!) { market(symbol: $s) { symbol status tickSize \
     minQuantity base { symbol decimals } quote { symbol decimals } ticker { last } } }";

async fn read_market(client: &Client, symbol: &str) -> anyhow::Result<Option<MarketInfo>> {
    let data: Value = client
        .execute(MARKET, json!({ "s": symbol }))
        .await
        .with_context(|| format!("reading market {symbol}"))?;
    let m = &data["market"];
    if m.is_null() {
        return Ok(None);
    }
    if m["status"] != "OPEN" {
        bail!("market {symbol} is {}, not OPEN", m["status"]);
    }
    let decimals = |v: &Value| {
        v["decimals"]
            .as_u64()
            .and_then(|d| u32::try_from(d).ok())
            .context("asset decimals")
    };
    let quote_decimals = decimals(&m["quote"])?;
    let tick = parse_units(m["tickSize"].as_str().unwrap_or(""), quote_decimals)
        .filter(|t| *t > 0)
        .context("tickSize")?;
    let mut info = MarketInfo {
        symbol: symbol.to_owned(),
        base: m["base"]["symbol"].as_str().unwrap_or("").to_owned(),
        quote: m["quote"]["symbol"].as_str().unwrap_or("").to_owned(),
        quote_decimals,
        base_decimals: decimals(&m["base"])?,
        tick,
        min_quantity: m["minQuantity"].as_str().context("minQuantity")?.to_owned(),
        last_ticks: None,
    };
    info.last_ticks = m["ticker"]["last"].as_str().and_then(|p| info.ticks(p));
    Ok(Some(info))
}

/// The market `BASE-QUOTE`, listed (with its assets) if it is not there yet: base with 0
/// decimals, quote with 2, tick 0.01, lot 1, minimum 1, fees 10 / 20 bps, the default
/// price band.
///
/// # Errors
/// The admin may not list, or the market exists but is halted.
pub async fn ensure_market(admin: &Session, symbol: &str) -> anyhow::Result<MarketInfo> {
    let client = &admin.client();
    if let Some(info) = read_market(client, symbol).await? {
        return Ok(info);
    }
    let (base, quote) = symbol
        .split_once('-')
        .with_context(|| format!("market {symbol:?} is not BASE-QUOTE"))?;
    let data: Value = client.execute("{ assets { symbol } }", json!({})).await?;
    let listed: Vec<&str> = data["assets"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["symbol"].as_str()).collect())
        .unwrap_or_default();
    for (asset, kind, decimals) in [(base, "token", 0), (quote, "cash", 2)] {
        if !listed.contains(&asset) {
            client
                .execute::<Value>(
                    "mutation($i: CreateAssetInput!) { createAsset(input: $i) { id } }",
                    json!({ "i": { "symbol": asset, "name": asset, "kind": kind, "decimals": decimals } }),
                )
                .await
                .with_context(|| format!("listing asset {asset}"))?;
        }
    }
    client
        .execute::<Value>(
            "mutation($i: CreateMarketInput!) { createMarket(input: $i) { symbol } }",
            json!({ "i": { "base": base, "quote": quote, "tickSize": "0.01", "lotSize": "1",
                           "minQuantity": "1", "makerFeeBps": 10, "takerFeeBps": 20 } }),
        )
        .await
        .with_context(|| format!("listing market {symbol}"))?;
    read_market(client, symbol)
        .await?
        .with_context(|| format!("market {symbol} is not there after listing it"))
}

/// Credits `amount` of `asset` to `user_id`.
///
/// # Errors
/// The API refuses (not an admin, unknown asset, a balance that would overflow).
pub async fn credit(
    admin: &Session,
    user_id: &str,
    asset: &str,
    amount: &str,
) -> anyhow::Result<()> {
    admin
        .client()
        .execute::<Value>(
            "mutation($u: ID!, $a: String!, $n: Decimal!) { creditBalance(userId: $u, asset: $a, amount: $n, memo: \"rialto-loadgen\") { total } }",
            json!({ "u": user_id, "a": asset, "n": amount }),
        )
        .await
        .with_context(|| format!("crediting {asset} to {user_id}"))?;
    Ok(())
}

/// Cancels a trader's resting orders in `market` (what is left of the seed), so the next run
/// starts from the same book.
///
/// # Errors
/// The API refuses.
pub async fn cancel_all(session: &Session, market: &str) -> anyhow::Result<usize> {
    Ok(session.client().cancel_all(Some(market)).await?.len())
}
