//! A minimal `graphql-transport-ws` client: what holding subscriptions open takes (init with
//! a credential, subscribe, answer pings) and reading their events. The caller owns the
//! [`Socket`] and its read loop, so a reader pays for nothing it does not use.
//!
//! The protocol: the client sends `connection_init` (its payload carries
//! `{"authorization": "Bearer …"}` on Rialto), the server answers `connection_ack`; then
//! each `subscribe {id, payload}` streams `next {id, payload}` messages until `complete` or
//! `error`. Either side may `ping`; the other answers `pong`. Rialto closes a socket whose
//! credential it refuses with code 4403.
//!
//! ```no_run
//! # async fn run() -> Result<(), client::ClientError> {
//! use client::ws::{self, Kind, ServerMessage};
//! use futures_util::{SinkExt as _, StreamExt as _};
//! use tokio_tungstenite::tungstenite::Message;
//!
//! let url = ws::ws_url("http://127.0.0.1:8080/graphql").expect("an http:// URL");
//! let mut socket = ws::connect(&url, None).await?;
//! let trades = "subscription($m: String!) { trades(market: $m) { price quantity } }";
//! let variables = serde_json::json!({ "m": "ACME-USD" });
//! socket.send(Message::text(ws::subscribe("t", trades, &variables))).await?;
//! while let Some(frame) = socket.next().await {
//!     let Message::Text(text) = frame? else { continue };
//!     let message = ServerMessage::decode(text.as_str())?;
//!     match message.kind {
//!         Kind::Ping => socket.send(Message::text(ws::pong())).await?,
//!         Kind::Next => println!("{}", message.payload["data"]["trades"]),
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```

use futures_util::{SinkExt as _, StreamExt as _};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest as _, http::HeaderValue},
};

use crate::ClientError;

/// The sub-protocol name sent in `Sec-WebSocket-Protocol`.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// How long [`connect`] waits for `connection_ack`.
pub const ACK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// An open client socket.
pub type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// The WebSocket URL of a GraphQL HTTP endpoint: `http://h:p/graphql` → `ws://h:p/graphql`
/// (`https` → `wss`); `None` for any other scheme.
pub fn ws_url(http_url: &str) -> Option<String> {
    if let Some(rest) = http_url.strip_prefix("http://") {
        Some(format!("ws://{rest}"))
    } else {
        http_url
            .strip_prefix("https://")
            .map(|rest| format!("wss://{rest}"))
    }
}

/// `connection_init`, with `{"authorization": "Bearer <token>"}` when a token is given.
pub fn init(bearer_token: Option<&str>) -> String {
    match bearer_token {
        Some(token) => json!({
            "type": "connection_init",
            "payload": { "authorization": format!("Bearer {token}") },
        }),
        None => json!({ "type": "connection_init" }),
    }
    .to_string()
}

/// `subscribe` of one operation under `id`.
pub fn subscribe(id: &str, query: &str, variables: &Value) -> String {
    json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } })
        .to_string()
}

/// `complete`: the client ends the operation `id`.
pub fn complete(id: &str) -> String {
    json!({ "id": id, "type": "complete" }).to_string()
}

/// The answer to a server `ping`.
pub fn pong() -> String {
    json!({ "type": "pong" }).to_string()
}

/// The kinds of server message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The server accepted `connection_init`.
    ConnectionAck,
    /// An event (or the single result) of an operation.
    Next,
    /// The operation failed; it is over.
    Error,
    /// The operation ended.
    Complete,
    /// Keep-alive; answer with `pong`.
    Ping,
    /// Answer to a client ping.
    Pong,
    /// Anything else (the protocol has nothing else server-bound; tolerated).
    #[serde(other)]
    Unknown,
}

/// One decoded server message.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerMessage {
    /// Its kind.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// The operation it belongs to (`next`, `error`, `complete`).
    #[serde(default)]
    pub id: Option<String>,
    /// `next`: a GraphQL response (`data`, `errors`); `error`: a list of errors.
    #[serde(default)]
    pub payload: Value,
}

impl ServerMessage {
    /// Decodes a text frame.
    ///
    /// # Errors
    /// [`ClientError::Decode`]: not JSON, or no `type`.
    pub fn decode(text: &str) -> Result<Self, ClientError> {
        serde_json::from_str(text)
            .map_err(|e| ClientError::Decode(format!("not a {PROTOCOL} message ({e}): {text}")))
    }

