//! What the app remembers between runs: the Rialto server the user set and the market the
//! tray shows, in `settings.json` under the app's config directory.
//!
//! The server is kept as an *origin* (`https://host[:port]`): the app adds it to the
//! content security policy's `connect-src` at start-up (see [`crate::csp`]), and a CSP
//! source cannot express a path, user name or IPv6 literal, so such URLs are refused here
//! rather than half-honoured there. The file is replaced atomically (a sibling temporary
//! file, synced, then renamed), so a crash mid-write leaves the old settings.

use std::{
    fmt,
    fs::{self, File},
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use url::{Host, Url};

use crate::error::{Error, Result};

/// A Rialto server's origin: `http` or `https`, a host name or IPv4 address, an optional
/// port; no user info, path, query or fragment. Displayed without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerUrl(Url);

impl ServerUrl {
    /// Parses what a user typed. Surrounding blanks and one trailing `/` are forgiven;
    /// anything that would send requests somewhere other than the origin is not.
    pub fn parse(input: &str) -> Result<Self> {
        let input = input.trim();
        let invalid = |why: &str| Error::InvalidServerUrl(format!("{input:?}: {why}"));
        let url = Url::parse(input).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "a user name or password does not belong in the URL",
            ));
        }
        match url.host() {
            Some(Host::Domain(_) | Host::Ipv4(_)) => {}
            Some(Host::Ipv6(_)) => {
                return Err(invalid(
                    "IPv6 literals cannot be allowed by a content security policy; use a host name",
                ));
            }
            None => return Err(invalid("no host")),
        }
        // `Url` normalises an empty path to `/`, and also `/%2e%2e/` or `\` to it: judge
        // what was typed after the authority. `/graphql` and the like are refused, the app
        // adds the API's paths itself.
        let after_authority = input
            .split_once("://")
            .map(|(_, rest)| rest.find(['/', '\\', '?', '#']).map(|i| &rest[i..]))
            .unwrap_or(None);
        if !matches!(after_authority, None | Some("/")) || url.path() != "/" {
            return Err(invalid("give the server's origin only, without a path"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("no query or fragment"));
        }
        // Catches a raw `%` or `*` in a host (wildcards in a CSP source).
        if url.host_str().is_some_and(|h| {
            !h.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.".contains(c))
        }) {
            return Err(invalid("the host has characters a host name cannot have"));
        }
        Ok(Self(url))
    }

    /// The loopback server of the local demo on `port`.
    pub fn loopback(port: u16) -> Self {
        // A literal that always parses: 127.0.0.1 with any u16 port.
        #[allow(clippy::expect_used)]
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).expect("a loopback URL");
        Self(url)
    }

    /// `https://host[:port]`, no trailing slash: the key of the token store, and what the
    /// web app compares.
    pub fn origin(&self) -> String {
        self.0.origin().ascii_serialization()
    }

    /// The WebSocket origin of the same server (`ws://` for `http://`, `wss://` for `https://`).
    pub fn ws_origin(&self) -> String {
        let origin = self.origin();
        match origin.strip_prefix("https://") {
            Some(rest) => format!("wss://{rest}"),
            None => format!("ws://{}", origin.trim_start_matches("http://")),
        }
    }

    /// The GraphQL endpoint over HTTP: `<origin>/graphql`.
    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.origin())
    }

    /// The GraphQL endpoint over WebSocket (graphql-transport-ws): `<ws origin>/graphql`.
    pub fn graphql_ws_url(&self) -> String {
        format!("{}/graphql", self.ws_origin())
    }

    /// A path on the server, e.g. `/health`.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.origin())
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin())
    }
}

impl Serialize for ServerUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.origin())
    }
}

impl<'de> Deserialize<'de> for ServerUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ServerUrl::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A market's symbol, `BASE-QUOTE`, each part 1 to 12 upper-case letters or digits (the
/// rule of brain's `validate_symbol`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct MarketSymbol(String);

impl MarketSymbol {
    /// Checks and keeps `symbol` (surrounding blanks trimmed, nothing else changed).
    pub fn parse(symbol: &str) -> Result<Self> {
        let symbol = symbol.trim();
        let part_ok = |p: &str| {
            (1..=12).contains(&p.len())
                && p.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        };
        match symbol.split_once('-') {
            Some((base, quote)) if part_ok(base) && part_ok(quote) => Ok(Self(symbol.to_owned())),
            _ => Err(Error::InvalidMarket(symbol.to_owned())),
        }
    }

