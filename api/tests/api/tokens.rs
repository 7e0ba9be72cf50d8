//! Forged and stale access tokens are refused with UNAUTHENTICATED. Each forgery is built
//! next to a control token signed exactly like the server does, so the harness itself is
//! proven to produce tokens the server accepts. Refresh tokens hold up under concurrency: a
//! replay racing a refresh leaves nothing of the session alive, and a client that lost a
//! refresh response may retry once within the grace window.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::*;
use entity::refresh_tokens;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

struct Forge {
    key: EncodingKey,
    kid: String,
    jwks: Value,
}

impl Forge {
    async fn new(app: &TestApp) -> Self {
        let pem = std::fs::read(app.data_dir.join("keys/signing.pem")).unwrap();
        let jwks: Value = app.get_json("/.well-known/jwks.json").await;
        let kid = jwks["keys"][0]["kid"].as_str().unwrap().to_string();
        Self {
            key: EncodingKey::from_ed_pem(&pem).unwrap(),
            kid,
            jwks,
        }
    }

    fn claims(user_id: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({ "sub": user_id, "role": "trader", "scopes": ["read", "trade"], "iss": "rialto",
                "aud": "rialto-api", "iat": now, "exp": now + 300, "jti": "forged" })
    }

    fn sign(&self, claims: &Value, kid: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = kid.map(str::to_string);
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }
}

fn unsigned(header: Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

#[tokio::test]
async fn forged_expired_and_misdirected_tokens_are_refused() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;
    let forge = Forge::new(&app).await;
    let claims = Forge::claims(&ann.user_id);

    // Control: a token made like the server makes them is accepted.
    let control = forge.sign(&claims, Some(&forge.kid));
    let me = app.me(&control).await;
    assert_no_errors(&me);
    assert_eq!(me["data"]["me"]["id"], ann.user_id.as_str());

    let mut expired = claims.clone();
    expired["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
    expired["iat"] = json!(chrono::Utc::now().timestamp() - 3900);
    let mut wrong_aud = claims.clone();
    wrong_aud["aud"] = json!("someone-else");
    let mut wrong_iss = claims.clone();
    wrong_iss["iss"] = json!("evil");

    let public_x = URL_SAFE_NO_PAD
        .decode(forge.jwks["keys"][0]["x"].as_str().unwrap())
        .unwrap();
    let hs256 = |secret: &[u8]| {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(forge.kid.clone());
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret)).unwrap()
    };
    let stranger = auth::keys::generate_key();
    let stranger_key =
        EncodingKey::from_ed_pem(auth::keys::private_pem(&stranger).unwrap().as_bytes()).unwrap();
    let foreign = |kid: &str| {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_string());
        jsonwebtoken::encode(&header, &claims, &stranger_key).unwrap()
    };
    let mut tampered = control.split('.').map(str::to_string).collect::<Vec<_>>();
    let mut admin_claims = claims.clone();
    admin_claims["role"] = json!("admin");
    tampered[1] = URL_SAFE_NO_PAD.encode(admin_claims.to_string());

    let forgeries = [
        (
            "alg none",
            unsigned(
                json!({ "alg": "none", "typ": "JWT", "kid": forge.kid }),
                &claims,
            ),
        ),
        (
            "alg none, no kid",
            unsigned(json!({ "alg": "none" }), &claims),
        ),
        ("HS256 keyed with the public key", hs256(&public_x)),
        (
            "HS256 keyed with the JWKS text",
            hs256(forge.jwks.to_string().as_bytes()),
        ),
        ("expired", forge.sign(&expired, Some(&forge.kid))),
        ("wrong audience", forge.sign(&wrong_aud, Some(&forge.kid))),
        ("wrong issuer", forge.sign(&wrong_iss, Some(&forge.kid))),
        ("no kid", forge.sign(&claims, None)),
        ("foreign kid", foreign("someone-elses-key")),
        ("foreign key claiming our kid", foreign(&forge.kid)),
        ("tampered payload", tampered.join(".")),
        ("garbage", "not.a.jwt".to_string()),
        ("empty", String::new()),
    ];
    for (what, token) in forgeries {
        let body = app.me(&token).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{what}: {body}");
        assert_eq!(body["data"]["me"], Value::Null, "{what}");
    }
}

#[tokio::test]
async fn a_malformed_authorization_header_is_refused() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("authorization", format!("Token {}", ann.access_token))
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn the_jwks_publishes_the_signing_key_as_an_okp_jwk() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;
    let jwks: Value = app.get_json("/.well-known/jwks.json").await;
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    let header = jsonwebtoken::decode_header(&ann.access_token).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), key["kid"].as_str());

    // The published key verifies the token, as any outside verifier would do it.
    let decoding =
        jsonwebtoken::DecodingKey::from_ed_components(key["x"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["rialto-api"]);
    validation.set_issuer(&["rialto"]);
    let data = jsonwebtoken::decode::<Value>(&ann.access_token, &decoding, &validation).unwrap();
    let c = data.claims;
    assert_eq!(c["sub"], ann.user_id.as_str());
    assert_eq!(c["scopes"], json!(["read", "trade"]));
    assert!(c["jti"].is_string() && c["iat"].is_i64() && c["role"] == "trader");
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        300,
        "five minutes"
    );
}

/// The new refresh token of a successful `refresh`, or `None` when it was refused.
fn new_refresh_token(body: &Value) -> Option<String> {
    body["data"]["refresh"]["refreshToken"]
        .as_str()
        .map(str::to_string)
}

