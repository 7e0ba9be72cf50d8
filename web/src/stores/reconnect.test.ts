/** @vitest-environment jsdom */
/**
 * A trader keeps the trading screen open while access tokens expire under it, in fake time,
 * with the real stores, urql and graphql-ws over an in-memory transport that keeps the
 * server's promise (close 4403 at the token's `exp`): the session renews the token, the
 * socket reconnects with it and every stream resumes, with no sign of it in the header
 * and no sign-out — until the refresh itself is refused.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ENDED_MESSAGES } from '../graphql/auth';
import { type FakeServer, fakeServer } from '../test/fakeServer';
import { MARKET, balance, order, trade, tradingScreen, venue } from '../test/tradingScreen';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

const FIELDS = ['myOrders', 'myBalances', 'trades(', 'orderBook('];
const subscribed = (server: FakeServer) =>
  FIELDS.every((f) =>
    [...(server.last()?.subscriptions.values() ?? [])].some((q) => q.includes(f)),
  );

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => vi.useRealTimers());

describe.each([
  ['Chromium', false],
  // The desktop app's webview fires `error` just before `close` for a 4403.
  ['WebKitGTK', true],
])(
  'a trading screen open while 5-second access tokens expire (%s)',
  (_browser, errorBeforeClose) => {
    it('keeps every stream live across a minute of expiries, without a sign of it, until the refresh is refused', async () => {
      const server = fakeServer({ closeAtExpiry: true, errorBeforeClose });
      const v = venue(server, 5);
      const screen = tradingScreen(server, v.session());
      const { stores, book, trades } = screen;
      await vi.advanceTimersByTimeAsync(200);
      expect(stores.auth.user()?.id).toBe('u1');
      expect(subscribed(server)).toBe(true);

      // A minute passes: twelve tokens expire under the open screen.
      for (let s = 0; s < 60; s++) await vi.advanceTimersByTimeAsync(1_000);

      const closes = server.sockets.filter((s) => s.closed).map((s) => s.closed?.reason);
      expect(closes.length).toBeGreaterThanOrEqual(11);
      // Each socket lived until its token expired: none was refused at connection_init.
      expect(new Set(closes)).toEqual(new Set(['credential expired']));
      expect(server.sockets.every((s) => s.acked)).toBe(true);
      // The session renewed at 80 % of each token's life, not more often.
      expect(server.count('Refresh')).toBeGreaterThanOrEqual(14);
      expect(server.count('Refresh')).toBeLessThanOrEqual(16);
      // The header said live the whole time, and the trader is still signed in.
      expect(screen.states).toEqual(['connecting', 'live']);
      expect(stores.auth.user()?.id).toBe('u1');
      expect(stores.auth.api.renewals()).toBe(closes.length);
      // One socket at a time: each renewal opened exactly one, right away.
      expect(server.sockets.length).toBe(closes.length + 1);
      expect(server.sockets.filter((s) => s.open)).toHaveLength(1);
      // Every subscription is live on the newest socket; state was re-read after each reconnect.
      expect(server.last()?.open).toBe(true);
      expect(subscribed(server)).toBe(true);
      expect(server.count('MyOrders')).toBeGreaterThan(closes.length);
      expect(server.count('MyBalances')).toBeGreaterThan(closes.length);
      // Each stream is the same subscription throughout (graphql-ws re-sends it with its id on
      // each new socket): no renewal made a store unsubscribe and start over.
      for (const field of FIELDS) {
        const ids = new Set(
          server.sockets
            .flatMap((s) => s.subscribes.filter((x) => x.query.includes(field)))
            .map((x) => x.id),
        );
        expect([field, ids.size]).toEqual([field, 1]);
      }

      // And the streams carry what happens now: an order, a balance, a trade, the book.
      const s = server.last()!;
      s.push('myOrders', { myOrders: order('o1') });
      s.push('myBalances', { myBalances: balance('USD', '950') });
      s.push('trades(', { trades: trade('t2', 2) });
      s.push('orderBook(', {
        orderBook: {
          market: MARKET,
          sequence: '7',
          snapshot: true,
          bids: [{ price: '9.5', quantity: '3', orders: 1 }],
          asks: [],
        },
      });
      await vi.advanceTimersByTimeAsync(10);
      expect(stores.orders.open(MARKET).map((o) => o.id)).toEqual(['o1']);
      expect(stores.balances.available('USD')).toBe('950');
      expect(trades.state.list[0]?.id).toBe('t2');
      expect(book.book.bids).toEqual([{ price: '9.5', quantity: '3', orders: 1 }]);

      // Only a refused refresh signs the trader out, with the reason.
      v.state.refuseRefresh = true;
      await vi.advanceTimersByTimeAsync(5_000);
      expect(stores.auth.user()).toBeNull();
      expect(stores.auth.endedMessage()).toBe(ENDED_MESSAGES.rejected);
      screen.dispose();
    });

    it('an order placed and a trade made while the socket renewed are not lost', async () => {
      const server = fakeServer({ closeAtExpiry: true, errorBeforeClose });
      const v = venue(server, 5);
      const screen = tradingScreen(server, v.session());
      await vi.advanceTimersByTimeAsync(200);
      const first = server.last()!;
      // Just before the token expires, the socket stops hearing events (they are lost with it)...
      await vi.advanceTimersByTimeAsync(4_700);
      v.state.orders = [order('o9', { status: 'PARTIALLY_FILLED', filledQuantity: '2' })];
      v.state.balances = [balance('USD', '980')];
      v.state.trades = [trade('t1', 1), trade('t5', 5)];
      // ...the server closes it at expiry, and the client reconnects and reads them back.
      await vi.advanceTimersByTimeAsync(1_000);
      expect(first.closed?.code).toBe(4403);
      expect(server.last()).not.toBe(first);
      expect(screen.stores.orders.open(MARKET).map((o) => o.id)).toEqual(['o9']);
      expect(screen.stores.balances.available('USD')).toBe('980');
      expect(screen.trades.state.list.map((t) => t.id)).toEqual(['t5', 't1']);
      expect(screen.states).toEqual(['connecting', 'live']);
      screen.dispose();
    });
  },
);
