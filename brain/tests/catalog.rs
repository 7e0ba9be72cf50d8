//! Stories of the brain's catalog, admin acts and balances, told through GraphQL requests
//! against the real schema over a real database: SQLite in memory (one connection), and,
//! when `DATABASE_URL` is set, a fresh PostgreSQL database per story
//! (`rialto_test_<uuid>`, dropped afterwards).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;

use async_graphql::{Request, Variables};
use brain::BrainService;
use common::{Caller, Identity, Role};
use entity::{admin_actions, balances, ledger_entries};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait};
use serde_json::{Value, json};
use support::{Env, code, each_backend, exec, ok, read_key, session};
use uuid::Uuid;

const CREATE_ASSET: &str = "mutation($input: CreateAssetInput!) {
  createAsset(input: $input) { id symbol name kind decimals } }";

const CREATE_MARKET: &str = "mutation($input: CreateMarketInput!) {
  createMarket(input: $input) {
    id symbol base { symbol } quote { symbol decimals } tickSize lotSize minQuantity status
    makerFeeBps takerFeeBps } }";

const CREDIT: &str = "mutation($user: ID!, $asset: String!, $amount: Decimal!, $memo: String) {
  creditBalance(userId: $user, asset: $asset, amount: $amount, memo: $memo) {
    asset { symbol } available held total } }";

const MY_BALANCES: &str = "{ myBalances { asset { symbol } available held total } }";

fn asset_input(symbol: &str, decimals: i32) -> Value {
    json!({ "input": { "symbol": symbol, "name": format!("{symbol} asset"), "kind": "cash", "decimals": decimals } })
}

fn market_input(base: &str, quote: &str) -> Value {
    json!({ "input": {
        "base": base, "quote": quote, "tickSize": "0.01", "lotSize": "1", "minQuantity": "1",
        "makerFeeBps": 10, "takerFeeBps": 20 } })
}

/// USD (2 decimals) and ACME (0), listed by `admin`.
async fn list_assets(env: &Env, admin: &Identity) {
    ok(env, admin, CREATE_ASSET, asset_input("USD", 2)).await;
    ok(env, admin, CREATE_ASSET, asset_input("ACME", 0)).await;
}

async fn count<E: EntityTrait>(db: &DatabaseConnection) -> usize {
    E::find().all(db).await.unwrap().len()
}

/// Everything a refused request must leave untouched.
async fn footprint(db: &DatabaseConnection) -> [usize; 3] {
    [
        count::<ledger_entries::Entity>(db).await,
        count::<balances::Entity>(db).await,
        count::<admin_actions::Entity>(db).await,
    ]
}

