//! The seam between the executor and the subgraphs: [`SubgraphTransport`], with two
//! implementations chosen in `startup.rs` — in-process ([`super::local`], `rialto serve`) and
//! HTTP + WebSocket ([`super::remote`], `rialto gateway`). Nothing else knows which is in use.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Instant,
};

use apollo_compiler::response::{JsonMap, JsonValue};
use common::{Caller, ContextSigner, RequestMeta, SubgraphContext};
use futures_util::{future::BoxFuture, stream::BoxStream};

use crate::compose::GraphId;

/// Who is calling and from where, for every subgraph call a client request causes.
#[derive(Debug, Default)]
pub struct RequestContext {
    /// The caller as the edge established it.
    pub caller: Caller,
    /// Address, user agent, request id.
    pub meta: RequestMeta,
    /// The W3C `traceparent` to forward, if the client sent one.
    pub traceparent: Option<String>,
    /// The last signed token and when it was made.
    signed: Mutex<Option<(Instant, Arc<str>)>>,
}

impl RequestContext {
    /// A context for one client request (or one client WebSocket).
    pub fn new(caller: Caller, meta: RequestMeta, traceparent: Option<String>) -> Self {
        Self {
            caller,
            meta,
            traceparent,
            signed: Mutex::new(None),
        }
    }

    /// The context as a signed token for remote subgraphs. A request reuses one token for
    /// all its calls; a WebSocket lives longer than a token, so once half of the token's
    /// lifetime has passed a fresh one is signed: every fetch and every upstream connect
    /// carries a context that is still valid.
    pub fn signed(&self, signer: &ContextSigner) -> Option<Arc<str>> {
        let mut slot = self.signed.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((at, token)) = slot.as_ref()
            && at.elapsed() < signer.ttl() / 2
        {
            return Some(token.clone());
        }
        let token: Arc<str> = signer
            .sign(&SubgraphContext {
                caller: self.caller.clone(),
                meta: self.meta.clone(),
            })
            .map_err(|e| tracing::error!(error = %e, "signing a subgraph context"))
            .ok()?
            .into();
        *slot = Some((Instant::now(), token.clone()));
        Some(token)
    }
}

/// One GraphQL operation for one subgraph.
#[derive(Debug, Clone)]
pub struct SubgraphRequest {
    /// The operation text (from the plan).
    pub query: Arc<str>,
    /// Only the variables this operation uses.
    pub variables: JsonMap,
    /// The client request it serves.
    pub context: Arc<RequestContext>,
}

/// A subgraph's answer.
#[derive(Debug, Clone, Default)]
pub struct SubgraphResponse {
    /// `data`, when present.
    pub data: Option<JsonValue>,
    /// `errors`, as the subgraph sent them.
    pub errors: Vec<JsonValue>,
}

/// A subgraph could not be asked or did not answer in GraphQL.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    /// No answer in time.
    #[error("subgraph {0} did not answer in time")]
    Timeout(String),
    /// Connection refused, reset, or the like.
    #[error("subgraph {0} is unreachable")]
    Unreachable(String),
    /// It answered, but not with a GraphQL response.
    #[error("subgraph {0} sent an invalid response")]
    Invalid(String),
    /// A subscription's upstream connection closed under it.
    #[error("the connection to subgraph {0} was lost")]
    Dropped(String),
    /// A subscription's client fell too far behind its events; resubscribe to resync.
    #[error("the subscription fell behind subgraph {0}'s events; resubscribe")]
    Overloaded(String),
}

/// A stream of subscription events from one subgraph.
pub type EventStream = BoxStream<'static, Result<SubgraphResponse, TransportError>>;

/// How the gateway reaches its subgraphs.
pub trait SubgraphTransport: Send + Sync + 'static {
    /// Sends a query or mutation and waits for the answer.
    fn fetch(
        &self,
        graph: GraphId,
        request: SubgraphRequest,
    ) -> BoxFuture<'_, Result<SubgraphResponse, TransportError>>;

    /// A session for one client connection: its subscriptions to one subgraph share one
    /// upstream connection.
    fn session(&self, context: Arc<RequestContext>) -> Box<dyn SubscriptionSession>;
}

/// The subscriptions of one client connection.
pub trait SubscriptionSession: Send + Sync {
    /// Starts a subscription on `graph`; the stream ends when the subgraph completes it and
    /// yields an error if the upstream connection is lost.
    fn subscribe(
        &self,
        graph: GraphId,
        request: SubgraphRequest,
    ) -> BoxFuture<'_, Result<EventStream, TransportError>>;
}
