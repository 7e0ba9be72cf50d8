//! Facts about the HTTP request that services record (session log) or key limits on.

/// Put into every GraphQL request's data by the HTTP edge.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RequestMeta {
    /// The client address (the peer, or the first `X-Forwarded-For` hop behind a trusted proxy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The `User-Agent` header, truncated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The `x-request-id` of this request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}
