//! The federated gateway as one object: operation text in, response out.
//!
//! [`Gateway::prepare`] parses (with token and nesting limits), validates against the composed
//! API schema, enforces depth, alias and field-count limits and plans — once per operation
//! text, cached. [`Gateway::execute`] coerces the variables, runs the plan and shapes the
//! response; [`Gateway::subscribe`] does the same for each event of a subscription. Both
//! HTTP and WebSocket handlers, and both transports, come through here.

use std::{
    collections::HashMap,
    hash::{Hash, Hasher},
    sync::Arc,
};

use apollo_compiler::{
    ExecutableDocument, Name,
    ast::OperationType,
    executable::{Operation, Selection, SelectionSet},
    parser::Parser,
    response::{GraphQLError, JsonMap, JsonValue},
    validation::Valid,
};
use common::ErrorCode;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::{
    compose::Supergraph,
    execute::{
        Executor, RequestContext, SubgraphRequest, SubgraphTransport, SubscriptionSession,
        TransportError, shape,
    },
    plan::{self, QueryPlan},
};

/// Limits on what one operation may ask for. Each refusal is a `BAD_USER_INPUT` request
/// error, before any subgraph is called.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Limits {
    /// Deepest field nesting of an operation (root fields are depth 1). Deep enough for the
    /// standard introspection query that GraphiQL and codegen tools send.
    #[arg(long = "max-depth", env = "RIALTO_MAX_DEPTH", default_value_t = 16)]
    pub max_depth: usize,
    /// Most aliased fields in an operation.
    #[arg(long = "max-aliases", env = "RIALTO_MAX_ALIASES", default_value_t = 64)]
    pub max_aliases: usize,
    /// Most fields in an operation, counted with fragments expanded (a complexity bound).
    #[arg(
        long = "max-fields",
        env = "RIALTO_MAX_FIELDS",
        default_value_t = 1_000
    )]
    pub max_fields: usize,
    /// Most lexical tokens the parser reads from one document.
    #[arg(
        long = "max-tokens",
        env = "RIALTO_MAX_TOKENS",
        default_value_t = 15_000
    )]
    pub max_tokens: usize,
    /// Deepest syntactic nesting the parser follows.
    #[arg(long = "max-nesting", env = "RIALTO_MAX_NESTING", default_value_t = 64)]
    pub max_nesting: usize,
    /// Most root mutation fields in one operation (aliases included): each is a separate
    /// act, charged one request each by the rate limiter.
    #[arg(
        long = "max-root-mutations",
        env = "RIALTO_MAX_ROOT_MUTATIONS",
        default_value_t = 10
    )]
    pub max_root_mutations: usize,
    /// Highest complexity of one operation: each field counts once per item of the lists
    /// around it, a list counting as many items as its `first`, `last`, `limit` or `depth`
    /// argument asks for (or its default), and as 10 when it has none.
    #[arg(
        long = "max-complexity",
        env = "RIALTO_MAX_COMPLEXITY",
        default_value_t = 50_000
    )]
    pub max_complexity: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 16,
            max_aliases: 64,
            max_fields: 1_000,
            max_tokens: 15_000,
            max_nesting: 64,
            max_root_mutations: 10,
            max_complexity: 50_000,
        }
    }
}

/// Gateway settings.
#[derive(Debug, Clone, Copy)]
pub struct GatewayConfig {
    /// Answer `__schema` and `__type`.
    pub introspection: bool,
    /// Operation limits.
    pub limits: Limits,
    /// How many prepared operations to keep.
    pub plan_cache_size: usize,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            introspection: true,
            limits: Limits::default(),
            plan_cache_size: 1_000,
        }
    }
}

/// One GraphQL request as a client sends it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphQLRequest {
    /// The document.
    pub query: String,
    /// Which operation of the document to run.
    #[serde(default)]
    pub operation_name: Option<String>,
    /// Variable values.
    #[serde(default)]
    pub variables: Option<JsonMap>,
    /// Extensions (accepted and ignored).
    #[serde(default)]
    pub extensions: Option<JsonMap>,
}

/// A response: `data` is `None` for a request error (the response then has no `data` key).
#[derive(Debug, Clone, Serialize, Default)]
pub struct GraphQLResponse {
    /// Errors, subgraph ones first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<JsonValue>,
    /// The data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<JsonValue>,
}