    /// `payload.errors` of a `next`, or the payload of an `error`, when there are any.
    pub fn errors(&self) -> Option<&Value> {
        match self.kind {
            Kind::Error => Some(&self.payload),
            Kind::Next => self
                .payload
                .get("errors")
                .filter(|e| e.as_array().is_some_and(|a| !a.is_empty())),
            _ => None,
        }
    }
}

/// Connects with the sub-protocol, sends `connection_init` (with `bearer_token`, an access
/// token or an API key, if given) and waits for the ack.
///
/// # Errors
/// [`ClientError::WebSocket`] when the server refuses the upgrade or the socket breaks;
/// [`ClientError::Decode`] when it closes instead of acknowledging (4403 on Rialto: the
/// credential was refused), sends something else, or says nothing within [`ACK_TIMEOUT`].
pub async fn connect(url: &str, bearer_token: Option<&str>) -> Result<Socket, ClientError> {
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static(PROTOCOL));
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, None, true).await?;
    socket.send(Message::text(init(bearer_token))).await?;
    let ack = tokio::time::timeout(ACK_TIMEOUT, async {
        while let Some(frame) = socket.next().await {
            match frame? {
                Message::Text(text) => {
                    let message = ServerMessage::decode(text.as_str())?;
                    match message.kind {
                        Kind::ConnectionAck => return Ok(()),
                        Kind::Ping => socket.send(Message::text(pong())).await?,
                        _ => {
                            return Err(ClientError::Decode(format!(
                                "expected connection_ack, got {}",
                                text.as_str()
                            )));
                        }
                    }
                }
                Message::Close(frame) => {
                    return Err(ClientError::Decode(format!(
                        "the server closed the socket: {frame:?}"
                    )));
                }
                _ => {}
            }
        }
        Err(ClientError::Decode(
            "the socket ended before connection_ack".into(),
        ))
    })
    .await
    .map_err(|_| ClientError::Decode(format!("no connection_ack within {ACK_TIMEOUT:?}")))?;
    ack?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ws_url_follows_the_http_one() {
        assert_eq!(
            ws_url("http://127.0.0.1:8080/graphql").as_deref(),
            Some("ws://127.0.0.1:8080/graphql")
        );
        assert_eq!(
            ws_url("https://rialto.example/graphql").as_deref(),
            Some("wss://rialto.example/graphql")
        );
        assert!(ws_url("ftp://x").is_none());
    }

    #[test]
    fn init_carries_the_bearer_token_as_rialto_reads_it() {
        let v: Value = serde_json::from_str(&init(Some("abc"))).unwrap();
        assert_eq!(v["type"], "connection_init");
        assert_eq!(v["payload"]["authorization"], "Bearer abc");
        let anonymous: Value = serde_json::from_str(&init(None)).unwrap();
        assert!(anonymous.get("payload").is_none());
        let done: Value = serde_json::from_str(&complete("o")).unwrap();
        assert_eq!(
            (&done["type"], &done["id"]),
            (&json!("complete"), &json!("o"))
        );
    }

    #[test]
    fn server_messages_decode_with_their_errors() {
        let next = ServerMessage::decode(
            r#"{"id":"o","type":"next","payload":{"data":{"myOrders":{"id":"1"}}}}"#,
        )
        .unwrap();
        assert_eq!(next.kind, Kind::Next);
        assert_eq!(next.id.as_deref(), Some("o"));
        assert!(next.errors().is_none());

        let lagged = ServerMessage::decode(
            r#"{"id":"o","type":"next","payload":{"data":null,"errors":[{"message":"fell behind"}]}}"#,
        )
        .unwrap();
        assert!(lagged.errors().is_some());

        let ping = ServerMessage::decode(r#"{"type":"ping"}"#).unwrap();
        assert_eq!(ping.kind, Kind::Ping);
        let odd = ServerMessage::decode(r#"{"type":"something_new"}"#).unwrap();
        assert_eq!(odd.kind, Kind::Unknown);
        assert!(ServerMessage::decode("not json").is_err());
    }
}
