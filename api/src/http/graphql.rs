//! GraphQL over HTTP and over WebSocket (`graphql-transport-ws`) at `/graphql`.
//!
//! POST takes `application/json` bodies only (a form or multipart post is a CSRF vector and
//! is refused with 415); a JSON array is a batch of at most `--max-batch` operations. GET
//! runs queries from the URL (`?query=…&variables=…`), never mutations, and serves GraphiQL
//! to a browser that asks for none. The response type follows the GraphQL-over-HTTP spec: a
//! client that accepts `application/graphql-response+json` gets it (and 4xx for requests
//! that could not execute); any other client gets `application/json` with 200. Every error
//! carries an `extensions.code`; an `INTERNAL` one also carries the request id to quote.

use std::{collections::HashSet, net::SocketAddr, sync::Arc, sync::Mutex, time::Instant};

use apollo_compiler::{
    ast::OperationType,
    response::{JsonMap, JsonValue},
};
use async_graphql::{
    ErrorExtensions, ServerError,
    http::{ALL_WEBSOCKET_PROTOCOLS, WebSocketProtocols},
};
use axum::{
    body::{Body, Bytes},
    extract::{ConnectInfo, FromRequestParts, Request, State, WebSocketUpgrade},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use common::{ErrorCode, context::CONTEXT_HEADER};

use super::{AppState, Endpoint, Subgraph, sockets};
use crate::{
    edge,
    execute::RequestContext,
    gateway::{Gateway, GraphQLRequest, GraphQLResponse, error_json},
};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const APPLICATION_JSON: &str = "application/json";

/// `GET /graphql`: the WebSocket endpoint for an upgrade request, a query from the URL,
/// or GraphiQL for a browser.
pub async fn get(State(state): State<AppState>, req: Request) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    if is_websocket_upgrade(req.headers()) {
        return upgrade(state, req, peer).await;
    }
    let params = req.uri().query().map(parse_query_string);
    let Some(params) = params.filter(|p| p.iter().any(|(k, _)| k == "query")) else {
        if state.http.disable_graphiql {
            return (StatusCode::NOT_FOUND, "GraphiQL is disabled on this server").into_response();
        }
        return super::graphiql::page();
    };
    let headers = req.headers().clone();
    let media = negotiate(&headers);
    let Endpoint::Gateway(gateway) = &state.endpoint else {
        return request_error(StatusCode::METHOD_NOT_ALLOWED, "use POST", media);
    };
    let mut request = GraphQLRequest::default();
    for (k, v) in params {
        match k.as_str() {
            "query" => request.query = v,
            "operationName" if !v.is_empty() => request.operation_name = Some(v),
            "variables" if !v.is_empty() => match serde_json::from_str::<JsonMap>(&v) {
                Ok(vars) => request.variables = Some(vars),
                Err(_) => {
                    return request_error(
                        StatusCode::BAD_REQUEST,
                        "`variables` must be a JSON object",
                        media,
                    );
                }
            },
            "extensions" if !v.is_empty() && serde_json::from_str::<JsonMap>(&v).is_err() => {
                return request_error(
                    StatusCode::BAD_REQUEST,
                    "`extensions` must be a JSON object",
                    media,
                );
            }
            _ => {}
        }
    }
    // GET may only read: a mutation over GET is refused before it runs (405, per spec).
    if let Ok(prepared) = gateway.prepare(&request.query, request.operation_name.as_deref())
        && prepared.kind() != OperationType::Query
    {
        let mut resp = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "only queries may be sent with GET; use POST",
            media,
        );
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return resp;
    }
    run_gateway(&state, gateway, &headers, peer, vec![request], false, media).await
}