impl GraphQLResponse {
    /// A request error: no data, one error with a code.
    pub fn request_error(message: impl Into<String>, code: ErrorCode) -> Self {
        Self {
            errors: vec![error_json(&message.into(), code)],
            data: None,
        }
    }

    /// Whether the request failed before execution.
    pub fn is_request_error(&self) -> bool {
        self.data.is_none()
    }

    /// The `extensions.code` of each error.
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.errors.iter().filter_map(|e| {
            e.get("extensions")
                .and_then(|x| x.get("code"))
                .and_then(JsonValue::as_str)
        })
    }
}

/// An operation parsed, validated, checked against the limits and planned.
pub struct Prepared {
    query: String,
    operation_name: Option<String>,
    document: Valid<ExecutableDocument>,
    plan: QueryPlan,
    /// Root mutation fields, aliases included (0 for a query or subscription).
    mutations: usize,
}

impl Prepared {
    fn operation(&self) -> &Operation {
        // `prepare` made sure the operation exists.
        match self.document.operations.get(self.operation_name.as_deref()) {
            Ok(op) => op,
            Err(_) => unreachable_operation(),
        }
    }

    /// Query, mutation or subscription.
    pub fn kind(&self) -> OperationType {
        self.plan.kind
    }

    /// The operation's name, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.operation().name.as_deref()
    }

    /// What the rate limiter charges for it: one, or one per root mutation field.
    pub fn cost(&self) -> usize {
        self.mutations.max(1)
    }
}

#[allow(clippy::panic)]
fn unreachable_operation() -> ! {
    panic!("a prepared operation lost its operation")
}

/// The gateway.
pub struct Gateway {
    supergraph: Arc<Supergraph>,
    executor: Executor,
    config: GatewayConfig,
    cache: quick_cache::sync::Cache<u64, Arc<Prepared>>,
}

impl Gateway {
    /// A gateway over this supergraph and transport.
    pub fn new(
        supergraph: Arc<Supergraph>,
        transport: Arc<dyn SubgraphTransport>,
        config: GatewayConfig,
    ) -> Self {
        Self {
            executor: Executor::new(supergraph.clone(), transport),
            supergraph,
            cache: quick_cache::sync::Cache::new(config.plan_cache_size.max(1)),
            config,
        }
    }

    /// The composed supergraph.
    pub fn supergraph(&self) -> &Arc<Supergraph> {
        &self.supergraph
    }

