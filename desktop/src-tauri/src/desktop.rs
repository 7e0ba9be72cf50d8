//! The app's state and use cases, with no Tauri in them: each command of
//! [`crate::commands`] is one call here, so these are what the tests drive.

use std::{
    ffi::OsString,
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use serde::Serialize;
use url::Url;

use crate::{
    demo::{self, DemoOptions, LocalDemo},
    error::{Error, Result},
    settings::{MarketSymbol, ServerUrl, Settings, SettingsFile},
    tokens::{AccountKey, RefreshToken, TokenStore},
};

/// Where the app keeps things, and how it finds the demo's binary.
#[derive(Debug, Clone)]
pub struct DesktopConfig {
    /// The app's config directory (`settings.json`): `~/.config/dev.rialto.desktop`.
    pub config_dir: PathBuf,
    /// The app's data directory (the demo's database under `demo/`):
    /// `~/.local/share/dev.rialto.desktop`.
    pub data_dir: PathBuf,
    /// The value of `RIALTO_BIN`, if set.
    pub rialto_bin: Option<OsString>,
    /// The app's executable (the demo's binary is looked for beside it).
    pub exe: PathBuf,
}

/// The settings as the web app sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    /// The server the user set (`https://host[:port]`), if any.
    pub server_url: Option<String>,
    /// Its GraphQL endpoint over HTTP.
    pub graphql_url: Option<String>,
    /// Its GraphQL endpoint over WebSocket.
    pub graphql_ws_url: Option<String>,
    /// The tray's market, if one was chosen.
    pub tray_market: Option<String>,
    /// True when the server set is not the one the running app's content security policy
    /// allows: the app must restart (`app_restart`) before the web app can reach it.
    pub restart_required: bool,
}

/// The running local demo as the web app sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DemoInfo {
    /// `http://127.0.0.1:<port>`.
    pub server_url: String,
    /// Its GraphQL endpoint over HTTP.
    pub graphql_url: String,
    /// Its GraphQL endpoint over WebSocket.
    pub graphql_ws_url: String,
}

impl DemoInfo {
    fn of(server: &ServerUrl) -> Self {
        Self {
            server_url: server.origin(),
            graphql_url: server.graphql_url(),
            graphql_ws_url: server.graphql_ws_url(),
        }
    }
}

/// Whether `page` is one of the app's own pages, the only ones whose commands reach the
/// keychain: the bundled web app (`tauri://localhost` on Linux and macOS,
/// `http(s)://tauri.localhost` on Windows) or, in a development build, the page of
/// `build.devUrl` (`dev_url`). A page the webview was navigated to elsewhere is not.
pub fn is_app_page(page: &Url, dev_url: Option<&Url>) -> bool {
    let bundled = match page.scheme() {
        "tauri" => page.host_str() == Some("localhost"),
        "http" | "https" => page.host_str() == Some("tauri.localhost") && page.port().is_none(),
        _ => false,
    };
    let dev = dev_url.is_some_and(|dev| {
        page.scheme() == dev.scheme()
            && page.host_str() == dev.host_str()
            && page.port_or_known_default() == dev.port_or_known_default()
    });
    bundled || dev
}