async fn upgrade(state: AppState, req: Request, peer: Option<SocketAddr>) -> Response {
    let (mut parts, _) = req.into_parts();
    // The first sub-protocol we speak among those offered (graphql-transport-ws, graphql-ws).
    let protocol = parts
        .headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|p| p.trim().parse::<WebSocketProtocols>().ok())
        });
    let Some(protocol) = protocol else {
        return (
            StatusCode::BAD_REQUEST,
            "offer the graphql-transport-ws sub-protocol",
        )
            .into_response();
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        // A message over the limit fails the read, and the socket closes with 1009. The
        // read buffer starts small (tungstenite allocates 128 KiB per socket up front by
        // default, most of what an idle subscribed socket cost) and grows for a large message.
        Ok(u) => u
            .max_message_size(state.http.sockets.max_message_bytes)
            .max_frame_size(state.http.sockets.max_message_bytes)
            .read_buffer_size(sockets::READ_BUFFER_BYTES)
            .write_buffer_size(0),
        Err(e) => return e.into_response(),
    };
    let meta = edge::request_meta(&parts.headers, peer, &state.http.trust_forwarded_for);
    let traceparent = edge::traceparent(&parts.headers);
    let drain = state.drain.clone();
    match state.endpoint.clone() {
        Endpoint::Gateway(gateway) => {
            if protocol != WebSocketProtocols::GraphQLWS {
                return (
                    StatusCode::BAD_REQUEST,
                    "the gateway speaks graphql-transport-ws",
                )
                    .into_response();
            }
            upgrade
                .protocols(["graphql-transport-ws"])
                .on_upgrade(move |socket| {
                    drain.track(crate::ws_proxy::serve(
                        socket,
                        gateway,
                        state,
                        meta,
                        traceparent,
                    ))
                })
                .into_response()
        }
        Endpoint::Subgraph(_) => upgrade
            .protocols(ALL_WEBSOCKET_PROTOCOLS)
            .on_upgrade(move |socket| drain.track(super::ws::serve(socket, state, protocol, meta)))
            .into_response(),
    }
}

fn parse_query_string(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = (b[i] == b'%' && i + 2 < b.len())
            .then(|| std::str::from_utf8(&b[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (_, Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (other, None) => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// `POST /graphql`.
pub async fn post(State(state): State<AppState>, req: Request) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let media = negotiate(&headers);

    if !is_json(&headers) {
        return request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as Content-Type: application/json",
            media,
        );
    }
    let bytes = match axum::body::to_bytes(body, state.http.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return request_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large",
                media,
            );
        }
    };
    match state.endpoint.clone() {
        Endpoint::Gateway(gateway) => {
            let (requests, batch) = match parse_requests(&bytes, state.http.max_batch) {
                Ok(r) => r,
                Err(message) => return request_error(StatusCode::BAD_REQUEST, &message, media),
            };
            run_gateway(&state, &gateway, &headers, peer, requests, batch, media).await
        }
        Endpoint::Subgraph(subgraph) => {
            let request = match parse_subgraph_request(&bytes) {
                Ok(r) => r,
                Err(message) => return request_error(StatusCode::BAD_REQUEST, &message, media),
            };
            run_subgraph(&state, &subgraph, &headers, peer, request, media).await
        }
    }
}

/// A single operation or a batch (`[...]`, at most `max_batch`).
fn parse_requests(bytes: &Bytes, max_batch: usize) -> Result<(Vec<GraphQLRequest>, bool), String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("malformed JSON body: {e}"))?;
    let one = |v: serde_json::Value| -> Result<GraphQLRequest, String> {
        if !v.get("query").is_some_and(serde_json::Value::is_string) {
            return Err("each operation must be an object with a string `query`".into());
        }
        serde_json::from_value(v).map_err(|e| format!("invalid GraphQL request: {e}"))
    };
    match value {
        serde_json::Value::Array(items) => {
            if items.is_empty() {
                return Err("an empty batch".into());
            }
            if items.len() > max_batch {
                return Err(format!(
                    "a batch of {} operations; at most {max_batch} are allowed",
                    items.len()
                ));
            }
            Ok((items.into_iter().map(one).collect::<Result<_, _>>()?, true))
        }
        v => Ok((vec![one(v)?], false)),
    }
}

