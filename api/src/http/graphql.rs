//! GraphQL over HTTP and over WebSocket (`graphql-transport-ws`) at `/graphql`.
//!
//! POST takes `application/json` bodies only (a form or multipart post is a CSRF vector and
//! is refused with 415). The response type follows the GraphQL-over-HTTP spec: a client that
//! accepts `application/graphql-response+json` gets it (and 4xx for requests that could not
//! execute); any other client gets `application/json` with 200. Every error carries an
//! `extensions.code`; an `INTERNAL` one also carries the request id to quote.

use std::{collections::HashSet, net::SocketAddr, sync::Mutex, time::Instant};

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
use common::ErrorCode;

use super::{AppState, edge};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const APPLICATION_JSON: &str = "application/json";

/// `GET /graphql`: the WebSocket endpoint for an upgrade request, GraphiQL for a browser.
pub async fn get(State(state): State<AppState>, req: Request) -> Response {
    if !is_websocket_upgrade(req.headers()) {
        if state.http.disable_graphiql {
            return (StatusCode::NOT_FOUND, "GraphiQL is disabled on this server").into_response();
        }
        return super::graphiql::page();
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
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
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let meta = edge::request_meta(&parts.headers, peer, state.http.trust_forwarded_for);
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| super::ws::serve(socket, state, protocol, meta))
        .into_response()
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
    let response_type = negotiate(&headers);

    if !is_json(&headers) {
        return request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as Content-Type: application/json",
            response_type,
        );
    }
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(_) => {
            return request_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large",
                response_type,
            );
        }
    };
    let request = match parse_request(&bytes) {
        Ok(r) => r,
        Err(message) => return request_error(StatusCode::BAD_REQUEST, &message, response_type),
    };

    let meta = edge::request_meta(&headers, peer, state.http.trust_forwarded_for);
    let request_id = meta.request_id.clone();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let caller = match edge::authenticate(&state.auth, authorization).await {
        Ok(c) => c,
        Err(e) => {
            let mut err = e.extend().into_server_error(Default::default());
            add_request_id(&mut err, request_id.as_deref());
            return respond(
                async_graphql::Response::from_errors(vec![err]),
                response_type,
                StatusCode::SERVICE_UNAVAILABLE,
            );
        }
    };

    if let Err(wait) = state.limiter.check(&caller, &meta) {
        let secs = wait.as_secs().max(1);
        metrics::counter!("rialto_graphql_errors_total", "code" => ErrorCode::RateLimited.as_str())
            .increment(1);
        let err = ErrorCode::RateLimited
            .error(format!("too many requests; retry in {secs} s"))
            .extend_with(|_, e| e.set("retryAfter", secs))
            .into_server_error(Default::default());
        let mut resp = respond(
            async_graphql::Response::from_errors(vec![err]),
            response_type,
            StatusCode::TOO_MANY_REQUESTS,
        );
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return resp;
    }

    let operation = operation_label(request.operation_name.as_deref());
    let request = request
        .data(meta)
        .data(auth::schema::user_loader(&state.auth))
        .data(caller);
    let started = Instant::now();
    let mut response = state.schema.execute(request).await;
    metrics::histogram!("rialto_graphql_request_duration_seconds", "operation" => operation.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("rialto_graphql_requests_total", "operation" => operation).increment(1);

    for err in &mut response.errors {
        ensure_code(err);
        add_request_id(err, request_id.as_deref());
        let code = code_of(err).unwrap_or_default();
        metrics::counter!("rialto_graphql_errors_total", "code" => code).increment(1);
    }
    // A request that could not execute at all (no data, only request-level errors).
    let failed_before_execution = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let status = if failed_before_execution && response_type == GRAPHQL_RESPONSE_JSON {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    respond(response, response_type, status)
}

fn parse_request(bytes: &Bytes) -> Result<async_graphql::Request, String> {
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

fn respond(response: async_graphql::Response, media: &'static str, status: StatusCode) -> Response {
    let headers = response.http_headers.clone();
    let body = match serde_json::to_vec(&response) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "serialise GraphQL response");
            br#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#
                .to_vec()
        }
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().extend(headers);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    resp
}

/// A GraphQL-shaped error for a request that never reached the schema.
fn request_error(status: StatusCode, message: &str, media: &'static str) -> Response {
    metrics::counter!("rialto_graphql_errors_total", "code" => ErrorCode::BadUserInput.as_str())
        .increment(1);
    let mut err = ServerError::new(message, None);
    ensure_code(&mut err);
    respond(
        async_graphql::Response::from_errors(vec![err]),
        media,
        status,
    )
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
fn operation_label(name: Option<&str>) -> String {
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
}
