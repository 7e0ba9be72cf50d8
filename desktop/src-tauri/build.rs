//! Declares the app's own commands to Tauri's ACL: each gets an `allow-<name>` permission
//! (in `gen/schemas/`), and `capabilities/main.json` grants the main window the ones it uses.
//! A command missing here cannot be granted, so the web app's `invoke` of it is refused.

/// Every `#[tauri::command]` of `src/commands.rs`, in the order they appear there.
const COMMANDS: &[&str] = &[
    "settings_get",
    "settings_set_server",
    "settings_set_tray_market",
    "app_restart",
    "demo_start",
    "demo_stop",
    "demo_status",
    "token_load",
    "token_save",
    "token_clear",
    "notify_fill",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    tauri_build::try_build(attributes).unwrap_or_else(|e| panic!("tauri-build: {e:#}"));
}
