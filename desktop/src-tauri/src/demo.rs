//! The local demo: an embedded Rialto the app starts so a new user can trade with no server.
//!
//! It is the real `rialto` binary run as a child process: `rialto serve --demo --listen
//! 127.0.0.1:0 --address-file <data dir>/rialto.address --data-dir <app data dir>/demo`
//! (SQLite, the in-process bus and cache, a seeded market and market-maker bot) on the port
//! the system picks, which it writes to the address file; [`LocalDemo::start`] reads it and
//! returns once the demo lists its market. The binary is found by
//! [`find_rialto_binary`]: `RIALTO_BIN` when set, else `rialto` next to
//! the app's executable. That covers a development checkout (`cargo build` puts both in the
//! same `target/<profile>/`) and a bundle (Tauri's `externalBin` installs a sidecar next to
//! the main executable too), with no path in the app's configuration.
//!
//! The data directory is locked for the demo's lifetime (`demo.lock`), so a second copy of
//! the app cannot run a second matcher on the same SQLite file. The child's output goes to
//! `rialto.log` there. [`LocalDemo::stop`] asks it to stop (SIGTERM, so it drains its
//! sockets) and kills it after a grace period; dropping a [`LocalDemo`] kills it, and the
//! app stops it on exit (also on SIGTERM, SIGINT and SIGHUP: see `lib.rs`). On Linux the
//! kernel also stops it when the app dies without exiting (killed, crashed): see `spawn`.

use std::{
    ffi::OsString,
    fs::{self, File},
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::Context;
use tokio::process::{Child, Command};

use crate::{
    error::{Error, Result},
    settings::ServerUrl,
};

/// The executable's file name on this platform.
const BINARY: &str = if cfg!(windows) {
    "rialto.exe"
} else {
    "rialto"
};

/// Origins of the app's own pages, which the demo server must allow cross-origin: the
/// bundled build (`tauri://localhost` on Linux and macOS, `http://tauri.localhost` on
/// Windows) and the Vite dev server of `build.devUrl`.
pub const APP_ORIGINS: &[&str] = &[
    "tauri://localhost",
    "http://tauri.localhost",
    "http://127.0.0.1:5173",
];

/// Finds the `rialto` binary: `rialto_bin` (the value of `RIALTO_BIN`) when given, else
/// `rialto` in the directory of `exe` (the app's executable) or, for a test binary under
/// `target/<profile>/deps/`, in its parent.
pub fn find_rialto_binary(rialto_bin: Option<OsString>, exe: &Path) -> Result<PathBuf> {
    if let Some(path) = rialto_bin.filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(Error::DemoUnavailable(format!(
                "RIALTO_BIN is {} but no file is there",
                path.display()
            )))
        };
    }
    let dir = exe.parent().unwrap_or(Path::new("."));
    let mut candidates = vec![dir.join(BINARY)];
    if dir.file_name().is_some_and(|n| n == "deps")
        && let Some(parent) = dir.parent()
    {
        candidates.push(parent.join(BINARY));
    }
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            Error::DemoUnavailable(format!(
                "no {BINARY} next to the app (looked in {}); build it with \
                 `cargo build -p api --bin rialto` or set RIALTO_BIN",
                dir.display()
            ))
        })
}

/// How to start the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The `rialto` executable.
    pub binary: PathBuf,
    /// Where the demo keeps its SQLite database, keys, lock and log (created if missing).
    pub data_dir: PathBuf,
    /// Origins allowed to call it cross-origin (the app's pages: [`APP_ORIGINS`]).
    pub cors_origins: Vec<String>,
    /// How long to wait for `/health` before giving up (a first start migrates and seeds).
    pub startup_timeout: Duration,
}

impl DemoOptions {
    /// The defaults for `binary` and `data_dir`: the app's origins, a 60 s start-up.
    pub fn new(binary: PathBuf, data_dir: PathBuf) -> Self {
        Self {
            binary,
            data_dir,
            cors_origins: APP_ORIGINS.iter().map(|o| (*o).to_owned()).collect(),
            startup_timeout: Duration::from_secs(60),
        }
    }
}

/// A running demo server.
#[derive(Debug)]
pub struct LocalDemo {
    child: Child,
    server: ServerUrl,
    // Held (locked) until the demo is dropped.
    _lock: File,
}

/// How long a stopping demo may drain before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

