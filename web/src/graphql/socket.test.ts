/**
 * The socket's credential: what createApi does when the server closes the socket with 4403
 * or says UNAUTHENTICATED over it, with real urql and graphql-ws over the in-memory
 * transport (test/fakeServer.ts), in fake time.
 */
import { pipe, subscribe } from 'wonka';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type FakeServer, fakeServer, jwt } from '../test/fakeServer';
import { type ApiAuth, MIN_RENEWAL_INTERVAL_MS, createApi } from './client';
import type { ConnectionState } from './connection';
import { MyOrdersSubscription } from './operations';

/** A session holding `token`; `refresh` swaps in the next one (or fails). */
function session(first: string) {
  let token: string | null = first;
  let n = 0;
  const auth = {
    token: () => token,
    isExpired: () => false,
    ok: true,
    refresh: vi.fn(async () => {
      if (!auth.ok) {
        token = null; // the session manager signs out on a refused refresh
        return false;
      }
      token = jwt({ n: ++n });
      return true;
    }),
    /** The session's own timer renewed the token. */
    renew: (next: string) => (token = next),
  };
  return auth satisfies ApiAuth;
}

function open(server: FakeServer, auth: ApiAuth, backoff = () => 10_000) {
  const api = createApi(auth, {
    http: 'http://rialto.test/graphql',
    ws: 'ws://rialto.test/graphql',
    webSocketImpl: server.WebSocket,
    fetch: server.fetch,
    backoff,
  });
  const states: ConnectionState[] = [];
  let last = api.connection();
  const watch = setInterval(() => {
    if (api.connection() !== last) states.push((last = api.connection()));
  }, 1);
  const reconnects = vi.fn();
  api.onReconnect(reconnects);
  const sub = pipe(
    api.client.subscription(MyOrdersSubscription, {}),
    subscribe(() => {}),
  );
  return {
    api,
    states,
    reconnects,
    close() {
      sub.unsubscribe();
      clearInterval(watch);
      api.dispose();
    },
  };
}

const initToken = (s: FakeServer, i: number) => s.sockets[i]?.token;
const hasOrders = (s: FakeServer) =>
  [...(s.last()?.subscriptions.values() ?? [])].some((q) => q.includes('myOrders'));

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(Date.UTC(2026, 0, 1, 12));
});
afterEach(() => vi.useRealTimers());

describe('a socket closed with 4403', () => {
  it('reconnects at once with the token the session already renewed: no second refresh, no backoff', async () => {
    const server = fakeServer();
    const auth = session('token-1');
    const c = open(server, auth);
    await vi.advanceTimersByTimeAsync(50);
    expect(initToken(server, 0)).toBe('token-1');
    auth.renew('token-2');
    server.last()!.close(4403, 'credential expired');
    await vi.advanceTimersByTimeAsync(50); // the backoff would be 10 s
    expect(server.sockets).toHaveLength(2);
    expect(initToken(server, 1)).toBe('token-2');
    expect(auth.refresh).not.toHaveBeenCalled();
    expect(hasOrders(server)).toBe(true);
    expect(c.reconnects).toHaveBeenCalledTimes(1);
    expect(c.states).toEqual(['live']);
    expect(c.api.renewals()).toBe(1);
    c.close();
  });

  it('refreshes first when the refused token is still the session’s', async () => {
    const server = fakeServer();
    const auth = session('token-1');
    const c = open(server, auth);
    await vi.advanceTimersByTimeAsync(50);
    server.last()!.close(4403, 'credential revoked');
    await vi.advanceTimersByTimeAsync(50);
    expect(auth.refresh).toHaveBeenCalledTimes(1);
    expect(initToken(server, 1)).toBe(auth.token());
    expect(initToken(server, 1)).not.toBe('token-1');
    expect(hasOrders(server)).toBe(true);
    expect(c.states).toEqual(['live']);
    c.close();
  });

  it('when the refresh is refused, connects signed out (the session ended) instead of looping', async () => {
    const server = fakeServer();
    const auth = session('token-1');
    auth.ok = false;
    const c = open(server, auth);
    await vi.advanceTimersByTimeAsync(50);
    server.last()!.close(4403, 'password changed');
    await vi.advanceTimersByTimeAsync(50);
    expect(auth.refresh).toHaveBeenCalledTimes(1);
    expect(server.sockets).toHaveLength(2);
    expect(initToken(server, 1)).toBeNull();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(auth.refresh).toHaveBeenCalledTimes(1);
    c.close();
  });

  it('a fresh token refused as well is an ordinary outage: the header says so, with backoff', async () => {
    let refuse = false;
    const server = fakeServer({ accepts: () => !refuse });
    const auth = session('token-1');
    const c = open(server, auth);
    await vi.advanceTimersByTimeAsync(50);
    refuse = true;
    server.last()!.close(4403, 'credential expired');
    await vi.advanceTimersByTimeAsync(50);
    expect(server.sockets).toHaveLength(2); // the quiet, immediate attempt
    expect(c.states).toEqual(['live', 'reconnecting']);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(server.sockets).toHaveLength(2); // then the backoff (10 s here)
    refuse = false;
    await vi.advanceTimersByTimeAsync(6_000);
    expect(server.sockets).toHaveLength(3);
    expect(c.states.at(-1)).toBe('live');
    c.close();
  });
});

describe('UNAUTHENTICATED over the socket while signed in', () => {
  it('renews the socket with a fresh token, at most every 5 s', async () => {
    const server = fakeServer();
    const auth = session('token-1');
    const c = open(server, auth);
    await vi.advanceTimersByTimeAsync(50);
    const dead = [{ message: 'not signed in', extensions: { code: 'UNAUTHENTICATED' } }];
    server.last()!.error('myOrders', dead);
    await vi.advanceTimersByTimeAsync(50);
    expect(auth.refresh).toHaveBeenCalledTimes(1);
    expect(server.sockets).toHaveLength(2);
    expect(initToken(server, 1)).toBe(auth.token());
    expect(c.states).toEqual(['live']);
    // Said again at once: no second renewal within the interval.
    server.last()!.push('myOrders', null);
    server.last()!.error('myOrders', dead);
    await vi.advanceTimersByTimeAsync(MIN_RENEWAL_INTERVAL_MS - 200);
    expect(server.sockets).toHaveLength(2);
    c.close();
  });
});