/// The app.
pub struct Desktop {
    config: DesktopConfig,
    file: SettingsFile,
    settings: Mutex<Settings>,
    /// The server the content security policy was completed with at start-up.
    csp_server: Option<ServerUrl>,
    tokens: Arc<dyn TokenStore>,
    demo: tokio::sync::Mutex<Option<LocalDemo>>,
    /// The running demo's server, readable without waiting on `demo` (the tray, tokens).
    demo_server: Mutex<Option<ServerUrl>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section is a plain read or assignment: nothing half-done to recover.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Desktop {
    /// The app on `config`'s directories, its settings loaded (the defaults when unreadable).
    pub fn new(config: DesktopConfig, tokens: Arc<dyn TokenStore>) -> Self {
        let file = SettingsFile::in_dir(&config.config_dir);
        let settings = file.load_or_default();
        Self {
            csp_server: settings.server_url.clone(),
            config,
            file,
            settings: Mutex::new(settings),
            tokens,
            demo: tokio::sync::Mutex::new(None),
            demo_server: Mutex::new(None),
        }
    }

    /// The settings loaded at start-up or last saved.
    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    /// The server the content security policy must allow (the one set at start-up).
    pub fn csp_server(&self) -> Option<&ServerUrl> {
        self.csp_server.as_ref()
    }

    /// [`Self::settings`] for the web app.
    pub fn settings_view(&self) -> SettingsView {
        let settings = self.settings();
        let server = settings.server_url.as_ref();
        SettingsView {
            server_url: server.map(ServerUrl::origin),
            graphql_url: server.map(ServerUrl::graphql_url),
            graphql_ws_url: server.map(ServerUrl::graphql_ws_url),
            tray_market: settings.tray_market.as_ref().map(|m| m.to_string()),
            restart_required: server.is_some() && server != self.csp_server.as_ref(),
        }
    }

    fn update(&self, change: impl FnOnce(&mut Settings)) -> Result<SettingsView> {
        {
            let mut settings = lock(&self.settings);
            let mut next = settings.clone();
            change(&mut next);
            self.file.save(&next)?;
            *settings = next;
        }
        Ok(self.settings_view())
    }

    /// Sets (or, with `None`, forgets) the server, after checking it is a plain origin.
    pub fn set_server(&self, url: Option<&str>) -> Result<SettingsView> {
        let server = url.map(ServerUrl::parse).transpose()?;
        self.update(|s| s.server_url = server)
    }

    /// Sets (or, with `None`, resets to the server's first) the tray's market.
    pub fn set_tray_market(&self, market: Option<&str>) -> Result<SettingsView> {
        let market = market.map(MarketSymbol::parse).transpose()?;
        self.update(|s| s.tray_market = market)
    }

    /// The token store's key for `server`: the demo's fixed key when `server` is the running
    /// demo, the server's origin when it is the server the app is configured for (the one
    /// its settings name, or the one it started with and its pages may reach). Any other
    /// server is refused: the keychain hands out and takes tokens for nothing a page merely
    /// names.
    fn account(&self, server: &str) -> Result<AccountKey> {
        let server = ServerUrl::parse(server)?;
        if lock(&self.demo_server).as_ref() == Some(&server) {
            return Ok(AccountKey::local_demo());
        }
        let configured = self.settings().server_url;
        if configured.as_ref() == Some(&server) || self.csp_server.as_ref() == Some(&server) {
            Ok(AccountKey::server(&server))
        } else {
            Err(Error::Forbidden(format!(
                "{server} is neither the server this app is configured for nor its local demo; \
                 its sign-in is not kept here"
            )))
        }
    }

    /// The refresh token remembered for `server` (an origin or any URL on it). Blocking:
    /// the OS keychain may prompt.
    pub fn load_token(&self, server: &str) -> Result<Option<String>> {
        let account = self.account(server)?;
        Ok(self.tokens.load(&account)?.map(RefreshToken::into_inner))
    }

    /// Remembers `token` for `server`, replacing the previous one (tokens rotate on use).
    pub fn save_token(&self, server: &str, token: String) -> Result<()> {
        let account = self.account(server)?;
        self.tokens.save(&account, &RefreshToken::new(token)?)
    }

    /// Forgets the token of `server` (sign-out).
    pub fn clear_token(&self, server: &str) -> Result<()> {
        let account = self.account(server)?;
        self.tokens.clear(&account)
    }

    /// Where the demo lives: `<data dir>/demo`.
    pub fn demo_data_dir(&self) -> PathBuf {
        self.config.data_dir.join("demo")
    }

    /// Starts the local demo, or returns the running one.
    pub async fn start_demo(&self) -> Result<DemoInfo> {
        let mut demo = self.demo.lock().await;
        if let Some(running) = demo.as_mut() {
            if !running.has_exited() {
                return Ok(DemoInfo::of(running.server()));
            }
            tracing::warn!("the local demo had exited; starting it again");
        }
        let binary = demo::find_rialto_binary(self.config.rialto_bin.clone(), &self.config.exe)?;
        let started = LocalDemo::start(&DemoOptions::new(binary, self.demo_data_dir())).await?;
        let info = DemoInfo::of(started.server());
        *lock(&self.demo_server) = Some(started.server().clone());
        *demo = Some(started);
        Ok(info)
    }

    /// The running demo, if any.
    pub async fn demo_status(&self) -> Option<DemoInfo> {
        let mut demo = self.demo.lock().await;
        let running = demo.as_mut()?;
        if running.has_exited() {
            return None;
        }
        Some(DemoInfo::of(running.server()))
    }

    /// Stops the demo if it runs (also on the app's exit).
    pub async fn stop_demo(&self) -> Result<()> {
        let running = self.demo.lock().await.take();
        *lock(&self.demo_server) = None;
        match running {
            Some(demo) => demo.stop().await,
            None => Ok(()),
        }
    }

    /// The server whose prices the tray shows: the running demo, else the server set.
    pub fn tray_server(&self) -> Option<ServerUrl> {
        lock(&self.demo_server)
            .clone()
            .or_else(|| self.settings().server_url)
    }

    /// The market the tray shows, if one was chosen.
    pub fn tray_market(&self) -> Option<MarketSymbol> {
        self.settings().tray_market
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::MemoryStore;

    fn desktop(dir: &std::path::Path) -> Desktop {
        Desktop::new(
            DesktopConfig {
                config_dir: dir.join("config"),
                data_dir: dir.join("data"),
                rialto_bin: None,
                exe: dir.join("bin").join("rialto-desktop"),
            },
            Arc::new(MemoryStore::new()),
        )
    }

    #[test]
    fn a_first_run_has_no_server_and_no_market() {
        let dir = tempfile::tempdir().unwrap();
        let view = desktop(dir.path()).settings_view();
        assert_eq!(
            view,
            SettingsView {
                server_url: None,
                graphql_url: None,
                graphql_ws_url: None,
                tray_market: None,
                restart_required: false,
            }
        );
    }

    #[test]
    fn a_new_server_is_saved_and_needs_a_restart_until_the_app_starts_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let app = desktop(dir.path());
        let view = app.set_server(Some("https://rialto.example.com/")).unwrap();
        assert_eq!(
            view.server_url.as_deref(),
            Some("https://rialto.example.com")
        );
        assert_eq!(
            view.graphql_ws_url.as_deref(),
            Some("wss://rialto.example.com/graphql")
        );
        assert!(view.restart_required);

        // The next start builds its CSP with it.
        let restarted = desktop(dir.path());
        assert_eq!(
            restarted.csp_server().map(ServerUrl::origin).as_deref(),
            Some("https://rialto.example.com")
        );
        assert!(!restarted.settings_view().restart_required);
        // Clearing it needs no restart (nothing new to allow).
        assert!(!restarted.set_server(None).unwrap().restart_required);
        assert_eq!(desktop(dir.path()).settings().server_url, None);
    }

    #[test]
    fn a_bad_server_or_market_is_refused_and_nothing_is_saved() {
        let dir = tempfile::tempdir().unwrap();
        let app = desktop(dir.path());
        app.set_tray_market(Some("ACME-USD")).unwrap();
        assert!(matches!(
            app.set_server(Some("https://x.example/graphql")),
            Err(Error::InvalidServerUrl(_))
        ));
        assert!(matches!(
            app.set_tray_market(Some("acme")),
            Err(Error::InvalidMarket(_))
        ));
        let again = desktop(dir.path());
        assert_eq!(again.settings().server_url, None);
        assert_eq!(
            again.tray_market().map(|m| m.to_string()).as_deref(),
            Some("ACME-USD")
        );
    }

    #[test]
    fn tokens_are_kept_per_server_and_cleared_on_sign_out() {
        let dir = tempfile::tempdir().unwrap();
        let app = desktop(dir.path());
        app.set_server(Some("https://a.example")).unwrap();
        assert_eq!(app.load_token("https://a.example").unwrap(), None);
        app.save_token("https://a.example", "tok-a".into()).unwrap();
        assert_eq!(
            app.load_token("https://a.example/").unwrap().as_deref(),
            Some("tok-a")
        );
        // Another server: its own entry; a's stays for when the user comes back to it.
        app.set_server(Some("https://b.example")).unwrap();
        app.save_token("https://b.example/", "tok-b".into())
            .unwrap();
        app.set_server(Some("https://a.example")).unwrap();
        assert_eq!(
            app.load_token("https://a.example").unwrap().as_deref(),
            Some("tok-a")
        );
        app.clear_token("https://a.example").unwrap();
        assert_eq!(app.load_token("https://a.example").unwrap(), None);
        app.set_server(Some("https://b.example")).unwrap();
        assert_eq!(
            app.load_token("https://b.example").unwrap().as_deref(),
            Some("tok-b")
        );
        assert!(matches!(
            app.save_token("https://b.example", "two words".into()),
            Err(Error::InvalidToken(_))
        ));
        assert!(matches!(
            app.load_token("javascript:alert(1)"),
            Err(Error::InvalidServerUrl(_))
        ));
    }

    #[test]
    fn the_keychain_answers_only_for_the_configured_server_and_the_running_demo() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(MemoryStore::new());
        let config = |dir: &std::path::Path| DesktopConfig {
            config_dir: dir.join("config"),
            data_dir: dir.join("data"),
            rialto_bin: None,
            exe: dir.join("bin").join("rialto-desktop"),
        };
        let app = Desktop::new(config(dir.path()), store.clone());
        fn forbidden<T>(r: Result<T>) -> bool {
            matches!(r, Err(Error::Forbidden(_)))
        }

        // The user's exchange, where a refresh token is kept.
        app.set_server(Some("https://rialto.example.com")).unwrap();
        app.save_token("https://rialto.example.com", "real".into())
            .unwrap();
        // Restarted with it, the app still answers for it.
        let app = Desktop::new(config(dir.path()), store.clone());
        assert_eq!(
            app.load_token("https://rialto.example.com")
                .unwrap()
                .as_deref(),
            Some("real")
        );

        // A page naming any other server gets nothing, and plants nothing.
        for other in [
            "https://evil.example",
            "http://rialto.example.com",
            "https://rialto.example.com:8443",
            "http://127.0.0.1:4100",
        ] {
            assert!(forbidden(app.load_token(other)), "{other} read");
            assert!(
                forbidden(app.save_token(other, "planted".into())),
                "{other} written"
            );
            assert!(forbidden(app.clear_token(other)), "{other} cleared");
        }
        assert!(
            store
                .load(&AccountKey::server(
                    &ServerUrl::parse("https://evil.example").unwrap()
                ))
                .unwrap()
                .is_none()
        );
        assert_eq!(
            app.load_token("https://rialto.example.com")
                .unwrap()
                .as_deref(),
            Some("real")
        );

        // The running demo is answered for; once it stops, it no longer is.
        *lock(&app.demo_server) = Some(ServerUrl::loopback(4100));
        app.save_token("http://127.0.0.1:4100", "demo".into())
            .unwrap();
        *lock(&app.demo_server) = None;
        assert!(forbidden(app.load_token("http://127.0.0.1:4100")));

        // With no server set and no demo, none at all.
        let fresh = tempfile::tempdir().unwrap();
        let bare = Desktop::new(config(fresh.path()), store.clone());
        assert!(forbidden(bare.load_token("https://rialto.example.com")));
    }

