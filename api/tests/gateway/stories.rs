//! The stories. Data comes from the fixtures: products p1..p5 (Table 100, Chair 50, Lamp 30,
//! Desk 200, Sofa 500), reviews r1..r6, stock p1 3 · p2 0 · p3 12 · p4 1 · p5 0.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::*;

fn code(e: &Value) -> &str {
    e["extensions"]["code"].as_str().unwrap_or_default()
}

pub async fn root_fields_of_several_subgraphs_answer_in_one_response(mode: Mode) {
    let stack = Stack::start(mode).await;
    let body = stack
        .gql(
            "{ products(first: 2) { upc name } topReviews(first: 1) { id body } warehouses { code } me { id } }",
            json!({}),
            None,
        )
        .await;
    assert_no_errors(&body);
    assert_eq!(
        body["data"],
        json!({
            "products": [{ "upc": "p1", "name": "Table" }, { "upc": "p2", "name": "Chair" }],
            "topReviews": [{ "id": "r1", "body": "Solid" }],
            "warehouses": [{ "code": "AMS" }, { "code": "LIS" }],
            "me": null,
        })
    );
    // Fields come back in the order the client asked for them.
    let text = stack
        .raw("{ warehouses { code } me { id } topReviews(first: 1) { id } products(first: 1) { upc } }")
        .await;
    let at = |k: &str| text.find(&format!("\"{k}\"")).unwrap();
    assert!(
        at("warehouses") < at("me")
            && at("me") < at("topReviews")
            && at("topReviews") < at("products"),
        "{text}"
    );
}