    /// Parses, validates, checks and plans an operation, or answers from the cache.
    pub fn prepare(
        &self,
        query: &str,
        operation_name: Option<&str>,
    ) -> Result<Arc<Prepared>, GraphQLResponse> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        query.hash(&mut hasher);
        operation_name.hash(&mut hasher);
        let key = hasher.finish();
        if let Some(p) = self.cache.get(&key)
            && p.query == query
            && p.operation_name.as_deref() == operation_name
        {
            return Ok(p);
        }
        let prepared = Arc::new(self.prepare_uncached(query, operation_name)?);
        self.cache.insert(key, prepared.clone());
        Ok(prepared)
    }

    #[allow(clippy::result_large_err)] // apollo-compiler's own error type
    fn prepare_uncached(
        &self,
        query: &str,
        operation_name: Option<&str>,
    ) -> Result<Prepared, GraphQLResponse> {
        let schema = self.supergraph.api_schema();
        let limits = self.config.limits;
        let mut parser = Parser::new()
            .token_limit(limits.max_tokens)
            .recursion_limit(limits.max_nesting);
        let document = parser
            .parse_executable(schema, query, "operation.graphql")
            .and_then(|doc| doc.validate(schema))
            .map_err(|e| GraphQLResponse {
                errors: e
                    .errors
                    .iter()
                    .take(20)
                    .map(|d| with_code(d.to_json(), ErrorCode::BadUserInput))
                    .collect(),
                data: None,
            })?;
        let operation = document.operations.get(operation_name).map_err(|_| {
            GraphQLResponse::request_error(
                match operation_name {
                    Some(n) => format!("the document has no operation named {n}"),
                    None => "the document has several operations: name one in operationName".into(),
                },
                ErrorCode::BadUserInput,
            )
        })?;
        let stats = Stats::of(&document, &operation.selection_set);
        let mutations = if operation.operation_type == OperationType::Mutation {
            root_fields(&document, &operation.selection_set, 0)
        } else {
            0
        };
        for (used, allowed, verb, noun) in [
            (stats.depth, limits.max_depth, "is", "levels deep"),
            (stats.aliases, limits.max_aliases, "uses", "aliases"),
            (stats.fields, limits.max_fields, "selects", "fields"),
            (mutations, limits.max_root_mutations, "runs", "mutations"),
        ] {
            if used > allowed {
                return Err(GraphQLResponse::request_error(
                    format!("the operation {verb} {used} {noun}; at most {allowed} are allowed"),
                    ErrorCode::BadUserInput,
                ));
            }
        }
        if stats.introspection {
            if !self.config.introspection {
                return Err(GraphQLResponse::request_error(
                    "introspection is disabled on this server",
                    ErrorCode::BadUserInput,
                ));
            }
            apollo_compiler::introspection::check_max_depth(&document, operation).map_err(|e| {
                GraphQLResponse {
                    errors: vec![with_code(
                        e.to_graphql_error(&document.sources),
                        ErrorCode::BadUserInput,
                    )],
                    data: None,
                }
            })?;
        }
        let plan = plan::plan(&self.supergraph, &document, operation).map_err(|e| {
            tracing::warn!(error = %e, "an operation could not be planned");
            GraphQLResponse::request_error(e.to_string(), ErrorCode::BadUserInput)
        })?;
        Ok(Prepared {
            query: query.to_string(),
            operation_name: operation_name.map(str::to_string),
            plan,
            document,
            mutations,
        })
    }

    /// Coerces the variables and checks the operation's complexity with them (list sizes
    /// often come from variables, so it is measured per request, not once per text).
    fn coerce(
        &self,
        prepared: &Prepared,
        variables: Option<&JsonMap>,
    ) -> Result<Valid<JsonMap>, GraphQLResponse> {
        let empty = JsonMap::new();
        let coerced = apollo_compiler::request::coerce_variable_values(
            self.supergraph.api_schema(),
            prepared.operation(),
            variables.unwrap_or(&empty),
        )
        .map_err(|e| GraphQLResponse {
            errors: vec![with_code(
                e.to_graphql_error(&prepared.document.sources),
                ErrorCode::BadUserInput,
            )],
            data: None,
        })?;
        let allowed = self.config.limits.max_complexity;
        let complexity = complexity(
            &prepared.document,
            &prepared.operation().selection_set,
            &coerced,
            None,
            0,
        );
        if complexity > allowed {
            return Err(GraphQLResponse::request_error(
                format!(
                    "the operation's complexity is {complexity}; at most {allowed} is allowed \
                     (a field counts once per item of the lists around it: ask for fewer items \
                     or split the operation)"
                ),
                ErrorCode::BadUserInput,
            ));
        }
        Ok(coerced)
    }

    /// Runs a query or mutation (a subscription is refused here: use [`Self::subscribe`]).
    pub async fn execute(
        &self,
        prepared: &Prepared,
        variables: Option<&JsonMap>,
        context: &Arc<RequestContext>,
    ) -> GraphQLResponse {
        if prepared.kind() == OperationType::Subscription {
            return GraphQLResponse::request_error(
                "subscriptions are served over WebSocket (graphql-transport-ws) at /graphql",
                ErrorCode::BadUserInput,
            );
        }
        let variables = match self.coerce(prepared, variables) {
            Ok(v) => v,
            Err(e) => return e,
        };
        let (data, errors) = self.executor.run(&prepared.plan, &variables, context).await;
        let shaped = shape::shape(
            &self.supergraph,
            &prepared.document,
            prepared.operation(),
            &variables,
            &data,
            errors,
            self.config.introspection,
        );
        GraphQLResponse {
            errors: shaped.errors,
            data: Some(shaped.data),
        }
    }

    /// Starts a subscription over `session`: every upstream event, completed through the
    /// other subgraphs and shaped, is one item. An upstream failure is the last item (an
    /// error response), so the client learns and can resubscribe.
    pub async fn subscribe(
        self: &Arc<Self>,
        prepared: Arc<Prepared>,
        variables: Option<&JsonMap>,
        session: &dyn SubscriptionSession,
        context: Arc<RequestContext>,
    ) -> Result<impl Stream<Item = SubscriptionEvent> + Send + 'static, GraphQLResponse> {
        if prepared.kind() != OperationType::Subscription {
            return Err(GraphQLResponse::request_error(
                "not a subscription",
                ErrorCode::BadUserInput,
            ));
        }
        let variables = self.coerce(&prepared, variables)?;
        let Some(stage) = prepared.plan.stages.first() else {
            return Err(GraphQLResponse::request_error(
                "a subscription needs one root field",
                ErrorCode::BadUserInput,
            ));
        };
        let Some(root) = stage.roots.first() else {
            return Err(GraphQLResponse::request_error(
                "a subscription needs one root field",
                ErrorCode::BadUserInput,
            ));
        };
        let upstream = session
            .subscribe(
                root.graph,
                SubgraphRequest {
                    query: Arc::from(root.query.as_str()),
                    variables: pick(&variables, &root.variables),
                    context: context.clone(),
                },
            )
            .await
            .map_err(|e| GraphQLResponse::request_error(e.to_string(), ErrorCode::Internal))?;
        let gateway = self.clone();
        let variables = Arc::new(variables);
        Ok(upstream.then(move |event| {
            let gateway = gateway.clone();
            let prepared = prepared.clone();
            let variables = variables.clone();
            let context = context.clone();
            async move {
                gateway
                    .complete(&prepared, &variables, event, &context)
                    .await
            }
        }))
    }

    async fn complete(
        &self,
        prepared: &Prepared,
        variables: &Valid<JsonMap>,
        event: Result<crate::execute::SubgraphResponse, TransportError>,
        context: &Arc<RequestContext>,
    ) -> SubscriptionEvent {
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                return SubscriptionEvent::Failed(GraphQLResponse::request_error(
                    e.to_string(),
                    ErrorCode::Internal,
                ));
            }
        };
        if event.data.is_none() {
            // The subgraph refused the operation (a graphql-transport-ws `error`).
            return SubscriptionEvent::Failed(GraphQLResponse {
                errors: event.errors,
                data: None,
            });
        }
        let Some(stage) = prepared.plan.stages.first() else {
            return SubscriptionEvent::Failed(GraphQLResponse::default());
        };
        let (data, errors) = self
            .executor
            .complete_event(stage, event, variables, context)
            .await;
        let shaped = shape::shape(
            &self.supergraph,
            &prepared.document,
            prepared.operation(),
            variables,
            &data,
            errors,
            self.config.introspection,
        );
        SubscriptionEvent::Next(GraphQLResponse {
            errors: shaped.errors,
            data: Some(shaped.data),
        })
    }

    /// The executor's transport (to open subscription sessions).
    pub fn transport(&self) -> &Arc<dyn SubgraphTransport> {
        self.executor.transport()
    }
}

