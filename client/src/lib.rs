//! A typed client of Rialto's public GraphQL API over HTTP: what a bot or a tool needs to
//! sign in, list markets, read the book and place and cancel orders. It speaks only the
//! public contract (`/graphql`, API.md), so anything it does an integrator can do too.
//!
//! Amounts stay decimal strings end to end, as the API sends them: the client never turns
//! money into floats.

use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached, or answered with a non-GraphQL body.
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// The server answered with a GraphQL error; `code` is its `extensions.code`.
    #[error("{code}: {message}")]
    Graphql {
        /// The public error code (`BAD_USER_INPUT`, `INSUFFICIENT_FUNDS`, ...).
        code: String,
        /// The server's message.
        message: String,
    },
    /// The answer did not have the expected shape.
    #[error("unexpected answer: {0}")]
    Decode(String),
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
    url: String,
    token: Option<String>,
}

/// What signing in returns.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// The bearer token of later calls.
    pub access_token: String,
    /// What `refresh` takes.
    pub refresh_token: String,
}

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
    /// A client of the server whose GraphQL endpoint is `url` (`http://host:port/graphql`).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: url.into(),
            token: None,
        }
    }

    /// The same client, calling with this bearer token (an access token or an API key).
    pub fn with_token(self, token: impl Into<String>) -> Self {
        Self {
            token: Some(token.into()),
            ..self
        }
    }

    /// Runs one operation and decodes its `data`.
    ///
    /// # Errors
    /// [`ClientError::Graphql`] with the first error's code, or a transport or decode fault.
    pub async fn execute<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: Value,
    ) -> Result<T, ClientError> {
        let mut req = self
            .http
            .post(&self.url)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        let body: Value = req.send().await?.json().await?;
        if let Some(e) = body["errors"].as_array().and_then(|e| e.first()) {
            return Err(ClientError::Graphql {
                code: e["extensions"]["code"]
                    .as_str()
                    .unwrap_or("UNKNOWN")
                    .to_owned(),
                message: e["message"].as_str().unwrap_or_default().to_owned(),
            });
        }
        serde_json::from_value(body["data"].clone()).map_err(|e| ClientError::Decode(e.to_string()))
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
                "mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken } }",
                json!({ "i": { "email": email, "password": password } }),
            )
            .await?;
        Ok((
            self.clone().with_token(data.login.access_token.clone()),
            data.login,
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
        #[serde(rename_all = "camelCase")]
        struct Payload {
            access_token: String,
            refresh_token: String,
            user: Id,
        }
        #[derive(Deserialize)]
        struct Id {
            id: String,
        }
        #[derive(Deserialize)]
        struct Data {
            register: Payload,
        }
        let data: Data = self
            .execute(
                "mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { id } } }",
                json!({ "i": { "email": email, "password": password, "displayName": display_name } }),
            )
            .await?;
        let p = data.register;
        let session = Session {
            access_token: p.access_token,
            refresh_token: p.refresh_token,
        };
        Ok((
            self.clone().with_token(session.access_token.clone()),
            session,
            p.user.id,
        ))
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