pub async fn entity_fields_come_from_the_subgraphs_that_own_them_two_hops_deep(mode: Mode) {
    let stack = Stack::start(mode).await;
    let (id, token) = stack.register("ann@example.com").await;
    // auth → reviews (User.reviews) → catalog (Product.name) and inventory (Product.inStock)
    let body = stack
        .gql(
            "{ me { email reviews { body product { upc name inStock price } } } }",
            json!({}),
            Some(&token),
        )
        .await;
    assert_no_errors(&body);
    assert_eq!(
        body["data"]["me"],
        json!({
            "email": "ann@example.com",
            "reviews": [
                { "body": "Mine", "product": { "upc": "p1", "name": "Table", "inStock": true, "price": 100 } },
                { "body": "Also mine", "product": { "upc": "p3", "name": "Lamp", "inStock": true, "price": 30 } },
            ]
        })
    );
    // A list of entities, each completed from two other subgraphs.
    let body = stack
        .gql(
            "{ products { upc reviewCount stock reviews { author { id } } } }",
            json!({}),
            None,
        )
        .await;
    assert_no_errors(&body);
    let products = body["data"]["products"].as_array().unwrap();
    assert_eq!(products.len(), 5);
    let counts: Vec<i64> = products
        .iter()
        .map(|p| p["reviewCount"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, [2, 1, 1, 2, 0]);
    let stock: Vec<i64> = products
        .iter()
        .map(|p| p["stock"].as_i64().unwrap())
        .collect();
    assert_eq!(stock, [3, 0, 12, 1, 0]);
    // @shareable: inventory's warehouses answer Product.name themselves.
    let body = stack
        .gql("{ warehouses { city products { name } } }", json!({}), None)
        .await;
    assert_no_errors(&body);
    assert_eq!(body["data"]["warehouses"][1]["products"][1]["name"], "Sofa");
    // Entities referencing back: review → user → the user's email is only for the user.
    let body = stack
        .gql(
            "{ me { reviews { author { id email } } } }",
            json!({}),
            Some(&token),
        )
        .await;
    assert_no_errors(&body);
    assert_eq!(
        body["data"]["me"]["reviews"][0]["author"]["id"],
        id.as_str()
    );
    assert_eq!(
        body["data"]["me"]["reviews"][1]["author"]["email"],
        "ann@example.com"
    );
}

pub async fn each_hop_is_one_entities_request_per_subgraph(mode: Mode) {
    let stack = Stack::start(mode).await;
    let before = stack.metrics().await;
    let body = stack
        .gql(
            "{ products { name inStock reviews { body product { name stock } } } }",
            json!({}),
            None,
        )
        .await;
    assert_no_errors(&body);
    let after = stack.metrics().await;
    let delta = |sg: &str| {
        let label = format!("subgraph=\"{sg}\"");
        counter(&after, "rialto_subgraph_fetches_total", &label)
            - counter(&before, "rialto_subgraph_fetches_total", &label)
    };
    // catalog: the root fetch, then once more for the reviews' products (level 2);
    // reviews: once for all five products; inventory: once at level 1 and once at level 2.
    assert_eq!(delta("catalog"), 2.0);
    assert_eq!(delta("reviews"), 1.0);
    assert_eq!(delta("inventory"), 2.0);
    // Latency per subgraph and requests per operation name are on /metrics too.
    assert!(
        after.contains("rialto_subgraph_fetch_duration_seconds"),
        "{after}"
    );
    stack
        .gql("query StockCheck { products { stock } }", json!({}), None)
        .await;
    let after = stack.metrics().await;
    assert!(
        counter(
            &after,
            "rialto_graphql_requests_total",
            "operation=\"StockCheck\""
        ) >= 1.0,
        "{after}"
    );
}

pub async fn a_rotated_signing_key_is_picked_up_from_the_jwks(mode: Mode) {
    let mut stack = Stack::start(mode).await;
    let (id, old_token) = stack.register("rot@example.com").await;
    let new_key = auth::keys::generate_key();
    let retired = auth::keys::public_pem(&first_key().verifying_key()).unwrap();
    stack
        .restart_auth(&auth::keys::private_pem(&new_key).unwrap(), &retired)
        .await;
    // A token signed with the new key has a kid the gateway has not seen: it fetches the
    // JWKS again and accepts it.
    let body = stack
        .gql(
            "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            json!({ "i": { "email": "rot@example.com", "password": PASSWORD } }),
            None,
        )
        .await;
    assert_no_errors(&body);
    let new_token = body["data"]["login"]["accessToken"].as_str().unwrap();
    assert_ne!(
        auth::keys::token_kid(new_token),
        auth::keys::token_kid(&old_token)
    );
    let who = format!("user:{id}:trader:read,trade");
    let body = stack.gql("{ whoami }", json!({}), Some(new_token)).await;
    assert_eq!(body["data"]["whoami"], who.as_str(), "{body}");
    // The old key is retired, not revoked: its tokens live out their five minutes.
    let body = stack.gql("{ whoami }", json!({}), Some(&old_token)).await;
    assert_eq!(body["data"]["whoami"], who.as_str(), "{body}");
}

pub async fn fragments_aliases_variables_and_directives_work_across_subgraphs(mode: Mode) {
    let stack = Stack::start(mode).await;
    let query = r#"
        query Catalog($first: Int!, $withStock: Boolean!, $skipName: Boolean = false) {
          cheap: products(first: $first) { ...Card }
          one: product(upc: "p4") { __typename label: name reviews { stars: rating } }
        }
        fragment Card on Product {
          upc
          name @skip(if: $skipName)
          ... @include(if: $withStock) { stock warehouse { city } }
          ... on Product { dimensions { width } }
        }"#;
    let body = stack
        .gql(query, json!({ "first": 2, "withStock": true }), None)
        .await;
    assert_no_errors(&body);
    assert_eq!(
        body["data"],
        json!({
            "cheap": [
                { "upc": "p1", "name": "Table", "stock": 3, "warehouse": { "city": "Amsterdam" }, "dimensions": { "width": 10 } },
                { "upc": "p2", "name": "Chair", "stock": 0, "warehouse": { "city": "Amsterdam" }, "dimensions": { "width": 20 } },
            ],
            "one": { "__typename": "Product", "label": "Desk", "reviews": [{ "stars": 4 }, { "stars": 3 }] }
        })
    );
    let body = stack
        .gql(
            query,
            json!({ "first": 1, "withStock": false, "skipName": true }),
            None,
        )
        .await;
    assert_no_errors(&body);
    assert_eq!(
        body["data"]["cheap"],
        json!([{ "upc": "p1", "dimensions": { "width": 10 } }])
    );
    // Bad variables are refused before anything runs.
    let body = stack
        .gql(query, json!({ "first": "two", "withStock": true }), None)
        .await;
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(code(&body["errors"][0]), "BAD_USER_INPUT");
}

pub async fn fragments_on_abstract_types_pick_the_right_fields(mode: Mode) {
    let stack = Stack::start(mode).await;
    let body = stack
        .gql(
            r#"{
              search(text: "l") {
                __typename
                ... on Product { upc inStock }
                ... on Category { name }
                ...NodeId
              }
              node(id: "product:p3") { id ... on Product { name reviewCount } }
            }
            fragment NodeId on Node { id }"#,
            json!({}),
            None,
        )
        .await;
    assert_no_errors(&body);
    let hits = body["data"]["search"].as_array().unwrap();
    assert!(hits.iter().any(|h| h
        == &json!({ "__typename": "Product", "upc": "p1", "inStock": true, "id": "product:p1" })));
    assert!(hits.iter().any(
        |h| h == &json!({ "__typename": "Category", "name": "Lighting", "id": "category:c2" })
    ));
    assert_eq!(
        body["data"]["node"],
        json!({ "id": "product:p3", "name": "Lamp", "reviewCount": 1 })
    );
}

