//! The native parts around the window: its menu (with the trading shortcuts), the tray
//! icon with the ticker and quick actions, and where their clicks go. Tauri glue only;
//! what an item does is [`crate::actions`], what the tray says is [`crate::ticker`].

use std::sync::Arc;

use tauri::{
    AppHandle, Emitter, Manager, Runtime,
    menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu},
    tray::{TrayIcon, TrayIconBuilder},
};

use crate::{
    actions::{ACTION_EVENT, Action},
    desktop::Desktop,
    ticker,
};

/// The label of the main window (`tauri.conf.json`, `capabilities/main.json`).
pub const MAIN_WINDOW: &str = "main";

const TRAY_ID: &str = "rialto";
const TRAY_PRICE_ID: &str = "tray-price";

fn item<R: Runtime>(app: &AppHandle<R>, action: Action) -> tauri::Result<MenuItem<R>> {
    MenuItem::with_id(app, action.id(), action.label(), true, action.accelerator())
}

/// The window's menu bar: Rialto (Quit) and Trade (Buy, Sell, Cancel All Orders), whose
/// accelerators are the app's keyboard shortcuts.
pub fn window_menu<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<Menu<R>> {
    let file = Submenu::with_items(app, "Rialto", true, &[&item(app, Action::Quit)?])?;
    let trade = Submenu::with_items(
        app,
        "Trade",
        true,
        &[
            &item(app, Action::Buy)?,
            &item(app, Action::Sell)?,
            &PredefinedMenuItem::separator(app)?,
            &item(app, Action::CancelAll)?,
        ],
    )?;
    Menu::with_items(app, &[&file, &trade])
}

/// Carries out a menu, shortcut or tray click.
pub fn on_menu_event<R: Runtime>(app: &AppHandle<R>, event: &MenuEvent) {
    let Some(action) = Action::from_id(event.id().as_ref()) else {
        return;
    };
    match action {
        Action::Open => show_main_window(app),
        Action::Quit => app.exit(0),
        Action::Buy | Action::Sell | Action::CancelAll => {
            // From the tray the window may be hidden: show what happens.
            show_main_window(app);
            if let Some(payload) = action.web_event()
                && let Err(e) = app.emit_to(MAIN_WINDOW, ACTION_EVENT, payload)
            {
                tracing::warn!(error = %e, ?action, "could not tell the web app");
            }
        }
    }
}

/// Shows, restores and focuses the main window.
pub fn show_main_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// What the ticker task updates.
pub struct Tray<R: Runtime> {
    icon: TrayIcon<R>,
    price: MenuItem<R>,
}

impl<R: Runtime> Tray<R> {
    fn show(&self, label: &str) {
        // The title is the label beside the icon (Linux, macOS); the tooltip is Windows'.
        let _ = self.icon.set_title(Some(label));
        let _ = self.icon.set_tooltip(Some(label));
        let _ = self.price.set_text(label);
    }
}

/// Puts the app's icon in the tray: the ticker as a (disabled) first item, then Open,
/// Cancel All Orders and Quit.
pub fn install_tray<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<Tray<R>> {
    let price = MenuItem::with_id(app, TRAY_PRICE_ID, "Rialto", false, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &price,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(
                app,
                Action::Open.id(),
                Action::Open.label(),
                true,
                None::<&str>,
            )?,
            &MenuItem::with_id(
                app,
                Action::CancelAll.id(),
                Action::CancelAll.label(),
                true,
                None::<&str>,
            )?,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(
                app,
                Action::Quit.id(),
                Action::Quit.label(),
                true,
                None::<&str>,
            )?,
        ],
    )?;
    let mut builder = TrayIconBuilder::with_id(TRAY_ID)
        .menu(&menu)
        .tooltip("Rialto")
        .title("Rialto");
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    let icon = builder.build(app)?;
    Ok(Tray { icon, price })
}

/// Keeps the tray's label on the last price of the tray's market, every
/// [`ticker::POLL_EVERY`], for as long as the app runs: a thread of its own, since the
/// ticker's HTTP calls block.
pub fn spawn_ticker<R: Runtime>(tray: Tray<R>, desktop: Arc<Desktop>) {
    let spawned = std::thread::Builder::new()
        .name("tray-ticker".into())
        .spawn(move || {
            let agent = ticker::agent();
            let mut shown = String::new();
            loop {
                let label = match desktop.tray_server() {
                    None => ticker::tray_label(None, None),
                    Some(server) => ticker::current_label(&agent, &server, desktop.tray_market()),
                };
                if label != shown {
                    tray.show(&label);
                    shown = label;
                }
                std::thread::sleep(ticker::POLL_EVERY);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "tray ticker off");
    }
}