    #[test]
    fn only_the_apps_own_pages_reach_the_keychain() {
        let url = |s: &str| Url::parse(s).unwrap();
        let dev = url("http://127.0.0.1:5173");
        for own in [
            "tauri://localhost",
            "tauri://localhost/index.html#/trade",
            "http://tauri.localhost/",
            "https://tauri.localhost/wallet",
        ] {
            assert!(is_app_page(&url(own), None), "{own}");
            assert!(is_app_page(&url(own), Some(&dev)), "{own}");
        }
        // The dev server only in a development build (which passes its URL).
        assert!(is_app_page(&url("http://127.0.0.1:5173/trade"), Some(&dev)));
        assert!(!is_app_page(&url("http://127.0.0.1:5173/trade"), None));
        for foreign in [
            "https://rialto.example.com/",
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:5174/",
            "tauri://evil.example/",
            "http://tauri.localhost:8080/",
            "https://tauri.localhost.evil.example/",
            "file:///tmp/page.html",
            "about:blank",
        ] {
            assert!(!is_app_page(&url(foreign), Some(&dev)), "{foreign}");
        }
    }

    #[test]
    fn the_running_demo_keeps_its_tokens_under_one_key_whatever_its_port() {
        let dir = tempfile::tempdir().unwrap();
        let app = desktop(dir.path());
        *lock(&app.demo_server) = Some(ServerUrl::loopback(4100));
        app.save_token("http://127.0.0.1:4100", "demo-token".into())
            .unwrap();
        *lock(&app.demo_server) = Some(ServerUrl::loopback(4200));
        assert_eq!(
            app.load_token("http://127.0.0.1:4200").unwrap().as_deref(),
            Some("demo-token")
        );
        // The demo's earlier port is not the demo any more.
        assert!(matches!(
            app.load_token("http://127.0.0.1:4100"),
            Err(Error::Forbidden(_))
        ));
    }

    #[test]
    fn the_tray_follows_the_demo_when_it_runs_else_the_server_set() {
        let dir = tempfile::tempdir().unwrap();
        let app = desktop(dir.path());
        assert_eq!(app.tray_server(), None);
        app.set_server(Some("https://rialto.example.com")).unwrap();
        assert_eq!(
            app.tray_server().map(|s| s.origin()).as_deref(),
            Some("https://rialto.example.com")
        );
        *lock(&app.demo_server) = Some(ServerUrl::loopback(4100));
        assert_eq!(
            app.tray_server().map(|s| s.origin()).as_deref(),
            Some("http://127.0.0.1:4100")
        );
    }

    #[tokio::test]
    async fn with_no_rialto_binary_the_demo_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let app = desktop(dir.path());
        assert!(matches!(
            app.start_demo().await,
            Err(Error::DemoUnavailable(_))
        ));
        assert_eq!(app.demo_status().await, None);
        app.stop_demo().await.unwrap();
    }
}
