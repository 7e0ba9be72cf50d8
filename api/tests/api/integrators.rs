//! docs/integrators.md's runnable examples (docs/examples/) against a real `rialto serve
//! --demo`, as child processes, exactly as an integrator runs them: the curl quickstart and
//! the TypeScript streaming client must exit 0 with their closing line, and fail loudly
//! when they cannot do their job. The ledger audit holds afterwards.

use std::{
    path::{Path, PathBuf},
    process::{Output, Stdio},
    time::{Duration, Instant},
};

use serde_json::json;
use tokio::{io::AsyncReadExt, sync::Mutex};

use crate::helpers::{TestApp, assert_audit_passes, spawn_demo_app};

/// The examples' own settings, which a developer's shell must not leak into a run.
const EXAMPLE_ENV: [&str; 6] = [
    "RIALTO_MARKET",
    "RIALTO_EMAIL",
    "RIALTO_PASSWORD",
    "RIALTO_OTHER_EMAIL",
    "RIALTO_OTHER_PASSWORD",
    "RIALTO_URL",
];

/// One demo at a time: each runs its own market maker, and the examples are timed against a
/// server that has the machine's cores to itself as far as this file goes.
static ONE_DEMO: Mutex<()> = Mutex::const_new(());

/// The most an example may take here: a debug build on a busy two-core machine hashes each
/// password (argon2) for seconds.
const EXAMPLE_LIMIT: Duration = Duration::from_secs(300);

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root")
        .join("docs/examples")
}

/// `docs/examples/typescript`, with its pinned npm packages installed.
fn typescript_example() -> PathBuf {
    let dir = examples().join("typescript");
    assert!(
        dir.join("node_modules/.bin/tsx").exists() && dir.join("node_modules/.bin/tsc").exists(),
        "the TypeScript example's npm packages are missing: run `npm ci` in {} \
         (scripts/test does)",
        dir.display()
    );
    dir
}

fn require_tool(name: &str, install: &str) {
    let found = std::process::Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(found, "the examples need `{name}`: {install}");
}

