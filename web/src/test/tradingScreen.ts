/**
 * A trader's open trading screen for the reconnect and resubscribe stories: the app's real
 * stores (session, orders, balances) plus a trading screen's book and tape, on the
 * in-memory server of fakeServer.ts, whose queries answer from `venue`'s state.
 */
import { createEffect, createRoot } from 'solid-js';
import { type AuthPayload, type Session, toSession } from '../graphql/auth';
import type { ConnectionState } from '../graphql/connection';
import { createBookStore } from '../stores/book';
import { type Stores, createStores } from '../stores/index';
import type { Order } from '../stores/orders';
import { type Trade, createTradesStore } from '../stores/trades';
import { type FakeServer, jwt } from './fakeServer';

export const MARKET = 'ACME-USD';
const user = { id: 'u1', email: 'ann@example.com', displayName: 'Ann', role: 'TRADER' as const };

let issued = 0;
/** What login and refresh answer: an access token living `ttl` seconds from now. */
function authPayload(ttl: number): AuthPayload {
  issued++;
  const iat = Math.floor(Date.now() / 1000);
  return {
    accessToken: jwt({ sub: user.id, iat, exp: iat + ttl, n: issued }),
    refreshToken: `refresh-${issued}`,
    accessTokenExpiresAt: new Date((iat + ttl) * 1000).toISOString(),
    user,
  };
}

export const order = (id: string, over: Partial<Order> = {}): Order => ({
  id,
  clientOrderId: null,
  market: { symbol: MARKET },
  side: 'BUY',
  type: 'LIMIT',
  timeInForce: 'GTC',
  postOnly: false,
  price: '10',
  quantity: '5',
  filledQuantity: '0',
  averagePrice: null,
  status: 'OPEN',
  reason: null,
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
  ...over,
});

export const balance = (symbol: string, available: string) => ({
  asset: { symbol, decimals: 2 },
  available,
  held: '0',
  total: available,
});

export const trade = (id: string, sequence: number): Trade => ({
  id,
  market: MARKET,
  sequence: String(sequence),
  price: '10',
  quantity: '1',
  takerSide: 'BUY',
  executedAt: new Date().toISOString(),
});

/**
 * The server's state and its answers: the orders, balances and trades the queries return,
 * and a refresh that rotates (a spent refresh token is refused, as auth does).
 */
export function venue(server: FakeServer, ttl: number) {
  const state = {
    orders: [] as Order[],
    balances: [balance('USD', '1000')],
    trades: [trade('t1', 1)],
    refreshToken: null as string | null,
    refuseRefresh: false,
  };
  server.handle('Refresh', (v) => {
    if (state.refuseRefresh || v.refreshToken !== state.refreshToken) {
      return {
        errors: [{ message: 'refresh token refused', extensions: { code: 'UNAUTHENTICATED' } }],
      };
    }
    const p = authPayload(ttl);
    state.refreshToken = p.refreshToken;
    return { data: { refresh: p } };
  });
  server.handle('MyOrders', () => ({
    data: {
      myOrders: {
        edges: state.orders.map((node) => ({ node, cursor: node.id })),
        pageInfo: { hasNextPage: false, endCursor: null },
      },
    },
  }));
  server.handle('MyBalances', () => ({ data: { myBalances: state.balances } }));
  server.handle('RecentTrades', () => ({
    data: { market: { symbol: MARKET, trades: state.trades } },
  }));
  server.handle('Markets', () => ({ data: { markets: [] } }));
  return {
    state,
    /** A stored session (an earlier visit) with a fresh pair. */
    session(): Session {
      const p = authPayload(ttl);
      state.refreshToken = p.refreshToken;
      return toSession(p, Date.now());
    },
  };
}

/** The app's stores and a trading screen's (book, tape), on the fake server. */
export function tradingScreen(server: FakeServer, session: Session) {
  let stored: Session | null = session;
  return createRoot((dispose) => {
    const stores: Stores = createStores({
      storage: { load: () => stored, save: (s) => (stored = s) },
      api: {
        http: 'http://rialto.test/graphql',
        ws: 'ws://rialto.test/graphql',
        webSocketImpl: server.WebSocket,
        fetch: server.fetch,
      },
    });
    const book = createBookStore(stores.auth.api, MARKET, 20, (cb) => {
      const t = setTimeout(cb, 0);
      return () => clearTimeout(t);
    });
    const trades = createTradesStore(stores.auth.api, MARKET);
    const states: ConnectionState[] = [];
    createEffect(() => states.push(stores.auth.api.connection()));
    return {
      stores,
      book,
      trades,
      /** Every connection state the header showed, in order. */
      states,
      dispose() {
        book.dispose();
        trades.dispose();
        stores.auth.dispose();
        dispose();
      },
    };
  });
}
