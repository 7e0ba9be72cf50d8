//! GraphiQL at `GET /graphql`, served entirely from this binary: the page, GraphiQL 3 and
//! React are embedded (from their npm packages; MIT licences beside them in
//! `api/assets/graphiql/`), so it works on a machine with no internet access, and the page
//! runs under a strict content security policy (no inline script, no third-party origin).

use axum::{
    extract::Path,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Rialto · GraphiQL</title>
  <link rel="stylesheet" href="/graphiql/graphiql.min.css">
  <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="/graphiql/react.production.min.js"></script>
  <script src="/graphiql/react-dom.production.min.js"></script>
  <script src="/graphiql/graphiql.min.js"></script>
  <script src="/graphiql/init.js"></script>
</body>
</html>
"#;

const INIT: &str = r#"// Rialto's GraphiQL: queries and mutations over HTTP to /graphql. Put
// {"Authorization": "Bearer <accessToken>"} in the Headers tab after you register or log in.
const fetcher = GraphiQL.createFetcher({ url: '/graphql' });
const defaultQuery = `# Welcome to Rialto.
# 1. Register (or log in), copy accessToken.
# 2. Headers tab: {"Authorization": "Bearer <accessToken>"}
# 3. Run the Me operation.

mutation Register {
  register(input: { email: "ann@example.com", password: "correct horse battery staple", displayName: "Ann" }) {
    accessToken
    refreshToken
    user { id email }
  }
}

mutation Login {
  login(input: { email: "ann@example.com", password: "correct horse battery staple" }) {
    accessToken
    refreshToken
  }
}

query Me {
  me { id email displayName role createdAt }
}
`;
ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, { fetcher, defaultQuery, defaultEditorToolsVisibility: 'headers' }),
);
"#;

/// The page's security policy: everything from this origin, styles may be inline (GraphiQL
/// sets them at run time), nothing from elsewhere.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The GraphiQL page.
pub fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
        .into_response()
}

/// `GET /graphiql/{file}`: the page's scripts and styles.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, content_type): (&'static [u8], &str) = match file.as_str() {
        "graphiql.min.js" => (
            include_bytes!("../../assets/graphiql/graphiql.min.js"),
            "text/javascript",
        ),
        "graphiql.min.css" => (
            include_bytes!("../../assets/graphiql/graphiql.min.css"),
            "text/css",
        ),
        "react.production.min.js" => (
            include_bytes!("../../assets/graphiql/react.production.min.js"),
            "text/javascript",
        ),
        "react-dom.production.min.js" => (
            include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
            "text/javascript",
        ),
        "init.js" => (INIT.as_bytes(), "text/javascript"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}
