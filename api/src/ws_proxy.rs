//! The gateway's WebSocket: `graphql-transport-ws` on `/graphql`.
//!
//! `connection_init` carries the credential (`{"authorization": "Bearer ..."}`); a refused one
//! closes with 4403. Each `subscribe` is prepared by the gateway like an HTTP request;
//! queries and mutations answer once, subscriptions are proxied to the owning subgraph over
//! this connection's upstream session (one upstream socket per subgraph, multiplexed) and
//! each event is completed through `_entities` before it is sent. When the upstream drops,
//! the subscription ends with an `error` message, so the client resubscribes instead of
//! waiting on a dead stream. When this gateway shuts down, the socket closes with 1012
//! (service restart) so the client reconnects to another replica. Both sides ping; close codes follow the protocol (4400 bad
//! message, 4401 subscribe before ack, 4408 no init in time, 4409 duplicate id, 4429 second
//! init).
//!
//! A socket lives no longer than its credential: it closes with 4403 when the access token
//! expires or the session or API key is revoked ([`crate::http::sockets::CredentialWatch`]),
//! and no operation runs on it after that moment. What one client may hold is bounded
//! ([`crate::http::sockets`]): a queue of undelivered messages per socket (a client that
//! stops reading is closed with 1013 instead of growing the server's memory), subscriptions
//! per socket and sockets per address and per account (4429), and the message size (1009).

use std::{collections::HashMap, sync::Arc, time::Duration};

use apollo_compiler::{
    ast::OperationType,
    response::{JsonMap, JsonValue},
};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use common::{Caller, ErrorCode, RequestMeta};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::{sync::mpsc, task::AbortHandle};
use tokio_util::sync::CancellationToken;

use crate::{
    edge::remote::KEY_CACHE_TTL,
    execute::RequestContext,
    gateway::{Gateway, GraphQLRequest, GraphQLResponse, SubscriptionEvent},
    http::{
        AppState,
        sockets::{
            self, CREDENTIAL_ENDED, CredentialWatch, MESSAGE_TOO_BIG, SLOW_CONSUMER, TOO_MANY,
        },
    },
};

const INIT_TIMEOUT: Duration = Duration::from_secs(10);
const PING_EVERY: Duration = Duration::from_secs(15);

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<serde_json::Value>,
    },
    Subscribe {
        id: String,
        payload: Box<GraphQLRequest>,
    },
    Complete {
        id: String,
    },
    Ping {
        #[serde(default)]
        payload: Option<serde_json::Value>,
    },
    Pong {
        #[serde(default)]
        #[allow(dead_code)]
        payload: Option<serde_json::Value>,
    },
}

fn text(v: serde_json::Value) -> Message {
    Message::Text(Utf8Bytes::from(v.to_string()))
}

/// The bounded queue of one socket's outgoing messages. A send that finds it full marks the
/// socket overflowed: the client is not reading, and the socket is closed rather than
/// buffered without end.
#[derive(Clone)]
struct Outbox {
    tx: mpsc::Sender<Message>,
    overflowed: CancellationToken,
}

impl Outbox {
    /// Queues a message; false when the socket is overflowing or gone (stop sending).
    fn send(&self, msg: Message) -> bool {
        match self.tx.try_send(msg) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.overflowed.cancel();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    fn json(&self, v: serde_json::Value) -> bool {
        self.send(text(v))
    }

    /// Queues a close frame, counted by code.
    fn close(&self, code: u16, reason: &str) {
        sockets::count_close(code);
        self.send(Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from(reason.to_string()),
        })));
    }
}

fn payload_of(r: &GraphQLResponse) -> serde_json::Value {
    serde_json::to_value(r).unwrap_or_default()
}

fn errors_of(r: &GraphQLResponse) -> serde_json::Value {
    serde_json::to_value(&r.errors).unwrap_or_default()
}

