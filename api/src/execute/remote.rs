//! The remote transport of `rialto gateway`: GraphQL over HTTP to each subgraph (a pooled
//! reqwest client with a timeout), and `graphql-transport-ws` over one upstream WebSocket per
//! client connection and subgraph, multiplexing that client's subscriptions.
//!
//! The caller travels as a signed context ([`common::context`]); the request id and W3C
//! `traceparent` are forwarded as headers. An upstream socket that closes, errs or stops
//! answering pings ends each of its subscriptions with [`TransportError::Dropped`], so the
//! client learns at once and can resubscribe; nothing stalls silently.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use apollo_compiler::response::{JsonMap, JsonValue};
use common::{
    ContextSigner,
    context::{CONTEXT_HEADER, CONTEXT_INIT_KEY},
};
use futures_util::{FutureExt, SinkExt, StreamExt, future::BoxFuture};
use serde::Deserialize;
use tokio::sync::{Mutex, mpsc};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

use super::transport::{
    EventStream, RequestContext, SubgraphRequest, SubgraphResponse, SubgraphTransport,
    SubscriptionSession, TransportError,
};
use crate::compose::GraphId;

/// How often an idle upstream socket is pinged, and how long it may stay silent.
const PING_EVERY: Duration = Duration::from_secs(10);
const SILENCE_LIMIT: Duration = Duration::from_secs(30);
/// Events buffered per subscription between the upstream socket and the client's; a
/// subscription whose client falls this far behind is ended with
/// [`TransportError::Overloaded`] instead of buffering without bound.
const EVENTS_PER_SUBSCRIPTION: usize = 256;

type EventSender = mpsc::Sender<Result<SubgraphResponse, TransportError>>;

/// Where each subgraph is.
#[derive(Debug, Clone)]
pub struct RemoteSubgraph {
    /// Its name (for errors and metrics).
    pub name: String,
    /// Its GraphQL-over-HTTP URL; the WebSocket URL is the same with `ws(s)://`.
    pub url: String,
}

/// Subgraphs over the network.
#[derive(Clone)]
pub struct RemoteTransport {
    inner: Arc<Inner>,
}

struct Inner {
    subgraphs: Vec<RemoteSubgraph>,
    /// `subgraphs[i].url` parsed once: reqwest would parse a string URL on every call.
    urls: Vec<reqwest::Url>,
    client: reqwest::Client,
    signer: ContextSigner,
    timeout: Duration,
}

#[derive(serde::Serialize)]
struct WireRequest<'a> {
    query: &'a str,
    variables: &'a JsonMap,
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    data: Option<JsonValue>,
    #[serde(default)]
    errors: Option<Vec<JsonValue>>,
}

impl RemoteTransport {
    /// A transport for these subgraphs (in composition order), signing contexts with
    /// `signer`; each call may take at most `timeout`.
    pub fn new(
        subgraphs: Vec<RemoteSubgraph>,
        signer: ContextSigner,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .timeout(timeout)
            // A subgraph answers where it is; following a redirect would send the signed
            // context somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let urls = subgraphs
            .iter()
            .map(|s| {
                reqwest::Url::parse(&s.url)
                    .map_err(|e| anyhow::anyhow!("subgraph {}: bad URL {:?}: {e}", s.name, s.url))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            inner: Arc::new(Inner {
                subgraphs,
                urls,
                client,
                signer,
                timeout,
            }),
        })
    }
}

impl Inner {
    fn subgraph(&self, graph: GraphId) -> Result<&RemoteSubgraph, TransportError> {
        self.subgraphs
            .get(graph)
            .ok_or_else(|| TransportError::Unreachable(format!("#{graph}")))
    }

    fn url(&self, graph: GraphId) -> Result<&reqwest::Url, TransportError> {
        self.urls
            .get(graph)
            .ok_or_else(|| TransportError::Unreachable(format!("#{graph}")))
    }
}

impl SubgraphTransport for RemoteTransport {
    fn fetch(
        &self,
        graph: GraphId,
        request: SubgraphRequest,
    ) -> BoxFuture<'_, Result<SubgraphResponse, TransportError>> {
        async move {
            let inner = &self.inner;
            let sub = inner.subgraph(graph)?;
            let url = inner.url(graph)?.clone();
            let body = serde_json::to_vec(&WireRequest {
                query: &request.query,
                variables: &request.variables,
            })
            .map_err(|_| TransportError::Invalid(sub.name.clone()))?;
            let ctx = &request.context;
            let mut req = inner
                .client
                .post(url)
                .header("content-type", "application/json")
                .header(
                    "accept",
                    "application/graphql-response+json, application/json",
                )
                .body(body);
            if let Some(token) = ctx.signed(&inner.signer) {
                req = req.header(CONTEXT_HEADER, &*token);
            }
            if let Some(id) = &ctx.meta.request_id {
                req = req.header("x-request-id", id);
            }
            if let Some(tp) = &ctx.traceparent {
                req = req.header("traceparent", tp);
            }
            let resp = req.send().await.map_err(|e| {
                if e.is_timeout() {
                    TransportError::Timeout(sub.name.clone())
                } else {
                    TransportError::Unreachable(sub.name.clone())
                }
            })?;
            let bytes = resp.bytes().await.map_err(|e| {
                if e.is_timeout() {
                    TransportError::Timeout(sub.name.clone())
                } else {
                    TransportError::Invalid(sub.name.clone())
                }
            })?;
            let wire: WireResponse = serde_json::from_slice(&bytes)
                .map_err(|_| TransportError::Invalid(sub.name.clone()))?;
            Ok(SubgraphResponse {
                data: wire.data,
                errors: wire.errors.unwrap_or_default(),
            })
        }
        .boxed()
    }

    fn session(&self, context: Arc<RequestContext>) -> Box<dyn SubscriptionSession> {
        Box::new(RemoteSession {
            inner: self.inner.clone(),
            context,
            upstreams: Mutex::new(HashMap::new()),
        })
    }
}

