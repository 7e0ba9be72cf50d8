//! The content security policy of the app's pages, completed at start-up.
//!
//! `tauri.conf.json` holds the strict base: everything `'self'`, and `connect-src` limited
//! to the IPC bridge and loopback (`http://127.0.0.1:*`, `ws://127.0.0.1:*`: the local
//! demo, whose port is picked at run time). The server the user set is the one other
//! place the web app may connect to; since it is known only at run time, [`with_server`]
//! adds exactly its origin (HTTP and WebSocket) to `connect-src` before the app is built.
//! A server set while the app runs therefore needs a restart to be reachable
//! (`settings_set_server` says so); the alternative, `connect-src https: wss:`, would let
//! an injected script send data anywhere.

use std::collections::HashMap;

use tauri::utils::config::{Csp, CspDirectiveSources};

use crate::settings::ServerUrl;

/// `csp` with `server`'s origin and WebSocket origin added to `connect-src` (created if
/// absent, so the policy still falls back nowhere looser than `default-src`).
pub fn with_server(csp: Csp, server: &ServerUrl) -> Csp {
    let mut map: HashMap<String, CspDirectiveSources> = csp.into();
    let connect = map.entry("connect-src".to_owned()).or_insert_with(|| {
        // Without connect-src, connections follow default-src: keep that as the base.
        CspDirectiveSources::List(vec!["'self'".to_owned()])
    });
    for source in [server.origin(), server.ws_origin()] {
        if !connect.contains(&source) {
            connect.push(source);
        }
    }
    Csp::DirectiveMap(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect_src(csp: &Csp) -> Vec<String> {
        let map: HashMap<String, CspDirectiveSources> = csp.clone().into();
        let sources: Vec<String> = map["connect-src"].clone().into();
        sources
    }

    fn base() -> Csp {
        Csp::Policy("default-src 'self'; connect-src 'self' ipc: http://127.0.0.1:*".into())
    }

    #[test]
    fn the_servers_http_and_websocket_origins_are_added() {
        let server = ServerUrl::parse("https://rialto.example.com:8443").unwrap();
        let csp = with_server(base(), &server);
        assert_eq!(
            connect_src(&csp),
            [
                "'self'",
                "ipc:",
                "http://127.0.0.1:*",
                "https://rialto.example.com:8443",
                "wss://rialto.example.com:8443"
            ]
        );
        let text = csp.to_string();
        assert!(text.contains("default-src 'self'"), "{text}");
    }

    #[test]
    fn adding_twice_adds_once() {
        let server = ServerUrl::parse("http://10.0.0.5:8080").unwrap();
        let csp = with_server(with_server(base(), &server), &server);
        assert_eq!(
            connect_src(&csp),
            [
                "'self'",
                "ipc:",
                "http://127.0.0.1:*",
                "http://10.0.0.5:8080",
                "ws://10.0.0.5:8080"
            ]
        );
    }

    #[test]
    fn a_policy_without_connect_src_gets_one_based_on_self() {
        let server = ServerUrl::parse("https://rialto.example.com").unwrap();
        let csp = with_server(Csp::Policy("default-src 'self'".into()), &server);
        assert_eq!(
            connect_src(&csp),
            [
                "'self'",
                "https://rialto.example.com",
                "wss://rialto.example.com"
            ]
        );
    }

    #[test]
    fn the_shipped_policy_is_strict() {
        let conf: serde_json::Value =
            serde_json::from_str(include_str!("../tauri.conf.json")).unwrap();
        let csp: Csp = serde_json::from_value(conf["app"]["security"]["csp"].clone()).unwrap();
        let map: HashMap<String, CspDirectiveSources> = csp.into();
        let get = |d: &str| -> Vec<String> { map[d].clone().into() };
        assert_eq!(get("default-src"), ["'self'"]);
        assert_eq!(get("script-src"), ["'self'"]);
        assert_eq!(get("object-src"), ["'none'"]);
        assert_eq!(get("frame-ancestors"), ["'none'"]);
        // No scheme-wide or wildcard-host sources: only self, IPC and loopback.
        for source in get("connect-src") {
            assert!(
                ["'self'", "ipc:", "http://ipc.localhost"].contains(&source.as_str())
                    || source.starts_with("http://127.0.0.1:")
                    || source.starts_with("ws://127.0.0.1:"),
                "{source}"
            );
        }
        for (directive, sources) in &map {
            let sources: Vec<String> = sources.clone().into();
            for s in sources {
                assert!(
                    !["*", "http:", "https:", "ws:", "wss:", "'unsafe-eval'"].contains(&s.as_str()),
                    "{directive} allows {s}"
                );
                assert!(
                    s != "'unsafe-inline'" || directive == "style-src",
                    "{directive} allows inline code"
                );
            }
        }
    }
}
