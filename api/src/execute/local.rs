//! The in-process transport of `rialto serve`: the gateway executes each subgraph's
//! async-graphql schema directly, handing the caller over as request data (nothing is
//! signed or serialised to text on the way).

use std::sync::Arc;

use apollo_compiler::response::{JsonMap, JsonValue};
use async_graphql::{Executor, Name, Request, Response, Value, Variables};
use futures_util::{FutureExt, StreamExt, future::BoxFuture};

use super::transport::{
    EventStream, RequestContext, SubgraphRequest, SubgraphResponse, SubgraphTransport,
    SubscriptionSession, TransportError,
};
use crate::compose::GraphId;

/// Adds what a subgraph's resolvers expect in the request data (the caller, a per-request
/// DataLoader, ...).
pub type Prepare = Arc<dyn Fn(Request, &RequestContext) -> Request + Send + Sync>;

/// A subgraph schema the gateway can run in-process.
pub trait LocalSchema: Send + Sync + 'static {
    /// Executes a query or mutation.
    fn execute(&self, request: Request) -> BoxFuture<'static, Response>;
    /// Executes a subscription.
    fn execute_stream(
        &self,
        request: Request,
    ) -> futures_util::stream::BoxStream<'static, Response>;
}

impl<E: Executor> LocalSchema for E {
    fn execute(&self, request: Request) -> BoxFuture<'static, Response> {
        let this = self.clone();
        async move { Executor::execute(&this, request).await }.boxed()
    }

    fn execute_stream(
        &self,
        request: Request,
    ) -> futures_util::stream::BoxStream<'static, Response> {
        Executor::execute_stream(self, request, None).boxed()
    }
}

/// One in-process subgraph.
#[derive(Clone)]
pub struct LocalSubgraph {
    /// Its schema.
    pub schema: Arc<dyn LocalSchema>,
    /// Its per-request data.
    pub prepare: Prepare,
}

impl std::fmt::Debug for LocalSubgraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalSubgraph(..)")
    }
}

impl LocalSubgraph {
    /// A subgraph whose resolvers need only the caller and request metadata.
    pub fn new(schema: impl LocalSchema) -> Self {
        Self {
            schema: Arc::new(schema),
            prepare: Arc::new(|req, ctx| req.data(ctx.caller.clone()).data(ctx.meta.clone())),
        }
    }

    /// A subgraph with its own per-request data (the caller and metadata are added too).
    pub fn with_prepare(
        schema: impl LocalSchema,
        prepare: impl Fn(Request, &RequestContext) -> Request + Send + Sync + 'static,
    ) -> Self {
        Self {
            schema: Arc::new(schema),
            prepare: Arc::new(move |req, ctx| {
                prepare(req.data(ctx.caller.clone()).data(ctx.meta.clone()), ctx)
            }),
        }
    }

    fn request(&self, request: &SubgraphRequest) -> Request {
        let req = Request::new(request.query.to_string()).variables(Variables::from_value(
            to_graphql(&JsonValue::Object(request.variables.clone())),
        ));
        (self.prepare)(req, &request.context)
    }
}

/// Subgraphs by [`GraphId`].
pub struct LocalTransport {
    subgraphs: Vec<LocalSubgraph>,
}

impl LocalTransport {
    /// In composition order.
    pub fn new(subgraphs: Vec<LocalSubgraph>) -> Self {
        Self { subgraphs }
    }

    fn get(&self, graph: GraphId) -> Result<&LocalSubgraph, TransportError> {
        self.subgraphs
            .get(graph)
            .ok_or_else(|| TransportError::Unreachable(format!("#{graph}")))
    }
}

impl SubgraphTransport for LocalTransport {
    fn fetch(
        &self,
        graph: GraphId,
        request: SubgraphRequest,
    ) -> BoxFuture<'_, Result<SubgraphResponse, TransportError>> {
        async move {
            let sub = self.get(graph)?;
            let response = sub.schema.execute(sub.request(&request)).await;
            Ok(from_response(response))
        }
        .boxed()
    }

    fn session(&self, _context: Arc<RequestContext>) -> Box<dyn SubscriptionSession> {
        Box::new(LocalSession {
            subgraphs: self.subgraphs.clone(),
        })
    }
}

struct LocalSession {
    subgraphs: Vec<LocalSubgraph>,
}

impl SubscriptionSession for LocalSession {
    fn subscribe(
        &self,
        graph: GraphId,
        request: SubgraphRequest,
    ) -> BoxFuture<'_, Result<EventStream, TransportError>> {
        async move {
            let sub = self
                .subgraphs
                .get(graph)
                .ok_or_else(|| TransportError::Unreachable(format!("#{graph}")))?;
            let stream: EventStream = sub
                .schema
                .execute_stream(sub.request(&request))
                .map(|r| Ok(from_response(r)))
                .boxed();
            Ok(stream)
        }
        .boxed()
    }
}

fn from_response(response: Response) -> SubgraphResponse {
    let data = match response.data {
        Value::Null if !response.errors.is_empty() => Some(JsonValue::Null),
        v => Some(from_graphql(v)),
    };
    let errors = response
        .errors
        .iter()
        .filter_map(|e| serde_json::to_value(e).ok())
        .map(JsonValue::from)
        .collect();
    SubgraphResponse { data, errors }
}

/// async-graphql's value as JSON (enums become strings).
pub fn from_graphql(v: Value) -> JsonValue {
    match v {
        Value::Null => JsonValue::Null,
        Value::Number(n) => JsonValue::Number(n),
        Value::String(s) => JsonValue::String(s.into()),
        Value::Boolean(b) => JsonValue::Bool(b),
        Value::Binary(b) => {
            JsonValue::Array(b.iter().map(|x| JsonValue::from(*x as u64)).collect())
        }
        Value::Enum(e) => JsonValue::String(e.as_str().into()),
        Value::List(items) => JsonValue::Array(items.into_iter().map(from_graphql).collect()),
        Value::Object(map) => {
            let mut out = JsonMap::with_capacity(map.len());
            for (k, v) in map {
                out.insert(k.as_str(), from_graphql(v));
            }
            JsonValue::Object(out)
        }
    }
}

/// JSON as async-graphql's value (variables).
pub fn to_graphql(v: &JsonValue) -> Value {
    match v {
        JsonValue::Null => Value::Null,
        JsonValue::Bool(b) => Value::Boolean(*b),
        JsonValue::Number(n) => Value::Number(n.clone()),
        JsonValue::String(s) => Value::String(s.as_str().to_string()),
        JsonValue::Array(items) => Value::List(items.iter().map(to_graphql).collect()),
        JsonValue::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (Name::new(k.as_str()), to_graphql(v)))
                .collect(),
        ),
    }
}
