//! Everything before the measured run, through the public API as any client would: the
//! admin's session, the market (listed if absent), the traders (signed up, funded), and
//! their tokens (refreshed before they expire).

use std::{
    sync::{Arc, RwLock},
    time::Duration,
};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, header};
use serde_json::{Value, json};

use super::plan::parse_units;
use crate::http::{Connection, Endpoint};

/// A GraphQL client over one connection (reconnected when it breaks), for the few calls
/// outside the measured stream.
pub struct Client {
    endpoint: Endpoint,
    connection: Option<Connection>,
}

impl Client {
    /// A client of `endpoint`; connects on first use.
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            connection: None,
        }
    }

    /// Runs one operation and returns its `data`.
    ///
    /// # Errors
    /// Transport failures, a status other than 200, or any GraphQL error (its message and
    /// code are in the error).
    pub async fn gql(
        &mut self,
        query: &str,
        variables: Value,
        bearer: Option<&HeaderValue>,
    ) -> anyhow::Result<Value> {
        let body = Bytes::from(serde_json::to_vec(
            &json!({ "query": query, "variables": variables }),
        )?);
        let headers: Vec<(HeaderName, HeaderValue)> = bearer
            .map(|b| (header::AUTHORIZATION, b.clone()))
            .into_iter()
            .collect();
        let connection = match &mut self.connection {
            Some(c) => c,
            None => self.connection.insert(self.endpoint.connect().await?),
        };
        let sent = tokio::time::timeout(
            Duration::from_secs(30),
            self.endpoint.post_json(connection, body, &headers),
        )
        .await;
        let (status, body) = match sent {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                self.connection = None;
                return Err(e);
            }
            Err(_) => {
                self.connection = None;
                bail!("no answer within 30 s");
            }
        };
        let text = String::from_utf8_lossy(&body);
        if status != http::StatusCode::OK {
            bail!("HTTP {status}: {text}");
        }
        let mut value: Value = serde_json::from_slice(&body).context("the answer is not JSON")?;
        if let Some(errors) = value.get("errors") {
            bail!("{}", describe_errors(errors));
        }
        Ok(value["data"].take())
    }
}