fn parse_subgraph_request(bytes: &Bytes) -> Result<async_graphql::Request, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("malformed JSON body: {e}"))?;
    if value.is_array() {
        return Err("batched requests are not supported; send one operation per request".into());
    }
    if !value.get("query").is_some_and(serde_json::Value::is_string) {
        return Err("the body must be an object with a string `query`".into());
    }
    serde_json::from_value(value).map_err(|e| format!("invalid GraphQL request: {e}"))
}

/// Over the limit: 429 with `Retry-After` and a `RATE_LIMITED` error.
fn too_many(wait: std::time::Duration, media: &'static str) -> Response {
    let secs = wait.as_secs().max(1);
    metrics::counter!("rialto_graphql_errors_total", "code" => ErrorCode::RateLimited.as_str())
        .increment(1);
    let mut err = error_json(
        &format!("too many requests; retry in {secs} s"),
        ErrorCode::RateLimited,
    );
    if let Some(ext) = err.get_mut("extensions").and_then(JsonValue::as_object_mut) {
        ext.insert("retryAfter", JsonValue::from(secs));
    }
    let body = GraphQLResponse {
        errors: vec![err],
        data: None,
    };
    let mut resp = json_response(&body, media, StatusCode::TOO_MANY_REQUESTS);
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    resp
}

async fn run_gateway(
    state: &AppState,
    gateway: &Arc<Gateway>,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    requests: Vec<GraphQLRequest>,
    batch: bool,
    media: &'static str,
) -> Response {
    let meta = edge::request_meta(headers, peer, &state.http.trust_forwarded_for);
    let request_id = meta.request_id.clone();
    // The address's budget first: a flood of made-up credentials stops here, before any of
    // them costs a check.
    if let Err(wait) = state.limiter.admit(&meta, requests.len()) {
        return too_many(wait, media);
    }
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if headers.contains_key(CONTEXT_HEADER) {
        // Only a gateway makes contexts; one from a client is ignored, never forwarded.
        tracing::warn!("a client sent a subgraph context header; ignored");
    }
    if state.authenticator.needs_lookup(authorization)
        && let Err(wait) = state.limiter.lookup(&meta)
    {
        return too_many(wait, media);
    }
    let caller = match state.authenticator.authenticate(authorization).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "authenticating a request");
            let mut body = GraphQLResponse::request_error("internal error", ErrorCode::Internal);
            finish(&mut body, request_id.as_deref());
            return json_response(&body, media, StatusCode::SERVICE_UNAVAILABLE);
        }
    };
    // What the request really does: one per operation, one per root mutation field.
    let prepared: Vec<_> = requests
        .iter()
        .map(|r| gateway.prepare(&r.query, r.operation_name.as_deref()))
        .collect();
    let cost = prepared
        .iter()
        .map(|p| p.as_ref().map_or(1, |p| p.cost()))
        .sum();
    if let Err(wait) = state.limiter.charge(&caller, &meta, cost) {
        return too_many(wait, media);
    }
    let context = Arc::new(RequestContext::new(
        caller,
        meta,
        edge::traceparent(headers),
    ));
    let runs = requests
        .iter()
        .zip(prepared)
        .map(|(r, p)| run_one(gateway, r, p, &context));
    let mut responses = futures_util::future::join_all(runs).await;
    for r in &mut responses {
        finish(r, request_id.as_deref());
    }
    if batch {
        return json_response(&responses, media, StatusCode::OK);
    }
    let Some(response) = responses.pop() else {
        return request_error(StatusCode::BAD_REQUEST, "no operation", media);
    };
    let status = if response.is_request_error() && media == GRAPHQL_RESPONSE_JSON {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    json_response(&response, media, status)
}

