//! A trader signs up, signs in and sees their account; bad input changes nothing.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_new_trader_signs_up_signs_in_and_sees_their_account() {
    let app = spawn_app().await;

    let signed_up = app.register("  Ann.Lee@Example.COM ").await;
    assert_eq!(
        signed_up.email, "ann.lee@example.com",
        "emails are trimmed and lower-cased"
    );

    let me = app.me(&signed_up.access_token).await;
    assert_no_errors(&me);
    assert_eq!(me["data"]["me"]["id"], signed_up.user_id.as_str());
    assert_eq!(me["data"]["me"]["email"], "ann.lee@example.com");
    assert_eq!(me["data"]["me"]["role"], "TRADER");

    let signed_in = app.login("ANN.LEE@example.com", PASSWORD).await;
    assert_eq!(signed_in.user_id, signed_up.user_id);
    assert_ne!(signed_in.refresh_token, signed_up.refresh_token);

    let rows = app.session_rows(&signed_up.user_id).await;
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["register", "login"]);
    assert!(
        rows.iter().all(|r| r.ip.as_deref() == Some("127.0.0.1")),
        "the client address is logged"
    );
}

#[tokio::test]
async fn an_anonymous_caller_has_no_account() {
    let app = spawn_app().await;
    let body = app.gql("{ me { id } myScopes }", json!({}), None).await;
    assert_no_errors(&body);
    assert_eq!(body["data"]["me"], serde_json::Value::Null);
    assert_eq!(body["data"]["myScopes"], json!([]));
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_fail_identically() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;

    let wrong_password = app
        .try_login("ann@example.com", "not the right password at all")
        .await;
    let unknown_email = app
        .try_login("nobody@example.com", "not the right password at all")
        .await;

    assert_eq!(error_code(&wrong_password), "UNAUTHENTICATED");
    assert_eq!(
        wrong_password["errors"], unknown_email["errors"],
        "same code, message and shape"
    );
    assert_eq!(wrong_password["data"], unknown_email["data"]);

    assert_eq!(
        app.session_log(Some(&ann.user_id)).await,
        ["register", "login_failed"]
    );
    assert_eq!(
        app.session_log(None).await,
        ["login_failed"],
        "the unknown email is logged without an account"
    );
}

#[tokio::test]
async fn weak_common_and_overlong_passwords_are_refused_as_bad_input() {
    let app = spawn_app().await;
    let too_long = "Zq8!vW3#".repeat(17); // 136 characters
    for password in [
        "short1!",
        "password",
        "password123",
        "12345678",
        "qwertyuiop",
        "iloveyou",
        &too_long,
    ] {
        let body = app.try_register("ann@example.com", password).await;
        assert_eq!(
            error_code(&body),
            "BAD_USER_INPUT",
            "{password:?} must be refused: {body}"
        );
    }
    // Nothing was created: the address is still free.
    app.register("ann@example.com").await;
}

#[tokio::test]
async fn malformed_emails_are_refused_as_bad_input() {
    let app = spawn_app().await;
    for email in [
        "",
        "ann",
        "ann@",
        "@example.com",
        "ann@localhost",
        "ann smith@example.com",
        "ann@@example.com",
    ] {
        let body = app.try_register(email, PASSWORD).await;
        assert_eq!(
            error_code(&body),
            "BAD_USER_INPUT",
            "{email:?} must be refused: {body}"
        );
    }
}

#[tokio::test]
async fn signing_up_twice_with_one_email_is_a_conflict() {
    let app = spawn_app().await;
    app.register("ann@example.com").await;
    let again = app.try_register(" ANN@example.com", PASSWORD).await;
    assert_eq!(error_code(&again), "CONFLICT");
}

#[tokio::test]
async fn repeated_login_attempts_on_one_account_are_rate_limited() {
    let app = spawn_app_with(|c| c.auth.login_attempts_per_account = 3.try_into().unwrap()).await;
    app.register("ann@example.com").await;
    for _ in 0..3 {
        let body = app
            .try_login("ann@example.com", "wrong password for ann")
            .await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED");
    }
    // Even the right password waits now.
    let limited = app.try_login("ann@example.com", PASSWORD).await;
    assert_eq!(error_code(&limited), "RATE_LIMITED");
    assert!(
        limited["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap()
            >= 1
    );
    // Another account is not affected.
    app.register("bob@example.com").await;
    app.login("bob@example.com", PASSWORD).await;
}

#[tokio::test]
async fn repeated_attempts_from_one_address_are_rate_limited() {
    let app = spawn_app_with(|c| c.auth.login_attempts_per_ip = 4.try_into().unwrap()).await;
    app.register("ann@example.com").await; // one attempt
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        let body = app.try_login(email, "some wrong password here").await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED");
    }
    let limited = app
        .try_login("d@example.com", "some wrong password here")
        .await;
    assert_eq!(error_code(&limited), "RATE_LIMITED");
}