/// One client connection's upstream sockets, one per subgraph, opened on first use.
struct RemoteSession {
    inner: Arc<Inner>,
    context: Arc<RequestContext>,
    upstreams: Mutex<HashMap<GraphId, mpsc::UnboundedSender<Command>>>,
}

enum Command {
    Subscribe {
        id: String,
        payload: serde_json::Value,
        events: EventSender,
        overflowed: Arc<AtomicBool>,
    },
    Complete {
        id: String,
    },
}

impl SubscriptionSession for RemoteSession {
    fn subscribe(
        &self,
        graph: GraphId,
        request: SubgraphRequest,
    ) -> BoxFuture<'_, Result<EventStream, TransportError>> {
        async move {
            let sub = self.inner.subgraph(graph)?.clone();
            let tx = {
                let mut upstreams = self.upstreams.lock().await;
                match upstreams.get(&graph) {
                    Some(tx) if !tx.is_closed() => tx.clone(),
                    _ => {
                        let tx = connect(&self.inner, &sub, &self.context).await?;
                        upstreams.insert(graph, tx.clone());
                        tx
                    }
                }
            };
            let id = uuid::Uuid::new_v4().simple().to_string();
            let (events_tx, events_rx) = mpsc::channel(EVENTS_PER_SUBSCRIPTION);
            let overflowed = Arc::new(AtomicBool::new(false));
            tx.send(Command::Subscribe {
                id: id.clone(),
                payload: serde_json::json!({
                    "query": &*request.query,
                    "variables": &request.variables,
                }),
                events: events_tx,
                overflowed: overflowed.clone(),
            })
            .map_err(|_| TransportError::Dropped(sub.name.clone()))?;
            let guard = CompleteOnDrop { id, tx };
            let name = sub.name.clone();
            let stream = futures_util::stream::unfold(Some((events_rx, guard)), move |state| {
                let name = name.clone();
                let overflowed = overflowed.clone();
                async move {
                    let (mut rx, guard) = state?;
                    match rx.recv().await {
                        Some(ev) => Some((ev, Some((rx, guard)))),
                        // The pump let go of a subscription it could not keep up with:
                        // say so, then end.
                        None if overflowed.load(Ordering::Relaxed) => {
                            Some((Err(TransportError::Overloaded(name)), None))
                        }
                        None => None,
                    }
                }
            });
            Ok(stream.boxed())
        }
        .boxed()
    }
}

/// Tells the upstream to stop a subscription when its client stops listening.
struct CompleteOnDrop {
    id: String,
    tx: mpsc::UnboundedSender<Command>,
}

impl Drop for CompleteOnDrop {
    fn drop(&mut self) {
        let _ = self.tx.send(Command::Complete {
            id: std::mem::take(&mut self.id),
        });
    }
}

fn ws_url(http: &str) -> String {
    if let Some(rest) = http.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = http.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        http.to_string()
    }
}

