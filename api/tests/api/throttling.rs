//! Login and sign-up limits as attackers and owners meet them: an attacker spending an
//! account's attempts from one address does not lock its owner out, an IPv6 attacker counts
//! by its /64, a guesser spread over many addresses is still capped, sign-ups per address are
//! bounded, and replicas sharing Redis share the counts (falling back to their own while
//! Redis is down).
//!
//! Callers on other addresses are real: every 127.0.0.0/8 address is this machine, so a
//! client bound to 127.0.0.2 reaches the server from there. IPv6 callers come through
//! `X-Forwarded-For` with `trust_forwarded_for` on, as behind a proxy.

use std::net::IpAddr;

use serde_json::{Value, json};

use crate::helpers::*;

/// A client calling from an address of its own.
struct Caller {
    client: reqwest::Client,
    url: String,
}

impl Caller {
    /// Connects from `address` (a loopback address).
    fn at(app: &TestApp, address: &str) -> Self {
        let address: IpAddr = address.parse().unwrap();
        Self {
            client: reqwest::Client::builder()
                .local_address(address)
                .build()
                .unwrap(),
            url: app.url("/graphql"),
        }
    }

    /// Reaches the server through a proxy that names the client `forwarded_for`.
    fn forwarded_for(app: &TestApp, forwarded_for: &str) -> Self {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", forwarded_for.parse().unwrap());
        Self {
            client: reqwest::Client::builder()
                .default_headers(headers)
                .build()
                .unwrap(),
            url: app.url("/graphql"),
        }
    }

    async fn gql(&self, query: &str, variables: Value) -> Value {
        let resp = self
            .client
            .post(&self.url)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "HTTP {}", resp.status());
        resp.json().await.unwrap()
    }

    async fn login(&self, email: &str, password: &str) -> Value {
        self.gql(
            &format!("mutation($i: LoginInput!) {{ login(input: $i) {{ {PAYLOAD} }} }}"),
            json!({ "i": { "email": email, "password": password } }),
        )
        .await
    }

    async fn register(&self, email: &str) -> Value {
        self.gql(
            &format!("mutation($i: RegisterInput!) {{ register(input: $i) {{ {PAYLOAD} }} }}"),
            json!({ "i": { "email": email, "password": PASSWORD, "displayName": "Test Trader" } }),
        )
        .await
    }
}

fn retry_after(body: &Value) -> u64 {
    body["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap_or_else(|| panic!("no retryAfter in {body}"))
}

#[tokio::test]
async fn an_attacker_spending_an_accounts_attempts_does_not_lock_its_owner_out() {
    let app = spawn_app().await;
    let owner = Caller::at(&app, "127.0.0.3");
    let attacker = Caller::at(&app, "127.0.0.2");
    assert_no_errors(&owner.register("ann@example.com").await);

    // The default budget: 10 attempts a minute on one account from one address.
    for _ in 0..10 {
        let body = attacker
            .login("ann@example.com", "is it hunter2 perhaps")
            .await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED");
    }
    let limited = attacker.login("ann@example.com", PASSWORD).await;
    assert_eq!(
        error_code(&limited),
        "RATE_LIMITED",
        "even the right password waits, from the attacker's address"
    );
    assert!((1..=60).contains(&retry_after(&limited)));

    // Ann, from her own address, signs in as if nothing happened.
    let signed_in = owner.login("ann@example.com", PASSWORD).await;
    assert_no_errors(&signed_in);
}

#[tokio::test]
async fn a_guesser_spread_over_many_addresses_is_still_capped() {
    let app =
        spawn_app_with(|c| c.auth.login_attempts_per_account_total = 5.try_into().unwrap()).await;
    app.register("ann@example.com").await;
    for i in 10..15 {
        let body = Caller::at(&app, &format!("127.0.0.{i}"))
            .login("ann@example.com", "is it hunter2 perhaps")
            .await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED");
    }
    let limited = Caller::at(&app, "127.0.0.20")
        .login("ann@example.com", "is it hunter2 perhaps")
        .await;
    assert_eq!(error_code(&limited), "RATE_LIMITED");
    // Other accounts are not affected.
    app.register("bob@example.com").await;
    assert_no_errors(
        &Caller::at(&app, "127.0.0.21")
            .login("bob@example.com", PASSWORD)
            .await,
    );
}

#[tokio::test]
async fn an_ipv6_attacker_rotating_inside_one_64_is_throttled_as_one_address() {
    let app = spawn_app_with(|c| {
        c.http.trust_forwarded_for = vec!["127.0.0.1/32".parse().unwrap()];
        c.auth.login_attempts_per_ip = 5.try_into().unwrap();
    })
    .await;
    // Five guesses at five accounts, each from a fresh address of the same /64.
    for i in 1..=5 {
        let body = Caller::forwarded_for(&app, &format!("2001:db8:7:42::{i:x}"))
            .login(&format!("user{i}@example.com"), "is it hunter2 perhaps")
            .await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED");
    }
    let limited = Caller::forwarded_for(&app, "2001:db8:7:42:dead:beef:1:2")
        .login("user6@example.com", "is it hunter2 perhaps")
        .await;
    assert_eq!(
        error_code(&limited),
        "RATE_LIMITED",
        "a new address in the same /64 is the same client"
    );
    // The next /64 is someone else.
    let other = Caller::forwarded_for(&app, "2001:db8:7:43::1")
        .login("user6@example.com", "is it hunter2 perhaps")
        .await;
    assert_eq!(error_code(&other), "UNAUTHENTICATED");
}

#[tokio::test]
async fn sign_ups_from_one_address_are_bounded_while_its_logins_still_work() {
    let app = spawn_app_with(|c| c.auth.registrations_per_address = 3.try_into().unwrap()).await;
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        app.register(email).await;
    }
    let refused = app.try_register("d@example.com", PASSWORD).await;
    assert_eq!(error_code(&refused), "RATE_LIMITED");
    assert!(
        retry_after(&refused) > 60,
        "the window is an hour: {refused}"
    );
    // Probing a taken email is refused alike: it tells nothing.
    let probe = app.try_register("a@example.com", PASSWORD).await;
    assert_eq!(error_code(&probe), "RATE_LIMITED");
    // The refused sign-up made no account.
    assert_eq!(
        error_code(&app.try_login("d@example.com", PASSWORD).await),
        "UNAUTHENTICATED"
    );
    // Logins from that address are not affected, nor sign-ups from another.
    app.login("a@example.com", PASSWORD).await;
    assert_no_errors(
        &Caller::at(&app, "127.0.0.2")
            .register("d@example.com")
            .await,
    );
}

