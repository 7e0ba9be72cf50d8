//! Operational endpoints: liveness, readiness, metrics, the JWKS, and the 404 answer.

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};

use super::{AppState, Readiness};

/// Alive: the process answers.
pub async fn health() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Ready: the database (or, for a gateway, every subgraph) answers. 503 otherwise, so a
/// balancer stops sending traffic.
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    if state.drain.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "draining" })),
        );
    }
    match &state.readiness {
        Readiness::Database { db, bus, cache } => match db.ping().await {
            Ok(()) => {
                let mut body = serde_json::json!({ "status": "ready", "database": "ok" });
                if let Some(bus) = bus {
                    report(&mut body, "bus", bus.ping().await);
                }
                if let Some(cache) = cache {
                    report(&mut body, "cache", cache.ping().await);
                }
                (StatusCode::OK, Json(body))
            }
            Err(e) => {
                tracing::warn!(error = %e, "readiness: database unreachable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(serde_json::json!({ "status": "unavailable", "database": "unreachable" })),
                )
            }
        },
        Readiness::Subgraphs { urls, client } => {
            let checks = urls.iter().map(|u| async move {
                client
                    .get(u)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            });
            let results = futures_util::future::join_all(checks).await;
            let down: Vec<&String> = urls
                .iter()
                .zip(&results)
                .filter(|(_, ok)| !**ok)
                .map(|(u, _)| u)
                .collect();
            if down.is_empty() {
                (
                    StatusCode::OK,
                    Json(serde_json::json!({ "status": "ready", "subgraphs": "ok" })),
                )
            } else {
                tracing::warn!(?down, "readiness: subgraphs unreachable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(serde_json::json!({ "status": "unavailable", "subgraphs": down })),
                )
            }
        }
    }
}

/// Adds `part: ok` to a readiness body, or `part: unreachable` and a degraded status.
fn report(body: &mut serde_json::Value, part: &str, answer: Result<(), bus::Error>) {
    match answer {
        Ok(()) => body[part] = "ok".into(),
        Err(e) => {
            tracing::warn!(error = %e, part, "readiness: Redis unreachable");
            body[part] = "unreachable".into();
            body["status"] = "degraded".into();
        }
    }
}

/// Prometheus text exposition.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// The public keys that verify access tokens.
pub async fn jwks(State(state): State<AppState>) -> axum::response::Response {
    match &state.auth {
        Some(auth) => (
            [(header::CACHE_CONTROL, "public, max-age=300")],
            Json(auth.keys().jwks()),
        )
            .into_response(),
        None => not_found().await.into_response(),
    }
}

/// Unknown paths.
pub async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({ "error": "not found" })),
    )
}
