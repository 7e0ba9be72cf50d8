//! The `rialto-desktop` binary: everything is in the library's [`rialto_desktop_lib::run`].

// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;

fn main() -> ExitCode {
    match rialto_desktop_lib::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "the app could not start");
            ExitCode::FAILURE
        }
    }
}
