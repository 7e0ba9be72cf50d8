/** @vitest-environment jsdom */
/**
 * The server ends a subscription of an open trading screen — `complete`, an `error`
 * message (a lost upstream in distributed mode), CONFLICT for a subscriber that fell
 * behind — while the socket stays up. Each store resubscribes after a backoff and reads its
 * state again, so what happened in between is not lost; the book starts from a fresh
 * snapshot. Real stores, urql and graphql-ws over the in-memory transport, in fake time.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeServer } from '../test/fakeServer';
import { MARKET, balance, order, trade, tradingScreen, venue } from '../test/tradingScreen';
const count = (server: ReturnType<typeof fakeServer>, field: string) =>
  [...(server.last()?.subscriptions.values() ?? [])].filter((q) => q.includes(field)).length;

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(Date.UTC(2026, 0, 1, 12));
});
afterEach(() => vi.useRealTimers());

async function openScreen() {
  const server = fakeServer();
  const v = venue(server, 300);
  const screen = tradingScreen(server, v.session());
  await vi.advanceTimersByTimeAsync(200);
  expect(count(server, 'myOrders')).toBe(1);
  return { server, v, screen, socket: server.last()! };
}

describe('a subscription the server ends is resubscribed, and the state read again', () => {
  it('orders: after `complete`, with a backoff; the order that changed meanwhile shows', async () => {
    const { server, v, screen, socket } = await openScreen();
    const queries = server.count('MyOrders');
    socket.complete('myOrders');
    v.state.orders = [order('o2')]; // placed while nobody listened
    await vi.advanceTimersByTimeAsync(300);
    expect(count(server, 'myOrders')).toBe(0); // not at once: a backoff (0.35–0.5 s)
    await vi.advanceTimersByTimeAsync(250);
    expect(count(server, 'myOrders')).toBe(1);
    expect(server.count('MyOrders')).toBe(queries + 1);
    expect(screen.stores.orders.open(MARKET).map((o) => o.id)).toEqual(['o2']);
    // And it is live again.
    socket.push('myOrders', { myOrders: order('o3') });
    await vi.advanceTimersByTimeAsync(10);
    expect(
      screen.stores.orders
        .open(MARKET)
        .map((o) => o.id)
        .sort(),
    ).toEqual(['o2', 'o3']);
    expect(server.last()).toBe(socket); // the socket itself never closed
    screen.dispose();
  });

  it('balances: after an `error` message (CONFLICT: fell behind), resubscribed and re-read', async () => {
    const { server, v, screen, socket } = await openScreen();
    expect(screen.stores.balances.available('USD')).toBe('1000');
    socket.error('myBalances', [
      {
        message: 'fell behind the live stream: refetch the current state',
        extensions: { code: 'CONFLICT' },
      },
    ]);
    v.state.balances = [balance('USD', '925')];
    await vi.advanceTimersByTimeAsync(600);
    expect(count(server, 'myBalances')).toBe(1);
    expect(screen.stores.balances.available('USD')).toBe('925');
    socket.push('myBalances', { myBalances: balance('USD', '900') });
    await vi.advanceTimersByTimeAsync(10);
    expect(screen.stores.balances.available('USD')).toBe('900');
    screen.dispose();
  });

  it('the tape: after an `error` (INTERNAL: upstream lost), the missed trade is read back', async () => {
    const { server, v, screen, socket } = await openScreen();
    socket.error('trades(', [{ message: 'upstream lost', extensions: { code: 'INTERNAL' } }]);
    v.state.trades = [trade('t1', 1), trade('t2', 2)];
    await vi.advanceTimersByTimeAsync(600);
    expect(count(server, 'trades(')).toBe(1);
    expect(screen.trades.state.list.map((t) => t.id)).toEqual(['t2', 't1']);
    socket.push('trades(', { trades: trade('t3', 3) });
    await vi.advanceTimersByTimeAsync(10);
    expect(screen.trades.state.list.map((t) => t.id)).toEqual(['t3', 't2', 't1']);
    screen.dispose();
  });

  it('the book: after `complete`, dropped and rebuilt from a fresh snapshot', async () => {
    const { server, screen, socket } = await openScreen();
    const snapshot = (sequence: string, price: string) => ({
      orderBook: {
        market: MARKET,
        sequence,
        snapshot: true,
        bids: [{ price, quantity: '1', orders: 1 }],
        asks: [],
      },
    });
    socket.push('orderBook(', snapshot('3', '9'));
    await vi.advanceTimersByTimeAsync(10);
    expect(screen.book.ready()).toBe(true);
    socket.complete('orderBook(');
    await vi.advanceTimersByTimeAsync(10);
    expect(screen.book.ready()).toBe(false); // not stale levels
    await vi.advanceTimersByTimeAsync(600);
    expect(count(server, 'orderBook(')).toBe(1);
    socket.push('orderBook(', snapshot('8', '9.5'));
    await vi.advanceTimersByTimeAsync(10);
    expect(screen.book.book.bids.map((l) => l.price)).toEqual(['9.5']);
    expect(screen.book.resyncs()).toBe(1);
    screen.dispose();
  });

  it('backs off further while the server keeps ending it, and not at all once signed out', async () => {
    const { server, screen, socket } = await openScreen();
    const resubscribedAt: number[] = [];
    const start = Date.now();
    for (let i = 0; i < 4; i++) {
      socket.complete('myOrders');
      while (count(server, 'myOrders') === 0) await vi.advanceTimersByTimeAsync(50);
      resubscribedAt.push(Date.now() - start);
    }
    // 0.5 s, then 1 s, 2 s, 4 s after each end (less up to 30 % jitter).
    const waits = resubscribedAt.map((t, i) => t - (resubscribedAt[i - 1] ?? 0));
    [500, 1000, 2000, 4000].forEach((base, i) => {
      expect(waits[i]).toBeGreaterThanOrEqual(base * 0.7);
      expect(waits[i]).toBeLessThanOrEqual(base + 50);
    });

    await screen.stores.auth.logout();
    socket.complete('myOrders');
    await vi.advanceTimersByTimeAsync(30_000);
    expect(
      server.sockets
        .flatMap((s) => [...s.subscriptions.values()])
        .filter((q) => q.includes('myOrders')),
    ).toEqual([]);
    screen.dispose();
  });
});