impl LocalDemo {
    /// Starts the demo on a loopback port the system picks (it writes the address it got
    /// to `rialto.address` in its data directory) and waits until it answers `/health`.
    pub async fn start(options: &DemoOptions) -> Result<Self> {
        fs::create_dir_all(&options.data_dir)
            .with_context(|| format!("creating {}", options.data_dir.display()))?;
        let lock = lock_data_dir(&options.data_dir)?;
        let address_file = options.data_dir.join(ADDRESS_FILE);
        // A file left by an earlier run would name its port.
        match fs::remove_file(&address_file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(anyhow::Error::new(e)
                    .context(format!("removing {}", address_file.display()))
                    .into());
            }
            _ => {}
        }
        let mut child = spawn(options, &address_file)?;
        match wait_healthy(&mut child, &address_file, options).await {
            Ok(server) => {
                tracing::info!(%server, pid = child.id(), "local demo running");
                Ok(Self {
                    child,
                    server,
                    _lock: lock,
                })
            }
            Err(e) => {
                let _ = child.kill().await;
                Err(e)
            }
        }
    }

    /// Where it listens (`http://127.0.0.1:<port>`).
    pub fn server(&self) -> &ServerUrl {
        &self.server
    }

    /// The child's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Whether it has exited on its own (a crash).
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops it: SIGTERM (it drains its WebSockets), then a kill after [`STOP_GRACE`].
    pub async fn stop(mut self) -> Result<()> {
        terminate(&self.child);
        match tokio::time::timeout(STOP_GRACE, self.child.wait()).await {
            Ok(Ok(status)) => {
                tracing::info!(%status, "local demo stopped");
                Ok(())
            }
            Ok(Err(e)) => Err(anyhow::Error::new(e).context("waiting for the demo").into()),
            Err(_) => {
                tracing::warn!("local demo did not stop in time; killing it");
                self.child
                    .kill()
                    .await
                    .context("killing the demo")
                    .map_err(Error::from)
            }
        }
    }
}

/// Takes `demo.lock` in `dir`, or fails when another app holds it.
fn lock_data_dir(dir: &Path) -> Result<File> {
    let path = dir.join("demo.lock");
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(Error::DemoFailed(format!(
            "another Rialto app is running the local demo in {}",
            dir.display()
        ))),
        Err(fs::TryLockError::Error(e)) => Err(anyhow::Error::new(e)
            .context(format!("locking {}", path.display()))
            .into()),
    }
}

/// The file in the data directory where the demo writes the address it listens on.
const ADDRESS_FILE: &str = "rialto.address";

fn spawn(options: &DemoOptions, address_file: &Path) -> Result<Child> {
    let log_path = options.data_dir.join("rialto.log");
    let log =
        File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let log_err = log.try_clone().context("duplicating the log handle")?;
    let mut cmd = match parent_death_wrapper() {
        // `setpriv --pdeathsig TERM -- rialto ...` execs rialto (same pid) with the kernel
        // set to send it SIGTERM when the app dies: the demo ends even when the app is
        // killed or crashes and never runs its exit handler. (The signal follows the
        // *thread* that spawned it: a runtime worker, alive as long as the app.)
        Some(setpriv) => {
            let mut cmd = Command::new(setpriv);
            cmd.args(["--pdeathsig", "TERM", "--"]).arg(&options.binary);
            cmd
        }
        None => Command::new(&options.binary),
    };
    cmd.arg("serve")
        .arg("--demo")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--address-file")
        .arg(address_file)
        .arg("--data-dir")
        .arg(&options.data_dir)
        .arg("--drain-timeout-secs")
        .arg("2");
    if !options.cors_origins.is_empty() {
        cmd.arg("--cors-allow-origin")
            .arg(options.cors_origins.join(","));
    }
    // The demo is always the embedded default: no database, Redis or other settings the
    // user's shell may carry for a real deployment. RUST_LOG passes through.
    for (key, _) in std::env::vars_os() {
        let key_str = key.to_string_lossy();
        if key_str.starts_with("RIALTO_")
            || key_str.ends_with("DATABASE_URL")
            || key_str == "REDIS_URL"
        {
            cmd.env_remove(&key);
        }
    }
    cmd.current_dir(&options.data_dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .kill_on_drop(true);
    cmd.spawn()
        .with_context(|| format!("starting {}", options.binary.display()))
        .map_err(|e| Error::DemoFailed(format!("{e:#}")))
}

/// util-linux's `setpriv`, where there is one (Linux): see `spawn`.
fn parent_death_wrapper() -> Option<&'static Path> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.is_file())
}

