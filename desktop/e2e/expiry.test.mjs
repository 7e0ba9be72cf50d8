// The desktop app, end to end: a trader keeps the trading screen open while their 5-second
// access tokens expire one after another. The app is set to a server of its own (the real
// `rialto serve --demo --access-token-ttl-secs 5`, which closes each socket with 4403 when
// its token expires); the web client inside renews the token, reconnects and resumes every
// stream without the trader noticing: the header stays "live", nobody is signed out, the
// page never reloads, a new trade reaches the tape, an order placed after the expiries shows
// in open orders, the book and balances, and a fill is announced from the live order
// stream. The server's /metrics proves the sockets were closed with 4403 (the demo's bots
// hold no sockets: every such close is the app's), and the app's header counts its quiet
// renewals (the badge's data-renewals).
//
// desktop/e2e/run builds everything and runs the files of this directory.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { artifacts, repo, startDriver } from './harness.mjs';
import { Element } from './webdriver.mjs';

const TTL = 5; // seconds an access token lives
const T = 30_000; // per-step wait: a debug build on a small machine
const CLOSES = 'rialto_websocket_closes_total';
const target = process.env.CARGO_TARGET_DIR || join(repo, 'target');
const rialto = process.env.RIALTO_BIN || join(target, 'debug', 'rialto');
const ALICE = { email: 'alice@demo.rialto.dev', password: 'alice trades tulips at dawn' };

let server;
let driver;
let app;

/**
 * `rialto serve --demo` on `dataDir` and loopback port 0 (the address it got is read back
 * from its --address-file), ready; its output goes to `log`.
 */
async function serve(dataDir, args, log) {
  const addressFile = join(dataDir, 'rialto.address');
  rmSync(addressFile, { force: true }); // an earlier start's
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k === 'DATABASE_URL' || k === 'REDIS_URL' || k.startsWith('RIALTO_')) delete env[k];
  }
  const child = spawn(
    rialto,
    [
      'serve',
      '--demo',
      '--listen',
      '127.0.0.1:0',
      '--address-file',
      addressFile,
      '--data-dir',
      dataDir,
      ...args,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.on('data', (d) => log.push(String(d)));
  child.stderr.on('data', (d) => log.push(String(d)));
  const died = () => {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`rialto exited (${child.exitCode ?? child.signalCode}):\n${log.join('')}`);
    }
  };
  const kill = () => child.kill('SIGKILL');
  let url;
  await until(
    'rialto to announce its address',
    () => {
      died();
      const text = existsSync(addressFile) ? readFileSync(addressFile, 'utf8') : '';
      if (text.endsWith('\n')) url = `http://${text.trim()}`;
      return url !== undefined;
    },
    60_000,
    kill,
  );
  await until(
    `rialto ready at ${url}`,
    async () => {
      died();
      return fetch(`${url}/ready`).then(
        (r) => r.ok,
        () => false,
      );
    },
    60_000,
    kill,
  );
  return { url, child };
}