/// A unique Redis key prefix, so tests sharing the machine's Redis never meet.
fn unique_prefix() -> String {
    format!("rialto-test:{}:", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn two_auth_replicas_sharing_redis_share_the_login_limits() {
    let Some(redis) = std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("needs REDIS_URL: skipped");
        return;
    };
    let prefix = unique_prefix();
    let replica = |c: &mut api::startup::AppConfig| {
        c.role = api::startup::Role::AuthSubgraph {
            internal_secret: Some(INTERNAL_SECRET.to_string().into()),
        };
        c.trading.redis_url = Some(redis.clone());
        c.trading.redis_prefix = prefix.clone();
        c.auth.login_attempts_per_account = 4.try_into().unwrap();
    };
    let first = spawn_app_with(replica).await;
    // The second replica shares the first one's database (and signing key), as replicas do.
    let storage = api::startup::Storage::Embedded {
        data_dir: first.data_dir.clone(),
        database_url: first.database_url.clone(),
    };
    let second = spawn_app_with(|c| {
        replica(c);
        c.storage = storage;
    })
    .await;
    first.register("ann@example.com").await;

    // A guesser alternates between the replicas (as a balancer would send it).
    for app in [&first, &second, &first, &second] {
        let body = app
            .try_login("ann@example.com", "is it hunter2 perhaps")
            .await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED");
    }
    for app in [&first, &second] {
        let limited = app.try_login("ann@example.com", PASSWORD).await;
        assert_eq!(
            error_code(&limited),
            "RATE_LIMITED",
            "each replica sees the attempts the other counted"
        );
    }
}

#[tokio::test]
async fn while_redis_is_down_each_replica_keeps_counting_alone() {
    let Some(binary) = bus::testing::redis_server() else {
        eprintln!("needs redis-server: skipped");
        return;
    };
    let mut redis = bus::testing::PrivateRedis::start(&binary).await;
    let url = redis.url();
    let app = spawn_app_with(|c| {
        c.role = api::startup::Role::AuthSubgraph {
            internal_secret: Some(INTERNAL_SECRET.to_string().into()),
        };
        c.trading.redis_url = Some(url);
        c.trading.redis_prefix = unique_prefix();
        c.auth.login_attempts_per_account = 3.try_into().unwrap();
    })
    .await;
    app.register("ann@example.com").await;
    let body = app
        .try_login("ann@example.com", "is it hunter2 perhaps")
        .await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");

    redis.kill();
    // Nobody is locked out…
    app.login("ann@example.com", PASSWORD).await;
    for _ in 0..2 {
        let body = app
            .try_login("ann@example.com", "is it hunter2 perhaps")
            .await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED");
    }
    // …and the limit still holds, counted in this process.
    let limited = app.try_login("ann@example.com", PASSWORD).await;
    assert_eq!(error_code(&limited), "RATE_LIMITED");
}
