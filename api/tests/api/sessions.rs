//! Sessions: refresh tokens rotate, a reused one ends the session, logout and a password
//! change end sessions.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn refreshing_rotates_the_refresh_token() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;

    let body = app.try_refresh(&ann.refresh_token).await;
    assert_no_errors(&body);
    let next = &body["data"]["refresh"];
    let next_refresh = next["refreshToken"].as_str().unwrap();
    assert_ne!(
        next_refresh, ann.refresh_token,
        "a new refresh token every time"
    );
    assert_no_errors(&app.me(next["accessToken"].as_str().unwrap()).await);

    // The new one works once more; the chain goes on.
    assert_no_errors(&app.try_refresh(next_refresh).await);
    assert_eq!(
        app.session_log(Some(&ann.user_id)).await,
        ["register", "refresh", "refresh"]
    );
}

#[tokio::test]
async fn reusing_a_spent_refresh_token_ends_the_whole_session() {
    // Outside any grace window (tokens.rs tells the story of a retry within it).
    let app = spawn_app_with(|c| c.auth.refresh_grace_secs = 0).await;
    let ann = app.register("ann@example.com").await;
    let rotated = app.try_refresh(&ann.refresh_token).await;
    let newer = rotated["data"]["refresh"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();

    // A thief replays the spent token...
    let replay = app.try_refresh(&ann.refresh_token).await;
    assert_eq!(error_code(&replay), "UNAUTHENTICATED");
    // ...and the newer token of the same family is dead too.
    let after = app.try_refresh(&newer).await;
    assert_eq!(error_code(&after), "UNAUTHENTICATED");

    // Another session of the same user is unaffected.
    let other = app.login("ann@example.com", PASSWORD).await;
    assert_no_errors(&app.try_refresh(&other.refresh_token).await);

    let log = app.session_log(Some(&ann.user_id)).await;
    assert_eq!(
        log,
        ["register", "refresh", "refresh_reuse", "login", "refresh"]
    );
}

#[tokio::test]
async fn an_unknown_refresh_token_is_refused() {
    let app = spawn_app().await;
    let body = app.try_refresh("not-a-token").await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn logging_out_ends_the_session() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;
    let logout = "mutation($t: String!) { logout(refreshToken: $t) }";

    let body = app
        .gql(logout, json!({ "t": ann.refresh_token }), None)
        .await;
    assert_no_errors(&body);
    assert_eq!(body["data"]["logout"], true);
    assert_eq!(
        error_code(&app.try_refresh(&ann.refresh_token).await),
        "UNAUTHENTICATED"
    );

    // Logging out twice is harmless and says nothing was ended.
    let again = app
        .gql(logout, json!({ "t": ann.refresh_token }), None)
        .await;
    assert_eq!(again["data"]["logout"], false);
    assert_eq!(
        app.session_log(Some(&ann.user_id)).await,
        ["register", "logout"]
    );
}

const CHANGE_PASSWORD: &str =
    "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";
const NEW_PASSWORD: &str = "violet tractor harbour lantern";

#[tokio::test]
async fn changing_the_password_ends_every_session() {
    let app = spawn_app().await;
    let first = app.register("ann@example.com").await;
    let second = app.login("ann@example.com", PASSWORD).await;

    let body = app
        .gql(
            CHANGE_PASSWORD,
            json!({ "c": PASSWORD, "n": NEW_PASSWORD }),
            Some(&second.access_token),
        )
        .await;
    assert_no_errors(&body);
    assert_eq!(body["data"]["changePassword"], true);

    for session in [&first, &second] {
        assert_eq!(
            error_code(&app.try_refresh(&session.refresh_token).await),
            "UNAUTHENTICATED"
        );
    }
    assert_eq!(
        error_code(&app.try_login("ann@example.com", PASSWORD).await),
        "UNAUTHENTICATED"
    );
    app.login("ann@example.com", NEW_PASSWORD).await;

    let log = app.session_log(Some(&first.user_id)).await;
    assert_eq!(
        log,
        [
            "register",
            "login",
            "password_change",
            "login_failed",
            "login"
        ]
    );
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_a_strong_new_one() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;

    let wrong = app
        .gql(
            CHANGE_PASSWORD,
            json!({ "c": "not my password at all", "n": NEW_PASSWORD }),
            Some(&ann.access_token),
        )
        .await;
    assert_eq!(error_code(&wrong), "BAD_USER_INPUT");
    let weak = app
        .gql(
            CHANGE_PASSWORD,
            json!({ "c": PASSWORD, "n": "password1" }),
            Some(&ann.access_token),
        )
        .await;
    assert_eq!(error_code(&weak), "BAD_USER_INPUT");
    let anonymous = app
        .gql(
            CHANGE_PASSWORD,
            json!({ "c": PASSWORD, "n": NEW_PASSWORD }),
            None,
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");

    // Nothing changed: the old password and session still work.
    assert_no_errors(&app.try_refresh(&ann.refresh_token).await);
    app.login("ann@example.com", PASSWORD).await;
}
