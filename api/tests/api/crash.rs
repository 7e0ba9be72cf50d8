//! The crash campaign (PostgreSQL and Redis only): traders send a seeded random stream of
//! orders and cancels while the `rialto matcher` process is killed with SIGKILL at random
//! moments and restarted, again and again. At the end nothing acknowledged is lost, nothing
//! is filled twice, the ledger audit passes, and the book equals the book that replaying the
//! accepted commands through the engine alone produces.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use engine::{
    Side, TimeInForce,
    market::{Effects, Engine, Input, OrderState, Status, required_hold},
};
use entity::{commands, markets, orders};
use matcher::runner::market_rules;
use rand::{RngExt, SeedableRng, rngs::StdRng};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::json;

use crate::{
    helpers::{Session, TestApp},
    trading::{PLACE, admin, credit, limit, list_market, spawn_matcher},
};

const KILLS: usize = 20;
const TRADERS: usize = 4;
const SEED: u64 = 20_261_202;

/// One trader's seeded stream until `stop`: limit orders around 100 (some IOC, some
/// post-only) and cancels of its own orders. Returns the ids the API acknowledged.
async fn trade(
    app: Arc<TestApp>,
    who: Session,
    seed: u64,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut acknowledged: Vec<String> = Vec::new();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        if !acknowledged.is_empty() && rng.random_range(0..4) == 0 {
            let id = acknowledged[rng.random_range(0..acknowledged.len())].clone();
            // A cancel may be refused (the order is done): that is fine, it must not panic.
            let body = app
                .gql(
                    "mutation($id: ID!) { cancelOrder(id: $id) { id } }",
                    json!({ "id": id }),
                    Some(&who.access_token),
                )
                .await;
            assert!(body.get("data").is_some(), "{body}");
            continue;
        }
        let side = if rng.random_bool(0.5) { "BUY" } else { "SELL" };
        let price = format!("{}", rng.random_range(97..=103));
        let qty = format!("{}", rng.random_range(1..=3));
        let mut input = limit(side, &price, &qty);
        match rng.random_range(0..6) {
            0 => input["i"]["timeInForce"] = json!("IOC"),
            1 => input["i"]["postOnly"] = json!(true),
            _ => {}
        }
        let body = app.gql(PLACE, input, Some(&who.access_token)).await;
        if let Some(id) = body["data"]["placeOrder"]["id"].as_str() {
            acknowledged.push(id.to_owned());
        } else {
            // Only refusals with a code (funds running out) are acceptable.
            let code = body["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("none");
            assert_eq!(code, "INSUFFICIENT_FUNDS", "{body}");
        }
    }
    acknowledged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_matcher_twenty_times_loses_nothing_and_double_fills_nothing() {
    let (Some(_), Some(redis)) = (
        std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()),
        std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()),
    ) else {
        eprintln!("needs DATABASE_URL and REDIS_URL: skipped");
        return;
    };
    let prefix = format!("rialto-test-{}:", uuid::Uuid::new_v4().simple());
    let app = crate::helpers::spawn_app_with(|c| {
        c.trading = api::startup::TradingConfig {
            redis_url: Some(redis.clone()),
            redis_prefix: prefix.clone(),
            no_matcher: true,
        };
    })
    .await;
    let app = Arc::new(app);
    let db_url = app.database_url.clone().unwrap();
    let admin = admin(&app).await;
    list_market(&app, &admin).await;
    let mut traders = Vec::new();
    for i in 0..TRADERS {
        let t = app.register(&format!("trader{i}@example.com")).await;
        credit(&app, &admin, &t, "ACME", "500").await;
        credit(&app, &admin, &t, "USD", "50000").await;
        traders.push(t);
    }

    let matcher = Arc::new(Mutex::new(spawn_matcher(&db_url, &redis, &prefix)));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (i, t) in traders.iter().enumerate() {
        tasks.push(tokio::spawn(trade(
            app.clone(),
            t.clone(),
            SEED + i as u64,
            stop.clone(),
        )));
    }
    // The killer: SIGKILL at a random moment, restart, again.
    let mut rng = StdRng::seed_from_u64(SEED);
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(rng.random_range(200..600))).await;
        let mut m = matcher.lock().unwrap();
        m.kill().unwrap();
        m.wait().unwrap();
        *m = spawn_matcher(&db_url, &redis, &prefix);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    for t in tasks {
        acknowledged.extend(t.await.unwrap());
    }
    assert!(
        acknowledged.len() >= 40,
        "the campaign placed only {} orders",
        acknowledged.len()
    );

    // Let the last matcher finish every command.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let pending = commands::Entity::find()
            .filter(commands::Column::ProcessedAt.is_null())
            .count(&app.db)
            .await
            .unwrap();
        if pending == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{pending} commands never processed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    {
        let mut m = matcher.lock().unwrap();
        m.kill().unwrap();
        m.wait().unwrap();
    }

    // Every acknowledged order exists.
    let stored: BTreeMap<i64, orders::Model> = orders::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    for id in &acknowledged {
        assert!(
            stored.contains_key(&id.parse::<i64>().unwrap()),
            "acknowledged order {id} is lost"
        );
    }
    // The audit: balanced ledger, balances = entries, filled = sum of trades, holds, no cross.
    let report = brain::audit::run(&app.db).await.unwrap();
    assert!(report.violations.is_empty(), "{report}");

    // Replay the accepted commands through the engine alone.
    let market = markets::Entity::find().one(&app.db).await.unwrap().unwrap();
    let rules = market_rules(&market).unwrap();
    let mut engine = Engine::new(rules, 0).unwrap();
    let mut fx = Effects::default();
    let log = commands::Entity::find()
        .order_by_asc(commands::Column::Seq)
        .all(&app.db)
        .await
        .unwrap();
    for (ts, c) in log.iter().enumerate() {
        let owner = c.user_id.as_u128();
        let input = match (c.kind.as_str(), c.order_id) {
            ("place", Some(id)) => {
                let o = &stored[&id];
                let side = if o.side == "buy" {
                    Side::Buy
                } else {
                    Side::Sell
                };
                let price = o.price_ticks.map(|p| p as u64);
                let budget = o.quote_budget.map(|b| b as u64);
                Input::Place(OrderState {
                    id: id as u64,
                    owner,
                    side,
                    price,
                    quote_budget: budget,
                    tif: match o.time_in_force.as_str() {
                        "ioc" => TimeInForce::Ioc,
                        "fok" => TimeInForce::Fok,
                        _ => TimeInForce::Gtc,
                    },
                    post_only: o.post_only,
                    qty: o.qty_lots as u64,
                    filled: 0,
                    filled_value: 0,
                    fees_paid: 0,
                    held: required_hold(&rules, side, price, budget, o.qty_lots as u64).unwrap(),
                    status: Status::Accepted,
                    reason: None,
                })
            }
            ("cancel", Some(id)) => Input::Cancel {
                id: id as u64,
                owner,
            },
            ("cancel_all", _) => Input::CancelAll { owner },
            other => panic!("unknown command {other:?}"),
        };
        engine.apply(input, ts as u64, &mut fx);
    }
    let mut replayed: Vec<(i64, u64, u64)> = engine
        .book()
        .open_orders()
        .iter()
        .map(|o| (o.id as i64, o.price, o.qty))
        .collect();
    replayed.sort_unstable();
    let mut live: Vec<(i64, u64, u64)> = stored
        .values()
        .filter(|o| o.status == "open" || o.status == "partially_filled")
        .map(|o| {
            (
                o.id,
                o.price_ticks.unwrap() as u64,
                (o.qty_lots - o.filled_lots) as u64,
            )
        })
        .collect();
    live.sort_unstable();
    assert_eq!(live, replayed, "the book differs from the engine's replay");
    eprintln!(
        "crash campaign: {KILLS} kills, {} orders acknowledged, {} commands, {} trades, {} resting",
        acknowledged.len(),
        log.len(),
        fx.trades.len(),
        live.len()
    );
    // And every order ended as the replay says.
    for (id, o) in &fx.orders {
        let s = &stored[&(*id as i64)];
        assert_eq!(
            (s.filled_lots as u64, s.held_remaining as u64),
            (o.filled, o.held),
            "order {id}"
        );
    }
}
