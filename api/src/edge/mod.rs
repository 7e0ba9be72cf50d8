//! Who is calling, and from where: the bearer credential becomes a [`Caller`], the
//! connection a [`RequestMeta`].
//!
//! In `rialto serve` the auth service is in the same process and checks credentials itself.
//! In `rialto gateway` ([`remote::RemoteAuth`]) access tokens are verified locally with the
//! auth service's published keys (fetched again when a token names an unknown `kid`), and
//! API keys are checked with the auth service and remembered for a few seconds, so a
//! revoked key stops working within that time.

pub mod remote;

use std::net::{IpAddr, SocketAddr};

use auth::{AuthError, AuthService};
use axum::http::HeaderMap;
use common::{Caller, RequestMeta};
use ipnet::IpNet;

/// Longest `User-Agent` kept in the session log.
const MAX_USER_AGENT: usize = 256;
/// Longest request id or `traceparent` accepted from a client.
const MAX_ID_LEN: usize = 128;

/// Request metadata from headers and the peer address. The client address is the peer's,
/// or, when the peer is one of the `trusted` proxies, the one [`client_address`] finds in
/// `X-Forwarded-For`.
pub fn request_meta(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    trusted: &[IpNet],
) -> RequestMeta {
    RequestMeta {
        ip: peer.map(|p| client_address(p.ip(), headers, trusted).to_string()),
        user_agent: headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(MAX_USER_AGENT).collect()),
        request_id: header_str(headers, "x-request-id"),
    }
}

/// The client's address: walking `X-Forwarded-For` from the right (the hop the nearest
/// proxy appended) while the address in hand is a `trusted` proxy's, the first hop that is
/// not itself trusted. Every hop to the right of it was written by a proxy we trust; what
/// lies to its left the client may have written itself, so a client that prepends an
/// address to the header chooses nothing. An untrusted peer's header is ignored; a hop that
/// is not an address ends the walk at the proxy that passed it on; when every hop is
/// trusted, the left-most one is the client (a caller inside the proxies' own network).
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(&client) {
        return client;
    }
    // Several headers are one list, in order; a value that is not text is not an address.
    let hops: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .flat_map(|v| {
            v.to_str()
                .map_or_else(|_| vec![""], |s| s.split(',').collect())
        })
        .collect();
    for hop in hops.into_iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            break;
        };
        client = ip;
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

/// The header proxies append the address they received a request from to.
const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// One `X-Forwarded-For` hop: an address, perhaps with a port (`203.0.113.7:41234`,
/// `[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// Parses one entry of `--trust-forwarded-for`: a network (`10.0.0.0/8`, `fd00::/8`) or a
/// single address (`127.0.0.1`, taken as `/32` or `/128`).
///
/// # Errors
/// A message naming the entry; `true` and `false`, the option's old values, get one that
/// says what to write instead.
pub fn parse_trusted_network(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") {
        return Err(format!(
            "`{s}`: --trust-forwarded-for takes the networks of the proxies to trust \
             (e.g. 127.0.0.1/32,10.0.0.0/8), no longer true or false"
        ));
    }
    s.parse::<IpNet>()
        .map(|net| net.trunc())
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{s}` is not a network such as 10.0.0.0/8 or an address"))
}

/// A short, printable header value.
pub fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= MAX_ID_LEN)
        .map(str::to_string)
}

/// A W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`) to forward; anything else is dropped.
pub fn traceparent(headers: &HeaderMap) -> Option<String> {
    let v = header_str(headers, "traceparent")?;
    let parts: Vec<&str> = v.split('-').collect();
    let hex = |s: &str, n: usize| s.len() == n && s.chars().all(|c| c.is_ascii_hexdigit());
    (parts.len() == 4
        && hex(parts[0], 2)
        && hex(parts[1], 32)
        && hex(parts[2], 16)
        && hex(parts[3], 2))
    .then_some(v)
}

/// How the edge checks credentials.
pub enum Authenticator {
    /// The auth service in this process.
    Local(AuthService),
    /// The auth service over the network.
    Remote(Box<remote::RemoteAuth>),
    /// No auth service: any credential presented is refused.
    None,
}