/// One item of a subscription.
#[derive(Debug)]
pub enum SubscriptionEvent {
    /// An event.
    Next(GraphQLResponse),
    /// The subscription ended with these errors.
    Failed(GraphQLResponse),
}

fn pick(variables: &JsonMap, names: &[Name]) -> JsonMap {
    names
        .iter()
        .filter_map(|n| {
            variables
                .get(n.as_str())
                .map(|v| (n.as_str().into(), v.clone()))
        })
        .collect()
}

/// A GraphQL error object with a code and no path.
pub fn error_json(message: &str, code: ErrorCode) -> JsonValue {
    let mut ext = JsonMap::new();
    ext.insert("code", JsonValue::String(code.as_str().into()));
    let mut e = JsonMap::new();
    e.insert("message", JsonValue::String(message.into()));
    e.insert("extensions", JsonValue::Object(ext));
    JsonValue::Object(e)
}

fn with_code(e: GraphQLError, code: ErrorCode) -> JsonValue {
    shape::gateway_error(e, code)
}

/// Depth, alias and field counts of an operation, fragments expanded (each fragment is
/// measured once and reused, so a fragment spread many times costs no extra time).
#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    depth: usize,
    aliases: usize,
    fields: usize,
    introspection: bool,
}

impl Stats {
    fn of(doc: &ExecutableDocument, set: &SelectionSet) -> Self {
        let mut memo = HashMap::new();
        let mut s = measure(doc, set, &mut memo, 0);
        s.introspection = has_introspection(doc, set, &mut Vec::new());
        s
    }
}