/** Polls `check` until it holds; on timeout calls `onTimeout` and fails with `what`. */
async function until(what, check, ms, onTimeout = () => {}) {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) {
      onTimeout();
      throw new Error(`timed out: ${what}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function terminate(child) {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => {
    const t = setTimeout(() => (child.kill('SIGKILL'), r()), 10_000);
    child.once('exit', () => (clearTimeout(t), r()));
  });
}

/**
 * The venue: `rialto serve --demo` seeded first with the default options (the demo seeds
 * through the API with one admin session it does not renew, so a token lifetime shorter
 * than the seeding would leave no demo market), then restarted with short-lived access
 * tokens, on a loopback port (which the app's content security policy allows), accepting
 * the app's origin.
 */
async function startServer() {
  const dataDir = mkdtempSync(join(tmpdir(), 'rialto-desktop-expiry-'));
  const log = [];
  const seeding = await serve(dataDir, [], log);
  await until(
    'the demo seeded',
    () => log.join('').includes('demo: market listed'),
    120_000,
    () => seeding.child.kill('SIGKILL'),
  );
  await terminate(seeding.child);
  const { url, child } = await serve(
    dataDir,
    [
      '--access-token-ttl-secs',
      String(TTL),
      '--cors-allow-origin',
      'tauri://localhost,http://tauri.localhost',
    ],
    log,
  );
  return {
    url,
    log,
    async stop() {
      await terminate(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A counter of the server's /metrics (summed over any other labels). */
async function metric(name, labels = {}) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+([-\d.e+]+)/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) {
      sum += Number(m[3]);
    }
  }
  return sum;
}

before(async () => {
  server = await startServer();
  driver = await startDriver();
  // The server is set before the app starts, as a user would have done on an earlier run.
  mkdirSync(driver.configDir, { recursive: true });
  writeFileSync(
    join(driver.configDir, 'settings.json'),
    JSON.stringify({ version: 1, serverUrl: server.url }),
  );
  app = await driver.launch();
});

after(async () => {
  await app?.end().catch(() => {});
  await driver?.stop();
  await server?.stop();
});

async function byXPath(xpath) {
  const value = await app.cmd('POST', '/element', { using: 'xpath', value: xpath });
  return new Element(app, Object.values(value)[0]);
}
const button = (text) => byXPath(`//button[normalize-space(.)="${text}"]`);
async function fill(css, text) {
  const el = await app.find(css);
  await el.clear();
  await el.type(text);
}
const waitFor = (what, predicate, timeout = T) => app.waitFor(predicate, { timeout, what });
const cell = (asset, field) =>
  `Number((document.querySelector('.area-form tr[data-asset="${asset}"] td[data-field="${field}"]')?.textContent ?? 'NaN').replace(/,/g, ''))`;
const renewals = () =>
  app.execute(`return Number(document.querySelector('.badge')?.dataset.renewals ?? 0)`);

test(
  'story: the trading screen stays live and signed in while access tokens expire',
  { timeout: 300_000 },
  async () => {
    try {
      await story();
    } catch (e) {
      await app
        .screenshot()
        .then((png) => writeFileSync(join(artifacts, 'expiry-failure.png'), png))
        .catch(() => {});
      throw e;
    }
  },
);

async function story() {
  // 1. The app opens on the server from its settings; a demo trader logs in.
  await waitFor(
    'the app on the server (markets listed)',
    `return !!document.querySelector('a[href="/trade/ACME-USD"]')`,
    120_000,
  );
  await (await byXPath('//a[normalize-space(.)="Log in"]')).click();
  await waitFor('the login page', `return !!document.querySelector('input[name="email"]')`);
  await fill('input[name="email"]', ALICE.email);
  await fill('input[name="password"]', ALICE.password);
  await (await button('Log in')).click();
  await waitFor(
    'signed in',
    `return !!document.querySelector('[data-testid="user-name"]')?.textContent`,
  );
  const who = await app.execute(
    `return document.querySelector('[data-testid="user-name"]').textContent`,
  );

  // 2. ACME-USD: the maker's quotes, the socket live, our cash.
  await (await app.find('a[href="/trade/ACME-USD"]')).click();
  await waitFor(
    'asks in the book',
    `return document.querySelectorAll('.book tbody[aria-label="Asks"] tr[data-price]').length > 0`,
  );
  await waitFor('the socket live', `return !!document.querySelector('.badge[data-state="live"]')`);
  await waitFor('our USD', `return !Number.isNaN(${cell('USD', 'available')})`);

  // Everything the header shows from now on is recorded, and how each socket of the page
  // closed (the close handler graphql-ws sets on every new socket is wrapped); the page is
  // marked (gone on a reload).
  await app.execute(`
    const badge = document.querySelector('.badge');
    window.__e2eBadge = [badge.dataset.state];
    new MutationObserver(() => window.__e2eBadge.push(badge.dataset.state))
      .observe(badge, { attributes: true, attributeFilter: ['data-state'] });
    window.__e2eCloses = [];
    const onclose = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onclose');
    Object.defineProperty(WebSocket.prototype, 'onclose', {
      configurable: true,
      get: onclose.get,
      set(fn) {
        onclose.set.call(this, fn && ((e) => {
          window.__e2eCloses.push({ code: e.code, reason: e.reason, at: Date.now() });
          return fn.call(this, e);
        }));
      },
    });
    window.__e2eSamePage = true;`);
  const closesAtStart = await metric(CLOSES, { code: '4403' });
  const renewalsAtStart = await renewals();

  // 3. Three tokens expire under the open screen: the server closes the socket with 4403
  //    each time (no other client of this server holds a socket).
  const closedSince = async () => (await metric(CLOSES, { code: '4403' })) - closesAtStart;
  await until('three 4403 closes', async () => (await closedSince()) >= 3, (3 * TTL + 30) * 1000);

  // 4. After them: a new trade in the tape (the demo's taker flow).
  await app.execute(
    `window.__e2eTape = [...document.querySelectorAll('.tape tr[data-trade-id]')].map((r) => r.dataset.tradeId)`,
  );
  await waitFor(
    'a new trade in the tape',
    `const before = new Set(window.__e2eTape);
     return [...document.querySelectorAll('.tape tr[data-trade-id]')].some((r) => !before.has(r.dataset.tradeId))`,
    60_000,
  );

  // 5. An order placed after them rests: open orders, the book, the USD held.
  const bestBid = await app.execute(
    `return Number(document.querySelector('.book tbody[aria-label="Bids"] tr[data-price]').dataset.price)`,
  );
  const price = (Math.floor(bestBid * 95) / 100).toFixed(2); // rests, within the price band
  const heldBefore = await app.execute(`return ${cell('USD', 'held')}`);
  await (await button('Buy')).click();
  await fill('#order-price', price);
  await fill('#order-quantity', '1');
  await (await button('Buy ACME')).click();
  await waitFor(
    'our order open',
    `return [...document.querySelectorAll('#panel-open tr[data-status="OPEN"]')]
       .some((r) => r.textContent.replace(/,/g, '').includes('${price}'))`,
  );
  await waitFor(
    'its level in the book',
    `return !!document.querySelector('.book tbody[aria-label="Bids"] tr[data-price="${Number(price)}"]')`,
  );
  await waitFor(
    'our USD held for it',
    `return ${cell('USD', 'held')} >= ${heldBefore + Number(price)}`,
  );

  // 6. One more expiry, then a buy above every ask: the fill toast comes from the order stream.
  const closedBefore = await closedSince();
  await until(
    'one more expiry',
    async () => (await closedSince()) > closedBefore,
    (TTL + 30) * 1000,
  );
  const acmeBefore = await app.execute(
    `const v = ${cell('ACME', 'available')}; return Number.isNaN(v) ? 0 : v`,
  );
  const asks = await app.execute(
    `return [...document.querySelectorAll('.book tbody[aria-label="Asks"] tr[data-price]')].map((r) => Number(r.dataset.price))`,
  );
  await fill('#order-price', (Math.max(...asks) * 1.02).toFixed(2));
  await fill('#order-quantity', '1');
  await (await button('Buy ACME')).click();
  await waitFor(
    'the fill toast',
    `return [...document.querySelectorAll('.toast')].some((t) => t.textContent.includes('Filled: bought 1 ACME-USD'))`,
  );
  await waitFor('the ACME bought', `return ${cell('ACME', 'available')} >= ${acmeBefore + 1}`);

  // 7. Nobody noticed: same user, same page, the header live throughout.
  assert.equal(
    await app.execute(`return document.querySelector('[data-testid="user-name"]')?.textContent`),
    who,
  );
  assert.equal(await app.execute('return location.pathname'), '/trade/ACME-USD');
  assert.equal(await app.execute('return window.__e2eSamePage === true'), true, 'no reload');
  const shown = await app.execute('return window.__e2eBadge');
  const pageCloses = await app.execute('return window.__e2eCloses');
  assert.deepEqual(
    [...new Set(shown)],
    ['live'],
    `the header showed ${shown.join(' → ')}; the page's sockets closed ${JSON.stringify(pageCloses)}`,
  );
  // Each close was a quiet renewal of the page's one socket (the header's own count), and
  // the page saw them as 4403.
  const renewed = (await renewals()) - renewalsAtStart;
  const closed = await closedSince();
  assert.ok(closed >= 4 && renewed >= closed - 1, `4403 closes ${closed}, renewals ${renewed}`);
  assert.ok(
    pageCloses.length >= closed - 1 && pageCloses.every((c) => c.code === 4403),
    JSON.stringify(pageCloses),
  );
  writeFileSync(join(artifacts, 'trade-after-expiries.png'), await app.screenshot());
}
