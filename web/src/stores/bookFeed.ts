/**
 * A seeded, realistic `orderBook` feed, and a live store to play it into, for the book
 * benchmarks (book.bench.ts, components/OrderBook.bench.tsx) and the batch tests in
 * book.test.ts. Not imported by the app.
 *
 * It models the server: a full book deeper than the visible depth, driven by random
 * commands near the touch (quantity changes, new levels, cancels, takers sweeping the best
 * levels), and after each command the visible-change delta brain/src/live/book.rs sends:
 * the changed levels of the top `depth`, quantity "0" for a level that left, and the
 * replacement from below when one did. Commands that change nothing visible send nothing
 * but still use sequence numbers, as trades and account events do.
 */
import { createRoot } from 'solid-js';
import { isServer } from 'solid-js/web';
import { makeSubject } from 'wonka';
import type { Api } from '../graphql/client';
import { type BookUpdate, type Level, createBookStore } from './book';

export interface FeedOptions {
  /** Visible levels a side (the subscription's `depth`). */
  depth: number;
  /** How many deltas to produce. */
  updates: number;
  seed?: number;
  market?: string;
}

export interface Feed {
  market: string;
  depth: number;
  /** The first message: the top `depth` levels a side. */
  snapshot: BookUpdate;
  deltas: BookUpdate[];
  /** The model's top `depth` levels a side after the last delta. */
  final: { bids: Level[]; asks: Level[] };
}

interface Slot {
  /** Price in ticks of 0.01. */
  tick: number;
  /** Quantity in thousandths of the base asset. */
  lots: number;
  orders: number;
}

const MID = 10_000; // 100.00: bids at 9,800–9,999 ticks, asks at 10,001–10,200, never crossed
const RANGE = 200;

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

const level = (s: Slot): Level => ({
  price: (s.tick / 100).toFixed(2),
  quantity: (s.lots / 1000).toString(),
  orders: s.orders,
});

export function bookFeed({ depth, updates, seed = 1, market = 'BENCH-USD' }: FeedOptions): Feed {
  const rand = rng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  // Best first: bids by tick descending, asks ascending. `distance` is ticks from the mid.
  const sides = { bids: [] as Slot[], asks: [] as Slot[] };
  const tickAt = (side: 'bids' | 'asks', distance: number) =>
    side === 'bids' ? MID - 1 - distance : MID + 1 + distance;
  const distanceOf = (side: 'bids' | 'asks', tick: number) =>
    side === 'bids' ? MID - 1 - tick : tick - MID - 1;
  const find = (side: 'bids' | 'asks', tick: number) => {
    const levels = sides[side];
    const d = distanceOf(side, tick);
    let lo = 0;
    let hi = levels.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const md = distanceOf(side, (levels[mid] as Slot).tick);
      if (md === d) return mid;
      if (md < d) lo = mid + 1;
      else hi = mid;
    }
    return ~lo;
  };
  const newSlot = (tick: number): Slot => ({ tick, lots: 1 + int(50_000), orders: 1 + int(20) });

  // Start with about 1.6 × depth levels a side, most ticks near the touch filled.
  for (const side of ['bids', 'asks'] as const) {
    for (let d = 0; d < RANGE && sides[side].length < Math.ceil(depth * 1.6); d++) {
      if (rand() < 0.6) sides[side].push(newSlot(tickAt(side, d)));
    }
  }

  const top = (side: 'bids' | 'asks') => sides[side].slice(0, depth).map((s) => ({ ...s }));
  const diff = (before: Slot[], after: Slot[]): Level[] => {
    const was = new Map(before.map((s) => [s.tick, s]));
    const now = new Set(after.map((s) => s.tick));
    const changes: Level[] = [];
    for (const s of after) {
      const b = was.get(s.tick);
      if (!b || b.lots !== s.lots || b.orders !== s.orders) changes.push(level(s));
    }
    for (const b of before) {
      if (!now.has(b.tick)) changes.push({ price: level(b).price, quantity: '0', orders: 0 });
    }
    return changes;
  };

  /** One random command on one side. Activity is skewed towards the touch. */
  const command = (side: 'bids' | 'asks') => {
    const levels = sides[side];
    const near = () => Math.min(levels.length - 1, Math.floor(depth * 1.2 * rand() ** 2));
    const r = rand();
    if (levels.length > depth * 3 || (r < 0.15 && levels.length > depth + 10)) {
      levels.splice(near(), 1); // a cancel empties a level
    } else if (levels.length < depth + 10 || r < 0.3) {
      const tick = tickAt(side, Math.floor(RANGE * rand() ** 2)); // a new order
      const i = find(side, tick);
      if (i < 0) levels.splice(~i, 0, newSlot(tick));
      else (levels[i] as Slot).lots += 1 + int(5_000);
    } else if (r < 0.38) {
      // a taker sweeps the best 1–3 levels and part of the next
      const n = 1 + int(3);
      levels.splice(0, n);
      const next = levels[0];
      if (next && next.lots > 1) next.lots -= 1 + int(next.lots - 1);
    } else {
      // an order added to or cancelled from an existing level
      const s = levels[near()] as Slot;
      if (rand() < 0.5) {
        s.lots += 1 + int(5_000);
        s.orders += 1;
      } else if (s.lots > 1 && s.orders > 1) {
        s.lots -= 1 + int(s.lots - 1);
        s.orders -= 1;
      } else {
        s.lots += 1 + int(1_000);
      }
    }
  };

  let sequence = 1;
  const snapshot: BookUpdate = {
    market,
    sequence: String(sequence),
    snapshot: true,
    bids: top('bids').map(level),
    asks: top('asks').map(level),
  };
  const deltas: BookUpdate[] = [];
  while (deltas.length < updates) {
    const side = rand() < 0.5 ? 'bids' : 'asks';
    const before = top(side);
    command(side);
    sequence += 1 + int(3);
    const changes = diff(before, top(side));
    if (changes.length === 0) continue; // below the visible depth: the server sends nothing
    deltas.push({
      market,
      sequence: String(sequence),
      snapshot: false,
      bids: side === 'bids' ? changes : [],
      asks: side === 'asks' ? changes : [],
    });
  }
  return {
    market,
    depth,
    snapshot,
    deltas,
    final: { bids: top('bids').map(level), asks: top('asks').map(level) },
  };
}

