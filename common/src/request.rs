//! Facts about the HTTP request that services record (session log) or key limits on.

/// Put into every GraphQL request's data by the HTTP edge.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RequestMeta {
    /// The client address (the peer, or the first `X-Forwarded-For` hop behind a trusted proxy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The `User-Agent` header, truncated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The `x-request-id` of this request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Longest key [`address_key`] returns for input that is not an IP address.
const MAX_ADDRESS_KEY: usize = 64;

/// The key under which limits count a client address (`RequestMeta::ip`): an IPv4 address
/// in full, an IPv6 address by its /64 (`2001:db8:1:2::/64`), because one subscriber is
/// usually handed a whole /64 and could otherwise rotate through it to escape any
/// per-address limit. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) counts as its IPv4
/// address, and a `host:port` or `[v6]:port` form as its host. Anything else (a garbled
/// forwarded header) is its own key, trimmed, lower-cased and cut to 64 characters, so
/// hostile input cannot grow a limiter's keys without bound.
pub fn address_key(address: &str) -> String {
    use std::net::{IpAddr, SocketAddr};

    let address = address.trim();
    let ip = address
        .parse::<IpAddr>()
        .ok()
        .or_else(|| address.parse::<SocketAddr>().ok().map(|s| s.ip()))
        // A scoped link-local address (`fe80::1%eth0`): the scope names the interface.
        .or_else(|| address.split('%').next()?.parse::<IpAddr>().ok());
    match ip.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let network = u128::from(v6) & !u128::from(u64::MAX);
            format!("{}/64", std::net::Ipv6Addr::from(network))
        }
        None => address
            .chars()
            .take(MAX_ADDRESS_KEY)
            .flat_map(char::to_lowercase)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::address_key;

    #[test]
    fn ipv4_addresses_are_kept_whole() {
        assert_eq!(address_key("192.0.2.7"), "192.0.2.7");
        assert_eq!(address_key(" 192.0.2.7 "), "192.0.2.7");
        assert_ne!(address_key("192.0.2.7"), address_key("192.0.2.8"));
        assert_eq!(address_key("192.0.2.7:443"), "192.0.2.7");
    }

    #[test]
    fn ipv6_addresses_share_a_key_per_64_bit_prefix() {
        let a = address_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd");
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(address_key("2001:db8:1:2::1"), a);
        assert_eq!(address_key("[2001:db8:1:2::9]:8080"), a);
        assert_eq!(address_key("2001:DB8:1:2::1"), a);
        assert_ne!(
            address_key("2001:db8:1:3::1"),
            a,
            "the next /64 is another client"
        );
        assert_eq!(address_key("fe80::1%eth0"), "fe80::/64");
    }

    #[test]
    fn ipv4_mapped_ipv6_addresses_count_as_ipv4() {
        assert_eq!(address_key("::ffff:192.0.2.7"), "192.0.2.7");
    }

    #[test]
    fn anything_else_is_its_own_bounded_key() {
        assert_eq!(address_key("Unknown"), "unknown");
        assert_eq!(address_key(&"x".repeat(1000)).len(), 64);
    }
}