/// Polls every 100 ms until the demo is ready for a user: it has written the address it
/// listens on to `address_file`, answers `/health` there and lists its seeded market (which
/// it creates in the background after it starts listening). A child that exits first is a
/// start failure with the end of its log; so is running out of time.
async fn wait_healthy(
    child: &mut Child,
    address_file: &Path,
    options: &DemoOptions,
) -> Result<ServerUrl> {
    let agent = crate::http::agent(Duration::from_secs(2));
    let mut server: Option<ServerUrl> = None;
    let poll = async {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            if let Some(status) = child.try_wait().context("checking on the demo")? {
                return Err(Error::DemoFailed(format!(
                    "rialto exited ({status}) during start-up: {}",
                    log_tail(&options.data_dir)
                )));
            }
            if server.is_none() {
                server = announced(address_file)?;
            }
            let Some(server) = server.clone() else {
                continue;
            };
            let agent = agent.clone();
            let answered = tokio::task::spawn_blocking({
                let server = server.clone();
                move || {
                    agent
                        .get(&server.join("/health"))
                        .call()
                        .is_ok_and(|r| r.status().is_success())
                        && crate::ticker::first_market(&agent, &server).is_ok_and(|m| m.is_some())
                }
            })
            .await
            .unwrap_or(false);
            if answered {
                return Ok(server);
            }
        }
    };
    tokio::time::timeout(options.startup_timeout, poll)
        .await
        .unwrap_or_else(|_| {
            Err(Error::DemoFailed(format!(
                "not ready within {:?}: {}",
                options.startup_timeout,
                log_tail(&options.data_dir)
            )))
        })
}

/// The loopback server named in the address file, once it is written (a whole line).
fn announced(address_file: &Path) -> Result<Option<ServerUrl>> {
    let Ok(text) = fs::read_to_string(address_file) else {
        return Ok(None);
    };
    if !text.ends_with('\n') {
        return Ok(None);
    }
    let addr: std::net::SocketAddr = text.trim().parse().map_err(|_| {
        Error::DemoFailed(format!(
            "{} names {:?}, not an address",
            address_file.display(),
            text.trim()
        ))
    })?;
    Ok(Some(ServerUrl::loopback(addr.port())))
}

/// The last lines of the demo's log, for an error message.
fn log_tail(data_dir: &Path) -> String {
    let text = fs::read_to_string(data_dir.join("rialto.log")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

#[cfg(unix)]
fn terminate(child: &Child) {
    use nix::{sys::signal, unistd::Pid};
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = signal::kill(Pid::from_raw(pid), signal::Signal::SIGTERM);
    }
}

#[cfg(not(unix))]
fn terminate(_child: &Child) {
    // No SIGTERM: `stop` waits out the grace period, then kills.
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rialto_bin_wins_when_set() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("my-rialto");
        fs::write(&bin, "").unwrap();
        let found =
            find_rialto_binary(Some(bin.clone().into()), Path::new("/nowhere/app")).unwrap();
        assert_eq!(found, bin);

        let missing = find_rialto_binary(
            Some(dir.path().join("absent").into()),
            &dir.path().join("app"),
        );
        assert!(matches!(missing, Err(Error::DemoUnavailable(_))));
    }

    #[test]
    fn rialto_is_found_next_to_the_app_or_above_a_test_binary() {
        let dir = tempfile::tempdir().unwrap();
        let deps = dir.path().join("deps");
        fs::create_dir(&deps).unwrap();
        assert!(matches!(
            find_rialto_binary(None, &dir.path().join("rialto-desktop")),
            Err(Error::DemoUnavailable(_))
        ));
        fs::write(dir.path().join(BINARY), "").unwrap();
        let expected = dir.path().join(BINARY);
        assert_eq!(
            find_rialto_binary(None, &dir.path().join("rialto-desktop")).unwrap(),
            expected
        );
        assert_eq!(
            find_rialto_binary(Some(OsString::new()), &deps.join("rialto_desktop_lib-1234"))
                .unwrap(),
            expected
        );
    }

    #[test]
    fn a_data_dir_holds_one_demo_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock_data_dir(dir.path()).unwrap();
        assert!(matches!(
            lock_data_dir(dir.path()),
            Err(Error::DemoFailed(_))
        ));
        drop(first);
        lock_data_dir(dir.path()).unwrap();
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_binary_that_exits_at_once_is_a_start_failure_with_its_output() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("fake-rialto");
        fs::write(&script, "#!/bin/sh\necho 'no such market' >&2\nexit 3\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        let options = DemoOptions::new(script, dir.path().join("demo"));
        let err = LocalDemo::start(&options).await.unwrap_err();
        match err {
            Error::DemoFailed(msg) => assert!(msg.contains("no such market"), "{msg}"),
            other => panic!("{other:?}"),
        }
    }
}
