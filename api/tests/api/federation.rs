//! The auth subgraph (`rialto auth`) as a federation member: Federation v2 SDL and `User`
//! entities.

use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn the_subgraph_sdl_is_federation_v2_with_a_user_entity() {
    let app = spawn_auth_subgraph().await;
    let body = app.gql("{ _service { sdl } }", json!({}), None).await;
    assert_no_errors(&body);
    let sdl = body["data"]["_service"]["sdl"].as_str().unwrap();
    assert!(sdl.contains("extend schema @link("), "{sdl}");
    assert!(
        sdl.contains("url: \"https://specs.apollo.dev/federation/v2."),
        "{sdl}"
    );
    assert!(sdl.contains("type CreatedApiKey {"), "{sdl}");
    assert!(sdl.contains("type User @key(fields: \"id\")"), "{sdl}");
    assert!(sdl.contains("type Query"), "{sdl}");
    assert!(sdl.contains("type Mutation"), "{sdl}");
    assert!(
        !sdl.contains("schema {"),
        "no schema block: root types carry their default names"
    );
    for field in [
        "register(",
        "login(",
        "refresh(",
        "logout(",
        "changePassword(",
        "createApiKey(",
        "revokeApiKey(",
        "me:",
        "apiKeys:",
    ] {
        assert!(sdl.contains(field), "missing {field} in {sdl}");
    }
}

#[tokio::test]
async fn user_representations_resolve_and_a_missing_user_is_null() {
    let app = spawn_auth_subgraph().await;
    let ann = app.register("ann@example.com").await;
    let bob = app.register("bob@example.com").await;
    let query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id displayName role } } }";
    let reps = json!([
        { "__typename": "User", "id": ann.user_id },
        { "__typename": "User", "id": "00000000-0000-0000-0000-000000000000" },
        { "__typename": "User", "id": "not-a-uuid" },
        { "__typename": "User", "id": bob.user_id },
    ]);
    let body = app
        .gql(query, json!({ "r": reps }), Some(&ann.access_token))
        .await;
    assert_no_errors(&body);
    let entities = &body["data"]["_entities"];
    assert_eq!(entities[0]["id"], ann.user_id.as_str());
    assert_eq!(entities[0]["role"], "TRADER");
    assert_eq!(entities[1], Value::Null);
    assert_eq!(entities[2], Value::Null);
    assert_eq!(entities[3]["id"], bob.user_id.as_str());
}

#[tokio::test]
async fn another_users_email_is_not_revealed_through_entities() {
    let app = spawn_auth_subgraph().await;
    let ann = app.register("ann@example.com").await;
    let bob = app.register("bob@example.com").await;
    let query =
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email } } }";
    let own = app
        .gql(
            query,
            json!({ "r": [{ "__typename": "User", "id": ann.user_id }] }),
            Some(&ann.access_token),
        )
        .await;
    assert_no_errors(&own);
    assert_eq!(own["data"]["_entities"][0]["email"], "ann@example.com");
    let other = app
        .gql(
            query,
            json!({ "r": [{ "__typename": "User", "id": bob.user_id }] }),
            Some(&ann.access_token),
        )
        .await;
    assert_eq!(error_code(&other), "FORBIDDEN");
    assert!(!other.to_string().contains("bob@example.com"));
}
