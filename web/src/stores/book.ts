/**
 * The L2 order book: a pure reducer over the `orderBook` subscription (snapshot, then
 * deltas), the checks that tell when our copy can no longer be trusted, and the per-frame
 * batching that lets the screen keep up with hundreds of updates a second.
 *
 * What the server guarantees (brain/src/schema/subscription.rs and brain/src/live/book.rs):
 * - the first message is a snapshot of the top `depth` levels a side, best first;
 * - each delta lists the visible levels that changed; quantity "0" removes a level, and
 *   when a level leaves the top its replacement from below is sent, so snapshot + deltas
 *   always equal `orderBook(depth)`;
 * - `sequence` is the market's *event* sequence, shared with trades, orders and balances,
 *   and changes below the visible depth send nothing: deltas therefore skip numbers, and a
 *   jump is not a gap. It only ever increases;
 * - a subscriber that falls behind gets a fresh snapshot (not a gap).
 *
 * So our copy is out of sync (→ resubscribe, which starts with a fresh snapshot) when a
 * delta comes before any snapshot, does not increase the sequence, removes a level we do
 * not have, leaves more than `depth` levels on a side, or leaves the book crossed.
 */
import { createSignal } from 'solid-js';
import { createStore, reconcile } from 'solid-js/store';
import type { Api } from '../graphql/client';
import { type FollowOptions, follow } from '../graphql/live';
import { OrderBookSubscription } from '../graphql/operations';
import { compareDecimal, toUnits } from '../lib/decimal';

/** One price level, as the API sends it. */
export interface Level {
  price: string;
  quantity: string;
  orders: number;
}

/** One message of the `orderBook` subscription. */
export interface BookUpdate {
  market: string;
  sequence: string;
  snapshot: boolean;
  bids: readonly Level[];
  asks: readonly Level[];
}

/** Our copy of the visible book. Bids best (highest) first, asks best (lowest) first. */
export interface BookState {
  market: string;
  /** The sequence of the last update applied; null before the first snapshot. */
  sequence: bigint | null;
  bids: Level[];
  asks: Level[];
}

export type ApplyResult =
  | { ok: true; state: BookState }
  /** Our copy is out of sync: drop it and resubscribe. `state` is the last good one. */
  | { ok: false; state: BookState; resubscribe: string };

export function emptyBook(market: string): BookState {
  return { market, sequence: null, bids: [], asks: [] };
}

/** Orders a side best first: bids descending, asks ascending. */
function better(side: 'bids' | 'asks', a: string, b: string): number {
  return side === 'bids' ? compareDecimal(b, a) : compareDecimal(a, b);
}

/** Index of `price` in a side sorted best first, or where it would go (as `~index`). */
function locate(levels: Level[], side: 'bids' | 'asks', price: string): number {
  let lo = 0;
  let hi = levels.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = better(side, (levels[mid] as Level).price, price);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return ~lo;
}

function isZero(quantity: string): boolean {
  return /^0+(\.0+)?$/.test(quantity);
}

function snapshotSide(side: 'bids' | 'asks', levels: readonly Level[]): Level[] {
  return levels
    .filter((l) => !isZero(l.quantity))
    .map((l) => ({ price: l.price, quantity: l.quantity, orders: l.orders }))
    .sort((a, b) => better(side, a.price, b.price));
}

/** Applies one side of a delta in place; returns an error message if it cannot apply. */
function applySide(levels: Level[], side: 'bids' | 'asks', changes: readonly Level[]) {
  for (const c of changes) {
    const i = locate(levels, side, c.price);
    if (isZero(c.quantity)) {
      if (i < 0) return `removed ${side} level ${c.price} that the book does not have`;
      levels.splice(i, 1);
    } else if (i >= 0) {
      levels[i] = { price: c.price, quantity: c.quantity, orders: c.orders };
    } else {
      levels.splice(~i, 0, { price: c.price, quantity: c.quantity, orders: c.orders });
    }
  }
  return null;
}

/**
 * Applies a batch of updates in order. Stops at the first update that shows our copy is
 * out of sync and returns the state before that update. Never mutates `state`.
 */
export function applyUpdates(
  state: BookState,
  updates: readonly BookUpdate[],
  depth: number,
): ApplyResult {
  let current: BookState = state;
  for (const u of updates) {
    const gap = (resubscribe: string): ApplyResult => ({ ok: false, state: current, resubscribe });
    if (!/^\d+$/.test(u.sequence)) return gap(`malformed sequence "${u.sequence}"`);
    const sequence = BigInt(u.sequence);
    if (u.market !== current.market) return gap(`update for ${u.market}, not ${current.market}`);
    if (u.snapshot) {
      current = {
        market: u.market,
        sequence,
        bids: snapshotSide('bids', u.bids),
        asks: snapshotSide('asks', u.asks),
      };
      continue;
    }
    if (current.sequence === null) return gap('a delta before the snapshot');
    if (sequence <= current.sequence) {
      return gap(`sequence ${u.sequence} after ${current.sequence}: out of order`);
    }
    // Copy per delta (a side is at most `depth` levels): a failed delta leaves no trace.
    const next: BookState = {
      market: current.market,
      sequence,
      bids: current.bids.slice(),
      asks: current.asks.slice(),
    };
    const error =
      applySide(next.bids, 'bids', u.bids) ??
      applySide(next.asks, 'asks', u.asks) ??
      (next.bids.length > depth || next.asks.length > depth
        ? `more than ${depth} levels on a side: a removal was missed`
        : null) ??
      crossed(next);
    if (error) return gap(error);
    current = next;
  }
  return { ok: true, state: current };
}

