//! Whatever arrives, the service answers with a typed error or a result, never a 5xx, and
//! stays healthy. Also the operational endpoints and the GraphQL-over-HTTP details.

use serde_json::{Value, json};

use crate::helpers::*;

async fn post_raw(app: &TestApp, body: Vec<u8>, content_type: &str) -> reqwest::Response {
    app.client
        .post(app.url("/graphql"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("send")
}

#[tokio::test]
async fn malformed_bodies_get_400_with_a_typed_error() {
    let app = spawn_app().await;
    for body in [
        "",
        "{",
        "not json",
        "[]",
        "[{\"query\": 42}]",
        "{}",
        "{\"query\": 42}",
        "null",
        "\"{ me { id } }\"",
        "{\"query\":\"{ me { id } }\",\"variables\":\"nope\"}",
    ] {
        let resp = post_raw(&app, body.as_bytes().to_vec(), "application/json").await;
        assert_eq!(resp.status(), 400, "{body:?}");
        let json: Value = resp.json().await.unwrap();
        assert_eq!(error_code(&json), "BAD_USER_INPUT", "{body:?}");
    }
}

#[tokio::test]
async fn only_json_posts_are_accepted_and_bodies_are_bounded() {
    let app = spawn_app().await;
    let form = post_raw(
        &app,
        b"query=%7Bme%7Bid%7D%7D".to_vec(),
        "application/x-www-form-urlencoded",
    )
    .await;
    assert_eq!(form.status(), 415, "a form post (CSRF vector) is refused");
    let huge = format!(
        "{{\"query\":\"{{ me {{ id }} }}\",\"variables\":{{\"x\":\"{}\"}}}}",
        "a".repeat(1024 * 1024)
    );
    let resp = post_raw(&app, huge.into_bytes(), "application/json").await;
    assert_eq!(resp.status(), 413);
}

#[tokio::test]
async fn clients_get_the_graphql_media_type_they_accept() {
    let app = spawn_app().await;
    let send = |accept: Option<&'static str>, query: &'static str| {
        let mut req = app
            .client
            .post(app.url("/graphql"))
            .json(&json!({ "query": query }));
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        req.send()
    };
    let plain = send(Some("application/json"), "{ me { id } }")
        .await
        .unwrap();
    assert_eq!(plain.headers()["content-type"], "application/json");
    let none = send(None, "{ me { id } }").await.unwrap();
    assert_eq!(none.headers()["content-type"], "application/json");
    let modern = send(Some("application/graphql-response+json"), "{ me { id } }")
        .await
        .unwrap();
    assert_eq!(modern.status(), 200);
    assert_eq!(
        modern.headers()["content-type"],
        "application/graphql-response+json"
    );

    // An invalid document: 400 for the new media type, 200 for application/json (per spec).
    let invalid_modern = send(Some("application/graphql-response+json"), "{ nope }")
        .await
        .unwrap();
    assert_eq!(invalid_modern.status(), 400);
    let invalid_plain = send(Some("application/json"), "{ nope }").await.unwrap();
    assert_eq!(invalid_plain.status(), 200);
    let body: Value = invalid_plain.json().await.unwrap();
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn overly_deep_queries_are_refused() {
    let app = spawn_app().await;
    // 4 levels to reach `type`, then 20 `ofType` levels: deeper than the limit of 16.
    let mut deep = String::from("{ __schema { types { fields { type ");
    for _ in 0..20 {
        deep.push_str("{ ofType ");
    }
    deep.push_str("{ name }");
    deep.push_str(&" }".repeat(20 + 4));
    let body = app.gql(&deep, json!({}), None).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
}

/// A small deterministic generator, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ":",
    "$",
    "!",
    "@",
    "...",
    "=",
    "|",
    "&",
    " ",
    "\n",
    ",",
    "query",
    "mutation",
    "subscription",
    "fragment",
    "on",
    "me",
    "id",
    "email",
    "register",
    "login",
    "refresh",
    "logout",
    "input",
    "password",
    "apiKeys",
    "createApiKey",
    "scopes",
    "READ",
    "TRADE",
    "__schema",
    "__type",
    "__typename",
    "_entities",
    "_service",
    "sdl",
    "representations",
    "\"x\"",
    "\"\"",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "123",
    "-1",
    "1e999",
    "99999999999999999999",
    "true",
    "null",
    "@skip(if: true)",
    "@include(if: $v)",
    "$v",
    "Int",
    "String!",
    "[_Any!]!",
    "#",
    "\u{1F980}",
    "\u{0}",
];

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match if depth > 3 {
        rng.below(5)
    } else {
        rng.below(8)
    } {
        0 => Value::Null,
        1 => json!(rng.next().is_multiple_of(2)),
        2 => json!(rng.next() as i64),
        3 => json!(f64::from(rng.below(1000) as u32) / 7.0),
        4 => json!(rng.pick(TOKENS).repeat(rng.below(50))),
        5 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut map = serde_json::Map::new();
            for _ in 0..rng.below(4) {
                map.insert(rng.pick(TOKENS).to_string(), random_value(rng, depth + 1));
            }
            Value::Object(map)
        }
    }
}

