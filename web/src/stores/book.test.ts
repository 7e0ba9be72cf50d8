import { createRoot } from 'solid-js';
import { unwrap } from 'solid-js/store';
import { describe, expect, it, vi } from 'vitest';
import {
  type BookState,
  type BookUpdate,
  type Level,
  applyUpdate,
  applyUpdates,
  createBatcher,
  createBookStore,
  depthRows,
  emptyBook,
  frameScheduler,
  spread,
} from './book';
import { bookFeed, fakeBookApi, manualFrames } from './bookFeed';

const M = 'ACME-USD';
const L = (price: string, quantity: string, orders = 1): Level => ({ price, quantity, orders });
const snap = (sequence: number, bids: Level[], asks: Level[]): BookUpdate => ({
  market: M,
  sequence: String(sequence),
  snapshot: true,
  bids,
  asks,
});
const delta = (sequence: number, bids: Level[], asks: Level[] = []): BookUpdate => ({
  market: M,
  sequence: String(sequence),
  snapshot: false,
  bids,
  asks,
});
const prices = (levels: Level[]) => levels.map((l) => l.price);

function ok(r: ReturnType<typeof applyUpdate>): BookState {
  if (!r.ok) throw new Error(`unexpected gap: ${r.resubscribe}`);
  return r.state;
}

const start = () =>
  ok(
    applyUpdate(
      emptyBook(M),
      snap(10, [L('24.9', '5'), L('25', '3'), L('9.5', '1')], [L('25.1', '2'), L('100', '7')]),
      20,
    ),
  );

describe('snapshot', () => {
  it('replaces the book, sorted best first by numeric value', () => {
    const book = start();
    expect(book.sequence).toBe(10n);
    expect(prices(book.bids)).toEqual(['25', '24.9', '9.5']);
    expect(prices(book.asks)).toEqual(['25.1', '100']);
  });

  it('drops zero-quantity levels', () => {
    const book = ok(applyUpdate(emptyBook(M), snap(1, [L('1', '0'), L('2', '0.00')], []), 20));
    expect(book.bids).toEqual([]);
  });

  it('a later snapshot (the server after a lag) replaces everything', () => {
    const book = ok(applyUpdate(start(), snap(99, [L('20', '1')], [L('30', '1')]), 20));
    expect(book.sequence).toBe(99n);
    expect(prices(book.bids)).toEqual(['20']);
    expect(prices(book.asks)).toEqual(['30']);
  });
});

describe('delta', () => {
  it('changes, inserts and removes levels, keeping both sides sorted', () => {
    const book = ok(
      applyUpdate(
        start(),
        delta(
          11,
          [L('24.9', '8', 2), L('24.95', '1'), L('9.5', '0')],
          [L('25.05', '4'), L('100', '0')],
        ),
        20,
      ),
    );
    expect(book.bids).toEqual([L('25', '3'), L('24.95', '1'), L('24.9', '8', 2)]);
    expect(book.asks).toEqual([L('25.05', '4'), L('25.1', '2')]);
    expect(book.sequence).toBe(11n);
  });

  it('accepts sequence jumps: the sequence is shared with trades, orders and balances', () => {
    const book = ok(applyUpdate(start(), delta(57, [L('24', '1')]), 20));
    expect(book.sequence).toBe(57n);
  });

  it('compares sequences as 64-bit integers, not floats or strings', () => {
    const big = ok(applyUpdate(emptyBook(M), snap(0, [], []), 20));
    const s1 = { ...delta(0, [L('1', '1')]), sequence: '9007199254740993' };
    const s2 = { ...delta(0, [L('2', '1')]), sequence: '9007199254740994' };
    const after = ok(applyUpdates(big, [s1, s2], 20));
    expect(after.sequence).toBe(9007199254740994n);
    const r = applyUpdate(ok(applyUpdate(big, s1, 20)), { ...s2, sequence: '900719925474099' }, 20);
    expect(r.ok).toBe(false);
  });

  it('never mutates the state it was given', () => {
    const before = start();
    const copy = structuredClone(before);
    applyUpdate(before, delta(11, [L('25', '0'), L('26', '1')], [L('25.1', '9')]), 20);
    expect(before).toEqual(copy);
  });
});