pub async fn subgraph_errors_pass_through_with_the_clients_paths(mode: Mode) {
    let stack = Stack::start(mode).await;
    let body = stack
        .gql("{ echo(text: \"hi\") failing }", json!({}), None)
        .await;
    assert_eq!(body["data"], json!({ "echo": "hi", "failing": null }));
    assert_eq!(body["errors"][0]["message"], "catalog says no");
    assert_eq!(body["errors"][0]["path"], json!(["failing"]));
    assert_eq!(code(&body["errors"][0]), "FORBIDDEN");

    // An error inside `_entities` is reported at the client's path, never `_entities`.
    let body = stack
        .gql("{ topReviews(first: 3) { id flaky } }", json!({}), None)
        .await;
    let errors = body["errors"].as_array().expect("errors");
    assert!(!errors.is_empty());
    for e in errors {
        let path = e["path"].as_array().unwrap();
        assert_eq!(path[0], "topReviews", "{e}");
        assert!(!e.to_string().contains("_entities"), "{e}");
        assert!(!e.to_string().contains("\"_e"), "{e}");
    }
    let body = stack
        .gql(
            "{ products(first: 2) { upc topReviewFailing { id } } }",
            json!({}),
            None,
        )
        .await;
    let errors = body["errors"].as_array().expect("errors");
    let paths: Vec<&Value> = errors.iter().map(|e| &e["path"]).collect();
    assert!(
        paths.contains(&&json!(["products", 0, "topReviewFailing"])),
        "{body}"
    );
    assert!(
        paths.contains(&&json!(["products", 1, "topReviewFailing"])),
        "{body}"
    );
    assert!(errors.iter().all(|e| code(e) == "INTERNAL"), "{body}");
}

