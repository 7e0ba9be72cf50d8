//! The local demo against the real `rialto` binary: build it first with
//! `cargo build -p api --bin rialto` (same target directory), or point `RIALTO_BIN` at one.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{sync::Arc, time::Duration};

use rialto_desktop_lib::{
    demo::{self, DemoOptions, LocalDemo},
    desktop::{Desktop, DesktopConfig},
    settings::MarketSymbol,
    ticker,
    tokens::MemoryStore,
};
use serde_json::json;

fn rialto() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    demo::find_rialto_binary(std::env::var_os("RIALTO_BIN"), &exe).unwrap_or_else(|e| {
        panic!("{e}");
    })
}

fn agent() -> ureq::Agent {
    rialto_desktop_lib::http::agent(Duration::from_secs(5))
}

fn graphql(server_graphql: &str, query: &str) -> serde_json::Value {
    agent()
        .post(server_graphql)
        .send_json(json!({ "query": query }))
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap()
}

#[tokio::test]
async fn the_local_demo_serves_the_demo_market_until_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let options = DemoOptions::new(rialto(), dir.path().join("demo"));
    let demo = LocalDemo::start(&options).await.unwrap();
    let server = demo.server().clone();
    assert!(server.origin().starts_with("http://127.0.0.1:"));

    // GraphQL answers, with the seeded demo market.
    let body = graphql(&server.graphql_url(), "{ markets { symbol } }");
    let markets = body["data"]["markets"].as_array().unwrap();
    assert!(!markets.is_empty(), "{body}");

    // The tray's queries work against it.
    let client = ticker::agent();
    let first = ticker::first_market(&client, &server).unwrap().unwrap();
    assert_eq!(first.as_str(), markets[0]["symbol"]);
    // The price is null before a first trade; either way it is a decimal string.
    let last = ticker::last_price(&client, &server, &first).unwrap();
    if let Some(last) = last {
        assert!(last.parse::<f64>().is_ok(), "{last}");
    }
    let unknown = MarketSymbol::parse("NOPE-USD").unwrap();
    assert!(ticker::last_price(&client, &server, &unknown).is_err());
    let label = ticker::current_label(&client, &server, None);
    assert!(label.starts_with(first.as_str()), "{label}");

    // The app's pages may call it cross-origin.
    let preflight = agent()
        .options(server.graphql_url())
        .header("origin", "tauri://localhost")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .call()
        .unwrap();
    assert_eq!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("tauri://localhost")
    );

    // Its data directory is taken while it runs.
    assert!(LocalDemo::start(&options).await.is_err());

    demo.stop().await.unwrap();
    let gone = agent().get(server.join("/health")).call();
    assert!(gone.is_err(), "still answering after stop");
}

#[tokio::test]
async fn the_app_starts_one_demo_keeps_its_tokens_and_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let app = Desktop::new(
        DesktopConfig {
            config_dir: dir.path().join("config"),
            data_dir: dir.path().join("data"),
            rialto_bin: Some(rialto().into_os_string()),
            exe,
        },
        Arc::new(MemoryStore::new()),
    );
    let info = app.start_demo().await.unwrap();
    assert_eq!(
        app.start_demo().await.unwrap(),
        info,
        "a second start reuses it"
    );
    assert_eq!(app.demo_status().await.as_ref(), Some(&info));
    assert!(info.graphql_ws_url.starts_with("ws://127.0.0.1:"));
    assert!(app.demo_data_dir().join("rialto.log").is_file());
    assert_eq!(
        app.tray_server().map(|s| s.origin()).as_deref(),
        Some(info.server_url.as_str())
    );

    app.save_token(&info.server_url, "demo-refresh".into())
        .unwrap();
    assert!(
        app.load_token(&info.graphql_url).is_err(),
        "an endpoint URL is not an origin"
    );
    assert_eq!(
        app.load_token(&info.server_url).unwrap().as_deref(),
        Some("demo-refresh")
    );

    app.stop_demo().await.unwrap();
    assert_eq!(app.demo_status().await, None);
    assert_eq!(app.tray_server(), None);
}