async fn run_one(
    gateway: &Gateway,
    request: &GraphQLRequest,
    prepared: Result<Arc<crate::gateway::Prepared>, GraphQLResponse>,
    context: &Arc<RequestContext>,
) -> GraphQLResponse {
    let started = Instant::now();
    let (label, response) = match prepared {
        Ok(prepared) => (
            operation_label(prepared.name()),
            gateway
                .execute(&prepared, request.variables.as_ref(), context)
                .await,
        ),
        Err(e) => (operation_label(request.operation_name.as_deref()), e),
    };
    metrics::histogram!("rialto_graphql_request_duration_seconds", "operation" => label.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("rialto_graphql_requests_total", "operation" => label).increment(1);
    response
}

/// Every error gets a code; `INTERNAL` ones the request id; each is counted.
fn finish(response: &mut GraphQLResponse, request_id: Option<&str>) {
    for e in &mut response.errors {
        let Some(obj) = e.as_object_mut() else {
            continue;
        };
        let ext = obj
            .entry("extensions")
            .or_insert_with(|| JsonValue::Object(JsonMap::new()));
        if !ext.is_object() {
            *ext = JsonValue::Object(JsonMap::new());
        }
        let Some(ext) = ext.as_object_mut() else {
            continue;
        };
        let code = match ext.get("code").and_then(JsonValue::as_str) {
            Some(c) => c.to_string(),
            None => {
                ext.insert(
                    "code",
                    JsonValue::String(ErrorCode::BadUserInput.as_str().into()),
                );
                ErrorCode::BadUserInput.as_str().to_string()
            }
        };
        if code == ErrorCode::Internal.as_str()
            && let Some(id) = request_id
            && !ext.contains_key("requestId")
        {
            ext.insert("requestId", JsonValue::String(id.into()));
        }
        metrics::counter!("rialto_graphql_errors_total", "code" => code).increment(1);
    }
}

async fn run_subgraph(
    state: &AppState,
    subgraph: &Subgraph,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    request: async_graphql::Request,
    media: &'static str,
) -> Response {
    // A context the gateway signed says who calls; the gateway already limited the caller.
    let from_gateway = headers
        .get(CONTEXT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(
            |token| match subgraph.signer.as_ref().map(|s| s.verify(token)) {
                Some(Ok(ctx)) => Some(ctx),
                _ => {
                    tracing::warn!("a subgraph context that does not verify; ignored");
                    None
                }
            },
        );
    let (caller, meta) = match from_gateway {
        Some(ctx) => (ctx.caller, ctx.meta),
        None => {
            let meta = edge::request_meta(headers, peer, &state.http.trust_forwarded_for);
            if let Err(wait) = state.limiter.admit(&meta, 1) {
                return too_many(wait, media);
            }
            let authorization = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            if state.authenticator.needs_lookup(authorization)
                && let Err(wait) = state.limiter.lookup(&meta)
            {
                return too_many(wait, media);
            }
            let caller = match state.authenticator.authenticate(authorization).await {
                Ok(c) => c,
                Err(e) => {
                    let mut err = e.extend().into_server_error(Default::default());
                    add_request_id(&mut err, meta.request_id.as_deref());
                    return respond(
                        async_graphql::Response::from_errors(vec![err]),
                        media,
                        StatusCode::SERVICE_UNAVAILABLE,
                    );
                }
            };
            if let Err(wait) = state.limiter.charge(&caller, &meta, 1) {
                return too_many(wait, media);
            }
            (caller, meta)
        }
    };
    let request_id = meta.request_id.clone();
    let operation = operation_label(request.operation_name.as_deref());
    let request = subgraph.schema.prepare(request.data(meta).data(caller));
    let started = Instant::now();
    let mut response = subgraph.schema.execute(request).await;
    metrics::histogram!("rialto_graphql_request_duration_seconds", "operation" => operation.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("rialto_graphql_requests_total", "operation" => operation).increment(1);
    for err in &mut response.errors {
        ensure_code(err);
        add_request_id(err, request_id.as_deref());
        let code = code_of(err).unwrap_or_default();
        metrics::counter!("rialto_graphql_errors_total", "code" => code).increment(1);
    }
    let failed_before_execution = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let status = if failed_before_execution && media == GRAPHQL_RESPONSE_JSON {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    respond(response, media, status)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == APPLICATION_JSON || v == GRAPHQL_RESPONSE_JSON)
}

/// The response media type: `application/graphql-response+json` only for clients that
/// list it; everyone else (including no `Accept`) gets `application/json`.
fn negotiate(headers: &HeaderMap) -> &'static str {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut best: Option<(&'static str, f32)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let candidate = match media.as_str() {
            GRAPHQL_RESPONSE_JSON => GRAPHQL_RESPONSE_JSON,
            APPLICATION_JSON => APPLICATION_JSON,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(_, bq)| q > bq) {
            best = Some((candidate, q));
        }
    }
    best.map(|(m, _)| m).unwrap_or(APPLICATION_JSON)
}

