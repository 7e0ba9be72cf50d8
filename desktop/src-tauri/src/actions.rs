//! What the native menu, its keyboard shortcuts and the tray can ask for.
//!
//! Trading actions are the web app's: the app forwards them as the `rialto:action` event
//! (`{ "action": "buy" | "sell" | "cancel-all" }`) and the web app does what its own
//! buttons do (focus the order form on that side; cancel every open order with
//! `cancelAllOrders`). The shortcuts are menu accelerators, so they work only while the
//! window has focus (a global shortcut would fire orders from other apps' windows).

use serde::Serialize;

/// The event the web app listens to for [`Action`]s it carries out.
pub const ACTION_EVENT: &str = "rialto:action";

/// One thing a menu item, shortcut or tray item asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Start a buy order (web app).
    Buy,
    /// Start a sell order (web app).
    Sell,
    /// Cancel all open orders (web app).
    CancelAll,
    /// Show and focus the window.
    Open,
    /// Quit the app (the local demo stops with it).
    Quit,
}

/// The payload of [`ACTION_EVENT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ActionEvent {
    /// What to do.
    pub action: Action,
}

impl Action {
    /// Every action, for building menus.
    pub const ALL: [Action; 5] = [
        Action::Buy,
        Action::Sell,
        Action::CancelAll,
        Action::Open,
        Action::Quit,
    ];

    /// The id of its menu items.
    pub fn id(self) -> &'static str {
        match self {
            Action::Buy => "buy",
            Action::Sell => "sell",
            Action::CancelAll => "cancel-all",
            Action::Open => "open",
            Action::Quit => "quit",
        }
    }

    /// The action of a menu item's id.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.id() == id)
    }

    /// Its menu label.
    pub fn label(self) -> &'static str {
        match self {
            Action::Buy => "Buy",
            Action::Sell => "Sell",
            Action::CancelAll => "Cancel All Orders",
            Action::Open => "Open Rialto",
            Action::Quit => "Quit Rialto",
        }
    }

    /// Its keyboard shortcut in the window's menu (Tauri's accelerator syntax). Shifted, so
    /// no single slip of a plain editing shortcut (Ctrl+S, Ctrl+X) trades.
    pub fn accelerator(self) -> Option<&'static str> {
        match self {
            Action::Buy => Some("CmdOrCtrl+Shift+B"),
            Action::Sell => Some("CmdOrCtrl+Shift+S"),
            Action::CancelAll => Some("CmdOrCtrl+Shift+X"),
            Action::Open => None,
            Action::Quit => Some("CmdOrCtrl+Q"),
        }
    }

    /// The event for the web app, when the web app carries it out.
    pub fn web_event(self) -> Option<ActionEvent> {
        match self {
            Action::Buy | Action::Sell | Action::CancelAll => Some(ActionEvent { action: self }),
            Action::Open | Action::Quit => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips_through_its_menu_id() {
        for a in Action::ALL {
            assert_eq!(Action::from_id(a.id()), Some(a));
        }
        assert_eq!(Action::from_id("tray-price"), None);
    }

    #[test]
    fn trading_actions_reach_the_web_app_as_kebab_case_events() {
        let json = |a: Action| serde_json::to_value(a.web_event().unwrap()).unwrap();
        assert_eq!(json(Action::Buy), serde_json::json!({ "action": "buy" }));
        assert_eq!(json(Action::Sell), serde_json::json!({ "action": "sell" }));
        assert_eq!(
            json(Action::CancelAll),
            serde_json::json!({ "action": "cancel-all" })
        );
        assert_eq!(Action::Quit.web_event(), None);
        assert_eq!(Action::Open.web_event(), None);
    }

    #[test]
    fn shortcuts_are_distinct() {
        let mut seen: Vec<&str> = Action::ALL.iter().filter_map(|a| a.accelerator()).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 4);
    }
}
