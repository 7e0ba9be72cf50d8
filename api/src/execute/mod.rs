//! Execution of a [`QueryPlan`]: fetches through a [`SubgraphTransport`], merging every
//! answer into one JSON tree that [`shape`] then turns into the client's response.
//!
//! Entity hops collect their representations from the merged data at the hop's path,
//! de-duplicate them, and send one request per subgraph and level. Each `_entities` result is
//! merged back at every place its representation came from, and each `_entities` error is
//! re-pathed to every one of those places (a client never sees `_entities.N`). A subgraph that
//! fails outright becomes an error at each client path it was to fill, whose fields then
//! read as null.

pub mod local;
pub mod remote;
pub mod shape;
pub mod transport;

use std::{collections::HashMap, sync::Arc, time::Instant};

use apollo_compiler::response::{JsonMap, JsonValue};
use common::ErrorCode;
use futures_util::future::join_all;
use tracing::Instrument;

pub use transport::{
    EventStream, RequestContext, SubgraphRequest, SubgraphResponse, SubgraphTransport,
    SubscriptionSession, TransportError,
};

use crate::{
    compose::{GraphId, Supergraph},
    plan::{EntityHop, EntityRequest, KeyPart, QueryPlan, RootFetch, Segment, Stage},
};

/// A step into the merged data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Step {
    Key(String),
    Index(usize),
}

/// Runs plans against one transport.
pub struct Executor {
    supergraph: Arc<Supergraph>,
    transport: Arc<dyn SubgraphTransport>,
}

impl Executor {
    /// An executor for this supergraph.
    pub fn new(supergraph: Arc<Supergraph>, transport: Arc<dyn SubgraphTransport>) -> Self {
        Self {
            supergraph,
            transport,
        }
    }

    /// The transport (subscriptions open sessions on it).
    pub fn transport(&self) -> &Arc<dyn SubgraphTransport> {
        &self.transport
    }

    /// Runs a query or mutation plan; returns the merged data and subgraph errors.
    pub async fn run(
        &self,
        plan: &QueryPlan,
        variables: &JsonMap,
        context: &Arc<RequestContext>,
    ) -> (JsonValue, Vec<JsonValue>) {
        let mut data = JsonValue::Object(JsonMap::new());
        let mut errors = Vec::new();
        for stage in &plan.stages {
            self.run_roots(stage, variables, context, &mut data, &mut errors)
                .await;
            self.run_levels(&stage.levels, variables, context, &mut data, &mut errors)
                .await;
        }
        (data, errors)
    }

    /// Completes one subscription event: the event is the root fetch's answer; the hops
    /// below it run as for a query.
    pub async fn complete_event(
        &self,
        stage: &Stage,
        event: SubgraphResponse,
        variables: &JsonMap,
        context: &Arc<RequestContext>,
    ) -> (JsonValue, Vec<JsonValue>) {
        let mut data = JsonValue::Object(JsonMap::new());
        let mut errors: Vec<JsonValue> = event.errors.into_iter().map(strip_locations).collect();
        if let Some(d) = event.data {
            merge(&mut data, d);
        }
        self.run_levels(&stage.levels, variables, context, &mut data, &mut errors)
            .await;
        (data, errors)
    }

    async fn run_roots(
        &self,
        stage: &Stage,
        variables: &JsonMap,
        context: &Arc<RequestContext>,
        data: &mut JsonValue,
        errors: &mut Vec<JsonValue>,
    ) {
        let fetches = stage.roots.iter().map(|root| {
            self.fetch(
                root.graph,
                &root.query,
                pick(variables, &root.variables),
                context,
            )
        });
        for (root, result) in stage.roots.iter().zip(join_all(fetches).await) {
            match result {
                Ok(response) => {
                    if let Some(d) = response.data {
                        merge(data, d);
                    }
                    errors.extend(response.errors.into_iter().map(strip_locations));
                }
                Err(e) => errors.extend(root_failure(root, &e)),
            }
        }
    }

    async fn run_levels(
        &self,
        levels: &[Vec<EntityRequest>],
        variables: &JsonMap,
        context: &Arc<RequestContext>,
        data: &mut JsonValue,
        errors: &mut Vec<JsonValue>,
    ) {
        for level in levels {
            let batches: Vec<Vec<HopReps>> = level
                .iter()
                .map(|req| {
                    req.hops
                        .iter()
                        .map(|hop| HopReps::collect(data, hop))
                        .collect()
                })
                .collect();
            let fetches = level.iter().zip(&batches).map(|(req, hops)| async move {
                if hops.iter().all(|h| h.reps.is_empty()) {
                    return None;
                }
                let mut vars = pick(variables, &req.variables);
                for (i, h) in hops.iter().enumerate() {
                    vars.insert(
                        format!("{}{i}", req.rep_prefix).as_str(),
                        JsonValue::Array(h.reps.clone()),
                    );
                }
                Some(self.fetch(req.graph, &req.query, vars, context).await)
            });
            let results = join_all(fetches).await;
            for ((req, hops), result) in level.iter().zip(batches).zip(results) {
                match result {
                    None => {}
                    Some(Ok(response)) => apply_entities(req, &hops, response, data, errors),
                    Some(Err(e)) => {
                        for h in &hops {
                            for loc in &h.locations {
                                errors.push(error_at(&e.to_string(), ErrorCode::Internal, loc));
                            }
                        }
                    }
                }
            }
        }
    }

