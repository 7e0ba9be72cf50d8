// The desktop app, end to end: the real binary in a real WebKitGTK window under Xvfb,
// driven through tauri-driver. desktop/e2e/run builds everything and runs this file.
//
// What holds today: the window loads the web client's build from the app itself, its
// content security policy is enforced, the page reaches the app's commands (and nothing
// it was not granted), the local demo starts from the page and answers the page across
// the CSP and CORS, quitting stops the demo and keeps the window's size, and a killed app
// does not leave its demo behind — and the user's story through the web app's desktop
// wiring (web/src/platform/tauri.ts): on the local demo, sign up, place an order that
// trades, and see the trade arrive live, with a screenshot of the window.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { alive, artifacts, startDriver } from './harness.mjs';
import { Element } from './webdriver.mjs';

const T = 30_000; // per-step wait: a debug build on a small machine
let driver;
let app;

before(async () => {
  driver = await startDriver();
  app = await driver.launch();
});

after(async () => {
  await app?.end().catch(() => {});
  await driver?.stop();
});

test('the window loads the web client from the app itself', { timeout: T }, async () => {
  await app.waitFor(`return document.readyState === 'complete'`, { timeout: T });
  const url = await app.url();
  // No path yet: the first-run screen (no server set) is shown before any route.
  assert.match(url, /^(tauri:\/\/localhost|http:\/\/tauri\.localhost)(\/|$)/, url);
  assert.equal(await app.title(), 'Rialto');
  // The web app rendered into its root (or, for a bare page, the body has content).
  await app.waitFor(
    `const root = document.getElementById('root') ?? document.body;
     return root.children.length > 0 && root.innerText.trim().length > 0`,
    { timeout: T, what: 'the web app to render' },
  );
  // Painted, not just in the DOM.
  await app.run('await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
  const png = await app.screenshot();
  assert.deepEqual([...png.subarray(1, 4)], [...Buffer.from('PNG')]);
  writeFileSync(join(artifacts, 'window.png'), png);
});

test('the page may call the app’s commands', { timeout: T }, async () => {
  const { value, error } = await app.invoke('settings_get');
  assert.equal(error, undefined);
  assert.deepEqual(value, {
    serverUrl: null,
    graphqlUrl: null,
    graphqlWsUrl: null,
    trayMarket: null,
    restartRequired: false,
  });
  const refused = await app.invoke('settings_set_server', { url: 'https://x.example/graphql' });
  assert.equal(refused.error?.code, 'INVALID_SERVER_URL', JSON.stringify(refused));
  const set = await app.invoke('settings_set_server', { url: 'https://rialto.example.com' });
  assert.equal(set.value?.restartRequired, true, JSON.stringify(set));
  const cleared = await app.invoke('settings_set_server', { url: null });
  assert.equal(cleared.value?.serverUrl, null);
});

test('nothing the main window was not granted is reachable', { timeout: T }, async () => {
  // Plugin JavaScript APIs are not in capabilities/main.json; notifications go through
  // the app's own notify_fill.
  for (const cmd of ['plugin:notification|notify', 'plugin:window-state|save_window_state']) {
    const { error } = await app.invoke(cmd, {});
    assert.ok(error, `${cmd} should be refused`);
  }
  const { error } = await app.invoke('plugin:window|close', { label: 'main' });
  assert.ok(error, 'closing the window from the page should be refused');
});

test('the content security policy blocks other origins', { timeout: T }, async () => {
  const { value } = await app.run(`
    const blocked = new Promise((resolve) =>
      document.addEventListener('securitypolicyviolation', (e) => resolve(e.violatedDirective), { once: true }));
    fetch('https://example.com/').catch(() => {});
    return await Promise.race([blocked, new Promise((r) => setTimeout(() => r('no violation'), 5000))]);
  `);
  assert.match(value, /^connect-src/, value);
});

/** The element matching `xpath` (for finding controls by their text). */
async function byXPath(xpath) {
  const value = await app.cmd('POST', '/element', { using: 'xpath', value: xpath });
  return new Element(app, Object.values(value)[0]);
}
const button = (text) => byXPath(`//button[normalize-space(.)="${text}"]`);
const link = (text) => byXPath(`//a[normalize-space(.)="${text}"]`);
async function fill(css, text) {
  const el = await app.find(css);
  await el.clear();
  await el.type(text);
}
const waitFor = (what, predicate, timeout = T) => app.waitFor(predicate, { timeout, what });
const userName = () =>
  app.execute(`return document.querySelector('[data-testid="user-name"]')?.textContent ?? null`);

test(
  'story: on the local demo, sign up, place an order, see the trade appear live',
  { timeout: 240_000 },
  async () => {
    try {
      await story();
    } catch (e) {
      notifications?.stop();
      await app
        .screenshot()
        .then((png) => writeFileSync(join(artifacts, 'story-failure.png'), png))
        .catch(() => {});
      throw e;
    }
  },
);

/**
 * Records the desktop notifications requested on the session bus (dbus-monitor sees the
 * Notify calls even though no notification daemon answers them).
 */
function watchNotifications() {
  const child = spawn('dbus-monitor', ['--session', "interface='org.freedesktop.Notifications'"], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return { text: () => out, stop: () => child.kill() };
}
let notifications;

async function story() {
  // 1. No server set: the first-run screen offers the local demo; the app starts it.
  await waitFor(
    'the first-run screen',
    `return document.body.innerText.includes('Try the local demo')`,
  );
  writeFileSync(join(artifacts, 'first-run.png'), await app.screenshot());
  await (await button('Try the local demo')).click();
  await waitFor(
    'the app on the demo (markets listed)',
    `return !!document.querySelector('a[href="/trade/ACME-USD"]')`,
    120_000,
  );
  const { value: demo } = await app.invoke('demo_status');
  assert.match(demo?.serverUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+$/, JSON.stringify(demo));
  // Marks this page: gone if anything below reloads it.
  await app.execute('window.__e2eSamePage = true');

  // 2. Sign up with a fresh e-mail: signed in at once; the refresh token goes to the
  //    keychain (or, on this bare session bus, the keychain is unavailable and it stays in
  //    memory — never in localStorage).
  await (await link('Sign up')).click();
  const stamp = Date.now();
  await fill('input[name="email"]', `desk.${stamp}@e2e.rialto.test`);
  await fill('input[name="displayName"]', 'Desk Trader');
  await fill('input[name="password"]', 'a long enough passphrase');
  await (await button('Create account')).click();
  await waitFor(
    'signed in as the new user',
    `return document.querySelector('[data-testid="user-name"]')?.textContent === 'Desk Trader'`,
  );
  const kept = await app.invoke('token_load', { server: demo.serverUrl });
  if (kept.error) assert.equal(kept.error.code, 'KEYCHAIN_UNAVAILABLE', JSON.stringify(kept));
  else assert.match(kept.value ?? '', /.{16,}/, 'the refresh token is in the keychain');
  const stored = await app.execute('return JSON.stringify({ ...localStorage })');
  assert.doesNotMatch(stored, /refresh|rialto\.session/i, stored);

  // A new account has no funds; the demo's traders have. Log out, and log in as one from
  // the demo logins the login page lists (its /demo.json).
  await (await button('Log out')).click();
  await waitFor('the login page', `return location.pathname === '/login'`);
  await (await byXPath('//button[starts-with(@aria-label, "Use alice@")]')).click();
  await (await button('Log in')).click();
  await waitFor(
    'signed in as a demo trader',
    `const n = document.querySelector('[data-testid="user-name"]')?.textContent; return !!n && n !== 'Desk Trader'`,
  );

  // 3. The demo market: the market maker's quotes in the book, live, our cash loaded.
  await (await app.find('a[href="/trade/ACME-USD"]')).click();
  await waitFor(
    'asks in the book',
    `return document.querySelectorAll('.book tbody[aria-label="Asks"] tr[data-price]').length > 0`,
  );
  await waitFor('the socket live', `return !!document.querySelector('.badge[data-state="live"]')`);
  await waitFor(
    'our USD',
    `return !!document.querySelector('.area-form tr[data-asset="USD"] td[data-field="available"]')`,
  );

  // What the tape shows now; and the session bus, where the notification must go.
  await app.execute(
    `window.__e2eTapeBefore = [...document.querySelectorAll('.tape tr[data-trade-id]')].map((r) => r.dataset.tradeId)`,
  );
  notifications = watchNotifications();

  // A limit buy above every ask shown: it crosses whatever the maker quotes by the time it
  // arrives (the maker re-quotes every 2 s), and trades 1 ACME at the best ask.
  const asks = await app.execute(
    `return [...document.querySelectorAll('.book tbody[aria-label="Asks"] tr[data-price]')].map((r) => r.dataset.price)`,
  );
  const limit = (Math.max(...asks.map(Number)) * 1.05).toFixed(2);
  await fill('#order-price', limit);
  await fill('#order-quantity', '1');
  await (await button('Buy ACME')).click();

  // 4. Live, without a reload: the fill toast, our trade in the tape, the order filled.
  await waitFor(
    'the fill toast',
    `return [...document.querySelectorAll('.toast')].some((t) => t.textContent.includes('Filled: bought 1 ACME-USD'))`,
  );
  await (
    await byXPath('//button[@role="tab"][starts-with(normalize-space(.), "Order history")]')
  ).click();
  await waitFor(
    'our order filled',
    `return !!document.querySelector('#panel-history tr[data-status="FILLED"]')`,
  );
  await (await byXPath('//button[@role="tab"][normalize-space(.)="Fills"]')).click();
  await waitFor(
    'our fill listed',
    `return !!document.querySelector('#panel-fills tr[data-trade-id]')`,
  );
  const ours = await app.execute(
    `return [...document.querySelectorAll('#panel-fills tr[data-trade-id]')].map((r) => r.dataset.tradeId)`,
  );
  await waitFor(
    'our trade in the tape',
    `const before = new Set(window.__e2eTapeBefore);
     return [...document.querySelectorAll('.tape tr[data-trade-id]')]
       .some((r) => arguments[0].includes(r.dataset.tradeId) && !before.has(r.dataset.tradeId));`.replace(
      'arguments[0]',
      JSON.stringify(ours),
    ),
  );
  assert.equal(await app.execute('return window.__e2eSamePage === true'), true, 'no reload');
  assert.ok(await userName());

  // 5. The fill became a native notification (notify_fill → the notification plugin →
  //    org.freedesktop.Notifications.Notify on the session bus; no daemon here shows it).
  await eventually(
    () => /Order filled[\s\S]*Bought 1 ACME at [\d.]+ USD \(ACME-USD\)/.test(notifications.text()),
    `a Notify call for the fill (bus: ${notifications.text().slice(-500)})`,
  );

  notifications.stop();

  // The window as the user sees it now: header (signed in), book, tape, form, balances.
  await app.execute(`document.querySelector('.header').scrollIntoView({ block: 'start' })`);
  const png = await app.screenshot();
  writeFileSync(join(artifacts, 'trade.png'), png);
}

test('the local demo starts from the page and answers it', { timeout: 120_000 }, async () => {
  const started = await app.invoke('demo_start');
  assert.equal(started.error, undefined, JSON.stringify(started));
  const demo = started.value;
  assert.match(demo.serverUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.deepEqual((await app.invoke('demo_status')).value, demo);

  // From the page: allowed by connect-src (loopback) and by the demo's CORS origins.
  const { value, error } = await app.run(
    `const r = await fetch(arguments[0], {
       method: 'POST',
       headers: { 'content-type': 'application/json' },
       body: JSON.stringify({ query: '{ markets { symbol } }' }),
     });
     return await r.json();`,
    demo.graphqlUrl,
  );
  assert.equal(error, undefined);
  assert.ok(value.data.markets.length > 0, JSON.stringify(value));

  // A refresh token for the demo is kept under one key whatever the port (the keychain
  // may be unavailable on a bare CI session bus: then the error says so).
  const saved = await app.invoke('token_save', { server: demo.serverUrl, token: 'e2e-token' });
  if (saved.error) {
    assert.equal(saved.error.code, 'KEYCHAIN_UNAVAILABLE', JSON.stringify(saved));
  } else {
    assert.equal((await app.invoke('token_load', { server: demo.serverUrl })).value, 'e2e-token');
    await app.invoke('token_clear', { server: demo.serverUrl });
  }

  const stopped = await app.invoke('demo_stop');
  assert.equal(stopped.error, undefined, JSON.stringify(stopped));
  assert.equal((await app.invoke('demo_status')).value, null);
});

/** Polls until `check()` holds, or fails with `what`. */
async function eventually(check, what, ms = 15_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`timed out: ${what}`);
}

const down = (url) =>
  fetch(`${url}/health`).then(
    () => false,
    () => true,
  );

const LEFT_AT = { width: 1100, height: 700 };

test(
  'quitting (SIGTERM) stops the demo and keeps the window size',
  { timeout: 120_000 },
  async () => {
    const { value: demo, error } = await app.invoke('demo_start');
    assert.equal(error, undefined, JSON.stringify(error));
    await app.cmd('POST', '/window/rect', LEFT_AT);
    const pid = driver.appPid();
    assert.ok(pid, 'the app process');
    process.kill(pid, 'SIGTERM'); // what a session logging out sends
    await eventually(() => !alive(pid), 'the app to exit');
    await eventually(() => down(demo.serverUrl), `the demo at ${demo.serverUrl} to stop`);
    const saved = JSON.parse(readFileSync(join(driver.configDir, '.window-state.json'), 'utf8'));
    assert.equal(saved.main.width, LEFT_AT.width, JSON.stringify(saved));
    assert.equal(saved.main.height, LEFT_AT.height, JSON.stringify(saved));
    await app.end().catch(() => {});
  },
);

test('the next launch opens the window at that size', { timeout: T }, async () => {
  app = await driver.launch();
  const rect = await app.cmd('GET', '/window/rect');
  assert.equal(rect.width, LEFT_AT.width, JSON.stringify(rect));
  assert.equal(rect.height, LEFT_AT.height, JSON.stringify(rect));
});

test('an app killed outright takes its demo with it', { timeout: 120_000 }, async () => {
  const { value: demo, error } = await app.invoke('demo_start');
  assert.equal(error, undefined, JSON.stringify(error));
  const pid = driver.appPid();
  process.kill(pid, 'SIGKILL'); // a crash: no exit handler runs
  await eventually(() => !alive(pid), 'the app to die');
  await eventually(() => down(demo.serverUrl), `the demo at ${demo.serverUrl} to stop`);
  await app.end().catch(() => {});
  app = undefined;
});
