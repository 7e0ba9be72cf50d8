//! The tray's ticker: the last trade price of one market, read over GraphQL-over-HTTP.
//!
//! Public market data needs no token, so the tray polls the server itself (every
//! [`POLL_EVERY`]) rather than depending on the web app being loaded or signed in. A
//! subscription would be fresher, but a tray label does not need sub-second updates, and a
//! poll survives server restarts with no reconnection logic.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use ureq::Agent;

use crate::{
    error::{Error, Result},
    settings::{MarketSymbol, ServerUrl},
};

/// How often the tray asks for the price.
pub const POLL_EVERY: Duration = Duration::from_secs(5);

/// The agent the ticker uses: 5 s per request, so a dead server does not stall the tray.
pub fn agent() -> Agent {
    crate::http::agent(Duration::from_secs(5))
}

#[derive(Deserialize)]
struct Response<T> {
    data: Option<T>,
    #[serde(default)]
    errors: Vec<GraphqlError>,
}

#[derive(Deserialize)]
struct GraphqlError {
    message: String,
}

/// One GraphQL-over-HTTP POST (blocking).
fn query<T: serde::de::DeserializeOwned>(
    agent: &Agent,
    server: &ServerUrl,
    query: &str,
    variables: serde_json::Value,
) -> Result<T> {
    let mut resp = agent
        .post(server.graphql_url())
        .send_json(json!({ "query": query, "variables": variables }))
        .map_err(|e| Error::Server(format!("{server}: {e}")))?;
    let status = resp.status();
    let body: Response<T> = resp
        .body_mut()
        .read_json()
        .map_err(|e| Error::Server(format!("{server} answered {status}: {e}")))?;
    match (body.data, body.errors.first()) {
        (Some(data), None) => Ok(data),
        (_, Some(e)) => Err(Error::Server(format!("{server}: {}", e.message))),
        (None, None) => Err(Error::Server(format!(
            "{server} answered {status} with no data"
        ))),
    }
}

/// The market's last trade price as the server prints it (`"101.25"`); `None` before its
/// first trade. An unknown market is [`Error::InvalidMarket`]. Blocking.
pub fn last_price(
    agent: &Agent,
    server: &ServerUrl,
    market: &MarketSymbol,
) -> Result<Option<String>> {
    #[derive(Deserialize)]
    struct Data {
        market: Option<Market>,
    }
    #[derive(Deserialize)]
    struct Market {
        ticker: Ticker,
    }
    #[derive(Deserialize)]
    struct Ticker {
        last: Option<String>,
    }
    let data: Data = query(
        agent,
        server,
        "query TrayTicker($symbol: String!) { market(symbol: $symbol) { ticker { last } } }",
        json!({ "symbol": market.as_str() }),
    )?;
    match data.market {
        Some(m) => Ok(m.ticker.last),
        None => Err(Error::InvalidMarket(market.to_string())),
    }
}

/// The server's first market (by its own order), for a tray with no market chosen. Blocking.
pub fn first_market(agent: &Agent, server: &ServerUrl) -> Result<Option<MarketSymbol>> {
    #[derive(Deserialize)]
    struct Data {
        markets: Vec<Market>,
    }
    #[derive(Deserialize)]
    struct Market {
        symbol: String,
    }
    let data: Data = query(
        agent,
        server,
        "query TrayMarkets { markets { symbol } }",
        json!({}),
    )?;
    data.markets
        .first()
        .map(|m| MarketSymbol::parse(&m.symbol))
        .transpose()
}

/// What the tray shows for `server` now: the chosen market, or the server's first, and its
/// last price (`—` when unknown or unreachable). Blocking.
pub fn current_label(agent: &Agent, server: &ServerUrl, chosen: Option<MarketSymbol>) -> String {
    let market = chosen.or_else(|| first_market(agent, server).ok().flatten());
    let last = market.as_ref().and_then(|m| {
        last_price(agent, server, m).unwrap_or_else(|e| {
            tracing::debug!(error = %e, "tray ticker");
            None
        })
    });
    tray_label(market.as_ref(), last.as_deref())
}

/// The tray's label: `ACME-USD 101.25`, `ACME-USD —` before a first trade, `Rialto` with
/// no market.
pub fn tray_label(market: Option<&MarketSymbol>, last: Option<&str>) -> String {
    match (market, last) {
        (Some(m), Some(last)) => format!("{m} {last}"),
        (Some(m), None) => format!("{m} —"),
        (None, _) => "Rialto".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tray_label_names_the_market_and_its_last_price() {
        let m = MarketSymbol::parse("ACME-USD").unwrap();
        assert_eq!(tray_label(Some(&m), Some("101.25")), "ACME-USD 101.25");
        assert_eq!(tray_label(Some(&m), None), "ACME-USD —");
        assert_eq!(tray_label(None, Some("1")), "Rialto");
    }

    #[test]
    fn an_unreachable_server_is_a_server_error_and_a_dash_in_the_tray() {
        // A port bound and never listened on: connections are refused, and nothing else can
        // take the port while the test holds it.
        let held = tokio::net::TcpSocket::new_v4().unwrap();
        held.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = held.local_addr().unwrap().port();
        let server = ServerUrl::loopback(port);
        let m = MarketSymbol::parse("ACME-USD").unwrap();
        let err = last_price(&agent(), &server, &m).unwrap_err();
        assert!(matches!(err, Error::Server(_)), "{err:?}");
        assert_eq!(current_label(&agent(), &server, Some(m)), "ACME-USD —");
        assert_eq!(current_label(&agent(), &server, None), "Rialto");
    }
}