    async fn fetch(
        &self,
        graph: GraphId,
        query: &str,
        variables: JsonMap,
        context: &Arc<RequestContext>,
    ) -> Result<SubgraphResponse, TransportError> {
        let name = self.supergraph.graphs()[graph].name.clone();
        let started = Instant::now();
        let result = self
            .transport
            .fetch(
                graph,
                SubgraphRequest {
                    query: Arc::from(query),
                    variables,
                    context: context.clone(),
                },
            )
            .instrument(tracing::debug_span!("subgraph_fetch", subgraph = %name))
            .await;
        metrics::histogram!("rialto_subgraph_fetch_duration_seconds", "subgraph" => name.clone())
            .record(started.elapsed().as_secs_f64());
        metrics::counter!("rialto_subgraph_fetches_total", "subgraph" => name.clone()).increment(1);
        match &result {
            Err(e) => {
                tracing::warn!(subgraph = name, error = %e, "subgraph fetch failed");
                metrics::counter!("rialto_subgraph_fetch_errors_total", "subgraph" => name, "kind" => "transport")
                    .increment(1);
            }
            Ok(r) if !r.errors.is_empty() => {
                metrics::counter!("rialto_subgraph_fetch_errors_total", "subgraph" => name, "kind" => "graphql")
                    .increment(r.errors.len() as u64);
            }
            Ok(_) => {}
        }
        result
    }
}

/// The representations of one hop and where each came from.
struct HopReps {
    locations: Vec<Vec<Step>>,
    rep_of: Vec<usize>,
    reps: Vec<JsonValue>,
}

impl HopReps {
    fn collect(data: &JsonValue, hop: &EntityHop) -> Self {
        let mut found = Vec::new();
        locate(data, &hop.path, &mut Vec::new(), &mut found);
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut out = HopReps {
            locations: Vec::new(),
            rep_of: Vec::new(),
            reps: Vec::new(),
        };
        for loc in found {
            let Some(obj) = get(data, &loc).and_then(JsonValue::as_object) else {
                continue;
            };
            let Some(mut rep) = representation(obj, &hop.key) else {
                continue; // a key field is null: nothing to resolve it by
            };
            rep.insert(
                "__typename",
                JsonValue::String(hop.type_name.as_str().into()),
            );
            let rep = JsonValue::Object(rep);
            let text = serde_json::to_string(&rep).unwrap_or_default();
            let next = out.reps.len();
            let i = *index.entry(text).or_insert(next);
            if i == next {
                out.reps.push(rep);
            }
            out.locations.push(loc);
            out.rep_of.push(i);
        }
        out
    }
}

fn representation(obj: &JsonMap, key: &[KeyPart]) -> Option<JsonMap> {
    let mut rep = JsonMap::new();
    for part in key {
        let v = obj.get(part.response_key.as_str())?;
        if v.is_null() {
            return None;
        }
        let v = if part.sub.is_empty() {
            v.clone()
        } else {
            JsonValue::Object(representation(v.as_object()?, &part.sub)?)
        };
        rep.insert(part.name.as_str(), v);
    }
    Some(rep)
}

/// Every object at `path` (lists flattened, casts filtered by `__typename`).
fn locate(value: &JsonValue, path: &[Segment], at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match path.first() {
        None => {
            if value.is_object() {
                out.push(at.clone());
            }
        }
        Some(Segment::Key(k)) => {
            if let Some(v) = value.as_object().and_then(|o| o.get(k.as_str())) {
                at.push(Step::Key(k.clone()));
                locate(v, &path[1..], at, out);
                at.pop();
            }
        }
        Some(Segment::List) => {
            if let Some(items) = value.as_array() {
                for (i, v) in items.iter().enumerate() {
                    at.push(Step::Index(i));
                    locate(v, &path[1..], at, out);
                    at.pop();
                }
            }
        }
        Some(Segment::Cast(types)) => {
            let matches = value
                .get("__typename")
                .and_then(JsonValue::as_str)
                .is_some_and(|t| types.iter().any(|x| x.as_str() == t));
            if matches {
                locate(value, &path[1..], at, out);
            }
        }
    }
}

fn get<'a>(value: &'a JsonValue, path: &[Step]) -> Option<&'a JsonValue> {
    path.iter().try_fold(value, |v, step| match step {
        Step::Key(k) => v.as_object()?.get(k.as_str()),
        Step::Index(i) => v.as_array()?.get(*i),
    })
}