describe('gap detection', () => {
  const gap = (state: BookState, u: BookUpdate, depth = 20) => {
    const r = applyUpdate(state, u, depth);
    return r.ok ? null : r.resubscribe;
  };

  it('a delta before any snapshot', () => {
    expect(gap(emptyBook(M), delta(1, [L('1', '1')]))).toMatch(/before the snapshot/);
  });

  it('a repeated or decreasing sequence', () => {
    expect(gap(start(), delta(10, [L('1', '1')]))).toMatch(/out of order/);
    expect(gap(start(), delta(9, [L('1', '1')]))).toMatch(/out of order/);
  });

  it('removing a level the book does not have (a missed insert)', () => {
    expect(gap(start(), delta(11, [L('24.5', '0')]))).toMatch(/does not have/);
    expect(gap(start(), delta(11, [], [L('26', '0')]))).toMatch(/does not have/);
  });

  it('more levels than the depth (a missed removal)', () => {
    const book = ok(applyUpdate(emptyBook(M), snap(1, [L('1', '1'), L('2', '1')], []), 2));
    expect(gap(book, delta(2, [L('3', '1')]), 2)).toMatch(/more than 2 levels/);
  });

  it('a crossed book', () => {
    expect(gap(start(), delta(11, [L('25.1', '1')]))).toMatch(/crossed/);
    expect(gap(start(), delta(11, [], [L('25', '1')]))).toMatch(/crossed/);
  });

  it('an update for another market or a malformed sequence', () => {
    expect(gap(start(), { ...delta(11, []), market: 'GOLDG-USD' })).toMatch(/GOLDG-USD/);
    expect(gap(start(), { ...delta(11, []), sequence: '1e3' })).toMatch(/malformed/);
    expect(gap(start(), { ...delta(11, []), sequence: '-1' })).toMatch(/malformed/);
  });

  it('a batch stops at the first gap and keeps the last good state', () => {
    const r = applyUpdates(
      start(),
      [delta(11, [L('24', '1')]), delta(12, [L('1', '0')]), delta(13, [L('23', '1')])],
      20,
    );
    expect(r.ok).toBe(false);
    expect(r.state.sequence).toBe(11n);
    expect(prices(r.state.bids)).toEqual(['25', '24.9', '24', '9.5']);
  });

  it('a snapshot after a gap resynchronises', () => {
    const r = applyUpdates(start(), [delta(11, [L('1', '0')])], 20);
    expect(r.ok).toBe(false);
    const fresh = ok(applyUpdate(r.state, snap(40, [L('24', '2')], [L('26', '1')]), 20));
    expect(fresh.sequence).toBe(40n);
  });
});

/**
 * A model of the server: the full book, and the visible-change diff brain/src/live/book.rs
 * sends. Random commands against it must leave our copy equal to its top, with no gap.
 */
