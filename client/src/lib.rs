//! A typed client of Rialto's public GraphQL API over HTTP: what a bot or a tool needs to
//! sign in (and stay signed in), list markets, read the book and place and cancel orders;
//! [`ws`] holds subscriptions open over `graphql-transport-ws`. It speaks only the public
//! contract (`/graphql`, API.md), so anything it does an integrator can do too. The demo's
//! bots (`rialto serve --demo`), the load generator (`rialto-loadgen trading`) and the tests
//! use it.
//!
//! Amounts stay decimal strings end to end, as the API sends them: the client never turns
//! money into floats.
//!
//! A [`Client`] is cheap to clone, and its clones (those [`Client::with_token`] makes too)
//! share one connection pool: make one per server and derive the signed-in ones from it.

pub mod ws;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached, or did not answer in time.
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// The server answered with an HTTP error status and no GraphQL error.
    #[error("HTTP {status}: {body}")]
    Http {
        /// The status code.
        status: u16,
        /// The body, as text.
        body: String,
    },
    /// The WebSocket failed ([`ws`]).
    #[error("websocket: {0}")]
    WebSocket(#[from] Box<tokio_tungstenite::tungstenite::Error>),
    /// The server answered with a GraphQL error; `code` is its `extensions.code`.
    #[error("{code}: {message}")]
    Graphql {
        /// The public error code (`BAD_USER_INPUT`, `INSUFFICIENT_FUNDS`, ...).
        code: String,
        /// The server's message.
        message: String,
    },
    /// The answer did not have the expected shape (or was not JSON), or the token cannot be
    /// sent in a header.
    #[error("unexpected answer: {0}")]
    Decode(String),
}

impl From<tokio_tungstenite::tungstenite::Error> for ClientError {
    fn from(e: tokio_tungstenite::tungstenite::Error) -> Self {
        Self::WebSocket(Box::new(e))
    }
}

impl ClientError {
    /// The GraphQL error code, if the server refused the call.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Graphql { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A connection to one Rialto server's `/graphql`, signed in or not.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    url: Arc<str>,
    /// `Bearer <token>`, made once; `Err` for a token no header can carry.
    auth: Option<Result<HeaderValue, ()>>,
    timeout: Option<Duration>,
}

/// What signing in (or refreshing) returns.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// The bearer token of later calls.
    pub access_token: String,
    /// What [`Client::refresh`] takes (once: refreshing rotates it).
    pub refresh_token: String,
    /// When the access token stops working.
    pub access_token_expires_at: DateTime<Utc>,
    /// Who signed in.
    pub user: SessionUser,
}

/// The user a [`Session`] belongs to.
#[derive(Debug, Clone, Deserialize)]
pub struct SessionUser {
    /// The user's id.
    pub id: String,
    /// `TRADER` or `ADMIN`.
    pub role: String,
}

/// The selection of a [`Session`].
const SESSION: &str = "accessToken refreshToken accessTokenExpiresAt user { id role }";

/// A market, as the catalog lists it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Market {
    /// `BASE-QUOTE`.
    pub symbol: String,
    /// Price step.
    pub tick_size: String,
    /// Quantity step.
    pub lot_size: String,
    /// `OPEN` or `HALTED`.
    pub status: String,
}

/// One price level of the book.
#[derive(Debug, Clone, Deserialize)]
pub struct Level {
    /// Price.
    pub price: String,
    /// Open quantity at that price.
    pub quantity: String,
}

/// The aggregated book.
#[derive(Debug, Clone, Deserialize)]
pub struct Book {
    /// Best first.
    pub bids: Vec<Level>,
    /// Best first.
    pub asks: Vec<Level>,
}

/// An order, as placing or cancelling left it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// Its id.
    pub id: String,
    /// `OPEN`, `FILLED`, ...
    pub status: String,
    /// Quantity traded so far.
    pub filled_quantity: String,
}

/// An order to place; `None` fields take the API's defaults.
#[derive(Debug, Clone, Default)]
pub struct NewOrder<'a> {
    /// The market's symbol.
    pub market: &'a str,
    /// `BUY` or `SELL`.
    pub side: &'a str,
    /// `LIMIT` or `MARKET`.
    pub kind: &'a str,
    /// Limit price (decimal string).
    pub price: Option<String>,
    /// Quantity (decimal string).
    pub quantity: String,
    /// `GTC`, `IOC` or `FOK`.
    pub time_in_force: Option<&'a str>,
    /// Refuse to take liquidity.
    pub post_only: bool,
    /// The caller's own id, for safe retries.
    pub client_order_id: Option<String>,
}

