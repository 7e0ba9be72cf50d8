//! The HTTP edge: one router, built from [`AppState`] so tests and `serve` share it.
//!
//! Layers, outermost first: request id (kept from `x-request-id` or a new UUID) → trace span
//! carrying it → propagate it to the response → body size limit → timeout (not for the
//! WebSocket, whose upgrade completes at once).

mod drain;
mod graphiql;
mod graphql;
mod internal;
mod limits;
pub use limits::RequestLimiter;
mod ops;
pub mod sockets;
mod subgraph;
mod web;
mod ws;

pub use drain::{Drain, SERVICE_RESTART, SERVICE_RESTART_REASON};
pub use graphql::operation_label;
pub use subgraph::{Subgraph, SubgraphSchema};

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use auth::AuthService;

use crate::{edge::Authenticator, gateway::Gateway};
use axum::{
    Router,
    http::{HeaderName, HeaderValue, Method, Request, header},
    routing::get,
};
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

/// Settings of the HTTP edge.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes.
    #[arg(long = "max-body-bytes", env = "RIALTO_MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    pub max_body_bytes: usize,

    /// Longest time one HTTP request may take, in seconds.
    #[arg(
        long = "request-timeout-secs",
        env = "RIALTO_REQUEST_TIMEOUT_SECS",
        default_value_t = 30
    )]
    pub request_timeout_secs: u64,

    /// GraphQL requests allowed per second per account (per address when anonymous).
    #[arg(
        long = "rate-limit-per-second",
        env = "RIALTO_RATE_LIMIT_PER_SECOND",
        default_value = "50"
    )]
    pub rate_limit_per_second: NonZeroU32,

    /// Burst of GraphQL requests allowed above the per-second rate.
    #[arg(
        long = "rate-limit-burst",
        env = "RIALTO_RATE_LIMIT_BURST",
        default_value = "100"
    )]
    pub rate_limit_burst: NonZeroU32,

    /// Browser origins allowed to call the API cross-origin (comma-separated, e.g.
    /// `https://app.example.com`); none by default, so only same-origin pages can.
    #[arg(
        long = "cors-allow-origin",
        env = "RIALTO_CORS_ALLOW_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_allow_origins: Vec<String>,

    /// Refuse introspection (`__schema`, `__type`), for production.
    #[arg(
        long = "disable-introspection",
        env = "RIALTO_DISABLE_INTROSPECTION",
        default_value_t = false
    )]
    pub disable_introspection: bool,

    /// Do not serve GraphiQL at `GET /graphql`, for production.
    #[arg(
        long = "disable-graphiql",
        env = "RIALTO_DISABLE_GRAPHIQL",
        default_value_t = false
    )]
    pub disable_graphiql: bool,

    /// Most operations in one batched request (a JSON array body).
    #[arg(long = "max-batch", env = "RIALTO_MAX_BATCH", default_value_t = 10)]
    pub max_batch: usize,

    /// Networks of the proxies you run in front of Rialto, comma-separated (e.g.
    /// `127.0.0.1/32,10.0.0.0/8`; an address alone is one host). A request from one of them
    /// has its client address taken from `X-Forwarded-For`: the right-most hop that is not
    /// itself a trusted proxy, so a client cannot choose its own by prepending. None by
    /// default: the peer's address is the client's.
    #[arg(
        long = "trust-forwarded-for",
        env = "RIALTO_TRUST_FORWARDED_FOR",
        value_name = "NETWORKS",
        value_delimiter = ',',
        value_parser = crate::edge::parse_trusted_network
    )]
    pub trust_forwarded_for: Vec<ipnet::IpNet>,

    /// On shutdown, how long to wait for open WebSockets to close after telling them to
    /// (1012, service restart) before exiting anyway, in seconds.
    #[arg(
        long = "drain-timeout-secs",
        env = "RIALTO_DRAIN_TIMEOUT_SECS",
        default_value_t = 20
    )]
    pub drain_timeout_secs: u64,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub sockets: sockets::SocketLimits,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 256 * 1024,
            request_timeout_secs: 30,
            trust_forwarded_for: Vec::new(),
            drain_timeout_secs: 20,
            cors_allow_origins: Vec::new(),
            disable_introspection: false,
            disable_graphiql: false,
            max_batch: 10,
            rate_limit_per_second: NonZeroU32::new(50).unwrap_or(NonZeroU32::MIN),
            rate_limit_burst: NonZeroU32::new(100).unwrap_or(NonZeroU32::MIN),
            sockets: sockets::SocketLimits::default(),
        }
    }
}

