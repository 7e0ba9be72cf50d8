//! Facts about the HTTP request that services record (session log) or key limits on.

/// Put into every GraphQL request's data by the HTTP edge.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// The client address (the peer, or the first `X-Forwarded-For` hop behind a trusted proxy).
    pub ip: Option<String>,
    /// The `User-Agent` header, truncated.
    pub user_agent: Option<String>,
    /// The `x-request-id` of this request.
    pub request_id: Option<String>,
}