pub async fn nulls_propagate_across_subgraph_boundaries(mode: Mode) {
    let stack = Stack::start(mode).await;
    // topReviewFailing is non-null and fails in reviews: its product (nullable) becomes null.
    let body = stack
        .gql(
            "{ product(upc: \"p1\") { name topReviewFailing { body } } echo(text: \"still here\") }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(
        body["data"],
        json!({ "product": null, "echo": "still here" }),
        "{body}"
    );
    assert_eq!(
        body["errors"][0]["path"],
        json!(["product", "topReviewFailing"])
    );
    // In a non-null list of non-null products the null climbs to the root.
    let body = stack
        .gql(
            "{ topProduct { topReviewFailing { body } } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(body["data"], Value::Null, "{body}");
    // A non-null root field of the catalog itself.
    let body = stack
        .gql("{ failingNonNull echo(text: \"x\") }", json!({}), None)
        .await;
    assert_eq!(body["data"], Value::Null, "{body}");
    assert_eq!(body["errors"][0]["path"], json!(["failingNonNull"]));
    assert_eq!(
        body["errors"].as_array().unwrap().len(),
        1,
        "one error, not two: {body}"
    );
}

pub async fn introspection_shows_the_composed_schema_and_nothing_internal(mode: Mode) {
    let stack = Stack::start(mode).await;
    let body = stack
        .gql(
            "{ __schema { queryType { name } subscriptionType { name } types { name } } __type(name: \"Product\") { fields { name } } }",
            json!({}),
            None,
        )
        .await;
    assert_no_errors(&body);
    let types: Vec<&str> = body["data"]["__schema"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for t in [
        "Product",
        "Review",
        "Warehouse",
        "User",
        "AuthPayload",
        "SearchResult",
    ] {
        assert!(types.contains(&t), "{t} missing");
    }
    for t in ["_Service", "_Any", "_Entity", "join__Graph", "link__Import"] {
        assert!(!types.contains(&t), "{t} leaked");
    }
    assert_eq!(
        body["data"]["__schema"]["subscriptionType"]["name"],
        "Subscription"
    );
    let fields: Vec<&str> = body["data"]["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for f in ["upc", "name", "reviews", "inStock", "warehouse"] {
        assert!(fields.contains(&f), "Product.{f} missing");
    }
    let body = stack.gql("{ _service { sdl } }", json!({}), None).await;
    assert_eq!(code(&body["errors"][0]), "BAD_USER_INPUT", "{body}");
    let body = stack
        .gql(
            "{ _entities(representations: []) { __typename } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(code(&body["errors"][0]), "BAD_USER_INPUT", "{body}");
}

pub async fn mutation_fields_run_in_order(mode: Mode) {
    let stack = Stack::start(mode).await;
    let body = stack
        .gql(
            r#"mutation {
              a: appendLog(entry: "first")
              r: register(input: { email: "bo@example.com", password: "correct horse battery staple", displayName: "Bo" }) { user { email } }
              b: appendLog(entry: "second")
              p: setPrice(upc: "p2", price: 55) { price reviewCount }
            }"#,
            json!({}),
            None,
        )
        .await;
    assert_no_errors(&body);
    assert_eq!(body["data"]["a"], json!(["first"]));
    assert_eq!(body["data"]["r"]["user"]["email"], "bo@example.com");
    assert_eq!(body["data"]["b"], json!(["first", "second"]));
    assert_eq!(body["data"]["p"], json!({ "price": 55, "reviewCount": 1 }));
    let text = stack
        .raw(r#"mutation { b: appendLog(entry: "x") a: appendLog(entry: "y") }"#)
        .await;
    assert!(
        text.find("\"b\"").unwrap() < text.find("\"a\"").unwrap(),
        "{text}"
    );
}

pub async fn a_subscription_event_carries_fields_from_other_subgraphs(mode: Mode) {
    let stack = Stack::start(mode).await;
    let mut socket = ws_connect(&stack, None).await;
    ws_send(
        &mut socket,
        json!({ "type": "ping", "payload": { "n": 1 } }),
    )
    .await;
    assert_eq!(
        ws_next(&mut socket).await,
        json!({ "type": "pong", "payload": { "n": 1 } })
    );
    ws_send(
        &mut socket,
        json!({ "id": "t", "type": "subscribe", "payload": {
            "query": "subscription($n: Int!) { priceTicks(upc: \"p1\", count: $n, intervalMs: 5) { upc price inStock reviews { body } } }",
            "variables": { "n": 3 }
        }}),
    )
    .await;
    let mut prices = Vec::new();
    for _ in 0..3 {
        let msg = ws_next(&mut socket).await;
        assert_eq!(msg["type"], "next", "{msg}");
        assert_eq!(msg["id"], "t");
        let tick = &msg["payload"]["data"]["priceTicks"];
        assert_eq!(tick["inStock"], true, "{msg}");
        assert_eq!(
            tick["reviews"],
            json!([{ "body": "Solid" }, { "body": "Wobbly" }])
        );
        prices.push(tick["price"].as_i64().unwrap());
    }
    assert_eq!(prices, [101, 102, 103]);
    let done = ws_next(&mut socket).await;
    assert_eq!(done, json!({ "id": "t", "type": "complete" }));

    // A query over the socket answers once; a bad subscription is an `error` message.
    ws_send(
        &mut socket,
        json!({ "id": "q", "type": "subscribe", "payload": { "query": "{ product(upc: \"p2\") { name stock } }" } }),
    )
    .await;
    let msg = ws_next(&mut socket).await;
    assert_eq!(
        msg["payload"]["data"]["product"],
        json!({ "name": "Chair", "stock": 0 })
    );
    assert_eq!(ws_next(&mut socket).await["type"], "complete");
    ws_send(
        &mut socket,
        json!({ "id": "bad", "type": "subscribe", "payload": { "query": "subscription { nope }" } }),
    )
    .await;
    let msg = ws_next(&mut socket).await;
    assert_eq!(msg["type"], "error", "{msg}");
    assert_eq!(msg["id"], "bad");

    // Live updates: a mutation over HTTP reaches the subscriber, completed from reviews.
    ws_send(
        &mut socket,
        json!({ "id": "u", "type": "subscribe", "payload": { "query": "subscription { productUpdates(upc: \"p4\") { upc price reviewCount } }" } }),
    )
    .await;
    let update = tokio::time::timeout(Duration::from_secs(20), async {
        let mut price = 300;
        loop {
            // The subscription is live once an update arrives; keep nudging until it does.
            price += 1;
            stack
                .gql(
                    &format!("mutation {{ setPrice(upc: \"p4\", price: {price}) {{ price }} }}"),
                    json!({}),
                    None,
                )
                .await;
            let next = tokio::time::timeout(Duration::from_millis(300), ws_next(&mut socket)).await;
            if let Ok(msg) = next {
                return msg;
            }
        }
    })
    .await
    .expect("an update");
    assert_eq!(update["id"], "u");
    assert_eq!(
        update["payload"]["data"]["productUpdates"]["reviewCount"],
        2
    );
    ws_send(&mut socket, json!({ "id": "u", "type": "complete" })).await;
}

pub async fn the_callers_identity_reaches_subgraphs_and_a_forged_one_does_not(mode: Mode) {
    let stack = Stack::start(mode).await;
    let (id, token) = stack.register("cy@example.com").await;
    let body = stack.gql("{ whoami }", json!({}), Some(&token)).await;
    assert_eq!(
        body["data"]["whoami"],
        format!("user:{id}:trader:read,trade")
    );
    let body = stack.gql("{ whoami }", json!({}), None).await;
    assert_eq!(body["data"]["whoami"], "anonymous");

    // A client that sends the gateway's context header is not believed: only the gateway's
    // signature counts, and the gateway never forwards what a client sent.
    let forged = common::ContextSigner::new(b"not-the-secret-but-long-enough-000000")
        .unwrap()
        .sign(&common::SubgraphContext {
            caller: common::Caller::Known(common::Identity {
                user_id: uuid::Uuid::new_v4(),
                role: common::Role::Admin,
                scopes: vec![common::Scope::Read, common::Scope::Trade],
                credential: common::Credential::AccessToken {
                    jti: "x".into(),
                    session: None,
                    issued_at: 0,
                },
                expires_at: None,
            }),
            meta: Default::default(),
        })
        .unwrap();
    let resp: Value = stack
        .client
        .post(stack.url("/graphql"))
        .header("x-rialto-context", forged)
        .json(&json!({ "query": "{ whoami me { id } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resp["data"]["whoami"], "anonymous", "{resp}");
    assert_eq!(resp["data"]["me"], Value::Null);

    // The request id and W3C trace context travel to the subgraph.
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let resp: Value = stack
        .client
        .post(stack.url("/graphql"))
        .header("x-request-id", "req-42")
        .header("traceparent", traceparent)
        .json(&json!({ "query": "{ requestId traceparent }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        resp["data"],
        json!({ "requestId": "req-42", "traceparent": traceparent })
    );

    // The socket's identity comes from connection_init.
    let mut socket = ws_connect(&stack, Some(&token)).await;
    ws_send(
        &mut socket,
        json!({ "id": "w", "type": "subscribe", "payload": { "query": "{ whoami }" } }),
    )
    .await;
    let msg = ws_next(&mut socket).await;
    assert_eq!(
        msg["payload"]["data"]["whoami"],
        format!("user:{id}:trader:read,trade")
    );
}

pub async fn api_keys_work_through_the_gateway_until_revoked(mode: Mode) {
    let stack = Stack::start(mode).await;
    let (id, token) = stack.register("di@example.com").await;
    let body = stack
        .gql(
            "mutation { createApiKey(name: \"bot\", scopes: [READ]) { secret apiKey { id } } }",
            json!({}),
            Some(&token),
        )
        .await;
    assert_no_errors(&body);
    let key = body["data"]["createApiKey"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let key_id = body["data"]["createApiKey"]["apiKey"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = stack.gql("{ whoami }", json!({}), Some(&key)).await;
    assert_eq!(body["data"]["whoami"], format!("user:{id}:trader:read"));
    let body = stack
        .gql(
            "mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }",
            json!({ "id": key_id }),
            Some(&token),
        )
        .await;
    assert_no_errors(&body);
    // Revocation takes effect within the gateway's key cache lifetime (seconds).
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let body = stack.gql("{ me { id } }", json!({}), Some(&key)).await;
            if body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("the revoked key is refused within seconds");
}

pub async fn a_batch_runs_every_operation_and_too_big_a_batch_is_refused(mode: Mode) {
    let stack = Stack::start(mode).await;
    let resp: Value = stack
        .client
        .post(stack.url("/graphql"))
        .json(&json!([
            { "query": "{ topProduct { name } }" },
            { "query": "query($u: String!) { product(upc: $u) { stock } }", "variables": { "u": "p3" } },
            { "query": "{ nope }" },
        ]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resp[0]["data"]["topProduct"]["name"], "Table");
    assert_eq!(resp[1]["data"]["product"]["stock"], 12);
    assert_eq!(code(&resp[2]["errors"][0]), "BAD_USER_INPUT");
    let batch: Vec<Value> = (0..1_000)
        .map(|_| json!({ "query": "{ echo(text: \"x\") }" }))
        .collect();
    let resp = stack
        .client
        .post(stack.url("/graphql"))
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body["errors"][0]), "BAD_USER_INPUT");
}

pub async fn abusive_operations_are_refused_before_any_subgraph_is_called(mode: Mode) {
    let stack = Stack::start(mode).await;
    // 50 levels through Product.category.products...
    let mut deep = String::from("{ topProduct { ");
    for _ in 0..25 {
        deep.push_str("category { products { ");
    }
    deep.push_str("upc");
    deep.push_str(&" } }".repeat(25));
    deep.push_str(" } }");
    let body = stack.gql(&deep, json!({}), None).await;
    assert_eq!(code(&body["errors"][0]), "BAD_USER_INPUT", "{body}");
    assert!(body.get("data").is_none());
    // 10,000 aliases.
    let wide = format!(
        "{{ {} }}",
        (0..10_000)
            .map(|i| format!("a{i}: echo(text: \"x\")"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let body = stack.gql(&wide, json!({}), None).await;
    assert_eq!(code(&body["errors"][0]), "BAD_USER_INPUT", "{body}");
    // 100 aliases: within the token limit, over the alias limit.
    let wide = format!(
        "{{ {} }}",
        (0..100)
            .map(|i| format!("a{i}: echo(text: \"x\")"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let body = stack.gql(&wide, json!({}), None).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("aliases"),
        "{body}"
    );
    // A 10 MB body.
    assert_eq!(stack.status_for_body_of(10 * 1024 * 1024).await, 413);
}

pub async fn a_slow_subgraph_times_out_with_a_typed_error(mode: Mode) {
    let stack = Stack::start_with(mode, &["--upstream-timeout-secs", "1"]).await;
    let started = std::time::Instant::now();
    let body = stack
        .gql("{ slow(ms: 5000) warehouses { code } }", json!({}), None)
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    // The catalog's root fetch failed: slow is non-null, so data is null; the error says why.
    assert_eq!(body["data"], Value::Null, "{body}");
    assert_eq!(body["errors"][0]["path"], json!(["slow"]));
    assert_eq!(code(&body["errors"][0]), "INTERNAL");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("catalog"),
        "{body}"
    );
}

pub async fn an_upstream_drop_ends_the_subscription_with_an_error(mode: Mode) {
    let mut stack = Stack::start(mode).await;
    let mut socket = ws_connect(&stack, None).await;
    ws_send(
        &mut socket,
        json!({ "id": "s", "type": "subscribe", "payload": { "query": "subscription { priceTicks(upc: \"p1\", count: 1000, intervalMs: 50) { price } }" } }),
    )
    .await;
    assert_eq!(ws_next(&mut socket).await["type"], "next");
    stack.proc("catalog").kill().await;
    let msg = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let m = ws_next(&mut socket).await;
            if m["type"] != "next" {
                return m;
            }
        }
    })
    .await
    .expect("the subscription ends");
    assert_eq!(msg["type"], "error", "{msg}");
    assert_eq!(msg["id"], "s");
    assert!(
        msg["payload"][0]["message"]
            .as_str()
            .unwrap()
            .contains("catalog"),
        "{msg}"
    );
    // The client socket itself stays usable.
    ws_send(
        &mut socket,
        json!({ "id": "q", "type": "subscribe", "payload": { "query": "{ warehouses { code } }" } }),
    )
    .await;
    assert_eq!(ws_next(&mut socket).await["type"], "next");
}

pub async fn a_down_subgraph_fails_only_its_fields_and_readiness(mode: Mode) {
    let mut stack = Stack::start(mode).await;
    stack.proc("inventory").kill().await;
    let body = stack
        .gql(
            "{ products(first: 1) { name stock } topReviews(first: 1) { body } }",
            json!({}),
            None,
        )
        .await;
    // stock is non-null: the product goes, the list is non-null too, so products → data null?
    // products is [Product!]!, so the null reaches the root; the reviews answer is lost with it.
    assert_eq!(body["data"], Value::Null, "{body}");
    assert!(
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"] == json!(["products", 0]) && code(e) == "INTERNAL"),
        "{body}"
    );
    let body = stack
        .gql("{ topReviews(first: 1) { body } }", json!({}), None)
        .await;
    assert_no_errors(&body);
    let ready = stack.client.get(stack.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
}
