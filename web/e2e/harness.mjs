// The end-to-end harness: a real `rialto serve --demo` on port 0 (the address it got is
// read back from its --address-file) with a temporary data directory, serving this build (web/dist) at /, and Debian's Chromium driven by
// playwright-core (no browser download, ever: `executablePath` points at /usr/bin/chromium).
//
// Environment:
//   RIALTO_BIN   the rialto binary (default: `rialto` on PATH)
//   CHROMIUM     the browser (default: /usr/bin/chromium)
//   E2E_HEADED=1 show the browser
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const webDir = join(dirname(fileURLToPath(import.meta.url)), '..');
export const artifacts = join(webDir, 'e2e', 'artifacts');
const bin = process.env.RIALTO_BIN || 'rialto';

/**
 * The address `child` writes to `file` once it listens (`rialto --address-file`); a child
 * that exits first fails the start at once (the caller adds its output).
 */
async function announcedAddress(file, child, ms = 60_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (existsSync(file)) {
      const text = readFileSync(file, 'utf8');
      if (text.endsWith('\n')) return text.trim();
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`rialto exited (${child.exitCode ?? child.signalCode}) before listening`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`rialto did not announce its address within ${ms / 1000} s`);
}

async function waitReady(url, child, ms = 60_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`rialto exited with ${child.exitCode}`);
    try {
      const r = await fetch(`${url}/ready`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`rialto did not become ready at ${url}`);
}

/**
 * Starts the server with an admin account; returns its URL, the admin's login and `stop`.
 * The web build must exist (`npm run build`).
 */
/**
 * The server's environment: the shell's, minus anything that would point it elsewhere than
 * its temporary data directory (CI exports DATABASE_URL and REDIS_URL for the Rust suites;
 * a server on those would share one database between runs).
 */
function serverEnv() {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k === 'DATABASE_URL' || k === 'REDIS_URL' || k.startsWith('RIALTO_')) delete env[k];
  }
  return env;
}

/** Ends `child` (SIGTERM, then SIGKILL after 10 s) and waits for it. */
async function terminate(child) {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      r();
    }, 10_000);
    child.once('exit', () => {
      clearTimeout(t);
      r();
    });
  });
}

/**
 * `rialto serve --demo` on `dataDir` and port 0, ready (the address it got is read back
 * from its --address-file); its output goes to `log`.
 */
async function serve(dataDir, args, log) {
  const addressFile = join(dataDir, 'rialto.address');
  rmSync(addressFile, { force: true }); // an earlier start's
  const child = spawn(
    bin,
    [
      'serve',
      '--demo',
      '--listen',
      '127.0.0.1:0',
      '--address-file',
      addressFile,
      '--data-dir',
      dataDir,
      '--web-dir',
      join(webDir, 'dist'),
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: serverEnv() },
  );
  child.stdout.on('data', (d) => log.push(String(d)));
  child.stderr.on('data', (d) => log.push(String(d)));
  let url;
  try {
    url = `http://${await announcedAddress(addressFile, child)}`;
    await waitReady(url, child);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${e.message}\n${log.join('')}`);
  }
  return { url, child };
}

/**
 * Starts the server with an admin account; returns its URL, the admin's login and `stop`.
 * The web build must exist (`npm run build`). `args` go to `rialto serve` as well (e.g.
 * `['--access-token-ttl-secs', '5']`).
 *
 * `seedFirst`: serve the data directory once with the default options until the demo has
 * listed its markets and funded its accounts, then restart it with `args`. The demo seeds
 * through the API with one admin session that it does not renew, so a token lifetime
 * shorter than the seeding (seconds, on a debug build) would leave no demo market; a venue
 * whose operator shortens the lifetime later is what the story needs anyway.
 */
export async function startServer({ args = [], seedFirst = false } = {}) {
  if (!existsSync(join(webDir, 'dist', 'index.html'))) {
    throw new Error('web/dist is missing: run `npm run build` first');
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'rialto-e2e-'));
  const admin = { email: 'admin@e2e.rialto.test', password: 'e2e admin keeps the books' };
  const made = spawnSync(
    bin,
    [
      'admin',
      'create-user',
      '--email',
      admin.email,
      '--password',
      admin.password,
      '--role',
      'admin',
      '--data-dir',
      dataDir,
    ],
    { encoding: 'utf8', env: serverEnv() },
  );
  if (made.status !== 0) throw new Error(`creating the admin failed: ${made.stderr || made.error}`);
  const log = [];
  if (seedFirst) {
    const first = await serve(dataDir, [], log);
    try {
      await until('the demo seeded', () => log.join('').includes('demo: market listed'), 120_000);
    } catch (e) {
      first.child.kill('SIGKILL');
      throw new Error(`${e.message}\n${log.join('')}`);
    }
    await terminate(first.child);
  }
  const { url, child } = await serve(dataDir, args, log);
  return {
    url,
    admin,
    log,
    async stop() {
      await terminate(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium through playwright-core. */
export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Error(`no browser at ${executablePath}`);
  mkdirSync(artifacts, { recursive: true });
  return chromium.launch({
    executablePath,
    headless: process.env.E2E_HEADED !== '1',
    args: ['--no-sandbox'],
  });
}

/** Waits until `fn()` is truthy (polling every 200 ms), or fails with `what`. */
export async function until(what, fn, ms = 20_000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

/** A counter of the server's Prometheus text at `/metrics` (summed over any other labels). */
export async function metric(url, name, labels = {}) {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+([-\d.e+]+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const has = Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`));
    if (has) sum += Number(m[3]);
  }
  return sum;
}
