//! The load generator against a real subgraph (the catalog fixture on a random port).

#![allow(clippy::expect_used, missing_docs)]

use std::time::Duration;

use bytes::Bytes;
use fixtures::Fixture;
use loadgen::graphql::{Load, run};

async fn catalog_url() -> http::Uri {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(
        async move { axum::serve(listener, fixtures::router(Fixture::Catalog, None)).await },
    );
    format!("http://{addr}/graphql").parse().expect("url")
}

fn load(url: http::Uri, query: &str) -> Load {
    Load {
        label: "test".into(),
        url,
        body: Bytes::from(
            serde_json::to_vec(&serde_json::json!({ "query": query })).expect("json"),
        ),
        headers: vec![],
        connections: 4,
        warmup: Duration::from_millis(100),
        duration: Duration::from_millis(500),
    }
}

#[tokio::test]
async fn a_run_counts_successful_answers_and_their_latencies() {
    let url = catalog_url().await;
    let (report, first) = run(load(url, "{ topProduct { upc name price } }"))
        .await
        .expect("the run");
    assert!(
        String::from_utf8_lossy(&first).contains(r#""upc":"p1""#),
        "first response: {}",
        String::from_utf8_lossy(&first)
    );
    assert!(
        report.ok > 10,
        "only {} answers in half a second",
        report.ok
    );
    assert_eq!(report.failures.total(), 0, "{report}");
    assert_eq!(report.connections, 4);
    let l = report.latency_us;
    assert!(l.p50 >= 1 && l.p50 <= l.p99 && l.p99 <= l.max, "{report}");
    assert!(report.throughput > 0.0);
}

#[tokio::test]
async fn an_operation_the_server_refuses_stops_the_run_before_measuring() {
    let url = catalog_url().await;
    let error = run(load(url, "{ failing }")).await.expect_err("refused");
    assert!(
        error.to_string().contains("first response was refused"),
        "{error}"
    );
}

#[tokio::test]
async fn a_server_that_is_not_there_is_an_error_not_a_report() {
    // A port bound and never listened on: connections are refused, and nothing else can
    // take the port while the test holds it.
    let held = tokio::net::TcpSocket::new_v4().expect("socket");
    held.bind("127.0.0.1:0".parse().expect("address"))
        .expect("bind");
    let addr = held.local_addr().expect("address");
    let url = format!("http://{addr}/graphql").parse().expect("url");
    assert!(run(load(url, "{ topProduct { upc } }")).await.is_err());
}