fn json_response(
    body: &impl serde::Serialize,
    media: &'static str,
    status: StatusCode,
) -> Response {
    let bytes = match serde_json::to_vec(body) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "serialise GraphQL response");
            br#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#
                .to_vec()
        }
    };
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    resp
}

fn respond(response: async_graphql::Response, media: &'static str, status: StatusCode) -> Response {
    let headers = response.http_headers.clone();
    let mut resp = json_response(&response, media, status);
    resp.headers_mut().extend(headers);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    resp
}

/// A GraphQL-shaped error for a request that never reached execution.
fn request_error(status: StatusCode, message: &str, media: &'static str) -> Response {
    metrics::counter!("rialto_graphql_errors_total", "code" => ErrorCode::BadUserInput.as_str())
        .increment(1);
    let body = GraphQLResponse {
        errors: vec![error_json(message, ErrorCode::BadUserInput)],
        data: None,
    };
    json_response(&body, media, status)
}

fn code_of(err: &ServerError) -> Option<String> {
    match err.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// Parse, validation and limit errors come without a code: they are bad input.
fn ensure_code(err: &mut ServerError) {
    if code_of(err).is_none() {
        err.extensions
            .get_or_insert_with(Default::default)
            .set("code", ErrorCode::BadUserInput.as_str());
    }
}

fn add_request_id(err: &mut ServerError, request_id: Option<&str>) {
    if code_of(err).as_deref() == Some(ErrorCode::Internal.as_str())
        && let Some(id) = request_id
    {
        err.extensions
            .get_or_insert_with(Default::default)
            .set("requestId", id);
    }
}

/// Operation names are client-chosen: keep the label set bounded.
pub fn operation_label(name: Option<&str>) -> String {
    const MAX_DISTINCT: usize = 200;
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let Some(name) = name.filter(|n| {
        !n.is_empty() && n.len() <= 64 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    }) else {
        return "anonymous".into();
    };
    let Ok(mut guard) = SEEN.lock() else {
        return "other".into();
    };
    let seen = guard.get_or_insert_with(HashSet::new);
    if seen.contains(name) || seen.len() < MAX_DISTINCT {
        seen.insert(name.to_string());
        name.to_string()
    } else {
        "other".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn clients_get_the_media_type_they_ask_for() {
        assert_eq!(negotiate(&HeaderMap::new()), APPLICATION_JSON);
        assert_eq!(negotiate(&accept("application/json")), APPLICATION_JSON);
        assert_eq!(negotiate(&accept("*/*")), APPLICATION_JSON);
        assert_eq!(
            negotiate(&accept("application/graphql-response+json")),
            GRAPHQL_RESPONSE_JSON
        );
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            GRAPHQL_RESPONSE_JSON
        );
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            APPLICATION_JSON
        );
    }

    #[test]
    fn operation_labels_are_bounded_and_sanitised() {
        assert_eq!(operation_label(None), "anonymous");
        assert_eq!(operation_label(Some("Me")), "Me");
        assert_eq!(operation_label(Some("bad name{}")), "anonymous");
    }

    #[test]
    fn query_strings_decode() {
        assert_eq!(
            parse_query_string("query=%7B%20me%20%7D&operationName=&x=a+b%"),
            vec![
                ("query".to_string(), "{ me }".to_string()),
                ("operationName".to_string(), String::new()),
                ("x".to_string(), "a b%".to_string()),
            ]
        );
    }
}
