//! The Rialto desktop app: the web client's build (`web/dist`) in a native window, plus
//! what a browser cannot do. `desktop/README.md` is the web app's contract with it.
//!
//! - [`settings`]: the server the user set and the tray's market, remembered.
//! - [`csp`]: the strict content security policy, completed with that server.
//! - [`tokens`]: the refresh token in the OS keychain, one entry per server.
//! - [`demo`]: the local demo, an embedded `rialto serve --demo` child process.
//! - [`ticker`] and [`native`]: the tray's last price and quick actions, the window menu
//!   with the trading shortcuts ([`actions`]).
//! - [`notify`]: fill notifications.
//! - [`desktop`]: the use cases the [`commands`] adapt; [`error`]: what they fail with.
//!
//! Window size and position are kept by Tauri's window-state plugin.

pub mod actions;
pub mod commands;
pub mod csp;
pub mod demo;
pub mod desktop;
pub mod error;
pub mod http;
pub mod native;
pub mod notify;
pub mod settings;
pub mod ticker;
pub mod tokens;

use std::sync::Arc;

use anyhow::Context;
use tauri::{Manager, RunEvent};

use crate::{
    desktop::{Desktop, DesktopConfig},
    settings::SettingsFile,
    tokens::KeyringStore,
};

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The app's directories, as Tauri's path resolver names them (`<config dir>/<identifier>`
/// and `<data dir>/<identifier>`), computed before the app exists because the content
/// security policy needs the settings first.
fn desktop_config(identifier: &str) -> anyhow::Result<DesktopConfig> {
    let config_dir = dirs::config_dir()
        .context("no config directory (is HOME set?)")?
        .join(identifier);
    let data_dir = dirs::data_dir()
        .context("no data directory (is HOME set?)")?
        .join(identifier);
    Ok(DesktopConfig {
        config_dir,
        data_dir,
        rialto_bin: std::env::var_os("RIALTO_BIN"),
        exe: std::env::current_exe().context("locating the app's executable")?,
    })
}

/// Quits the app properly (so `RunEvent::Exit` stops the local demo) on SIGTERM (a
/// session logging out, `kill`), SIGINT (Ctrl+C in a terminal) and SIGHUP.
#[cfg(unix)]
fn exit_on_signals<R: tauri::Runtime>(app: tauri::AppHandle<R>) {
    use tokio::signal::unix::{SignalKind, signal};
    tauri::async_runtime::spawn(async move {
        let (mut term, mut int, mut hup) = match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) {
            (Ok(t), Ok(i), Ok(h)) => (t, i, h),
            _ => {
                tracing::warn!("cannot watch signals; a killed app leaves its demo to the kernel");
                return;
            }
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            _ = hup.recv() => {}
        }
        tracing::info!("signal received; quitting");
        app.exit(0);
    });
}

#[cfg(not(unix))]
fn exit_on_signals<R: tauri::Runtime>(_app: tauri::AppHandle<R>) {}

/// Builds and runs the app until it quits.
pub fn run() -> anyhow::Result<()> {
    init_tracing();

    let mut context = tauri::generate_context!();
    let config = desktop_config(&context.config().identifier)?;
    tracing::info!(
        settings = %SettingsFile::in_dir(&config.config_dir).path().display(),
        "starting"
    );
    let desktop = Arc::new(Desktop::new(config, Arc::new(KeyringStore::new())));
    if let Some(server) = desktop.csp_server() {
        let security = &mut context.config_mut().app.security;
        security.csp = security.csp.take().map(|c| csp::with_server(c, server));
        tracing::info!(%server, "content security policy allows the server set");
    }

    let on_exit = Arc::clone(&desktop);
    let app = tauri::Builder::default()
        // First, so a second launch only focuses the running app (one demo per data dir).
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            native::show_main_window(app);
        }))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_notification::init())
        .manage(Arc::clone(&desktop))
        .menu(native::window_menu)
        .on_menu_event(|app, event| native::on_menu_event(app, &event))
        .setup(move |app| {
            // A desktop without a tray (no StatusNotifier host) still runs the app.
            match native::install_tray(app.handle()) {
                Ok(tray) => native::spawn_ticker(tray, Arc::clone(&desktop)),
                Err(e) => tracing::warn!(error = %e, "no tray icon"),
            }
            exit_on_signals(app.handle().clone());
            if app.get_webview_window(native::MAIN_WINDOW).is_none() {
                tracing::warn!("no main window in tauri.conf.json");
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::settings_get,
            commands::settings_set_server,
            commands::settings_set_tray_market,
            commands::app_restart,
            commands::demo_start,
            commands::demo_stop,
            commands::demo_status,
            commands::token_load,
            commands::token_save,
            commands::token_clear,
            commands::notify_fill,
        ])
        .build(context)
        .context("building the app")?;

    app.run(move |_app, event| {
        if let RunEvent::Exit = event
            && let Err(e) = tauri::async_runtime::block_on(on_exit.stop_demo())
        {
            tracing::warn!(error = %e, "stopping the local demo");
        }
    });
    Ok(())
}