impl Client {
    /// A client of the server whose GraphQL endpoint is `url` (`http://host:port/graphql`),
    /// with a connection pool of its own.
    pub fn new(url: impl Into<String>) -> Self {
        Self::with_http(url, reqwest::Client::new())
    }

    /// A client of `url` over a configured `reqwest` client (its pool, proxies, TLS and
    /// overall timeouts), shared with whoever else holds it.
    pub fn with_http(url: impl Into<String>, http: reqwest::Client) -> Self {
        Self {
            http,
            url: Arc::from(url.into()),
            auth: None,
            timeout: None,
        }
    }

    /// The same client (same pool), calling with this bearer token (an access token or an
    /// API key).
    pub fn with_token(self, token: impl AsRef<str>) -> Self {
        let mut value = HeaderValue::try_from(format!("Bearer {}", token.as_ref())).map_err(|_| ());
        if let Ok(v) = &mut value {
            v.set_sensitive(true);
        }
        Self {
            auth: Some(value),
            ..self
        }
    }

    /// The same client, giving up on a call that has not been answered after `timeout`
    /// (a [`ClientError::Transport`] whose error `is_timeout`).
    pub fn with_timeout(self, timeout: Duration) -> Self {
        Self {
            timeout: Some(timeout),
            ..self
        }
    }

