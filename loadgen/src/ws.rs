//! A minimal `graphql-transport-ws` client: the messages a load needs to hold subscriptions
//! open (init with a credential, subscribe, answer pings) and to read their events.
//!
//! The protocol: the client sends `connection_init` (its payload carries
//! `{"authorization": "Bearer …"}` on Rialto), the server answers `connection_ack`; then
//! each `subscribe {id, payload}` streams `next {id, payload}` messages until `complete` or
//! `error`. Either side may `ping`; the other answers `pong`.

use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest as _, http::HeaderValue},
};

/// The sub-protocol name sent in `Sec-WebSocket-Protocol`.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// An open client socket.
pub type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// The WebSocket URL of a GraphQL HTTP endpoint: `http://h:p/graphql` → `ws://h:p/graphql`.
///
/// # Errors
/// A URL that is neither `http://` nor `https://`.
pub fn ws_url(http_url: &str) -> anyhow::Result<String> {
    if let Some(rest) = http_url.strip_prefix("http://") {
        Ok(format!("ws://{rest}"))
    } else if let Some(rest) = http_url.strip_prefix("https://") {
        Ok(format!("wss://{rest}"))
    } else {
        bail!("{http_url} is not an http:// URL")
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
    /// Not JSON, or no `type`.
    pub fn decode(text: &str) -> anyhow::Result<Self> {
        serde_json::from_str(text)
            .with_context(|| format!("not a graphql-transport-ws message: {text}"))
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

/// Connects with the sub-protocol, sends `connection_init` and waits for the ack.
///
/// # Errors
/// The server refuses the upgrade or the credential (it closes, 4403 on Rialto), or does not
/// acknowledge within ten seconds.
pub async fn connect(url: &str, bearer_token: Option<&str>) -> anyhow::Result<Socket> {
    let mut request = url.into_client_request().context("the WebSocket URL")?;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static(PROTOCOL));
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
        .await
        .with_context(|| format!("WebSocket to {url}"))?;
    socket
        .send(Message::text(init(bearer_token)))
        .await
        .context("sending connection_init")?;
    let ack = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(frame) = socket.next().await {
            match frame.context("reading the socket")? {
                Message::Text(text) => {
                    let message = ServerMessage::decode(text.as_str())?;
                    match message.kind {
                        Kind::ConnectionAck => return Ok(()),
                        Kind::Ping => socket.send(Message::text(pong())).await?,
                        _ => bail!("expected connection_ack, got {}", text.as_str()),
                    }
                }
                Message::Close(frame) => bail!("the server closed the socket: {frame:?}"),
                _ => {}
            }
        }
        bail!("the socket ended before connection_ack")
    })
    .await
    .context("no connection_ack within 10 s")?;
    ack?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ws_url_follows_the_http_one() {
        assert_eq!(
            ws_url("http://127.0.0.1:8080/graphql").ok().as_deref(),
            Some("ws://127.0.0.1:8080/graphql")
        );
        assert!(ws_url("ftp://x").is_err());
    }

    #[test]
    fn init_carries_the_bearer_token_as_rialto_reads_it() {
        let v: Value = serde_json::from_str(&init(Some("abc"))).unwrap_or_default();
        assert_eq!(v["type"], "connection_init");
        assert_eq!(v["payload"]["authorization"], "Bearer abc");
        let anonymous: Value = serde_json::from_str(&init(None)).unwrap_or_default();
        assert!(anonymous.get("payload").is_none());
    }

    #[test]
    fn server_messages_decode_with_their_errors() {
        let next = ServerMessage::decode(
            r#"{"id":"o","type":"next","payload":{"data":{"myOrders":{"id":"1"}}}}"#,
        )
        .ok();
        let next = next.as_ref();
        assert_eq!(next.map(|m| m.kind), Some(Kind::Next));
        assert_eq!(next.and_then(|m| m.id.as_deref()), Some("o"));
        assert!(next.and_then(ServerMessage::errors).is_none());

        let lagged = ServerMessage::decode(
            r#"{"id":"o","type":"next","payload":{"data":null,"errors":[{"message":"fell behind"}]}}"#,
        )
        .ok();
        assert!(lagged.as_ref().and_then(ServerMessage::errors).is_some());

        let ping = ServerMessage::decode(r#"{"type":"ping"}"#).ok();
        assert_eq!(ping.map(|m| m.kind), Some(Kind::Ping));
        let odd = ServerMessage::decode(r#"{"type":"something_new"}"#).ok();
        assert_eq!(odd.map(|m| m.kind), Some(Kind::Unknown));
        assert!(ServerMessage::decode("not json").is_err());
    }
}
