/**
 * The live book's cost per update, one at a time against batched per frame (issue #7: the
 * book keeps up with 100 updates a second, batched per frame). Run with `npm run bench`;
 * results and the exact command are in BENCHMARKS.md §6. Benchmarks only: nothing here is
 * a pass/fail threshold. `npm run bench` passes `--mode test`: vite-plugin-solid resolves
 * Solid's browser build only in Vite's test mode, and under `vitest bench`'s own mode the
 * store would be Solid's non-reactive server build (liveBook refuses to run on it).
 *
 * Both groups use a seeded feed from a model of the server (bookFeed.ts): 50 visible levels
 * a side, 1.6 changed levels per delta on average, about 30 % of them removals.
 * - reducer: `applyUpdate` per message against one `applyUpdates` over the whole batch,
 *   from the same snapshot state each iteration (the reducer never mutates its input).
 * - store: the real createBookStore (fake subscription, frames flushed by hand) — apply
 *   plus one `reconcile` into the Solid store per flush, nothing rendered. Each iteration
 *   continues the same live book with the next deltas (the snapshot is resent when the feed
 *   runs out, once every 200 iterations of 100 updates or every 50 of 1,000).
 */
import { bench, describe } from 'vitest';
import { type BookState, applyUpdate, applyUpdates, emptyBook } from './book';
import { bookFeed, liveBook } from './bookFeed';

const DEPTH = 50;
const options = { time: 2_000, warmupTime: 300 };

function must(r: ReturnType<typeof applyUpdates>): BookState {
  if (!r.ok) throw new Error(`the feed hit a gap: ${r.resubscribe}`);
  return r.state;
}

for (const n of [100, 1_000]) {
  const feed = bookFeed({ depth: DEPTH, updates: n, seed: n });
  const start = must(applyUpdate(emptyBook(feed.market), feed.snapshot, DEPTH));
  must(applyUpdates(start, feed.deltas, DEPTH)); // the feed applies without a gap

  describe(`reducer: ${n} updates, ${DEPTH} levels a side`, () => {
    bench(
      `one at a time (applyUpdate × ${n})`,
      () => {
        let state = start;
        for (const u of feed.deltas) state = must(applyUpdate(state, u, DEPTH));
      },
      options,
    );
    bench(
      `one batch (applyUpdates of ${n})`,
      () => void must(applyUpdates(start, feed.deltas, DEPTH)),
      options,
    );
  });
}

for (const n of [100, 1_000]) {
  const feed = bookFeed({ depth: DEPTH, updates: n * (n === 100 ? 200 : 50), seed: 7 });
  describe(`store (createBookStore, no DOM): ${n} updates, ${DEPTH} levels a side`, () => {
    let live: ReturnType<typeof liveBook> | null = null;
    const hooks = {
      ...options,
      setup: () => {
        live?.dispose();
        live = liveBook(feed);
      },
      teardown: () => {
        live?.dispose();
        live = null;
      },
    };
    bench(`${n} flushes of 1 (a store update per message)`, () => live!.play(n, 1), hooks);
    bench(`1 flush of ${n} (one store update per frame)`, () => live!.play(n, n), hooks);
  });
}