fn random_body(rng: &mut Rng, i: usize) -> Vec<u8> {
    match i % 5 {
        // Raw bytes.
        0 => (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
        // Arbitrary JSON.
        1 => random_value(rng, 0).to_string().into_bytes(),
        // A query string made of GraphQL-ish tokens.
        2 => {
            let query: String = (0..rng.below(60)).map(|_| rng.pick(TOKENS)).collect();
            json!({ "query": query, "variables": random_value(rng, 2) })
                .to_string()
                .into_bytes()
        }
        // Real operations with hostile variables.
        3 => {
            let ops = [
                "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
                "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
                "mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }",
                "mutation($t: String!) { logout(refreshToken: $t) }",
                "mutation($n: String!, $s: [ApiScope!]!) { createApiKey(name: $n, scopes: $s) { secret } }",
                "mutation($id: ID!) { revokeApiKey(id: $id) { id } }",
                "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id } } }",
            ];
            let vars = json!({ "i": random_value(rng, 1), "t": random_value(rng, 2), "n": random_value(rng, 2),
                               "s": random_value(rng, 2), "id": random_value(rng, 2), "r": random_value(rng, 1) });
            json!({ "query": ops[rng.below(ops.len())], "variables": vars, "operationName": random_value(rng, 3) })
                .to_string()
                .into_bytes()
        }
        // Deep or wide documents.
        _ => {
            let n = 1 + rng.below(400);
            let query = if rng.next().is_multiple_of(2) {
                format!("{}{}", "{ me ".repeat(n), "}".repeat(n))
            } else {
                format!("{{ {} }}", "a: me { id } ".repeat(n))
            };
            json!({ "query": query }).to_string().into_bytes()
        }
    }
}

#[tokio::test]
async fn hundreds_of_random_bodies_and_queries_never_cause_a_5xx() {
    let app = spawn_app_with(|c| {
        c.auth.login_attempts_per_ip = 1000.try_into().unwrap();
        c.http.rate_limit_burst = 1000.try_into().unwrap();
    })
    .await;
    let ann = app.register("ann@example.com").await;
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    for i in 0..400 {
        let body = random_body(&mut rng, i);
        let mut req = app
            .client
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .body(body.clone());
        if i % 3 == 0 {
            req = req.bearer_auth(&ann.access_token);
        }
        let resp = req.send().await.expect("the server answers");
        let status = resp.status();
        assert!(
            status.as_u16() < 500,
            "case {i} got {status}: {}",
            String::from_utf8_lossy(&body)
        );
        let json: Value = resp
            .json()
            .await
            .unwrap_or_else(|e| panic!("case {i}: body is not JSON: {e}"));
        if let Some(errors) = json.get("errors").and_then(Value::as_array) {
            for e in errors {
                let code = e["extensions"]["code"]
                    .as_str()
                    .unwrap_or_else(|| panic!("case {i}: error without code: {e}"));
                assert_ne!(code, "INTERNAL", "case {i}: {e}");
            }
        }
    }
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_no_errors(&app.me(&ann.access_token).await);
    app.register("bob@example.com").await;
}

#[tokio::test]
async fn health_readiness_metrics_and_request_ids_are_served() {
    let app = spawn_app().await;
    let health: Value = app.get_json("/health").await;
    assert_eq!(health["status"], "ok");
    let ready = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("x-request-id", "trace-me-42")
        .json(&json!({ "query": "query WhoAmI { me { id } }", "operationName": "WhoAmI" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["x-request-id"],
        "trace-me-42",
        "a given request id is kept"
    );
    let generated = app.client.get(app.url("/health")).send().await.unwrap();
    assert!(
        !generated.headers()["x-request-id"].is_empty(),
        "one is made when absent"
    );

    let _ = app
        .try_login("nobody@example.com", "some wrong password")
        .await;
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("rialto_graphql_requests_total{operation=\"WhoAmI\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rialto_graphql_request_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rialto_graphql_errors_total{code=\"UNAUTHENTICATED\"}"),
        "{metrics}"
    );

    // GraphiQL works offline: the page and its scripts come from this server only.
    let graphiql = app.client.get(app.url("/graphql")).send().await.unwrap();
    assert!(
        graphiql.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = graphiql.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let page = graphiql.text().await.unwrap();
    assert!(!page.contains("https://"), "no third-party assets: {page}");
    for asset in [
        "/graphiql/graphiql.min.js",
        "/graphiql/graphiql.min.css",
        "/graphiql/react.production.min.js",
        "/graphiql/react-dom.production.min.js",
        "/graphiql/init.js",
    ] {
        assert!(page.contains(asset), "{asset}");
        let resp = app.client.get(app.url(asset)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{asset}");
        assert!(resp.bytes().await.unwrap().len() > 500, "{asset}");
    }
    assert_eq!(
        app.client
            .get(app.url("/graphiql/../Cargo.toml"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        app.client
            .get(app.url("/nowhere"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone_while_liveness_holds() {
    let app = spawn_app().await;
    app.db.clone().close().await.unwrap();
    let ready = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // A request needing the database gets a typed INTERNAL error with the request id.
    let body = app.try_login("ann@example.com", PASSWORD).await;
    assert_eq!(error_code(&body), "INTERNAL");
    assert_eq!(body["errors"][0]["message"], "internal error");
    assert!(
        body["errors"][0]["extensions"]["requestId"].is_string(),
        "{body}"
    );
}

/// The introspection query GraphiQL and code generators send (graphql-js's, with type
/// references nine `ofType`s deep) fits within the depth and complexity limits.
#[tokio::test]
async fn the_standard_introspection_query_is_answered() {
    let app = spawn_app().await;
    fn type_ref(levels: usize) -> String {
        if levels == 0 {
            "kind name".into()
        } else {
            format!("kind name ofType {{ {} }}", type_ref(levels - 1))
        }
    }
    let query = format!(
        "query IntrospectionQuery {{ __schema {{ queryType {{ name }} mutationType {{ name }} subscriptionType {{ name }}
           types {{ ...FullType }} directives {{ name description locations args(includeDeprecated: true) {{ ...InputValue }} }} }} }}
         fragment FullType on __Type {{ kind name description specifiedByURL
           fields(includeDeprecated: true) {{ name description args(includeDeprecated: true) {{ ...InputValue }} type {{ ...TypeRef }} isDeprecated deprecationReason }}
           inputFields(includeDeprecated: true) {{ ...InputValue }} interfaces {{ ...TypeRef }}
           enumValues(includeDeprecated: true) {{ name description isDeprecated deprecationReason }} possibleTypes {{ ...TypeRef }} }}
         fragment InputValue on __InputValue {{ name description type {{ ...TypeRef }} defaultValue isDeprecated deprecationReason }}
         fragment TypeRef on __Type {{ {} }}",
        type_ref(9)
    );
    let body = app.gql(&query, json!({}), None).await;
    assert_no_errors(&body);
    let types = body["data"]["__schema"]["types"].as_array().unwrap();
    assert!(types.iter().any(|t| t["name"] == "User"));
    assert_eq!(body["data"]["__schema"]["mutationType"]["name"], "Mutation");
}

#[tokio::test]
async fn a_burst_over_the_rate_limit_gets_429_with_retry_after() {
    let app = spawn_app_with(|c| {
        c.http.rate_limit_per_second = 1.try_into().unwrap();
        c.http.rate_limit_burst = 3.try_into().unwrap();
        c.http.trust_forwarded_for = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    // Ann signs up from her own address, so the burst below starts with a full budget.
    let ann = app.register("ann@example.com").await;
    let send = |bearer: Option<String>| {
        let mut req = app
            .client
            .post(app.url("/graphql"))
            .header("x-forwarded-for", "10.9.9.9")
            .json(&json!({ "query": "{ me { id } }" }));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        req.send()
    };
    for _ in 0..3 {
        assert_eq!(send(None).await.unwrap().status(), 200);
    }
    let limited = send(None).await.unwrap();
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let body: Value = limited.json().await.unwrap();
    assert_eq!(error_code(&body), "RATE_LIMITED");
    // A signed-in account has its own budget, apart from its address's.
    assert_eq!(
        send(Some(ann.access_token.clone())).await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn abusive_documents_are_refused_with_typed_errors() {
    let app = spawn_app().await;
    // 50 levels deep.
    let deep = format!(
        "{{ {} name {} }}",
        "__schema { types { fields { type { ".to_string() + &"ofType { ".repeat(46),
        "} ".repeat(50)
    );
    let body = app.gql(&deep, json!({}), None).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    // 10,000 aliases.
    let wide = format!(
        "{{ {} }}",
        (0..10_000)
            .map(|i| format!("a{i}: myScopes"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let body = app.gql(&wide, json!({}), None).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    // A batch of 1,000 operations.
    let batch: Vec<Value> = (0..1_000)
        .map(|_| json!({ "query": "{ myScopes }" }))
        .collect();
    let resp = app
        .client
        .post(app.url("/graphql"))
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    // A 10 MB body.
    let huge = vec![b' '; 10 * 1024 * 1024];
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    // Still healthy.
    assert_eq!(
        app.client
            .get(app.url("/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn only_configured_origins_may_call_from_a_browser() {
    let app =
        spawn_app_with(|c| c.http.cors_allow_origins = vec!["https://app.example.com".into()])
            .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, authorization",
            )
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let methods = allowed.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(methods.contains("POST"), "{methods}");
    let other = preflight("https://evil.example.net").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // With no origin configured (the default), no browser origin is allowed.
    let closed = spawn_app().await;
    let resp = closed
        .client
        .request(reqwest::Method::OPTIONS, closed.url("/graphql"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn production_can_switch_off_introspection_and_graphiql() {
    let app = spawn_app_with(|c| {
        c.http.disable_introspection = true;
        c.http.disable_graphiql = true;
    })
    .await;
    // Introspection is refused.
    let body = app
        .gql(
            "{ __schema { types { name } } __type(name: \"User\") { name } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(body["data"]["__schema"], Value::Null, "{body}");
    assert_eq!(body["data"]["__type"], Value::Null, "{body}");
    assert_eq!(
        app.client
            .get(app.url("/graphql"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // Everything else still works.
    app.register("ann@example.com").await;
}

/// A query within the gateway's limits but over a subgraph's own complexity limit is
/// refused with that one typed error: no second, internal-looking error about the nulls the
/// refused fetch left.
#[tokio::test]
async fn a_query_over_a_subgraphs_complexity_limit_gets_one_bad_user_input_error() {
    // The gateway's own complexity limit would refuse this first; here it is lifted so the
    // subgraph's is the one that speaks.
    let app = spawn_app_with(|c| c.limits.max_complexity = u64::MAX).await;
    let fields = "symbol status tickSize lotSize minQuantity orderBook { bids { price quantity } asks { price quantity } } trades { id price quantity }";
    let query = format!(
        "{{ {} }}",
        (0..40)
            .map(|i| format!("m{i}: markets {{ {fields} }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let body = app.gql(&query, json!({}), None).await;
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("too complex"),
        "{body}"
    );
    assert!(body["data"].is_null(), "{body}");
}
