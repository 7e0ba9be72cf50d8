// The desktop end-to-end harness: tauri-driver (which runs Debian's WebKitWebDriver) on a
// free port, and the real app launched through it with its own temporary config and data
// directories, so a run never sees the user's settings, window state or demo database.
// desktop/e2e/run sets up the display (Xvfb) and the session bus, then runs these tests.
//
// Environment:
//   RIALTO_DESKTOP_APP  the app's executable (default: <target>/debug/rialto-desktop, built
//                       with `--features custom-protocol` so it embeds web/dist)
//   CARGO_TARGET_DIR    where cargo builds (default: the repository's target/)
//   TAURI_DRIVER        tauri-driver (default: ~/.cargo/bin/tauri-driver, else PATH)
//   WEBKIT_DRIVER       the native driver (default: /usr/bin/WebKitWebDriver)
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from './webdriver.mjs';

export const e2eDir = dirname(fileURLToPath(import.meta.url));
export const repo = join(e2eDir, '..', '..');
export const artifacts = join(e2eDir, 'artifacts');
const target = process.env.CARGO_TARGET_DIR || join(repo, 'target');
export const app = process.env.RIALTO_DESKTOP_APP || join(target, 'debug', 'rialto-desktop');

function tauriDriver() {
  if (process.env.TAURI_DRIVER) return process.env.TAURI_DRIVER;
  const installed = join(homedir(), '.cargo', 'bin', 'tauri-driver');
  return existsSync(installed) ? installed : 'tauri-driver';
}

/**
 * A port for a program that cannot listen on port 0 and say which it got (tauri-driver and
 * the WebKitWebDriver it starts): one free now, chosen at random *below* the range the
 * system hands out for port 0, so that no server started on port 0 meanwhile (the demo, a
 * parallel test's) can be given it before the program binds it.
 */
export async function fixedPort() {
  let low = 32768;
  try {
    low =
      Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]) || low;
  } catch {
    // not Linux: the usual range
  }
  for (let i = 0; i < 100; i++) {
    const port = 10_000 + Math.floor(Math.random() * (low - 10_000));
    if (await isFree(port)) return port;
  }
  throw new Error('no free port below the ephemeral range');
}

function isFree(port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.unref();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function waitForDriver(base, child, ms = 20_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`tauri-driver exited with ${child.exitCode}`);
    try {
      const r = await fetch(`${base}/status`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`tauri-driver did not answer at ${base}`);
}

/**
 * Kills what a launch left behind: a `rialto` demo started with a data directory under
 * `root` (the driver may end the app without letting it stop its child).
 */
function reapDemos(root) {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes('serve\0--demo') && cmdline.includes(root)) process.kill(Number(pid));
    } catch {
      // gone, or not ours to read
    }
  }
}

/**
 * Kills every process still running with the home under `root`: the app and its WebKit
 * helpers when the driver's session end did not stop them. An app left behind keeps the
 * test runner's output pipe open (it inherited it through the driver), and `node --test`
 * then waits for it forever after the last test.
 */
function reapApp(root) {
  const home = `XDG_CONFIG_HOME=${join(root, 'config')}`;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (environ.includes(home)) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone, or not ours to read
    }
  }
}

/** The pid of the app launched with the home under `root`, if it runs. */
function appPid(root) {
  const exe = realpathSync(app);
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readlinkSync(`/proc/${pid}/exe`) !== exe) continue;
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (environ.includes(`XDG_CONFIG_HOME=${join(root, 'config')}`)) return Number(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return undefined;
}

/** Whether process `pid` still runs (a zombie counts as gone). */
export function alive(pid) {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Starts tauri-driver with a fresh home for the app. `launch()` opens the app (a new
 * session); `stop()` ends the driver and removes the temporary directories.
 */
export async function startDriver() {
  if (!existsSync(app)) {
    throw new Error(
      `no app at ${app}: cargo build -p rialto-desktop --features custom-protocol (desktop/e2e/run does)`,
    );
  }
  mkdirSync(artifacts, { recursive: true });
  const root = mkdtempSync(join(tmpdir(), 'rialto-desktop-e2e-'));
  const env = {
    ...process.env,
    XDG_CONFIG_HOME: join(root, 'config'),
    XDG_DATA_HOME: join(root, 'data'),
    XDG_CACHE_HOME: join(root, 'cache'),
    RUST_LOG: process.env.RUST_LOG || 'info',
  };
  // A driver that could not bind its port (taken between the check and its start) exits:
  // try other ports.
  let child;
  let base;
  for (let attempt = 1; ; attempt++) {
    const port = await fixedPort();
    const nativePort = await fixedPort();
    child = spawn(
      tauriDriver(),
      [
        '--port',
        String(port),
        '--native-port',
        String(nativePort),
        '--native-driver',
        process.env.WEBKIT_DRIVER || '/usr/bin/WebKitWebDriver',
      ],
      { env, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    base = `http://127.0.0.1:${port}`;
    try {
      await waitForDriver(base, child);
      break;
    } catch (e) {
      child.kill('SIGKILL');
      if (attempt === 3) throw e;
    }
  }
  return {
    root,
    dataDir: join(root, 'data', 'dev.rialto.desktop'),
    configDir: join(root, 'config', 'dev.rialto.desktop'),
    launch: () => Session.start(base, app),
    /** The running app's pid (to signal it as a session manager or a crash would). */
    appPid: () => appPid(root),
    async stop() {
      child.kill();
      reapDemos(root);
      reapApp(root);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