    /// The symbol.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The base asset's symbol (`ACME` of `ACME-USD`).
    pub fn base(&self) -> &str {
        self.0.split_once('-').map_or(&self.0, |(b, _)| b)
    }

    /// The quote asset's symbol (`USD` of `ACME-USD`).
    pub fn quote(&self) -> &str {
        self.0.split_once('-').map_or("", |(_, q)| q)
    }
}

impl fmt::Display for MarketSymbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for MarketSymbol {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        MarketSymbol::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The remembered settings. Both unset on a first run: the web app then offers the local
/// demo or asks for a server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// The server the user set.
    #[serde(default)]
    pub server_url: Option<ServerUrl>,
    /// The market whose last price the tray shows; the server's first market when unset.
    #[serde(default)]
    pub tray_market: Option<MarketSymbol>,
}

/// The file format: the settings under a version, so a later format can migrate. Unknown
/// fields are refused (serde cannot refuse them through `flatten`, hence the copy).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SettingsFileV1 {
    version: u32,
    #[serde(default)]
    server_url: Option<ServerUrl>,
    #[serde(default)]
    tray_market: Option<MarketSymbol>,
}

const VERSION: u32 = 1;

/// `settings.json` in a directory.
#[derive(Debug, Clone)]
pub struct SettingsFile {
    path: PathBuf,
}