/// Runs `program args` in `dir` against `url` with `env` on top; at most `limit`, after
/// which it is killed and the test fails with what it printed so far.
async fn run(
    program: &Path,
    args: &[&str],
    dir: &Path,
    url: &str,
    env: &[(&str, &str)],
    limit: Duration,
) -> Output {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for name in EXAMPLE_ENV {
        cmd.env_remove(name);
    }
    cmd.env("RIALTO_URL", url);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let drain = |pipe: Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>| {
        tokio::spawn(async move {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf).await;
            }
            buf
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let started = Instant::now();
    let status = match tokio::time::timeout(limit, child.wait()).await {
        Ok(status) => status.expect("wait for the example"),
        Err(_) => {
            child.kill().await.ok();
            let status = child.wait().await.expect("wait for the killed example");
            let out = Output {
                status,
                stdout: stdout.await.unwrap_or_default(),
                stderr: stderr.await.unwrap_or_default(),
            };
            panic!(
                "{}",
                report(
                    &format!(
                        "{} {args:?} did not finish within {limit:?} (killed after {:?})",
                        program.display(),
                        started.elapsed()
                    ),
                    &out
                )
            );
        }
    };
    Output {
        status,
        stdout: stdout.await.unwrap_or_default(),
        stderr: stderr.await.unwrap_or_default(),
    }
}

fn report(what: &str, out: &Output) -> String {
    format!(
        "{what}: {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The example exited 0 and printed `line`.
fn assert_passed(what: &str, out: &Output, line: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.lines().any(|l| l.contains(line)),
        "{}",
        report(&format!("{what} should pass and print {line:?}"), out)
    );
}

/// The example exited non-zero and said `needle` on stderr.
fn assert_failed(what: &str, out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains(needle),
        "{}",
        report(&format!("{what} should fail with {needle:?}"), out)
    );
}

/// The demo market has bids and asks (the examples price their orders from the book).
async fn wait_for_a_two_sided_book(app: &TestApp) {
    let started = Instant::now();
    loop {
        let body = app
            .gql(
                "{ market(symbol: \"ACME-USD\") { orderBook(depth: 1) { bids { price } asks { price } } } }",
                json!({}),
                None,
            )
            .await;
        let book = &body["data"]["market"]["orderBook"];
        let sided = |side: &str| book[side].as_array().is_some_and(|l| !l.is_empty());
        if sided("bids") && sided("asks") {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the demo's ACME-USD book is not two-sided after 60 s: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_curl_quickstart_runs_against_the_demo() {
    require_tool("curl", "install curl (apt-get install curl)");
    require_tool("jq", "install jq (apt-get install jq)");
    let dir = examples().join("curl");
    let bash = Path::new("bash");
    let _one = ONE_DEMO.lock().await;

    // With no server it fails, and says so.
    let out = run(
        bash,
        &["quickstart.sh"],
        &dir,
        "http://127.0.0.1:9",
        &[],
        EXAMPLE_LIMIT,
    )
    .await;
    assert_failed("the quickstart with no server", &out, "quickstart: FAILED");

    let app = spawn_demo_app().await;
    wait_for_a_two_sided_book(&app).await;
    let out = run(
        bash,
        &["quickstart.sh"],
        &dir,
        &app.addr,
        &[],
        EXAMPLE_LIMIT,
    )
    .await;
    assert_passed("the curl quickstart", &out, "quickstart: OK");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for code in [
        "CONFLICT",
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "BAD_USER_INPUT",
        "NOT_FOUND",
        "INSUFFICIENT_FUNDS",
    ] {
        assert!(
            stdout.contains(&format!("refused as expected: {code}")),
            "{}",
            report(&format!("the quickstart should show {code}"), &out)
        );
    }
    assert!(
        stdout.contains("429 RATE_LIMITED, Retry-After:"),
        "{}",
        report("the quickstart should meet the rate limit", &out)
    );

    // A wrong password stops it at the sign-in, non-zero.
    let out = run(
        bash,
        &["quickstart.sh"],
        &dir,
        &app.addr,
        &[("RIALTO_PASSWORD", "not alice's password")],
        EXAMPLE_LIMIT,
    )
    .await;
    assert_failed(
        "the quickstart with a wrong password",
        &out,
        "unexpected error",
    );
    assert_audit_passes(&app).await;
}

#[tokio::test]
async fn the_typescript_example_streams_and_trades_against_the_demo() {
    require_tool("node", "install Node.js 20 or newer");
    let dir = typescript_example();
    let bin = |name: &str| dir.join("node_modules/.bin").join(name);
    let _one = ONE_DEMO.lock().await;

    // It type-checks with its pinned TypeScript.
    let out = run(
        &bin("tsc"),
        &["--noEmit", "-p", "."],
        &dir,
        "",
        &[],
        EXAMPLE_LIMIT,
    )
    .await;
    assert!(out.status.success(), "{}", report("tsc --noEmit", &out));

    let app = spawn_demo_app().await;
    wait_for_a_two_sided_book(&app).await;
    let out = run(
        &bin("tsx"),
        &["trade.ts"],
        &dir,
        &app.addr,
        &[],
        EXAMPLE_LIMIT,
    )
    .await;
    assert_passed("the TypeScript example", &out, "trade example: OK");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in [
        "socket closed with 4403 (Forbidden), not retried",
        "the retry with the same clientOrderId answered",
        "as MAKER",
        "book replica matches the server's",
    ] {
        assert!(
            stdout.contains(line),
            "{}",
            report(
                &format!("the TypeScript example should print {line:?}"),
                &out
            )
        );
    }

    // A market that does not exist, and a wrong password: each a non-zero exit.
    let out = run(
        &bin("tsx"),
        &["trade.ts"],
        &dir,
        &app.addr,
        &[("RIALTO_MARKET", "NOPE-USD")],
        EXAMPLE_LIMIT,
    )
    .await;
    assert_failed(
        "the TypeScript example on a missing market",
        &out,
        "no market NOPE-USD",
    );
    let out = run(
        &bin("tsx"),
        &["trade.ts"],
        &dir,
        &app.addr,
        &[("RIALTO_PASSWORD", "not alice's password")],
        EXAMPLE_LIMIT,
    )
    .await;
    assert_failed(
        "the TypeScript example with a wrong password",
        &out,
        "UNAUTHENTICATED",
    );
    assert_audit_passes(&app).await;
}
