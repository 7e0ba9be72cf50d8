//! The client against a scripted `/graphql` (a stand-in for Rialto on a random port): what
//! it sends (the operation, the bearer token) and how it reads each kind of answer.

#![allow(clippy::expect_used, missing_docs)]

use std::time::Duration;

use axum::{
    Json, Router,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use client::{Client, ClientError, NewOrder};
use serde_json::{Value, json};

const SESSION: &str = r#"{ "accessToken": "access-2", "refreshToken": "refresh-2",
    "accessTokenExpiresAt": "2030-01-02T03:04:05Z", "user": { "id": "u-1", "role": "ADMIN" } }"#;

/// Answers by what the operation asks for.
async fn graphql(headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let query = body["query"].as_str().unwrap_or_default();
    let vars = &body["variables"];
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let session: Value = serde_json::from_str(SESSION).expect("json");
    if query.contains("login(") {
        assert!(query.contains("accessTokenExpiresAt") && query.contains("role"));
        if vars["i"]["password"] != "right" {
            return Json(
                json!({ "data": null, "errors": [{ "message": "wrong email or password",
                "extensions": { "code": "UNAUTHENTICATED" } }] }),
            )
            .into_response();
        }
        return Json(json!({ "data": { "login": session } })).into_response();
    }
    if query.contains("refresh(") {
        assert_eq!(vars["t"], "refresh-1");
        return Json(json!({ "data": { "refresh": session } })).into_response();
    }
    if query.contains("placeOrder") {
        let i = &vars["i"];
        assert_eq!(bearer, "Bearer access-2");
        assert_eq!(
            (
                &i["market"],
                &i["side"],
                &i["type"],
                &i["price"],
                &i["quantity"]
            ),
            (
                &json!("ACME-USD"),
                &json!("BUY"),
                &json!("LIMIT"),
                &json!("25.00"),
                &json!("3")
            )
        );
        assert_eq!(
            (&i["timeInForce"], &i["clientOrderId"]),
            (&json!("IOC"), &json!("c-1"))
        );
        return Json(json!({ "data": { "placeOrder": {
            "id": "7", "status": "FILLED", "filledQuantity": "3" } } }))
        .into_response();
    }
    if query.contains("busy") {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({ "errors": [{ "message": "slow down",
                "extensions": { "code": "RATE_LIMITED" } }] })),
        )
            .into_response();
    }
    if query.contains("broken") {
        return (StatusCode::BAD_GATEWAY, "upstream gone").into_response();
    }
    if query.contains("slow") {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    Json(json!({ "data": { "echo": bearer } })).into_response()
}

async fn serve() -> Client {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, Router::new().route("/graphql", post(graphql)))
            .await
            .expect("serve");
    });
    Client::new(format!("http://{addr}/graphql"))
}

#[tokio::test]
async fn signing_in_gives_a_typed_session_and_a_signed_in_client() {
    let base = serve().await;
    let refused = base
        .login("a@example.com", "wrong")
        .await
        .expect_err("refused");
    assert_eq!(refused.code(), Some("UNAUTHENTICATED"));

    let (admin, session) = base.login("a@example.com", "right").await.expect("login");
    assert_eq!(
        (session.user.id.as_str(), session.user.role.as_str()),
        ("u-1", "ADMIN")
    );
    assert_eq!(
        session.access_token_expires_at.to_rfc3339(),
        "2030-01-02T03:04:05+00:00"
    );
    let echo: Value = admin.execute("{ echo }", json!({})).await.expect("echo");
    assert_eq!(echo["echo"], "Bearer access-2");
    let anonymous: Value = base.execute("{ echo }", json!({})).await.expect("echo");
    assert_eq!(anonymous["echo"], "");

    let (fresh, rotated) = base.refresh("refresh-1").await.expect("refresh");
    assert_eq!(rotated.refresh_token, "refresh-2");
    let echo: Value = fresh.execute("{ echo }", json!({})).await.expect("echo");
    assert_eq!(echo["echo"], "Bearer access-2");
}

#[tokio::test]
async fn an_order_is_placed_with_every_field_it_names() {
    let trader = serve().await.with_token("access-2");
    let placed = trader
        .place_order(&NewOrder {
            market: "ACME-USD",
            side: "BUY",
            kind: "LIMIT",
            price: Some("25.00".into()),
            quantity: "3".into(),
            time_in_force: Some("IOC"),
            client_order_id: Some("c-1".into()),
            ..NewOrder::default()
        })
        .await
        .expect("placed");
    assert_eq!(
        (
            placed.id.as_str(),
            placed.status.as_str(),
            placed.filled_quantity.as_str()
        ),
        ("7", "FILLED", "3")
    );
}

#[tokio::test]
async fn refusals_statuses_and_timeouts_are_told_apart() {
    let base = serve().await;
    let limited = base
        .execute::<Value>("{ busy }", json!({}))
        .await
        .expect_err("limited");
    assert_eq!(limited.code(), Some("RATE_LIMITED"));

    match base.execute::<Value>("{ broken }", json!({})).await {
        Err(ClientError::Http { status, body }) => {
            assert_eq!((status, body.as_str()), (502, "upstream gone"));
        }
        other => panic!("expected an HTTP error, got {other:?}"),
    }

    let impatient = base.clone().with_timeout(Duration::from_millis(100));
    match impatient.execute::<Value>("{ slow }", json!({})).await {
        Err(ClientError::Transport(e)) => assert!(e.is_timeout(), "{e}"),
        other => panic!("expected a timeout, got {other:?}"),
    }

    let bad_token = base.with_token("line\nbreak");
    assert!(matches!(
        bad_token.execute::<Value>("{ echo }", json!({})).await,
        Err(ClientError::Decode(_))
    ));
}