describe('against a model of the server', () => {
  function rng(seed: number) {
    return () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
  }
  type Full = Map<number, number>; // price in ticks → lots
  const top = (side: Full, bids: boolean, depth: number): Level[] =>
    [...side.entries()]
      .sort((a, b) => (bids ? b[0] - a[0] : a[0] - b[0]))
      .slice(0, depth)
      .map(([p, q]) => L((p / 100).toString(), String(q)));
  const diff = (before: Level[], after: Level[]): Level[] => [
    ...after.filter((a) => !before.some((b) => b.price === a.price && b.quantity === a.quantity)),
    ...before.filter((b) => !after.some((a) => a.price === b.price)).map((b) => L(b.price, '0', 0)),
  ];

  it.each([1, 2, 3, 5, 20])('depth %i: snapshot + deltas equal the top', (depth) => {
    const rand = rng(depth * 7919);
    const bids: Full = new Map();
    const asks: Full = new Map();
    let seq = 1;
    let book = ok(applyUpdate(emptyBook(M), snap(seq, [], []), depth));
    for (let step = 0; step < 2000; step++) {
      const before = { bids: top(bids, true, depth), asks: top(asks, false, depth) };
      // a command: a bid below 2500 ticks or an ask above it (never crossing), or a cancel
      const buy = rand() < 0.5;
      const price = buy ? 2400 + Math.floor(rand() * 100) : 2501 + Math.floor(rand() * 100);
      const qty = rand() < 0.3 ? 0 : 1 + Math.floor(rand() * 9);
      const side = buy ? bids : asks;
      if (qty === 0) side.delete(price);
      else side.set(price, qty);
      seq += 1 + Math.floor(rand() * 3); // trades and account events use numbers too
      const after = { bids: top(bids, true, depth), asks: top(asks, false, depth) };
      const change = { bids: diff(before.bids, after.bids), asks: diff(before.asks, after.asks) };
      if (change.bids.length + change.asks.length === 0) continue; // the server sends nothing
      book = ok(applyUpdate(book, delta(seq, change.bids, change.asks), depth));
      expect(book.bids).toEqual(after.bids);
      expect(book.asks).toEqual(after.asks);
    }
  });

  it('a lost delta that inserted a level shows when that level goes', () => {
    const depth = 3;
    const book = ok(
      applyUpdate(emptyBook(M), snap(1, [], [L('1', '1'), L('2', '1'), L('3', '1')]), depth),
    );
    // lost on the wire: 0.5 arrives, 3 leaves the view — delta(2, [], [L('0.5','1'), L('3','0')])
    const r = applyUpdate(book, delta(3, [], [L('3', '1'), L('0.5', '0', 0)]), depth);
    expect(r.ok).toBe(false);
  });

  it('a lost delta that removed a level shows when the next level leaves the view', () => {
    const depth = 3;
    const book = ok(
      applyUpdate(emptyBook(M), snap(1, [], [L('1', '1'), L('2', '1'), L('3', '1')]), depth),
    );
    // lost: 1 is taken, 4 comes into view — delta(2, [], [L('4','1'), L('1','0')])
    const r = applyUpdate(book, delta(3, [], [L('1.5', '1'), L('4', '0', 0)]), depth);
    expect(r.ok).toBe(false);
  });

  it('a batch gives the same book as applying its updates one at a time', () => {
    const updates: BookUpdate[] = [];
    for (let i = 0; i < 10_000; i++) {
      const p = (2400 + (i % 50)).toString();
      updates.push(delta(i + 2, [L(`${p.slice(0, 2)}.${p.slice(2)}`, String((i % 7) + 1))]));
    }
    const first = ok(applyUpdate(emptyBook(M), snap(1, [], []), 100));
    let oneByOne = first;
    for (const u of updates) oneByOne = ok(applyUpdate(oneByOne, u, 100));
    const batch = ok(applyUpdates(first, updates, 100));
    expect(batch).toEqual(oneByOne);
    expect(batch.sequence).toBe(10_001n);
    expect(batch.bids).toHaveLength(50);
  });
});

describe("the benchmarks' feed (bookFeed)", () => {
  it.each([20, 50])(
    "depth %i: one batch, frame-sized batches and one at a time give the model's top",
    (depth) => {
      const feed = bookFeed({ depth, updates: 3000, seed: depth });
      const first = ok(applyUpdate(emptyBook(feed.market), feed.snapshot, depth));
      expect(first.bids).toHaveLength(depth);
      expect(first.asks).toHaveLength(depth);
      let oneByOne = first;
      for (const u of feed.deltas) oneByOne = ok(applyUpdate(oneByOne, u, depth));
      let framed = first;
      for (let i = 0; i < feed.deltas.length; i += 37) {
        framed = ok(applyUpdates(framed, feed.deltas.slice(i, i + 37), depth));
      }
      const batch = ok(applyUpdates(first, feed.deltas, depth));
      expect(batch).toEqual(oneByOne);
      expect(framed).toEqual(oneByOne);
      expect(batch.bids).toEqual(feed.final.bids);
      expect(batch.asks).toEqual(feed.final.asks);
      // a book that moves: levels come and go, not only quantities
      expect(prices(batch.bids)).not.toEqual(prices(first.bids));
    },
  );

  it('drives the real store: one frame flush equals one flush per update', () => {
    const feed = bookFeed({ depth: 50, updates: 500, seed: 3 });
    const run = (perFrame: number) =>
      createRoot((dispose) => {
        const { api, send } = fakeBookApi();
        const frames = manualFrames();
        const store = createBookStore(api, feed.market, 50, frames.schedule);
        send(feed.snapshot);
        frames.flush();
        feed.deltas.forEach((u, i) => {
          send(u);
          if ((i + 1) % perFrame === 0) frames.flush();
        });
        frames.flush();
        const result = { book: structuredClone(unwrap(store.book)), resyncs: store.resyncs() };
        store.dispose();
        dispose();
        return result;
      });
    const batched = run(100);
    const unbatched = run(1);
    expect(batched.resyncs).toBe(0);
    expect(unbatched.resyncs).toBe(0);
    expect(batched.book).toEqual(unbatched.book);
    expect(batched.book.bids).toEqual(feed.final.bids);
    expect(batched.book.asks).toEqual(feed.final.asks);
  });
});