/** Applies one update (see {@link applyUpdates}). */
export function applyUpdate(state: BookState, update: BookUpdate, depth: number): ApplyResult {
  return applyUpdates(state, [update], depth);
}

function crossed(book: BookState): string | null {
  const bid = book.bids[0];
  const ask = book.asks[0];
  if (bid && ask && compareDecimal(bid.price, ask.price) >= 0) {
    return `crossed book: best bid ${bid.price} ≥ best ask ${ask.price}`;
  }
  return null;
}

/** A level with its running total from the best price, for depth bars. */
export interface DepthRow extends Level {
  /** Quantity from the best level through this one, in base minor units. */
  cumulative: bigint;
  /** cumulative / the deepest cumulative of both sides, 0..1: a bar width, not money. */
  share: number;
}

/**
 * Cumulative depth of both sides, scaled to the deeper side so bids and asks bars compare.
 * `qtyDecimals` is the base asset's decimals.
 */
export function depthRows(
  book: Pick<BookState, 'bids' | 'asks'>,
  qtyDecimals: number,
): { bids: DepthRow[]; asks: DepthRow[] } {
  const cumulate = (levels: Level[]) => {
    let sum = 0n;
    return levels.map((l) => {
      sum += toUnits(l.quantity, qtyDecimals);
      return { ...l, cumulative: sum, share: 0 };
    });
  };
  const bids = cumulate(book.bids);
  const asks = cumulate(book.asks);
  const max = [bids.at(-1)?.cumulative ?? 0n, asks.at(-1)?.cumulative ?? 0n].reduce((a, b) =>
    a > b ? a : b,
  );
  if (max > 0n) {
    for (const r of [...bids, ...asks]) r.share = Number((r.cumulative * 10_000n) / max) / 10_000;
  }
  return { bids, asks };
}

/** The spread between the best ask and best bid, as minor units of the quote; null if one side is empty. */
export function spread(book: Pick<BookState, 'bids' | 'asks'>, quoteDecimals: number) {
  const bid = book.bids[0];
  const ask = book.asks[0];
  if (!bid || !ask) return null;
  return toUnits(ask.price, quoteDecimals) - toUnits(bid.price, quoteDecimals);
}

/** Schedules a callback once; returns a cancel function. */
export type Scheduler = (cb: () => void) => () => void;

/**
 * The next animation frame, or 250 ms, whichever comes first: frames pause in a hidden
 * tab, and the queue must not grow without bound there.
 */
export const frameScheduler: Scheduler = (cb) => {
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    cancel();
    cb();
  };
  const raf = globalThis.requestAnimationFrame?.(run);
  const timer = setTimeout(run, 250);
  const cancel = () => {
    if (raf !== undefined) globalThis.cancelAnimationFrame?.(raf);
    clearTimeout(timer);
  };
  return () => {
    done = true;
    cancel();
  };
};

/**
 * Collects items and hands them to `flush` together, once per scheduled tick: 100 book
 * updates arriving within a frame cost one store update and one render, not 100.
 */
export function createBatcher<T>(
  flush: (items: T[]) => void,
  schedule: Scheduler = frameScheduler,
) {
  let queue: T[] = [];
  let cancel: (() => void) | null = null;
  const run = () => {
    cancel = null;
    const items = queue;
    queue = [];
    if (items.length) flush(items);
  };
  return {
    push(item: T) {
      queue.push(item);
      cancel ??= schedule(run);
    },
    /** Drops what is queued (e.g. before resubscribing: a fresh snapshot is coming). */
    clear() {
      queue = [];
      cancel?.();
      cancel = null;
    },
    get pending() {
      return queue.length;
    },
  };
}

// ---- the Solid store ----------------------------------------------------------------

/**
 * A market's live book: subscribes, applies updates in per-frame batches, and on a gap
 * drops the copy and resubscribes at once for a fresh snapshot. A subscription the server
 * ends (`error` or `complete`) is dropped and resubscribed the same way, after a backoff
 * (graphql/live.ts `follow`). A socket that reconnects (a restart, a renewed token)
 * resubscribes by itself, and its first message is a snapshot.
 */
export function createBookStore(
  api: Api,
  market: string,
  depth = 20,
  schedule?: Scheduler,
  opts?: FollowOptions,
) {
  const [book, setBook] = createStore<BookState>(emptyBook(market));
  const [resyncs, setResyncs] = createSignal(0);
  const [lastGap, setLastGap] = createSignal<string | null>(null);
  let current = emptyBook(market);

  const batcher = createBatcher<BookUpdate>((updates) => {
    const r = applyUpdates(current, updates, depth);
    current = r.state;
    setBook(reconcile(current, { key: 'price', merge: false }));
    if (!r.ok) live.restart(r.resubscribe);
  }, schedule);

  const live = follow(
    api.client,
    OrderBookSubscription,
    { market, depth },
    {
      onData: (d) => batcher.push(d.orderBook),
      onRestart: (reason) => {
        batcher.clear();
        // Our copy is known to be wrong: show "loading" until the fresh snapshot, not stale levels.
        current = emptyBook(market);
        setBook(reconcile(current));
        setLastGap(reason);
        setResyncs((n) => n + 1);
      },
    },
    opts,
  );

  return {
    book,
    /** How many times the book was resubscribed after a gap or an ended stream (shown for diagnosis). */
    resyncs,
    lastGap,
    /** Whether the first snapshot has arrived. */
    ready: () => book.sequence !== null,
    dispose() {
      live.stop();
      batcher.clear();
    },
  };
}

export type BookStore = ReturnType<typeof createBookStore>;