/// Refreshes, asserting success; returns the new refresh token.
async fn refresh(app: &TestApp, token: &str) -> String {
    let body = app.try_refresh(token).await;
    assert_no_errors(&body);
    new_refresh_token(&body).unwrap()
}

/// How many of the user's refresh-token rows are not revoked (used or not).
async fn unrevoked_rows(app: &TestApp, user_id: &str) -> u64 {
    refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::UserId.eq(uuid::Uuid::parse_str(user_id).unwrap()))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .count(&app.db)
        .await
        .unwrap()
}

/// Asserts that no token of `tokens` refreshes any more and that no row of the user's
/// sessions is left unrevoked.
async fn assert_session_dead(app: &TestApp, user_id: &str, tokens: &[String], what: &str) {
    for token in tokens {
        let body = app.try_refresh(token).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{what}: {body}");
    }
    assert_eq!(unrevoked_rows(app, user_id).await, 0, "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replay_racing_a_refresh_leaves_nothing_of_the_session_alive() {
    let app =
        spawn_app_with(|c| c.auth.login_attempts_per_account = 1000.try_into().unwrap()).await;
    let ann = app.register("ann@example.com").await;
    let mut first = Some(ann.refresh_token.clone());
    // The race is a matter of milliseconds: run it often enough to meet it.
    for round in 0..25 {
        let t0 = match first.take() {
            Some(t) => t,
            None => app.login("ann@example.com", PASSWORD).await.refresh_token,
        };
        let t1 = refresh(&app, &t0).await;
        // At once: the client refreshes its token while a thief replays the spent one.
        let (legit, replay_a, replay_b) = tokio::join!(
            app.try_refresh(&t1),
            app.try_refresh(&t0),
            app.try_refresh(&t0),
        );
        // Whatever the order (a replay that comes first looks like a retry and gets a
        // pair), two parties used one session: it ends, and every token is dead.
        let mut tokens = vec![t0, t1];
        for body in [&legit, &replay_a, &replay_b] {
            tokens.extend(new_refresh_token(body));
        }
        assert_session_dead(&app, &ann.user_id, &tokens, &format!("round {round}")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_refreshes_of_one_token_and_a_replay_leave_nothing_alive() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;
    let t0 = ann.refresh_token.clone();
    let t1 = refresh(&app, &t0).await;
    let t2 = refresh(&app, &t1).await;

    let mut racers = tokio::task::JoinSet::new();
    for i in 0..9 {
        let (client, url) = (app.client.clone(), app.url("/graphql"));
        // Eight refreshes of the current token, and a replay of the first.
        let token = if i == 4 { t0.clone() } else { t2.clone() };
        racers.spawn(async move {
            let body: Value = client
                .post(url)
                .json(&json!({
                    "query": "mutation($t: String!) { refresh(refreshToken: $t) { refreshToken } }",
                    "variables": { "t": token },
                }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body
        });
    }
    let mut tokens = vec![t0, t1, t2];
    while let Some(body) = racers.join_next().await {
        tokens.extend(new_refresh_token(&body.unwrap()));
    }
    assert_session_dead(&app, &ann.user_id, &tokens, "after the race").await;
}

#[tokio::test]
async fn a_client_that_lost_a_refresh_response_may_retry_once() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;
    let t0 = ann.refresh_token.clone();
    // The response carrying this token never reaches the client…
    let lost = refresh(&app, &t0).await;
    // …which retries with the token it still holds, within the grace window.
    let retried = refresh(&app, &t0).await;
    assert_ne!(retried, lost);
    assert_eq!(
        unrevoked_rows(&app, &ann.user_id).await,
        2,
        "the retried token (spent) and its new successor; the lost one is revoked"
    );
    // The session goes on with the pair the client has.
    let next = refresh(&app, &retried).await;

    // A later replay of the spent token ends the session, as reuse always has.
    let replay = app.try_refresh(&t0).await;
    assert_eq!(error_code(&replay), "UNAUTHENTICATED");
    assert_session_dead(
        &app,
        &ann.user_id,
        &[lost, retried, next],
        "after the replay",
    )
    .await;
    assert_eq!(
        app.session_log(Some(&ann.user_id)).await,
        ["register", "refresh", "refresh", "refresh", "refresh_reuse"]
    );
}

#[tokio::test]
async fn a_thief_using_the_grace_window_loses_the_session_when_its_owner_comes_back() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;
    let t0 = ann.refresh_token.clone();
    let owners = refresh(&app, &t0).await;
    // A thief holding the spent token replays it at once, within the grace window.
    let thiefs = refresh(&app, &t0).await;
    // Ann's token was revoked by that "retry"; presenting it shows the response was not lost.
    let body = app.try_refresh(&owners).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    assert_session_dead(&app, &ann.user_id, &[thiefs], "the thief's session").await;
}

#[tokio::test]
async fn without_a_grace_window_any_replay_ends_the_session() {
    let app = spawn_app_with(|c| c.auth.refresh_grace_secs = 0).await;
    let ann = app.register("ann@example.com").await;
    let t0 = ann.refresh_token.clone();
    let lost = refresh(&app, &t0).await;
    let retry = app.try_refresh(&t0).await;
    assert_eq!(error_code(&retry), "UNAUTHENTICATED");
    assert_session_dead(&app, &ann.user_id, &[lost], "after the retry").await;
}