#[tokio::test]
async fn an_admin_lists_an_asset_and_a_market_and_a_trader_sees_them() {
    each_backend(|env| async move {
        let admin = session(Role::Admin);
        let trader = session(Role::Trader);
        let usd = ok(
            &env,
            &admin,
            CREATE_ASSET,
            json!({ "input": { "symbol": "USD", "name": " US Dollar ", "kind": "Cash", "decimals": 2 } }),
        )
        .await;
        assert_eq!(usd["createAsset"]["symbol"], "USD");
        assert_eq!(usd["createAsset"]["name"], "US Dollar");
        assert_eq!(usd["createAsset"]["kind"], "cash");
        assert_eq!(usd["createAsset"]["decimals"], 2);
        ok(&env, &admin, CREATE_ASSET, asset_input("ACME", 0)).await;

        let market = ok(&env, &admin, CREATE_MARKET, market_input("ACME", "USD")).await;
        assert_eq!(
            market["createMarket"],
            json!({
                "id": market["createMarket"]["id"],
                "symbol": "ACME-USD",
                "base": { "symbol": "ACME" },
                "quote": { "symbol": "USD", "decimals": 2 },
                "tickSize": "0.01",
                "lotSize": "1",
                "minQuantity": "1",
                "status": "OPEN",
                "makerFeeBps": 10,
                "takerFeeBps": 20,
            })
        );

        let catalog = "{ assets { symbol decimals } markets { symbol status base { symbol } }
            market(symbol: \"ACME-USD\") { symbol tickSize } none: market(symbol: \"NOPE-USD\") { symbol } }";
        let expected = json!({
            "assets": [{ "symbol": "ACME", "decimals": 0 }, { "symbol": "USD", "decimals": 2 }],
            "markets": [{ "symbol": "ACME-USD", "status": "OPEN", "base": { "symbol": "ACME" } }],
            "market": { "symbol": "ACME-USD", "tickSize": "0.01" },
            "none": null,
        });
        assert_eq!(ok(&env, &trader, catalog, json!({})).await, expected);
        // A read-scoped key reads, and market data is public.
        assert_eq!(ok(&env, &read_key(&trader), catalog, json!({})).await, expected);
        let anonymous = exec(&env, Caller::Anonymous, catalog, json!({})).await;
        assert_eq!(anonymous["data"], expected);

        // Each act is audited, by the admin who did it.
        let acts = admin_actions::Entity::find().all(&env.db).await.unwrap();
        let mut seen: Vec<_> = acts.iter().map(|a| (a.action.as_str(), a.target.as_str())).collect();
        seen.sort_unstable();
        assert_eq!(
            seen,
            [("create_asset", "ACME"), ("create_asset", "USD"), ("create_market", "ACME-USD")]
        );
        assert!(acts.iter().all(|a| a.admin_id == admin.user_id));
    })
    .await;
}

#[tokio::test]
async fn only_an_admin_may_list_assets_markets_and_money() {
    each_backend(|env| async move {
        let admin = session(Role::Admin);
        let trader = session(Role::Trader);
        list_assets(&env, &admin).await;
        let before = footprint(&env.db).await;

        let asset = asset_input("GOLD", 3);
        let refusals = [
            (
                Caller::Known(trader.clone()),
                CREATE_ASSET,
                asset.clone(),
                "FORBIDDEN",
            ),
            (
                Caller::Known(read_key(&admin)),
                CREATE_ASSET,
                asset.clone(),
                "FORBIDDEN",
            ),
            (
                Caller::Anonymous,
                CREATE_ASSET,
                asset.clone(),
                "UNAUTHENTICATED",
            ),
            (Caller::Rejected, CREATE_ASSET, asset, "UNAUTHENTICATED"),
            (
                Caller::Known(trader.clone()),
                CREATE_MARKET,
                market_input("ACME", "USD"),
                "FORBIDDEN",
            ),
            (
                Caller::Anonymous,
                CREATE_MARKET,
                market_input("ACME", "USD"),
                "UNAUTHENTICATED",
            ),
            (
                Caller::Known(trader.clone()),
                CREDIT,
                json!({ "user": trader.user_id, "asset": "USD", "amount": "100" }),
                "FORBIDDEN",
            ),
            // Who may ask is checked before what was asked.
            (
                Caller::Known(trader.clone()),
                CREDIT,
                json!({ "user": "nobody", "asset": "USD", "amount": "abc" }),
                "FORBIDDEN",
            ),
            (
                Caller::Anonymous,
                CREDIT,
                json!({ "user": trader.user_id, "asset": "USD", "amount": "100" }),
                "UNAUTHENTICATED",
            ),
            (
                Caller::Known(trader.clone()),
                "mutation { setMarketStatus(market: \"ACME-USD\", status: HALTED) { status } }",
                json!({}),
                "FORBIDDEN",
            ),
        ];
        for (caller, query, vars, expected) in refusals {
            let resp = exec(&env, caller.clone(), query, vars.clone()).await;
            assert_eq!(code(&resp), expected, "{caller:?} {vars}: {resp:#}");
            assert!(resp["data"].is_null(), "{resp:#}");
        }

        let listed = ok(
            &env,
            &trader,
            "{ assets { symbol } markets { symbol } }",
            json!({}),
        )
        .await;
        assert_eq!(
            listed,
            json!({ "assets": [{ "symbol": "ACME" }, { "symbol": "USD" }], "markets": [] })
        );
        assert_eq!(footprint(&env.db).await, before);
    })
    .await;
}

#[tokio::test]
async fn a_duplicate_asset_or_market_is_a_conflict_and_bad_asset_fields_are_bad_input() {
    each_backend(|env| async move {
        let admin = session(Role::Admin);
        list_assets(&env, &admin).await;
        ok(&env, &admin, CREATE_MARKET, market_input("ACME", "USD")).await;
        let before = footprint(&env.db).await;

        let resp = exec(&env, Caller::Known(admin.clone()), CREATE_ASSET, asset_input("USD", 4)).await;
        assert_eq!(code(&resp), "CONFLICT", "{resp:#}");
        let resp = exec(&env, Caller::Known(admin.clone()), CREATE_MARKET, market_input("ACME", "USD")).await;
        assert_eq!(code(&resp), "CONFLICT", "{resp:#}");

        for (symbol, name, kind, decimals) in [
            ("usd", "x", "cash", 2),
            ("", "x", "cash", 2),
            ("TOOLONGSYMBOL", "x", "cash", 2),
            ("EUR", "", "cash", 2),
            ("EUR", "x", "c a s h", 2),
            ("EUR", "x", "cash", 9),
            ("EUR", "x", "cash", 18),
            ("EUR", "x", "cash", 19),
            ("EUR", "x", "cash", -1),
        ] {
            let input = json!({ "input": { "symbol": symbol, "name": name, "kind": kind, "decimals": decimals } });
            let resp = exec(&env, Caller::Known(admin.clone()), CREATE_ASSET, input).await;
            assert_eq!(code(&resp), "BAD_USER_INPUT", "{symbol} {name} {kind} {decimals}: {resp:#}");
        }
        assert_eq!(footprint(&env.db).await, before);
        let assets = ok(&env, &admin, "{ assets { symbol } }", json!({})).await;
        assert_eq!(assets["assets"].as_array().unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn bad_market_numbers_are_bad_input_and_nothing_is_created() {
    each_backend(|env| async move {
        let admin = session(Role::Admin);
        list_assets(&env, &admin).await;
        let before = footprint(&env.db).await;

        let with = |field: &str, value: Value| {
            let mut input = market_input("ACME", "USD");
            input["input"][field] = value;
            input
        };
        let cases = [
            with("tickSize", json!("abc")),
            with("tickSize", json!("0")),
            with("tickSize", json!("-1")),
            with("tickSize", json!("0.001")), // USD has 2 decimals
            with("tickSize", json!("1e2")),
            with("tickSize", json!(&"9".repeat(40))),
            with("lotSize", json!("0.5")), // ACME has none
            with("lotSize", json!("")),
            with("minQuantity", json!("0")),
            with("lotSize", json!("2")), // the minimum must be a lot multiple
            with("makerFeeBps", json!(1_001)),
            with("takerFeeBps", json!(-1)),
            with("priceBandBps", json!(10_000)),
            json!({ "input": { "base": "USD", "quote": "USD", "tickSize": "0.01", "lotSize": "1",
                    "minQuantity": "1", "makerFeeBps": 0, "takerFeeBps": 0 } }),
        ];
        for vars in cases {
            let resp = exec(
                &env,
                Caller::Known(admin.clone()),
                CREATE_MARKET,
                vars.clone(),
            )
            .await;
            assert_eq!(code(&resp), "BAD_USER_INPUT", "{vars}: {resp:#}");
        }
        for (base, quote) in [("NOPE", "USD"), ("ACME", "EUR")] {
            let resp = exec(
                &env,
                Caller::Known(admin.clone()),
                CREATE_MARKET,
                market_input(base, quote),
            )
            .await;
            assert_eq!(code(&resp), "NOT_FOUND", "{base}-{quote}: {resp:#}");
        }

        let markets = ok(&env, &admin, "{ markets { symbol } }", json!({})).await;
        assert_eq!(markets, json!({ "markets": [] }));
        assert_eq!(footprint(&env.db).await, before);

        // The optional band is accepted when in range.
        let banded = ok(
            &env,
            &admin,
            CREATE_MARKET,
            with("priceBandBps", json!(500)),
        )
        .await;
        assert_eq!(banded["createMarket"]["symbol"], "ACME-USD");
    })
    .await;
}

#[tokio::test]
async fn halting_a_market_shows_it_halted_and_reopening_it_open() {
    each_backend(|env| async move {
        let admin = session(Role::Admin);
        let trader = session(Role::Trader);
        list_assets(&env, &admin).await;
        ok(&env, &admin, CREATE_MARKET, market_input("ACME", "USD")).await;

        let set = "mutation($m: String!, $s: MarketStatus!) { setMarketStatus(market: $m, status: $s) { symbol status } }";
        let halted = ok(&env, &admin, set, json!({ "m": "ACME-USD", "s": "HALTED" })).await;
        assert_eq!(halted["setMarketStatus"], json!({ "symbol": "ACME-USD", "status": "HALTED" }));
        let seen = ok(&env, &trader, "{ markets { status } market(symbol: \"ACME-USD\") { status } }", json!({})).await;
        assert_eq!(seen, json!({ "markets": [{ "status": "HALTED" }], "market": { "status": "HALTED" } }));

        let open = ok(&env, &admin, set, json!({ "m": "ACME-USD", "s": "OPEN" })).await;
        assert_eq!(open["setMarketStatus"]["status"], "OPEN");

        let resp = exec(&env, Caller::Known(admin.clone()), set, json!({ "m": "NOPE-USD", "s": "HALTED" })).await;
        assert_eq!(code(&resp), "NOT_FOUND", "{resp:#}");

        let acts = admin_actions::Entity::find().all(&env.db).await.unwrap();
        let details: Vec<Value> = acts
            .iter()
            .filter(|a| a.action == "set_market_status")
            .map(|a| serde_json::from_str(&a.detail).unwrap())
            .collect();
        assert_eq!(
            details,
            [json!({ "from": "open", "to": "halted" }), json!({ "from": "halted", "to": "open" })]
        );
    })
    .await;
}

/// Checks decision 0005's ledger invariants: every transaction sums to zero per asset, and
/// each user balance equals the sums of its account's entries.
async fn assert_ledger_balances(db: &DatabaseConnection) {
    let entries = ledger_entries::Entity::find().all(db).await.unwrap();
    let mut per_tx: HashMap<(Uuid, Uuid), i128> = HashMap::new();
    let mut per_asset: HashMap<Uuid, i128> = HashMap::new();
    let mut per_account: HashMap<(Uuid, Uuid, String), i128> = HashMap::new();
    for e in &entries {
        *per_tx.entry((e.tx_id, e.asset_id)).or_default() += i128::from(e.amount);
        *per_asset.entry(e.asset_id).or_default() += i128::from(e.amount);
        if let Some(user) = e.user_id {
            *per_account
                .entry((user, e.asset_id, e.account.clone()))
                .or_default() += i128::from(e.amount);
        } else {
            assert!(e.account.starts_with("system:"), "{e:?}");
        }
    }
    assert!(per_tx.values().all(|s| *s == 0), "{per_tx:?}");
    assert!(per_asset.values().all(|s| *s == 0), "{per_asset:?}");
    for b in balances::Entity::find().all(db).await.unwrap() {
        let sum = |account: &str| {
            per_account
                .get(&(b.user_id, b.asset_id, account.to_owned()))
                .copied()
                .unwrap_or_default()
        };
        assert_eq!(i128::from(b.available), sum("user:available"), "{b:?}");
        assert_eq!(i128::from(b.held), sum("user:held"), "{b:?}");
    }
}

#[tokio::test]
async fn a_credit_shows_in_my_balances_and_the_ledger_sums_to_zero() {
    each_backend(|env| async move {
        let admin = session(Role::Admin);
        let trader = session(Role::Trader);
        list_assets(&env, &admin).await;

        let credited = ok(
            &env,
            &admin,
            CREDIT,
            json!({ "user": trader.user_id, "asset": "USD", "amount": "1000.50", "memo": "welcome" }),
        )
        .await;
        assert_eq!(
            credited["creditBalance"],
            json!({ "asset": { "symbol": "USD" }, "available": "1000.5", "held": "0", "total": "1000.5" })
        );
        ok(&env, &admin, CREDIT, json!({ "user": trader.user_id, "asset": "ACME", "amount": "7" })).await;
        let again = ok(&env, &admin, CREDIT, json!({ "user": trader.user_id, "asset": "USD", "amount": "0.5" })).await;
        assert_eq!(again["creditBalance"]["available"], "1001");

        let mine = ok(&env, &trader, MY_BALANCES, json!({})).await;
        assert_eq!(
            mine["myBalances"],
            json!([
                { "asset": { "symbol": "ACME" }, "available": "7", "held": "0", "total": "7" },
                { "asset": { "symbol": "USD" }, "available": "1001", "held": "0", "total": "1001" },
            ])
        );
        // A read-only key reads them too; someone else has none; nobody has to sign in.
        let by_key = ok(&env, &read_key(&trader), MY_BALANCES, json!({})).await;
        assert_eq!(by_key, mine);
        let other = ok(&env, &session(Role::Trader), MY_BALANCES, json!({})).await;
        assert_eq!(other, json!({ "myBalances": [] }));
        let anonymous = exec(&env, Caller::Anonymous, MY_BALANCES, json!({})).await;
        assert_eq!(code(&anonymous), "UNAUTHENTICATED");

        // Three credits, each its own transaction of two legs.
        let entries = ledger_entries::Entity::find().all(&env.db).await.unwrap();
        assert_eq!(entries.len(), 6);
        assert!(entries.iter().all(|e| e.kind == "credit"));
        assert_ledger_balances(&env.db).await;

        let credits: Vec<_> = admin_actions::Entity::find()
            .all(&env.db)
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.action == "credit_balance")
            .collect();
        assert_eq!(credits.len(), 3);
        assert!(credits.iter().all(|a| a.target == trader.user_id.to_string() && a.admin_id == admin.user_id));
        let first: Value = serde_json::from_str(&credits[0].detail).unwrap();
        assert_eq!((&first["asset"], &first["amount"], &first["memo"]), (&json!("USD"), &json!("1000.5"), &json!("welcome")));
    })
    .await;
}

/// An asset's supply (all it ever issued, to anyone) never passes the largest amount, so no
/// balance and no sum of balances can overflow later, however it is traded; credits racing
/// for the last of the room are serialised.
#[tokio::test]
async fn an_asset_never_issues_more_than_an_amount_can_hold() {
    each_backend(|env| async move {
        let admin = session(Role::Admin);
        list_assets(&env, &admin).await;
        let (whale, minnow) = (session(Role::Trader), session(Role::Trader));
        // USD has 2 decimals: at most 92233720368547758.07 can ever exist.
        ok(
            &env,
            &admin,
            CREDIT,
            json!({ "user": whale.user_id, "asset": "USD", "amount": "92233720368547700" }),
        )
        .await;
        let before = footprint(&env.db).await;
        let resp = exec(
            &env,
            Caller::Known(admin.clone()),
            CREDIT,
            json!({ "user": minnow.user_id, "asset": "USD", "amount": "58.08" }),
        )
        .await;
        assert_eq!(code(&resp), "BAD_USER_INPUT", "{resp:#}");
        let message = resp["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("at most 92233720368547758.07 USD")
                && message.contains("92233720368547700 is issued already"),
            "{message}"
        );
        assert_eq!(footprint(&env.db).await, before);

        // Ten credits of 10 race for the 58.07 left: five fit, five are refused.
        let race = (0..10).map(|_| {
            exec(
                &env,
                Caller::Known(admin.clone()),
                CREDIT,
                json!({ "user": minnow.user_id, "asset": "USD", "amount": "10" }),
            )
        });
        let answers = futures_util::future::join_all(race).await;
        let refused: Vec<&Value> = answers
            .iter()
            .filter(|r| r.get("errors").is_some())
            .collect();
        assert_eq!(refused.len(), 5, "{answers:#?}");
        assert!(
            refused.iter().all(|r| code(r) == "BAD_USER_INPUT"),
            "{refused:#?}"
        );
        let mine = ok(&env, &minnow, MY_BALANCES, json!({})).await;
        assert_eq!(mine["myBalances"][0]["available"], "50");
        // Every sum the audit makes fits.
        let report = brain::audit::run(&env.db).await.unwrap();
        assert!(report.violations.is_empty(), "{report}");
    })
    .await;
}

#[tokio::test]
async fn bad_credits_are_refused_and_change_nothing() {
    each_backend(|env| async move {
        let admin = session(Role::Admin);
        let trader = session(Role::Trader);
        list_assets(&env, &admin).await;
        ok(&env, &admin, CREDIT, json!({ "user": trader.user_id, "asset": "USD", "amount": "10" })).await;
        let before = footprint(&env.db).await;

        let forty_digits = "1234567890123456789012345678901234567890";
        for amount in ["abc", "-5", "0", "1.234", forty_digits, "", "1e3", " 1", "0.00"] {
            let vars = json!({ "user": trader.user_id, "asset": "USD", "amount": amount });
            let resp = exec(&env, Caller::Known(admin.clone()), CREDIT, vars).await;
            assert_eq!(code(&resp), "BAD_USER_INPUT", "{amount:?}: {resp:#}");
        }
        let resp = exec(&env, Caller::Known(admin.clone()), CREDIT, json!({ "user": trader.user_id, "asset": "ACME", "amount": "1.5" })).await;
        assert_eq!(code(&resp), "BAD_USER_INPUT", "{resp:#}");
        let resp = exec(&env, Caller::Known(admin.clone()), CREDIT, json!({ "user": "not-a-uuid", "asset": "USD", "amount": "1" })).await;
        assert_eq!(code(&resp), "BAD_USER_INPUT", "{resp:#}");
        let resp = exec(&env, Caller::Known(admin.clone()), CREDIT, json!({ "user": trader.user_id, "asset": "USD", "amount": "1", "memo": "m".repeat(257) })).await;
        assert_eq!(code(&resp), "BAD_USER_INPUT", "{resp:#}");
        let resp = exec(&env, Caller::Known(admin.clone()), CREDIT, json!({ "user": trader.user_id, "asset": "EUR", "amount": "1" })).await;
        assert_eq!(code(&resp), "NOT_FOUND", "{resp:#}");
        assert_eq!(footprint(&env.db).await, before);

        // A balance that would no longer fit in 64 bits is refused too, not wrapped (nor
        // turned into a float by SQLite): the asset's whole supply is bounded by that.
        let rich = session(Role::Trader);
        ok(&env, &admin, CREDIT, json!({ "user": rich.user_id, "asset": "USD", "amount": "92233720368547748.07" })).await;
        let before = footprint(&env.db).await;
        let resp = exec(&env, Caller::Known(admin.clone()), CREDIT, json!({ "user": rich.user_id, "asset": "USD", "amount": "0.01" })).await;
        assert_eq!(code(&resp), "BAD_USER_INPUT", "{resp:#}");
        assert_eq!(footprint(&env.db).await, before);
        let mine = ok(&env, &rich, MY_BALANCES, json!({})).await;
        assert_eq!(mine["myBalances"][0]["available"], "92233720368547748.07");

        let mine = ok(&env, &trader, MY_BALANCES, json!({})).await;
        assert_eq!(mine["myBalances"], json!([{ "asset": { "symbol": "USD" }, "available": "10", "held": "0", "total": "10" }]));
        assert_ledger_balances(&env.db).await;
    })
    .await;
}

const ENTITIES: &str = "query($reps: [_Any!]!) {
  _entities(representations: $reps) { ... on User { id balances { asset { symbol } available } } } }";

fn reps(users: &[Uuid]) -> Value {
    json!({ "reps": users.iter().map(|u| json!({ "__typename": "User", "id": u })).collect::<Vec<_>>() })
}

#[tokio::test]
async fn another_users_balances_are_never_shown_through_entities() {
    each_backend(|env| async move {
        let admin = session(Role::Admin);
        let alice = session(Role::Trader);
        let bob = session(Role::Trader);
        list_assets(&env, &admin).await;
        ok(
            &env,
            &admin,
            CREDIT,
            json!({ "user": alice.user_id, "asset": "USD", "amount": "25" }),
        )
        .await;
        let alices = json!([{ "asset": { "symbol": "USD" }, "available": "25" }]);

        let as_bob = ok(&env, &bob, ENTITIES, reps(&[alice.user_id])).await;
        assert_eq!(
            as_bob["_entities"],
            json!([{ "id": alice.user_id.to_string(), "balances": [] }])
        );
        let anonymous = exec(&env, Caller::Anonymous, ENTITIES, reps(&[alice.user_id])).await;
        assert_eq!(
            anonymous["data"]["_entities"][0]["balances"],
            json!([]),
            "{anonymous:#}"
        );

        let as_alice = ok(&env, &alice, ENTITIES, reps(&[alice.user_id])).await;
        assert_eq!(as_alice["_entities"][0]["balances"], alices);
        let by_key = ok(&env, &read_key(&alice), ENTITIES, reps(&[alice.user_id])).await;
        assert_eq!(by_key["_entities"][0]["balances"], alices);

        // An admin sees everyone's, batched through the per-request loader.
        let service = BrainService::new(env.db.clone());
        let req = Request::new(ENTITIES)
            .variables(Variables::from_json(reps(&[alice.user_id, bob.user_id])))
            .data(Caller::Known(admin.clone()))
            .data(brain::schema::balance_loader(&service));
        let resp = serde_json::to_value(env.schema.execute(req).await).unwrap();
        assert_eq!(
            resp["data"]["_entities"],
            json!([
                { "id": alice.user_id.to_string(), "balances": alices },
                { "id": bob.user_id.to_string(), "balances": [] },
            ]),
            "{resp:#}"
        );

        // A bad id is a null entity, not a failed batch.
        let resp = ok(
            &env,
            &admin,
            ENTITIES,
            json!({ "reps": [{ "__typename": "User", "id": "x" }] }),
        )
        .await;
        assert_eq!(resp["_entities"], json!([null]));
    })
    .await;
}

#[tokio::test]
async fn the_service_sdl_declares_the_user_entity_with_balances() {
    each_backend(|env| async move {
        let resp = exec(&env, Caller::Anonymous, "{ _service { sdl } }", json!({})).await;
        let sdl = resp["data"]["_service"]["sdl"].as_str().unwrap().to_owned();
        for expected in [
            "type User @key(fields: \"id\")",
            "balances: [Balance!]!",
            "scalar Decimal",
            "enum MarketStatus",
            "myBalances: [Balance!]!",
            "market(symbol: String!): Market",
            "creditBalance(userId: ID!, asset: String!, amount: Decimal!, memo: String): Balance!",
            "setMarketStatus(market: String!, status: MarketStatus!): Market!",
            "createAsset(input: CreateAssetInput!): Asset!",
            "createMarket(input: CreateMarketInput!): Market!",
        ] {
            assert!(sdl.contains(expected), "missing {expected:?} in\n{sdl}");
        }
        let user = sdl.split("type User @key(fields: \"id\")").nth(1).unwrap();
        let user = &user[..user.find('}').unwrap()];
        assert!(
            user.contains("balances: [Balance!]!") && user.contains("id: ID!"),
            "{user}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_balance_never_goes_below_zero_even_when_two_withdrawals_race() {
    use brain::{
        BrainError,
        store::{
            self,
            ledger::{Account, Posting},
        },
    };
    use sea_orm::TransactionTrait;

    each_backend(|env| async move {
        let admin = session(Role::Admin);
        let trader = session(Role::Trader);
        list_assets(&env, &admin).await;
        ok(
            &env,
            &admin,
            CREDIT,
            json!({ "user": trader.user_id, "asset": "USD", "amount": "10" }),
        )
        .await;
        let usd = store::assets::find_by_symbol(&env.db, "USD")
            .await
            .unwrap()
            .unwrap();
        let now = chrono::Utc::now();
        let hold = |cents: i64| {
            [
                Posting::new(Account::UserAvailable(trader.user_id), usd.id, -cents),
                Posting::new(Account::UserHeld(trader.user_id), usd.id, cents),
            ]
        };

        // Holding what is there moves it; holding more is refused and writes nothing.
        let txn = env.db.begin().await.unwrap();
        let posted = store::ledger::post(&txn, "place", &hold(600), now)
            .await
            .unwrap();
        assert_eq!(
            (posted.balances[0].available, posted.balances[0].held),
            (400, 600)
        );
        txn.commit().await.unwrap();
        let before = footprint(&env.db).await;
        let txn = env.db.begin().await.unwrap();
        let err = store::ledger::post(&txn, "place", &hold(401), now)
            .await
            .unwrap_err();
        assert!(matches!(err, BrainError::InsufficientFunds(_)), "{err}");
        drop(txn);
        assert_eq!(footprint(&env.db).await, before);
        // Releasing more than is held is a bug, not a user error.
        let err = store::balances::add(&env.db, trader.user_id, usd.id, 0, -601, now)
            .await
            .unwrap_err();
        assert!(matches!(err, BrainError::Internal(_)), "{err}");
        assert_ledger_balances(&env.db).await;

        if env.db.get_database_backend() != sea_orm::DbBackend::Postgres {
            return; // one SQLite connection cannot hold two transactions at once
        }
        // Both read 400 available; the second waits on the row, then the CHECK refuses it.
        let first = env.db.begin().await.unwrap();
        let second = env.db.begin().await.unwrap();
        let user = trader.user_id;
        let seen = store::balances::find(&second, user, &usd)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(seen.available, 400);
        store::balances::add(&first, user, usd.id, -300, 300, now)
            .await
            .unwrap();
        let racer = tokio::spawn(async move {
            let r = store::balances::add(&second, user, usd.id, -300, 300, now).await;
            drop(second);
            r
        });
        // Once the second is waiting on the row lock it has passed its own pre-check, so
        // what refuses it is the database.
        let waiting = "SELECT count(*) AS n FROM pg_stat_activity \
                       WHERE datname = current_database() AND wait_event_type = 'Lock'";
        tokio::time::timeout(std::time::Duration::from_secs(10), async {
            loop {
                let row = env
                    .db
                    .query_one_raw(sea_orm::Statement::from_string(
                        sea_orm::DbBackend::Postgres,
                        waiting,
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                if row.try_get::<i64>("", "n").unwrap() > 0 {
                    break;
                }
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the second withdrawal waits on the row");
        first.commit().await.unwrap();
        let err = tokio::time::timeout(std::time::Duration::from_secs(10), racer)
            .await
            .unwrap()
            .unwrap()
            .unwrap_err();
        assert!(matches!(err, BrainError::InsufficientFunds(_)), "{err}");
    })
    .await;
}
