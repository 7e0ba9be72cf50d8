//! Forged and stale access tokens are refused with UNAUTHENTICATED. Each forgery is built
//! next to a control token signed exactly like the server does, so the harness itself is
//! proven to produce tokens the server accepts.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::*;

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
