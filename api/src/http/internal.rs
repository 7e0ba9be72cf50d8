//! `POST /internal/identity`: the auth service tells a gateway whom an API key speaks for.
//! Only a caller holding the internal secret may ask (the request carries a context the
//! gateway signed); the answer is the identity, or `null` for a key that is refused.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use common::context::CONTEXT_HEADER;

use super::{AppState, Endpoint, Subgraph, SubgraphSchema};

/// The question.
#[derive(serde::Deserialize)]
pub struct IdentityQuestion {
    credential: String,
}

/// Answers an API key check for a gateway.
pub async fn identity(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(question): Json<IdentityQuestion>,
) -> Response {
    let Endpoint::Subgraph(Subgraph {
        schema: SubgraphSchema::Auth(_, auth),
        signer: Some(signer),
    }) = &state.endpoint
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let trusted = headers
        .get(CONTEXT_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| signer.verify(t).is_ok());
    if !trusted {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match auth.authenticate(&question.credential).await {
        Ok(identity) => Json(serde_json::json!({ "identity": identity })).into_response(),
        Err(auth::AuthError::Internal(e)) => {
            tracing::error!(
                error = format!("{e:#}"),
                "checking an API key for a gateway"
            );
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        Err(_) => Json(serde_json::json!({ "identity": null })).into_response(),
    }
}