    /// The GraphQL endpoint's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs one operation and decodes its `data`.
    ///
    /// # Errors
    /// [`ClientError::Graphql`] with the first error's code, [`ClientError::Http`] for an
    /// error status without one, or a transport or decode fault.
    pub async fn execute<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: Value,
    ) -> Result<T, ClientError> {
        let mut req = self
            .http
            .post(&*self.url)
            .json(&json!({ "query": query, "variables": variables }));
        match &self.auth {
            Some(Ok(value)) => req = req.header(AUTHORIZATION, value.clone()),
            Some(Err(())) => {
                return Err(ClientError::Decode(
                    "the token cannot be sent in a header".into(),
                ));
            }
            None => {}
        }
        if let Some(timeout) = self.timeout {
            req = req.timeout(timeout);
        }
        let response = req.send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        let mut body: Value = match serde_json::from_slice(&bytes) {
            Ok(body) => body,
            Err(_) if !status.is_success() => {
                return Err(ClientError::Http {
                    status: status.as_u16(),
                    body: String::from_utf8_lossy(&bytes).into_owned(),
                });
            }
            Err(e) => return Err(ClientError::Decode(format!("not JSON: {e}"))),
        };
        if let Some(e) = body["errors"].as_array().and_then(|e| e.first()) {
            return Err(ClientError::Graphql {
                code: e["extensions"]["code"]
                    .as_str()
                    .unwrap_or("UNKNOWN")
                    .to_owned(),
                message: e["message"].as_str().unwrap_or_default().to_owned(),
            });
        }
        if !status.is_success() {
            return Err(ClientError::Http {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
        serde_json::from_value(body["data"].take()).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Signs in; the returned client calls as that user.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` for a wrong email or password, or a transport fault.
    pub async fn login(&self, email: &str, password: &str) -> Result<(Self, Session), ClientError> {
        #[derive(Deserialize)]
        struct Data {
            login: Session,
        }
        let data: Data = self
            .execute(
                &format!("mutation($i: LoginInput!) {{ login(input: $i) {{ {SESSION} }} }}"),
                json!({ "i": { "email": email, "password": password } }),
            )
            .await?;
        Ok((
            self.clone().with_token(&data.login.access_token),
            data.login,
        ))
    }

    /// Rotates a session's tokens (the old refresh token stops working; presenting it again
    /// revokes the session); the returned client calls with the new access token.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` for a refresh token that is unknown, used or expired, or a
    /// transport fault.
    pub async fn refresh(&self, refresh_token: &str) -> Result<(Self, Session), ClientError> {
        #[derive(Deserialize)]
        struct Data {
            refresh: Session,
        }
        let data: Data = self
            .execute(
                &format!("mutation($t: String!) {{ refresh(refreshToken: $t) {{ {SESSION} }} }}"),
                json!({ "t": refresh_token }),
            )
            .await?;
        Ok((
            self.clone().with_token(&data.refresh.access_token),
            data.refresh,
        ))
    }

    /// Opens an account; the returned client calls as the new user.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` for a weak password or a taken email, or a transport fault.
    pub async fn register(
        &self,
        email: &str,
        password: &str,
        display_name: &str,
    ) -> Result<(Self, Session, String), ClientError> {
        #[derive(Deserialize)]
        struct Data {
            register: Session,
        }
        let data: Data = self
            .execute(
                &format!("mutation($i: RegisterInput!) {{ register(input: $i) {{ {SESSION} }} }}"),
                json!({ "i": { "email": email, "password": password, "displayName": display_name } }),
            )
            .await?;
        let session = data.register;
        let id = session.user.id.clone();
        Ok((self.clone().with_token(&session.access_token), session, id))
    }

    /// The caller's user id.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` without a valid token, or a transport fault.
    pub async fn my_id(&self) -> Result<String, ClientError> {
        let data: Value = self.execute("{ me { id } }", json!({})).await?;
        data["me"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ClientError::Decode("me.id".into()))
    }

    /// Every listed market.
    ///
    /// # Errors
    /// A transport fault.
    pub async fn markets(&self) -> Result<Vec<Market>, ClientError> {
        #[derive(Deserialize)]
        struct Data {
            markets: Vec<Market>,
        }
        let data: Data = self
            .execute("{ markets { symbol tickSize lotSize status } }", json!({}))
            .await?;
        Ok(data.markets)
    }

    /// A market's book, `depth` levels a side.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown market, or a transport fault.
    pub async fn order_book(&self, market: &str, depth: u32) -> Result<Book, ClientError> {
        let data: Value = self
            .execute(
                "query($m: String!, $d: Int!) { market(symbol: $m) { orderBook(depth: $d) { bids { price quantity } asks { price quantity } } } }",
                json!({ "m": market, "d": depth }),
            )
            .await?;
        serde_json::from_value(data["market"]["orderBook"].clone())
            .map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Places an order and returns it as the matcher left it.
    ///
    /// # Errors
    /// The API's codes (`BAD_USER_INPUT`, `INSUFFICIENT_FUNDS`, `MARKET_HALTED`, ...).
    pub async fn place_order(&self, order: &NewOrder<'_>) -> Result<Order, ClientError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            place_order: Order,
        }
        let mut input = json!({
            "market": order.market, "side": order.side, "type": order.kind,
            "quantity": order.quantity, "postOnly": order.post_only,
        });
        if let Some(p) = &order.price {
            input["price"] = json!(p);
        }
        if let Some(t) = order.time_in_force {
            input["timeInForce"] = json!(t);
        }
        if let Some(c) = &order.client_order_id {
            input["clientOrderId"] = json!(c);
        }
        let data: Data = self
            .execute(
                "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id status filledQuantity } }",
                json!({ "i": input }),
            )
            .await?;
        Ok(data.place_order)
    }

    /// Cancels one of the caller's orders and returns it as the matcher left it.
    ///
    /// # Errors
    /// `NOT_FOUND` for an order that is not the caller's, `CONFLICT` for one already done.
    pub async fn cancel_order(&self, id: &str) -> Result<Order, ClientError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            cancel_order: Order,
        }
        let data: Data = self
            .execute(
                "mutation($id: ID!) { cancelOrder(id: $id) { id status filledQuantity } }",
                json!({ "id": id }),
            )
            .await?;
        Ok(data.cancel_order)
    }

    /// Cancels all the caller's live orders in `market` (or everywhere).
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown market, or a transport fault.
    pub async fn cancel_all(&self, market: Option<&str>) -> Result<Vec<Order>, ClientError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            cancel_all_orders: Vec<Order>,
        }
        let data: Data = self
            .execute(
                "mutation($m: String) { cancelAllOrders(market: $m) { id status filledQuantity } }",
                json!({ "m": market }),
            )
            .await?;
        Ok(data.cancel_all_orders)
    }
}
