#!/usr/bin/env node
// The live book in a real browser (issue #7: the book keeps up with 100 updates a second,
// batched per frame). Builds a one-page bench (the real createBookStore, OrderBook and
// styles.css, fed by the seeded model of the server in src/stores/bookFeed.ts) with Vite's
// API into memory, opens it in Debian's Chromium through playwright-core (no server: the
// page's requests are answered from memory by `page.route`; no browser download, ever), and
// for each case streams deltas at a fixed rate for a while, measuring:
//   - frames: requestAnimationFrame callbacks, and the longest gap between two;
//   - backlog: the most updates sent but not yet in the store, sampled every frame;
//   - main-thread time (Chrome's Performance.getMetrics: TaskDuration = everything the
//     renderer's main thread did, of it ScriptDuration, RecalcStyleDuration, LayoutDuration),
//     as ms per second of wall time (1000 = one core busy).
// Cases: idle = the book mounted, nothing sent (the page's own cost per second);
// batched = the app's frameScheduler (one flush per animation frame); unbatched =
// one flush per update, right after each message.
//
//   node scripts/bench-book.mjs
//   BENCH_SECONDS=5 RATES=0,100 DEPTH=20 CHROMIUM=/usr/bin/chromium node scripts/bench-book.mjs
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import solid from 'vite-plugin-solid';

const webDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const rates = (process.env.RATES ?? '0,100,1000').split(',').map(Number);
const depth = Number(process.env.DEPTH ?? 50);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!existsSync(executablePath)) throw new Error(`no browser at ${executablePath}`);

const ENTRY = '\0bench-book-entry.js';
const entry = `
import { createComponent, render } from 'solid-js/web';
import { OrderBook } from '/src/components/OrderBook.tsx';
import { createBookStore, frameScheduler } from '/src/stores/book.ts';
import { bookFeed, fakeBookApi } from '/src/stores/bookFeed.ts';
import '/src/styles.css';

// Unbatched: the store's flush runs right after each message, as if every WebSocket
// message (its own task) were followed by its own flush.
let pending = null;
const perMessage = (cb) => { pending = cb; return () => { if (pending === cb) pending = null; }; };
const flushNow = () => { const cb = pending; pending = null; cb?.(); };
const nextFrame = () => new Promise((r) => requestAnimationFrame(() => r()));

let run = null;
window.benchMount = async ({ rate, seconds, batched, depth }) => {
  const feed = bookFeed({ depth, updates: Math.max(5000, rate * seconds), seed: 11 });
  const index = new Map(feed.deltas.map((u, i) => [u.sequence, i]));
  const host = document.createElement('div');
  host.className = 'panel area-book';
  document.body.append(host);
  const { api, send } = fakeBookApi();
  let store;
  const dispose = render(() => {
    store = createBookStore(api, feed.market, depth, batched ? frameScheduler : perMessage);
    return createComponent(OrderBook, {
      get bids() { return store.book.bids; },
      get asks() { return store.book.asks; },
      baseDecimals: 3,
      quoteDecimals: 2,
      get ready() { return store.ready(); },
    });
  }, host);
  send(feed.snapshot);
  flushNow();
  await nextFrame();
  await nextFrame();
  const rows = host.querySelectorAll('tr[data-price]').length;
  run = () => measure({ rate, seconds, feed, index, send, store: () => store, rows, dispose, host });
  return rows;
};
window.benchRun = () => run();

async function measure({ rate, seconds, feed, index, send, store: get, rows, dispose, host }) {
  const store = get();
  let cursor = 0;
  let sent = 0;
  const applied = () => (store.book.sequence === null ? 0 : (index.get(String(store.book.sequence)) ?? -1) + 1);
  const start = performance.now();
  const end = start + seconds * 1000;
  // Catch-up pacing: every 4 ms send what the rate says is due by now.
  const timer = setInterval(() => {
    const due = Math.min(Math.floor(((performance.now() - start) / 1000) * rate), Math.floor(rate * seconds));
    while (sent < due) {
      if (cursor === feed.deltas.length) throw new Error('the feed ran out');
      send(feed.deltas[cursor++]);
      flushNow();
      sent++;
    }
  }, 4);
  let frames = 0;
  let longest = 0;
  let over50 = 0;
  let backlog = 0;
  let last = performance.now();
  await new Promise((resolve) => {
    const frame = (t) => {
      frames++;
      longest = Math.max(longest, t - last);
      if (t - last > 50) over50++;
      last = t;
      backlog = Math.max(backlog, cursor - applied());
      if (t < end) requestAnimationFrame(frame);
      else resolve();
    };
    requestAnimationFrame(frame);
  });
  clearInterval(timer);
  await nextFrame();
  await nextFrame();
  const result = {
    rows,
    sent,
    applied: applied(),
    resyncs: store.resyncs(),
    frames,
    fps: frames / ((performance.now() - start) / 1000),
    longestFrameMs: longest,
    framesOver50ms: over50,
    maxBacklog: backlog,
  };
  dispose();
  host.remove();
  return result;
}
window.benchReady = true;
`;

