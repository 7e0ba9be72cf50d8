//! The commands the web app invokes (`web/src/platform/tauri.ts`); each adapts one call of
//! [`Desktop`] or [`crate::notify`]. Arguments are camelCase on the JavaScript side. Every
//! command is declared in `build.rs` and granted in `capabilities/main.json`;
//! desktop/README.md lists them with their arguments and results.

use std::sync::Arc;

use tauri::{AppHandle, Manager, Runtime, State, Webview};
use tauri_plugin_notification::NotificationExt;

use crate::{
    desktop::{self, DemoInfo, Desktop, SettingsView},
    error::{Error, Result},
    notify::{self, Fill},
};

type App<'a> = State<'a, Arc<Desktop>>;

/// Runs a blocking call (file or keychain I/O) off the async runtime's threads.
async fn blocking<T: Send + 'static>(
    desktop: &Arc<Desktop>,
    f: impl FnOnce(&Desktop) -> Result<T> + Send + 'static,
) -> Result<T> {
    let desktop = Arc::clone(desktop);
    tauri::async_runtime::spawn_blocking(move || f(&desktop))
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("a blocking task failed: {e}")))?
}

/// The settings.
#[tauri::command]
pub fn settings_get(desktop: App<'_>) -> SettingsView {
    desktop.settings_view()
}

/// Sets the server (`url`: `https://host[:port]`), or forgets it (`url: null`).
#[tauri::command]
pub async fn settings_set_server(desktop: App<'_>, url: Option<String>) -> Result<SettingsView> {
    blocking(&desktop, move |d| d.set_server(url.as_deref())).await
}

/// Sets the tray's market (`market: "ACME-USD"`), or resets it to the server's first.
#[tauri::command]
pub async fn settings_set_tray_market(
    desktop: App<'_>,
    market: Option<String>,
) -> Result<SettingsView> {
    blocking(&desktop, move |d| d.set_tray_market(market.as_deref())).await
}

/// Restarts the app (after a server change: see [`SettingsView::restart_required`]).
#[tauri::command]
pub fn app_restart<R: Runtime>(app: AppHandle<R>) {
    app.request_restart();
}

/// Starts the local demo (or returns the running one); resolves once it answers.
#[tauri::command]
pub async fn demo_start(desktop: App<'_>) -> Result<DemoInfo> {
    desktop.start_demo().await
}

/// Stops the local demo.
#[tauri::command]
pub async fn demo_stop(desktop: App<'_>) -> Result<()> {
    desktop.stop_demo().await
}

/// The running local demo, or null.
#[tauri::command]
pub async fn demo_status(desktop: App<'_>) -> Result<Option<DemoInfo>> {
    Ok(desktop.demo_status().await)
}

/// Refuses a command from a page that is not the app's own ([`desktop::is_app_page`]).
fn from_app_page<R: Runtime>(webview: &Webview<R>) -> Result<()> {
    let page = webview
        .url()
        .map_err(|e| Error::Internal(anyhow::anyhow!("reading the calling page's URL: {e}")))?;
    let dev_url = tauri::is_dev()
        .then(|| webview.config().build.dev_url.clone())
        .flatten();
    if desktop::is_app_page(&page, dev_url.as_ref()) {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "a page at {} is not the app's own; the keychain is not for it",
            page.origin().ascii_serialization()
        )))
    }
}

/// The refresh token remembered for `server` (the URL the web app talks to), or null. Only
/// for the app's own page, and only for the configured server or the running demo.
#[tauri::command]
pub async fn token_load<R: Runtime>(
    webview: Webview<R>,
    desktop: App<'_>,
    server: String,
) -> Result<Option<String>> {
    from_app_page(&webview)?;
    blocking(&desktop, move |d| d.load_token(&server)).await
}

/// Remembers `token` as the refresh token for `server` (after each sign-in and refresh).
/// Only for the app's own page, and only for the configured server or the running demo.
#[tauri::command]
pub async fn token_save<R: Runtime>(
    webview: Webview<R>,
    desktop: App<'_>,
    server: String,
    token: String,
) -> Result<()> {
    from_app_page(&webview)?;
    blocking(&desktop, move |d| d.save_token(&server, token)).await
}

/// Forgets the refresh token for `server` (sign-out, or a refresh the server refused).
/// Only for the app's own page, and only for the configured server or the running demo.
#[tauri::command]
pub async fn token_clear<R: Runtime>(
    webview: Webview<R>,
    desktop: App<'_>,
    server: String,
) -> Result<()> {
    from_app_page(&webview)?;
    blocking(&desktop, move |d| d.clear_token(&server)).await
}

/// Shows a native notification for one of the user's fills.
#[tauri::command]
pub async fn notify_fill<R: Runtime>(app: AppHandle<R>, fill: Fill) -> Result<()> {
    let n = notify::notification(&fill)?;
    // Showing talks to the notification daemon (D-Bus on Linux): off the async threads.
    tauri::async_runtime::spawn_blocking(move || {
        app.notification()
            .builder()
            .title(n.title)
            .body(n.body)
            .show()
    })
    .await
    .map_err(|e| Error::Internal(anyhow::anyhow!("a blocking task failed: {e}")))?
    .map_err(|e| Error::Internal(anyhow::anyhow!("showing a notification: {e}")))
}

#[cfg(test)]
mod tests {
    /// The commands of `build.rs` (which get permissions), of this file, of `lib.rs`'s
    /// handler and of `capabilities/main.json` are the same list: a command missing from
    /// one of them is unreachable or ungranted, which only a running app would show.
    #[test]
    fn every_command_is_declared_registered_and_granted() {
        let build = include_str!("../build.rs");
        let list = build
            .split_once("const COMMANDS: &[&str] = &[")
            .and_then(|(_, rest)| rest.split_once("];"))
            .map(|(list, _)| list)
            .unwrap();
        let declared: Vec<&str> = list
            .split(',')
            .map(|s| s.trim().trim_matches('"'))
            .filter(|s| !s.is_empty())
            .collect();
        assert!(declared.len() >= 10, "{declared:?}");

        let this = include_str!("commands.rs");
        let lib = include_str!("lib.rs");
        let capability: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/main.json")).unwrap();
        let granted: Vec<&str> = capability["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p.as_str())
            .collect();
        for name in &declared {
            assert!(
                this.contains(&format!("pub fn {name}"))
                    || this.contains(&format!("pub async fn {name}")),
                "{name} is not a command here"
            );
            assert!(
                lib.contains(&format!("commands::{name},")),
                "{name} is not registered"
            );
            let permission = format!("allow-{}", name.replace('_', "-"));
            assert!(
                granted.contains(&permission.as_str()),
                "{permission} is not granted"
            );
        }
        let ours = granted.iter().filter(|p| p.starts_with("allow-")).count();
        assert_eq!(
            ours,
            declared.len(),
            "a grant for a command that does not exist"
        );
        let handler = lib.matches("commands::").count();
        assert_eq!(handler, declared.len(), "registered commands: {handler}");
    }
}