/// `message (CODE)` of each GraphQL error.
pub fn describe_errors(errors: &Value) -> String {
    errors
        .as_array()
        .map(|list| {
            list.iter()
                .map(|e| {
                    let message = e["message"].as_str().unwrap_or("?");
                    match e["extensions"]["code"].as_str() {
                        Some(code) => format!("{message} ({code})"),
                        None => message.to_owned(),
                    }
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_else(|| errors.to_string())
}

const PAYLOAD: &str = "accessToken refreshToken accessTokenExpiresAt user { id role }";

/// A signed-in account. The `Authorization` value is swapped when the token is refreshed.
pub struct Session {
    /// The user's id.
    pub user_id: String,
    /// The user's role as the API says it.
    pub role: String,
    bearer: RwLock<HeaderValue>,
    token: RwLock<String>,
    refresh_token: std::sync::Mutex<String>,
    expires_at: RwLock<chrono::DateTime<chrono::FixedOffset>>,
}

impl Session {
    fn from_payload(p: &Value) -> anyhow::Result<Self> {
        let access = p["accessToken"].as_str().context("no accessToken")?;
        Ok(Self {
            user_id: p["user"]["id"].as_str().context("no user id")?.to_owned(),
            role: p["user"]["role"].as_str().unwrap_or("").to_owned(),
            bearer: RwLock::new(HeaderValue::from_str(&format!("Bearer {access}"))?),
            token: RwLock::new(access.to_owned()),
            refresh_token: std::sync::Mutex::new(
                p["refreshToken"]
                    .as_str()
                    .context("no refreshToken")?
                    .to_owned(),
            ),
            expires_at: RwLock::new(expiry(p)?),
        })
    }

    /// `Bearer <access token>`, current.
    pub fn bearer(&self) -> HeaderValue {
        self.bearer
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The access token alone (for a socket's `connection_init`).
    pub fn token(&self) -> String {
        self.token
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// How long the access token is still valid.
    pub fn lifetime_left(&self) -> Duration {
        let at = *self
            .expires_at
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
    }

    /// Rotates the tokens through `refresh`.
    ///
    /// # Errors
    /// The API refuses the refresh token.
    pub async fn refresh(&self, client: &mut Client) -> anyhow::Result<()> {
        let refresh_token = self
            .refresh_token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let data = client
            .gql(
                &format!("mutation($t: String!) {{ refresh(refreshToken: $t) {{ {PAYLOAD} }} }}"),
                json!({ "t": refresh_token }),
                None,
            )
            .await
            .context("refreshing a session")?;
        let fresh = Self::from_payload(&data["refresh"])?;
        *write(&self.bearer) = into_inner(fresh.bearer);
        *write(&self.token) = into_inner(fresh.token);
        *write(&self.expires_at) = into_inner(fresh.expires_at);
        *self
            .refresh_token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh
            .refresh_token
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(())
    }
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn into_inner<T>(lock: RwLock<T>) -> T {
    lock.into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn expiry(p: &Value) -> anyhow::Result<chrono::DateTime<chrono::FixedOffset>> {
    let text = p["accessTokenExpiresAt"]
        .as_str()
        .context("no accessTokenExpiresAt")?;
    chrono::DateTime::parse_from_rfc3339(text).with_context(|| format!("expiry {text:?}"))
}

/// Keeps `session` signed in: refreshes a minute before each expiry, until aborted.
pub async fn keep_fresh(session: Arc<Session>, endpoint: Endpoint) {
    let mut client = Client::new(endpoint);
    loop {
        let left = session.lifetime_left();
        tokio::time::sleep(
            left.saturating_sub(Duration::from_secs(60))
                .max(Duration::from_secs(1)),
        )
        .await;
        if let Err(e) = session.refresh(&mut client).await {
            eprintln!("rialto-loadgen: could not refresh a trader's token: {e:#}");
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    }
}

/// Signs in.
///
/// # Errors
/// Bad credentials, or a refusal (rate limits on sign-in).
pub async fn login(client: &mut Client, email: &str, password: &str) -> anyhow::Result<Session> {
    let data = client
        .gql(
            &format!("mutation($i: LoginInput!) {{ login(input: $i) {{ {PAYLOAD} }} }}"),
            json!({ "i": { "email": email, "password": password } }),
            None,
        )
        .await
        .with_context(|| format!("logging in as {email}"))?;
    Session::from_payload(&data["login"])
}

/// Signs up a new account and returns its session (`register` signs in).
///
/// # Errors
/// A refusal (duplicate email, weak password, sign-up rate limit).
pub async fn register(
    client: &mut Client,
    email: &str,
    password: &str,
    display_name: &str,
) -> anyhow::Result<Session> {
    let data = client
        .gql(
            &format!("mutation($i: RegisterInput!) {{ register(input: $i) {{ {PAYLOAD} }} }}"),
            json!({ "i": { "email": email, "password": password, "displayName": display_name } }),
            None,
        )
        .await
        .with_context(|| format!("signing up {email}"))?;
    Session::from_payload(&data["register"])
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

async fn read_market(
    client: &mut Client,
    symbol: &str,
    bearer: &HeaderValue,
) -> anyhow::Result<Option<MarketInfo>> {
    let data = client
        .gql(MARKET, json!({ "s": symbol }), Some(bearer))
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
pub async fn ensure_market(
    client: &mut Client,
    admin: &Session,
    symbol: &str,
) -> anyhow::Result<MarketInfo> {
    let bearer = admin.bearer();
    if let Some(info) = read_market(client, symbol, &bearer).await? {
        return Ok(info);
    }
    let (base, quote) = symbol
        .split_once('-')
        .with_context(|| format!("market {symbol:?} is not BASE-QUOTE"))?;
    let data = client
        .gql("{ assets { symbol } }", json!({}), Some(&bearer))
        .await?;
    let listed: Vec<&str> = data["assets"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["symbol"].as_str()).collect())
        .unwrap_or_default();
    for (asset, kind, decimals) in [(base, "token", 0), (quote, "cash", 2)] {
        if !listed.contains(&asset) {
            client
                .gql(
                    "mutation($i: CreateAssetInput!) { createAsset(input: $i) { id } }",
                    json!({ "i": { "symbol": asset, "name": asset, "kind": kind, "decimals": decimals } }),
                    Some(&bearer),
                )
                .await
                .with_context(|| format!("listing asset {asset}"))?;
        }
    }
    client
        .gql(
            "mutation($i: CreateMarketInput!) { createMarket(input: $i) { symbol } }",
            json!({ "i": { "base": base, "quote": quote, "tickSize": "0.01", "lotSize": "1",
                           "minQuantity": "1", "makerFeeBps": 10, "takerFeeBps": 20 } }),
            Some(&bearer),
        )
        .await
        .with_context(|| format!("listing market {symbol}"))?;
    read_market(client, symbol, &bearer)
        .await?
        .with_context(|| format!("market {symbol} is not there after listing it"))
}

/// Credits `amount` of `asset` to `user_id`.
///
/// # Errors
/// The API refuses (not an admin, unknown asset, a balance that would overflow).
pub async fn credit(
    client: &mut Client,
    admin: &Session,
    user_id: &str,
    asset: &str,
    amount: &str,
) -> anyhow::Result<()> {
    client
        .gql(
            "mutation($u: ID!, $a: String!, $n: Decimal!) { creditBalance(userId: $u, asset: $a, amount: $n, memo: \"rialto-loadgen\") { total } }",
            json!({ "u": user_id, "a": asset, "n": amount }),
            Some(&admin.bearer()),
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
pub async fn cancel_all(
    client: &mut Client,
    session: &Session,
    market: &str,
) -> anyhow::Result<usize> {
    let data = client
        .gql(
            "mutation($m: String) { cancelAllOrders(market: $m) { id } }",
            json!({ "m": market }),
            Some(&session.bearer()),
        )
        .await?;
    Ok(data["cancelAllOrders"].as_array().map_or(0, Vec::len))
}