const out = await build({
  root: webDir,
  configFile: false,
  logLevel: 'warn',
  plugins: [
    solid(),
    {
      name: 'bench-book-entry',
      resolveId: (id) => (id === 'bench-book-entry' ? ENTRY : null),
      load: (id) => (id === ENTRY ? entry : null),
    },
  ],
  build: {
    write: false,
    target: 'es2022',
    minify: true,
    cssCodeSplit: false,
    rollupOptions: { input: 'bench-book-entry', output: { entryFileNames: 'bench.js' } },
  },
});
const files = new Map();
for (const o of (Array.isArray(out) ? out : [out]).flatMap((b) => b.output)) {
  files.set(`/${o.fileName}`, o.type === 'chunk' ? o.code : o.source);
}
const css = [...files.keys()].filter((f) => f.endsWith('.css'));
const html = `<!doctype html><html><head><meta charset="utf-8">${css
  .map((f) => `<link rel="stylesheet" href="${f}">`)
  .join('')}<script type="module" src="/bench.js"></script></head><body></body></html>`;
files.set('/', html);

const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => console.error('page error:', e.message));
  const origin = 'http://bench-book.invalid';
  await page.route(`${origin}/**`, (route) => {
    const path = new URL(route.request().url()).pathname;
    const body = files.get(path);
    if (body === undefined) return route.fulfill({ status: 404, body: 'not found' });
    const type = path.endsWith('.js')
      ? 'text/javascript'
      : path.endsWith('.css')
        ? 'text/css'
        : 'text/html';
    return route.fulfill({ status: 200, contentType: type, body });
  });
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => globalThis.benchReady === true);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const metrics = async () =>
    Object.fromEntries(
      (await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]),
    );

  console.log(
    `Chromium ${browser.version()}, depth ${depth}, ${seconds} s per case; main thread in ms per s`,
  );
  console.log(
    'case                      | sent   | applied | fps  | longest frame | >50 ms | max backlog | task | script | style | layout',
  );
  for (const rate of rates) {
    for (const batched of [true, false]) {
      if (rate === 0 && !batched) continue;
      await page.evaluate((o) => globalThis.benchMount(o), { rate, seconds, batched, depth });
      const before = await metrics();
      const r = await page.evaluate(() => globalThis.benchRun());
      const after = await metrics();
      const wall = after.Timestamp - before.Timestamp;
      const per = (k) => (((after[k] - before[k]) / wall) * 1000).toFixed(0);
      if (r.rows !== 2 * depth) throw new Error(`rendered ${r.rows} rows, expected ${2 * depth}`);
      if (r.resyncs !== 0) throw new Error(`the feed hit a gap (${r.resyncs} resyncs)`);
      const name =
        rate === 0
          ? 'idle (book shown, 0/s)'
          : `${rate}/s ${batched ? 'batched per frame' : 'unbatched'}`;
      console.log(
        [
          name.padEnd(25),
          String(r.sent).padStart(6),
          String(r.applied).padStart(7),
          r.fps.toFixed(1).padStart(4),
          `${r.longestFrameMs.toFixed(1)} ms`.padStart(13),
          String(r.framesOver50ms).padStart(6),
          String(r.maxBacklog).padStart(11),
          per('TaskDuration').padStart(4),
          per('ScriptDuration').padStart(6),
          per('RecalcStyleDuration').padStart(5),
          per('LayoutDuration').padStart(6),
        ].join(' | '),
      );
    }
  }
} finally {
  await browser.close();
}
