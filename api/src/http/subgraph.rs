//! A subgraph served alone behind a gateway (`rialto auth`, `rialto brain`): which schema,
//! what per-request data its resolvers expect, and how it trusts the gateway.
//!
//! The HTTP and WebSocket handlers are the same for every subgraph; only this type knows
//! which one runs, so adding a subgraph is one variant here and one arm in each method.

use async_graphql::{Data, Request, Response};
use auth::{AuthSchema, AuthService};
use brain::{BrainSchema, BrainService};
use common::ContextSigner;
use sea_orm::DatabaseConnection;

/// The schema of the subgraph this process serves, with the service its loaders read.
#[derive(Clone)]
pub enum SubgraphSchema {
    /// Accounts, sessions and API keys.
    Auth(AuthSchema, AuthService),
    /// Markets, balances, orders and market data.
    Brain(BrainSchema, BrainService),
}

/// A subgraph endpoint. A request carrying a context the gateway signed runs as that
/// context's caller; one without (a client or another router calling directly) is
/// authenticated and limited here.
#[derive(Clone)]
pub struct Subgraph {
    /// What answers.
    pub schema: SubgraphSchema,
    /// Verifies gateway contexts; `None` accepts direct calls only.
    pub signer: Option<ContextSigner>,
}

impl SubgraphSchema {
    /// The subgraph's name in the supergraph, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Auth(..) => "auth",
            Self::Brain(..) => "brain",
        }
    }

    /// The database this subgraph reads, for `/ready`.
    pub fn db(&self) -> &DatabaseConnection {
        match self {
            Self::Auth(_, auth) => auth.db(),
            Self::Brain(_, brain) => brain.db(),
        }
    }

    /// Adds the per-request data the resolvers expect (a fresh DataLoader per request, so
    /// batching never serves one caller's rows to another).
    pub fn prepare(&self, request: Request) -> Request {
        match self {
            Self::Auth(_, auth) => request.data(auth::schema::user_loader(auth)),
            Self::Brain(_, brain) => request.data(brain::schema::balance_loader(brain)),
        }
    }

    /// [`SubgraphSchema::prepare`] for a WebSocket's connection data.
    pub fn prepare_data(&self, data: &mut Data) {
        match self {
            Self::Auth(_, auth) => data.insert(auth::schema::user_loader(auth)),
            Self::Brain(_, brain) => data.insert(brain::schema::balance_loader(brain)),
        }
    }

    /// Runs a query or mutation.
    pub async fn execute(&self, request: Request) -> Response {
        match self {
            Self::Auth(schema, _) => schema.execute(request).await,
            Self::Brain(schema, _) => schema.execute(request).await,
        }
    }
}