fn measure(
    doc: &ExecutableDocument,
    set: &SelectionSet,
    memo: &mut HashMap<Name, Stats>,
    guard: usize,
) -> Stats {
    let mut total = Stats::default();
    if guard > 256 {
        return total; // validation rejects fragment cycles; this is only a backstop
    }
    for sel in &set.selections {
        let s = match sel {
            Selection::Field(f) => {
                let inner = measure(doc, &f.selection_set, memo, guard + 1);
                Stats {
                    depth: inner.depth + 1,
                    aliases: inner.aliases + usize::from(f.alias.is_some()),
                    fields: inner.fields + 1,
                    introspection: false,
                }
            }
            Selection::InlineFragment(fr) => measure(doc, &fr.selection_set, memo, guard + 1),
            Selection::FragmentSpread(sp) => {
                if let Some(s) = memo.get(&sp.fragment_name) {
                    *s
                } else if let Some(fragment) = doc.fragments.get(&sp.fragment_name) {
                    let s = measure(doc, &fragment.selection_set, memo, guard + 1);
                    memo.insert(sp.fragment_name.clone(), s);
                    s
                } else {
                    Stats::default()
                }
            }
        };
        total.depth = total.depth.max(s.depth);
        total.aliases = total.aliases.saturating_add(s.aliases);
        total.fields = total.fields.saturating_add(s.fields);
    }
    total
}

/// Root fields of a selection set, through fragments (what a mutation runs, one act each).
fn root_fields(doc: &ExecutableDocument, set: &SelectionSet, guard: usize) -> usize {
    if guard > 64 {
        return 0;
    }
    set.selections
        .iter()
        .map(|sel| match sel {
            Selection::Field(f) => usize::from(f.name.as_str() != "__typename"),
            Selection::InlineFragment(fr) => root_fields(doc, &fr.selection_set, guard + 1),
            Selection::FragmentSpread(sp) => doc
                .fragments
                .get(&sp.fragment_name)
                .map_or(0, |f| root_fields(doc, &f.selection_set, guard + 1)),
        })
        .sum()
}

/// Items a list field without a size argument is counted as.
const DEFAULT_LIST_SIZE: u64 = 10;

/// The arguments that say how many items a list holds.
const SIZE_ARGUMENTS: [&str; 4] = ["first", "last", "limit", "depth"];

/// The operation's complexity: each field counts once per item of the lists around it. A
/// list field counts as many items as its own size argument asks for; an object field's
/// size argument (a connection's `first`, `orderBook(depth:)`) sizes the lists directly
/// inside it; any other list counts as [`DEFAULT_LIST_SIZE`]. Saturating, so a hostile
/// operation cannot overflow its way under the limit.
fn complexity(
    doc: &ExecutableDocument,
    set: &SelectionSet,
    variables: &JsonMap,
    inherited: Option<u64>,
    guard: usize,
) -> u64 {
    if guard > 64 {
        return u64::MAX; // validation and the depth limit stop this long before
    }
    set.selections.iter().fold(0u64, |total, sel| {
        let cost = match sel {
            // Introspection has its own bound (apollo-compiler's depth check), and the
            // standard introspection query must pass whatever this limit is.
            Selection::Field(f) if f.name.as_str().starts_with("__") => 1,
            Selection::Field(f) => {
                let own = size_argument(f, variables);
                let is_list = f.definition.ty.is_list();
                let items = if is_list {
                    own.or(inherited).unwrap_or(DEFAULT_LIST_SIZE)
                } else {
                    1
                };
                let pass_on = if is_list { None } else { own };
                let inner = complexity(doc, &f.selection_set, variables, pass_on, guard + 1);
                1u64.saturating_add(items.saturating_mul(inner))
            }
            Selection::InlineFragment(fr) => {
                complexity(doc, &fr.selection_set, variables, inherited, guard + 1)
            }
            Selection::FragmentSpread(sp) => doc.fragments.get(&sp.fragment_name).map_or(0, |fr| {
                complexity(doc, &fr.selection_set, variables, inherited, guard + 1)
            }),
        };
        total.saturating_add(cost)
    })
}

/// The value of a field's size argument (given, from a variable, or the schema's default).
fn size_argument(field: &apollo_compiler::executable::Field, variables: &JsonMap) -> Option<u64> {
    use apollo_compiler::ast::Value;
    SIZE_ARGUMENTS.iter().find_map(|name| {
        let given = field
            .arguments
            .iter()
            .find(|a| a.name.as_str() == *name)
            .map(|a| a.value.clone());
        let value = given.or_else(|| {
            field
                .definition
                .arguments
                .iter()
                .find(|a| a.name.as_str() == *name)
                .and_then(|a| a.default_value.clone())
        })?;
        match value.as_ref() {
            Value::Int(i) => i.try_to_i32().ok().and_then(|v| u64::try_from(v).ok()),
            Value::Variable(var) => variables
                .get(var.as_str())
                .and_then(JsonValue::as_i64)
                .and_then(|v| u64::try_from(v).ok()),
            _ => None,
        }
    })
}

