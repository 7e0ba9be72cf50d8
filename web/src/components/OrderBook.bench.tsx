/** @vitest-environment jsdom */
/**
 * The live book on screen: the real createBookStore feeding the OrderBook component, rendered
 * by Solid into jsdom, with 100 updates flushed as one frame (as the per-frame batcher does)
 * against 100 flushes of one (no batching: a store update and a render per message). Run
 * with `npm run bench`; results and the command are in BENCHMARKS.md §6.
 *
 * What this measures is JavaScript: the reducer, `reconcile` into the store, Solid's
 * updates of the rows that changed, and jsdom's DOM operations. A browser's style, layout
 * and paint are not included (jsdom has none), so this is a floor for the work per frame.
 * Each iteration continues the same mounted book with the next 100 deltas of a seeded feed
 * (bookFeed.ts: 50 levels a side); every 200 iterations the feed starts over with its
 * snapshot, as after a resync.
 */
import { render } from 'solid-js/web';
import { bench, describe } from 'vitest';
import { bookFeed, liveBook } from '../stores/bookFeed';
import { OrderBook } from './OrderBook';

const DEPTH = 50;
const N = 100;
const feed = bookFeed({ depth: DEPTH, updates: N * 200, seed: 11 });

function mounted() {
  const host = document.createElement('div');
  document.body.append(host);
  const live = liveBook(feed, (store) => {
    const dispose = render(
      () => (
        <OrderBook
          bids={store.book.bids}
          asks={store.book.asks}
          baseDecimals={3}
          quoteDecimals={2}
          ready={store.ready()}
        />
      ),
      host,
    );
    return () => {
      dispose();
      host.remove();
    };
  });
  const rows = host.querySelectorAll('tbody tr[data-price]').length;
  if (rows !== 2 * DEPTH) throw new Error(`expected ${2 * DEPTH} rows, rendered ${rows}`);
  return live;
}

describe(`OrderBook in jsdom: ${N} updates, ${DEPTH} levels a side`, () => {
  let live: ReturnType<typeof liveBook> | null = null;
  const options = {
    time: 3_000,
    warmupTime: 500,
    setup: () => {
      live?.dispose();
      live = mounted();
    },
    teardown: () => {
      live?.dispose();
      live = null;
    },
  };
  bench(`${N} flushes of 1 (a render per message)`, () => live!.play(N, 1), options);
  bench(`1 flush of ${N} (one render per frame)`, () => live!.play(N, N), options);
});
