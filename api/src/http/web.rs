//! The web app at `/` (`rialto serve`): the files of its build (`web/dist`, `--web-dir`).
//!
//! Hashed files under `/assets/` are cached for a year; every other path that is not a file
//! gets `index.html`, so the app's own routes (`/trade/ACME-USD`) survive a reload. Pages
//! carry a strict content security policy: the app loads only its own scripts and talks
//! only to its own origin (`/graphql` over HTTP and WebSocket).

use std::path::Path;

use axum::{
    Router,
    http::{HeaderName, HeaderValue, header},
    response::Html,
    routing::get,
};
use tower_http::{
    services::{ServeDir, ServeFile},
    set_header::SetResponseHeaderLayer,
};

/// The policy of the app's pages. Inline styles are allowed (Solid sets `style` attributes);
/// scripts, connections and everything else are same-origin only.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; \
     connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'";

/// The router of the web app in `dir`, or of a page saying how to build it when it is not
/// built (the API works either way).
pub fn router(dir: &Path) -> Router {
    let index = dir.join("index.html");
    if !index.is_file() {
        tracing::warn!(
            dir = %dir.display(),
            "the web app is not built (npm --prefix web ci && npm --prefix web run build); / says so"
        );
        return Router::new()
            .route("/", get(not_built))
            .fallback(super::ops::not_found);
    }
    let assets = tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        ))
        .service(ServeDir::new(dir.join("assets")));
    let pages = tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .service(ServeDir::new(dir).fallback(ServeFile::new(index)));
    Router::new()
        .nest_service("/assets", assets)
        .fallback_service(pages)
}

/// The demo's logins (`rialto serve --demo` only): anyone may sign in as these traders, and
/// the login page offers them.
pub async fn demo_logins() -> axum::Json<serde_json::Value> {
    let accounts: Vec<_> = crate::demo::DEMO_USERS
        .iter()
        .map(|(email, password)| serde_json::json!({ "email": email, "password": password }))
        .collect();
    axum::Json(serde_json::json!({ "accounts": accounts }))
}

async fn not_built() -> Html<&'static str> {
    Html(
        "<!doctype html><meta charset=utf-8><title>Rialto</title>\
         <h1>Rialto is running</h1>\
         <p>The web app is not built. Build it with \
         <code>npm --prefix web ci &amp;&amp; npm --prefix web run build</code> \
         (<code>scripts/run</code> does this), or point <code>--web-dir</code> at a build.</p>\
         <p>The API is at <a href=\"/graphql\">/graphql</a>.</p>",
    )
}