describe('depthRows', () => {
  it('accumulates quantity from the best price and scales bars to the deeper side', () => {
    const { bids, asks } = depthRows(
      { bids: [L('25', '3'), L('24.9', '5')], asks: [L('25.1', '2'), L('25.2', '14')] },
      0,
    );
    expect(bids.map((r) => r.cumulative)).toEqual([3n, 8n]);
    expect(asks.map((r) => r.cumulative)).toEqual([2n, 16n]);
    expect(asks[1]?.share).toBe(1);
    expect(bids[1]?.share).toBe(0.5);
    expect(bids[0]?.share).toBe(0.1875);
  });

  it('is exact for fractional quantities', () => {
    const { bids } = depthRows({ bids: [L('1', '0.1'), L('0.9', '0.2')], asks: [] }, 8);
    expect(bids[1]?.cumulative).toBe(30_000_000n);
  });

  it('handles an empty book', () => {
    expect(depthRows({ bids: [], asks: [] }, 2)).toEqual({ bids: [], asks: [] });
  });
});

describe('spread', () => {
  it('is ask minus bid in quote minor units', () => {
    expect(spread(start(), 2)).toBe(10n);
    expect(spread({ bids: [], asks: [] }, 2)).toBeNull();
  });
});

describe('createBatcher', () => {
  it('hands everything pushed before a frame to one flush', () => {
    let tick: (() => void) | null = null;
    const flushes: number[][] = [];
    const b = createBatcher<number>(
      (items) => flushes.push(items),
      (cb) => {
        tick = cb;
        return () => (tick = null);
      },
    );
    for (let i = 0; i < 150; i++) b.push(i);
    expect(flushes).toEqual([]);
    expect(b.pending).toBe(150);
    tick!();
    expect(flushes).toHaveLength(1);
    expect(flushes[0]).toHaveLength(150);
    expect(flushes[0]?.[149]).toBe(149);
    b.push(1);
    tick!();
    expect(flushes).toHaveLength(2);
  });

  it('clear drops the queue and the scheduled flush', () => {
    const flush = vi.fn();
    let cancelled = false;
    const b = createBatcher<number>(flush, () => () => (cancelled = true));
    b.push(1);
    b.clear();
    expect(cancelled).toBe(true);
    expect(b.pending).toBe(0);
  });

  it('the frame scheduler still fires when frames stop (a hidden tab)', () => {
    vi.useFakeTimers();
    try {
      const raf = vi.fn(() => 1);
      vi.stubGlobal('requestAnimationFrame', raf);
      vi.stubGlobal('cancelAnimationFrame', vi.fn());
      const cb = vi.fn();
      frameScheduler(cb);
      expect(raf).toHaveBeenCalled();
      vi.advanceTimersByTime(249);
      expect(cb).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      expect(cb).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
      vi.unstubAllGlobals();
    }
  });

  it('the frame scheduler runs once, on whichever comes first', () => {
    vi.useFakeTimers();
    try {
      let frame: FrameRequestCallback | null = null;
      vi.stubGlobal('requestAnimationFrame', (f: FrameRequestCallback) => {
        frame = f;
        return 7;
      });
      const cancelRaf = vi.fn();
      vi.stubGlobal('cancelAnimationFrame', cancelRaf);
      const cb = vi.fn();
      frameScheduler(cb);
      frame!(0);
      vi.advanceTimersByTime(1000);
      expect(cb).toHaveBeenCalledTimes(1);
      expect(cancelRaf).toHaveBeenCalledWith(7);
    } finally {
      vi.useRealTimers();
      vi.unstubAllGlobals();
    }
  });
});
