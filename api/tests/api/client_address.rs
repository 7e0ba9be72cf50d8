//! Behind a proxy: the client address that login throttling, rate limits and the session
//! log see comes from `X-Forwarded-For` only when a trusted proxy sent the request, and a
//! client cannot choose it by writing the header itself.

use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, assert_no_errors, spawn_app_with};

/// Registers `email` through a request carrying these `X-Forwarded-For` values; returns the
/// address the session log recorded for the sign-up.
async fn signs_up_from(app: &TestApp, email: &str, forwarded_for: &[&str]) -> String {
    let mut req = app.client.post(app.url("/graphql")).json(&json!({
        "query": "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }",
        "variables": { "i": { "email": email, "password": PASSWORD, "displayName": "T" } },
    }));
    for v in forwarded_for {
        req = req.header("x-forwarded-for", *v);
    }
    let body: serde_json::Value = req.send().await.unwrap().json().await.unwrap();
    assert_no_errors(&body);
    let id = body["data"]["register"]["user"]["id"].as_str().unwrap();
    let rows = app.session_rows(id).await;
    rows.last()
        .and_then(|r| r.ip.clone())
        .unwrap_or_else(|| panic!("no address logged for {email}: {rows:?}"))
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_a_trusted_proxy_and_never_as_the_client_wrote_it() {
    // This test's own connections come from 127.0.0.1: here they play the proxy, and
    // 10.0.0.0/8 is the network of a second proxy in front of it.
    let app = spawn_app_with(|c| {
        c.http.trust_forwarded_for = ["127.0.0.1/32", "10.0.0.0/8"]
            .map(|s| api::edge::parse_trusted_network(s).unwrap())
            .to_vec();
    })
    .await;

    // The proxy appends the address it saw.
    assert_eq!(
        signs_up_from(&app, "ann@example.com", &["203.0.113.7"]).await,
        "203.0.113.7"
    );
    // Mallory writes the header herself, naming someone else's address; the proxy appends
    // hers after it. She is still herself.
    assert_eq!(
        signs_up_from(&app, "mallory@example.com", &["198.51.100.1, 203.0.113.66"]).await,
        "203.0.113.66"
    );
    // Through both proxies: the hop the outer proxy (10.1.2.3) appended.
    assert_eq!(
        signs_up_from(
            &app,
            "bob@example.com",
            &["198.51.100.1, 203.0.113.8, 10.1.2.3"]
        )
        .await,
        "203.0.113.8"
    );

    // A server that trusts only the outer proxy's network: a request straight from
    // 127.0.0.1 is no proxy's, so its header is ignored.
    let direct = spawn_app_with(|c| {
        c.http.trust_forwarded_for = vec![api::edge::parse_trusted_network("10.0.0.0/8").unwrap()];
    })
    .await;
    assert_eq!(
        signs_up_from(&direct, "eve@example.com", &["203.0.113.9"]).await,
        "127.0.0.1"
    );
}

#[test]
fn the_option_takes_a_list_of_networks_and_refuses_the_old_true() {
    let rialto = || std::process::Command::new(env!("CARGO_BIN_EXE_rialto"));
    let out = rialto()
        .args([
            "serve",
            "--trust-forwarded-for",
            "true",
            "--listen",
            "not-used",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("10.0.0.0/8"),
        "says what to write instead: {err}"
    );

    let out = rialto().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("--trust-forwarded-for <NETWORKS>")
            && help.contains("[env: RIALTO_TRUST_FORWARDED_FOR=]"),
        "{help}"
    );
}
