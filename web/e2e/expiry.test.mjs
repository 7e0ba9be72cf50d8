// User story: a trader keeps the trading screen open while their 5-second access tokens
// expire one after another (the server runs with --access-token-ttl-secs 5 and closes each
// socket with 4403 when its token expires). The screen renews the token, reconnects and
// resumes every stream without the trader noticing: the header stays "live", nobody is
// signed out, and the book, the tape, their orders and balances keep streaming — a trade
// made after the expiries appears in the tape, an order placed after them shows in open
// orders and balances, and a fill of theirs is announced from the live order stream.
// The test watches the browser's socket (every close code, every message) and the server's
// /metrics, so it proves the expiry path was taken.
//
//   npm run build && RIALTO_BIN=../target/debug/rialto npm run e2e
/* global window, document, MutationObserver -- inside page.evaluate */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { artifacts, launchBrowser, metric, startServer, until } from './harness.mjs';

const TTL = 5; // seconds an access token lives
const T = 30_000; // per-step wait: generous for a debug build
const CLOSES = 'rialto_websocket_closes_total';
let server;
let browser;

before(async () => {
  server = await startServer({ args: ['--access-token-ttl-secs', String(TTL)], seedFirst: true });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The claims of a JWT (not verified: only read). */
function claims(token) {
  const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(Buffer.from(part, 'base64').toString('utf8'));
}

/**
 * Routes the page's /graphql socket through the test: records each connection_init's
 * token, each message from the server (its type and field) and how the server closed it,
 * forwarding everything unchanged.
 */
async function watchSockets(ctx) {
  const seen = { inits: [], messages: [], closes: [] };
  await ctx.routeWebSocket(/\/graphql$/, (page) => {
    const upstream = page.connectToServer();
    page.onMessage((m) => {
      try {
        const j = JSON.parse(String(m));
        if (j.type === 'connection_init') {
          seen.inits.push({ at: Date.now(), token: j.payload?.authorization?.slice(7) ?? null });
        }
      } catch {
        // not JSON: forwarded as is
      }
      upstream.send(m);
    });
    upstream.onMessage((m) => {
      try {
        const j = JSON.parse(String(m));
        const field = j.type === 'next' ? Object.keys(j.payload?.data ?? {})[0] : undefined;
        seen.messages.push({
          at: Date.now(),
          type: j.type,
          field,
          data: field && j.payload.data[field],
        });
      } catch {
        // not JSON
      }
      page.send(m);
    });
    upstream.onClose((code, reason) => {
      seen.closes.push({ at: Date.now(), code, reason });
      page.close({ code, reason });
    });
    page.onClose((code, reason) => upstream.close({ code, reason }));
  });
  return seen;
}

const text = async (loc) => (await loc.textContent({ timeout: 1000 }))?.trim();
const balance = (page, asset, field) =>
  page.locator(`.area-form tr[data-asset="${asset}"] td[data-field="${field}"]`);
const units = (s) => Number(String(s).replace(/,/g, ''));

test(
  'a trading screen stays live and signed in while its access tokens expire',
  { timeout: 300_000 },
  async () => {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const sockets = await watchSockets(ctx);
    const page = await ctx.newPage();
    try {
      await story(page, sockets);
    } catch (e) {
      await page
        .screenshot({ path: join(artifacts, 'failure-expiry.png'), fullPage: true })
        .catch(() => {});
      throw e;
    } finally {
      await ctx.close();
    }
  },
);

async function story(page, sockets) {
  // A demo trader logs in and opens ACME-USD: the maker's quotes, the socket live, their cash.
  await page.goto(`${server.url}/login`);
  await page.getByRole('button', { name: 'Use alice@demo.rialto.dev' }).click();
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL('**/markets', { timeout: T });
  await page.goto(`${server.url}/trade/ACME-USD`);
  await page
    .locator('.book tbody[aria-label="Asks"] tr[data-price]')
    .first()
    .waitFor({ timeout: T });
  await page.locator('.badge[data-state="live"]').waitFor({ timeout: T });
  await balance(page, 'USD', 'available').waitFor({ timeout: T });
  const who = await text(page.getByTestId('user-name'));
  assert.ok(who, 'signed in');

  // From here on, everything the header shows is recorded, and the page is marked: gone if
  // anything reloads it.
  await page.evaluate(() => {
    const badge = document.querySelector('.badge');
    window.__e2eBadge = [badge.dataset.state];
    new MutationObserver(() => window.__e2eBadge.push(badge.dataset.state)).observe(badge, {
      attributes: true,
      attributeFilter: ['data-state'],
    });
    window.__e2eSamePage = true;
  });
  const closesAtStart = await metric(server.url, CLOSES, { code: '4403' });
  const watchedFrom = Date.now();
  /** The 4403 closes of the page's socket since then. */
  const expiredSince = () => sockets.closes.filter((c) => c.code === 4403 && c.at > watchedFrom);

  // Three tokens expire under the open screen; the server closes the socket each time.
  await until(
    'three 4403 closes of the page’s socket',
    () => expiredSince().length >= 3,
    (3 * TTL + 20) * 1000,
  );
  const expiries = expiredSince();
  const afterExpiries = expiries[2].at;

  // After them: a trade in the tape that was not there before (the demo's taker flow).
  const tapeThen = new Set(
    await page
      .locator('.tape tr[data-trade-id]')
      .evaluateAll((rows) => rows.map((r) => r.dataset.tradeId)),
  );
  await until(
    'a new trade in the tape after the expiries',
    async () => {
      const ids = await page
        .locator('.tape tr[data-trade-id]')
        .evaluateAll((rows) => rows.map((r) => r.dataset.tradeId));
      return ids.some((id) => !tapeThen.has(id));
    },
    60_000,
  );

  // An order placed after them rests in the book and shows in open orders and balances.
  const bestBid = units(
    await page
      .locator('.book tbody[aria-label="Bids"] tr[data-price]')
      .first()
      .getAttribute('data-price'),
  );
  // 5 % below the best bid: it rests (and stays within the server's band around the last price).
  const price = (Math.floor(bestBid * 95) / 100).toFixed(2);
  const heldBefore = units(await text(balance(page, 'USD', 'held')));
  await page.getByRole('button', { name: 'Buy', exact: true }).click();
  await page.getByLabel('Price (USD)').fill(price);
  await page.getByLabel('Quantity (ACME)').fill('1');
  await page.getByRole('button', { name: 'Buy ACME' }).click();
  await page.getByText('Buy order placed').waitFor({ timeout: T });
  await until('our order open', async () => {
    const rows = await page
      .locator('#panel-open tr[data-status="OPEN"]')
      .evaluateAll((rs) => rs.map((r) => r.textContent.replace(/,/g, '')));
    return rows.some((t) => t.includes(price));
  });
  await until(
    'our USD held for it',
    async () => units(await text(balance(page, 'USD', 'held'))) >= heldBefore + Number(price),
  );
  await page
    .locator(`.book tbody[aria-label="Bids"] tr[data-price="${Number(price)}"]`)
    .waitFor({ timeout: T });

  // Another expiry, then a buy above every ask: it trades, and the fill is announced from the
  // live order stream (a refetch never announces one).
  const expired = expiredSince().length;
  await until('one more expiry', () => expiredSince().length > expired, (TTL + 20) * 1000);
  const acmeBefore = units(await text(balance(page, 'ACME', 'available')).catch(() => '0'));
  const asks = await page
    .locator('.book tbody[aria-label="Asks"] tr[data-price]')
    .evaluateAll((rows) => rows.map((r) => Number(r.dataset.price)));
  await page.getByLabel('Price (USD)').fill((Math.max(...asks) * 1.02).toFixed(2));
  await page.getByLabel('Quantity (ACME)').fill('1');
  await page.getByRole('button', { name: 'Buy ACME' }).click();
  await page.getByText('Filled: bought 1 ACME-USD').waitFor({ timeout: T });
  await until(
    'the ACME bought in our balances',
    async () => units(await text(balance(page, 'ACME', 'available'))) >= acmeBefore + 1,
  );

  // The socket carried every stream after the expiries, each on a renewed token.
  const lastExpiry = expiredSince().at(-1).at;
  for (const field of ['orderBook', 'trades', 'myOrders', 'myBalances']) {
    assert.ok(
      sockets.messages.some((m) => m.type === 'next' && m.field === field && m.at > afterExpiries),
      `${field} streamed after the expiries`,
    );
  }
  assert.ok(
    sockets.messages.some(
      (m) => m.field === 'myOrders' && m.at > lastExpiry && m.data?.status === 'FILLED',
    ),
    'our fill came over the socket after the last expiry',
  );
  for (const init of sockets.inits) {
    if (init.token === null) continue;
    assert.ok(claims(init.token).exp * 1000 > init.at, 'each connection_init carried a live token');
  }
  assert.ok(sockets.inits.length > expiries.length, 'a new connection after every expiry');

  // Without the trader noticing: never signed out, never reloaded, the header always live.
  assert.equal(await text(page.getByTestId('user-name')), who);
  assert.match(page.url(), /\/trade\/ACME-USD$/);
  assert.equal(await page.evaluate(() => window.__e2eSamePage), true, 'no reload');
  const shown = await page.evaluate(() => window.__e2eBadge);
  assert.deepEqual([...new Set(shown)], ['live'], `the header showed ${shown.join(' → ')}`);
  // The page counted each of those as a quiet renewal (the badge's diagnostic attribute).
  const renewals = Number(await page.locator('.badge').getAttribute('data-renewals'));
  assert.ok(renewals >= expiries.length, `renewals: ${renewals}`);

  // And the server counted those closes.
  // (The server counts a close before it sends it, so none the page saw can be missing.)
  const counted = (await metric(server.url, CLOSES, { code: '4403' })) - closesAtStart;
  assert.ok(
    counted >= expiredSince().length && expiredSince().length >= 4,
    `${CLOSES}{code="4403"} grew by ${counted}; the page saw ${JSON.stringify(sockets.closes)}`,
  );
  await page.screenshot({ path: join(artifacts, 'trade-after-expiries.png'), fullPage: true });
}
