// User story: two traders sign up, an admin lists a market and funds them, one sells, the
// other buys across the spread — and both screens follow live, without a reload.
//
//   npm run build && RIALTO_BIN=../target/debug/rialto npm run e2e
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { artifacts, launchBrowser, startServer, until } from './harness.mjs';

const T = 20_000; // per-step wait: generous for a debug build
let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signUp(page, email, name) {
  await page.goto(`${server.url}/signup`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Display name').fill(name);
  await page.getByLabel('Password').fill('a long enough passphrase');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/markets', { timeout: T });
  await page.goto(`${server.url}/account`);
  return (await page.getByTestId('user-id').textContent({ timeout: T })).trim();
}

async function logIn(page, email, password) {
  await page.goto(`${server.url}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL('**/markets', { timeout: T });
}

/** Fills the admin form whose submit button is `button`, field by field label. */
async function adminForm(page, fields, button) {
  for (const [label, value] of Object.entries(fields)) {
    await page.getByLabel(label, { exact: true }).fill(value);
  }
  await page.getByRole('button', { name: button }).click();
}

const bookLevel = (page, side, price) =>
  page.locator(`.book tbody[aria-label="${side}"] tr[data-price="${price}"]`);
const balance = (page, asset, field) =>
  page.locator(`.area-form tr[data-asset="${asset}"] td[data-field="${field}"]`);
const text = async (loc) => (await loc.textContent({ timeout: 1000 }))?.trim();

test(
  'two traders trade live; bad input is refused inline; the book survives a dropped socket',
  { timeout: 240_000 },
  async () => {
    const adminCtx = await browser.newContext();
    const aCtx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const bCtx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });

    // B's WebSocket goes through the test, so the test can cut it.
    let blocked = false;
    const sockets = [];
    await bCtx.routeWebSocket(/\/graphql$/, (ws) => {
      if (blocked) {
        ws.close({ code: 1012, reason: 'blocked by the test' });
        return;
      }
      const upstream = ws.connectToServer();
      sockets.push({ ws, upstream });
    });

    const admin = await adminCtx.newPage();
    const a = await aCtx.newPage();
    const b = await bCtx.newPage();
    try {
      await story(
        admin,
        a,
        b,
        () => blocked,
        (v) => (blocked = v),
        sockets,
      );
    } catch (e) {
      // Leave evidence: what each screen showed when it failed.
      for (const [name, p] of Object.entries({ admin, a, b })) {
        await p
          .screenshot({ path: join(artifacts, `failure-${name}.png`), fullPage: true })
          .catch(() => {});
      }
      throw e;
    } finally {
      await Promise.all([adminCtx.close(), aCtx.close(), bCtx.close()]);
    }
  },
);

async function story(admin, a, b, _isBlocked, setBlocked, sockets) {
  // Two traders sign up.
  const stamp = Date.now();
  const aId = await signUp(a, `ann.${stamp}@e2e.rialto.test`, 'Ann');
  const bId = await signUp(b, `ben.${stamp}@e2e.rialto.test`, 'Ben');

  // A demo server's login page offers its demo accounts; "Use" fills the form.
  await admin.goto(`${server.url}/login`);
  await admin.getByRole('button', { name: 'Use alice@demo.rialto.dev' }).click();
  assert.equal(await admin.getByLabel('Email').inputValue(), 'alice@demo.rialto.dev');
  assert.notEqual(await admin.getByLabel('Password').inputValue(), '');

  // The admin lists an asset and a market and funds both traders.
  await logIn(admin, server.admin.email, server.admin.password);
  await admin.goto(`${server.url}/admin`);
  await adminForm(
    admin,
    { Symbol: 'ZETA', Name: 'Zeta Test Token', Kind: 'token', Decimals: '0' },
    'Create asset',
  );
  await admin.getByText('Listed ZETA').waitFor({ timeout: T });
  await adminForm(
    admin,
    {
      'Base asset': 'ZETA',
      'Quote asset': 'USD',
      'Tick size': '0.01',
      'Lot size': '1',
      'Minimum quantity': '1',
      'Maker fee (bps)': '5',
      'Taker fee (bps)': '10',
    },
    'Create market',
  );
  await admin.getByText('Opened ZETA-USD').waitFor({ timeout: T });
  await adminForm(admin, { 'User id': aId, Asset: 'ZETA', Amount: '100' }, 'Credit');
  await admin.getByText(/now has 100 ZETA available/).waitFor({ timeout: T });
  await adminForm(admin, { 'User id': bId, Asset: 'USD', Amount: '1000' }, 'Credit');
  await admin.getByText(/now has 1000 USD available/).waitFor({ timeout: T });

  // Both open the trading screen.
  await a.goto(`${server.url}/trade/ZETA-USD`);
  await b.goto(`${server.url}/trade/ZETA-USD`);
  for (const p of [a, b]) {
    await p.getByText('No spread: one side is empty').waitFor({ timeout: T });
    await p.locator('.badge[data-state="live"]').waitFor({ timeout: T });
  }
  await until(
    'B sees its USD',
    async () => (await text(balance(b, 'USD', 'available'))) === '1,000.00',
  );

  // Bad input: an inline error, and nothing is sent.
  let placeRequests = 0;
  b.on('request', (r) => {
    if (r.method() === 'POST' && r.postData()?.includes('PlaceOrder')) placeRequests++;
  });
  await b.getByLabel('Price (USD)').fill('10.001');
  await b.getByLabel('Quantity (ZETA)').fill('0');
  await b.getByRole('button', { name: 'Buy ZETA' }).click();
  await b.getByText('Price at most 2 decimal places').waitFor({ timeout: T });
  await b.getByText('Quantity must be positive').waitFor({ timeout: T });
  assert.equal(await b.getByLabel('Price (USD)').getAttribute('aria-invalid'), 'true');
  await b.waitForTimeout(500);
  assert.equal(placeRequests, 0, 'a refused form sends nothing');

  // A sells 5 at 10; both books show it live.
  await a.getByRole('button', { name: 'Sell', exact: true }).click();
  await a.getByLabel('Price (USD)').fill('10');
  await a.getByLabel('Quantity (ZETA)').fill('5');
  await a.getByRole('button', { name: 'Sell ZETA' }).click();
  await a.getByText('Sell order placed').waitFor({ timeout: T });
  for (const p of [a, b]) await bookLevel(p, 'Asks', '10').waitFor({ timeout: T });
  await a.getByRole('tab', { name: /Open orders \(1\)/ }).waitFor({ timeout: T });
  await until('A sees 5 ZETA held', async () => (await text(balance(a, 'ZETA', 'held'))) === '5');

  // B buys 3 at 10 by clicking the ask (the price fills the form) and crossing.
  await bookLevel(b, 'Asks', '10').click();
  assert.equal(await b.getByLabel('Price (USD)').inputValue(), '10');
  await b.getByRole('button', { name: 'Buy', exact: true }).click();
  await b.getByLabel('Quantity (ZETA)').fill('3');
  await b.getByRole('button', { name: 'Buy ZETA' }).click();

  // Both: a fill toast, the trade in the tape, the book down to 2, balances moved.
  await b.getByText('Filled: bought 3 ZETA-USD at 10').waitFor({ timeout: T });
  await a.getByText('Partly filled: sold 3 of 5 ZETA-USD at 10').waitFor({ timeout: T });
  for (const p of [a, b]) {
    await until('the trade in the tape', async () => {
      const row = p.locator('.tape tbody tr').first();
      return (await text(row))?.includes('10.00') && (await text(row.locator('td').nth(2))) === '3';
    });
    await until(
      'the ask down to 2',
      async () => (await text(bookLevel(p, 'Asks', '10').locator('td').nth(1))) === '2',
    );
  }
  // B paid 30.00 + 10 bps taker fee (0.03); A got 30.00 − 5 bps maker fee (0.015 → 0.02).
  await until(
    'B balances',
    async () =>
      (await text(balance(b, 'USD', 'available'))) === '969.97' &&
      (await text(balance(b, 'ZETA', 'available'))) === '3',
  );
  await until(
    'A balances',
    async () =>
      (await text(balance(a, 'USD', 'available'))) === '29.98' &&
      (await text(balance(a, 'ZETA', 'held'))) === '2',
  );
  await a.locator('tr[data-status="PARTIALLY_FILLED"]').waitFor({ timeout: T });

  // Screenshots of the trading screen, dark (the default) and light.
  await b.screenshot({ path: join(artifacts, 'trade-dark.png'), fullPage: true });
  await b.getByRole('button', { name: 'Light theme' }).click();
  await b.waitForTimeout(300);
  await b.screenshot({ path: join(artifacts, 'trade-light.png'), fullPage: true });
  await b.getByRole('button', { name: 'Light theme' }).click();

  // Kill B's socket and keep it down: the header says so.
  setBlocked(true);
  for (const s of sockets.splice(0)) {
    await s.ws.close({ code: 1012, reason: 'killed by the test' });
    await s.upstream.close();
  }
  await until('B shows reconnecting', async () => {
    const state = await b.locator('.badge').getAttribute('data-state');
    return state === 'reconnecting' || state === 'offline';
  });
  // Meanwhile A adds an ask B cannot hear about.
  await a.getByLabel('Price (USD)').fill('10.5');
  await a.getByLabel('Quantity (ZETA)').fill('4');
  await a.getByRole('button', { name: 'Sell ZETA' }).click();
  await bookLevel(a, 'Asks', '10.5').waitFor({ timeout: T });
  assert.equal(await bookLevel(b, 'Asks', '10.5').count(), 0);

  // Let it reconnect: live again, and the fresh snapshot brings the missed level.
  setBlocked(false);
  await b.locator('.badge[data-state="live"]').waitFor({ timeout: 30_000 });
  await bookLevel(b, 'Asks', '10.5').waitFor({ timeout: T });
  assert.equal(await text(bookLevel(b, 'Asks', '10').locator('td').nth(1)), '2');
}