impl Authenticator {
    /// Resolves an `Authorization` value (`Bearer <token or key>`). A malformed or refused
    /// credential is [`Caller::Rejected`]; only a fault on our side is an error.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Caller, AuthError> {
        let Some(value) = authorization.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(Caller::Anonymous);
        };
        let Some(token) = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
        else {
            return Ok(Caller::Rejected);
        };
        let result = match self {
            Self::Local(auth) => auth.authenticate(token).await,
            Self::Remote(remote) => remote.authenticate(token).await,
            Self::None => Err(AuthError::InvalidCredential),
        };
        match result {
            Ok(identity) => Ok(Caller::Known(identity)),
            Err(AuthError::Internal(e)) => Err(AuthError::Internal(e)),
            Err(_) => Ok(Caller::Rejected),
        }
    }

    /// Whether checking this `Authorization` value would cost a lookup (a database query,
    /// or a call to the auth service): an API key whose answer is not remembered. The edge
    /// spends from the client address's lookup budget first.
    pub fn needs_lookup(&self, authorization: Option<&str>) -> bool {
        let Some(token) = authorization
            .map(str::trim)
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
        else {
            return false;
        };
        match self {
            Self::Local(auth) => auth.needs_lookup(token),
            Self::Remote(remote) => remote.needs_lookup(token),
            Self::None => false,
        }
    }

    /// The sessions and keys revoked before their time that this edge knows of (sockets
    /// watch them), if it checks credentials at all.
    pub fn revocations(&self) -> Option<&std::sync::Arc<auth::revocation::RevocationList>> {
        match self {
            Self::Local(auth) => Some(auth.revocations()),
            Self::Remote(remote) => Some(remote.revocations()),
            Self::None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_well_formed_traceparents_are_forwarded() {
        let mut h = HeaderMap::new();
        h.insert(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                .parse()
                .unwrap(),
        );
        assert!(traceparent(&h).is_some());
        h.insert("traceparent", "00-xyz-00f067aa0ba902b7-01".parse().unwrap());
        assert!(traceparent(&h).is_none());
    }

    fn nets(list: &str) -> Vec<IpNet> {
        list.split(',')
            .map(|s| parse_trusted_network(s).unwrap())
            .collect()
    }

    fn client(peer: &str, forwarded_for: &[&str], trusted: &str) -> String {
        let mut h = HeaderMap::new();
        for v in forwarded_for {
            h.append(X_FORWARDED_FOR, v.parse().unwrap());
        }
        client_address(peer.parse().unwrap(), &h, &nets(trusted)).to_string()
    }

    #[test]
    fn trusted_proxies_are_networks_or_single_addresses() {
        assert_eq!(
            nets("127.0.0.1/32, 10.0.0.0/8,fd00::/8,192.168.1.7"),
            ["127.0.0.1/32", "10.0.0.0/8", "fd00::/8", "192.168.1.7/32"]
                .map(|s| s.parse::<IpNet>().unwrap())
        );
        // Host bits are dropped: 10.1.2.3/8 is the network 10.0.0.0/8.
        assert_eq!(nets("10.1.2.3/8"), nets("10.0.0.0/8"));
        for bad in ["true", "false", "10.0.0.0/33", "proxy.local", ""] {
            assert!(parse_trusted_network(bad).is_err(), "{bad:?} accepted");
        }
        assert!(
            parse_trusted_network("true")
                .unwrap_err()
                .contains("no longer")
        );
    }

    #[test]
    fn an_untrusted_peers_forwarded_for_is_ignored() {
        assert_eq!(
            client("198.51.100.4", &["203.0.113.7"], "10.0.0.0/8"),
            "198.51.100.4"
        );
        assert_eq!(
            client("127.0.0.1", &["203.0.113.7"], "10.0.0.0/8"),
            "127.0.0.1"
        );
        let mut h = HeaderMap::new();
        h.insert(X_FORWARDED_FOR, "203.0.113.7".parse().unwrap());
        let peer = "127.0.0.1:5555".parse().ok();
        assert_eq!(request_meta(&h, peer, &[]).ip.as_deref(), Some("127.0.0.1"));
    }

    #[test]
    fn the_client_is_the_right_most_hop_that_is_not_a_trusted_proxy() {
        let trusted = "127.0.0.1/32,10.0.0.0/8";
        assert_eq!(
            client("127.0.0.1", &["203.0.113.7"], trusted),
            "203.0.113.7"
        );
        // A client that prepends an address of its choosing chooses nothing.
        assert_eq!(
            client("127.0.0.1", &["198.51.100.1, 203.0.113.7"], trusted),
            "203.0.113.7"
        );
        // Through two trusted proxies (10.1.2.3 passed it to 127.0.0.1).
        assert_eq!(
            client(
                "127.0.0.1",
                &["198.51.100.1, 203.0.113.7, 10.1.2.3"],
                trusted
            ),
            "203.0.113.7"
        );
        // Several headers are one list, in order.
        assert_eq!(
            client(
                "127.0.0.1",
                &["198.51.100.1", "203.0.113.7", "10.1.2.3"],
                trusted
            ),
            "203.0.113.7"
        );
        // Every hop trusted: a caller inside the proxies' network.
        assert_eq!(
            client("127.0.0.1", &["10.0.0.9, 10.1.2.3"], trusted),
            "10.0.0.9"
        );
        // No header: the proxy itself.
        assert_eq!(client("10.1.2.3", &[], trusted), "10.1.2.3");
    }

    #[test]
    fn odd_hops_and_address_forms() {
        let trusted = "127.0.0.1/32,10.0.0.0/8";
        // A hop that is not an address stops the walk at the proxy that passed it on.
        assert_eq!(
            client("127.0.0.1", &["203.0.113.7, unknown"], trusted),
            "127.0.0.1"
        );
        assert_eq!(
            client("127.0.0.1", &["unknown, 10.1.2.3"], trusted),
            "10.1.2.3"
        );
        // Ports, IPv6, and an IPv4 peer seen on a dual-stack socket.
        assert_eq!(
            client("127.0.0.1", &["203.0.113.7:41234"], trusted),
            "203.0.113.7"
        );
        assert_eq!(
            client("127.0.0.1", &["[2001:db8::1]:443"], trusted),
            "2001:db8::1"
        );
        assert_eq!(
            client("::ffff:127.0.0.1", &["2001:db8::1"], trusted),
            "2001:db8::1"
        );
        assert_eq!(
            client("::ffff:198.51.100.4", &["2001:db8::1"], trusted),
            "198.51.100.4"
        );
    }
}