impl SettingsFile {
    /// The settings file in `config_dir` (created on the first save).
    pub fn in_dir(config_dir: &Path) -> Self {
        Self {
            path: config_dir.join("settings.json"),
        }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved settings; the defaults when there is no file yet. A file that does not
    /// parse (edited by hand, a newer version) is an error, not silently replaced.
    pub fn load(&self) -> Result<Settings> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("reading {}", self.path.display()))
                    .into());
            }
        };
        let file: SettingsFileV1 = serde_json::from_str(&text)
            .with_context(|| format!("{} does not parse", self.path.display()))?;
        if file.version != VERSION {
            return Err(anyhow::anyhow!(
                "{} has version {}, this app reads {VERSION}",
                self.path.display(),
                file.version
            )
            .into());
        }
        Ok(Settings {
            server_url: file.server_url,
            tray_market: file.tray_market,
        })
    }

    /// [`Self::load`], or the defaults (with a warning) when the file is unreadable, so a
    /// broken file never keeps the app from starting. The next save replaces it.
    pub fn load_or_default(&self) -> Settings {
        self.load().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "settings unreadable; starting with defaults");
            Settings::default()
        })
    }

    /// Writes `settings` atomically: readers see the old file or the new one, never half.
    pub fn save(&self, settings: &Settings) -> Result<()> {
        let dir = self
            .path
            .parent()
            .context("the settings path has no directory")?;
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let file = SettingsFileV1 {
            version: VERSION,
            server_url: settings.server_url.clone(),
            tray_market: settings.tray_market.clone(),
        };
        let json = serde_json::to_vec_pretty(&file).context("serialising the settings")?;
        let tmp = dir.join(format!(".settings.json.{}.tmp", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&json)?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            fs::rename(&tmp, &self.path)?;
            // The rename itself is durable once the directory is synced (POSIX).
            #[cfg(unix)]
            File::open(dir)?.sync_all()?;
            Ok(())
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            Error::from(anyhow::Error::new(e).context(format!("saving {}", self.path.display())))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_url_is_kept_as_its_origin() {
        let cases = [
            ("https://rialto.example.com", "https://rialto.example.com"),
            ("https://rialto.example.com/", "https://rialto.example.com"),
            ("  http://10.0.0.5:8080  ", "http://10.0.0.5:8080"),
            (
                "HTTPS://Rialto.Example.COM:443",
                "https://rialto.example.com",
            ),
            ("http://localhost:8080", "http://localhost:8080"),
        ];
        for (input, origin) in cases {
            let url = ServerUrl::parse(input).unwrap();
            assert_eq!(url.origin(), origin, "{input}");
            assert_eq!(url.to_string(), origin);
        }
    }

    #[test]
    fn a_server_url_gives_the_api_endpoints() {
        let url = ServerUrl::parse("https://rialto.example.com:8443").unwrap();
        assert_eq!(url.graphql_url(), "https://rialto.example.com:8443/graphql");
        assert_eq!(
            url.graphql_ws_url(),
            "wss://rialto.example.com:8443/graphql"
        );
        assert_eq!(
            url.join("/health"),
            "https://rialto.example.com:8443/health"
        );
        let plain = ServerUrl::loopback(4100);
        assert_eq!(plain.origin(), "http://127.0.0.1:4100");
        assert_eq!(plain.ws_origin(), "ws://127.0.0.1:4100");
    }

    #[test]
    fn server_urls_that_are_not_a_plain_origin_are_refused() {
        let cases = [
            "",
            "rialto.example.com",
            "ftp://rialto.example.com",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "ws://rialto.example.com",
            "https://user:pw@rialto.example.com",
            "https://user@rialto.example.com",
            "https://rialto.example.com/graphql",
            "https://rialto.example.com/../x",
            "https://rialto.example.com/%2e%2e/",
            "https://rialto.example.com\\",
            "https://rialto.example.com//",
            "https://rialto.example.com/?next=https://evil.example",
            "https://rialto.example.com/#x",
            "https://[::1]:8080",
            "https://*.example.com",
            "http://",
        ];
        for input in cases {
            let err = ServerUrl::parse(input).unwrap_err();
            assert!(
                matches!(err, Error::InvalidServerUrl(_)),
                "{input}: {err:?}"
            );
        }
    }

    #[test]
    fn market_symbols_follow_the_servers_rule() {
        for ok in ["ACME-USD", "A-B", "BTC2-EUR", " ACME-USD "] {
            let s = MarketSymbol::parse(ok).unwrap();
            assert_eq!(s.as_str(), ok.trim());
        }
        let s = MarketSymbol::parse("ACME-USD").unwrap();
        assert_eq!((s.base(), s.quote()), ("ACME", "USD"));
        for bad in [
            "",
            "ACME",
            "acme-usd",
            "ACME-",
            "-USD",
            "ACME-USD-X",
            "ABCDEFGHIJKLM-USD",
            "AC ME-USD",
            "ACME_USD",
        ] {
            assert!(MarketSymbol::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn settings_are_remembered_across_loads() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::in_dir(&dir.path().join("nested"));
        assert_eq!(file.load().unwrap(), Settings::default());

        let settings = Settings {
            server_url: Some(ServerUrl::parse("https://rialto.example.com").unwrap()),
            tray_market: Some(MarketSymbol::parse("ACME-USD").unwrap()),
        };
        file.save(&settings).unwrap();
        assert_eq!(
            SettingsFile::in_dir(&dir.path().join("nested"))
                .load()
                .unwrap(),
            settings
        );

        let on_disk: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(file.path()).unwrap()).unwrap();
        assert_eq!(
            on_disk,
            serde_json::json!({
                "version": 1,
                "serverUrl": "https://rialto.example.com",
                "trayMarket": "ACME-USD"
            })
        );

        file.save(&Settings::default()).unwrap();
        assert_eq!(file.load().unwrap(), Settings::default());
    }

    #[test]
    fn saving_leaves_no_temporary_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::in_dir(dir.path());
        file.save(&Settings::default()).unwrap();
        file.save(&Settings::default()).unwrap();
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["settings.json"]);
    }

    #[test]
    fn a_broken_or_tampered_file_is_an_error_and_the_app_starts_on_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::in_dir(dir.path());
        for text in [
            "{ not json",
            r#"{"version":2}"#,
            r#"{"version":1,"serverUrl":"https://x.example/graphql"}"#,
            r#"{"version":1,"serverUrl":"file:///etc/passwd"}"#,
            r#"{"version":1,"trayMarket":"acme"}"#,
            r#"{"version":1,"somethingElse":true}"#,
        ] {
            fs::write(file.path(), text).unwrap();
            assert!(file.load().is_err(), "{text}");
            assert_eq!(file.load_or_default(), Settings::default());
        }
    }
}
