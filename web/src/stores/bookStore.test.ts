import { createRoot } from 'solid-js';
import { makeSubject } from 'wonka';
import { describe, expect, it, vi } from 'vitest';
import type { Api } from '../graphql/client';
import { type BookUpdate, createBookStore } from './book';

/** A fake API whose orderBook subscription the test feeds by hand. */
function fakeApi() {
  const subjects: ReturnType<typeof makeSubject<{ data: { orderBook: BookUpdate } }>>[] = [];
  const subscription = vi.fn(() => {
    const s = makeSubject<{ data: { orderBook: BookUpdate } }>();
    subjects.push(s);
    return s.source;
  });
  const api = { client: { subscription } } as unknown as Api;
  const send = (u: BookUpdate) => subjects.at(-1)!.next({ data: { orderBook: u } });
  return { api, subscription, send };
}

const upd = (seq: number, snapshot: boolean, asks: [string, string][]): BookUpdate => ({
  market: 'ACME-USD',
  sequence: String(seq),
  snapshot,
  bids: [],
  asks: asks.map(([price, quantity]) => ({ price, quantity, orders: 1 })),
});

describe('createBookStore', () => {
  it('applies 150 updates arriving within one frame as one batch', () => {
    const { api, send } = fakeApi();
    let frame: (() => void) | null = null;
    const schedule = vi.fn((cb: () => void) => {
      frame = cb;
      return () => {};
    });
    createRoot((dispose) => {
      const store = createBookStore(api, 'ACME-USD', 20, schedule);
      send(upd(1, true, [['10', '1']]));
      for (let i = 2; i <= 151; i++) send(upd(i, false, [['10', String(i)]]));
      expect(schedule).toHaveBeenCalledTimes(1);
      expect(store.ready()).toBe(false); // nothing rendered before the frame
      frame!();
      expect(store.book.sequence).toBe(151n);
      expect(store.book.asks).toEqual([{ price: '10', quantity: '151', orders: 1 }]);
      dispose();
    });
  });

  it('resubscribes on a gap, then rebuilds from the fresh snapshot', () => {
    const { api, subscription, send } = fakeApi();
    const frames: (() => void)[] = [];
    const schedule = (cb: () => void) => {
      frames.push(cb);
      return () => {};
    };
    createRoot((dispose) => {
      const store = createBookStore(api, 'ACME-USD', 20, schedule);
      send(upd(5, true, [['10', '1']]));
      send(upd(6, false, [['11', '0']])); // removes a level we do not have
      frames.shift()!();
      expect(store.resyncs()).toBe(1);
      expect(store.lastGap()).toMatch(/does not have/);
      expect(subscription).toHaveBeenCalledTimes(2);
      expect(store.ready()).toBe(false);
      send(upd(9, true, [['12', '2']]));
      frames.shift()!();
      expect(store.book.asks).toEqual([{ price: '12', quantity: '2', orders: 1 }]);
      dispose();
    });
  });
});