/// What answers `/graphql`.
#[derive(Clone)]
pub enum Endpoint {
    /// The federated gateway (`rialto serve`, `rialto gateway`).
    Gateway(Arc<Gateway>),
    /// One subgraph itself (`rialto auth`, `rialto brain`), behind a gateway.
    Subgraph(Subgraph),
}

/// What `/ready` checks.
#[derive(Clone)]
pub enum Readiness {
    /// The database answers; the event bus and cache are reported too (a Redis outage
    /// degrades live data, wake-ups and hot reads, but trading goes on, so it does not make
    /// the process unready).
    Database {
        /// Reaches the database.
        db: sea_orm::DatabaseConnection,
        /// The trading bus, when this process has one.
        bus: Option<Arc<dyn bus::EventBus>>,
        /// The hot-read cache, when this process has one.
        cache: Option<Arc<dyn bus::Cache>>,
    },
    /// Every subgraph answers `/health`.
    Subgraphs {
        /// Their health URLs.
        urls: Vec<String>,
        /// A client with a short timeout.
        client: reqwest::Client,
    },
}

/// What every handler needs.
#[derive(Clone)]
pub struct AppState {
    /// What answers `/graphql`.
    pub endpoint: Endpoint,
    /// Checks bearer credentials at the edge.
    pub authenticator: Arc<Authenticator>,
    /// The auth service when it runs in this process (JWKS, internal identity checks).
    pub auth: Option<AuthService>,
    /// What `/ready` checks.
    pub readiness: Readiness,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Edge settings.
    pub http: HttpConfig,
    /// Per-caller request limits.
    pub limiter: Arc<limits::RequestLimiter>,
    /// Shutdown of the open WebSockets.
    pub drain: Drain,
    /// The open WebSockets per address and per account.
    pub sockets: Arc<sockets::SocketRegistry>,
}

impl AppState {
    /// The state of one application.
    pub fn new(
        endpoint: Endpoint,
        authenticator: Authenticator,
        auth: Option<AuthService>,
        readiness: Readiness,
        metrics: PrometheusHandle,
        http: HttpConfig,
    ) -> Self {
        let limiter = Arc::new(limits::RequestLimiter::new(
            http.rate_limit_per_second,
            http.rate_limit_burst,
        ));
        Self {
            endpoint,
            authenticator: Arc::new(authenticator),
            auth,
            readiness,
            metrics,
            http,
            limiter,
            drain: Drain::default(),
            sockets: Arc::default(),
        }
    }
}

/// The application's router; with `web`, the web app's build is served at `/` (see
/// [`web::router`]) where no API route matches. With `demo` (`rialto serve --demo`),
/// `GET /demo.json` lists the demo logins, for the web app's login page.
pub fn router(state: AppState, web: Option<&std::path::Path>, demo: bool) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    let timeout = Duration::from_secs(state.http.request_timeout_secs);
    let body_limit = state.http.max_body_bytes;
    let cors_origins = state.http.cors_allow_origins.clone();

    let api = Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphiql/{file}", get(graphiql::asset))
        .route("/health", get(ops::health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .route("/.well-known/jwks.json", get(ops::jwks))
        .route(
            "/internal/identity",
            axum::routing::post(internal::identity),
        )
        .with_state(state);
    let api = if demo {
        api.route("/demo.json", get(web::demo_logins))
    } else {
        api
    };
    let api = match web {
        Some(dir) => api.fallback_service(web::router(dir)),
        None => api.fallback(ops::not_found),
    };

    let cors = cors_layer(&cors_origins);
    api.layer(cors)
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req
                .extensions()
                .get::<RequestId>()
                .and_then(|id| id.header_value().to_str().ok())
                .unwrap_or_default();
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
}

/// CORS for the configured origins only (an origin that does not parse is skipped with a
/// warning); with none configured the layer adds no headers and browsers keep same-origin.
fn cors_layer(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .filter_map(|o| match HeaderValue::from_str(o) {
            Ok(v) => Some(v),
            Err(_) => {
                tracing::warn!(origin = o, "ignoring an unparsable CORS origin");
                None
            }
        })
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("traceparent"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id"), header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
}
