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

use crate::{
    execute::RequestContext,
    gateway::{Gateway, GraphQLRequest, GraphQLResponse, SubscriptionEvent},
    http::AppState,
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

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(reason.to_string()),
    }))
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
    let (mut sink, mut stream) = socket.split();
    let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
    let writer = tokio::spawn(async move {
        while let Some(msg) = out_rx.recv().await {
            let closing = matches!(msg, Message::Close(_));
            if sink.send(msg).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });

    // 1. connection_init, in time.
    let init = tokio::time::timeout(INIT_TIMEOUT, async {
        loop {
            match stream.next().await {
                Some(Ok(Message::Text(t))) => return Some(t),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    let payload = match init {
        Err(_) => {
            let _ = out.send(close(4408, "Connection initialisation timeout"));
            drop(out);
            let _ = writer.await;
            return;
        }
        Ok(None) => {
            drop(out);
            let _ = writer.await;
            return;
        }
        Ok(Some(t)) => match serde_json::from_str::<ClientMessage>(&t) {
            Ok(ClientMessage::ConnectionInit { payload }) => payload.unwrap_or_default(),
            Ok(ClientMessage::Subscribe { .. }) => {
                let _ = out.send(close(4401, "Unauthorized"));
                drop(out);
                let _ = writer.await;
                return;
            }
            _ => {
                let _ = out.send(close(4400, "Invalid message received"));
                drop(out);
                let _ = writer.await;
                return;
            }
        },
    };
    let authorization = payload
        .get("authorization")
        .or_else(|| payload.get("Authorization"))
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let caller = match state
        .authenticator
        .authenticate(authorization.as_deref())
        .await
    {
        Ok(Caller::Rejected) => {
            let _ = out.send(close(4403, "Forbidden: invalid or expired credential"));
            drop(out);
            let _ = writer.await;
            return;
        }
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "authenticating a socket");
            let _ = out.send(close(1011, "internal error"));
            drop(out);
            let _ = writer.await;
            return;
        }
    };
    let _ = out.send(text(serde_json::json!({ "type": "connection_ack" })));
    let context = Arc::new(RequestContext::new(caller, meta, traceparent));
    let session: Arc<dyn crate::execute::SubscriptionSession> =
        Arc::from(gateway.transport().session(context.clone()));

    // 2. operations.
    let mut active: HashMap<String, AbortHandle> = HashMap::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<String>();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            msg = stream.next() => {
                let Some(Ok(msg)) = msg else { break };
                let t = match msg {
                    Message::Text(t) => t,
                    Message::Close(_) => break,
                    _ => continue,
                };
                match serde_json::from_str::<ClientMessage>(&t) {
                    Ok(ClientMessage::ConnectionInit { .. }) => {
                        let _ = out.send(close(4429, "Too many initialisation requests"));
                        break;
                    }
                    Ok(ClientMessage::Ping { payload }) => {
                        let mut pong = serde_json::json!({ "type": "pong" });
                        if let Some(p) = payload {
                            pong["payload"] = p;
                        }
                        let _ = out.send(text(pong));
                    }
                    Ok(ClientMessage::Pong { .. }) => {}
                    Ok(ClientMessage::Complete { id }) => {
                        if let Some(task) = active.remove(&id) {
                            task.abort();
                        }
                    }
                    Ok(ClientMessage::Subscribe { id, payload }) => {
                        if active.contains_key(&id) {
                            let _ = out.send(close(4409, &format!("Subscriber for {id} already exists")));
                            break;
                        }
                        if let Err(wait) = state.limiter.check(&context.caller, &context.meta) {
                            let secs = wait.as_secs().max(1);
                            let mut r = GraphQLResponse::request_error(
                                format!("too many requests; retry in {secs} s"),
                                ErrorCode::RateLimited,
                            );
                            if let Some(ext) = r.errors[0].get_mut("extensions").and_then(JsonValue::as_object_mut) {
                                ext.insert("retryAfter", JsonValue::from(secs));
                            }
                            let _ = out.send(text(serde_json::json!({ "id": id, "type": "error", "payload": errors_of(&r) })));
                            continue;
                        }
                        let task = tokio::spawn(operation(
                            id.clone(),
                            *payload,
                            gateway.clone(),
                            session.clone(),
                            context.clone(),
                            out.clone(),
                            done_tx.clone(),
                        ));
                        active.insert(id, task.abort_handle());
                    }
                    Err(_) => {
                        let _ = out.send(close(4400, "Invalid message received"));
                        break;
                    }
                }
            }
            Some(id) = done_rx.recv() => {
                active.remove(&id);
            }
            _ = ping.tick() => {
                let _ = out.send(text(serde_json::json!({ "type": "ping" })));
            }
            () = state.drain.begun() => {
                let _ = out.send(close(crate::http::SERVICE_RESTART, crate::http::SERVICE_RESTART_REASON));
                break;
            }
        }
    }
    for (_, task) in active.drain() {
        task.abort();
    }
    drop(out);
    let _ = writer.await;
}

/// One `subscribe`: a query or mutation answered once, or a subscription streamed.
async fn operation(
    id: String,
    request: GraphQLRequest,
    gateway: Arc<Gateway>,
    session: Arc<dyn crate::execute::SubscriptionSession>,
    context: Arc<RequestContext>,
    out: mpsc::UnboundedSender<Message>,
    done: mpsc::UnboundedSender<String>,
) {
    let finish = |out: &mpsc::UnboundedSender<Message>, msg: serde_json::Value| {
        let _ = out.send(text(msg));
    };
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
                finish(
                    &out,
                    serde_json::json!({ "id": id, "type": "next", "payload": payload_of(&r) }),
                );
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
