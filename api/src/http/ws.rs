//! The `graphql-transport-ws` socket at `/graphql`.
//!
//! The protocol logic is async-graphql's; this module pumps frames between it and the axum
//! socket, as `async_graphql_axum::GraphQLWebSocket::serve` does, with one change: a
//! `connection_init` refused for its credential closes with **4403 Forbidden**, as the
//! protocol prescribes (async-graphql closes every init failure with 1002), so clients stop
//! retrying with a dead token.
//!
//! A client that authenticated here itself (not through a gateway's signed context, whose
//! caller the gateway watches) is closed with 4403 when its credential expires or is
//! revoked; a message over `--ws-max-message-bytes` closes the socket with 1009; a client
//! that does not take a message within [`SEND_TIMEOUT`] is closed with 1013. The limits on
//! subscriptions and sockets per client are the gateway's: every gateway connection comes
//! from the gateway's own address.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_graphql::{
    Data, Executor,
    http::{WebSocketProtocols, WsMessage},
};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use common::{Caller, RequestMeta};
use futures_util::{SinkExt, StreamExt, future};
use tokio::sync::oneshot;

use super::{
    AppState, Endpoint, Subgraph, SubgraphSchema,
    sockets::{self, CREDENTIAL_ENDED, CredentialWatch, MESSAGE_TOO_BIG, SLOW_CONSUMER},
};

/// The longest one frame may wait for a client that does not read.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The close reason of a refused credential; recognised when mapping the close code.
const FORBIDDEN_REASON: &str = "Forbidden: invalid or expired credential";

/// Serves one socket until either side closes it.
pub async fn serve(
    socket: WebSocket,
    state: AppState,
    protocol: WebSocketProtocols,
    meta: RequestMeta,
) {
    let Endpoint::Subgraph(subgraph) = state.endpoint.clone() else {
        return;
    };
    match subgraph.schema.clone() {
        SubgraphSchema::Auth(schema, _) => {
            serve_schema(schema, socket, state, subgraph, protocol, meta).await;
        }
        SubgraphSchema::Brain(schema, _) => {
            serve_schema(schema, socket, state, subgraph, protocol, meta).await;
        }
    }
}

async fn serve_schema<E: Executor>(
    schema: E,
    socket: WebSocket,
    state: AppState,
    subgraph: Subgraph,
    protocol: WebSocketProtocols,
    meta: RequestMeta,
) {
    let (mut sink, stream) = socket.split();
    let too_big = Arc::new(AtomicBool::new(false));
    let saw_too_big = too_big.clone();
    let input = stream
        .take_while(move |res| {
            if let Err(e) = res
                && sockets::is_too_big(e)
            {
                saw_too_big.store(true, Ordering::Relaxed);
            }
            future::ready(res.is_ok())
        })
        .filter_map(|msg| {
            future::ready(match msg {
                Ok(m @ (Message::Text(_) | Message::Binary(_))) => Some(m.into_data()),
                _ => None,
            })
        });

    // The credential of a client that authenticated here itself, to watch.
    let (watch_tx, mut watch_rx) = oneshot::channel::<CredentialWatch>();
    let authenticator = state.authenticator.clone();
    let output = async_graphql::http::WebSocket::new(schema, input, protocol)
        .on_connection_init(move |payload| async move {
            // A gateway's signed context names the caller; otherwise the payload's credential.
            let from_gateway = payload
                .get(common::context::CONTEXT_INIT_KEY)
                .and_then(|v| v.as_str())
                .zip(subgraph.signer.as_ref())
                .and_then(|(token, signer)| signer.verify(token).ok());
            let (caller, meta) = match from_gateway {
                Some(ctx) => (ctx.caller, ctx.meta),
                None => {
                    let authorization = payload
                        .get("authorization")
                        .or_else(|| payload.get("Authorization"))
                        .and_then(|v| v.as_str())
                        .map(str::to_string);
                    match authenticator.authenticate(authorization.as_deref()).await {
                        Ok(Caller::Rejected) => {
                            return Err(async_graphql::Error::new(FORBIDDEN_REASON));
                        }
                        Ok(caller) => {
                            let watch = CredentialWatch::new(&caller, authenticator.revocations());
                            if watch.check().is_err() {
                                return Err(async_graphql::Error::new(FORBIDDEN_REASON));
                            }
                            let _ = watch_tx.send(watch);
                            (caller, meta)
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "authenticating a socket");
                            return Err(async_graphql::Error::new("internal error"));
                        }
                    }
                }
            };
            let mut data = Data::default();
            data.insert(caller);
            data.insert(meta);
            subgraph.schema.prepare_data(&mut data);
            Ok(data)
        })
        .map(|msg| match msg {
            WsMessage::Text(text) => Message::Text(text.into()),
            WsMessage::Close(code, reason) => {
                let code = if code == 1002 && reason == FORBIDDEN_REASON {
                    4403
                } else {
                    code
                };
                Message::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                }))
            }
        });
    futures_util::pin_mut!(output);
    let mut credential_ends: Option<future::BoxFuture<'static, sockets::Ended>> = None;
    let mut watch_settled = false;
    loop {
        tokio::select! {
            frame = output.next() => {
                let Some(frame) = frame else {
                    if too_big.load(Ordering::Relaxed) {
                        sockets::count_close(MESSAGE_TOO_BIG);
                        let _ = sink
                            .send(Message::Close(Some(CloseFrame {
                                code: MESSAGE_TOO_BIG,
                                reason: "Message too big".into(),
                            })))
                            .await;
                    }
                    break;
                };
                if let Message::Close(Some(CloseFrame { code, .. })) = &frame {
                    sockets::count_close(*code);
                }
                match tokio::time::timeout(SEND_TIMEOUT, sink.send(frame)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break,
                    Err(_) => {
                        sockets::count_close(SLOW_CONSUMER);
                        break;
                    }
                }
            }
            watch = &mut watch_rx, if !watch_settled => {
                watch_settled = true;
                credential_ends = watch.ok().map(|mut w| w.ended());
            }
            ended = async {
                match credential_ends.as_mut() {
                    Some(end) => end.await,
                    None => std::future::pending().await,
                }
            } => {
                sockets::count_close(CREDENTIAL_ENDED);
                let _ = sink
                    .send(Message::Close(Some(CloseFrame {
                        code: CREDENTIAL_ENDED,
                        reason: ended.reason().into(),
                    })))
                    .await;
                break;
            }
            // Shutting down: the gateway sees its upstream go and ends the subscriptions
            // with an error, so its clients resubscribe (through another replica).
            () = state.drain.begun() => {
                let _ = sink
                    .send(Message::Close(Some(CloseFrame {
                        code: super::SERVICE_RESTART,
                        reason: super::SERVICE_RESTART_REASON.into(),
                    })))
                    .await;
                break;
            }
        }
    }
}