/// Opens an upstream socket, completes `connection_init` (carrying the signed context) and
/// starts the task that owns it.
async fn connect(
    inner: &Inner,
    sub: &RemoteSubgraph,
    context: &RequestContext,
) -> Result<mpsc::UnboundedSender<Command>, TransportError> {
    let unreachable = || TransportError::Unreachable(sub.name.clone());
    let mut request = ws_url(&sub.url)
        .into_client_request()
        .map_err(|_| unreachable())?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    if let Some(id) = context
        .meta
        .request_id
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        request.headers_mut().insert("x-request-id", id);
    }
    // Nagle off (the last argument), as for the HTTP client: events are small frames. A
    // small read buffer to start with: one upstream socket per client socket and subgraph.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(crate::http::sockets::READ_BUFFER_BYTES);
    let connect = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
    let (mut socket, _) = tokio::time::timeout(inner.timeout, connect)
        .await
        .map_err(|_| TransportError::Timeout(sub.name.clone()))?
        .map_err(|_| unreachable())?;
    let mut payload = serde_json::Map::new();
    if let Some(token) = context.signed(&inner.signer) {
        payload.insert(CONTEXT_INIT_KEY.into(), (*token).into());
    }
    let init = serde_json::json!({ "type": "connection_init", "payload": payload });
    socket
        .send(Message::Text(init.to_string().into()))
        .await
        .map_err(|_| unreachable())?;
    let acked = tokio::time::timeout(inner.timeout, async {
        while let Some(Ok(msg)) = socket.next().await {
            if let Message::Text(t) = msg {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap_or_default();
                match v["type"].as_str() {
                    Some("connection_ack") => return true,
                    Some("ping") => {
                        let _ = socket
                            .send(Message::Text(r#"{"type":"pong"}"#.into()))
                            .await;
                    }
                    _ => return false,
                }
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    if !acked {
        return Err(TransportError::Unreachable(sub.name.clone()));
    }
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(pump(socket, rx, sub.name.clone()));
    Ok(tx)
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Owns one upstream socket: sends subscribes and completes, routes events to their
/// subscriptions, keeps the connection alive, and ends every subscription if it dies.
async fn pump(mut socket: Socket, mut commands: mpsc::UnboundedReceiver<Command>, name: String) {
    let mut active: HashMap<String, Active> = HashMap::new();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut last_heard = tokio::time::Instant::now();
    loop {
        tokio::select! {
            cmd = commands.recv() => match cmd {
                Some(Command::Subscribe { id, payload, events, overflowed }) => {
                    let msg = serde_json::json!({ "id": id, "type": "subscribe", "payload": payload });
                    if socket.send(Message::Text(msg.to_string().into())).await.is_err() {
                        let _ = events.try_send(Err(TransportError::Dropped(name.clone())));
                        break;
                    }
                    active.insert(id, Active { events, overflowed });
                }
                Some(Command::Complete { id }) => {
                    if active.remove(&id).is_some() {
                        let msg = serde_json::json!({ "id": id, "type": "complete" });
                        if socket.send(Message::Text(msg.to_string().into())).await.is_err() {
                            break;
                        }
                    }
                    if active.is_empty() && commands.is_closed() {
                        break;
                    }
                }
                None => break, // the client connection is gone
            },
            msg = socket.next() => {
                let Some(Ok(msg)) = msg else { break };
                last_heard = tokio::time::Instant::now();
                match msg {
                    Message::Text(text) => {
                        let healthy = route(&text, &mut active, &mut socket).await;
                        if !healthy {
                            break;
                        }
                    }
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > SILENCE_LIMIT {
                    tracing::warn!(subgraph = name, "upstream socket went silent");
                    break;
                }
                if socket.send(Message::Text(r#"{"type":"ping"}"#.into())).await.is_err() {
                    break;
                }
            }
        }
    }
    for (_, sub) in active.drain() {
        if sub
            .events
            .try_send(Err(TransportError::Dropped(name.clone())))
            .is_err()
        {
            // Full: the stream still ends with an error once its client has caught up.
            sub.overflowed.store(true, Ordering::Relaxed);
        }
    }
    let _ = socket.close(None).await;
}

/// One live subscription on an upstream socket.
struct Active {
    events: EventSender,
    /// Set when its client fell too far behind and it was let go.
    overflowed: Arc<AtomicBool>,
}

/// Handles one upstream message; false when the socket must be given up.
async fn route(text: &str, active: &mut HashMap<String, Active>, socket: &mut Socket) -> bool {
    let Ok(msg) = serde_json::from_str::<JsonMap>(text) else {
        return false;
    };
    let id = msg
        .get("id")
        .and_then(JsonValue::as_str)
        .map(str::to_string);
    match msg.get("type").and_then(JsonValue::as_str) {
        Some("next") => {
            if let (Some(id), Some(payload)) = (id, msg.get("payload")) {
                let response = SubgraphResponse {
                    data: payload.get("data").cloned(),
                    errors: payload
                        .get("errors")
                        .and_then(JsonValue::as_array)
                        .cloned()
                        .unwrap_or_default(),
                };
                let delivered = active.get(&id).map(|sub| sub.events.try_send(Ok(response)));
                match delivered {
                    Some(Err(mpsc::error::TrySendError::Full(_))) => {
                        if let Some(sub) = active.remove(&id) {
                            sub.overflowed.store(true, Ordering::Relaxed);
                        }
                        let msg = serde_json::json!({ "id": id, "type": "complete" });
                        return socket
                            .send(Message::Text(msg.to_string().into()))
                            .await
                            .is_ok();
                    }
                    Some(Err(mpsc::error::TrySendError::Closed(_))) => {
                        active.remove(&id);
                    }
                    _ => {}
                }
            }
        }
        Some("error") => {
            if let Some(id) = id
                && let Some(sub) = active.remove(&id)
            {
                let errors = msg
                    .get("payload")
                    .and_then(JsonValue::as_array)
                    .cloned()
                    .unwrap_or_default();
                let _ = sub
                    .events
                    .try_send(Ok(SubgraphResponse { data: None, errors }));
            }
        }
        Some("complete") => {
            if let Some(id) = id {
                active.remove(&id); // dropping the sender ends the stream
            }
        }
        Some("ping") => {
            return socket
                .send(Message::Text(r#"{"type":"pong"}"#.into()))
                .await
                .is_ok();
        }
        Some("pong") | Some("connection_ack") => {}
        _ => return false,
    }
    true
}