fn get_mut<'a>(value: &'a mut JsonValue, path: &[Step]) -> Option<&'a mut JsonValue> {
    path.iter().try_fold(value, |v, step| match step {
        Step::Key(k) => v.as_object_mut()?.get_mut(k.as_str()),
        Step::Index(i) => v.as_array_mut()?.get_mut(*i),
    })
}

/// Deep-merges `from` into `into`: objects field by field, equal-length lists item by item.
fn merge(into: &mut JsonValue, from: JsonValue) {
    match (into, from) {
        (JsonValue::Object(a), JsonValue::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k.as_str()) {
                    Some(existing) => merge(existing, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (JsonValue::Array(a), JsonValue::Array(b)) if a.len() == b.len() => {
            for (x, y) in a.iter_mut().zip(b) {
                merge(x, y);
            }
        }
        (into @ JsonValue::Null, from) => *into = from,
        (_, _) => {}
    }
}

fn apply_entities(
    req: &EntityRequest,
    hops: &[HopReps],
    response: SubgraphResponse,
    data: &mut JsonValue,
    errors: &mut Vec<JsonValue>,
) {
    let mut results = response
        .data
        .and_then(|d| match d {
            JsonValue::Object(o) => Some(o),
            _ => None,
        })
        .unwrap_or_default();
    for (i, h) in hops.iter().enumerate() {
        let Some(JsonValue::Array(entities)) = results.remove(format!("_e{i}").as_str()) else {
            continue;
        };
        for (loc, &rep) in h.locations.iter().zip(&h.rep_of) {
            let Some(entity) = entities.get(rep) else {
                continue;
            };
            if entity.is_null() {
                continue;
            }
            if let Some(target) = get_mut(data, loc) {
                merge(target, entity.clone());
            }
        }
    }
    for e in response.errors {
        errors.extend(repath_entity_error(req, hops, e));
    }
}

/// `["_e1", 3, "balances"]` → the client path of every place representation 3 of hop 1
/// came from, followed by `["balances"]`.
fn repath_entity_error(req: &EntityRequest, hops: &[HopReps], error: JsonValue) -> Vec<JsonValue> {
    let error = strip_locations(error);
    let path = error
        .get("path")
        .and_then(JsonValue::as_array)
        .cloned()
        .unwrap_or_default();
    let hop = path
        .first()
        .and_then(JsonValue::as_str)
        .and_then(|s| s.strip_prefix("_e"))
        .and_then(|n| n.parse::<usize>().ok());
    let places: Vec<(&Vec<Step>, usize)> = match hop.and_then(|h| hops.get(h)) {
        Some(h) => {
            let rep = path.get(1).and_then(JsonValue::as_u64).map(|r| r as usize);
            h.locations
                .iter()
                .zip(&h.rep_of)
                .filter(|(_, r)| rep.is_none_or(|want| **r == want))
                .map(|(l, _)| (l, if rep.is_some() { 2 } else { 1 }))
                .collect()
        }
        // No usable path: the error concerns every entity of the request.
        None => hops
            .iter()
            .flat_map(|h| h.locations.iter().map(|l| (l, path.len())))
            .collect(),
    };
    let _ = req;
    places
        .into_iter()
        .map(|(loc, skip)| {
            let mut e = error.clone();
            let mut new_path: Vec<JsonValue> = loc.iter().map(step_json).collect();
            new_path.extend(path.iter().skip(skip).cloned());
            if let Some(obj) = e.as_object_mut() {
                obj.insert("path", JsonValue::Array(new_path));
            }
            e
        })
        .collect()
}

fn step_json(step: &Step) -> JsonValue {
    match step {
        Step::Key(k) => JsonValue::String(k.as_str().into()),
        Step::Index(i) => JsonValue::from(*i as u64),
    }
}

/// Subgraph error locations point into the subgraph's query, which the client never saw.
fn strip_locations(mut error: JsonValue) -> JsonValue {
    if let Some(obj) = error.as_object_mut() {
        obj.remove("locations");
    }
    error
}

fn error_at(message: &str, code: ErrorCode, path: &[Step]) -> JsonValue {
    let mut e = crate::gateway::error_json(message, code);
    if let Some(obj) = e.as_object_mut() {
        obj.insert(
            "path",
            JsonValue::Array(path.iter().map(step_json).collect()),
        );
    }
    e
}

fn root_failure(root: &RootFetch, e: &TransportError) -> Vec<JsonValue> {
    root.fields
        .iter()
        .map(|f| error_at(&e.to_string(), ErrorCode::Internal, &[Step::Key(f.clone())]))
        .collect()
}

/// The variables a fetch uses, and no others.
fn pick(variables: &JsonMap, names: &[apollo_compiler::Name]) -> JsonMap {
    let mut out = JsonMap::with_capacity(names.len());
    for n in names {
        if let Some(v) = variables.get(n.as_str()) {
            out.insert(n.as_str(), v.clone());
        }
    }
    out
}