/// Serves one client socket until either side closes it.
pub async fn serve(
    socket: WebSocket,
    gateway: Arc<Gateway>,
    state: AppState,
    meta: RequestMeta,
    traceparent: Option<String>,
) {
    let limits = state.http.sockets;
    let (mut sink, mut stream) = socket.split();
    let (tx, mut out_rx) = mpsc::channel::<Message>(limits.max_queued_messages.max(1));
    let out = Outbox {
        tx,
        overflowed: CancellationToken::new(),
    };
    let writer = tokio::spawn(async move {
        while let Some(msg) = out_rx.recv().await {
            let closing = matches!(msg, Message::Close(_));
            if sink.send(msg).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let shut = |out: Outbox, writer: tokio::task::JoinHandle<()>| async move {
        if out.overflowed.is_cancelled() {
            // The client is not reading: the close frame could not be queued; cut it off.
            writer.abort();
            return;
        }
        drop(out);
        let _ = writer.await;
    };
    let _open = OpenSocket::count();

    // 0. Room for one more socket from this address.
    let address = meta.ip.clone().unwrap_or_else(|| "unknown".into());
    let Some(_address_slot) = state
        .sockets
        .take_address(&address, limits.max_sockets_per_address)
    else {
        out.close(TOO_MANY, "Too many sockets from this address");
        return shut(out, writer).await;
    };

    // 1. connection_init, in time.
    let init = tokio::time::timeout(INIT_TIMEOUT, async {
        loop {
            match stream.next().await {
                Some(Ok(Message::Text(t))) => return Ok(Some(t)),
                Some(Ok(Message::Close(_))) | None => return Ok(None),
                Some(Err(e)) => return Err(e),
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    let payload = match init {
        Err(_) => {
            out.close(4408, "Connection initialisation timeout");
            return shut(out, writer).await;
        }
        Ok(Err(e)) => {
            if sockets::is_too_big(&e) {
                out.close(MESSAGE_TOO_BIG, "Message too big");
            }
            return shut(out, writer).await;
        }
        Ok(Ok(None)) => return shut(out, writer).await,
        Ok(Ok(Some(t))) => match serde_json::from_str::<ClientMessage>(&t) {
            Ok(ClientMessage::ConnectionInit { payload }) => payload.unwrap_or_default(),
            Ok(ClientMessage::Subscribe { .. }) => {
                out.close(4401, "Unauthorized");
                return shut(out, writer).await;
            }
            _ => {
                out.close(4400, "Invalid message received");
                return shut(out, writer).await;
            }
        },
    };
    let authorization = payload
        .get("authorization")
        .or_else(|| payload.get("Authorization"))
        .and_then(|v| v.as_str())
        .map(str::to_string);
    // The address's budget before the credential is looked at (as for HTTP).
    if state.limiter.admit(&meta, 1).is_err()
        || (state.authenticator.needs_lookup(authorization.as_deref())
            && state.limiter.lookup(&meta).is_err())
    {
        out.close(TOO_MANY, "Too many requests from this address; retry later");
        return shut(out, writer).await;
    }
    let caller = match state
        .authenticator
        .authenticate(authorization.as_deref())
        .await
    {
        Ok(Caller::Rejected) => {
            // Counted against the address like a refused credential on HTTP.
            let _ = state.limiter.charge(&Caller::Rejected, &meta, 1);
            out.close(CREDENTIAL_ENDED, "Forbidden: invalid or expired credential");
            return shut(out, writer).await;
        }
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "authenticating a socket");
            out.close(1011, "internal error");
            return shut(out, writer).await;
        }
    };
    let mut credential = CredentialWatch::new(&caller, state.authenticator.revocations());
    if let Err(ended) = credential.check() {
        out.close(CREDENTIAL_ENDED, ended.reason());
        return shut(out, writer).await;
    }
    let _account_slot = match &caller {
        Caller::Known(identity) => {
            match state
                .sockets
                .take_account(identity.user_id, limits.max_sockets_per_account)
            {
                Some(slot) => Some(slot),
                None => {
                    out.close(TOO_MANY, "Too many sockets for this account");
                    return shut(out, writer).await;
                }
            }
        }
        _ => None,
    };
    out.json(serde_json::json!({ "type": "connection_ack" }));
    let known_as = match &caller {
        Caller::Known(identity) => Some((identity.user_id, identity.api_key())),
        _ => None,
    };
    let context = Arc::new(RequestContext::new(caller, meta, traceparent));
    let session: Arc<dyn crate::execute::SubscriptionSession> =
        Arc::from(gateway.transport().session(context.clone()));

    // 2. operations.
    let mut active: HashMap<String, AbortHandle> = HashMap::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<String>();
    let conn = Conn {
        gateway: gateway.clone(),
        session,
        context: context.clone(),
        limiter: state.limiter.clone(),
        out: out.clone(),
        done: done_tx,
    };
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    // An API key is asked about again as often as the edge's key cache lapses, so a key
    // revoked where no bus announcement reached this replica still closes its sockets.
    let mut recheck = tokio::time::interval(KEY_CACHE_TTL);
    recheck.tick().await;
    let is_key = credential.is_api_key();
    let mut ended = credential.ended();
    loop {
        tokio::select! {
            msg = stream.next() => {
                let msg = match msg {
                    Some(Ok(msg)) => msg,
                    Some(Err(e)) => {
                        if sockets::is_too_big(&e) {
                            out.close(MESSAGE_TOO_BIG, "Message too big");
                        }
                        break;
                    }
                    None => break,
                };
                let t = match msg {
                    Message::Text(t) => t,
                    Message::Close(_) => break,
                    _ => continue,
                };
                match serde_json::from_str::<ClientMessage>(&t) {
                    Ok(ClientMessage::ConnectionInit { .. }) => {
                        out.close(4429, "Too many initialisation requests");
                        break;
                    }
                    Ok(ClientMessage::Ping { payload }) => {
                        let mut pong = serde_json::json!({ "type": "pong" });
                        if let Some(p) = payload {
                            pong["payload"] = p;
                        }
                        out.json(pong);
                    }
                    Ok(ClientMessage::Pong { .. }) => {}
                    Ok(ClientMessage::Complete { id }) => {
                        if let Some(task) = active.remove(&id) {
                            task.abort();
                        }
                    }
                    Ok(ClientMessage::Subscribe { id, payload }) => {
                        // Nothing runs on a credential that has ended, even if its close
                        // is still on its way.
                        if let Err(ended) = credential.check() {
                            out.close(CREDENTIAL_ENDED, ended.reason());
                            break;
                        }
                        if active.contains_key(&id) {
                            out.close(4409, &format!("Subscriber for {id} already exists"));
                            break;
                        }
                        if active.len() >= limits.max_subscriptions {
                            out.close(TOO_MANY, "Too many subscriptions on this socket");
                            break;
                        }
                        let task = tokio::spawn(operation(id.clone(), *payload, conn.clone()));
                        active.insert(id, task.abort_handle());
                    }
                    Err(_) => {
                        out.close(4400, "Invalid message received");
                        break;
                    }
                }
            }
            Some(id) = done_rx.recv() => {
                active.remove(&id);
            }
            ended = &mut ended => {
                out.close(CREDENTIAL_ENDED, ended.reason());
                break;
            }
            _ = recheck.tick(), if is_key => {
                match state.authenticator.authenticate(authorization.as_deref()).await {
                    Ok(Caller::Known(i)) if Some((i.user_id, i.api_key())) == known_as => {}
                    Ok(_) => {
                        out.close(CREDENTIAL_ENDED, sockets::Ended::Revoked.reason());
                        break;
                    }
                    // Auth unreachable: the key stays trusted until it answers again.
                    Err(e) => tracing::warn!(error = %e, "re-checking a socket's API key"),
                }
            }
            () = out.overflowed.cancelled() => {
                sockets::count_close(SLOW_CONSUMER);
                tracing::info!("closing a socket whose client stopped reading");
                break;
            }
            _ = ping.tick() => {
                out.json(serde_json::json!({ "type": "ping" }));
            }
            () = state.drain.begun() => {
                out.close(crate::http::SERVICE_RESTART, crate::http::SERVICE_RESTART_REASON);
                break;
            }
        }
    }
    for (_, task) in active.drain() {
        task.abort();
    }
    // Every sender of the outbox must go for the writer to finish.
    drop(conn);
    shut(out, writer).await;
}

/// Counts an open client socket in `rialto_websocket_connections` while it lives.
struct OpenSocket;

impl OpenSocket {
    fn count() -> Self {
        metrics::gauge!("rialto_websocket_connections").increment(1.0);
        Self
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        metrics::gauge!("rialto_websocket_connections").decrement(1.0);
    }
}

/// What every operation of one socket shares.
#[derive(Clone)]
struct Conn {
    gateway: Arc<Gateway>,
    session: Arc<dyn crate::execute::SubscriptionSession>,
    context: Arc<RequestContext>,
    limiter: Arc<crate::http::RequestLimiter>,
    out: Outbox,
    done: mpsc::UnboundedSender<String>,
}

/// One `subscribe`: a query or mutation answered once, or a subscription streamed.
async fn operation(id: String, request: GraphQLRequest, conn: Conn) {
    let Conn {
        gateway,
        session,
        context,
        limiter,
        out,
        done,
    } = conn;
    let finish = |out: &Outbox, msg: serde_json::Value| out.json(msg);
    let label = crate::http::operation_label(request.operation_name.as_deref());
    metrics::counter!("rialto_graphql_requests_total", "operation" => label).increment(1);
    let prepared = match gateway.prepare(&request.query, request.operation_name.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            finish(
                &out,
                serde_json::json!({ "id": id, "type": "error", "payload": errors_of(&e) }),
            );
            let _ = done.send(id);
            return;
        }
    };
    // Charged like an HTTP request: one, or one per root mutation field.
    if let Err(wait) = limiter.charge(&context.caller, &context.meta, prepared.cost()) {
        let secs = wait.as_secs().max(1);
        let mut r = GraphQLResponse::request_error(
            format!("too many requests; retry in {secs} s"),
            ErrorCode::RateLimited,
        );
        if let Some(ext) = r.errors[0]
            .get_mut("extensions")
            .and_then(JsonValue::as_object_mut)
        {
            ext.insert("retryAfter", JsonValue::from(secs));
        }
        finish(
            &out,
            serde_json::json!({ "id": id, "type": "error", "payload": errors_of(&r) }),
        );
        let _ = done.send(id);
        return;
    }
    let variables: Option<JsonMap> = request.variables;
    if prepared.kind() != OperationType::Subscription {
        let response = gateway
            .execute(&prepared, variables.as_ref(), &context)
            .await;
        if response.is_request_error() {
            finish(
                &out,
                serde_json::json!({ "id": id, "type": "error", "payload": errors_of(&response) }),
            );
        } else {
            finish(
                &out,
                serde_json::json!({ "id": id, "type": "next", "payload": payload_of(&response) }),
            );
            finish(&out, serde_json::json!({ "id": id, "type": "complete" }));
        }
        let _ = done.send(id);
        return;
    }
    let events = match gateway
        .subscribe(
            prepared,
            variables.as_ref(),
            session.as_ref(),
            context.clone(),
        )
        .await
    {
        Ok(s) => s,
        Err(e) => {
            finish(
                &out,
                serde_json::json!({ "id": id, "type": "error", "payload": errors_of(&e) }),
            );
            let _ = done.send(id);
            return;
        }
    };
    futures_util::pin_mut!(events);
    let mut failed = false;
    while let Some(event) = events.next().await {
        match event {
            SubscriptionEvent::Next(r) => {
                if !finish(
                    &out,
                    serde_json::json!({ "id": id, "type": "next", "payload": payload_of(&r) }),
                ) {
                    // The client stopped reading (the socket is closing) or left.
                    let _ = done.send(id);
                    return;
                }
            }
            SubscriptionEvent::Failed(r) => {
                finish(
                    &out,
                    serde_json::json!({ "id": id, "type": "error", "payload": errors_of(&r) }),
                );
                failed = true;
                break;
            }
        }
    }
    if !failed {
        finish(&out, serde_json::json!({ "id": id, "type": "complete" }));
    }
    let _ = done.send(id);
}
