//! The `rialto` command as an operator uses it.

use std::process::Command;

use api::startup::{AppConfig, Application, Storage};
use serde_json::json;

use crate::helpers::*;

fn rialto() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rialto"))
}

#[test]
fn help_names_every_command_and_its_environment_variables() {
    let out = rialto().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for command in ["serve", "auth", "migrate", "admin", "keys"] {
        assert!(help.contains(command), "`{command}` missing from:\n{help}");
    }
    let serve =
        String::from_utf8(rialto().args(["serve", "--help"]).output().unwrap().stdout).unwrap();
    for option in [
        "--listen",
        "[env: RIALTO_LISTEN=]",
        "--data-dir",
        "[env: RIALTO_DATA_DIR=]",
        "[env: DATABASE_URL",
        "--jwt-signing-key",
    ] {
        assert!(serve.contains(option), "`{option}` missing from:\n{serve}");
    }
    let create = String::from_utf8(
        rialto()
            .args(["admin", "create-user", "--help"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    for option in ["--email", "--password", "--role"] {
        assert!(
            create.contains(option),
            "`{option}` missing from:\n{create}"
        );
    }
}

#[test]
fn a_bad_option_is_refused_with_a_message_not_a_panic() {
    let out = rialto()
        .args(["serve", "--listen", "not-an-address"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value"));
}

#[tokio::test]
async fn an_admin_created_from_the_shell_signs_in_as_admin() {
    let app = spawn_app().await;
    // Point the command at the same database as the running app.
    let mut cmd = rialto();
    cmd.args([
        "admin",
        "create-user",
        "--email",
        "Root@Example.com",
        "--password",
        PASSWORD,
        "--role",
        "admin",
    ])
    .arg("--data-dir")
    .arg(&app.data_dir)
    .env_remove("DATABASE_URL");
    if let Some(url) = &app.database_url {
        cmd.env("DATABASE_URL", url);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("root@example.com"));

    let admin = app.login("root@example.com", PASSWORD).await;
    let me = app.me(&admin.access_token).await;
    assert_eq!(me["data"]["me"]["role"], "ADMIN");

    // A weak password is refused from the shell too.
    let mut weak = rialto();
    weak.args([
        "admin",
        "create-user",
        "--email",
        "x@example.com",
        "--password",
        "password1",
    ])
    .arg("--data-dir")
    .arg(&app.data_dir);
    if let Some(url) = &app.database_url {
        weak.env("DATABASE_URL", url);
    }
    let out = weak.output().unwrap();
    assert!(!out.status.success());
}

#[tokio::test]
async fn migrate_prepares_an_empty_database_for_the_service() {
    let tmp = tempfile::tempdir().unwrap();
    let url = fresh_database().await;
    let mut cmd = rialto();
    cmd.arg("migrate")
        .arg("--data-dir")
        .arg(tmp.path())
        .env_remove("DATABASE_URL");
    if let Some(u) = &url {
        cmd.env("DATABASE_URL", u);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Twice is harmless.
    assert!(cmd.output().unwrap().status.success());

    // A service that does not migrate on start finds its tables.
    let app = Application::build(AppConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        storage: Storage::Embedded {
            data_dir: tmp.path().to_path_buf(),
            database_url: url,
        },
        migrate: false,
        auth: Default::default(),
        http: Default::default(),
        role: Default::default(),
        limits: Default::default(),
        trading: Default::default(),
        extra_subgraphs: Vec::new(),
    })
    .await
    .unwrap();
    let addr = format!("http://{}", app.local_addr().unwrap());
    tokio::spawn(app.run_until(std::future::pending()));
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!("{addr}/graphql"))
        .json(&json!({ "query": "mutation { register(input: {email: \"a@example.com\", password: \"correct horse battery staple\", displayName: \"A\"}) { user { id } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_no_errors(&body);
}

#[tokio::test]
async fn serve_starts_on_the_embedded_default_and_stops_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start_rialto(
        &["serve", "--listen", "127.0.0.1:0"],
        tmp.path(),
        &[("RIALTO_LOG_FORMAT", "json")],
    )
    .await;
    let health = format!("{}/health", server.base_url());
    let status = reqwest::get(&health).await.unwrap().status();
    assert_eq!(status, 200);
    assert!(
        tmp.path().join("rialto.db").exists(),
        "SQLite under --data-dir"
    );
    assert!(
        tmp.path().join("keys/signing.pem").exists(),
        "a signing key generated under --data-dir"
    );

    server.terminate().unwrap();
    let exit = server
        .exit_within(std::time::Duration::from_secs(30))
        .await
        .expect("an exit within 30 s");
    assert!(exit.success, "graceful exit, got {exit}");
    let logs = server.output.text();
    let first = logs.lines().next().unwrap_or_default();
    assert!(
        serde_json::from_str::<serde_json::Value>(first).is_ok(),
        "JSON logs: {first}"
    );
}

#[test]
fn log_lines_written_to_a_pipe_carry_no_colour_codes() {
    let tmp = tempfile::tempdir().unwrap();
    // As `./scripts/run > file` or `rialto migrate | tee`: standard output is not a terminal.
    let out = rialto()
        .arg("migrate")
        .arg("--data-dir")
        .arg(tmp.path())
        .env_remove("DATABASE_URL")
        .env_remove("AUTH_DATABASE_URL")
        .env_remove("NO_COLOR")
        .env_remove("RIALTO_LOG_FORMAT")
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let logs = [out.stdout, out.stderr].concat();
    let text = String::from_utf8_lossy(&logs);
    assert!(text.contains("migrations applied"), "{text}");
    assert!(
        !logs.contains(&0x1b),
        "an escape code in the piped log: {text:?}"
    );
}
