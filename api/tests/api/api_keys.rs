//! Integrators' API keys: shown once, usable as a bearer, scoped, revocable at once.

use serde_json::{Value, json};

use crate::helpers::*;

const CREATE: &str = "mutation($n: String!, $s: [ApiScope!]!) { createApiKey(name: $n, scopes: $s) { secret apiKey { id name prefix scopes createdAt lastUsedAt revokedAt } } }";
const REVOKE: &str = "mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }";

async fn create_key(app: &TestApp, session: &Session, scopes: Value) -> (String, String) {
    let body = app
        .gql(
            CREATE,
            json!({ "n": "my bot", "s": scopes }),
            Some(&session.access_token),
        )
        .await;
    assert_no_errors(&body);
    let created = &body["data"]["createApiKey"];
    (
        created["secret"].as_str().unwrap().to_string(),
        created["apiKey"]["id"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn an_api_key_is_created_used_listed_and_revoked() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;
    let (secret, id) = create_key(&app, &ann, json!(["READ", "TRADE"])).await;

    // It authenticates like a token.
    let me = app.me(&secret).await;
    assert_no_errors(&me);
    assert_eq!(me["data"]["me"]["id"], ann.user_id.as_str());

    // It is listed by prefix, never by secret.
    let list = app
        .gql(
            "{ apiKeys { id name prefix scopes lastUsedAt revokedAt } }",
            json!({}),
            Some(&ann.access_token),
        )
        .await;
    assert_no_errors(&list);
    let key = &list["data"]["apiKeys"][0];
    assert_eq!(key["id"], id.as_str());
    assert!(secret.starts_with(key["prefix"].as_str().unwrap()));
    assert!(
        !list.to_string().contains(&secret),
        "the secret is never listed"
    );
    assert!(key["lastUsedAt"].is_string(), "use is recorded");
    assert_eq!(key["scopes"], json!(["READ", "TRADE"]));

    // Revoked, it fails at once.
    let revoked = app
        .gql(REVOKE, json!({ "id": id }), Some(&ann.access_token))
        .await;
    assert_no_errors(&revoked);
    assert!(revoked["data"]["revokeApiKey"]["revokedAt"].is_string());
    assert_eq!(error_code(&app.me(&secret).await), "UNAUTHENTICATED");

    assert_eq!(
        app.session_log(Some(&ann.user_id)).await,
        ["register", "api_key_created", "api_key_revoked"]
    );
}

#[tokio::test]
async fn a_read_key_carries_only_read_and_cannot_mint_keys() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;
    let (secret, _) = create_key(&app, &ann, json!(["READ"])).await;

    let scopes = app.gql("{ myScopes }", json!({}), Some(&secret)).await;
    assert_eq!(scopes["data"]["myScopes"], json!(["READ"]));
    let session_scopes = app
        .gql("{ myScopes }", json!({}), Some(&ann.access_token))
        .await;
    assert_eq!(session_scopes["data"]["myScopes"], json!(["READ", "TRADE"]));

    let escalate = app
        .gql(
            CREATE,
            json!({ "n": "escalate", "s": ["TRADE"] }),
            Some(&secret),
        )
        .await;
    assert_eq!(error_code(&escalate), "FORBIDDEN");
}

#[tokio::test]
async fn a_key_needs_a_name_and_a_scope() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;
    let no_scope = app
        .gql(
            CREATE,
            json!({ "n": "bot", "s": [] }),
            Some(&ann.access_token),
        )
        .await;
    assert_eq!(error_code(&no_scope), "BAD_USER_INPUT");
    let no_name = app
        .gql(
            CREATE,
            json!({ "n": "   ", "s": ["READ"] }),
            Some(&ann.access_token),
        )
        .await;
    assert_eq!(error_code(&no_name), "BAD_USER_INPUT");
    let anonymous = app
        .gql(CREATE, json!({ "n": "bot", "s": ["READ"] }), None)
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
}

#[tokio::test]
async fn another_users_key_cannot_be_revoked() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;
    let bob = app.register("bob@example.com").await;
    let (secret, id) = create_key(&app, &ann, json!(["TRADE"])).await;

    let body = app
        .gql(REVOKE, json!({ "id": id }), Some(&bob.access_token))
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let garbage = app
        .gql(
            REVOKE,
            json!({ "id": "not-a-uuid" }),
            Some(&bob.access_token),
        )
        .await;
    assert_eq!(error_code(&garbage), "NOT_FOUND");
    assert_no_errors(&app.me(&secret).await);
}