fn has_introspection(doc: &ExecutableDocument, set: &SelectionSet, seen: &mut Vec<Name>) -> bool {
    set.selections.iter().any(|sel| match sel {
        Selection::Field(f) => matches!(f.name.as_str(), "__schema" | "__type"),
        Selection::InlineFragment(fr) => has_introspection(doc, &fr.selection_set, seen),
        Selection::FragmentSpread(sp) => {
            if seen.contains(&sp.fragment_name) {
                return false;
            }
            seen.push(sp.fragment_name.clone());
            doc.fragments
                .get(&sp.fragment_name)
                .is_some_and(|f| has_introspection(doc, &f.selection_set, seen))
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::{
        compose::{SubgraphSource, compose},
        execute::local::LocalTransport,
    };

    fn gateway(limits: Limits) -> Gateway {
        let sdl = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
            type Query { node: Node }
            type Node @key(fields: "id") { id: ID! next: Node name: String }"#;
        let sg = compose(&[SubgraphSource {
            name: "a".into(),
            url: "http://a".into(),
            sdl: sdl.into(),
        }])
        .unwrap();
        Gateway::new(
            Arc::new(sg),
            Arc::new(LocalTransport::new(Vec::new())),
            GatewayConfig {
                limits,
                ..GatewayConfig::default()
            },
        )
    }

    fn refusal(g: &Gateway, query: &str) -> String {
        match g.prepare(query, None) {
            Ok(_) => panic!("{query} was accepted"),
            Err(e) => {
                assert!(e.is_request_error());
                assert!(e.codes().all(|c| c == "BAD_USER_INPUT"));
                assert!(!e.errors.is_empty());
                e.errors[0]["message"].as_str().unwrap().to_string()
            }
        }
    }

    #[test]
    fn a_prepared_operation_is_reused_for_the_same_text_and_name() {
        let g = gateway(Limits::default());
        let a = g.prepare("{ node { id } }", None).unwrap();
        let b = g.prepare("{ node { id } }", None).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let c = g.prepare("query Q { node { id } }", Some("Q")).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
    }

    #[test]
    fn depth_aliases_and_field_counts_are_limited_through_fragments() {
        let g = gateway(Limits {
            max_depth: 4,
            max_aliases: 2,
            max_fields: 20,
            ..Limits::default()
        });
        assert!(g.prepare("{ node { next { next { id } } } }", None).is_ok());
        let m = refusal(&g, "{ node { next { next { next { id } } } } }");
        assert!(m.contains("5 levels deep"), "{m}");
        let m = refusal(
            &g,
            "{ node { ...F } } fragment F on Node { next { next { next { id } } } }",
        );
        assert!(m.contains("levels deep"), "{m}");
        let m = refusal(&g, "{ a: node { id } b: node { id } c: node { id } }");
        assert!(m.contains("3 aliases"), "{m}");
        // A fragment spread many times is counted each time it is used (and measured once).
        let m = refusal(
            &g,
            "{ node { ...F ...F ...F ...F ...F ...F } } fragment F on Node { id name next { id name } }",
        );
        assert!(m.contains("fields"), "{m}");
    }

    #[test]
    fn syntax_validation_and_operation_choice_errors_are_bad_input() {
        let g = gateway(Limits::default());
        refusal(&g, "{ node { ");
        refusal(&g, "{ nope }");
        let m = match g.prepare("query A { node { id } } query B { node { id } }", None) {
            Err(e) => e.errors[0]["message"].as_str().unwrap().to_string(),
            Ok(_) => panic!("accepted"),
        };
        assert!(m.contains("operationName"), "{m}");
        assert!(
            g.prepare("query A { node { id } } query B { node { id } }", Some("B"))
                .is_ok()
        );
    }

    #[test]
    fn introspection_can_be_switched_off() {
        let mut g = gateway(Limits::default());
        assert!(g.prepare("{ __schema { types { name } } }", None).is_ok());
        g.config.introspection = false;
        let m = refusal(&g, "{ __type(name: \"Node\") { name } }");
        assert!(m.contains("introspection is disabled"), "{m}");
        assert!(g.prepare("{ __typename node { id } }", None).is_ok());
    }
}