/**
 * A fake API whose `orderBook` subscription is fed by hand, for driving the real
 * createBookStore (and its per-frame batcher) without a server.
 */
export function fakeBookApi() {
  let subject: ReturnType<typeof makeSubject<{ data: { orderBook: BookUpdate } }>> | null = null;
  const api = {
    client: {
      subscription: () => {
        subject = makeSubject<{ data: { orderBook: BookUpdate } }>();
        return subject.source;
      },
    },
  } as unknown as Api;
  const send = (u: BookUpdate) => subject?.next({ data: { orderBook: u } });
  return { api, send };
}

/** A scheduler that runs the batcher's flush only when `flush()` is called: one "frame". */
export function manualFrames() {
  let pending: (() => void) | null = null;
  return {
    schedule: (cb: () => void) => {
      pending = cb;
      return () => {
        if (pending === cb) pending = null;
      };
    },
    flush() {
      const cb = pending;
      pending = null;
      cb?.();
    },
  };
}

/**
 * The real createBookStore fed from `feed` by hand, for benchmarks that run many iterations
 * on one live book. `mount` may render a view of it (and return its dispose). Each call to
 * `play(n, perFrame)` sends the next `n` deltas and flushes a frame after every `perFrame`
 * of them; when the feed runs out it first resends the snapshot (as after a resync), so the
 * deltas always apply. Throws if the store ever saw a gap: a benchmark must measure real
 * work, not an early exit.
 */
export function liveBook(
  feed: Feed,
  mount?: (store: ReturnType<typeof createBookStore>) => () => void,
) {
  if (isServer) {
    // Solid's server build has no reactivity: stores and renders would measure nothing.
    throw new Error('Solid resolved to its server build: run `vitest bench --mode test`');
  }
  return createRoot((disposeRoot) => {
    const { api, send } = fakeBookApi();
    const frames = manualFrames();
    const store = createBookStore(api, feed.market, feed.depth, frames.schedule);
    const unmount = mount?.(store);
    let cursor = 0;
    send(feed.snapshot);
    frames.flush();
    return {
      store,
      play(n: number, perFrame: number) {
        if (cursor + n > feed.deltas.length) {
          send(feed.snapshot);
          frames.flush();
          cursor = 0;
        }
        for (let i = 1; i <= n; i++) {
          send(feed.deltas[cursor++] as BookUpdate);
          if (i % perFrame === 0) frames.flush();
        }
        frames.flush();
        if (store.resyncs() !== 0) throw new Error(`the feed hit a gap: ${store.lastGap()}`);
      },
      dispose() {
        unmount?.();
        store.dispose();
        disposeRoot();
      },
    };
  });
}
